// The coordinators' pages: after a refused form, move the focus to the list of errors (or the
// explanation), so that screen readers read it and keyboard users start there. Each link in
// the list moves the focus to its field.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
});
