// Tuner page: the live trial table and the accuracy/latency scatter (RAM as the circle's size,
// the Pareto front in orange), client-side constraint filters, "use this configuration".
(function () {
  "use strict";
  const card = document.getElementById("tuner");
  if (!card) return;
  const tbody = card.querySelector("#tuner-trials tbody");
  const svg = document.getElementById("tuner-scatter");
  const csrf = (document.querySelector("input[name=csrf_token]") || {}).value || "";
  const NS = "http://www.w3.org/2000/svg";
  let data = JSON.parse(document.getElementById("tuner-initial").textContent);

  function num(id) {
    const v = parseFloat(document.getElementById(id).value);
    return Number.isFinite(v) ? v : null;
  }
  function visible(t) {
    if (t.status !== "succeeded") return true;
    const lat = num("filter-latency"), ram = num("filter-ram"), acc = num("filter-acc");
    if (lat !== null && t.profile.latency_ms > lat) return false;
    if (ram !== null && t.profile.ram_bytes > ram) return false;
    if (acc !== null && t.accuracy.int8 * 100 < acc) return false;
    return true;
  }
  function pct(v) { return v === null || v === undefined ? "" : (100 * v).toFixed(1) + "%"; }
  function describe(t) {
    if (!t.impulse) return "";
    const p = t.point || {};
    return `${t.impulse.dsp.block} · ${p.network || ""} w${p.width} d${p.depth}` +
      (p.window_size_ms ? ` · ${p.window_size_ms} ms` : "") +
      (p.downsample && p.downsample > 1 ? ` ÷${p.downsample}` : "") + (p.size ? ` · ${p.size}px` : "");
  }
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function table() {
    tbody.textContent = "";
    for (const t of data.trials) {
      if (!visible(t)) continue;
      const tr = document.createElement("tr");
      tr.dataset.trial = t.id;
      if (t.pareto) tr.classList.add("pareto");
      cell(tr, "#" + t.id);
      const st = cell(tr, "");
      const badge = document.createElement("span");
      badge.className = "badge " + t.status;
      badge.textContent = t.status;
      st.appendChild(badge);
      cell(tr, t.epochs, "num");
      cell(tr, describe(t));
      cell(tr, pct(t.accuracy.int8), "num");
      cell(tr, pct(t.accuracy.float32), "num");
      const lat = cell(tr, t.profile.latency_ms === null ? "" : t.profile.latency_ms.toFixed(2), "num");
      if (t.profile.nn_latency_ms !== null && t.profile.nn_latency_ms !== undefined) {
        lat.title = t.profile.dsp_latency_ms === null
          ? `network ${t.profile.nn_latency_ms.toFixed(2)} ms (DSP not measured: no Arm toolchain)`
          : `DSP ${t.profile.dsp_latency_ms.toFixed(2)} ms + network ${t.profile.nn_latency_ms.toFixed(2)} ms`;
      }
      cell(tr, t.profile.ram_bytes, "num");
      cell(tr, t.profile.flash_bytes, "num");
      cell(tr, t.pareto ? "★ front" : "");
      cell(tr, t.worker ? t.worker.replace(/^.* pid /, "pid ") : "");
      const act = cell(tr, "");
      if (t.status === "succeeded") {
        const f = document.createElement("form");
        f.method = "post";
        f.action = card.dataset.apply + t.id + "/apply";
        f.className = "inline";
        const h = document.createElement("input");
        h.type = "hidden"; h.name = "csrf_token"; h.value = csrf;
        const b = document.createElement("button");
        b.type = "submit"; b.className = "small"; b.textContent = "Use this configuration";
        b.setAttribute("aria-label", "Use the configuration of trial " + t.id);
        f.append(h, b);
        act.appendChild(f);
      }
      tbody.appendChild(tr);
    }
    const sk = data.skipped || [];
    document.getElementById("tuner-skipped").textContent = sk.length
      ? `${sk.length} candidate(s) skipped before training: ` + sk.slice(0, 5).map(s => s.reason).join("; ")
      : "";
  }
  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function scatter() {
    svg.textContent = "";
    const pts = data.trials.filter(t => t.status === "succeeded" && visible(t));
    const W = 640, H = 300, L = 56, R = 16, T = 12, B = 40;
    svg.appendChild(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "currentColor" }));
    svg.appendChild(el("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "currentColor" }));
    svg.appendChild(el("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", "font-size": 12, fill: "currentColor" }, "latency (ms)"));
    svg.appendChild(el("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", "font-size": 12, fill: "currentColor", transform: `rotate(-90 14 ${(T + H - B) / 2})` }, "int8 accuracy"));
    if (!pts.length) return;
    const lats = pts.map(t => t.profile.latency_ms), accs = pts.map(t => t.accuracy.int8);
    const rams = pts.map(t => t.profile.ram_bytes);
    const lmax = Math.max(...lats) * 1.1 || 1, amin = Math.min(...accs, 0.5), rmax = Math.max(...rams) || 1;
    const x = v => L + (W - L - R) * v / lmax, y = v => (H - B) - (H - B - T) * (v - amin) / (1 - amin || 1);
    for (const [v, lab] of [[amin, pct(amin)], [1, "100%"]]) svg.appendChild(el("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "currentColor" }, lab));
    svg.appendChild(el("text", { x: W - R, y: H - B + 14, "text-anchor": "end", "font-size": 11, fill: "currentColor" }, lmax.toFixed(2)));
    const front = pts.filter(t => t.pareto).sort((a, b) => a.profile.latency_ms - b.profile.latency_ms);
    if (front.length > 1) svg.appendChild(el("polyline", { points: front.map(t => `${x(t.profile.latency_ms)},${y(t.accuracy.int8)}`).join(" "), fill: "none", stroke: "#e67e22", "stroke-width": 1.5, class: "pareto-line" }));
    for (const t of pts) {
      const c = el("circle", { cx: x(t.profile.latency_ms), cy: y(t.accuracy.int8), r: 4 + 10 * Math.sqrt(t.profile.ram_bytes / rmax), fill: t.pareto ? "#e67e22" : "#3b82f6", "fill-opacity": 0.6, class: t.pareto ? "point pareto" : "point", "data-trial": t.id });
      c.appendChild(el("title", {}, `trial ${t.id}: ${pct(t.accuracy.int8)} int8, ${t.profile.latency_ms.toFixed(2)} ms, RAM ${t.profile.ram_bytes} B`));
      svg.appendChild(c);
    }
  }
  function draw() { table(); scatter(); }
  for (const id of ["filter-latency", "filter-ram", "filter-acc"]) document.getElementById(id).addEventListener("input", draw);
  async function poll() {
    try {
      const r = await fetch(card.dataset.url, { headers: { accept: "application/json" } });
      if (r.ok) {
        data = await r.json();
        document.getElementById("tuner-status").textContent = data.job.status;
        document.getElementById("tuner-status").className = "badge " + data.job.status;
        document.getElementById("tuner-progress").textContent = data.job.progress + "%";
        draw();
        if (["succeeded", "failed", "cancelled"].includes(data.job.status)) return;
      }
    } catch (e) { /* the next poll retries */ }
    setTimeout(poll, 2000);
  }
  draw();
  if (!["succeeded", "failed", "cancelled"].includes(data.status)) setTimeout(poll, 1000);
})();
