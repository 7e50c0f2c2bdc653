/* Tinyforge dashboard: progressive enhancement only. Every page works without this file; it adds
   copy buttons, block-form switching, plots (uPlot, vendored), the DSP preview and live job logs. */
(function () {
  "use strict";
  var PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
    "#4b5563", "#ea580c", "#0d9488", "#9333ea"];
  var MAX_POINTS = 6000;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function csrf() { var m = $('meta[name="csrf-token"]'); return m ? m.content : ""; }
  function widthOf(el) { return Math.max(280, Math.floor(el.getBoundingClientRect().width || el.clientWidth || 600)); }

  /* ---- copy buttons ---- */
  function initCopy() {
    $all("[data-copy]").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var src = document.getElementById(btn.getAttribute("data-copy"));
        var text = src ? (src.value !== undefined && src.tagName === "INPUT" ? src.value : src.textContent) : "";
        var done = function () { var old = btn.textContent; btn.textContent = "Copied"; setTimeout(function () { btn.textContent = old; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(src, text); done(); });
        } else { fallbackCopy(src, text); done(); }
      });
    });
  }
  function fallbackCopy(src, text) {
    var ta = document.createElement("textarea");
    ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "absolute"; ta.style.left = "-9999px";
    document.body.appendChild(ta); ta.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
    document.body.removeChild(ta);
  }

  /* ---- destructive buttons ask first (the server does not depend on it) ---- */
  function initConfirm() {
    $all("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
  }

  /* ---- show only the chosen block's fieldset ---- */
  function initSwitches() {
    $all("[data-switch]").forEach(function (select) {
      var group = select.getAttribute("data-switch");
      var apply = function () {
        $all('[data-switch-group="' + group + '"]').forEach(function (fs) {
          fs.hidden = fs.getAttribute("data-switch-value") !== select.value;
        });
      };
      select.addEventListener("change", apply);
      apply();
    });
  }

  /* ---- a parameter shown only when another of its block has a given value (Param.shown_when) ---- */
  function initShownWhen() {
    var boxes = $all("[data-shown-when]");
    if (!boxes.length) return;
    function apply() {
      boxes.forEach(function (box) {
        var cond = JSON.parse(box.getAttribute("data-shown-when")), prefix = box.getAttribute("data-param-prefix");
        box.hidden = !Object.keys(cond).every(function (name) {
          var inp = document.querySelector('[name="' + prefix + name + '"]');
          return !inp || cond[name].map(String).indexOf(inp.value) >= 0;
        });
      });
    }
    document.addEventListener("change", function (ev) { if (ev.target && ev.target.tagName === "SELECT") apply(); });
    apply();
  }

  /* ---- plots ---- */
  function decimate(xs, ys, maxPoints) {
    var n = xs.length;
    if (n <= maxPoints) return [xs, ys];
    var buckets = Math.floor(maxPoints / 2), step = n / buckets, ox = [], oy = ys.map(function () { return []; });
    for (var b = 0; b < buckets; b++) {
      var a = Math.floor(b * step), e = Math.min(n, Math.floor((b + 1) * step));
      ox.push(xs[a]); ox.push(xs[Math.min(n - 1, Math.floor((a + e) / 2))]);
      for (var s = 0; s < ys.length; s++) {
        var lo = Infinity, hi = -Infinity, col = ys[s];
        for (var i = a; i < e; i++) { var v = col[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
        oy[s].push(lo); oy[s].push(hi);
      }
    }
    return [ox, oy];
  }

  function linePlot(el, opts) {
    /* opts: {title, xs, series: [{label, values}], xLabel, yLabel, height} */
    var d = decimate(opts.xs, opts.series.map(function (s) { return s.values; }), MAX_POINTS);
    var series = [{ label: opts.xLabel || "x" }].concat(opts.series.map(function (s, i) {
      return { label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.25,
        points: { show: d[0].length <= 60, size: 6, fill: PALETTE[i % PALETTE.length] } };
    }));
    var u = new uPlot({
      title: opts.title, width: widthOf(el), height: opts.height || 260, series: series,
      scales: { x: { time: false } }, legend: { show: opts.series.length <= 12 },
      axes: [{ label: opts.xLabel || "" }, { label: opts.yLabel || "" }]
    }, [d[0]].concat(d[1]), el);
    el.setAttribute("data-plotted", String(opts.xs.length));
    watchResize(el, u);
    return u;
  }

  function watchResize(el, u) {
    if (!window.ResizeObserver) return;
    var last = widthOf(el);
    new ResizeObserver(function () {
      var w = widthOf(el);
      if (Math.abs(w - last) > 8) { last = w; u.setSize({ width: w, height: u.height }); }
    }).observe(el);
  }

  function heatmap(el, graph) {
    /* graph.data[row][col]: row = y (drawn bottom-up), col = x; graph.x / graph.y name the axes (with
       units), graph.x_values / graph.y_values give each column's / row's value for the ticks */
    var rows = graph.data.length, cols = rows ? graph.data[0].length : 0;
    var xName = graph.x || "x", yName = graph.y || "y";
    var fig = document.createElement("figure");
    var cap = document.createElement("figcaption");
    cap.textContent = graph.name + " (" + cols + " × " + rows + ": " + xName + " across, " + yName + " up)";
    var src = document.createElement("canvas");
    src.width = Math.max(1, cols); src.height = Math.max(1, rows);
    var lo = Infinity, hi = -Infinity;
    graph.data.forEach(function (r) { r.forEach(function (v) { if (v < lo) lo = v; if (v > hi) hi = v; }); });
    var span = hi - lo || 1, sctx = src.getContext("2d"), img = sctx.createImageData(Math.max(1, cols), Math.max(1, rows));
    for (var y = 0; y < rows; y++) {
      for (var x = 0; x < cols; x++) {
        var t = (graph.data[y][x] - lo) / span, c = viridis(t), o = ((rows - 1 - y) * cols + x) * 4;
        img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
      }
    }
    sctx.putImageData(img, 0, 0);
    // the drawn figure: the image stretched into a plot area, ticks and axis names around it
    var W = Math.min(720, widthOf(el)), H = 240, L = 64, B = 40, T = 8, R = 12, dpr = window.devicePixelRatio || 1;
    var canvas = document.createElement("canvas");
    canvas.className = "heatmap";
    canvas.width = W * dpr; canvas.height = H * dpr; canvas.style.width = W + "px"; canvas.style.height = H + "px";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", cap.textContent);
    var ctx = canvas.getContext("2d"), pw = W - L - R, ph = H - T - B;
    ctx.scale(dpr, dpr);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(src, L, T, pw, ph);
    ctx.fillStyle = "#334155"; ctx.strokeStyle = "#64748b"; ctx.font = "11px system-ui, sans-serif";
    function fmt(v) { return typeof v !== "number" ? String(v) : Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(2).replace(/\.?0+$/, ""); }
    function ticks(n) { var k = Math.min(n, 6), out = []; for (var i = 0; i < k; i++) out.push(Math.round(i * (n - 1) / Math.max(1, k - 1))); return out; }
    var xv = graph.x_values || null, yv = graph.y_values || null;
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    ticks(cols).forEach(function (i) {
      var px = L + (i + 0.5) * pw / cols;
      ctx.beginPath(); ctx.moveTo(px, T + ph); ctx.lineTo(px, T + ph + 4); ctx.stroke();
      ctx.fillText(fmt(xv ? xv[i] : i), px, T + ph + 6);
    });
    ctx.fillText(xName, L + pw / 2, H - 14);
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ticks(rows).forEach(function (i) {
      var py = T + ph - (i + 0.5) * ph / rows;
      ctx.beginPath(); ctx.moveTo(L - 4, py); ctx.lineTo(L, py); ctx.stroke();
      ctx.fillText(fmt(yv ? yv[i] : i), L - 6, py);
    });
    ctx.save(); ctx.translate(12, T + ph / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center"; ctx.fillText(yName, 0, 0); ctx.restore();
    fig.setAttribute("data-x-axis", xName); fig.setAttribute("data-y-axis", yName);
    if (xv) fig.setAttribute("data-x-range", fmt(xv[0]) + "…" + fmt(xv[xv.length - 1]));
    if (yv) fig.setAttribute("data-y-range", fmt(yv[0]) + "…" + fmt(yv[yv.length - 1]));
    fig.appendChild(cap); fig.appendChild(canvas);
    var scale = document.createElement("p");
    scale.className = "muted small";
    scale.textContent = "colour scale: " + lo.toPrecision(3) + " (dark) … " + hi.toPrecision(3) + " (bright)";
    fig.appendChild(scale);
    el.appendChild(fig);
  }

  function viridis(t) {
    var stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    t = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    var i = Math.min(stops.length - 2, Math.floor(t)), f = t - i, a = stops[i], b = stops[i + 1];
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  }

  function plotGraphs(el, graphs) {
    el.innerHTML = "";
    (graphs || []).forEach(function (g) {
      var box = document.createElement("div");
      box.className = "plot";
      el.appendChild(box);
      if (g.type === "image") { heatmap(box, g); return; }
      var xs, ys;
      if (Array.isArray(g.data)) { ys = g.data; xs = ys.length ? ys[0].map(function (_, i) { return i; }) : []; }
      else { xs = g.data.x; ys = g.data.y; }
      linePlot(box, { title: g.name, xs: xs, xLabel: g.x || (Array.isArray(g.data) ? "index" : "frequency (Hz)"),
        series: ys.map(function (v, i) { return { label: (g.labels && g.labels[i]) || ("#" + i), values: v }; }),
        height: 220 });
    });
  }

  function plotSample(el, url) {
    /* the values of /api/{project}/raw-data/{id} as one line per axis; resolves with the uPlot (or null) */
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (body) {
        if (!body.success) { el.textContent = body.error || "could not load the sample"; return null; }
        var p = body.payload, rows = p.values || [];
        if (!rows.length) { el.textContent = "This sample holds no values to plot."; return null; }
        var axes = Array.isArray(rows[0]) ? rows[0].length : 1, xs = new Array(rows.length), cols = [];
        for (var a = 0; a < axes; a++) cols.push(new Array(rows.length));
        for (var i = 0; i < rows.length; i++) {
          xs[i] = i * p.intervalMs;
          for (a = 0; a < axes; a++) cols[a][i] = axes === 1 && !Array.isArray(rows[i]) ? rows[i] : rows[i][a];
        }
        el.innerHTML = "";
        return linePlot(el, { title: "Signal (" + rows.length + " values at " + (1000 / p.intervalMs).toFixed(1) + " Hz)",
          xs: xs, xLabel: "time (ms)", series: cols.map(function (c, k) {
            var s = p.sensors[k] || {}; return { label: (s.name || ("axis " + k)) + (s.units ? " (" + s.units + ")" : ""), values: c };
          }), height: 300 });
      }).catch(function (e) { el.textContent = "could not load the sample: " + e; return null; });
  }

  function initSamplePlot() {
    var el = $("[data-sample-url]");
    if (!el) return;
    plotSample(el, el.getAttribute("data-sample-url")).then(function (u) {
      if (u) el.dispatchEvent(new CustomEvent("tinyforge:plotted", { detail: u }));
    });
  }

  /* ---- feature explorer ---- */
  function scatter(el, body) {
    var pts = body.points || [];
    if (!pts.length) { el.textContent = "No points to show."; return; }
    pts = pts.slice().sort(function (a, b) { return a.x - b.x; });
    var labels = [];
    pts.forEach(function (p) { if (labels.indexOf(p.label) < 0) labels.push(p.label); });
    labels.sort();
    var wrong = function (p) { return p.predicted !== undefined && p.label && p.predicted !== p.label; };
    var nWrong = pts.filter(wrong).length;
    var xs = pts.map(function (p) { return p.x; });
    var ys = labels.map(function (l) { return pts.map(function (p) { return p.label === l ? p.y : null; }); });
    var series = [{ label: "x" }].concat(labels.map(function (l, i) {
      var c = PALETTE[i % PALETTE.length];
      return { label: l || "(no label)", stroke: c, fill: c, paths: function () { return null; },
        points: { show: true, size: 7, stroke: c, fill: c, width: 1 } };
    }));
    if (body.predictedBy) {  // a ring around each window the trained model gets wrong
      series.push({ label: "misclassified by " + body.predictedBy + " (" + nWrong + ")", stroke: "#111827",
        paths: function () { return null; }, points: { show: true, size: 15, stroke: "#111827", fill: "rgba(0,0,0,0)", width: 2 } });
      ys.push(pts.map(function (p) { return wrong(p) ? p.y : null; }));
    }
    el.innerHTML = "";
    var method = { tsne: "t-SNE", umap: "UMAP", pca: "PCA" }[body.method] || body.method;
    var hint = "Point at a dot to see its sample; click to open it.";
    var readout = document.createElement("p");
    readout.className = "small explorer-readout"; readout.setAttribute("aria-live", "polite");
    readout.textContent = hint;
    var m = /\/api\/(\d+)\//.exec(el.getAttribute("data-explorer-url") || ""), nearest = null;
    function closest(u) {  // the point nearest the cursor, in CSS pixels of the plot area, within 14 px
      var best = null, bestD = 14 * 14, cx = u.cursor.left, cy = u.cursor.top;
      if (cx == null || cx < 0) return null;
      pts.forEach(function (p) {
        var dx = u.valToPos(p.x, "x") - cx, dy = u.valToPos(p.y, "y") - cy, d = dx * dx + dy * dy;
        if (d < bestD) { bestD = d; best = p; }
      });
      return best;
    }
    function describe(p) {
      return (p.sampleName || "sample #" + p.sampleId) + " · " + (p.label || "(no label)") +
        (p.predicted !== undefined ? (wrong(p) ? " · predicted " + p.predicted + " (wrong)" : " · predicted correctly") : "") +
        " · window " + p.window + " · " + p.category + (m ? " (click to open)" : "");
    }
    var u = new uPlot({ title: "Feature explorer (" + method + ", " + pts.length + " of " + body.total + " windows)",
      width: widthOf(el), height: 380, series: series, scales: { x: { time: false } },
      cursor: { points: { show: false } },
      axes: [{ label: method + " 1" }, { label: method + " 2" }],
      legend: { show: true, live: false },
      hooks: { setCursor: [function (u) {
        nearest = closest(u);
        readout.textContent = nearest ? describe(nearest) : hint;
        if (nearest) { readout.setAttribute("data-sample-id", nearest.sampleId); } else { readout.removeAttribute("data-sample-id"); }
      }] } }, [xs].concat(ys), el);
    u.over.style.cursor = "crosshair";
    u.over.addEventListener("click", function () {
      if (nearest && m) window.location.assign("/projects/" + m[1] + "/data/" + nearest.sampleId);
    });
    el.appendChild(readout);
    var note = document.createElement("p");
    note.className = "muted small explorer-note";
    note.textContent = (body.sampled ? "A random " + pts.length + " of the " + body.total + " windows are shown. " : "") +
      (body.predictedBy ? nWrong + " of " + pts.length + " windows shown are misclassified by " + body.predictedBy + " (ringed)." :
        "Misclassified windows are ringed here once a classifier is trained on these features.");
    el.appendChild(note);
    el.setAttribute("data-axes", method + " 1, " + method + " 2");  // drawn on the canvas; named here too
    el.setAttribute("data-misclassified", String(nWrong));
    el.setAttribute("data-plotted", String(pts.length));
    watchResize(el, u);
  }

  function initExplorers() {
    $all("[data-explorer-url]").forEach(function (el) {
      fetch(el.getAttribute("data-explorer-url"), { credentials: "same-origin" }).then(function (r) { return r.json(); })
        .then(function (body) { if (body.success) scatter(el, body); else el.textContent = body.error; })
        .catch(function (e) { el.textContent = "could not load the feature explorer: " + e; });
    });
  }

  /* ---- DSP preview ---- */
  function initPreview() {
    var form = $("#dsp-preview");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var design = $("#impulse-form"), block = $("#block", design).value, params = {};
      $all('[name^="p.' + block + '."]', design).forEach(function (inp) {
        var name = inp.name.slice(3 + block.length);
        if (inp.type === "hidden" && $all('[name="' + inp.name + '"]', design).length > 1) return;
        if (inp.type === "checkbox") { params[name] = inp.checked; return; }
        var t = inp.getAttribute("data-type");
        params[name] = (t === "int" || t === "float") && inp.value.trim() !== "" && !isNaN(Number(inp.value)) ? Number(inp.value) : inp.value;
      });
      var out = $("#dsp-preview-output"), status = $("#dsp-preview-status");
      var body = { block: block, params: params, sample_id: Number($("#preview-sample").value),
        window: Number($("#preview-window").value || 0) };
      var iid = form.getAttribute("data-impulse-id");
      if (iid) body.impulse_id = Number(iid);
      status.textContent = "Running " + block + "…";
      fetch(form.getAttribute("data-url"), { method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf() }, body: JSON.stringify(body) })
        .then(function (r) { return r.json(); })
        .then(function (res) {
          if (!res.success) { status.textContent = "Error: " + res.error; status.className = "error-text"; out.innerHTML = ""; return; }
          status.className = "";
          status.textContent = res.features.length + " features, shape [" + res.shape.join(", ") + "]" +
            (res.windows ? " (" + res.windows + " windows in this sample)" : "");
          plotGraphs(out, res.graphs);
          out.setAttribute("data-plotted", String(res.graphs.length));
        }).catch(function (e) { status.textContent = "Error: " + e; });
    });
  }


  /* ---- training curves ---- */
  function historyPlots(el, history) {
    el.innerHTML = "";
    if (!history.length) return;
    var xs = history.map(function (h) { return h.epoch; });
    var keys = Object.keys(history[history.length - 1]).filter(function (k) { return k !== "epoch" && k !== "learning_rate"; });
    var lossKeys = keys.filter(function (k) { return /loss/.test(k); });
    var otherKeys = keys.filter(function (k) { return !/loss/.test(k); });
    [[lossKeys, "Loss per epoch"], [otherKeys, "Accuracy / metric per epoch"]].forEach(function (group) {
      if (!group[0].length) return;
      var box = document.createElement("div");
      box.className = "plot";
      el.appendChild(box);
      linePlot(box, { title: group[1], xs: xs, xLabel: "epoch", height: 220,
        series: group[0].map(function (k) { return { label: k, values: history.map(function (h) { return h[k] === undefined ? null : h[k]; }) }; }) });
    });
    el.setAttribute("data-plotted", String(history.length));
  }

  function initHistory() {
    $all("[data-history]").forEach(function (el) {
      try { historyPlots(el, JSON.parse(el.getAttribute("data-history"))); } catch (e) { el.textContent = "bad history: " + e; }
    });
  }

  var EPOCH_LINE = /^epoch (\d+)\/(\d+): (.*)$/;
  function parseEpoch(line) {
    var m = EPOCH_LINE.exec(line);
    if (!m) return null;
    var out = { epoch: Number(m[1]) };
    m[3].split(", ").forEach(function (part) {
      var kv = part.trim().split(" ");
      if (kv.length === 2 && !isNaN(Number(kv[1]))) out[kv[0]] = Number(kv[1]);
    });
    return out;
  }

  /* ---- live classification ---- */
  function initClassify() {
    var form = $("#classify-form");
    if (!form) return;
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var status = $("#classify-status"), out = $("#classify-plot");
      var url = "/api/" + form.getAttribute("data-project") + "/impulses/" + $("#classify-impulse").value + "/classify/" + form.getAttribute("data-sample");
      status.textContent = "Classifying…";
      fetch(url, { method: "POST", credentials: "same-origin", headers: { "x-csrf-token": csrf() } })
        .then(function (r) { return r.json(); })
        .then(function (res) {
          if (!res.success) { status.textContent = "Error: " + res.error; return; }
          out.innerHTML = "";
          var parts = [];
          Object.keys(res.blocks).forEach(function (bid) {
            var b = res.blocks[bid], name = b.name || ("block " + bid);
            if (b.error) { parts.push(name + ": " + b.error); return; }
            if (b.labels && b.int8) {
              parts.push(name + " predicts " + b.predicted + " (int8, mean of " + res.windows + " windows)");
              var box = document.createElement("div"); box.className = "plot"; out.appendChild(box);
              linePlot(box, { title: "Per-window scores (int8)", xs: res.windowStartsMs, xLabel: "window start (ms)", height: 240,
                series: b.labels.map(function (l, i) { return { label: l, values: b.int8.map(function (row) { return row[i]; }) }; }) });
            } else if (b.scores) {
              parts.push(name + ": anomaly threshold " + b.threshold);
              var box2 = document.createElement("div"); box2.className = "plot"; out.appendChild(box2);
              linePlot(box2, { title: "Anomaly score per window", xs: res.windowStartsMs, xLabel: "window start (ms)", height: 220,
                series: [{ label: "score", values: b.scores }] });
            }
          });
          status.textContent = parts.join(" · ");
          out.setAttribute("data-plotted", String(res.windows));
        }).catch(function (e) { status.textContent = "Error: " + e; });
    });
  }

  /* ---- live job log ---- */
  function initJobStreams() {
    $all("[data-job-stream]").forEach(function (box) {
      if (!window.EventSource) return;
      var log = $(".job-log", box), bar = $("progress", box), status = $(".job-status", box), stage = $(".job-stage", box);
      var seen = {}, tb = null, epochs = [], epochTarget = box.parentElement && box.parentElement.getAttribute("data-epoch-plot");
      $all("[data-line-id]", log).forEach(function (li) { seen[li.getAttribute("data-line-id")] = true; });
      $all("[data-line-ids]", log).forEach(function (li) {  // a folded traceback: every line it holds
        li.getAttribute("data-line-ids").split(" ").forEach(function (id) { seen[id] = true; });
      });
      var es = new EventSource(box.getAttribute("data-job-stream"));
      es.addEventListener("log", function (ev) {
        if (seen[ev.lastEventId]) return;
        seen[ev.lastEventId] = true;
        var line = JSON.parse(ev.data).line, li = document.createElement("li");
        if (tb && line.indexOf("failed: ") !== 0) { tb.textContent += "\n" + line; return; }
        if (stage && line.indexOf("Traceback") !== 0) stage.textContent = line.length > 140 ? line.slice(0, 139) + "…" : line;  // the stage the progress is in
        tb = null;
        if (line.indexOf("Traceback (most recent call last)") === 0) {  // behind "details", as the server renders it
          var det = document.createElement("details"), sum = document.createElement("summary");
          tb = document.createElement("pre");
          sum.textContent = "details (traceback)"; tb.textContent = line;
          det.appendChild(sum); det.appendChild(tb); li.appendChild(det);
        } else { li.textContent = line; }
        log.appendChild(li);
        log.scrollTop = log.scrollHeight;
        var ep = epochTarget && parseEpoch(line);
        if (ep) { epochs.push(ep); historyPlots(document.getElementById(epochTarget), epochs); }
      });
      es.addEventListener("status", function (ev) {
        var s = JSON.parse(ev.data);
        if (bar) { bar.value = s.progress; bar.textContent = s.progress + "%"; }
        if (status) {
          status.textContent = s.status + " · " + s.progress + "%" + (s.waiting ? " · " + s.waiting : "");
          status.setAttribute("data-status", s.status);
        }
      });
      es.addEventListener("end", function (ev) {
        var s = JSON.parse(ev.data);
        es.close();
        if (status) { status.textContent = s.status + (s.error ? ": " + s.error : ""); status.setAttribute("data-status", s.status); }
        box.setAttribute("data-finished", s.status);
        var cancel = $(".cancel-form", box);
        if (cancel) cancel.hidden = true;
        var next = box.getAttribute("data-reload-on-end");
        if (next && s.status === "succeeded") setTimeout(function () { window.location.assign(next); }, 600);
      });
      es.onerror = function () { if (box.getAttribute("data-finished")) es.close(); };
    });
  }

  /* ---- job lists that update live: poll the JSON list while a job is queued or running ---- */
  function initJobLists() {
    $all("[data-jobs-live]").forEach(function (box) {
      var url = box.getAttribute("data-jobs-live"), project = box.getAttribute("data-project");
      function active(s) { return s === "queued" || s === "running"; }
      function row(j) {  // a new row of the jobs table, as jobs.html renders one
        var tr = document.createElement("tr"), link = "/projects/" + project + "/jobs/" + j.id;
        tr.setAttribute("data-job-id", j.id);
        tr.innerHTML = '<td><a></a></td><td class="job-kind"></td><td><span class="badge"></span></td>' +
          '<td class="num job-progress"></td><td class="hide-sm"></td><td class="hide-sm job-finished"></td><td class="job-actions"></td>';
        var a = tr.querySelector("a"); a.href = link; a.textContent = "#" + j.id;
        tr.querySelector(".job-kind").textContent = j.kind;
        tr.children[4].textContent = (j.created || "").replace("T", " ").slice(0, 19) + " UTC";
        return tr;
      }
      function update(jobs) {
        var busy = false;
        jobs.forEach(function (j) {
          busy = busy || active(j.status);
          var el = box.querySelector('[data-job-id="' + j.id + '"]');
          if (!el && box.tagName === "TBODY") {
            el = row(j); box.insertBefore(el, box.firstChild);
            var wrap = box.closest(".table-wrap"), none = $("#no-jobs");
            if (wrap) wrap.hidden = false;
            if (none) none.hidden = true;
          }
          if (!el) return;
          if (el.getAttribute("data-status") === j.status && el.getAttribute("data-progress") === String(j.progress)) return;
          el.setAttribute("data-status", j.status); el.setAttribute("data-progress", String(j.progress));
          if (el.tagName === "A") { el.textContent = "#" + j.id + " " + j.status; return; }
          var badge = $(".badge", el), prog = $(".job-progress", el), fin = $(".job-finished", el);
          if (badge) { badge.className = "badge " + j.status; badge.textContent = j.status; }
          if (prog) prog.textContent = j.progress + "%";
          if (fin) fin.textContent = j.finished ? j.finished.replace("T", " ").slice(0, 19) + " UTC" : "—";
          var cancel = $(".job-actions form", el);
          if (cancel && !active(j.status)) cancel.hidden = true;
        });
        return busy;
      }
      function poll() {
        if (document.hidden) { setTimeout(poll, 3000); return; }
        fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
          .then(function (body) {
            var busy = body.success && update(body.jobs || []);
            box.setAttribute("data-polled", String(+(box.getAttribute("data-polled") || 0) + 1));
            setTimeout(poll, busy ? 2000 : 6000);
          }).catch(function () { setTimeout(poll, 10000); });
      }
      setTimeout(poll, 1500);
    });
  }

  /* for the page scripts (data.js, devices.js, phone.js) */
  window.Tinyforge = { linePlot: linePlot, plotSample: plotSample, csrf: csrf };

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    initCopy(); initConfirm(); initSwitches(); initShownWhen(); initSamplePlot(); initExplorers(); initPreview(); initHistory(); initClassify(); initJobStreams(); initJobLists();
  });
})();
