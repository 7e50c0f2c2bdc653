/* Data acquisition: the selected sample's plot beside the list, bulk selection, the upload progress bar;
   on a sample's page, crop by dragging across the plot and "Find events" for splitting. The forms work
   without this file. */
(function () {
  "use strict";
  var T = window.Tinyforge;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /* ---- preview beside the list ---- */
  function select(tr) {
    var pane = $("#sample-preview");
    if (!pane || !tr) return;
    $all("#samples tr.selected").forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    tr.classList.add("selected"); tr.setAttribute("aria-selected", "true");
    var pid = pane.getAttribute("data-project"), id = tr.getAttribute("data-sample-id");
    var link = $("a", tr), title = document.createElement("h3"), box = document.createElement("div");
    title.textContent = link ? link.textContent : "sample " + id;
    box.className = "plot"; box.id = "preview-plot";
    pane.innerHTML = ""; pane.appendChild(title); pane.appendChild(box);
    pane.setAttribute("data-sample", id);
    if (tr.getAttribute("data-sample-kind") === "image") {
      var img = document.createElement("img");
      img.src = "/api/" + pid + "/raw-data/" + id + "/image"; img.alt = "Image sample " + title.textContent;
      img.className = "sample"; box.appendChild(img); box.setAttribute("data-plotted", "image");
      return;
    }
    box.textContent = "Loading…";
    T.plotSample(box, "/api/" + pid + "/raw-data/" + id);
  }

  function initPreview() {
    var table = $("#samples");
    if (!table) return;
    table.addEventListener("click", function (ev) {
      if (ev.target.closest("input, button, select, a, label, form")) return;
      select(ev.target.closest("tr[data-sample-id]"));
    });
    $all("tr[data-sample-id]", table).forEach(function (tr) {
      tr.tabIndex = 0;
      tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter" && ev.target === tr) select(tr); });
    });
  }

  /* ---- bulk selection ---- */
  function initBulk() {
    var form = $("#bulk-form"), all = $("#select-all");
    if (!form || !all) return;
    function update() {
      var boxes = $all(".select-sample"), n = boxes.filter(function (b) { return b.checked; }).length;
      $("#bulk-count").textContent = n ? n + " selected" : "Select samples below";
      $all("button", form).forEach(function (b) { b.disabled = n === 0; });
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    all.addEventListener("change", function () { $all(".select-sample").forEach(function (b) { b.checked = all.checked; }); update(); });
    $all(".select-sample").forEach(function (b) { b.addEventListener("change", update); });
    form.addEventListener("submit", function (ev) {
      var action = ev.submitter && ev.submitter.value;
      var n = $all(".select-sample").filter(function (b) { return b.checked; }).length;
      if (action === "delete" && !window.confirm("Delete " + n + " sample" + (n === 1 ? "" : "s") + "?")) ev.preventDefault();
    });
    update();
  }

  /* ---- upload with a progress bar ---- */
  function initUpload() {
    var form = $("#upload-form");
    if (!form || !window.XMLHttpRequest || !window.FormData) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var bar = $("#upload-progress"), status = $("#upload-status"), xhr = new XMLHttpRequest();
      bar.hidden = false; bar.value = 0;
      $all("button", form).forEach(function (b) { b.disabled = true; });
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.round(100 * e.loaded / e.total);
        status.textContent = "Uploading… " + bar.value + "% (" + Math.round(e.loaded / 1024) + " of " + Math.round(e.total / 1024) + " KiB)";
      });
      xhr.addEventListener("load", function () {
        /* the server answered with the data page (after its redirect), whose messages that request used up:
           keep them for the reloaded page */
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var flashes = $all(".flash", doc).map(function (f) { return { kind: f.className.replace("flash", "").trim(), text: f.textContent }; });
        try { window.sessionStorage.setItem("tinyforge-flashes", JSON.stringify(flashes)); } catch (e) { /* private mode */ }
        window.location.assign((xhr.responseURL || window.location.href).split("#")[0]);
      });
      xhr.addEventListener("error", function () {
        status.textContent = "The upload failed: the connection was lost.";
        $all("button", form).forEach(function (b) { b.disabled = false; });
      });
      xhr.open("POST", form.action);
      xhr.send(new FormData(form));
    });
  }

  /* ---- crop and split (sample page) ---- */
  function initCut() {
    var card = $("#cut");
    if (!card) return;
    var pid = card.getAttribute("data-project"), id = card.getAttribute("data-sample");
    var plot = $("#signal-plot");
    if (plot) {
      plot.addEventListener("tinyforge:plotted", function (ev) {
        var u = ev.detail;
        plot.addEventListener("mouseup", function () {
          setTimeout(function () {
            if (!u.select || u.select.width < 2) return;
            $("#crop-start").value = Math.max(0, Math.round(u.posToVal(u.select.left, "x")));
            $("#crop-end").value = Math.round(u.posToVal(u.select.left + u.select.width, "x"));
          }, 0);
        });
      });
    }
    var find = $("#find-events"), status = $("#split-status");
    find.hidden = false;
    find.addEventListener("click", function () {
      status.textContent = "Looking for events…";
      var url = "/api/" + pid + "/raw-data/" + id + "/find-segments?segmentLengthMs=" + encodeURIComponent($("#split-length").value);
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (res) {
        if (!res.success) { status.textContent = "Error: " + res.error; return; }
        $("#split-segments").value = res.segments.map(function (s) { return Math.round(s.startMs) + "-" + Math.round(s.endMs); }).join("\n");
        status.textContent = res.segments.length + " event" + (res.segments.length === 1 ? "" : "s") + " found.";
      }).catch(function (e) { status.textContent = "Error: " + e; });
    });
  }

  function showKeptFlashes() {
    var kept = null;
    try { kept = JSON.parse(window.sessionStorage.getItem("tinyforge-flashes") || "null"); window.sessionStorage.removeItem("tinyforge-flashes"); } catch (e) { return; }
    var main = $("main");
    (kept || []).reverse().forEach(function (f) {
      var div = document.createElement("div");
      div.className = "flash " + f.kind; div.setAttribute("role", f.kind === "error" ? "alert" : "status");
      div.textContent = f.text;
      main.insertBefore(div, main.firstChild);
    });
  }

  function initAll() { initPreview(); initBulk(); }
  document.addEventListener("DOMContentLoaded", function () { showKeptFlashes(); initAll(); initUpload(); initCut(); });
  document.addEventListener("tinyforge:samples", function (ev) {
    initAll();
    var id = ev.detail && ev.detail.select;
    if (id) select($('#samples tr[data-sample-id="' + id + '"]'));
  });
})();
