//! The sinks: where finished spans, metrics and logs go. Each sink is a
//! [`BatchWriter`](crate::pipeline::BatchWriter) running on its own worker thread.

mod console;
pub(crate) mod otlp;
mod prometheus;
pub(crate) mod sqlite;

use std::path::PathBuf;

use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::metrics::InferenceMetrics;
use crate::pipeline::{Accepts, BatchWriter, QueueOptions, SinkHandle};

/// Start every sink the configuration enables. Fails before starting anything
/// that cannot work (an unwritable store, an unavailable sink).
pub(crate) fn start(
    config: &TelemetryConfig,
) -> Result<(Vec<SinkHandle>, Option<PathBuf>), ConfigError> {
    let mut db_path = None;
    let queue = QueueOptions {
        capacity: config.queue_capacity,
        max_batch: 8192,
    };
    // Open everything fallible first, so a failure starts no thread.
    let mut pending: Vec<Deferred> = Vec::new();
    for &kind in config.sinks() {
        let name = kind.as_str();
        pending.push(match kind {
            SinkKind::Console => deferred(
                name,
                Accepts::ALL,
                queue,
                console::ConsoleWriter::stderr(InferenceMetrics::new(config.metric_namespace())),
            ),
            SinkKind::Sqlite => {
                let writer = sqlite::SqliteWriter::open(config.sqlite_db_path(), config)?;
                db_path = Some(config.sqlite_db_path().to_path_buf());
                deferred(name, Accepts::ALL, queue, writer)
            }
            SinkKind::OtelTrace => deferred(
                name,
                Accepts::SPANS,
                queue,
                otlp::trace::TraceWriter::new(config)?,
            ),
            SinkKind::OtelMetric => deferred(
                name,
                Accepts::METRICS,
                queue,
                otlp::metric::MetricWriter::new(config)?,
            ),
            SinkKind::Prometheus => deferred(
                name,
                Accepts::METRICS,
                queue,
                prometheus::PrometheusWriter::new(config)?,
            ),
        });
    }
    Ok((pending.into_iter().map(|start| start()).collect(), db_path))
}

/// A sink whose writer is open and whose worker thread is not started yet.
type Deferred = Box<dyn FnOnce() -> SinkHandle>;

fn deferred(
    name: &'static str,
    accepts: Accepts,
    queue: QueueOptions,
    writer: impl BatchWriter,
) -> Deferred {
    Box::new(move || SinkHandle::spawn(name, accepts, queue, writer))
}
