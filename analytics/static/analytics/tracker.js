// LodgeTix interaction tracker (docs/design.md §6). Ours; no framework.
//
//   LodgeTixTracker.track(action, data)   queue one event, e.g. track("menu.open", {})
//
// Events go to the capture endpoint in batches: every 5 s, at once when 50 are waiting,
// and by navigator.sendBeacon when the page is hidden or closed. A batch that fails on
// the network, or gets a 5xx or 429, goes back to the head of the queue (order kept) and
// is retried with jittered exponential backoff; any other 4xx means it can never succeed,
// so it is dropped. The queue is capped: past the cap the oldest events are dropped and
// counted, and the count is reported as a "tracker.dropped" event.
//
// Every event carries its own UUID and the server stores each id once, so sending an
// event twice is harmless. That is what lets the tracker re-send freely: a batch in
// flight when the page hides goes out again by beacon, and beaconed events (which the
// browser sends blind) are sent once more if the page comes back.
//
// Never captured: what people type. A field change records the field's name; its value
// only if the field opts in with a data-track-value attribute, and a password never.
// Nothing here may break the page: every entry point swallows its own errors.
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.dataset.endpoint || !window.JSON || !window.fetch) return;

  var ENDPOINT = script.dataset.endpoint;
  var PAGE_CSRF_TOKEN = script.dataset.csrfToken || "";
  var FLUSH_INTERVAL_MS = 5000;
  var BATCH_EVENTS = 50;
  var BATCH_BYTES = 200 * 1024; // the endpoint refuses bodies past 256 KB
  var BEACON_BYTES = 60 * 1024; // browsers refuse beacons past about 64 KB in flight
  var MAX_QUEUE = 1000;
  var BACKOFF_BASE_MS = 1000;
  var BACKOFF_MAX_MS = 30000;

  var queue = []; // [{text, bytes}] waiting to be sent, oldest first
  var inFlight = null; // the batch a fetch is sending now
  var beaconed = []; // handed to sendBeacon while the page was hidden
  var retryTimer = null;
  var failures = 0;
  var unreportedDrops = 0;
  var counts = { tracked: 0, stored: 0, duplicates: 0, rejected: 0, dropped: 0, beacons: 0 };
  var encoder = window.TextEncoder ? new TextEncoder() : null;

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function byteLength(text) {
    return encoder ? encoder.encode(text).length : unescape(encodeURIComponent(text)).length;
  }

  function pageUrl() {
    return location.origin + location.pathname + location.search; // never the fragment
  }

  function csrfToken() {
    // The cookie is current even after a login rotated the token the page was built with.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : PAGE_CSRF_TOKEN;
  }

  function track(action, data) {
    try {
      var text = JSON.stringify({
        id: newId(),
        action: String(action),
        data: data || {},
        timestamp: new Date().toISOString(),
        page_url: pageUrl(),
      });
      counts.tracked += 1;
      queue.push({ text: text, bytes: byteLength(text) });
      capQueue();
      if (queue.length >= BATCH_EVENTS) flush();
    } catch (error) {
      counts.rejected += 1; // e.g. data that cannot be serialised
    }
  }

  function capQueue() {
    var excess = queue.length - MAX_QUEUE;
    if (excess > 0) {
      queue.splice(0, excess);
      counts.dropped += excess;
      unreportedDrops += excess;
    }
  }

  // Up to `maxEvents` events from the head of `events` (removed from it) within
  // `maxBytes`; always at least one, so an event never blocks the queue.
  function takeBatch(events, maxEvents, maxBytes) {
    var size = 0;
    var n = 0;
    while (n < events.length && n < maxEvents && (n === 0 || size + events[n].bytes <= maxBytes)) {
      size += events[n].bytes;
      n += 1;
    }
    return events.splice(0, n);
  }

  function body(batch) {
    return (
      '{"sent_at":' + JSON.stringify(new Date().toISOString()) +
      ',"csrf_token":' + JSON.stringify(csrfToken()) +
      ',"events":[' + batch.map(function (e) { return e.text; }).join(",") + "]}"
    );
  }

  function flush() {
    if (inFlight || retryTimer || !queue.length) return;
    var batch = takeBatch(queue, BATCH_EVENTS, BATCH_BYTES);
    inFlight = batch;
    var request;
    try {
      request = window.fetch(ENDPOINT, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: body(batch),
      });
    } catch (error) {
      request = Promise.reject(error);
    }
    request.then(
      function (response) {
        inFlight = null;
        if (response.ok) {
          stored(batch, response);
        } else if (response.status === 429 || response.status >= 500) {
          retryLater(batch, Number(response.headers.get("Retry-After")) * 1000 || 0);
        } else {
          counts.rejected += batch.length; // refused as it is: sending it again cannot help
        }
      },
      function () {
        inFlight = null;
        retryLater(batch, 0); // offline, server down, connection reset
      }
    );
  }

  function stored(batch, response) {
    failures = 0;
    response.json().then(
      function (result) {
        counts.stored += result.accepted || 0;
        counts.duplicates += result.duplicates || 0;
        counts.rejected += (result.rejected || []).length;
      },
      function () {}
    );
    if (unreportedDrops) {
      var dropped = unreportedDrops;
      unreportedDrops = 0;
      track("tracker.dropped", { count: dropped });
    }
    if (queue.length >= BATCH_EVENTS) flush();
  }

  function retryLater(batch, minimumMs) {
    queue = batch.concat(queue);
    capQueue();
    failures += 1;
    // "Equal jitter": between half and all of the exponential step, so tabs that failed
    // together do not all come back at the same moment.
    var step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, failures - 1));
    var delay = Math.max(minimumMs, step / 2 + (Math.random() * step) / 2);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(retryNow, delay);
  }

  function retryNow() {
    clearTimeout(retryTimer);
    retryTimer = null;
    flush();
  }

  // Returns the events the browser refused to take, in order.
  function beacon(events) {
    var accepted = false;
    try {
      var blob = new Blob([body(events)], { type: "text/plain;charset=UTF-8" });
      accepted = navigator.sendBeacon(ENDPOINT, blob);
    } catch (error) {
      accepted = false;
    }
    if (accepted) {
      counts.beacons += 1;
      return [];
    }
    if (events.length === 1) return events;
    // Too large, or over the browser's in-flight quota: try each half.
    var half = Math.ceil(events.length / 2);
    return beacon(events.slice(0, half)).concat(beacon(events.slice(half)));
  }

  function sendByBeacon() {
    if (!navigator.sendBeacon) return;
    var events = [];
    if (inFlight && !inFlight.beaconed) {
      inFlight.beaconed = true; // its fetch may never finish now
      events = inFlight.slice();
    }
    events = events.concat(queue);
    queue = [];
    var refused = [];
    while (events.length) {
      var chunk = takeBatch(events, BATCH_EVENTS, BEACON_BYTES);
      var chunkRefused = beacon(chunk);
      refused = refused.concat(chunkRefused);
      beaconed = beaconed.concat(chunk.filter(function (e) { return chunkRefused.indexOf(e) < 0; }));
    }
    queue = refused;
  }

  function pageShownAgain() {
    // A beacon's fate is unknown; while the page lives, send those events once more.
    queue = beaconed.concat(queue);
    beaconed = [];
    capQueue();
  }

  // --- automatic capture ---------------------------------------------------------------

  function safely(handler) {
    return function (event) {
      try {
        handler(event);
      } catch (error) {
        /* capture must never break the page */
      }
    };
  }

  function pathOf(url) {
    try {
      return new URL(url, location.href).pathname;
    } catch (error) {
      return "";
    }
  }

  function pageViewed() {
    track("page.view", { title: document.title });
    var step = document.querySelector('.steps [aria-current="step"]');
    if (step) {
      // The wizard's URLs end in the step: tickets/, attendees/, review/, payment/...
      var parts = location.pathname.split("/").filter(Boolean);
      track("wizard.step", { step: parts[parts.length - 1], label: step.textContent.trim() });
    }
  }

  function formSubmitted(event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM") return;
    var button = event.submitter || null;
    var buy = button && /^buy-(\d+)$/.exec(button.id || "");
    var kind = form.elements.namedItem("registration_type");
    if (!buy && form.id === "selection-form") {
      // The selection page's Continue: one ticket.select per line wanted.
      form.querySelectorAll('input[name^="quantity_"]').forEach(function (input) {
        var n = Number(input.value);
        if (n > 0) {
          track("ticket.select", {
            ticket_type: Number(input.name.slice("quantity_".length)),
            quantity: n,
            registration_type: kind ? kind.value : null,
          });
        }
      });
      return;
    }
    if (!buy) {
      var found = form.querySelector('[id^="buy-"]');
      buy = found && /^buy-(\d+)$/.exec(found.id);
    }
    if (buy) {
      // A line's own quantity field on the selection page; `quantity` in a one-line form.
      var quantity = form.elements.namedItem("quantity_" + buy[1]) || form.elements.namedItem("quantity");
      track("ticket.select", {
        ticket_type: Number(buy[1]),
        quantity: quantity ? Number(quantity.value) || 1 : null,
        registration_type: kind ? kind.value : null,
      });
    } else if ((button && button.id === "confirm") || form.querySelector("#confirm")) {
      var method = form.querySelector('input[name="method"]:checked');
      track("payment.initiate", { method: method ? method.value : null });
    } else {
      track("form.submit", { form: pathOf(form.getAttribute("action") || location.href), button: button ? button.id || button.name || "" : "" });
    }
  }

  function fieldChanged(event) {
    var field = event.target;
    if (!field || !field.name || !/^(INPUT|SELECT|TEXTAREA)$/.test(field.tagName)) return;
    var data = { field: field.name, type: field.type || field.tagName.toLowerCase() };
    // Values only for fields that opt in, and never a password even then.
    if (field.hasAttribute("data-track-value") && field.type !== "password") {
      data.value = field.type === "checkbox" || field.type === "radio" ? field.checked : field.value;
    }
    track("field.change", data);
  }

  function visibilityChanged() {
    if (document.visibilityState === "hidden") sendByBeacon();
    else pageShownAgain();
  }

  document.addEventListener("submit", safely(formSubmitted), true);
  document.addEventListener("change", safely(fieldChanged), true);
  document.addEventListener("visibilitychange", safely(visibilityChanged));
  window.addEventListener("pagehide", safely(sendByBeacon));
  window.addEventListener("online", safely(retryNow));
  setInterval(safely(flush), FLUSH_INTERVAL_MS);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", safely(pageViewed));
  } else {
    safely(pageViewed)();
  }

  window.LodgeTixTracker = {
    track: track,
    flush: safely(flush),
    stats: function () {
      var snapshot = { queued: queue.length, inFlight: inFlight ? inFlight.length : 0 };
      for (var key in counts) snapshot[key] = counts[key];
      return snapshot;
    },
  };
})();
