// The viewer's entry point: routes `/`, `/traces/{id}`, `/sessions` and `/stats` to their
// page in the browser (links are followed without a reload, Back works, every URL can be
// pasted), and shows any failure of a page as a message instead of a blank page.

import { el, fill, notice } from "./format.js";
import * as traces from "./traces.js";
import * as trace from "./trace.js";
import * as sessions from "./sessions.js";
import * as stats from "./stats.js";

const main = document.getElementById("main");
let cleanup = null;
let current = null;

function route(location) {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const params = new URLSearchParams(location.search);
  if (path === "/" || path === "/traces") return { nav: "traces", run: (m) => traces.render(m, params) };
  if (path.startsWith("/traces/")) {
    const id = decodeURIComponent(path.slice("/traces/".length));
    const span = new URLSearchParams(location.hash.slice(1)).get("span");
    return { nav: "traces", key: `trace:${id}`, run: (m) => trace.render(m, id, span), hash: () => trace.select(span) };
  }
  if (path === "/sessions") return { nav: "sessions", run: (m) => sessions.render(m, params) };
  if (path === "/stats") return { nav: "stats", run: (m) => stats.render(m, params) };
  return { nav: "", run: (m) => fill(m, notice("error", `No page at ${path}. `, el("a", { href: "/" }, "Go to the traces."))) };
}

async function show() {
  const r = route(window.location);
  const key = r.key || `${window.location.pathname}${window.location.search}`;
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.nav === r.nav);
  }
  if (cleanup) {
    try { cleanup(); } catch (e) { /* a page's cleanup never stops navigation */ }
    cleanup = null;
  }
  current = key;
  try {
    const stop = await r.run(main);
    if (current === key && typeof stop === "function") cleanup = stop;
  } catch (e) {
    if (current === key) fill(main, notice("error", e.message || String(e)));
  }
}

/** Go to `href` within the viewer (a new history entry). */
export function navigate(href) {
  history.pushState(null, "", href);
  show();
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/v1")) return;
  event.preventDefault();
  if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash !== window.location.hash) {
    history.pushState(null, "", url.href);
    const r = route(window.location);
    if (r.hash) r.hash(); else show();
    return;
  }
  navigate(url.href);
});

window.addEventListener("popstate", () => {
  const r = route(window.location);
  if (r.key && r.key === current && r.hash) r.hash();
  else show();
});

window.addEventListener("unhandledrejection", (event) => {
  fill(main, notice("error", (event.reason && event.reason.message) || String(event.reason)));
});

show();
