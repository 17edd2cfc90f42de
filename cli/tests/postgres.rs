//! `llm-trace --db postgres://...`: the example agent run once into a SQLite store and a
//! PostgreSQL store at once (its `sqlite` and `postgres` sinks), then every command that
//! reads PostgreSQL prints the same over both, `prune` deletes the same from both; a wrong
//! password fails in one line with the password masked.
//! `llm-trace serve` over both answers every read route the same, and writes what
//! `log_event` and the OTLP receiver get into the PostgreSQL store. (`PgServer` is the
//! root package's `tests/support/postgres.rs`.)

mod support {
    pub mod example;
    pub mod run;
    pub mod serve;
}
#[path = "../../tests/support/postgres.rs"]
mod pg;

use std::path::Path;

use serde_json::{json, Value};
use support::example::{run_example_agent, scratch_dir};
use support::run::*;
use support::serve::{curl_otlp_span, Server};

/// `--json` output without what tells the two stores apart (the store's size).
fn answer(db: &Path, args: &[&str]) -> Value {
    let mut v = json(db, args);
    if let Some(o) = v.as_object_mut() {
        o.remove("size_bytes");
    }
    v
}

#[test]
fn every_ported_command_prints_the_same_over_sqlite_and_postgres() {
    let server = pg::PgServer::shared();
    let url = server.create_db("cli_read");
    let dir = scratch_dir("llm-trace-pg-");
    let sqlite = dir.join("trace_store.db");
    run_example_agent(
        &sqlite,
        &[
            ("TELEMETRY_SINKS", "sqlite,postgres"),
            ("TELEMETRY_POSTGRES_URL", &url),
        ],
    );
    let pg = Path::new(&url);

    let traces = answer(&sqlite, &["list", "--limit", "1000"]);
    assert!(traces.as_array().unwrap().len() >= 6, "{traces}");
    let ids: Vec<&str> = traces
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    let mut commands: Vec<Vec<String>> = [
        vec!["list"],
        vec!["list", "--status", "error"],
        vec!["list", "--user", "alice"],
        vec!["list", "--session", "session-atlantis"],
        vec!["list", "--filter", "gen_ai.usage.input_tokens:gt:20"],
        vec!["sessions"],
        vec!["sessions", "--user", "bob"],
        vec!["stats"],
        vec!["stats", "--since", "1h"],
        vec!["export", "--format", "jsonl"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    for id in &ids {
        commands.push(vec!["show".into(), id.to_string()]);
        commands.push(vec!["show".into(), format!("…{}", &id[24..])]);
    }
    for c in &commands {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        if args[0] != "export" {
            assert_eq!(
                answer(&sqlite, &args),
                answer(pg, &args),
                "llm-trace {args:?}"
            );
        }
        // The text output too, but for the store's name and size in `stats`.
        let text = |db: &Path| -> String {
            ok(db, &args)
                .lines()
                .filter(|l| !l.starts_with("Store "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(text(&sqlite), text(pg), "llm-trace {args:?}");
    }
    let stats = ok(pg, &["stats"]);
    let store_line = stats.lines().next().unwrap();
    assert!(
        store_line.contains("postgres://postgres:****@127.0.0.1"),
        "{stats}"
    );
    assert!(!stats.contains(pg::PASSWORD), "{stats}");

    for (text, limit) in [("Paris", "50"), ("weather", "5")] {
        let args = ["search", text, "--limit", limit];
        assert_eq!(
            answer(&sqlite, &args),
            answer(pg, &args),
            "llm-trace {args:?}"
        );
        assert_eq!(ok(&sqlite, &args), ok(pg, &args), "llm-trace {args:?}");
    }
    // prune: nothing is a week old; then everything is older than a second, and the two
    // stores delete the same traces, spans and events (their metric rows are each sink's
    // own per-batch sums, so their number may differ).
    let week = ["prune", "--older-than", "7d"];
    assert_eq!(
        answer(&sqlite, &week),
        answer(pg, &week),
        "llm-trace {week:?}"
    );
    assert_eq!(answer(pg, &week)["traces"], 0);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let all = ["prune", "--older-than", "1s"];
    let (from_sqlite, from_pg) = (answer(&sqlite, &all), answer(pg, &all));
    for what in ["traces", "spans", "events"] {
        assert_eq!(from_sqlite[what], from_pg[what], "{what} pruned: {from_pg}");
    }
    assert_eq!(
        from_pg["traces"].as_u64(),
        Some(ids.len() as u64),
        "{from_pg}"
    );
    assert!(from_pg["metrics"].as_u64().unwrap() > 0, "{from_pg}");
    assert_eq!(answer(pg, &["list"]), json!([]), "nothing left");
    assert_eq!(answer(&sqlite, &["list"]), json!([]), "nothing left");

    let wrong = url.replace(pg::PASSWORD, "not-the-password");
    let err = fails(Path::new(&wrong), &["list"]);
    assert!(
        err.contains("postgres://postgres:****@") && err.contains("password authentication failed"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
}

/// `(status, JSON body)` of a request to `server`.
fn request(server: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let req = match method {
        "POST" => client
            .post(server.url(path))
            .json(&body.unwrap_or(Value::Null)),
        _ => client.get(server.url(path)),
    };
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

#[test]
fn serve_answers_the_same_over_sqlite_and_postgres_and_writes_into_postgres() {
    let server = pg::PgServer::shared();
    let url = server.create_db("cli_serve");
    let dir = scratch_dir("llm-trace-pg-serve-");
    let sqlite = dir.join("trace_store.db");
    run_example_agent(
        &sqlite,
        &[
            ("TELEMETRY_SINKS", "sqlite,postgres"),
            ("TELEMETRY_POSTGRES_URL", &url),
        ],
    );
    let datasets = dir.join("datasets");
    let datasets = datasets.to_str().unwrap();
    let on_sqlite = Server::start(&sqlite, &["--datasets-dir", datasets]);
    let on_pg = Server::start(Path::new(&url), &["--datasets-dir", datasets]);

    let (_, traces) = request(
        &on_sqlite,
        "POST",
        "/v1/telemetry/traces",
        Some(json!({"limit": 100})),
    );
    let traces = traces["data"].as_array().cloned().unwrap_or_default();
    assert!(traces.len() >= 6, "{traces:?}");
    let mut calls: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/v1/health".into(), None),
        ("POST", "/v1/telemetry/traces".into(), Some(json!({}))),
        (
            "POST",
            "/v1/telemetry/traces".into(),
            Some(json!({"limit": 3, "offset": 1, "order_by": ["-duration"]})),
        ),
        (
            "POST",
            "/v1/telemetry/traces".into(),
            Some(json!({"attribute_filters": [
                {"key": "gen_ai.usage.input_tokens", "op": "gt", "value": 20}]})),
        ),
        (
            "POST",
            "/v1/telemetry/spans".into(),
            Some(json!({"attribute_filters": [
                {"key": "gen_ai.agent.name", "op": "eq", "value": "weather-assistant"}],
                "attributes_to_return": ["gen_ai.request.model"], "max_depth": 2})),
        ),
        (
            "GET",
            "/v1/telemetry/traces/00000000000000000000000000000000".into(),
            None,
        ),
        ("GET", "/api/traces".into(), None),
        ("GET", "/api/traces?status=error".into(), None),
        ("GET", "/api/sessions".into(), None),
        ("GET", "/api/facets".into(), None),
    ];
    for t in &traces {
        let (id, root) = (
            t["trace_id"].as_str().unwrap(),
            t["root_span_id"].as_str().unwrap(),
        );
        calls.push(("GET", format!("/v1/telemetry/traces/{id}"), None));
        calls.push((
            "GET",
            format!("/v1/telemetry/traces/{id}/spans/{root}"),
            None,
        ));
        calls.push((
            "POST",
            format!("/v1/telemetry/spans/{root}/tree"),
            Some(json!({})),
        ));
        calls.push(("GET", format!("/api/traces/{id}"), None));
    }
    for (method, path, body) in &calls {
        let a = request(&on_sqlite, method, path, body.clone());
        let b = request(&on_pg, method, path, body.clone());
        assert_eq!(
            a.0 / 100,
            if path.contains("0000000000") { 4 } else { 2 },
            "{method} {path}: {a:?}"
        );
        // The viewer's pages name the store (its path, or the URL with the password masked).
        let mask = |mut v: Value| {
            if let Some(o) = v.as_object_mut() {
                if let Some(p) = o.get("path").and_then(Value::as_str) {
                    assert!(!p.contains(pg::PASSWORD), "{path}: {p}");
                }
                o.remove("path");
            }
            v
        };
        assert_eq!((a.0, mask(a.1)), (b.0, mask(b.1)), "{method} {path}");
    }
    // The viewer's figures, but for the size of the store.
    let stats = |server: &Server| {
        let (status, mut stats) = request(server, "GET", "/api/stats", None);
        assert_eq!(status, 200, "{stats}");
        stats["summary"]
            .as_object_mut()
            .unwrap()
            .remove("size_bytes");
        // The timeline starts a day before the request: the buckets' starts differ by the
        // time between the two requests.
        let timeline = &mut stats["timeline"];
        timeline.as_object_mut().unwrap().remove("start");
        for key in ["traces", "models"] {
            for bucket in timeline[key].as_array_mut().unwrap() {
                bucket.as_object_mut().unwrap().remove("start");
            }
        }
        stats
    };
    let figures = stats(&on_pg);
    let expected = stats(&on_sqlite);
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&figures[key], value, "/api/stats: {key}");
    }
    assert_eq!(figures, expected);
    assert_eq!(
        figures["summary"]["traces"].as_u64(),
        Some(traces.len() as u64),
        "{figures}"
    );

    // log_event writes into the PostgreSQL store.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let span = "00f067aa0ba902b7";
    let event = |ty: &str, ts: &str, extra: Value| {
        let mut e = json!({"type": ty, "trace_id": trace, "span_id": span, "timestamp": ts});
        e.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        request(
            &on_pg,
            "POST",
            "/v1/telemetry/events",
            Some(json!({"event": e, "ttl_seconds": 60})),
        )
    };
    let start = json!({"payload": {"type": "span_start", "name": "evaluate"}});
    assert_eq!(
        event("structured_log", "2026-01-01T12:00:00Z", start).0,
        200
    );
    let log = json!({"message": "scoring 3 answers", "severity": "warn"});
    assert_eq!(
        event("unstructured_log", "2026-01-01T12:00:00.250Z", log).0,
        200
    );
    let end = json!({"payload": {"type": "span_end", "status": "ok"}});
    assert_eq!(event("structured_log", "2026-01-01T12:00:01Z", end).0, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let stored = loop {
        let (status, body) = request(
            &on_pg,
            "GET",
            &format!("/v1/telemetry/traces/{trace}"),
            None,
        );
        if status == 200 || std::time::Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(stored["trace_id"], trace, "{stored}");
    assert_eq!(stored["root_span_id"], span, "{stored}");
    let mut db = server.client("cli_serve");
    let logs: i64 = db
        .query_one(
            "SELECT count(*) FROM span_logs WHERE trace_id = $1 AND message = 'scoring 3 answers'",
            &[&trace],
        )
        .unwrap()
        .get(0);
    assert_eq!(logs, 1);

    // A span received over OTLP/HTTP (JSON, as curl sends it) goes into PostgreSQL too.
    let otlp = curl_otlp_span();
    let receiver = format!("{}/v1/traces", on_pg.otlp_http.as_deref().unwrap());
    let r = reqwest::blocking::Client::new()
        .post(receiver)
        .header("content-type", "application/json")
        .body(otlp.to_string())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let span = loop {
        let (status, body) = request(
            &on_pg,
            "GET",
            "/v1/telemetry/traces/5b8efff798038103d269b633813fc60c/spans/eee19b7ec3c1b174",
            None,
        );
        if status == 200 || std::time::Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(span["name"], "chat gpt-4o", "{span}");
    let model: String = db
        .query_one(
            "SELECT attributes->>'gen_ai.request.model' FROM spans WHERE span_id = $1",
            &[&"eee19b7ec3c1b174"],
        )
        .unwrap()
        .get(0);
    assert_eq!(model, "gpt-4o");
    on_sqlite.stop();
    on_pg.stop();
}

/// A PostgreSQL server that restarts under `serve` costs at most a failed request or two:
/// a handle whose connection is gone is not kept for the next request.
#[test]
fn serve_reconnects_after_the_postgres_server_restarts() {
    let server = pg::PgServer::start();
    let url = server.create_db("cli_restart");
    // The schema, as the first writer creates it.
    let writer = llm_telemetry::TelemetryConfig::builder()
        .sinks([llm_telemetry::SinkKind::Postgres])
        .postgres_url(&url)
        .build()
        .init_local()
        .expect("the postgres sink starts");
    drop(writer);
    let serve = Server::start(Path::new(&url), &["--no-otlp"]);
    assert_eq!(request(&serve, "GET", "/api/traces", None).0, 200);
    server.stop();
    server.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut failed = 0;
    loop {
        let (status, body) = request(&serve, "GET", "/api/traces", None);
        if status == 200 {
            break;
        }
        failed += 1;
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} after the restart: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(failed <= 2, "{failed} failed requests after the restart");
    // Reads keep working.
    for _ in 0..5 {
        assert_eq!(request(&serve, "GET", "/api/traces", None).0, 200);
    }
    serve.stop();
    server.stop();
}
