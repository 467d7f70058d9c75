// Wizard step behaviour: lodge fields only for Masons, each attendee offered only the
// tickets their attendee type may take (and told why the others are not), and focus on
// the error summary.
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

  // Options carry who their ticket type is for (data-attendee-types); the ones this
  // attendee may not take are withdrawn, and the note under the tickets says why. A
  // withdrawn choice that was selected falls back to "Not attending".
  function offerTickets(attendee) {
    var kind = attendee.querySelector("select[name$='-attendee_type']");
    var note = attendee.querySelector("[data-not-offered-note]");
    if (!kind) return;
    var reasons = [];
    attendee.querySelectorAll("option[data-attendee-types]").forEach(function (option) {
      var offered = option.getAttribute("data-attendee-types").split(" ").indexOf(kind.value) >= 0;
      option.hidden = !offered;
      option.disabled = !offered;
      if (!offered) {
        if (option.selected) option.parentElement.value = "";
        reasons.push(option.getAttribute("data-not-offered"));
      }
    });
    if (note) {
      note.textContent = reasons.length ? "Not offered: " + reasons.join(" ") : "";
      note.hidden = !reasons.length;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("fieldset.attendee").forEach(function (attendee) {
      toggleLodgeFields(attendee);
      offerTickets(attendee);
      attendee.addEventListener("change", function (event) {
        if (event.target.matches("select[name$='-attendee_type']")) {
          toggleLodgeFields(attendee);
          offerTickets(attendee);
        }
      });
    });
    // After a refused POST, keyboard and screen reader users start at what went wrong.
    var summary = document.getElementById("step-error");
    if (summary) summary.focus();
  });
})();
