// One trace: its totals in the header, a waterfall (one row per span, nested by parent,
// bars placed by start and sized by duration on the trace's time axis, coloured by kind,
// errors in red, subtrees that collapse) and the selected span's details: attributes with
// their types, logs and events, the error, token counts, and captured prompts and
// completions as chat messages. `#span=ID` selects a span; the URL can be pasted.
//
// Rows are virtualised: only those in view (plus a margin) are in the DOM, so a trace of
// thousands of spans scrolls and collapses as quickly as a small one.

import { getJSON } from "./api.js";
import { category, clock, count, duration, el, fill, micros, notice, shortId, status, time, tokens, usd } from "./format.js";

const ROW = 26;
const MARGIN = 12;

let view = null; // the trace on screen: { spans, byId, select(id) }

/** Select span `id` of the trace on screen (from a changed `#span=`). */
export function select(id) {
  if (view) view.select(id, { scroll: true, push: false });
}

export async function render(main, id, spanId) {
  view = null;
  fill(main, notice("info", "Loading the trace…"));
  const data = await getJSON(`/api/traces/${encodeURIComponent(id)}`);
  const t = data.trace;
  document.title = `${t.root_span_name || "trace"} · llm-trace`;

  // The tree: children in start order; a span whose parent is not stored is a root.
  const byId = new Map(data.spans.map((s) => [s.span_id, { span: s, children: [], depth: 0, start: micros(s.start_time) }]));
  const roots = [];
  for (const node of byId.values()) {
    const parent = node.span.parent_span_id && byId.get(node.span.parent_span_id);
    if (parent) parent.children.push(node); else roots.push(node);
  }
  const byStart = (a, b) => a.start - b.start;
  roots.sort(byStart);
  for (const node of byId.values()) node.children.sort(byStart);
  const t0 = micros(t.start_time);
  let t1 = micros(t.end_time);
  for (const n of byId.values()) {
    const end = n.start + (n.span.duration_ms || 0) * 1000;
    if (end > t1) t1 = end;
  }
  const total = Math.max(t1 - t0, 1);
  const eventsBySpan = new Map();
  for (const e of data.events) {
    if (!eventsBySpan.has(e.span_id)) eventsBySpan.set(e.span_id, []);
    eventsBySpan.get(e.span_id).push(e);
  }
  const collapsed = new Set();
  let visible = [];
  function flatten() {
    visible = [];
    const walk = (node, depth) => {
      node.depth = depth;
      visible.push(node);
      if (!collapsed.has(node.span.span_id)) for (const c of node.children) walk(c, depth + 1);
    };
    for (const r of roots) walk(r, 0);
  }
  flatten();

  const header = el("section", { class: "trace-header" },
    el("h1", {}, t.root_span_name || "(root span not closed yet)", " ", status(t.status)),
    el("dl", { class: "totals" },
      item("Trace", el("span", { class: "mono", title: t.trace_id }, `…${shortId(t)}`)),
      item("Start", time(t.start_time)),
      item("Duration", duration(t.duration_ms)),
      item("Spans", count(t.span_count)),
      item("Errors", count(t.error_count)),
      item("Tokens in / out", tokens(t.input_tokens, t.output_tokens)),
      item("Cost", usd(t.cost)),
      item("Service", t.service_name || "–"),
      t.models.length ? item("Models", t.models.join(", ")) : null),
    el("p", { class: "muted" }, "In a terminal: ", el("code", {}, `llm-trace show ${shortId(t)}`)));

  const axis = el("div", { class: "wf-axis" },
    el("div", { class: "wf-name" }, `${count(data.spans.length)} spans`,
      el("button", { type: "button", class: "link", onclick: () => { collapsed.clear(); flatten(); draw(); } }, "expand all"),
      el("button", { type: "button", class: "link", onclick: () => {
        for (const n of byId.values()) if (n.children.length && n.depth > 0) collapsed.add(n.span.span_id);
        flatten(); draw();
      } }, "collapse")),
    el("div", { class: "wf-ticks" }, [0, 0.25, 0.5, 0.75, 1].map((f) =>
      el("span", { class: "tick", dataset: { at: f } }, duration((total * f) / 1000)))));
  const spacer = el("div", { class: "wf-spacer" });
  const rowsBox = el("div", { class: "wf-rows" });
  const scroller = el("div", { class: "wf-scroll", tabindex: "0", role: "tree", "aria-label": "Spans of the trace" }, spacer, rowsBox);
  const details = el("aside", { class: "details", id: "details" }, notice("info", "Select a span to see its attributes, logs and content."));
  const legend = el("div", { class: "legend" }, ["inference", "tool", "turn", "retrieval", "guardrail", "workflow", "other"].map((c) =>
    el("span", {}, el("i", { class: `swatch cat-${c}` }), c)), el("span", {}, el("i", { class: "swatch error" }), "error"));
  fill(main, header, el("div", { class: "trace-body" },
    el("section", { class: "waterfall" }, legend, axis, scroller), details));
  for (const tick of axis.querySelectorAll(".tick")) tick.style.left = `${Number(tick.dataset.at) * 100}%`;

  let selected = null;
  function draw() {
    spacer.style.height = `${visible.length * ROW}px`;
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - MARGIN);
    const last = Math.min(visible.length, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW) + MARGIN);
    const rows = [];
    for (let i = first; i < last; i++) rows.push(row(visible[i], i));
    fill(rowsBox, rows);
  }
  function row(node, index) {
    const s = node.span;
    const left = ((node.start - t0) / total) * 100;
    const width = Math.max(((s.duration_ms || 0) * 1000 / total) * 100, 0.15);
    const failed = s.status === "error";
    const toggle = node.children.length
      ? el("button", { type: "button", class: "toggle", "aria-label": collapsed.has(s.span_id) ? "expand" : "collapse", onclick: (e) => {
          e.stopPropagation();
          if (collapsed.has(s.span_id)) collapsed.delete(s.span_id); else collapsed.add(s.span_id);
          flatten(); draw();
        } }, collapsed.has(s.span_id) ? `▸ ${countBelow(node)}` : "▾")
      : el("span", { class: "toggle" });
    const a = s.attributes || {};
    const model = a["gen_ai.request.model"] || a["gen_ai.response.model"] || "";
    const extra = category(s) === "inference"
      ? el("span", { class: "muted extra" }, `${model && !s.name.includes(model) ? `${model} · ` : ""}${tokens(a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"])} tok`)
      : null;
    const bar = el("div", { class: `bar cat-${category(s)} ${failed ? "error" : ""}`, title: `${s.name}: ${duration(s.duration_ms)}` });
    bar.style.left = `${left}%`;
    bar.style.width = `${Math.min(width, 100 - left)}%`;
    const label = el("span", { class: "bar-label" }, duration(s.duration_ms));
    label.style.left = left > 70 ? "auto" : `calc(${left + width}% + 4px)`;
    if (left > 70) label.style.right = `calc(${100 - left}% + 4px)`;
    const r = el("div", {
      class: `wf-row ${failed ? "failed" : ""} ${selected === s.span_id ? "selected" : ""}`,
      role: "treeitem", "aria-selected": selected === s.span_id ? "true" : "false",
      dataset: { spanId: s.span_id, status: s.status, category: category(s) },
      onclick: () => choose(s.span_id, { scroll: false, push: true }),
    },
      el("div", { class: "wf-name" }, toggle, el("span", { class: `dot cat-${category(s)} ${failed ? "error" : ""}` }),
        el("span", { class: "span-name", title: s.name }, s.name), extra, failed ? el("span", { class: "err-mark", title: s.status_message || "error" }, " ⚠") : null),
      el("div", { class: "wf-track" }, bar, label));
    r.style.top = `${index * ROW}px`;
    r.querySelector(".wf-name").style.paddingLeft = `${node.depth * 16 + 4}px`;
    return r;
  }
  function countBelow(node) {
    let n = 0;
    const walk = (x) => { for (const c of x.children) { n++; walk(c); } };
    walk(node);
    return n;
  }
  function choose(spanId, { scroll, push }) {
    const node = byId.get(spanId);
    if (!node) {
      selected = null;
      fill(details, spanId ? notice("error", `This trace has no span ${spanId}.`) : notice("info", "Select a span to see its attributes, logs and content."));
      draw();
      return;
    }
    selected = spanId;
    // Show it: expand its ancestors.
    let p = node.span.parent_span_id && byId.get(node.span.parent_span_id);
    let changed = false;
    while (p) {
      if (collapsed.delete(p.span.span_id)) changed = true;
      p = p.span.parent_span_id && byId.get(p.span.parent_span_id);
    }
    if (changed) flatten();
    if (scroll) {
      const i = visible.indexOf(node);
      if (i * ROW < scroller.scrollTop || (i + 1) * ROW > scroller.scrollTop + scroller.clientHeight) {
        scroller.scrollTop = Math.max(0, i * ROW - scroller.clientHeight / 3);
      }
    }
    draw();
    const url = `${location.pathname}${location.search}#span=${spanId}`;
    if (push) history.pushState(null, "", url);
    fill(details, spanDetails(node.span, eventsBySpan.get(spanId) || [], t0));
  }
  scroller.addEventListener("scroll", () => requestAnimationFrame(draw), { passive: true });
  scroller.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    e.preventDefault();
    const i = visible.findIndex((n) => n.span.span_id === selected);
    const next = visible[Math.min(visible.length - 1, Math.max(0, i + (e.key === "ArrowDown" ? 1 : -1)))];
    if (next) choose(next.span.span_id, { scroll: true, push: false });
  });
  const onResize = () => draw();
  window.addEventListener("resize", onResize);
  draw();
  view = { select: (sid, o) => choose(sid, o) };
  if (spanId) choose(spanId, { scroll: true, push: false });
  return () => { window.removeEventListener("resize", onResize); view = null; document.title = "llm-trace"; };
}

function item(label, value) {
  return el("div", {}, el("dt", {}, label), el("dd", {}, value));
}

// ------------------------------------------------------------------ span details

const CONTENT = ["gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages"];
const TOOL_CONTENT = ["gen_ai.tool.call.arguments", "gen_ai.tool.call.result"];

function spanDetails(s, events, t0) {
  const a = s.attributes || {};
  const failed = s.status === "error";
  const parts = [
    el("h2", {}, el("span", { class: `dot cat-${category(s)} ${failed ? "error" : ""}` }), s.name, " ", status(s.status)),
    failed ? el("div", { class: "error-box", role: "alert" }, el("strong", {}, a["error.type"] ? `${a["error.type"]}: ` : "Error: "), s.status_message || "(no message)") : null,
    el("dl", { class: "facts" },
      item("Span", el("span", { class: "mono" }, s.span_id)),
      item("Parent", el("span", { class: "mono" }, s.parent_span_id || "– (root)")),
      item("Kind", `${s.kind} · ${s.category || "other"}`),
      item("Service", s.service_name || "–"),
      item("Start", `${clock(s.start_time)} (+${duration((micros(s.start_time) - t0) / 1000)})`),
      item("Duration", duration(s.duration_ms))),
  ];
  if (category(s) === "inference" || a["gen_ai.usage.input_tokens"] !== undefined) {
    parts.push(el("h3", {}, "Tokens"), el("dl", { class: "facts tokens" },
      item("Model", a["gen_ai.request.model"] || a["gen_ai.response.model"] || "–"),
      item("Provider", a["gen_ai.provider.name"] || "–"),
      item("Input tokens", count(a["gen_ai.usage.input_tokens"])),
      item("Output tokens", count(a["gen_ai.usage.output_tokens"])),
      a["gen_ai.usage.cached_tokens"] !== undefined || a["gen_ai.usage.cache_read.input_tokens"] !== undefined
        ? item("Cached", count(a["gen_ai.usage.cached_tokens"] ?? a["gen_ai.usage.cache_read.input_tokens"])) : null,
      a["gen_ai.usage.reasoning_tokens"] !== undefined ? item("Reasoning", count(a["gen_ai.usage.reasoning_tokens"])) : null,
      item("Cost", usd(a["gen_ai.usage.cost"])),
      a["gen_ai.response.time_to_first_chunk"] !== undefined ? item("First chunk", duration(a["gen_ai.response.time_to_first_chunk"] * 1000)) : null));
  } else if (a["llm_telemetry.usage.input_tokens"] !== undefined) {
    parts.push(el("h3", {}, "Totals below this span"), el("dl", { class: "facts tokens" },
      item("Input tokens", count(a["llm_telemetry.usage.input_tokens"])),
      item("Output tokens", count(a["llm_telemetry.usage.output_tokens"])),
      item("Cost", usd(a["llm_telemetry.cost"])),
      item("Inference calls", count(a["llm_telemetry.inference_calls"])),
      item("Tool calls", count(a["llm_telemetry.tool_calls"]))));
  }
  const content = CONTENT.filter((k) => a[k] !== undefined);
  if (content.length) {
    parts.push(el("h3", {}, "Content"));
    for (const k of content) parts.push(el("div", { class: "content-block" }, el("div", { class: "content-key" }, label(k)), messages(a[k])));
  }
  const tool = TOOL_CONTENT.filter((k) => a[k] !== undefined);
  if (tool.length) {
    parts.push(el("h3", {}, "Tool call"));
    for (const k of tool) parts.push(el("div", { class: "content-block" }, el("div", { class: "content-key" }, label(k)), pretty(a[k])));
  }
  parts.push(el("h3", {}, `Logs and events (${events.length})`));
  parts.push(events.length ? el("table", { class: "events" },
    el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Severity"), el("th", {}, "Event"))),
    el("tbody", {}, events.map((e) => el("tr", { class: `sev-${e.severity || e.event_type}` },
      el("td", { class: "mono", title: e.timestamp }, `+${duration((micros(e.timestamp) - t0) / 1000)}`),
      el("td", {}, e.severity ? el("span", { class: `sev sev-${e.severity}` }, e.severity) : e.event_type),
      el("td", {}, eventText(e))))))
    : el("p", { class: "muted" }, "None."));
  const keys = Object.keys(a).sort();
  parts.push(el("h3", {}, `Attributes (${keys.length})`),
    el("table", { class: "attrs" }, el("tbody", {}, keys.map((k) =>
      el("tr", {}, el("th", { class: "mono" }, k), el("td", {}, el("span", { class: "type" }, typeOf(a[k]))), el("td", { class: "value" }, valueText(a[k])))))));
  return parts;
}

function label(key) {
  return { "gen_ai.system_instructions": "System instructions", "gen_ai.input.messages": "Prompt (input messages)",
    "gen_ai.output.messages": "Completion (output messages)", "gen_ai.tool.call.arguments": "Arguments",
    "gen_ai.tool.call.result": "Result" }[key] || key;
}

function eventText(e) {
  if (e.event_type === "metric") return `${e.metric} = ${e.value}${e.unit ? ` ${e.unit}` : ""}`;
  if (e.event_type === "structured_log") return `${e.message}${e.attributes && e.attributes.status ? ` (${e.attributes.status})` : ""}`;
  return e.message || "";
}

function typeOf(v) {
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "string";
  if (Array.isArray(v)) return "array";
  return v === null ? "null" : "object";
}

function valueText(v) {
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

function parseMaybe(v) {
  if (typeof v !== "string") return v;
  try { return JSON.parse(v); } catch (e) { return v; }
}

function pretty(v) {
  const parsed = parseMaybe(v);
  return el("pre", { class: "json" }, typeof parsed === "string" ? parsed : JSON.stringify(parsed, null, 2));
}

/** Captured messages as a chat: the OpenTelemetry GenAI form (`[{role, parts: [...]}]`),
 * the OpenAI form (`[{role, content, tool_calls}]`), or, for anything else, the text. */
export function messages(value) {
  const parsed = parseMaybe(value);
  let list = Array.isArray(parsed) ? parsed : null;
  if (!list && parsed && typeof parsed === "object" && Array.isArray(parsed.messages)) list = parsed.messages;
  if (!list && parsed && typeof parsed === "object" && parsed.role) list = [parsed];
  if (!list || !list.every((m) => m && typeof m === "object" && (m.role || m.parts || m.content !== undefined))) {
    // System instructions in the GenAI form are a list of parts.
    if (Array.isArray(parsed) && parsed.every((p) => p && p.type)) return el("div", { class: "chat" }, message({ role: "system", parts: parsed }));
    return pretty(value);
  }
  return el("div", { class: "chat" }, list.map(message));
}

function message(m) {
  const role = m.role || "message";
  const body = [];
  const parts = Array.isArray(m.parts) ? m.parts : [];
  for (const p of parts) body.push(part(p));
  if (m.content !== undefined && m.content !== null) {
    if (Array.isArray(m.content)) for (const p of m.content) body.push(part(p));
    else body.push(el("div", { class: "text" }, typeof m.content === "string" ? m.content : JSON.stringify(m.content, null, 2)));
  }
  for (const c of m.tool_calls || []) {
    const f = c.function || c;
    body.push(toolCall(c.id, f.name, f.arguments));
  }
  if (m.tool_call_id) body.unshift(el("div", { class: "muted" }, `result of ${m.tool_call_id}`));
  return el("div", { class: `msg role-${String(role).replace(/[^a-z_]/gi, "")}` },
    el("div", { class: "role" }, role, m.finish_reason ? el("span", { class: "muted" }, ` · ${m.finish_reason}`) : null), body);
}

function part(p) {
  if (typeof p === "string") return el("div", { class: "text" }, p);
  switch (p.type) {
    case "text": return el("div", { class: "text" }, p.content ?? p.text ?? "");
    case "tool_call": return toolCall(p.id, p.name, p.arguments);
    case "tool_call_response": return el("div", { class: "tool-call" }, el("div", { class: "muted" }, `tool result${p.id ? ` · ${p.id}` : ""}`), pretty(p.response ?? p.result ?? ""));
    case "reasoning": return el("div", { class: "text reasoning" }, p.content ?? "");
    default: return pretty(p);
  }
}

function toolCall(id, name, args) {
  return el("div", { class: "tool-call" }, el("div", {}, "🔧 ", el("strong", {}, name || "tool"), id ? el("span", { class: "muted" }, ` · ${id}`) : null), pretty(args ?? ""));
}
