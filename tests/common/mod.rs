//! Shared by the integration tests: a temporary store and typed reads of its rows.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use llm_telemetry::{SinkKind, TelemetryConfig};
use serde_json::Value;

/// A temporary directory holding one store file; removed on drop.
pub struct TempStore {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempStore {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("trace_store.db");
        TempStore { dir, path }
    }

    /// A config writing only to this store.
    pub fn config(&self) -> llm_telemetry::TelemetryConfig {
        TelemetryConfig::builder()
            .sinks([SinkKind::Sqlite])
            .sqlite_db_path(&self.path)
            .service_name("llm-telemetry-tests")
            .build()
    }

    pub fn open(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open store")
    }

    pub fn spans(&self) -> Vec<SpanRow> {
        spans(&self.path)
    }
}

/// One row of `spans`, attributes parsed.
#[derive(Clone, Debug)]
pub struct SpanRow {
    pub span_id: String,
    pub trace_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub status: String,
    pub kind: String,
    pub duration_ms: f64,
    pub attributes: HashMap<String, Value>,
}

impl SpanRow {
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }
    pub fn attr_u64(&self, key: &str) -> Option<u64> {
        self.attr(key).and_then(Value::as_u64)
    }
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attr(key).and_then(Value::as_str)
    }
}

pub fn spans(path: &Path) -> Vec<SpanRow> {
    let conn = rusqlite::Connection::open(path).expect("open store");
    let mut stmt = conn
        .prepare(
            "SELECT span_id, trace_id, parent_span_id, name, status, kind, duration_ms, attributes \
             FROM spans ORDER BY start_time",
        )
        .expect("spans query");
    let rows = stmt
        .query_map([], |r| {
            let attrs: String = r.get(7)?;
            Ok(SpanRow {
                span_id: r.get(0)?,
                trace_id: r.get(1)?,
                parent_span_id: r.get(2)?,
                name: r.get(3)?,
                status: r.get(4)?,
                kind: r.get(5)?,
                duration_ms: r.get(6)?,
                attributes: serde_json::from_str(&attrs).expect("attributes are a JSON object"),
            })
        })
        .expect("spans rows");
    rows.map(|r| r.expect("span row")).collect()
}

/// Spans grouped by trace id.
pub fn by_trace(spans: &[SpanRow]) -> HashMap<String, Vec<SpanRow>> {
    let mut out: HashMap<String, Vec<SpanRow>> = HashMap::new();
    for s in spans {
        out.entry(s.trace_id.clone()).or_default().push(s.clone());
    }
    out
}

pub fn count(path: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open store");
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

/// The binary of the example `name` (`target/<profile>/examples/<name>`), built with
/// `cargo build --example <name>` when `cargo test` has not built it already.
pub fn example_binary(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--example", name])
            .status()
            .unwrap_or_else(|e| panic!("cargo build --example {name}: {e}"));
        assert!(status.success(), "building the example {name} failed");
    }
    bin
}
