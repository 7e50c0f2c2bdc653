/* A phone as a device: the accelerometer (DeviceMotion), the microphone (getUserMedia) and camera
   snapshots, recorded here or when the dashboard asks through remote management, uploaded signed
   (HMAC-SHA256, the data acquisition format; camera images as JPEG files, which cannot carry a signature).
   The project API key comes in the URL's fragment (#apiKey=...), which browsers never send to a server. */
(function () {
  "use strict";
  var ACCEL_HZ = 62.5, AUDIO_HZ = 16000;
  var state = { key: null, project: null, hmac: null, ws: null, audio: null, busy: false };

  function $(sel) { return document.querySelector(sel); }
  function status(text, error) { var el = $("#phone-status"); el.textContent = text; el.className = error ? "error-text" : ""; }
  function result(text, error) { var el = $("#phone-result"); el.textContent = text; el.className = error ? "error-text" : ""; el.setAttribute("role", error ? "alert" : "status"); }
  function headers(extra) { var h = { "x-api-key": state.key }; for (var k in extra) h[k] = extra[k]; return h; }

  function deviceId() {
    var id = null;
    try { id = window.localStorage.getItem("tinyforge-phone-id"); } catch (e) { /* private mode */ }
    if (!id) {
      id = "phone-" + Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(4)), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.localStorage.setItem("tinyforge-phone-id", id); } catch (e) { /* keep it for this visit */ }
    }
    return id;
  }

  function sensors() {
    var out = [];
    if (window.DeviceMotionEvent) out.push({ name: "Accelerometer", maxSampleLengthS: 60, frequencies: [ACCEL_HZ] });
    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      out.push({ name: "Microphone", maxSampleLengthS: 60, frequencies: [AUDIO_HZ] });
      out.push({ name: "Camera", maxSampleLengthS: 60, frequencies: [] });
    }
    return out;
  }

  /* ---- recording ---- */
  function recordMotion(lengthMs, progress) {
    return new Promise(function (resolve, reject) {
      var events = [], t0 = performance.now();
      function onMotion(ev) {
        var a = ev.accelerationIncludingGravity || {};
        if (a.x === null || a.x === undefined) return;
        events.push([performance.now() - t0, Number(a.x), Number(a.y), Number(a.z)]);
      }
      window.addEventListener("devicemotion", onMotion);
      var tick = setInterval(function () { progress(Math.min(99, Math.round(100 * (performance.now() - t0) / lengthMs))); }, 250);
      setTimeout(function () {
        window.removeEventListener("devicemotion", onMotion); clearInterval(tick);
        if (!events.length) return reject(new Error("this browser gave no motion data (phones need HTTPS, and a tap on 'Allow sensors')"));
        /* one row every 16 ms: the latest reading at that moment (before the first: the first reading) */
        var interval = 1000 / ACCEL_HZ, rows = [], j = 0, n = Math.round(lengthMs / interval);
        for (var i = 0; i < n; i++) {
          var t = i * interval;
          while (j + 1 < events.length && events[j + 1][0] <= t) j++;
          rows.push(events[j].slice(1));
        }
        resolve({ interval: interval, sensors: [{ name: "accX", units: "m/s2" }, { name: "accY", units: "m/s2" }, { name: "accZ", units: "m/s2" }], values: rows });
      }, lengthMs);
    });
  }

  function audioContext() {
    if (!state.audio) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      state.audio = new Ctx({ sampleRate: AUDIO_HZ });
    }
    return state.audio;
  }

  function recordAudio(lengthMs, progress) {
    var need = Math.round(lengthMs * AUDIO_HZ / 1000);
    return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } })
      .then(function (stream) {
        var ctx = audioContext();
        return ctx.resume().then(function () {
          return new Promise(function (resolve) {
            var src = ctx.createMediaStreamSource(stream), proc = ctx.createScriptProcessor(4096, 1, 1), got = [], n = 0;
            proc.onaudioprocess = function (e) {
              if (n >= need) return;
              var data = e.inputBuffer.getChannelData(0);
              for (var i = 0; i < data.length && n < need; i++, n++) got.push(Math.max(-32768, Math.min(32767, Math.round(data[i] * 32767))));
              progress(Math.round(100 * n / need));
              if (n >= need) {
                proc.disconnect(); src.disconnect();
                stream.getTracks().forEach(function (t) { t.stop(); });
                resolve({ interval: 1000 / AUDIO_HZ, sensors: [{ name: "audio", units: "wav" }], values: got });
              }
            };
            src.connect(proc); proc.connect(ctx.destination);
          });
        });
      });
  }

  function snapshot() {
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      var video = $("#phone-camera");
      video.hidden = false; video.srcObject = stream;
      return video.play().then(function () {
        return new Promise(function (resolve) { setTimeout(resolve, 300); });
      }).then(function () {
        var canvas = document.createElement("canvas");
        canvas.width = video.videoWidth || 320; canvas.height = video.videoHeight || 240;
        canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
        stream.getTracks().forEach(function (t) { t.stop(); });
        video.hidden = true;
        return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.9); });
      });
    });
  }

  /* ---- signed upload (data acquisition format) ---- */
  function hex(buf) { return Array.prototype.map.call(new Uint8Array(buf), function (b) { return ("0" + b.toString(16)).slice(-2); }).join(""); }

  function sign(payload) {
    var zeros = new Array(65).join("0"), signed = !!(state.hmac && window.crypto && crypto.subtle);
    var message = JSON.stringify({ protected: { ver: "v1", alg: signed ? "HS256" : "none", iat: Math.floor(Date.now() / 1000) },
      signature: zeros, payload: payload });
    if (!signed) return Promise.resolve(message);  /* crypto.subtle exists only in secure contexts */
    var enc = new TextEncoder();
    return crypto.subtle.importKey("raw", enc.encode(state.hmac), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(function (k) { return crypto.subtle.sign("HMAC", k, enc.encode(message)); })
      .then(function (sig) { return message.replace('"signature":"' + zeros + '"', '"signature":"' + hex(sig) + '"'); });
  }

  function answer(r) {
    return r.json().then(function (body) {
      if (!body.success) throw new Error(body.error || ("upload refused (" + r.status + ")"));
      return body.files[0].sampleId;
    });
  }

  function upload(sensor, rec, label, path) {
    var name = encodeURIComponent(label);
    if (sensor === "Camera") {
      var form = new FormData();
      form.append("data", rec, label + ".jpg");
      return fetch(path.replace(/\/data$/, "/files"), { method: "POST", body: form,
        headers: headers({ "x-label": name, "x-add-date-id": "1" }) }).then(answer);
    }
    var payload = { device_name: deviceId(), device_type: "MOBILE_CLIENT", interval_ms: rec.interval, sensors: rec.sensors, values: rec.values };
    return sign(payload).then(function (body) {
      return fetch(path, { method: "POST", body: body, headers: headers({ "content-type": "application/json",
        "x-label": name, "x-file-name": name + ".json", "x-add-date-id": "1" }) }).then(answer);
    });
  }

  function record(sensor, lengthMs, progress) {
    if (sensor === "Accelerometer") return recordMotion(lengthMs, progress);
    if (sensor === "Microphone") return recordAudio(lengthMs, progress);
    if (sensor === "Camera") return snapshot();
    return Promise.reject(new Error("this phone has no sensor '" + sensor + "'"));
  }

  /* ---- remote management ---- */
  function send(msg) { if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify(msg)); }

  function onSampleRequest(req) {
    var offered = sensors().filter(function (s) { return s.name === req.sensor; })[0];
    if (!offered) return send({ sample: false, error: "this phone has no sensor '" + req.sensor + "'" });
    if (offered.frequencies.length && Math.abs(1000 / offered.frequencies[0] - req.interval) > 0.01)
      return send({ sample: false, error: req.sensor + " samples at " + offered.frequencies[0] + " Hz only" });
    if (state.busy) return send({ sample: false, error: "the phone is already recording" });
    send({ sample: true });
    run(req.sensor, req.length, req.label, req.path, true);
  }

  function run(sensor, lengthMs, label, path, remote) {
    var bar = $("#phone-progress");
    state.busy = true; bar.hidden = false; bar.value = 0; $("#phone-record").disabled = true;
    result("Recording " + sensor + " for " + lengthMs + " ms…");
    if (remote) send({ sampleStarted: true });
    return record(sensor, lengthMs, function (pct) {
      bar.value = pct;
      if (remote) send({ sampleReading: true, progressPercentage: pct });
    }).then(function (rec) {
      if (remote) send({ sampleUploading: true });
      result("Uploading…");
      return upload(sensor, rec, label, path);
    }).then(function (id) {
      bar.value = 100;
      if (remote) send({ sampleFinished: true });
      result("Uploaded sample " + id + " (" + label + ").");
    }).catch(function (e) {
      if (remote) send({ sample: false, error: String(e.message || e) });
      result("Error: " + (e.message || e), true);
    }).then(function () { state.busy = false; $("#phone-record").disabled = false; });
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/remote-management";
    var ws = new WebSocket(url);
    state.ws = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ hello: { version: 3, apiKey: state.key, deviceId: deviceId(), deviceType: "MOBILE_CLIENT",
        connection: "ip", sensors: sensors(), supportsSnapshotStreaming: false } }));
    };
    ws.onmessage = function (ev) {
      var msg; try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.hello === true) { status("Connected: record here, or from the dashboard's data acquisition page."); document.body.setAttribute("data-connected", "true"); }
      else if (msg.hello === false) { status("The server refused this phone: " + msg.err, true); state.refused = true; }
      else if (msg.sample && typeof msg.sample === "object") onSampleRequest(msg.sample);
      else if (msg.startSnapshot) send({ snapshotFailed: true, error: "the phone page does not stream snapshots" });
    };
    ws.onclose = function () {
      document.body.removeAttribute("data-connected");
      if (state.refused) return;
      status("Disconnected; trying again…", true);
      setTimeout(connect, 2000);
    };
  }

  function start() {
    var m = /apiKey=([^&]+)/.exec(location.hash);
    if (!m) { status("Open this page from the QR code on the project's Devices page (it carries the API key).", true); return; }
    state.key = decodeURIComponent(m[1]);
    $("#phone-device-id").textContent = deviceId();
    var select = $("#phone-sensor");
    sensors().forEach(function (s) { var o = document.createElement("option"); o.value = s.name; o.textContent = s.name; select.appendChild(o); });
    fetch("/api/projects", { headers: headers({}) }).then(function (r) { return r.json(); }).then(function (body) {
      if (!body.success) throw new Error(body.error);
      state.project = body.projects[0];
      $("#phone-project").textContent = state.project.name;
      return fetch("/api/" + state.project.id + "/devkeys", { headers: headers({}) }).then(function (r) { return r.json(); });
    }).then(function (keys) {
      state.hmac = keys.hmacKey || null;
      connect();
    }).catch(function (e) { status("Could not reach the project: " + (e.message || e), true); });

    $("#phone-allow").addEventListener("click", function () {
      if (window.DeviceMotionEvent && DeviceMotionEvent.requestPermission) DeviceMotionEvent.requestPermission().catch(function () {});
      try { audioContext().resume(); } catch (e) { /* no audio */ }
      $("#phone-allow").textContent = "Sensors allowed";
    });
    $("#phone-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (state.busy) return;
      try { if ($("#phone-sensor").value === "Microphone") audioContext().resume(); } catch (e) { /* reported by the recording */ }
      run($("#phone-sensor").value, Number($("#phone-length").value), $("#phone-label").value.trim() || "idle",
        "/api/" + $("#phone-category").value + "/data", false);
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
