//! The SQLite sink's tests, by topic, and the helpers they share: a store in a temporary
//! directory, a span builder ([`S`]), and queries on what was stored.

mod concurrency;
mod encode;
mod metrics;
mod queries;
mod rows;
mod schema;
mod view;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, Row};

use crate::config::TelemetryConfig;
use crate::metrics::InferenceMetrics;
use crate::model::attr::AttrValue;
use crate::model::ids::{SpanId, TraceId};
use crate::model::log::{LogBody, LogRecord};
use crate::model::metric::MetricRecord;
use crate::model::span::SpanRecord;
use crate::model::vocab::{Instrument, Severity, SpanCategory, SpanStatus};
use crate::pipeline::{BatchWriter, Telemetry};

use super::SqliteWriter;

fn config() -> TelemetryConfig {
    TelemetryConfig::builder().sinks([]).build()
}

fn open(path: &Path) -> SqliteWriter {
    SqliteWriter::open(path, &config()).unwrap()
}

/// A new store `t.db` in a temporary directory, removed when the directory is dropped.
fn temp_store() -> (tempfile::TempDir, PathBuf, SqliteWriter) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w = open(&path);
    (dir, path, w)
}

fn reader(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

fn at(secs_ago: f64) -> SystemTime {
    SystemTime::now() - Duration::from_secs_f64(secs_ago)
}

/// A span to write: [`S::new`] fills in the rest, tests change what they need.
struct S {
    trace: TraceId,
    span: SpanId,
    parent: Option<SpanId>,
    remote: bool,
    name: &'static str,
    start: SystemTime,
    ms: u64,
    status: SpanStatus,
    category: SpanCategory,
    attributes: Vec<(&'static str, AttrValue)>,
    events: Vec<LogRecord>,
    chunk_intervals: Vec<f32>,
    service: &'static str,
}

impl S {
    fn new(trace: TraceId, parent: Option<SpanId>, name: &'static str) -> Self {
        S {
            trace,
            span: SpanId::random(),
            parent,
            remote: false,
            name,
            start: at(10.0),
            ms: 5,
            status: SpanStatus::Ok,
            category: SpanCategory::Other,
            attributes: Vec::new(),
            events: Vec::new(),
            chunk_intervals: Vec::new(),
            service: "test-service",
        }
    }
    fn record(&self) -> Arc<SpanRecord> {
        Arc::new(SpanRecord {
            trace_id: self.trace,
            span_id: self.span,
            parent_span_id: self.parent,
            parent_is_remote: self.remote,
            category: self.category,
            start_time: self.start,
            end_time: self.start + Duration::from_millis(self.ms),
            status: self.status,
            status_message: (self.status == SpanStatus::Error).then(|| "boom".to_owned()),
            attributes: self
                .attributes
                .iter()
                .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
                .collect(),
            events: self.events.clone(),
            chunk_intervals: self.chunk_intervals.clone(),
            service_name: Arc::from(self.service),
            ..SpanRecord::test(self.name)
        })
    }
    fn item(&self) -> Telemetry {
        Telemetry::Span(self.record())
    }
    /// The span as the layer sends an inference.
    fn inference(mut self) -> Telemetry {
        self.category = SpanCategory::Inference;
        Telemetry::Inference(self.record())
    }
    /// The span as the layer sends a guardrail that found a violation.
    fn guardrail(mut self) -> Telemetry {
        self.category = SpanCategory::Guardrail;
        Telemetry::Guardrail(self.record())
    }
}

/// What the sink derives an inference's points and token events with (the default
/// namespace, as [`config`] has it).
fn inference_metrics() -> InferenceMetrics {
    InferenceMetrics::new("llama_stack")
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Every row `sql` returns, as a tuple of its columns.
fn select<T>(conn: &Connection, sql: &str) -> Vec<T>
where
    T: for<'a> TryFrom<&'a Row<'a>, Error = rusqlite::Error>,
{
    select_with(conn, sql, |r| T::try_from(r))
}

/// Every row `sql` returns, as `f` reads it.
fn select_with<T>(
    conn: &Connection,
    sql: &str,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], f)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn trace_row(
    conn: &Connection,
    trace: TraceId,
) -> (
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    i64,
    i64,
) {
    conn.query_row(
        "SELECT root_span_id, service_name, start_time, end_time, timestamp, span_count, error_count
         FROM traces WHERE trace_id = ?1",
        [trace.to_string()],
        |r| r.try_into(),
    )
    .unwrap()
}

fn point(name: &'static str, value: f64, model: &str, when: SystemTime) -> MetricRecord {
    MetricRecord {
        name: Cow::Borrowed(name),
        instrument: Instrument::Counter,
        count: 1,
        unit: "{token}".into(),
        value,
        attributes: vec![(Cow::Borrowed("model_id"), AttrValue::Str(model.into()))],
        timestamp: when,
        trace_id: None,
        span_id: None,
    }
}

/// A log of no span, a second ago.
fn free_log(message: &str, severity: Severity) -> LogRecord {
    LogRecord {
        timestamp: at(1.0),
        trace_id: None,
        span_id: None,
        body: LogBody::Unstructured {
            message: message.into(),
            severity,
        },
        attributes: Vec::new(),
    }
}
