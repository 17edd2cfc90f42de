//! L5, the sinks: where finished spans, metrics and logs go. Each sink is a
//! [`BatchWriter`](crate::pipeline::BatchWriter) running on its own worker thread, and each
//! but the console is behind the cargo feature that brings its dependencies: asking for a
//! sink this build lacks is a [`ConfigError::SinkUnavailable`] naming the feature.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod aggregate;
mod console;
#[cfg(feature = "otlp")]
pub(crate) mod otlp;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "prometheus")]
mod prometheus;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use std::path::PathBuf;

use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::metrics::InferenceMetrics;
use crate::pipeline::{Accepts, BatchWriter, QueueOptions, SinkHandle};

#[cfg(feature = "prometheus")]
pub(crate) use prometheus::PrometheusText;

/// The running sinks, and what the guard offers on top of them.
pub(crate) struct Started {
    /// One handle per enabled sink, in configuration order.
    pub sinks: Vec<SinkHandle>,
    /// The SQLite store, when the `sqlite` sink is enabled.
    pub db_path: Option<PathBuf>,
    /// The `prometheus` sink's registry, when it is enabled.
    #[cfg(feature = "prometheus")]
    pub prometheus: Option<PrometheusText>,
}

/// Start every sink the configuration enables. Fails before starting anything
/// that cannot work (an unwritable store, an unavailable sink).
pub(crate) fn start(config: &TelemetryConfig) -> Result<Started, ConfigError> {
    #[allow(unused_mut)]
    let mut db_path = None;
    #[cfg(feature = "prometheus")]
    let mut prometheus_text = None;
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
            #[cfg(feature = "sqlite")]
            SinkKind::Sqlite => {
                let writer = sqlite::SqliteWriter::open(config.sqlite_db_path(), config)?;
                db_path = Some(config.sqlite_db_path().to_path_buf());
                deferred(name, Accepts::ALL, queue, writer)
            }
            #[cfg(feature = "otlp")]
            SinkKind::OtelTrace => {
                let writer = otlp::trace::TraceWriter::new(config)?;
                // With the sqlite sink on, what the collector misses waits in the store.
                #[cfg(feature = "sqlite")]
                let writer = if config.sinks().contains(&SinkKind::Sqlite) {
                    writer.with_store(config.sqlite_db_path(), config.service_name())
                } else {
                    writer
                };
                deferred(name, Accepts::SPANS, queue, writer)
            }
            #[cfg(feature = "otlp")]
            SinkKind::OtelMetric => deferred(
                name,
                Accepts::METRICS,
                queue,
                otlp::metric::MetricWriter::new(config)?,
            ),
            #[cfg(feature = "prometheus")]
            SinkKind::Prometheus => {
                let writer = prometheus::PrometheusWriter::new(config)?;
                prometheus_text = Some(writer.text());
                deferred(name, Accepts::METRICS, queue, writer)
            }
            #[cfg(feature = "postgres")]
            SinkKind::Postgres => deferred(
                name,
                Accepts::ALL,
                queue,
                postgres::PostgresWriter::open(config)?,
            ),
            #[allow(unreachable_patterns)]
            missing => {
                return Err(ConfigError::SinkUnavailable {
                    sink: missing,
                    variable: "TELEMETRY_SINKS",
                    feature: feature_of(missing),
                })
            }
        });
    }
    Ok(Started {
        sinks: pending.into_iter().map(|start| start()).collect(),
        db_path,
        #[cfg(feature = "prometheus")]
        prometheus: prometheus_text,
    })
}

/// The cargo feature of llm-telemetry that provides `sink`.
#[cfg_attr(
    all(
        feature = "sqlite",
        feature = "otlp",
        feature = "prometheus",
        feature = "postgres"
    ),
    allow(dead_code)
)]
fn feature_of(sink: SinkKind) -> &'static str {
    match sink {
        SinkKind::Console => "(none: always built)",
        SinkKind::Sqlite => "sqlite",
        SinkKind::OtelTrace | SinkKind::OtelMetric => "otlp-http` or `otlp-grpc",
        SinkKind::Prometheus => "prometheus",
        SinkKind::Postgres => "postgres",
    }
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
