// Kiosk survey, postcode step: a keypad of digits fills the four-digit field (the kiosk has no
// keyboard). Plain digits only; the form itself checks and posts.
const input = document.getElementById("postcode-input");
const keypad = document.getElementById("survey-keypad");
if (input && keypad) {
  // Keep the focus in the field: the keys do not take it.
  keypad.addEventListener("mousedown", (event) => event.preventDefault());
  keypad.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-digit]") : null;
    if (!button) return;
    const digits = input.value.replace(/\D/g, "");
    const key = button.dataset.digit;
    if (key === "back") input.value = digits.slice(0, -1);
    else if (digits.length < 4) input.value = digits + key;
    input.removeAttribute("aria-invalid");
  });
  input.focus();
}
