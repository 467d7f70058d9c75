// LodgeTix Live page behaviour: the live indicator and toasts (the hold countdown of the
// wizard is countdown.js).
// Ours; no framework. Fragments themselves arrive over the htmx WebSocket extension.
(function () {
  "use strict";

  var TOAST_LIFETIME_MS = 12000;
  var TOO_MANY_TABS = 4001;

  // Reconnect with full jitter, capped at 10 s (htmx's default cap is 64 s).
  if (window.htmx) {
    htmx.config.wsReconnectDelay = function (retryCount) {
      return Math.random() * Math.min(10000, 500 * Math.pow(2, retryCount));
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
  document.addEventListener("htmx:wsAfterMessage", armAll);

  document.addEventListener("DOMContentLoaded", function () {
    armAll();
  });
})();
