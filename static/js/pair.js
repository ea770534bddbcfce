// Opening a pairing URL pairs the device at once: submit the form the page shows.
// (A link preview or prefetcher without JavaScript never uses up the code.)
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("pair-form");
  if (form && form.dataset.autoSubmit === "true") {
    form.requestSubmit();
  }
});
