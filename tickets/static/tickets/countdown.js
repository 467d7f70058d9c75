// The hold countdown of the wizard pages, its two-minute warning and the one extension.
// Ours; no framework. At 0:00 the page shows a notice and stays as it is: reloading would
// throw away what the buyer typed (the server keeps a draft too, but only of what was sent).
(function () {
  "use strict";

  var WARN_MS = 120000; // docs/design.md §3.7: warned two minutes before the hold expires
  var URGENT_MS = 60000;
  var DONE_TOAST_MS = 8000;

  function formatRemaining(ms) {
    var total = Math.max(0, Math.round(ms / 1000));
    var minutes = Math.floor(total / 60);
    var seconds = total % 60;
    return minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function startCountdown(el) {
    var expiresAt = Date.parse(el.dataset.expiresAt);
    if (isNaN(expiresAt)) return;
    var notice = el.closest(".countdown");
    var warning = null;
    var expired = false;
    var timer;

    function setExpiry(iso) {
      var next = Date.parse(iso);
      if (isNaN(next)) return;
      expiresAt = next;
      el.dataset.expiresAt = iso;
      el.setAttribute("datetime", iso);
      tick();
    }

    function closeWarning() {
      if (warning) warning.remove();
    }

    function say(toast, text) {
      var result = toast.querySelector("[data-extend-result]");
      if (!result) return;
      result.textContent = text;
      result.hidden = false;
    }

    function warn() {
      var template = document.getElementById("hold-expiring-template");
      var toasts = document.getElementById("toasts");
      if (!template || !toasts) return;
      warning = template.content.firstElementChild.cloneNode(true);
      // Armed here, not by live.js: this toast stays until dismissed or answered.
      warning.dataset.armed = "true";
      var toast = warning;
      toast.querySelector(".toast__close").addEventListener("click", function () {
        toast.remove();
      });
      var form = toast.querySelector("form[data-extend-hold]");
      if (form) form.addEventListener("submit", function (event) {
        event.preventDefault();
        extend(toast, form);
      });
      toasts.appendChild(toast);
    }

    function extend(toast, form) {
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          });
        })
        .then(function (answer) {
          form.remove();
          if (answer.body.expires_at) setExpiry(answer.body.expires_at);
          if (answer.ok) {
            toast.dataset.extended = "true";
            say(toast, "Done: your tickets are held for another " +
              formatRemaining(expiresAt - Date.now()) + ".");
            setTimeout(function () { toast.remove(); }, DONE_TOAST_MS);
          } else {
            toast.dataset.refused = answer.body.code || "error";
            say(toast, answer.body.error || "Your hold could not be extended.");
          }
        })
        .catch(function () {
          button.disabled = false;
          say(toast, "We could not reach the server; please try again.");
        });
    }

    function showExpired() {
      closeWarning();
      var expiredNotice = document.getElementById("hold-expired");
      if (expiredNotice) expiredNotice.hidden = false;
      notice.dataset.expired = "true";
    }

    function tick() {
      var remaining = expiresAt - Date.now();
      el.textContent = formatRemaining(remaining);
      notice.classList.toggle("countdown--urgent", remaining < URGENT_MS);
      if (remaining > WARN_MS && warning && warning.dataset.extended === "true") {
        warning = null; // extended: a later warning would be a new one
      }
      if (!warning && !expired && remaining > 0 && remaining <= WARN_MS) warn();
      if (!expired && remaining <= 0) {
        expired = true;
        showExpired();
      }
    }

    timer = setInterval(tick, 1000);
    tick();
    return timer;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var countdown = document.getElementById("hold-countdown");
    if (countdown) startCountdown(countdown);
  });
})();
