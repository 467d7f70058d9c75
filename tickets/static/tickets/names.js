// The names page (docs/design.md §11). A seat someone else saves arrives over the socket
// and live.js copies it onto the page in place. A seat form this viewer is typing in is
// kept as it is (their typing and focus stay), so their save carries the version they
// read and is refused with what the other person saved, instead of overwriting it.
(function () {
  "use strict";

  function markDirty(event) {
    var form = event.target.closest && event.target.closest(".seat__form");
    if (form) form.dataset.dirty = "true";
  }
  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);

  // Capture phase: before live.js (bubbling, on document) copies the fragment in.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var fragment = event.detail.fragment;
    if (!target || !target.id || target.id.indexOf("seat-") !== 0 || !fragment) return;
    var form = target.querySelector(".seat__form");
    var mine = target.querySelector(".seat__edit");
    if (!form || !mine) return;
    var busy = form.dataset.dirty === "true" || mine.contains(document.activeElement);
    var incoming = fragment.querySelector && fragment.querySelector(".seat__edit");
    if (busy && incoming) incoming.replaceWith(mine);
  }, true);

  // After a save of this viewer's own form, it is no longer being typed in.
  document.addEventListener("htmx:afterSwap", function (event) {
    var form = event.detail.target && event.detail.target.querySelector &&
      event.detail.target.querySelector(".seat__form");
    if (form) delete form.dataset.dirty;
  });

  // Lodge fields only for Masons (as wizard.js does on the attendee step); the server
  // ignores them for anyone else anyway.
  function toggleLodgeFields(form) {
    var kind = form.querySelector("select[name='attendee_type']");
    if (!kind) return;
    form.querySelectorAll("[data-mason-only]").forEach(function (input) {
      (input.closest(".field") || input).hidden = kind.value !== "mason";
    });
  }
  function toggleAll() {
    document.querySelectorAll(".seat__form").forEach(toggleLodgeFields);
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name='attendee_type']")) {
      toggleLodgeFields(event.target.closest(".seat__form"));
    }
  });
  document.addEventListener("htmx:afterSwap", toggleAll);
  document.addEventListener("htmx:wsAfterMessage", toggleAll);
  document.addEventListener("DOMContentLoaded", toggleAll);

  // Copy the share link (shown only where the clipboard can be written).
  document.addEventListener("DOMContentLoaded", function () {
    var copy = document.getElementById("share-copy");
    if (!copy || !navigator.clipboard) return;
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var input = document.querySelector(copy.dataset.copy);
      navigator.clipboard.writeText(input.value).then(function () {
        copy.textContent = "Copied";
      });
    });
  });
})();
