// The dashboard: totals, tokens and cost by model over time (uPlot charts), the error
// rate over time, latency p50/p95 by span name and the slowest operations, over a chosen
// time range — the panels the llama-stack telemetry guide builds in Grafana.

import uPlot from "./vendor/uPlot.esm.js";
import { getJSON } from "./api.js";
import { count, duration, el, fill, notice, status, time, tokens, usd, micros } from "./format.js";

const RANGES = [["1h", "1 hour"], ["6h", "6 hours"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"], ["all", "all time"]];
const COLOURS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#72b7b2", "#9d755d", "#eeca3b", "#ff9da6"];

export async function render(main, params) {
  const since = params.get("since") || "24h";
  const data = await getJSON("/api/stats", { since });
  const picker = el("select", { name: "since", "aria-label": "Time", onchange: (e) => {
    history.pushState(null, "", `/stats?since=${encodeURIComponent(e.target.value)}`);
    window.dispatchEvent(new PopStateEvent("popstate"));
  } }, RANGES.map(([v, t]) => el("option", { value: v, selected: v === since }, t)));
  const head = el("div", { class: "page-head" }, el("h1", {}, "Stats"), el("label", {}, "Time ", picker));
  if (data.store === "missing") {
    fill(main, head, notice("empty", "There is no trace store yet: run an instrumented program and its figures appear here."));
    return null;
  }
  const s = data.summary;
  if (!s.traces) {
    fill(main, head, notice("empty", `No traces ${since === "all" ? "yet" : "in this time range"}.`));
    return null;
  }
  const totalIn = s.tokens.reduce((n, t) => n + t.input_tokens, 0);
  const totalOut = s.tokens.reduce((n, t) => n + t.output_tokens, 0);
  const charts = [];
  const tokensChart = el("div", { class: "chart", id: "chart-tokens" });
  const costChart = el("div", { class: "chart", id: "chart-cost" });
  const errorChart = el("div", { class: "chart", id: "chart-errors" });
  fill(main, head,
    el("dl", { class: "totals cards" },
      card("Traces", count(s.traces)), card("Spans", count(s.spans)),
      card("Error rate", `${(s.error_rate * 100).toFixed(1)} %`, s.error_traces ? `${count(s.error_traces)} failed trace${s.error_traces === 1 ? "" : "s"}` : "no failures"),
      card("Inference calls", count(s.inference_calls)),
      card("Tokens in / out", tokens(totalIn, totalOut)),
      card("Cost", usd(s.cost_usd), s.cost_unknown_calls ? `${count(s.cost_unknown_calls)} calls without a price` : "")),
    el("div", { class: "grid" },
      panel("Tokens by model over time", tokensChart),
      panel("Cost by model over time (USD)", costChart),
      panel("Traces and error rate over time", errorChart),
      panel("Tokens and cost by model", table(["Model", "Provider", "Calls", "Tokens in / out", "Cost"], s.tokens.map((t) => [
        t.model || "–", t.provider || "–", count(t.calls), tokens(t.input_tokens, t.output_tokens), usd(t.cost_usd)]), [2, 3, 4])),
      panel("Latency by span name (p50 / p95)", table(["Span name", "Count", "p50", "p95"], s.latency.slice(0, 15).map((l) => [
        l.name, count(l.count), duration(l.p50_ms), duration(l.p95_ms)]), [1, 2, 3])),
      panel("Slowest operations", table(["Span", "Start", "Duration", "Status"], data.slowest.map((x) => [
        el("a", { href: `/traces/${x.trace_id}#span=${x.span_id}` }, x.name), time(x.start_time), duration(x.duration_ms), status(x.status)]), [2]))));

  const tl = data.timeline;
  if (tl) {
    const width = () => Math.max(280, tokensChart.clientWidth - 8);
    // Every bucket from the start to now, so that lines are drawn through quiet ones.
    const step = tl.bucket_secs;
    const first = Math.floor(micros(tl.start) / 1e6);
    const now = Date.now() / 1000;
    const xs = [];
    for (let x = first; x <= now + step && xs.length < 500; x += step) xs.push(x);
    const at = (ts) => Math.min(xs.length - 1, Math.max(0, Math.round((micros(ts) / 1e6 - first) / step)));
    const index = { get: at };
    const models = [...new Set(tl.models.map((m) => m.model || "(none)"))];
    const series = (field) => models.map((name) => {
      const ys = xs.map(() => 0);
      for (const m of tl.models) if ((m.model || "(none)") === name) ys[index.get(m.start)] += field(m) || 0;
      return ys;
    });
    const opts = (unit, names, format = (v) => count(v)) => ({
      width: width(), height: 220,
      scales: { x: { time: true, range: [xs[0], xs[xs.length - 1]] } },
      axes: [{}, { size: 84, values: (u, vals) => vals.map(format) }],
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: true, size: 4 }, value: (u, v) => (v === null ? "–" : format(v)) }))],
    });
    if (models.length) {
      charts.push(new uPlot(opts("tokens", models), [xs, ...series((m) => m.input_tokens + m.output_tokens)], tokensChart));
      charts.push(new uPlot(opts("USD", models, (v) => (v ? `$${Number(v.toPrecision(2))}` : "$0")), [xs, ...series((m) => m.cost)], costChart));
    } else {
      fill(tokensChart, notice("empty", "No inference spans in this time range."));
      fill(costChart, notice("empty", "No inference spans in this time range."));
    }
    const tracesY = xs.map(() => 0);
    const failedY = xs.map(() => 0);
    for (const b of tl.traces) {
      tracesY[index.get(b.start)] += b.traces;
      failedY[index.get(b.start)] += b.error_traces;
    }
    const errorY = tracesY.map((n, i) => (n ? (100 * failedY[i]) / n : null));
    const eo = opts("traces", ["traces"]);
    eo.scales.pct = { range: [0, 100] };
    eo.axes.push({ scale: "pct", side: 1, grid: { show: false }, size: 64, values: (u, vals) => vals.map((v) => `${v} %`) });
    eo.series.push({ label: "% failed", scale: "pct", stroke: "#e45756", width: 2, points: { show: true, size: 4 }, spanGaps: true,
      value: (u, v) => (v === null ? "–" : `${v.toFixed(1)} %`) });
    charts.push(new uPlot(eo, [xs, tracesY, errorY], errorChart));
    const resize = () => { for (const c of charts) c.setSize({ width: width(), height: 220 }); };
    window.addEventListener("resize", resize);
    return () => { window.removeEventListener("resize", resize); for (const c of charts) c.destroy(); };
  }
  return null;
}

function card(label, value, sub) {
  return el("div", { class: "card" }, el("dt", {}, label), el("dd", {}, value), sub ? el("div", { class: "muted small" }, sub) : null);
}

function panel(title, ...body) {
  return el("section", { class: "panel" }, el("h2", {}, title), ...body);
}

function table(headers, rows, numeric = []) {
  if (!rows.length) return notice("empty", "Nothing in this time range.");
  return el("table", { class: "plain" },
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : "" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: numeric.includes(i) ? "num" : "" }, c))))));
}
