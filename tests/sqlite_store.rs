//! The SQLite store end to end: `tracing` spans through `init_local()` into a real file,
//! read back with plain SQL (as a user with `sqlite3` would) and with `TraceStore`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_telemetry::store::{StoreError, TraceStore};
use llm_telemetry::{ConfigError, SinkKind, TelemetryConfig};
use rusqlite::Connection;

fn config(path: &Path) -> TelemetryConfig {
    TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(path)
        .service_name("sqlite-store-tests")
        .build()
}

fn store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state/llm-telemetry/trace_store.db");
    (dir, path)
}

fn strings(conn: &Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn one<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str, id: &str) -> T {
    conn.query_row(sql, [id], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql} [{id}]: {e}"))
}

#[test]
fn tracing_spans_land_in_the_store_as_a_tree() {
    let (_dir, path) = store();
    let guard = config(&path).init_local().expect("init");
    assert_eq!(guard.sqlite_path(), Some(path.as_path()));
    {
        let turn = tracing::info_span!("turn", agent = "weather");
        let _t = turn.enter();
        {
            let step = tracing::info_span!("lookup", city = "Paris", answer = 42_u64, ratio = 0.5);
            let _s = step.enter();
            tracing::info!(attempt = 1, "looking up the weather");
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::info_span!("reply").in_scope(|| {});
    }
    assert!(guard.flush(), "flush confirmed");
    let stats = guard.stats();
    let sqlite = stats.sink("sqlite").expect("sqlite sink stats");
    assert_eq!(sqlite.failed, 0, "{stats:?}");
    assert_eq!(sqlite.dropped, 0, "{stats:?}");
    assert_eq!(sqlite.stored, sqlite.emitted, "{stats:?}");
    drop(guard);

    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    let turn_id: String = conn
        .query_row("SELECT span_id FROM spans WHERE name = 'turn'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let trace_id: String = one(
        &conn,
        "SELECT trace_id FROM spans WHERE span_id = ?1",
        &turn_id,
    );
    assert_eq!(trace_id.len(), 32);
    assert_eq!(turn_id.len(), 16);

    // One trace, rooted at the turn, with every span of it.
    let traces = strings(&conn, "SELECT trace_id FROM traces");
    assert_eq!(traces, vec![trace_id.clone()]);
    let root: String = one(
        &conn,
        "SELECT root_span_id FROM traces WHERE trace_id = ?1",
        &trace_id,
    );
    assert_eq!(root, turn_id);
    let service: String = one(
        &conn,
        "SELECT service_name FROM traces WHERE trace_id = ?1",
        &trace_id,
    );
    assert_eq!(service, "sqlite-store-tests");
    let span_count: i64 = one(
        &conn,
        "SELECT span_count FROM traces WHERE trace_id = ?1",
        &trace_id,
    );
    assert_eq!(span_count, 3);
    let (start, ts): (String, String) = conn
        .query_row("SELECT start_time, timestamp FROM traces", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(start, ts);
    assert_eq!(start.len(), "2025-01-01 00:00:00.000000".len(), "{start}");

    // Parents.
    let children = strings(
        &conn,
        &format!("SELECT name FROM spans WHERE parent_span_id = '{turn_id}' ORDER BY start_time"),
    );
    assert_eq!(children, vec!["lookup", "reply"]);
    let in_trace: i64 = one(
        &conn,
        "SELECT count(*) FROM spans WHERE trace_id = ?1",
        &trace_id,
    );
    assert_eq!(in_trace, 3);

    // Typed attributes and the duration.
    let lookup_id: String = conn
        .query_row("SELECT span_id FROM spans WHERE name = 'lookup'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let answer: i64 = one(
        &conn,
        r#"SELECT json_extract(attributes, '$.answer') FROM spans WHERE span_id = ?1"#,
        &lookup_id,
    );
    assert_eq!(answer, 42);
    let kinds: String = one(
        &conn,
        "SELECT json_type(attributes, '$.city') || ',' || json_type(attributes, '$.ratio') \
         FROM spans WHERE span_id = ?1",
        &lookup_id,
    );
    assert_eq!(kinds, "text,real");
    let duration: f64 = one(
        &conn,
        "SELECT duration_ms FROM spans WHERE span_id = ?1",
        &lookup_id,
    );
    assert!(duration >= 20.0, "{duration}");
    let julian: f64 = one(
        &conn,
        "SELECT (julianday(end_time) - julianday(start_time)) * 86400000 FROM spans WHERE span_id = ?1",
        &lookup_id,
    );
    assert!((julian - duration).abs() < 1.0, "{julian} vs {duration}");

    // The log inside `lookup` is an event of that span.
    let (span_id, event_type, severity, message, attrs): (String, String, String, String, String) =
        conn.query_row(
            "SELECT span_id, event_type, severity, message, attributes FROM span_events \
             WHERE event_type = 'unstructured_log'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(span_id, lookup_id);
    assert_eq!(
        (event_type.as_str(), severity.as_str(), message.as_str()),
        ("unstructured_log", "info", "looking up the weather")
    );
    let attrs: serde_json::Value = serde_json::from_str(&attrs).unwrap();
    assert_eq!(attrs["attempt"], 1);

    // The documentation queries run on what the runtime wrote.
    let recent = strings(
        &conn,
        "SELECT trace_id FROM (SELECT * FROM traces WHERE timestamp > datetime('now', '-1 hour'))",
    );
    assert_eq!(recent, vec![trace_id]);
    let by_avg = strings(
        &conn,
        "SELECT name FROM (SELECT name, AVG(duration_ms) as avg_duration FROM spans \
         GROUP BY name ORDER BY avg_duration DESC)",
    );
    assert_eq!(by_avg[0], "turn");
    assert_eq!(by_avg[1], "lookup");

    // And the read side accepts the file.
    let store = TraceStore::open(&path).unwrap();
    assert!(store.schema_version() >= 1);
}

#[test]
fn spans_from_many_threads_all_land() {
    let (_dir, path) = store();
    let config = config(&path);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let config = config.clone();
            std::thread::spawn(move || {
                let guard = config.init_local().expect("init");
                for i in 0..50 {
                    let root = tracing::info_span!("root", thread = t, turn = i);
                    root.in_scope(|| {
                        for _ in 0..3 {
                            tracing::info_span!("child").in_scope(|| {});
                        }
                    });
                }
                drop(guard);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let conn = Connection::open(&path).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM traces"), 200);
    assert_eq!(count("SELECT count(*) FROM spans"), 800);
    assert_eq!(
        count("SELECT count(*) FROM traces WHERE root_span_id IS NULL OR span_count != 4"),
        0
    );
    // Every child's parent is the root of its own trace.
    assert_eq!(
        count(
            "SELECT count(*) FROM spans c JOIN traces t ON t.trace_id = c.trace_id \
             WHERE c.name = 'child' AND c.parent_span_id IS NOT t.root_span_id"
        ),
        0
    );
}

#[test]
fn an_unusable_store_path_fails_at_init() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-regular-file");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("trace_store.db");
    let err = config(&bad).init_local().unwrap_err();
    assert!(
        matches!(&err, ConfigError::Sqlite { path, .. } if path == &bad),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&bad.display().to_string()), "{msg}");
    assert!(msg.contains("TELEMETRY_SQLITE_DB_PATH"), "{msg}");
}

#[test]
fn a_store_from_a_newer_version_is_refused_by_both_sides() {
    let (_dir, path) = store();
    drop(config(&path).init_local().expect("init"));
    let supported: u32 = TraceStore::open(&path).unwrap().schema_version();
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", supported + 1)
        .unwrap();

    let msg = config(&path).init_local().unwrap_err().to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("version {}", supported + 1)), "{msg}");
    assert!(msg.contains(&format!("version {supported}")), "{msg}");

    let err = TraceStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerVersion { found, supported: s, .. } if found == supported + 1 && s == supported),
        "{err:?}"
    );
}
