// Conversations (`gen_ai.conversation.id`): one card each, most recently active first,
// with its user, tokens, cost and errors, and its turns in order, each a link to its trace.

import { getJSON } from "./api.js";
import { ago, count, duration, el, fill, notice, shortId, status, time, tokens, usd } from "./format.js";

const RANGES = [["", "all time"], ["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"]];

export async function render(main, params) {
  const since = params.get("since") || "";
  const data = await getJSON("/api/sessions", since ? { since } : {});
  const picker = el("select", { name: "since", "aria-label": "Time", onchange: (e) => {
    const v = e.target.value;
    history.pushState(null, "", v ? `/sessions?since=${encodeURIComponent(v)}` : "/sessions");
    window.dispatchEvent(new PopStateEvent("popstate"));
  } }, RANGES.map(([v, t]) => el("option", { value: v, selected: v === since }, t)));
  const head = el("div", { class: "page-head" }, el("h1", {}, "Sessions"), el("label", {}, "Time ", picker));
  if (data.store === "missing") {
    fill(main, head, notice("empty", "There is no trace store yet: conversations appear here once an agent with ",
      el("code", {}, "#[instrument_agent_turn(session = ...)]"), " has run."));
    return null;
  }
  if (!data.sessions.length) {
    fill(main, head, notice("empty", "No conversations", since ? " in this time range" : "", ": spans with ",
      el("code", {}, "gen_ai.conversation.id"), " (an agent turn's session = ...) appear here."));
    return null;
  }
  fill(main, head, el("div", { class: "sessions" }, data.sessions.map(card)));
  return null;
}

function card(s) {
  const errors = s.trace_rows.filter((t) => t.status === "error").length;
  return el("section", { class: "session", dataset: { conversation: s.conversation_id } },
    el("header", {},
      el("h2", {}, s.conversation_id),
      el("span", { class: "muted" }, s.user_id ? `user ${s.user_id}${s.users > 1 ? ` (+${s.users - 1})` : ""} · ` : "", `last active ${ago(s.last_time)}`),
      el("dl", { class: "totals small" },
        item("Turns", count(s.turns)),
        item("Traces", count(s.traces)),
        item("Tokens in / out", tokens(s.input_tokens, s.output_tokens)),
        item("Cost", usd(s.cost)),
        item("Errors", errors ? el("span", { class: "status status-error" }, `${errors}`) : "0"),
        el("a", { href: `/?session=${encodeURIComponent(s.conversation_id)}` }, "its traces →"))),
    el("table", { class: "turns" },
      el("thead", {}, el("tr", {}, ["#", "Start", "Turn", "Duration", "Tokens in / out", "Cost", "Status"].map((h, i) =>
        el("th", { class: i === 0 || (i >= 3 && i <= 5) ? "num" : "" }, h)))),
      el("tbody", {}, s.trace_rows.map((t, i) => el("tr", { class: t.status === "error" ? "failed" : "" },
        el("td", { class: "num" }, String(i + 1)),
        el("td", {}, time(t.start_time)),
        el("td", {}, el("a", { href: `/traces/${t.trace_id}` }, t.root_span_name || `…${shortId(t)}`), el("span", { class: "muted mono" }, ` …${shortId(t)}`)),
        el("td", { class: "num" }, duration(t.duration_ms)),
        el("td", { class: "num" }, tokens(t.input_tokens, t.output_tokens)),
        el("td", { class: "num" }, usd(t.cost)),
        el("td", {}, status(t.status)))))));
}

function item(label, value) {
  return el("div", {}, el("dt", {}, label), el("dd", {}, value));
}
