//! The `postgres` sink against a real PostgreSQL server (`support/postgres.rs`: initdb +
//! pg_ctl on a free loopback port): the example agent's turns written to SQLite and
//! PostgreSQL at once give the same rows; three processes writing one database at once lose
//! nothing; a server stopped for 5 s and started again loses no span and stores none twice;
//! retention deletes what is old; a bad URL or bad credentials fail `init()` in one line;
//! the query API (`TraceStore`) gives the same answers over both stores.

#[path = "../examples/agent/agent.rs"]
mod agent;
mod common;
#[path = "support/postgres.rs"]
mod pg;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::Agent;
use common::TempStore;
use llm_telemetry::store::StoreError;
use llm_telemetry::{SinkKind, TelemetryConfig, TelemetryGuard};
use pg::PgServer;
use serde_json::Value;
use tracing::instrument::WithSubscriber;
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

const TURNS: usize = 200;

fn dispatch_for(config: &TelemetryConfig) -> (Dispatch, TelemetryGuard) {
    let (layer, guard) = llm_telemetry::layer(config).expect("layer");
    (
        Dispatch::new(tracing_subscriber::registry().with(layer)),
        guard,
    )
}

/// `turns` agent turns (`first..first + turns`), all at once on a multi-thread runtime.
fn run_turns(dispatch: &Dispatch, first: usize, turns: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let agent = Arc::new(Agent::new("weather-assistant", "local-rules-1"));
    rt.block_on(async {
        let tasks: Vec<_> = (first..first + turns)
            .map(|i| {
                let agent = agent.clone();
                tokio::spawn(
                    async move {
                        let answer = agent
                            .turn(&format!("session-{i}"), &format!("What is {i} + 1?"))
                            .await
                            .expect("turn");
                        assert!(answer.contains(&(i + 1).to_string()), "{answer}");
                    }
                    .with_subscriber(dispatch.clone()),
                )
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
}

fn postgres_config(url: &str) -> TelemetryConfig {
    TelemetryConfig::builder()
        .sinks([SinkKind::Postgres])
        .postgres_url(url)
        .service_name("llm-telemetry-tests")
        .capture_content(true)
        .build()
}

/// Every sink stored what it was given: nothing dropped, nothing failed.
fn assert_all_stored(guard: &TelemetryGuard) {
    for s in guard.stats().sinks {
        assert!(s.emitted > 0, "{s:?}");
        assert_eq!((s.stored, s.dropped, s.failed), (s.emitted, 0, 0), "{s:?}");
    }
}

/// A row as comparable text: NULL is `None`, JSON is parsed (key order does not matter).
type Row = Vec<Option<Value>>;

fn sqlite_rows(store: &TempStore, sql: &str) -> Vec<Row> {
    let conn = store.open();
    let mut stmt = conn.prepare(sql).expect(sql);
    let n = stmt.column_count();
    let mut rows: Vec<Row> = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => None,
                        rusqlite::types::ValueRef::Integer(v) => Some(Value::from(v as f64)),
                        rusqlite::types::ValueRef::Real(v) => Some(Value::from(v)),
                        rusqlite::types::ValueRef::Text(t) => {
                            Some(text_value(std::str::from_utf8(t).unwrap()))
                        }
                        rusqlite::types::ValueRef::Blob(_) => panic!("blob in {sql}"),
                    })
                })
                .collect()
        })
        .expect(sql)
        .collect::<Result<_, _>>()
        .expect(sql);
    rows.sort_by_key(|r| format!("{r:?}"));
    rows
}

/// Every column of the PostgreSQL query must be text (cast it): compared as SQLite's.
fn pg_rows(client: &mut postgres::Client, sql: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = client
        .query(sql, &[])
        .expect(sql)
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<_, Option<String>>(i).map(|t| text_value(&t)))
                .collect()
        })
        .collect();
    rows.sort_by_key(|r| format!("{r:?}"));
    rows
}

/// A JSON object or array is compared as JSON, a number as a float (SQLite's REAL `8.0` is
/// PostgreSQL's `8`), the rest as text.
fn text_value(t: &str) -> Value {
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            return v;
        }
    }
    if let Ok(f) = t.parse::<f64>() {
        return Value::from(f);
    }
    Value::from(t)
}

/// The PostgreSQL spelling of SQLite's timestamp text.
fn ts(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
}

fn assert_same(what: &str, sqlite: Vec<Row>, postgres: Vec<Row>) {
    assert!(!sqlite.is_empty(), "{what}: SQLite has no rows");
    assert_eq!(sqlite.len(), postgres.len(), "{what}: row counts differ");
    for (s, p) in sqlite.iter().zip(&postgres) {
        let same = s.len() == p.len() && s.iter().zip(p).all(|(s, p)| same_value(s, p));
        assert!(
            same,
            "{what}: SQLite row differs from PostgreSQL row\n  SQLite: {s:?}\nPostgreSQL: {p:?}"
        );
    }
}

/// Equal, or numbers within a relative 1e-12: SQLite sums floats in `double`, PostgreSQL
/// `AVG` in `numeric`, so an average can differ in its last bits (and a rounded one in its
/// last digit).
fn same_value(s: &Option<Value>, p: &Option<Value>) -> bool {
    match (s, p) {
        (Some(Value::Number(s)), Some(Value::Number(p))) => {
            let (s, p) = (
                s.as_f64().unwrap_or(f64::NAN),
                p.as_f64().unwrap_or(f64::NAN),
            );
            s == p || (s - p).abs() <= 1e-12 * s.abs().max(p.abs())
        }
        _ => s == p,
    }
}

/// A SQLite store and a new PostgreSQL database `db`, and a subscriber whose `sqlite` and
/// `postgres` sinks write every span to both at once.
fn both_stores(server: &PgServer, db: &str) -> (TempStore, String, Dispatch, TelemetryGuard) {
    let url = server.create_db(db);
    let store = TempStore::new();
    let config = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::Postgres])
        .sqlite_db_path(&store.path)
        .postgres_url(&url)
        .service_name("llm-telemetry-tests")
        .capture_content(true)
        .build();
    let (dispatch, guard) = dispatch_for(&config);
    (store, url, dispatch, guard)
}

#[test]
fn the_agent_turns_give_the_same_rows_in_sqlite_and_postgres() {
    let server = PgServer::shared();
    let (store, _url, dispatch, guard) = both_stores(server, "parity");
    run_turns(&dispatch, 0, TURNS);
    // A log outside any span, and one inside, as the agent's own would be.
    tracing::dispatcher::with_default(&dispatch, || {
        llm_telemetry::log_event(llm_telemetry::UnstructuredLogEvent::new(
            "free log \u{0} with a NUL",
            llm_telemetry::Severity::Warn,
        ));
    });
    guard.flush();
    assert_all_stored(&guard);
    drop(guard);
    let mut pg = server.client("parity");

    let span_cols = "span_id, trace_id, parent_span_id, name, {start}, {end}, \
                     duration_ms{f}, attributes{t}, status, kind, status_message, category, \
                     service_name";
    let sqlite_spans = span_cols
        .replace("{start}", "start_time")
        .replace("{end}", "end_time")
        .replace("{f}", "")
        .replace("{t}", "");
    let pg_spans = span_cols
        .replace("{start}", &ts("start_time"))
        .replace("{end}", &ts("end_time"))
        .replace("{f}", "::text")
        .replace("{t}", "::text");
    let spans = sqlite_rows(&store, &format!("SELECT {sqlite_spans} FROM spans"));
    assert_eq!(spans.len(), TURNS * 5, "five spans per turn");
    assert_same(
        "spans",
        spans,
        pg_rows(&mut pg, &format!("SELECT {pg_spans} FROM spans")),
    );

    assert_same(
        "traces",
        sqlite_rows(
            &store,
            "SELECT trace_id, service_name, root_span_id, start_time, end_time, timestamp, \
             span_count, error_count FROM traces",
        ),
        pg_rows(
            &mut pg,
            &format!(
                "SELECT trace_id, service_name, root_span_id, {}, {}, {}, span_count::text, \
                 error_count::text FROM traces",
                ts("start_time"),
                ts("end_time"),
                ts("timestamp")
            ),
        ),
    );

    // llama-stack's span_events: stored logs and the token events derived from the spans.
    let events = sqlite_rows(
        &store,
        "SELECT trace_id, span_id, timestamp, event_type, severity, message, metric, value, \
         unit, attributes FROM span_events",
    );
    assert!(
        events.len() > TURNS * 6,
        "token events of two inferences a turn"
    );
    // PostgreSQL has no NUL in text: U+FFFD stands for it.
    let events: Vec<Row> = events
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| match v {
                    Some(Value::String(s)) => Some(Value::from(s.replace('\0', "\u{FFFD}"))),
                    v => v,
                })
                .collect()
        })
        .collect();
    let mut events = events;
    events.sort_by_key(|r| format!("{r:?}"));
    assert_same(
        "span_events",
        events,
        pg_rows(
            &mut pg,
            &format!(
                "SELECT trace_id, span_id, {}, event_type, severity, message, metric, \
                 value::text, unit, attributes::text FROM span_events",
                ts("timestamp")
            ),
        ),
    );

    // The llama-stack documentation's queries, in each database's spelling.
    for (sqlite, postgres) in [
        (
            "SELECT trace_id FROM traces WHERE timestamp > datetime('now', '-1 hour')",
            "SELECT trace_id FROM traces WHERE timestamp > now() - interval '1 hour'",
        ),
        (
            "SELECT name, AVG(duration_ms) AS avg_duration FROM spans GROUP BY name",
            "SELECT name, AVG(duration_ms)::text AS avg_duration FROM spans \
             GROUP BY name",
        ),
        (
            "SELECT span_id FROM spans WHERE duration_ms > 0.01",
            "SELECT span_id FROM spans WHERE duration_ms > 0.01",
        ),
    ] {
        assert_same(
            sqlite,
            sqlite_rows(&store, sqlite),
            pg_rows(&mut pg, postgres),
        );
    }

    // Metric rows are per batch, and the two sinks batch on their own: their sums per series
    // are the same.
    assert_same(
        "metric sums",
        sqlite_rows(
            &store,
            "SELECT name, instrument, unit, attributes, round(sum(value), 6), sum(count) \
             FROM metrics WHERE instrument <> 'gauge' GROUP BY name, instrument, unit, attributes",
        ),
        pg_rows(
            &mut pg,
            "SELECT name, instrument, unit, attributes::text, round(sum(value)::numeric, 6)::text, \
             sum(count)::text FROM metrics WHERE instrument <> 'gauge' \
             GROUP BY name, instrument, unit, attributes",
        ),
    );
}

#[test]
fn child_writes_turns() {
    let Ok(url) = std::env::var("LLMT_TEST_POSTGRES_URL") else {
        return;
    };
    let first: usize = std::env::var("LLMT_TEST_FIRST_TURN")
        .unwrap()
        .parse()
        .unwrap();
    let (dispatch, guard) = dispatch_for(&postgres_config(&url));
    run_turns(&dispatch, first, 50);
    guard.flush();
    assert_all_stored(&guard);
}

#[test]
fn three_processes_writing_at_once_lose_nothing() {
    let server = PgServer::shared();
    // An empty database: the three create its schema at once, too.
    let url = server.create_db("three_processes");
    let spawned: Vec<_> = (0..3)
        .map(|i| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "child_writes_turns",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("LLMT_TEST_POSTGRES_URL", &url)
                .env("LLMT_TEST_FIRST_TURN", (i * 1000).to_string())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start a child")
        })
        .collect();
    for child in spawned {
        let out = child.wait_with_output().expect("child");
        assert!(
            out.status.success(),
            "a writer failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut pg = server.client("three_processes");
    let count =
        |pg: &mut postgres::Client, sql: &str| -> i64 { pg.query_one(sql, &[]).unwrap().get(0) };
    // Three processes of 50 turns each, at once.
    assert_eq!(count(&mut pg, "SELECT count(*) FROM traces"), 150);
    assert_eq!(count(&mut pg, "SELECT count(*) FROM spans"), 150 * 5);
    assert_eq!(
        count(&mut pg, "SELECT sum(span_count)::int8 FROM traces"),
        150 * 5,
        "trace rows count every span once"
    );
    assert_eq!(
        count(
            &mut pg,
            "SELECT count(*) FROM traces t WHERE root_span_id IS NULL \
             OR span_count <> (SELECT count(*) FROM spans s WHERE s.trace_id = t.trace_id)"
        ),
        0
    );
    assert_eq!(
        count(
            &mut pg,
            "SELECT count(DISTINCT attributes->>'gen_ai.conversation.id') FROM spans \
             WHERE parent_span_id IS NULL"
        ),
        150,
        "every turn's root is there"
    );
    let version: String = pg
        .query_one(
            "SELECT value FROM store_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(version, "1");
}

#[test]
fn a_server_stopped_for_five_seconds_loses_no_span_and_stores_none_twice() {
    // A server of its own: this test stops it.
    let server = PgServer::start();
    let url = server.create_db("outage");
    let (dispatch, guard) = dispatch_for(&postgres_config(&url));
    run_turns(&dispatch, 0, 40);
    guard.flush();
    server.stop();
    let down = Instant::now();
    // Turns go on while the database is down: the application is not held up.
    run_turns(&dispatch, 100, 40);
    guard.flush();
    let left = Duration::from_secs(5).saturating_sub(down.elapsed());
    std::thread::sleep(left);
    run_turns(&dispatch, 200, 20);
    server.restart();
    run_turns(&dispatch, 300, 40);
    guard.flush();
    let stats = guard.stats();
    drop(guard);
    for s in &stats.sinks {
        assert_eq!((s.dropped, s.failed), (0, 0), "{s:?}");
    }
    let mut pg = server.client("outage");
    let count =
        |pg: &mut postgres::Client, sql: &str| -> i64 { pg.query_one(sql, &[]).unwrap().get(0) };
    assert_eq!(
        count(&mut pg, "SELECT count(*) FROM spans"),
        140 * 5,
        "every span once"
    );
    assert_eq!(count(&mut pg, "SELECT count(*) FROM traces"), 140);
    assert_eq!(
        count(&mut pg, "SELECT sum(span_count)::int8 FROM traces"),
        140 * 5,
        "no span counted twice in its trace"
    );
    server.stop();
}

#[test]
fn retention_deletes_old_traces_spans_events_and_metrics() {
    let server = PgServer::shared();
    let url = server.create_db("retention");
    // Create the schema, then plant old rows.
    drop(postgres_config(&url).init_local().expect("init"));
    let mut pg = server.client("retention");
    pg.batch_execute(
        "INSERT INTO traces (trace_id, start_time, end_time, timestamp, span_count) \
         VALUES ('0000000000000000000000000000000a', '2001-01-01', '2001-01-01', '2001-01-01', 1);
         INSERT INTO spans (span_id, trace_id, name, start_time, end_time, status, kind) \
         VALUES ('000000000000000a', '0000000000000000000000000000000a', 'old', '2001-01-01', \
                 '2001-01-01', 'ok', 'internal');
         INSERT INTO span_logs (trace_id, span_id, timestamp, event_type, message) \
         VALUES ('0000000000000000000000000000000a', '000000000000000a', '2001-01-01', \
                 'unstructured_log', 'old'), (NULL, NULL, '2001-01-01', 'unstructured_log', 'old');
         INSERT INTO metrics (name, instrument, value, timestamp) \
         VALUES ('old', 'counter', 1, '2001-01-01');",
    )
    .unwrap();
    let config = TelemetryConfig::builder()
        .sinks([SinkKind::Postgres])
        .postgres_url(&url)
        .postgres_retention(Some(Duration::from_secs(7 * 86_400)))
        .build();
    let (dispatch, guard) = dispatch_for(&config);
    run_turns(&dispatch, 0, 2);
    guard.flush();
    // The first pass runs within a tick or two of the start.
    let old = |pg: &mut postgres::Client| -> i64 {
        pg.query_one(
            "SELECT (SELECT count(*) FROM traces WHERE timestamp < '2002-01-01') \
                  + (SELECT count(*) FROM spans WHERE start_time < '2002-01-01') \
                  + (SELECT count(*) FROM span_logs WHERE timestamp < '2002-01-01') \
                  + (SELECT count(*) FROM metrics WHERE timestamp < '2002-01-01')",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while old(&mut pg) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(old(&mut pg), 0, "old rows deleted");
    drop(guard);
    let new: i64 = pg
        .query_one("SELECT count(*) FROM spans", &[])
        .unwrap()
        .get(0);
    assert_eq!(new, 2 * 5, "new rows kept");
}

#[test]
fn a_bad_url_or_bad_credentials_fail_init_in_one_line_naming_the_variable() {
    let server = PgServer::shared();
    let init_error = |url: &str| -> String {
        let err = postgres_config(url)
            .init_local()
            .err()
            .unwrap_or_else(|| panic!("init with {url} should fail"));
        let text = err.to_string();
        assert!(!text.contains('\n'), "one line: {text}");
        assert!(text.contains("TELEMETRY_POSTGRES_URL="), "{text}");
        text
    };
    let bad_password = format!(
        "postgres://postgres:not-the-password@127.0.0.1:{}/postgres?sslmode=disable",
        server.port
    );
    let text = init_error(&bad_password);
    assert!(
        text.contains("postgres://postgres:****@127.0.0.1") && !text.contains("not-the-password"),
        "password masked: {text}"
    );
    assert!(text.contains("password authentication failed"), "{text}");

    let text = init_error("postgres://postgres@127.0.0.1:notaport/db");
    assert!(
        text.contains("not a PostgreSQL connection string"),
        "{text}"
    );

    let text = init_error(&format!(
        "host=127.0.0.1 port={} user=postgres password=secret dbname=postgres sslmode=sometimes",
        server.port
    ));
    assert!(
        text.contains("password=****") && !text.contains("secret"),
        "{text}"
    );
    assert!(text.contains("sslmode `sometimes`"), "{text}");

    // Nobody listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let text = init_error(&format!("postgres://postgres:x@127.0.0.1:{port}/postgres"));
    assert!(text.to_lowercase().contains("connection refused"), "{text}");

    let Err(err) = TelemetryConfig::builder()
        .sinks([SinkKind::Postgres])
        .build()
        .init_local()
    else {
        panic!("init without a URL should fail");
    };
    assert!(err.to_string().contains("TELEMETRY_POSTGRES_URL"), "{err}");

    // And the right password works (sslmode=prefer, the default: TLS, as the server offers it).
    let good = format!(
        "postgres://postgres:{}@127.0.0.1:{}/postgres",
        pg::PASSWORD,
        server.port
    );
    drop(
        postgres_config(&good)
            .init_local()
            .expect("the right password"),
    );
}

#[test]
fn tls_require_encrypts_and_verify_full_checks_the_certificate() {
    let server = PgServer::shared();
    let url = server.create_db("tls");
    let ca = server.ca_file();
    let base = |host: &str, mode: &str| {
        format!(
            "postgres://postgres:{}@{host}:{}/tls?sslmode={mode}",
            pg::PASSWORD,
            server.port
        )
    };
    let mut pg = server.client("tls");
    let encrypted = |pg: &mut postgres::Client, app: &str| -> bool {
        pg.query_one(
            "SELECT coalesce(bool_and(s.ssl), false) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&app],
        )
        .unwrap()
        .get(0)
    };
    for (name, url) in [
        ("require", base("127.0.0.1", "require")),
        (
            "verify-full",
            format!(
                "{}&sslrootcert={}",
                base("localhost", "verify-full"),
                ca.display()
            ),
        ),
        (
            "verify-ca",
            format!(
                "{}&sslrootcert={}",
                base("127.0.0.1", "verify-ca"),
                ca.display()
            ),
        ),
    ] {
        let app = format!("llmt-tls-{name}");
        let config = TelemetryConfig::builder()
            .sinks([SinkKind::Postgres])
            .postgres_url(format!("{url}&application_name={app}"))
            .build();
        let (dispatch, guard) = dispatch_for(&config);
        run_turns(&dispatch, 0, 1);
        guard.flush();
        assert_all_stored(&guard);
        assert!(
            encrypted(&mut pg, &app),
            "{name}: the sink's connection is encrypted"
        );
        drop(guard);
    }
    // The system's roots do not know the test CA: verify-full refuses the server.
    let err = postgres_config(&base("localhost", "verify-full"))
        .init_local()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("TELEMETRY_POSTGRES_URL=") && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    drop(url);
}

/// The example's conversations (two users, a failing tool call, a guardrail), one turn
/// after the other.
fn run_example_sessions(dispatch: &Dispatch) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for (session, user, inputs) in agent::SESSIONS {
            let agent = Agent::new("weather-assistant", "local-rules-1").for_user(user);
            for input in inputs {
                let _ = agent
                    .turn(session, input)
                    .with_subscriber(dispatch.clone())
                    .await;
            }
        }
    });
}

/// What a query answered, comparable across the two stores: the value as JSON, or the
/// kind of error (and its text when it names no store).
fn answer<T: serde::Serialize>(r: Result<T, StoreError>) -> Value {
    match r {
        Ok(v) => serde_json::to_value(v).unwrap(),
        Err(e) => {
            let debug = format!("{e:?}");
            let kind = debug.split([' ', '{', '(']).next().unwrap_or_default();
            match e {
                StoreError::Sqlite { .. } | StoreError::Postgres { .. } => {
                    panic!("the store failed: {e}")
                }
                StoreError::Unsupported { .. } => panic!("{e}"),
                StoreError::AmbiguousTraceId { .. } => serde_json::json!({ "error": kind }),
                _ => serde_json::json!({ "error": kind, "text": e.to_string() }),
            }
        }
    }
}

/// Every query method of the read API gives the same answer over a SQLite store and a
/// PostgreSQL store that the same workload (the concurrency test's 200 agent turns and the
/// example's conversations) was written to at once. (Metric series of the `metrics` table
/// are compared to float rounding: each sink sums its own batches.)
#[test]
fn the_query_api_gives_the_same_answers_over_sqlite_and_postgres() {
    use llm_telemetry::store::{
        AttributeFilter, FilterOp, SessionQuery, TraceColumn, TraceOrder, TraceQuery,
        TraceStatusFilter, TraceStore,
    };

    let (temp, url, dispatch, guard) = both_stores(PgServer::shared(), "read_parity");
    run_turns(&dispatch, 0, TURNS);
    run_example_sessions(&dispatch);
    guard.flush();
    assert_all_stored(&guard);
    drop(guard);

    let sqlite = TraceStore::open(&temp.path).unwrap();
    let pg = TraceStore::open(&url).unwrap();
    assert!(pg.is_postgres() && !sqlite.is_postgres());
    assert!(!pg.path().display().to_string().contains("secret"));
    assert_eq!(pg.schema_version(), 1);
    assert!(pg.created_at().unwrap().is_some());
    let mut compared = 0usize;
    let mut same = |what: &str, f: &dyn Fn(&TraceStore) -> Value| {
        let (a, b) = (f(&sqlite), f(&pg));
        assert!(
            a == b,
            "{what}: SQLite and PostgreSQL differ\nSQLite:     {a}\nPostgreSQL: {b}"
        );
        compared += 1;
        a
    };

    let now = std::time::SystemTime::now();
    let hour_ago = now - Duration::from_secs(3600);
    let all = TraceQuery {
        limit: 100_000,
        order: TraceOrder::Oldest,
        ..TraceQuery::default()
    };
    let listed = same("list_traces(all)", &|s| answer(s.list_traces(&all)));
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), TURNS + 6, "a trace per turn");

    let filters = [
        vec![AttributeFilter::eq("gen_ai.request.model", "local-rules-1")],
        vec![AttributeFilter::new(
            "gen_ai.usage.input_tokens",
            FilterOp::Gt,
            20,
        )],
        vec![AttributeFilter::new(
            "gen_ai.usage.input_tokens",
            FilterOp::Lt,
            20.5,
        )],
        vec![AttributeFilter::new(
            "gen_ai.usage.output_tokens",
            FilterOp::Ne,
            3,
        )],
        vec![AttributeFilter::eq("name", "execute_tool calculator")],
        vec![AttributeFilter::new("name", FilterOp::Gt, "execute_tool")],
        vec![AttributeFilter::eq("status", "error")],
        vec![AttributeFilter::new("duration_ms", FilterOp::Gt, 0.05)],
        vec![AttributeFilter::new("duration_ms", FilterOp::Lt, "abc")],
        vec![AttributeFilter::eq("gen_ai.conversation.id", "session-7")],
        vec![AttributeFilter::eq("user.id", "alice")],
        // Across types: a number is less than any text, as SQLite orders them.
        vec![AttributeFilter::new(
            "gen_ai.usage.input_tokens",
            FilterOp::Lt,
            "abc",
        )],
        vec![AttributeFilter::new(
            "gen_ai.request.model",
            FilterOp::Gt,
            5,
        )],
        vec![AttributeFilter::eq("no.such.attribute", true)],
        vec![
            AttributeFilter::eq("gen_ai.operation.name", "chat"),
            AttributeFilter::new("gen_ai.usage.output_tokens", FilterOp::Gt, 1),
        ],
    ];
    let orders = [
        TraceOrder::Newest,
        TraceOrder::Oldest,
        TraceOrder::Longest,
        TraceOrder::Shortest,
        TraceOrder::By {
            column: TraceColumn::ServiceName,
            descending: true,
        },
        TraceOrder::By {
            column: TraceColumn::RootSpanId,
            descending: false,
        },
    ];
    for order in orders {
        for (limit, offset) in [(10, 0), (25, 30), (1000, 0)] {
            same(
                &format!("query_traces([], {limit}, {offset}, {order:?})"),
                &|s| answer(s.query_traces(&[], limit, offset, order)),
            );
        }
    }
    for f in &filters {
        same(&format!("query_traces({f:?})"), &|s| {
            answer(s.query_traces(f, 1000, 0, TraceOrder::Newest))
        });
        same(&format!("query_spans({f:?})"), &|s| {
            answer(s.query_spans(f, None, None))
        });
        same(&format!("export_spans({f:?})"), &|s| {
            answer(s.export_spans(
                f,
                Some(&["gen_ai.request.model", "gen_ai.usage.input_tokens"]),
            ))
        });
    }
    let queries = [
        TraceQuery {
            status: Some(TraceStatusFilter::Error),
            ..all.clone()
        },
        TraceQuery {
            status: Some(TraceStatusFilter::Ok),
            ..all.clone()
        },
        TraceQuery {
            status: Some(TraceStatusFilter::Open),
            ..all.clone()
        },
        TraceQuery {
            session: Some("session-paris".into()),
            ..all.clone()
        },
        TraceQuery {
            user: Some("bob".into()),
            ..all.clone()
        },
        TraceQuery {
            service: Some("llm-telemetry-tests".into()),
            since: Some(hour_ago),
            until: Some(now + Duration::from_secs(60)),
            limit: 7,
            offset: 3,
            ..TraceQuery::default()
        },
        TraceQuery {
            since: Some(now + Duration::from_secs(3600)),
            ..all.clone()
        },
        TraceQuery {
            text: Some("PARIS".into()),
            ..all.clone()
        },
        TraceQuery {
            text: Some("12 * 7".into()),
            ..all.clone()
        },
        TraceQuery {
            text: Some("100%".into()),
            ..all.clone()
        },
        TraceQuery {
            order: TraceOrder::By {
                column: TraceColumn::ServiceName,
                descending: false,
            },
            then_by: vec![TraceOrder::Longest],
            ..all.clone()
        },
    ];
    for q in &queries {
        same(&format!("list_traces({q:?})"), &|s| {
            answer(s.list_traces(q))
        });
    }

    for id in &ids {
        same(&format!("get_trace({id})"), &|s| answer(s.get_trace(id)));
        same(&format!("get_trace_events({id})"), &|s| {
            answer(s.get_trace_events(id))
        });
        same(&format!("resolve_trace_id(…{})", &id[24..]), &|s| {
            answer(s.resolve_trace_id(&format!("…{}", &id[24..])))
        });
        let spans = same(&format!("get_trace_spans({id})"), &|s| {
            answer(s.get_trace_spans(id))
        });
        for span in spans.as_array().unwrap() {
            let span_id = span["span_id"].as_str().unwrap();
            same(&format!("get_span({span_id})"), &|s| {
                answer(s.get_span(id, span_id))
            });
            same(&format!("get_span_tree({span_id})"), &|s| {
                answer(s.get_span_tree(span_id, None, None))
            });
            same(&format!("get_span_tree({span_id}, model, 1)"), &|s| {
                answer(s.get_span_tree(span_id, Some(&["gen_ai.request.model"]), Some(1)))
            });
        }
    }
    for short in ["0000", "ffffffff", &ids[0][..6], &ids[0][..20], "not-hex"] {
        same(&format!("resolve_trace_id({short})"), &|s| {
            answer(s.resolve_trace_id(short))
        });
    }
    same("get_trace(unknown)", &|s| {
        answer(s.get_trace("00000000000000000000000000000000"))
    });
    same("get_span_tree(unknown)", &|s| {
        answer(s.get_span_tree("0000000000000000", None, None))
    });
    same("query_spans(attributes, depth 1)", &|s| {
        answer(s.query_spans(
            &[AttributeFilter::eq(
                "gen_ai.agent.name",
                "weather-assistant",
            )],
            Some(&["gen_ai.request.model", "gen_ai.usage.output_tokens"]),
            Some(1),
        ))
    });

    for since in [None, Some(hour_ago), Some(now + Duration::from_secs(3600))] {
        same(&format!("stats({since:?})"), &|s| {
            let mut stats = s.stats(since);
            if let Ok(stats) = &mut stats {
                assert!(stats.size_bytes > 0);
                stats.size_bytes = 0; // a file's size against a database's
            }
            answer(stats)
        });
    }
    let sessions = [
        SessionQuery::default(),
        SessionQuery {
            limit: 5,
            ..SessionQuery::default()
        },
        SessionQuery {
            user: Some("alice".into()),
            ..SessionQuery::default()
        },
        SessionQuery {
            user: Some("nobody".into()),
            ..SessionQuery::default()
        },
        SessionQuery {
            since: Some(hour_ago),
            limit: 1000,
            ..SessionQuery::default()
        },
    ];
    for q in &sessions {
        same(&format!("sessions({q:?})"), &|s| answer(s.sessions(q)));
    }
    for text in [
        "paris",
        "WEATHER",
        "12 * 7",
        "local-rules",
        "100%",
        "a_b",
        "nothing like it",
    ] {
        for limit in [5, 10_000] {
            same(&format!("search({text:?}, {limit})"), &|s| {
                answer(s.search(text, limit))
            });
        }
    }
    same("trace_costs(all)", &|s| {
        let mut costs = s.trace_costs(&ids).unwrap();
        costs.sort_by(|a, b| a.trace_id.cmp(&b.trace_id)); // in no particular order
        answer(Ok(costs))
    });
    same("trace_costs([])", &|s| {
        answer(s.trace_costs(&[] as &[&str]))
    });
    let conversations = ["session-paris", "session-atlantis", "session-3", "nope"];
    for since in [None, Some(hour_ago), Some(now + Duration::from_secs(3600))] {
        same(&format!("trace_facets({since:?})"), &|s| {
            answer(s.trace_facets(since))
        });
        for limit in [3, 1000] {
            same(&format!("slowest_spans({since:?}, {limit})"), &|s| {
                answer(s.slowest_spans(since, limit))
            });
        }
        same(&format!("conversation_traces({since:?})"), &|s| {
            answer(s.conversation_traces(&conversations, since))
        });
    }
    for bucket in [1, 7, 60, 3600] {
        same(&format!("timeline({bucket} s)"), &|s| {
            answer(s.timeline(hour_ago, Duration::from_secs(bucket)))
        });
    }
    // llama-stack's token MetricEvents derive from the spans: the same points, one per event.
    for metric in ["prompt_tokens", "completion_tokens", "total_tokens"] {
        same(&format!("query_metric_points({metric})"), &|s| {
            answer(s.query_metric_points(metric, hour_ago, None, &[]))
        });
        same(&format!("query_metrics({metric}, 1 min)"), &|s| {
            answer(s.query_metrics(metric, hour_ago, None, Some(Duration::from_secs(60)), &[]))
        });
    }
    // The `metrics` rows are per batch and second, and the two sinks batch on their own: the
    // same sums per series and bucket (to float rounding) and the same counts.
    let rounded = |v: Value| -> Value {
        let mut v = v;
        for series in v.as_array_mut().unwrap() {
            for p in series["values"].as_array_mut().unwrap() {
                let x = p["value"].as_f64().unwrap();
                p["value"] = Value::from(format!("{x:.9e}"));
            }
        }
        v
    };
    let matchers = [llm_telemetry::store::LabelMatcher::new(
        "model_id",
        llm_telemetry::store::MatchOp::Regex,
        "local.*",
    )];
    for metric in [
        "llama_stack_tokens_total",
        "llama_stack.prompt_tokens",
        "gen_ai_client_token_usage",
        "gen_ai_client_operation_duration_seconds",
    ] {
        for step in [None, Some(Duration::from_secs(3600))] {
            same(&format!("query_metrics({metric}, {step:?})"), &|s| {
                rounded(answer(s.query_metrics(metric, hour_ago, None, step, &[])))
            });
        }
        same(
            &format!("query_metrics({metric}, model_id=~local.*)"),
            &|s| {
                rounded(answer(
                    s.query_metrics(metric, hour_ago, None, None, &matchers),
                ))
            },
        );
    }
    // The answers compared are not empty ones.
    let nonempty = |what: &str, v: Value| {
        let empty = v.as_array().map(Vec::is_empty).unwrap_or(false);
        assert!(!empty, "{what} answered nothing");
    };
    nonempty("search", answer(pg.search("paris", 10)));
    nonempty("slowest_spans", answer(pg.slowest_spans(None, 3)));
    nonempty(
        "conversation_traces",
        answer(pg.conversation_traces(&conversations, None)),
    );
    nonempty(
        "timeline",
        answer(pg.timeline(hour_ago, Duration::from_secs(60)))["models"].clone(),
    );
    nonempty(
        "trace_facets",
        answer(pg.trace_facets(None))["models"].clone(),
    );
    nonempty(
        "token events",
        answer(pg.query_metric_points("prompt_tokens", hour_ago, None, &[])),
    );
    for (metric, matchers) in [
        ("llama_stack_tokens_total", &matchers[..]),
        ("gen_ai_client_operation_duration_seconds", &[]),
    ] {
        nonempty(
            metric,
            answer(pg.query_metrics(metric, hour_ago, None, None, matchers)),
        );
    }
    eprintln!("{compared} answers compared, all the same");
}

/// Opening a PostgreSQL database that is not a store this build reads fails with one clear
/// error: no tables yet, a newer schema, an unreachable server; the password masked.
#[test]
fn opening_a_postgres_store_that_cannot_be_read_fails_clearly() {
    use llm_telemetry::store::TraceStore;

    let server = PgServer::shared();
    let url = server.create_db("not_a_store");
    let err = TraceStore::open(&url).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("no llm-telemetry tables") && text.contains("postgres://postgres:****@"),
        "{text}"
    );
    assert!(!text.contains(pg::PASSWORD), "{text}");

    // A writer creates the schema; a newer one than this build reads is refused.
    let config = postgres_config(&url);
    drop(config.init_local().expect("the postgres sink starts"));
    assert_eq!(TraceStore::connect(&url).unwrap().schema_version(), 1);
    server
        .client("not_a_store")
        .batch_execute("UPDATE store_meta SET value = '7' WHERE key = 'schema_version'")
        .unwrap();
    let err = TraceStore::connect(&url).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NewerVersion {
                found: 7,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );

    // Nothing listens: one line naming the masked URL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = TraceStore::open(format!(
        "postgres://app:hunter2@127.0.0.1:{port}/traces?sslmode=disable&connect_timeout=2"
    ))
    .unwrap_err();
    assert!(matches!(err, StoreError::Postgres { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("postgres://app:****@127.0.0.1") && !text.contains("hunter2"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}
