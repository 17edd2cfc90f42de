// The trace list: newest first, one row per trace, filters (time range, status, service,
// model, free text, attribute filters `key op value`) kept in the URL, paging, and new
// traces shown as they arrive (the first page is polled while the tab is visible).

import { getJSON } from "./api.js";
import { ago, count, duration, el, fill, go, notice, shortId, status, time, tokens, usd } from "./format.js";

const PAGE = 50;
const POLL_MS = 3000;
const RANGES = [["15m", "15 minutes"], ["1h", "1 hour"], ["6h", "6 hours"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"], ["", "all time"]];
const OPS = { "=": "eq", "==": "eq", eq: "eq", "!=": "ne", ne: "ne", ">": "gt", gt: "gt", "<": "lt", lt: "lt" };
const OP_SIGNS = { eq: "=", ne: "!=", gt: ">", lt: "<" };

/** `key op value` (op `=`, `!=`, `>`, `<` or eq/ne/gt/lt) as the API's `key:op:value`; null if it is not one. */
export function parseFilter(text) {
  const m = /^\s*([A-Za-z0-9_.\-]+)\s*(==|!=|=|>|<|\beq\b|\bne\b|\bgt\b|\blt\b)\s*(.*?)\s*$/.exec(text);
  if (!m || m[3] === "") return null;
  const value = m[3].replace(/^"(.*)"$/, "$1");
  return `${m[1]}:${OPS[m[2]]}:${value}`;
}

function filterLabel(f) {
  const [key, op, ...rest] = f.split(":");
  return `${key} ${OP_SIGNS[op] || op} ${rest.join(":")}`;
}

function select(name, value, options, label) {
  return el("label", {}, label,
    el("select", { name, "aria-label": label },
      options.map(([v, text]) => el("option", { value: v, selected: v === value }, text))));
}

export async function render(main, params) {
  const since = params.get("since") || "";
  const filters = params.getAll("filter");
  const offset = Number(params.get("offset") || 0) || 0;
  const query = new URLSearchParams();
  if (since) query.set("since", since);
  for (const k of ["status", "service", "model", "q", "session"]) if (params.get(k)) query.set(k, params.get(k));
  for (const f of filters) query.append("filter", f);
  query.set("limit", PAGE);
  query.set("offset", offset);

  // The filters' choices arrive on their own: the list does not wait for them.
  const facets = getJSON("/api/facets", since ? { since } : {}).catch(() => ({ services: [], models: [] }));
  const page = await getJSON("/api/traces", query);
  document.getElementById("store-path").textContent = page.path;
  const chosen = (name) => (params.get(name) ? [[params.get(name), params.get(name)]] : []);

  const form = el("form", { class: "filters", id: "filters" },
    select("since", since, RANGES, "Time"),
    select("status", params.get("status") || "", [["", "any"], ["ok", "ok"], ["error", "error"], ["open", "open"]], "Status"),
    select("service", params.get("service") || "", [["", "any"], ...chosen("service")], "Service"),
    select("model", params.get("model") || "", [["", "any"], ...chosen("model")], "Model"),
    el("label", { class: "grow" }, "Search",
      el("input", { type: "search", name: "q", value: params.get("q") || "", placeholder: "span names, attribute values, logs" })),
    el("label", { class: "grow" }, "Attribute filter",
      el("input", { type: "text", name: "filter", placeholder: "gen_ai.request.model = llama3.2:3b", autocomplete: "off" })),
    el("button", { type: "submit" }, "Apply"));
  const problem = el("p", { class: "form-error", role: "alert" });
  const chips = el("div", { class: "chips" }, filters.map((f) =>
    el("span", { class: "chip" }, filterLabel(f),
      el("button", { type: "button", title: "Remove this filter", "aria-label": `Remove ${filterLabel(f)}`, onclick: () => {
        const next = new URLSearchParams(params);
        next.delete("filter");
        for (const g of filters) if (g !== f) next.append("filter", g);
        next.delete("offset");
        go(`/?${next}`);
      } }, "×"))));
  if (params.get("session")) {
    chips.append(el("span", { class: "chip" }, `session = ${params.get("session")}`));
  }
  form.addEventListener("change", (e) => { if (e.target.tagName === "SELECT") form.requestSubmit(); });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    next.set("since", data.get("since"));
    for (const k of ["status", "service", "model", "q"]) if (data.get(k)) next.set(k, data.get(k));
    if (params.get("session")) next.set("session", params.get("session"));
    for (const f of filters) next.append("filter", f);
    const typed = String(data.get("filter") || "").trim();
    if (typed) {
      const f = parseFilter(typed);
      if (!f) {
        problem.textContent = `“${typed}” is not a filter: write key op value, e.g. gen_ai.usage.input_tokens > 100 (op =, !=, >, <).`;
        return;
      }
      next.append("filter", f);
    }
    go(`/?${next}`);
  });

  const body = el("tbody");
  const table = el("table", { class: "traces" },
    el("thead", {}, el("tr", {},
      ["Start", "Trace", "Root span", "Service", "Duration", "Spans", "Tokens in / out", "Cost", "Status"].map((h, i) =>
        el("th", { class: i >= 4 && i <= 7 ? "num" : "" }, h)))),
    body);
  const live = el("span", { class: "live" });
  const pager = el("div", { class: "pager" });
  const content = el("div", {});
  fill(main, el("h1", {}, "Traces"), form, problem, chips, content);

  let known = page.traces.map((t) => t.trace_id);
  function rows(traces, fresh) {
    fill(body, traces.map((t) => {
      const href = `/traces/${t.trace_id}`;
      return el("tr", { class: `${t.status === "error" ? "failed" : ""} ${fresh.has(t.trace_id) ? "fresh" : ""}`, dataset: { traceId: t.trace_id } },
        el("td", { title: ago(t.start_time) }, time(t.start_time)),
        el("td", { class: "mono" }, el("a", { href, title: t.trace_id }, `…${shortId(t)}`)),
        el("td", {}, el("a", { href }, t.root_span_name || "(root not closed yet)"), t.models.length ? el("span", { class: "muted" }, ` ${t.models.join(", ")}`) : null),
        el("td", {}, t.service_name || "–"),
        el("td", { class: "num" }, duration(t.duration_ms)),
        el("td", { class: "num" }, count(t.span_count)),
        el("td", { class: "num" }, tokens(t.input_tokens, t.output_tokens)),
        el("td", { class: "num" }, usd(t.cost)),
        el("td", {}, status(t.status)));
    }));
  }
  function show(p, fresh) {
    if (p.store === "missing") {
      fill(content, notice("empty", `There is no trace store at ${p.path} yet. Run an instrumented program (for example `,
        el("code", {}, "cargo run --example agent"), ") with the sqlite sink; its traces appear here as they arrive."));
      return;
    }
    if (!p.traces.length) {
      const filtered = [...query.keys()].some((k) => !["limit", "offset", "since"].includes(k));
      fill(content, notice("empty", offset > 0 ? "No more traces." : filtered ? "No traces match these filters." :
        `No traces ${since ? `in the last ${RANGES.find((r) => r[0] === since)?.[1] || since}` : "yet"}. New traces appear here as they arrive.`));
      return;
    }
    rows(p.traces, fresh);
    fill(pager,
      offset > 0 ? el("a", { class: "button", href: `/?${withOffset(params, Math.max(0, offset - PAGE))}` }, "← Newer") : null,
      el("span", { class: "muted" }, `${offset + 1}–${offset + p.traces.length}`),
      p.has_more ? el("a", { class: "button", href: `/?${withOffset(params, offset + PAGE)}` }, "Older →") : null,
      live);
    if (!content.contains(table)) fill(content, table, pager);
  }
  show(page, new Set());
  facets.then((f) => {
    for (const [name, values] of [["service", f.services], ["model", f.models]]) {
      const box = form.querySelector(`select[name=${name}]`);
      for (const v of values) {
        if (v !== params.get(name)) box.append(el("option", { value: v }, v));
      }
    }
  });

  // New traces without a reload: poll the first page.
  if (offset > 0) return null;
  let stopped = false;
  const timer = setInterval(async () => {
    if (stopped || document.hidden) return;
    try {
      const p = await getJSON("/api/traces", query);
      if (stopped) return;
      const ids = p.traces.map((t) => t.trace_id);
      if (ids.join() !== known.join() || p.store !== page.store) {
        const fresh = new Set(ids.filter((id) => !known.includes(id)));
        known = ids;
        page.store = p.store;
        show(p, fresh);
      }
      live.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
      live.classList.remove("stale");
    } catch (e) {
      live.textContent = `not updating: ${e.message}`;
      live.classList.add("stale");
    }
  }, POLL_MS);
  live.textContent = "live";
  return () => { stopped = true; clearInterval(timer); };
}

function withOffset(params, offset) {
  const next = new URLSearchParams(params);
  if (offset) next.set("offset", offset); else next.delete("offset");
  return next;
}
