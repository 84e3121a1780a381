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
  // The phrase picker (R23, klagomal.web.ui.phrases): insert the chosen
  // phrase where the cursor was in the text, without sending the form.
  // Without this script "Infoga frasen" sends the form and the page comes
  // back with the phrase after the text.
  document.querySelectorAll("[data-phrase-field]").forEach(function (picker) {
    var field = document.getElementById(picker.getAttribute("data-phrase-field"));
    var select = picker.querySelector("select");
    var insert = picker.querySelector("button[name=atgard]");
    var status = picker.querySelector("[data-phrase-status]");
    if (!field || !select || !insert) {
      return;
    }
    var at = null; // where the cursor was in the text, once the person has been there
    var remember = function () {
      at = [field.selectionStart, field.selectionEnd];
    };
    ["keyup", "click", "select", "blur"].forEach(function (name) {
      field.addEventListener(name, remember);
    });
    insert.addEventListener("click", function (event) {
      var chosen = select.options[select.selectedIndex];
      if (!chosen || !chosen.value) {
        return; // the server says what is missing
      }
      event.preventDefault();
      var phrase = chosen.getAttribute("data-text") || "";
      var value = field.value;
      var start, end;
      if (at === null) {
        value = value.replace(/\s+$/, "");
        phrase = (value ? "\n\n" : "") + phrase;
        start = end = value.length;
      } else {
        start = at[0];
        end = at[1];
      }
      field.value = value.slice(0, start) + phrase + value.slice(end);
      var after = start + phrase.length;
      field.focus();
      field.setSelectionRange(after, after);
      remember();
      select.selectedIndex = 0;
      if (status) {
        status.textContent = status.getAttribute("data-inserted");
      }
    });
  });
})();
