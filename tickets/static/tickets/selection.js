// The selection page: a running total of the quantities typed, and a lodge's ticket
// types said in tables after every live update. Progressive: without it the form still
// posts every quantity_<id> field and the server says what it held.
(function () {
  "use strict";
  if (window.lodgetixSelection) return; // included again by an htmx swap of the step
  window.lodgetixSelection = true;

  var money = new Intl.NumberFormat("en-AU", {
    style: "currency", currency: "AUD", currencyDisplay: "narrowSymbol",
  });

  function seatsTyped(input) {
    var n = parseInt(input.value, 10);
    if (isNaN(n) || n < 0) return 0;
    return n * (parseInt(input.dataset.seatsEach, 10) || 1);
  }

  function updateTotal(form) {
    var total = 0;
    form.querySelectorAll("input[data-price]").forEach(function (input) {
      total += seatsTyped(input) * parseFloat(input.dataset.price || "0");
    });
    var out = document.getElementById("selection-running-total");
    var line = document.getElementById("selection-running");
    if (!out || !line) return;
    out.textContent = money.format(total);
    line.hidden = false;
  }

  // The socket pushes the same badge and button to everyone, in seats. On a lodge's
  // page, say ticket types sold by the table in tables, and disable below one table:
  // the server refuses that anyway, the page should not offer it.
  function inTables(form) {
    if (!form || form.dataset.lodge !== "true") return;
    var perTable = parseInt(form.dataset.seatsPerTable, 10) || 10;
    form.querySelectorAll('[data-by-table="true"]').forEach(function (item) {
      var id = item.dataset.ticketType;
      var badge = document.getElementById("availability-" + id);
      var button = document.getElementById("buy-" + id);
      if (!badge) return;
      var state = badge.dataset.state;
      var tables = Math.floor((parseInt(badge.dataset.available, 10) || 0) / perTable);
      if (state === "in_stock" || state === "low") {
        var text = tables === 0 ? "Less than a table left"
          : tables + (tables === 1 ? " table left" : " tables left");
        if (badge.textContent !== text) badge.textContent = text;
      }
      if (button && tables < 1) button.disabled = true;
    });
  }

  function form() { return document.getElementById("selection-form"); }

  document.addEventListener("input", function (event) {
    var f = event.target.closest && event.target.closest("#selection-form");
    if (f) updateTotal(f);
  });
  document.addEventListener("htmx:wsAfterMessage", function () { inTables(form()); });
  document.addEventListener("htmx:afterSettle", function () {
    var f = form();
    if (f) { updateTotal(f); inTables(f); }
  });
  function start() {
    var f = form();
    if (f) { updateTotal(f); inTables(f); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
