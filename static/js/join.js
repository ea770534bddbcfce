// Joining the queue from a phone: one tap, one ticket. The form works without this script; with
// it, a second tap while the first is on its way is dropped and the page says it is busy. (The
// server gives the same ticket for a second tap anyway: the page's pass carries one key.)
const form = document.getElementById("join-form");
const busy = document.getElementById("join-busy");
let sent = false;

if (form) {
  form.addEventListener("submit", (event) => {
    if (sent) {
      event.preventDefault();
      return;
    }
    sent = true;
    // The pressed button goes with the form as usual; only later taps are stopped.
    window.setTimeout(() => {
      for (const button of form.querySelectorAll("button")) button.setAttribute("aria-disabled", "true");
      if (busy) busy.hidden = false;
    }, 0);
  });
  // Back to this page from the ticket (the browser's cache): it may be tapped again.
  window.addEventListener("pageshow", () => {
    sent = false;
    for (const button of form.querySelectorAll("button")) button.removeAttribute("aria-disabled");
    if (busy) busy.hidden = true;
  });
}
