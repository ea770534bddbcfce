// Kiosk touchscreen: one ticket (or booking) per tap, a barcode scanner that works on every
// screen, the keypad for a booking code, an idle timer that returns to the (Dutch) start screen
// with a visible countdown, and a live reload when staff open or close the stop.
import { connectLive } from "./live.js";

const body = document.body;
const idleSeconds = Number(body.dataset.idleSeconds || 45);
const homeUrl = body.dataset.homeUrl || "/kiosk";
const isHome = window.location.pathname.replace(/\/$/, "") === "/kiosk";
const isDutch = document.documentElement.lang === "nl";

// -- one ticket per tap ---------------------------------------------------------------------
for (const form of document.querySelectorAll("#take-ticket, #book-later")) {
  let sent = false;
  form.addEventListener("submit", (event) => {
    if (sent) {
      event.preventDefault();
      return;
    }
    sent = true;
    // The pressed button's value must still be submitted: disable the others only.
    const chosen = event.submitter;
    for (const button of form.querySelectorAll("button")) {
      if (button !== chosen) button.disabled = true;
      button.setAttribute("aria-disabled", "true");
    }
    form.classList.add("is-busy");
    const busy = document.getElementById("kiosk-busy");
    if (busy) busy.hidden = false;
  });
  // Coming back with the browser's back button must not leave the buttons dead.
  window.addEventListener("pageshow", () => {
    sent = false;
    form.classList.remove("is-busy");
    for (const button of form.querySelectorAll("button")) {
      button.disabled = false;
      button.removeAttribute("aria-disabled");
    }
  });
}

// -- the barcode scanner ---------------------------------------------------------------------
// A USB scanner types what it reads (a booking code, or the link on a slip) and Enter, like a
// keyboard. Outside a text field those keys land here: Enter checks the code in, on any screen.
const scanForm = document.getElementById("scan-form");
if (scanForm) {
  let typed = "";
  let last = 0;
  window.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const now = Date.now();
    if (now - last > 1500) typed = ""; // a scanner types fast; old keys are no part of it
    last = now;
    if (event.key === "Enter") {
      if (typed.trim().length >= 6) {
        event.preventDefault(); // no click on a focused button
        scanForm.elements.code.value = typed.trim();
        typed = "";
        scanForm.submit();
      }
      typed = "";
    } else if (event.key.length === 1) {
      typed += event.key;
    }
  });
}

// -- the keypad for a booking code ------------------------------------------------------------
const codeInput = document.getElementById("code-input");
const keypad = document.querySelector(".keypad");
if (codeInput && keypad) {
  const format = (raw) => {
    const plain = raw.replace(/[^0-9A-Za-z]/g, "").toUpperCase();
    return plain.length > 3 && plain.length <= 6 ? `${plain.slice(0, 3)}-${plain.slice(3)}` : plain;
  };
  // Keep the focus in the field: a scanner's keys then go there too.
  keypad.addEventListener("mousedown", (event) => event.preventDefault());
  keypad.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-key]") : null;
    if (!button) return;
    const key = button.dataset.key;
    const plain = codeInput.value.replace(/[^0-9A-Za-z]/g, "");
    if (key === "back") codeInput.value = format(plain.slice(0, -1));
    else if (key === "clear") codeInput.value = "";
    else if (plain.length < 6) codeInput.value = format(plain + key);
    codeInput.removeAttribute("aria-invalid");
  });
  if (!codeInput.value) codeInput.focus();
}

// -- idle timer -----------------------------------------------------------------------------
// The start screen in Dutch is the resting state; every other screen counts down.
if (!(isHome && isDutch)) {
  const counter = document.getElementById("idle-seconds");
  let left = idleSeconds;
  const reset = () => {
    left = idleSeconds;
    if (counter) counter.textContent = String(left);
  };
  for (const type of ["pointerdown", "keydown", "touchstart", "wheel"]) {
    window.addEventListener(type, reset, { passive: true });
  }
  const extend = document.getElementById("idle-extend");
  if (extend) extend.addEventListener("click", reset);
  window.setInterval(() => {
    left -= 1;
    if (counter) counter.textContent = String(Math.max(left, 0));
    if (left <= 0) window.location.assign(homeUrl);
  }, 1000);
}

// -- the slip: printing, printed, or a fault in plain words ----------------------------------
const notice = document.getElementById("print-notice");
function showPrint(status, fault) {
  if (!notice) return;
  const state = status === "printed" ? "printed" : status === "queued" ? "printing" : "fault";
  // "printed" is final: a late retry report of an earlier attempt must not undo it.
  if (notice.dataset.state === "printed" || notice.dataset.state === "none") return;
  notice.dataset.state = state;
  notice.className = `print-notice print-notice--${state}`;
  document.getElementById("print-title").textContent = notice.dataset[`${state}Title`];
  const reasons = JSON.parse(notice.dataset.faultReasons);
  const reason = state === "fault" ? `${reasons[fault] || reasons.fault} ` : "";
  document.getElementById("print-text").textContent = reason + notice.dataset[`${state}Text`];
}

// -- live: the stop opened or closed; this ticket's slip -----------------------------------
const stop = body.dataset.stop;
const auth = stop ? { stop: Number(stop) } : {};
if (body.dataset.ticket) auth.ticket = body.dataset.ticket;
if (body.dataset.booking) auth.booking = body.dataset.booking;
connectLive({
  auth,
  heartbeat: true, // desks show whether this kiosk is connected
  on: {
    stop_updated: () => {
      if (!body.dataset.confirmation) window.location.reload();
    },
    print_status: (data) => showPrint(data && data.status, data && data.fault),
  },
  onStatus: (status) => {
    // After the server was away, start fresh: the stop may have changed meanwhile.
    if (status === "reconnected" && isHome) window.location.reload();
  },
});

// Look again now and then while resting: a closed kiosk is in no stop's room yet, and a change
// made from the command line reaches no page when the server runs without a message queue.
if (body.dataset.closed || (isHome && isDutch)) {
  window.setInterval(() => window.location.reload(), 60 * 1000);
}
