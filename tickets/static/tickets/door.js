// The door page (docs/design.md §12): scans by camera (ZXing, when installed), USB or
// keyboard scanner (types the code and Enter into #scan-code) and search; the result big,
// in colour, in words and with a sound. Scans made while the network is away wait in
// localStorage and are sent, one by one, when it is back: the server decides each (a
// ticket scanned twice meanwhile is answered "already", never counted twice).
// Counts arrive over the staff socket (htmx ws), not from here.
(function () {
  "use strict";

  var root = document.getElementById("door");
  if (!root) return;
  var eventId = root.dataset.event;
  var doorName = root.dataset.door || "";
  var checkinUrl = root.dataset.checkinUrl;
  var paymentUrl = root.dataset.paymentUrl;
  var mayTakePayment = root.dataset.mayTakePayment === "true";
  var QUEUE_KEY = "lodgetix-door-queue-" + eventId;
  var RETRY_MS = 5000;
  var SAME_CODE_PAUSE_MS = 3000; // a camera sees one QR many times a second

  var WORDS = {
    ok: "Checked in",
    already: "Already checked in",
    wrong_event: "Wrong event",
    unknown: "Unknown ticket",
    cancelled: "Not valid",
    queued: "Saved: will be sent when back online",
    error: "Could not check in"
  };

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  // --- sound: a short tone per kind of result (Web Audio; silent where unavailable) ---
  var audio = null;
  function beep(result) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var tones = result === "ok" ? [880] : result === "already" ? [660, 660] : [220];
      tones.forEach(function (frequency, i) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = frequency;
        osc.type = result === "ok" || result === "already" ? "sine" : "square";
        gain.gain.value = 0.2;
        osc.connect(gain);
        gain.connect(audio.destination);
        var start = audio.currentTime + i * 0.2;
        osc.start(start);
        osc.stop(start + (result === "ok" ? 0.15 : 0.3));
      });
    } catch (e) { /* no sound: the colour and the words still say it */ }
  }

  // --- showing a result ---
  var resultBox = document.getElementById("scan-result");
  var payButton = document.getElementById("mark-paid");
  var payRegistration = null;

  function show(result, detail, answer) {
    resultBox.hidden = false;
    resultBox.dataset.result = result;
    document.getElementById("scan-result-word").textContent = WORDS[result] || result;
    document.getElementById("scan-result-detail").textContent = detail || "";
    var pay = document.getElementById("scan-result-pay");
    var registration = answer && answer.registration;
    if (registration && registration.to_pay) {
      pay.hidden = false;
      pay.textContent = "To pay: $" + registration.to_pay;
      payRegistration = registration.id;
      payButton.hidden = !mayTakePayment;
    } else {
      pay.hidden = true;
      payButton.hidden = true;
      payRegistration = null;
    }
    beep(result);
  }

  function describe(answer) {
    var parts = [answer.message];
    if (answer.attendee && answer.seats && answer.seats.length === 1) {
      parts.push(answer.attendee.name + " · " + answer.attendee.ticket_type);
    } else if (answer.seats && answer.seats.length > 1) {
      parts.push(answer.seats.map(function (s) { return s.name; }).join(", "));
    }
    if (answer.registration) {
      parts.push(answer.registration.label + " " + answer.registration.confirmation_number);
    }
    return parts.filter(Boolean).join(" — ");
  }

  // --- sending a scan, or queueing it ---
  function post(url, fields) {
    var body = new URLSearchParams(fields);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" }
    });
  }

  function readQueue() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }
  function writeQueue(queue) {
    localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
    var box = document.getElementById("offline-queue");
    box.dataset.pending = String(queue.length);
    document.getElementById("offline-queue-status").textContent = queue.length
      ? queue.length + " scan(s) waiting for the network."
      : "All scans sent.";
  }
  function enqueue(fields) {
    var queue = readQueue();
    fields.queued_at = new Date().toISOString();
    fields.id = String(Date.now()) + "-" + Math.random().toString(36).slice(2);
    queue.push(fields);
    writeQueue(queue);
  }
  function logReplayed(fields, answer) {
    var item = document.createElement("li");
    item.dataset.result = answer.result || "error";
    item.textContent = (WORDS[answer.result] || answer.error || "error") + ": " +
      (answer.attendee ? answer.attendee.name : (fields.code || "registration"));
    document.getElementById("queue-log").prepend(item);
  }

  function fieldsOf(scan) {
    var fields = { door: doorName };
    if (scan.code) fields.code = scan.code;
    if (scan.registration) fields.registration = scan.registration;
    return fields;
  }

  function scan(what) {
    var fields = fieldsOf(what);
    if (!navigator.onLine) {
      enqueue(fields);
      show("queued", fields.code || "");
      return Promise.resolve();
    }
    return post(checkinUrl, fields).then(function (response) {
      if (response.status >= 500) throw new Error("server " + response.status);
      return response.json().then(function (answer) {
        if (!response.ok) {
          show("error", answer.error || "Refused.");
        } else {
          show(answer.result, describe(answer), answer);
        }
      });
    }).catch(function () {
      // The network (or the server) failed mid-scan: keep it, the server decides later.
      enqueue(fields);
      show("queued", fields.code || "");
    });
  }

  var replaying = false;
  function replay() {
    if (replaying || !navigator.onLine) return;
    var queue = readQueue();
    if (!queue.length) return;
    replaying = true;
    var next = queue[0];
    post(checkinUrl, fieldsOf(next)).then(function (response) {
      if (response.status >= 500) throw new Error("server " + response.status);
      return response.json().then(function (answer) {
        // Decided (checked in, already, refused): done with it either way.
        writeQueue(readQueue().filter(function (q) { return q.id !== next.id; }));
        logReplayed(next, answer);
      });
    }).then(function () {
      replaying = false;
      replay();
    }, function () {
      replaying = false; // still away: try again on the next "online" or tick
    });
  }

  window.addEventListener("online", replay);
  setInterval(replay, RETRY_MS);
  writeQueue(readQueue());
  replay();

  // --- typed code or USB scanner: the scanner types the code and presses Enter ---
  var form = document.getElementById("scan-form");
  var input = document.getElementById("scan-code");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = input.value.trim();
    input.value = "";
    input.focus();
    if (code) scan({ code: code });
  });

  // A USB scanner types wherever the focus is: after a button press (mark paid, a search
  // result) the next scan's first key brings the focus back to the code field.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key.length !== 1 || event.ctrlKey || event.metaKey || event.altKey) return;
    input.focus();
  });

  // --- search: each found registration checks in whole ---
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-check-in-registration]");
    if (!button) return;
    scan({ registration: button.dataset.checkInRegistration });
  });

  // --- pay at the door ---
  payButton.addEventListener("click", function () {
    if (!payRegistration) return;
    post(paymentUrl, { registration: payRegistration, door: doorName })
      .then(function (response) { return response.json().then(function (a) { return [response, a]; }); })
      .then(function (pair) {
        var pay = document.getElementById("scan-result-pay");
        if (pair[0].ok) {
          pay.textContent = "Paid.";
          pay.dataset.paid = "true";
          payButton.hidden = true;
          input.focus(); // ready for the next scan
        } else {
          pay.textContent = pair[1].error || "Could not mark paid.";
        }
      });
  });

  // --- camera: ZXing's QR reader on the rear camera ---
  var cameraButton = document.getElementById("camera-start");
  if (cameraButton && cameraButton.dataset.available === "true") {
    var lastCode = null;
    var lastAt = 0;
    var reader = null;
    cameraButton.addEventListener("click", function () {
      if (!window.ZXing) {
        cameraButton.textContent = "The camera scanner did not load; type the code instead.";
        return;
      }
      if (reader) {
        reader.reset();
        reader = null;
        document.getElementById("camera-view").hidden = true;
        cameraButton.textContent = "Scan with the camera";
        return;
      }
      var video = document.getElementById("camera-view");
      video.hidden = false;
      cameraButton.textContent = "Stop the camera";
      reader = new ZXing.BrowserQRCodeReader();
      reader.decodeFromConstraints(
        { video: { facingMode: "environment" } }, video,
        function (result) {
          if (!result) return;
          var code = result.getText().trim();
          var now = Date.now();
          if (code === lastCode && now - lastAt < SAME_CODE_PAUSE_MS) return;
          lastCode = code;
          lastAt = now;
          scan({ code: code });
        }
      ).catch(function (error) {
        cameraButton.textContent = "No camera: " + (error && error.name ? error.name : error);
        reader = null;
      });
    });
  }
})();
