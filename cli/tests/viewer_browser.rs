//! The web viewer of `llm-trace serve` in a real browser: Debian's headless Chromium over
//! WebDriver (`support/chromium.rs`), against the store the example agent writes (with
//! content capture and its price table), plus three traces the test adds through SQLite:
//! one with OpenTelemetry-style chat messages, one of 2,000 spans, and one written while
//! the list is open. One server (with a token) and one browser for the whole binary;
//! screenshots go to `target/viewer-screenshots/`.
//!
//! `LLM_TELEMETRY_SKIP_BROWSER=1` skips the browser test where Chromium cannot be had.
#![cfg(unix)]

mod fixture;
mod support {
    pub mod chromium;
    pub mod example;
    pub mod serve;
}

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use llm_telemetry::short_id;
use rusqlite::Connection;
use serde_json::{json, Value};
use support::chromium::{self, Browser};
use support::example::{run_example_agent, scratch_dir};
use support::serve::Server;

const TOKEN: &str = "viewer-test-token";
const WAIT: Duration = Duration::from_secs(20);

/// Traces the test adds.
const CHAT_TRACE: &str = "c4a7000000000000000000000000c4a7";
const CHAT_SPAN: &str = "c4a70000000000c1";
const BIG_TRACE: &str = "b16000000000000000000000000000b1";
const LIVE_TRACE: &str = "11be000000000000000000000000011b";

struct Fixture {
    dir: PathBuf,
    db: PathBuf,
    server: Server,
}

/// The example agent's store (content captured, prices known) plus the chat and the
/// 2,000-span traces, served with a token. Built once per test binary.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = scratch_dir("viewer-browser-");
        let db = dir.join("traces.db");
        let prices = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agent/prices.toml");
        run_example_agent(
            &db,
            &[
                ("TELEMETRY_CAPTURE_CONTENT", "true"),
                ("TELEMETRY_PRICES", prices.to_str().unwrap()),
            ],
        );
        add_chat_trace(&db);
        add_big_trace(&db, 2000);
        let server = Server::start(&db, &["--token", TOKEN]);
        Fixture { dir, db, server }
    })
}

/// An inference whose content is in the OpenTelemetry GenAI form, with a tool call.
fn add_chat_trace(db: &Path) {
    let conn = Connection::open(db).unwrap();
    let input = json!([
        {"role": "system", "parts": [{"type": "text", "content": "You are a weather assistant."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Is it raining in Reykjavik?"}]}
    ]);
    let output = json!([
        {"role": "assistant", "parts": [
            {"type": "tool_call", "id": "call_7", "name": "get_weather", "arguments": {"city": "Reykjavik"}}
        ], "finish_reason": "tool_call"}
    ]);
    fixture::span(
        &conn,
        CHAT_TRACE,
        CHAT_SPAN,
        None,
        "chat gpt-4o-mini",
        120.0,
        850.0,
        "ok",
        "inference",
        "chat-client",
        json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": 31,
            "gen_ai.usage.output_tokens": 12,
            "gen_ai.input.messages": input.to_string(),
            "gen_ai.output.messages": output.to_string(),
        }),
    );
    fixture::trace(&conn, CHAT_TRACE, Some(CHAT_SPAN));
}

/// A trace of `n` spans: a root, 40 turns of 49 spans each (tools and inferences).
fn add_big_trace(db: &Path, n: usize) {
    let mut conn = Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    let id = |i: usize| format!("b1{i:014x}");
    let root = id(0);
    fixture::span(
        &tx,
        BIG_TRACE,
        &root,
        None,
        "invoke_workflow big-batch",
        300.0,
        60_000.0,
        "ok",
        "workflow",
        "batch",
        json!({"gen_ai.operation.name": "invoke_workflow"}),
    );
    let mut parent = root.clone();
    for i in 1..n {
        let (name, category, parent_id) = if i % 49 == 1 {
            parent = id(i);
            ("invoke_agent worker", "agent_turn", root.clone())
        } else if i % 2 == 0 {
            ("chat local-rules-1", "inference", parent.clone())
        } else {
            ("execute_tool lookup", "tool", parent.clone())
        };
        fixture::span(
            &tx,
            BIG_TRACE,
            &id(i),
            Some(&parent_id),
            name,
            300.0 - i as f64 * 0.03,
            20.0,
            "ok",
            category,
            "batch",
            if category == "inference" {
                json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "local-rules-1",
                       "gen_ai.provider.name": "local", "gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 2, "batch.index": i})
            } else {
                json!({"batch.index": i})
            },
        );
    }
    fixture::trace(&tx, BIG_TRACE, Some(&root));
    tx.commit().unwrap();
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("viewer-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The example's traces as the store has them: (id, status, root span name).
fn stored_traces(db: &Path) -> Vec<(String, String, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT trace_id, service_name, error_count FROM traces ORDER BY timestamp DESC")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

// ------------------------------------------------------------------ browser helpers

/// Wait (bounded) until `css` matches at least `n` elements; the elements.
async fn wait_all(c: &Client, css: &str, n: usize) -> Vec<fantoccini::elements::Element> {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = c.find_all(Locator::Css(css)).await.unwrap_or_default();
        if found.len() >= n {
            return found;
        }
        if Instant::now() > deadline {
            let body = match c.find(Locator::Css("main")).await {
                Ok(main) => main.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!(
                "{css:?}: {} element(s) after {WAIT:?}, expected {n}; the page says:\n{body}",
                found.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait (bounded) until `check` holds on the text of `css`.
async fn wait_text(c: &Client, css: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if check(&last) {
                return last;
            }
        }
        if Instant::now() > deadline {
            panic!("{css:?} never had the expected text within {WAIT:?}; last: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait (bounded) until the trace list has exactly `n` rows; their trace ids.
async fn wait_rows(c: &Client, n: usize) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let ids = row_ids(c).await;
        if ids.len() == n {
            return ids;
        }
        if Instant::now() > deadline {
            panic!("the trace list never had {n} rows within {WAIT:?}: {ids:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The trace ids of the list's rows, read in one script (so never half of a re-render).
async fn row_ids(c: &Client) -> Vec<String> {
    let ids = c
        .execute(
            "return Array.from(document.querySelectorAll('table.traces tbody tr'), r => r.dataset.traceId)",
            vec![],
        )
        .await
        .unwrap_or(Value::Null);
    ids.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn screenshot(c: &Client, name: &str) {
    // Let the charts and fonts settle a frame.
    let _ = c
        .execute(
            "return await new Promise(r => requestAnimationFrame(() => r(1)))",
            vec![],
        )
        .await;
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(name), png).unwrap();
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect(script)
}

// ------------------------------------------------------------------ the test

#[test]
fn the_viewer_in_a_real_browser() {
    if chromium::skipped() {
        eprintln!("LLM_TELEMETRY_SKIP_BROWSER=1: the browser test is skipped");
        return;
    }
    let f = fixture();
    let missing = Server::start(&f.dir.join("no-such-store.db"), &[]);
    let empty_db = f.dir.join("empty.db");
    fixture::empty_store(&empty_db);
    let empty = Server::start(&empty_db, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = match Browser::start(&f.dir).await {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let c = browser.client.clone();
        // Run the checks as a task, so that a failed check still closes the browser.
        let checks = tokio::spawn(run_checks(
            c.clone(),
            missing.base_url.clone(),
            empty.base_url.clone(),
        ));
        let outcome = checks.await;
        let console = browser.console().await;
        browser.close().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
        let errors: Vec<_> = console
            .iter()
            .filter(|(level, _)| level == "SEVERE" || level == "ERROR")
            .collect();
        assert!(
            errors.is_empty(),
            "errors in the browser console: {errors:#?}"
        );
    });
    missing.stop();
    empty.stop();
}

async fn run_checks(c: Client, missing_url: String, empty_url: String) {
    let f = fixture();
    let base = &f.server.base_url;
    let traces = stored_traces(&f.db);
    let example: Vec<&(String, String, i64)> = traces.iter().filter(|t| t.1 == "agent").collect();
    assert_eq!(
        example.len(),
        6,
        "the example agent's six turns: {traces:?}"
    );
    let failed: Vec<&&(String, String, i64)> = example.iter().filter(|t| t.2 > 0).collect();
    assert_eq!(failed.len(), 1, "one failed turn: {traces:?}");
    let failed_id = failed[0].0.clone();

    // The token once in the URL, then the cookie: the list, without the token in the URL.
    c.goto(&format!("{base}/?token={TOKEN}")).await.unwrap();
    let ids = wait_rows(&c, traces.len()).await;
    let url = c.current_url().await.unwrap();
    assert!(
        !url.as_str().contains("token"),
        "the token is dropped from the URL: {url}"
    );
    let listed: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    for t in &traces {
        assert!(listed.contains(t.0.as_str()), "{} is listed: {ids:?}", t.0);
    }
    let shown = wait_text(&c, "table.traces tbody", |t| t.contains("invoke_agent")).await;
    for t in &example {
        assert!(
            shown.contains(&short_id(&t.0)),
            "the list shows the short id {} of {}:\n{shown}",
            short_id(&t.0),
            t.0
        );
    }
    screenshot(&c, "traces.png").await;

    // Filter by status = error: only the failed trace.
    let status = c.find(Locator::Css("select[name=status]")).await.unwrap();
    status.select_by_value("error").await.unwrap();
    let ids = wait_rows(&c, 1).await;
    assert_eq!(
        ids,
        std::slice::from_ref(&failed_id),
        "status = error leaves the failed trace"
    );
    assert!(c
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("status=error"));

    // An attribute filter typed as `key op value`, and a free-text search.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_rows(&c, traces.len()).await;
    let input = c.find(Locator::Css("input[name=filter]")).await.unwrap();
    input
        .send_keys("gen_ai.request.model = gpt-4o-mini\n")
        .await
        .unwrap();
    assert_eq!(wait_rows(&c, 1).await, [CHAT_TRACE], "the model filter");
    c.goto(&format!("{base}/?q=Atlantis")).await.unwrap();
    let atlantis = wait_rows(&c, 3).await;
    assert!(
        atlantis.contains(&failed_id),
        "the search finds the Atlantis turns: {atlantis:?}"
    );

    // The failed trace: the waterfall, the failing tool span in red, its error.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_rows(&c, traces.len()).await;
    let link = c
        .find(Locator::Css(&format!(
            "tr[data-trace-id='{failed_id}'] td:nth-child(3) a"
        )))
        .await
        .unwrap();
    link.click().await.unwrap();
    let rows = wait_all(&c, ".wf-row", 5).await;
    assert_eq!(rows.len(), 5, "one waterfall row per span");
    let header = wait_text(&c, ".trace-header", |t| t.contains("error")).await;
    assert!(
        header.contains(&short_id(&failed_id)),
        "the header shows the short id: {header}"
    );
    assert!(
        header.contains("29 / 24"),
        "the trace's tokens in the header: {header}"
    );
    let failing = wait_all(&c, ".wf-row[data-status=error]", 1).await;
    assert_eq!(failing.len(), 1);
    assert_eq!(
        failing[0].attr("data-category").await.unwrap().as_deref(),
        Some("tool")
    );
    assert!(failing[0]
        .text()
        .await
        .unwrap()
        .contains("execute_tool get_weather"));
    let red = js(
        &c,
        "return getComputedStyle(document.querySelector('.wf-row[data-status=error] .bar')).backgroundColor",
    )
    .await;
    assert_eq!(
        red,
        json!("rgb(228, 87, 86)"),
        "the failed span's bar is red"
    );
    let tool_span = failing[0].attr("data-span-id").await.unwrap().unwrap();
    failing[0].click().await.unwrap();
    let details = wait_text(&c, "#details", |t| {
        t.contains("no weather station in Atlantis")
    })
    .await;
    assert!(details.contains("ToolError"), "the error type: {details}");
    let url = c.current_url().await.unwrap();
    assert_eq!(
        url.fragment(),
        Some(format!("span={tool_span}").as_str()),
        "the span's deep link"
    );
    screenshot(&c, "trace.png").await;

    // An inference span's token counts, as stored.
    let conn = Connection::open(&f.db).unwrap();
    let (chat_span, input_tokens, output_tokens): (String, i64, i64) = conn
        .query_row(
            "SELECT span_id, json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"'), \
                    json_extract(attributes, '$.\"gen_ai.usage.output_tokens\"') \
               FROM spans WHERE trace_id = ?1 AND category = 'inference' ORDER BY start_time DESC LIMIT 1",
            [&failed_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    c.find(Locator::Css(&format!(
        ".wf-row[data-span-id='{chat_span}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let tokens = wait_text(&c, "#details dl.tokens", |t| {
        t.to_lowercase().contains("input tokens")
    })
    .await;
    let flat = tokens
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    assert!(
        flat.contains(&format!("input tokens {input_tokens}")),
        "input tokens {input_tokens}: {flat}"
    );
    assert!(
        flat.contains(&format!("output tokens {output_tokens}")),
        "output tokens {output_tokens}: {flat}"
    );

    // Collapse the root: only it is left; expand it again.
    c.find(Locator::Css(".wf-row .toggle[aria-label=collapse]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        wait_rows_exact(&c, ".wf-row", 1).await,
        1,
        "collapsed to the root"
    );
    c.find(Locator::Css(".wf-row .toggle[aria-label=expand]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(wait_rows_exact(&c, ".wf-row", 5).await, 5, "expanded again");

    // A pasted deep link with the short id `llm-trace show` accepts.
    let short = short_id(&failed_id).trim_start_matches('…').to_owned();
    c.goto(&format!("{base}/traces/{short}#span={tool_span}"))
        .await
        .unwrap();
    wait_text(&c, "#details", |t| {
        t.contains("no weather station in Atlantis")
    })
    .await;
    let selected = wait_all(&c, ".wf-row.selected", 1).await;
    assert_eq!(
        selected[0].attr("data-span-id").await.unwrap(),
        Some(tool_span.clone())
    );

    // Captured content as chat messages: roles, text, the tool call.
    c.goto(&format!("{base}/traces/{CHAT_TRACE}#span={CHAT_SPAN}"))
        .await
        .unwrap();
    let user = wait_text(&c, "#details .msg.role-user", |t| t.contains("Reykjavik")).await;
    assert!(user.to_lowercase().contains("user"), "{user}");
    wait_text(&c, "#details .msg.role-system", |t| {
        t.contains("weather assistant")
    })
    .await;
    let call = wait_text(&c, "#details .msg.role-assistant .tool-call", |t| {
        t.contains("get_weather")
    })
    .await;
    assert!(
        call.contains("call_7") && call.contains("Reykjavik"),
        "{call}"
    );

    // 2,000 spans: every row is reachable, only those in view are in the page.
    c.goto(&format!("{base}/traces/{BIG_TRACE}")).await.unwrap();
    wait_text(&c, ".wf-axis", |t| t.contains("2,000 spans")).await;
    let in_dom = c.find_all(Locator::Css(".wf-row")).await.unwrap().len();
    assert!(
        in_dom > 10 && in_dom < 200,
        "the waterfall is virtualised: {in_dom} rows in the page"
    );
    js(&c, "const s = document.querySelector('.wf-scroll'); s.scrollTop = s.scrollHeight; s.dispatchEvent(new Event('scroll')); return 1").await;
    let last = format!("b1{:014x}", 1999);
    wait_all(&c, &format!(".wf-row[data-span-id='{last}']"), 1).await;
    c.goto(&format!("{base}/traces/{BIG_TRACE}#span={last}"))
        .await
        .unwrap();
    wait_text(&c, "#details", |t| {
        t.contains("batch.index") && t.contains("1999")
    })
    .await;
    screenshot(&c, "trace-2000-spans.png").await;

    // Sessions: the example's two conversations, three turns each, linked to their traces.
    c.goto(&format!("{base}/sessions")).await.unwrap();
    let sessions = wait_all(&c, "section.session", 2).await;
    let mut names = BTreeSet::new();
    for s in &sessions {
        names.insert(s.attr("data-conversation").await.unwrap().unwrap());
        let turns = s
            .find_all(Locator::Css("table.turns tbody tr"))
            .await
            .unwrap();
        assert_eq!(turns.len(), 3, "three turns per session");
    }
    assert_eq!(
        names,
        BTreeSet::from(["session-atlantis".to_owned(), "session-paris".to_owned()])
    );
    let atlantis = wait_text(
        &c,
        "section.session[data-conversation=session-atlantis]",
        |t| t.contains("bob"),
    )
    .await;
    assert!(
        atlantis.contains("error"),
        "the failed turn shows: {atlantis}"
    );
    screenshot(&c, "sessions.png").await;

    // Stats: the charts are drawn, the tables filled.
    c.goto(&format!("{base}/stats?since=1h")).await.unwrap();
    wait_all(&c, ".uplot canvas", 3).await;
    let text = wait_text(&c, "main", |t| t.contains("Latency by span name")).await;
    assert!(
        text.contains("local-rules-1") && text.contains("execute_tool get_weather"),
        "{text}"
    );
    screenshot(&c, "stats.png").await;

    // A trace written while the list is open appears without a reload.
    c.goto(&format!("{base}/")).await.unwrap();
    let before = wait_rows(&c, traces.len()).await;
    fixture::span(
        &conn,
        LIVE_TRACE,
        "11be0000000000e1",
        None,
        "invoke_agent late-arrival",
        0.0,
        5.0,
        "ok",
        "agent_turn",
        "agent",
        json!({"gen_ai.operation.name": "invoke_agent"}),
    );
    fixture::trace(&conn, LIVE_TRACE, Some("11be0000000000e1"));
    let after = wait_rows(&c, before.len() + 1).await;
    assert_eq!(after[0], LIVE_TRACE, "the new trace is first: {after:?}");

    // A missing store: a clear message, not a blank page.
    c.goto(&format!("{missing_url}/")).await.unwrap();
    let notice = wait_text(&c, ".notice", |t| t.contains("no trace store")).await;
    assert!(notice.contains("no-such-store.db"), "{notice}");
    c.goto(&format!("{missing_url}/sessions")).await.unwrap();
    wait_text(&c, ".notice", |t| t.contains("no trace store")).await;
    c.goto(&format!("{missing_url}/stats")).await.unwrap();
    wait_text(&c, ".notice", |t| t.contains("no trace store")).await;

    // An empty store: a message per page.
    c.goto(&format!("{empty_url}/")).await.unwrap();
    wait_text(&c, ".notice", |t| t.contains("No traces yet")).await;
    c.goto(&format!("{empty_url}/sessions")).await.unwrap();
    wait_text(&c, ".notice", |t| t.contains("No conversations")).await;
    c.goto(&format!("{empty_url}/stats")).await.unwrap();
    wait_text(&c, ".notice", |t| t.contains("No traces")).await;
}

async fn wait_rows_exact(c: &Client, css: &str, n: usize) -> usize {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = c
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
            .len();
        if found == n || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Without a browser: the token rules of the viewer's pages, the routes in
/// `/openapi.json`, the JSON routes' answers to bad input, and `--no-ui`.
#[test]
fn the_viewer_over_http() {
    let f = fixture();
    let base = &f.server.base_url;
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // No token: 401. A wrong one in the URL: 401. The right one: a redirect that drops
    // it and sets the cookie.
    assert_eq!(http.get(format!("{base}/")).send().unwrap().status(), 401);
    assert_eq!(
        http.get(format!("{base}/?token=nope"))
            .send()
            .unwrap()
            .status(),
        401
    );
    let r = http
        .get(format!("{base}/traces/abc?token={TOKEN}&x=1"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/traces/abc?x=1");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("llm_trace_token={TOKEN}"))
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    let with_cookie = |path: &str| {
        http.get(format!("{base}{path}"))
            .header("Cookie", format!("llm_trace_token={TOKEN}"))
            .send()
            .unwrap()
    };
    let page = with_cookie("/");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let etag = page.headers()["etag"].to_str().unwrap().to_owned();
    let again = http
        .get(format!("{base}/ui/app.js"))
        .header("Cookie", format!("llm_trace_token={TOKEN}"))
        .send()
        .unwrap();
    assert!(again.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let not_modified = http
        .get(format!("{base}/"))
        .header("Cookie", format!("llm_trace_token={TOKEN}"))
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    // The bearer header works as before.
    let api = http
        .get(format!("{base}/api/traces?status=error"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(api.status(), 200);
    let page: Value = api.json().unwrap();
    assert_eq!(page["traces"].as_array().unwrap().len(), 1);
    let row = &page["traces"][0];
    assert_eq!(
        row["short_id"],
        json!(short_id(row["trace_id"].as_str().unwrap()))
    );
    assert!(
        row["cost"].as_f64().unwrap() > 0.0,
        "the example's prices give a cost: {row}"
    );
    // Bad input: a 400 naming the parameter, never a 5xx.
    for (path, word) in [
        ("/api/traces?status=broken", "broken"),
        ("/api/traces?limit=-1", "limit"),
        ("/api/traces?since=yesterday", "since"),
        ("/api/traces?filter=a:like:b", "like"),
        ("/api/traces?filter=bad%20key:eq:1", "key"),
        ("/api/traces/zz", "zz"),
        ("/api/traces/00000000000000000000000000000000", "not found"),
        ("/api/sessions?limit=x", "limit"),
        ("/api/stats?since=soon", "since"),
    ] {
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let body: Value = r.json().unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains(word),
            "{path}: {body}"
        );
    }
    // Text that looks like SQL is only text.
    let r = http
        .get(format!("{base}/api/traces?q=%27%20OR%201%3D1%20--"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["traces"], json!([]));
    // The routes are documented.
    let doc: Value = http
        .get(format!("{base}/openapi.json"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    for route in [
        "/api/traces",
        "/api/traces/{id}",
        "/api/sessions",
        "/api/stats",
        "/api/facets",
    ] {
        assert!(
            doc["paths"][route]["get"].is_object(),
            "{route} in /openapi.json"
        );
    }
    // --no-ui: the API only.
    let no_ui = Server::start(&f.db, &["--no-ui"]);
    assert_eq!(
        http.get(format!("{}/", no_ui.base_url))
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        http.get(format!("{}/api/traces", no_ui.base_url))
            .send()
            .unwrap()
            .status(),
        200
    );
    no_ui.stop();
}
