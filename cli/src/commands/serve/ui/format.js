// Building DOM without innerHTML (nothing from the store is ever parsed as HTML), and the
// formats every page shares: times, durations, tokens, cost, span categories.

/** An element: `el("a", {href: "/", class: "x"}, "text", child, ...)`. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything in `node` with `children`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A message box: kind `info`, `empty` or `error`. */
export function notice(kind, ...text) {
  return el("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...text);
}

/** Microseconds since the epoch of the store's UTC text `2026-12-03 08:40:42.313980`. */
export function micros(ts) {
  if (!ts) return NaN;
  const [date, frac = "0"] = ts.replace("T", " ").replace("Z", "").split(".");
  const ms = Date.parse(date.replace(" ", "T") + "Z");
  return ms * 1000 + Number((frac + "000000").slice(0, 6));
}

/** `2026-12-03 08:40:42` (UTC, as the store and `llm-trace` show it). */
export function time(ts) {
  return ts ? ts.replace("T", " ").slice(0, 19) : "–";
}

/** `08:40:42.313` (UTC), for events within a trace. */
export function clock(ts) {
  return ts ? ts.replace("T", " ").slice(11, 23) : "–";
}

/** How long ago, `3 min ago`. */
export function ago(ts) {
  const s = (Date.now() * 1000 - micros(ts)) / 1e6;
  if (!Number.isFinite(s)) return "";
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** `850 µs`, `12.3 ms`, `1.24 s`, `2 min 3 s`. */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms === 0) return "0";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** `1,234`. */
export function count(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}

/** `$0.0123`, `$1.24`; `–` when unknown. */
export function usd(cost) {
  if (cost === null || cost === undefined) return "–";
  if (cost === 0) return "$0";
  if (cost < 0.01) return `$${cost.toPrecision(3)}`;
  return `$${cost.toFixed(2)}`;
}

/** The waterfall's colour class of a span: inference, tool, turn, retrieval, guardrail, workflow or other. */
export function category(span) {
  const c = span.category || "";
  if (c === "agent_turn") return "turn";
  if (["inference", "tool", "retrieval", "guardrail", "workflow"].includes(c)) return c;
  return "other";
}

/** A status badge. */
export function status(s) {
  return el("span", { class: `status status-${s}` }, s);
}

/** The in/out token cell: `120 / 40`. */
export function tokens(input, output) {
  if (!input && !output) return "–";
  return `${count(input)} / ${count(output)}`;
}

/** The part of a trace id `llm-trace show` accepts, without the leading `…`. */
export function shortId(row) {
  return (row.short_id || row.trace_id || "").replace(/^…/, "");
}

/** Go to `href` within the viewer, as a followed link does (a new history entry). */
export function go(href) {
  history.pushState(null, "", href);
  window.dispatchEvent(new PopStateEvent("popstate"));
}
