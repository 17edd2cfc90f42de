//! The sinks: where finished spans, metrics and logs go. Each sink is a
//! [`BatchWriter`](crate::pipeline::BatchWriter) running on its own worker thread.

mod console;
pub(crate) mod otlp;
mod prometheus;
pub(crate) mod sqlite;

use std::path::PathBuf;

use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::pipeline::{Accepts, QueueOptions, SinkHandle};

/// Start every sink the configuration enables. Fails before starting anything
/// that cannot work (an unwritable store, an unavailable sink).
pub(crate) fn start(
    config: &TelemetryConfig,
) -> Result<(Vec<SinkHandle>, Option<PathBuf>), ConfigError> {
    let mut handles = Vec::new();
    let mut db_path = None;
    let queue = QueueOptions {
        capacity: config.queue_capacity,
        max_batch: 8192,
    };
    // Open everything fallible first, so a failure starts no thread.
    let mut pending: Vec<(SinkKind, Box<dyn FnOnce() -> SinkHandle>)> = Vec::new();
    for &kind in config.sinks() {
        match kind {
            SinkKind::Console => {
                let writer = console::ConsoleWriter::stderr();
                pending.push((
                    kind,
                    Box::new(move || SinkHandle::spawn("console", Accepts::ALL, queue, writer)),
                ));
            }
            SinkKind::Sqlite => {
                let writer = sqlite::SqliteWriter::open(config.sqlite_db_path(), config)?;
                db_path = Some(config.sqlite_db_path().to_path_buf());
                pending.push((
                    kind,
                    Box::new(move || SinkHandle::spawn("sqlite", Accepts::ALL, queue, writer)),
                ));
            }
            SinkKind::OtelTrace => {
                let writer = otlp::trace::TraceWriter::new(config)?;
                let accepts = Accepts {
                    spans: true,
                    metrics: false,
                    logs: false,
                };
                pending.push((
                    kind,
                    Box::new(move || SinkHandle::spawn("otel_trace", accepts, queue, writer)),
                ));
            }
            SinkKind::OtelMetric => {
                let writer = otlp::metric::MetricWriter::new(config)?;
                let accepts = Accepts {
                    spans: false,
                    metrics: true,
                    logs: false,
                };
                pending.push((
                    kind,
                    Box::new(move || SinkHandle::spawn("otel_metric", accepts, queue, writer)),
                ));
            }
            SinkKind::Prometheus => {
                let writer = prometheus::PrometheusWriter::new(config)?;
                let accepts = Accepts {
                    spans: false,
                    metrics: true,
                    logs: false,
                };
                pending.push((
                    kind,
                    Box::new(move || SinkHandle::spawn("prometheus", accepts, queue, writer)),
                ));
            }
        }
    }
    for (_, start) in pending {
        handles.push(start());
    }
    Ok((handles, db_path))
}
