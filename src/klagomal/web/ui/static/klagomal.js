// Enhancement only: every page works without this script.
(function () {
  "use strict";
  // Move focus to the error summary, so that a screen reader reads it first
  // (the summary also has autofocus for browsers that honour it).
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
  // Keep a confirmation in view for screen readers after a redirect.
  var flash = document.querySelector("[data-flash]");
  if (flash && !summary) {
    flash.setAttribute("tabindex", "-1");
    flash.focus();
  }
  // Ask before a step that cannot be undone (data-confirm on the form).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
})();
