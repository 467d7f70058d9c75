// The lodge combobox (ARIA 1.2 combobox with a listbox popup). htmx fills the listbox as
// one types (GET /lodges/search/); this script shows it, moves through it with the arrow
// keys (aria-activedescendant, focus stays in the field), picks with Enter or a click
// (the lodge's name and number go into their fields) and closes with Escape. "Not listed"
// keeps the typed text. Without script the fields are plain text and the server matches
// what was typed to the list.
(function () {
  "use strict";

  function listboxOf(input) {
    return document.getElementById(input.getAttribute("aria-controls"));
  }

  function options(listbox) {
    return Array.prototype.slice.call(listbox.querySelectorAll("[role='option']"));
  }

  function close(input) {
    var listbox = listboxOf(input);
    if (listbox) listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function open(input) {
    var listbox = listboxOf(input);
    var any = listbox && options(listbox).length > 0;
    if (listbox) listbox.hidden = !any;
    input.setAttribute("aria-expanded", any ? "true" : "false");
  }

  function activate(input, option) {
    var listbox = listboxOf(input);
    options(listbox).forEach(function (each) {
      each.setAttribute("aria-selected", each === option ? "true" : "false");
    });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }
  }

  function pick(input, option) {
    if (!option.hasAttribute("data-not-listed")) {
      input.value = option.getAttribute("data-name");
      var number = input.form && input.form.elements[input.name.replace(/lodge_name$/, "lodge_number")];
      if (number) number.value = option.getAttribute("data-number");
    }
    close(input);
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-lodge-combobox]")) return;
    var listbox = listboxOf(input);
    if (!listbox) return;
    var all = options(listbox);
    var current = document.getElementById(input.getAttribute("aria-activedescendant"));
    var index = all.indexOf(current);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      open(input);
      var step = event.key === "ArrowDown" ? 1 : -1;
      activate(input, all[(index + step + all.length) % all.length]);
    } else if (event.key === "Enter" && !listbox.hidden && current) {
      event.preventDefault(); // picks the lodge instead of submitting the form
      pick(input, current);
    } else if (event.key === "Escape" && !listbox.hidden) {
      event.preventDefault();
      close(input);
    }
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest(".lodge-listbox [role='option']");
    if (option) {
      var input = document.querySelector("[aria-controls='" + option.parentElement.id + "']");
      if (input) pick(input, option);
      return;
    }
    document.querySelectorAll("[data-lodge-combobox][aria-expanded='true']").forEach(function (input) {
      if (input !== event.target) close(input);
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var listbox = event.detail.target;
    if (!listbox.classList || !listbox.classList.contains("lodge-listbox")) return;
    var input = document.querySelector("[aria-controls='" + listbox.id + "']");
    if (input && document.activeElement === input) open(input);
  });
})();
