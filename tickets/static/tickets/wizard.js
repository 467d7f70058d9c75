// Wizard step behaviour: lodge fields only for Masons, and focus on the error summary.
// Ours; no framework. The server decides both anyway: it ignores lodge fields of anyone
// not attending as a Mason, and the summary is in the page for those without script.
(function () {
  "use strict";

  var MASON = "mason";

  function toggleLodgeFields(attendee) {
    var kind = attendee.querySelector("select[name$='-attendee_type']");
    if (!kind) return;
    var isMason = kind.value === MASON;
    attendee.querySelectorAll("[data-mason-only]").forEach(function (input) {
      var field = input.closest(".field") || input;
      field.hidden = !isMason;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("fieldset.attendee").forEach(function (attendee) {
      toggleLodgeFields(attendee);
      attendee.addEventListener("change", function (event) {
        if (event.target.matches("select[name$='-attendee_type']")) toggleLodgeFields(attendee);
      });
    });
    // After a refused POST, keyboard and screen reader users start at what went wrong.
    var summary = document.getElementById("step-error");
    if (summary) summary.focus();
  });
})();
