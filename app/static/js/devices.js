/* Devices: "Record new data" on the data page (a connected device records, the sample appears in the list
   with its plot), and on the devices page the live connection count and the camera preview. */
(function () {
  "use strict";
  var T = window.Tinyforge;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function api(method, url, body) {
    return fetch(url, { method: method, credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": T.csrf() },
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { j.status_code = r.status; return j; }); });
  }
  function option(select, value, text) {
    var o = document.createElement("option"); o.value = value; o.textContent = text; select.appendChild(o);
  }
  function fill(select, items, keep) {
    var before = keep ? select.value : null;
    select.innerHTML = "";
    items.forEach(function (it) { option(select, it[0], it[1]); });
    if (before !== null && items.some(function (it) { return String(it[0]) === before; })) select.value = before;
  }

  /* ---- Record new data ---- */
  function initRecord() {
    var card = $("#record");
    if (!card) return;
    var pid = card.getAttribute("data-project"), form = $("#record-form", card), devices = [];
    var dev = $("#record-device"), sensor = $("#record-sensor"), freq = $("#record-frequency");
    var status = $("#record-status"), bar = $("#record-progress"), start = $("#record-start"), busy = false;
    form.hidden = false;

    function chosen() { return devices.filter(function (d) { return d.deviceId === dev.value; })[0]; }
    function sensorOf() {
      var d = chosen();
      return d && d.sensors.filter(function (s) { return s.name === sensor.value; })[0];
    }
    function fillFrequencies() {
      var s = sensorOf();
      fill(freq, s && s.frequencies.length ? s.frequencies.map(function (f) { return [f, f + " Hz"]; }) : [["", "—"]], true);
      freq.disabled = !(s && s.frequencies.length);
    }
    function fillSensors() {
      var d = chosen();
      fill(sensor, d ? d.sensors.map(function (s) { return [s.name, s.name]; }) : [], true);
      fillFrequencies();
    }
    function refresh() {
      return api("GET", "/api/" + pid + "/devices/connected").then(function (body) {
        if (!body.success) return;
        devices = body.devices;
        fill(dev, devices.map(function (d) { return [d.deviceId, d.name + " (" + d.deviceType + ")"]; }), true);
        $("#record-none").hidden = devices.length > 0;
        start.disabled = busy || devices.length === 0;
        fillSensors();
      }).catch(function () { /* the next refresh tries again */ });
    }
    dev.addEventListener("change", fillSensors);
    sensor.addEventListener("change", fillFrequencies);
    refresh();
    setInterval(refresh, 3000);

    function say(text, error) {
      status.textContent = text;
      status.className = error ? "error-text" : "";
      status.setAttribute("role", error ? "alert" : "status");
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { label: $("#record-label").value.trim(), lengthMs: Number($("#record-length").value),
        category: $("#record-category").value, sensor: sensor.value };
      if (freq.value) body.frequencyHz = Number(freq.value);
      var deviceId = dev.value, before = sampleIds();
      busy = true; start.disabled = true; bar.hidden = false; bar.value = 0;
      say("Asking " + deviceId + " to record…");
      api("POST", "/api/" + pid + "/device/" + encodeURIComponent(deviceId) + "/start-sampling", body)
        .then(function (res) {
          if (!res.success) throw new Error(res.error);
          return poll(deviceId, res.id, before);
        })
        .catch(function (e) { say("Error: " + e.message, true); })
        .then(function () { busy = false; start.disabled = devices.length === 0; });
    });

    var WORDS = { pending: "Waiting for the device…", sent: "Sent to the device…", accepted: "The device accepted…",
      started: "Sampling…", reading: "Sampling…", processing: "Processing…", uploading: "Uploading…" };
    function poll(deviceId, id, before) {
      return new Promise(function (resolve, reject) {
        function tick() {
          api("GET", "/api/" + pid + "/device/" + encodeURIComponent(deviceId) + "/sampling/" + id).then(function (res) {
            if (!res.success) return reject(new Error(res.error));
            var r = res.request;
            bar.value = r.status === "finished" ? 100 : r.progress;
            if (r.status === "failed") return reject(new Error(r.error || "the device could not record"));
            if (r.status === "finished") {
              var done = function () { say("Sample recorded."); resolve(); };
              return refreshSamples(before).then(done, done);
            }
            say((WORDS[r.status] || r.status) + (r.progress ? " " + r.progress + "%" : ""));
            setTimeout(tick, 300);
          }).catch(reject);
        }
        tick();
      });
    }
  }

  function sampleIds() {
    return Array.prototype.map.call(document.querySelectorAll("#samples tr[data-sample-id]"),
      function (tr) { return Number(tr.getAttribute("data-sample-id")); });
  }

  /* the samples table and counts, fetched again; the new sample is selected and plotted (data.js) */
  function refreshSamples(before) {
    return fetch(window.location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["#samples-card", "#count-samples", "#count-training", "#count-testing"].forEach(function (sel) {
          var now = $(sel), next = $(sel, doc);
          if (now && next) now.innerHTML = next.innerHTML;
        });
        var fresh = sampleIds().filter(function (id) { return before.indexOf(id) < 0; });
        document.dispatchEvent(new CustomEvent("tinyforge:samples", { detail: { select: fresh.length ? Math.max.apply(null, fresh) : null } }));
      });
  }

  /* ---- devices page ---- */
  function initDevicesPage() {
    var card = $("#devices-card");
    if (!card) return;
    var pid = card.getAttribute("data-project"), timer = null, streaming = null;
    var view = $("#snapshot-view"), img = $("#snapshot-img");
    setInterval(function () {
      api("GET", "/api/" + pid + "/devices/connected").then(function (body) {
        if (body.success) $("#devices-connected").textContent = body.devices.length + " connected now.";
      }).catch(function () { /* keep the last count */ });
    }, 5000);
    Array.prototype.forEach.call(document.querySelectorAll("[data-snapshot]"), function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var id = btn.getAttribute("data-snapshot"), base = "/api/" + pid + "/device/" + encodeURIComponent(id);
        if (streaming === id) {
          api("POST", base + "/debug-stream/stop"); clearInterval(timer); streaming = null; view.hidden = true;
          btn.textContent = "Camera preview"; return;
        }
        api("POST", base + "/debug-stream/snapshot/start").then(function (res) {
          if (!res.success) { $("#snapshot-caption").textContent = "Error: " + res.error; view.hidden = false; return; }
          streaming = id; btn.textContent = "Stop preview"; view.hidden = false;
          $("#snapshot-caption").textContent = "Camera preview of " + id;
          timer = setInterval(function () {
            fetch(base + "/snapshot", { credentials: "same-origin" }).then(function (r) {
              return r.ok ? r.blob() : null;
            }).then(function (blob) {
              if (!blob) return;
              var old = img.src; img.src = URL.createObjectURL(blob);
              img.setAttribute("data-frames", String(Number(img.getAttribute("data-frames") || 0) + 1));
              if (old) URL.revokeObjectURL(old);
            }).catch(function () { /* next frame */ });
          }, 400);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { initRecord(); initDevicesPage(); });
})();
