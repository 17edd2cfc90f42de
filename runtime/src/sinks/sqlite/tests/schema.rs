//! Opening a store: the schema in WAL mode, migrations from older versions, and files that
//! must be refused (a newer schema, unwritable or foreign paths) without being changed.

use crate::config::ConfigError;
use crate::store::schema;

use super::*;

#[test]
fn open_creates_the_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/trace_store.db");
    let _w = open(&path);
    let conn = reader(&path);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::SCHEMA_VERSION);
    for (kind, name) in [
        ("table", "traces"),
        ("table", "spans"),
        ("table", "span_logs"),
        ("table", "metrics"),
        ("view", "span_events"),
        ("view", "span_token_events"),
    ] {
        let n = count(
            &conn,
            &format!(
                "SELECT count(*) FROM sqlite_schema WHERE type = '{kind}' AND name = '{name}'"
            ),
        );
        assert_eq!(n, 1, "{kind} {name}");
    }
    // Opening again (a restart, or a second process) keeps the store.
    drop(_w);
    let _again = open(&path);
}

#[test]
fn a_version_1_store_is_migrated_and_keeps_its_metric_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(schema::V1).unwrap();
        conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO metrics (name, instrument, value, timestamp) \
             VALUES ('llama_stack.tokens', 'counter', 41, '2026-01-01 00:00:00.000000')",
            [],
        )
        .unwrap();
    }
    let mut w = open(&path);
    let now = SystemTime::now();
    w.write_batch(&[Telemetry::Metrics(
        vec![point("llama_stack.tokens", 1.0, "a", now)].into(),
    )])
    .unwrap();
    let conn = reader(&path);
    assert_eq!(
        count(&conn, "PRAGMA user_version"),
        i64::from(schema::SCHEMA_VERSION)
    );
    assert_eq!(count(&conn, "SELECT SUM(count) FROM metrics"), 2);
    assert_eq!(
        count(&conn, "SELECT CAST(SUM(value) AS INTEGER) FROM metrics"),
        42
    );
}

#[test]
fn a_newer_schema_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(open(&path));
    let newer = schema::SCHEMA_VERSION + 1;
    reader(&path)
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let e = SqliteWriter::open(&path, &config()).err().unwrap();
    assert!(
        matches!(&e, ConfigError::Sqlite { path: p, .. } if p == &path),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("schema version {newer}")), "{msg}");
    assert!(
        msg.contains(&format!("version {})", schema::SCHEMA_VERSION)),
        "{msg}"
    );
}

#[test]
fn unwritable_or_foreign_paths_fail_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regular-file");
    std::fs::write(&file, "x").unwrap();
    for path in [
        PathBuf::from("/proc/nope/x.db"),
        file.join("x.db"),
        dir.path().to_path_buf(),
    ] {
        let e = SqliteWriter::open(&path, &config()).err().unwrap();
        assert!(
            matches!(&e, ConfigError::Sqlite { path: p, .. } if p == &path),
            "{e:?}"
        );
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }

    let text = dir.path().join("notes.db");
    let content = "not a database\n".repeat(200);
    std::fs::write(&text, &content).unwrap();
    let e = SqliteWriter::open(&text, &config())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not a SQLite database"), "{e}");
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        content,
        "the file must be left alone"
    );

    let foreign = dir.path().join("app.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER)")
        .unwrap();
    let e = SqliteWriter::open(&foreign, &config())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("not an llm-telemetry trace store") && e.contains("users"),
        "{e}"
    );
    let mode: String = reader(&foreign)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        mode, "delete",
        "a foreign database must not be switched to WAL"
    );
}
