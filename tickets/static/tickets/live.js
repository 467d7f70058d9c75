// LodgeTix Live page behaviour: the live indicator, pushed fragments swapped in place,
// toasts and notices kept few (the hold countdown of the wizard is countdown.js).
// Ours; no framework. Fragments themselves arrive over the htmx WebSocket extension.
(function () {
  "use strict";

  var TOAST_LIFETIME_MS = 12000;
  var TOO_MANY_TABS = 4001;

  // Reconnect with full jitter, capped at 3 s (htmx's default cap is 64 s): after an
  // outage every page must be back within 5 s of the server (docs/design.md 4.9), and a
  // 10 s cap let a page that had failed a few times wait up to 8 s more.
  if (window.htmx) {
    htmx.config.wsReconnectDelay = function (retryCount) {
      return Math.random() * Math.min(3000, 500 * Math.pow(2, retryCount));
    };
  }

  function setLive(live, label) {
    var indicator = document.getElementById("live-indicator");
    if (!indicator) return;
    indicator.dataset.live = live ? "true" : "false";
    indicator.textContent = label || (live ? "LIVE" : "Reconnecting…");
  }

  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail.event && event.detail.event.code;
    if (code === TOO_MANY_TABS) {
      setLive(false, "Paused: too many tabs open. Reload to resume.");
    } else {
      setLive(false);
    }
  });
  document.addEventListener("htmx:wsError", function () { setLive(false); });

  // --- Pushed fragments: only where the page has their target, swapped in place ---
  //
  // The socket sends every page of a function the same fragments, but a wizard page has
  // no buy buttons or event details. htmx logs each fragment without a target as an
  // oobErrorNoTarget error, so fragments the page lacks are dropped before htmx sees them
  // (the "live-fragments" extension, named on <html> in base.html so every page has it).
  function oobSelector(el) {
    var spec = el.getAttribute("hx-swap-oob") || "true";
    var colon = spec.indexOf(":");
    if (colon > 0) return spec.substring(colon + 1);
    return el.id ? "#" + CSS.escape(el.id) : null;
  }

  if (window.htmx) {
    htmx.defineExtension("live-fragments", {
      transformResponse: function (text, xhr) {
        if (xhr) return text; // an ordinary request: its target exists, htmx swaps it
        var template = document.createElement("template");
        template.innerHTML = text;
        var dropped = false;
        Array.prototype.slice.call(template.content.children).forEach(function (child) {
          var selector = oobSelector(child);
          if (!selector || !document.querySelector(selector)) {
            child.remove();
            dropped = true;
          }
        });
        return dropped ? template.innerHTML : text;
      }
    });
  }

  // A replaced element takes keyboard focus with it (focus falls to <body>, the top of
  // the page). So a fragment whose element exists is copied onto it instead: attributes,
  // then the children only if they changed. The element, its id and focus stay put.
  function morphInPlace(target, incoming) {
    Array.prototype.slice.call(target.attributes).forEach(function (attr) {
      if (!incoming.hasAttribute(attr.name)) target.removeAttribute(attr.name);
    });
    Array.prototype.slice.call(incoming.attributes).forEach(function (attr) {
      if (target.getAttribute(attr.name) !== attr.value) target.setAttribute(attr.name, attr.value);
    });
    if (target.innerHTML !== incoming.innerHTML) {
      target.replaceChildren.apply(target, Array.prototype.slice.call(incoming.childNodes));
      htmx.process(target); // e.g. a "See what changed" link inside
    }
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var detail = event.detail;
    var target = detail.target;
    var fragment = detail.fragment;
    // Only whole-element swaps (hx-swap-oob="true"): appends to #toasts and #notices
    // carry a wrapper whose children are new, and htmx inserts those as they are.
    if (!fragment || fragment.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
    if (fragment.childElementCount !== 1) return;
    var incoming = fragment.firstElementChild;
    if (!target.id || incoming.id !== target.id || incoming.tagName !== target.tagName) return;
    morphInPlace(target, incoming);
    detail.shouldSwap = false;
  });

  // Belt and braces: should a swap still take the focused element away, focus returns to
  // the element with the same id once the message is applied.
  var focusedId = null;
  document.addEventListener("htmx:wsBeforeMessage", function () {
    var active = document.activeElement;
    focusedId = active && active !== document.body ? active.id || null : null;
  });
  function restoreFocus() {
    if (!focusedId) return;
    var active = document.activeElement;
    if (!active || active === document.body) {
      var again = document.getElementById(focusedId);
      if (again) again.focus({ preventScroll: true });
    }
    focusedId = null;
  }

  // Pages left open collect notices and toasts: keep the newest few of each.
  var MAX_NOTICES = 5;
  var MAX_TOASTS = 3;
  function capNotices() {
    var notices = document.getElementById("notices");
    if (notices) {
      while (notices.children.length > MAX_NOTICES) notices.lastElementChild.remove();
    }
    // Sticky toasts (the two-minute warning) stay whatever arrives after them.
    var toasts = document.querySelectorAll('#toasts .toast:not([data-sticky="true"])');
    for (var i = 0; i < toasts.length - MAX_TOASTS; i++) toasts[i].remove();
  }

  // Toasts: dismissable, and they go by themselves after a while.
  function arm(toast) {
    if (toast.dataset.armed) return;
    toast.dataset.armed = "true";
    var close = toast.querySelector(".toast__close");
    if (close) close.addEventListener("click", function () { toast.remove(); });
    if (toast.dataset.sticky !== "true") {
      setTimeout(function () { toast.remove(); }, TOAST_LIFETIME_MS);
    }
  }
  function armAll() {
    document.querySelectorAll("#toasts .toast").forEach(arm);
  }
  document.addEventListener("htmx:wsAfterMessage", function () {
    restoreFocus();
    capNotices();
    armAll();
  });

  document.addEventListener("DOMContentLoaded", function () {
    armAll();
  });
})();
