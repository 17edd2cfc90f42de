//! The handle that keeps the sinks running and flushes them when dropped.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::pipeline::{Pipeline, SinkStats};

/// How long `flush()` and the final drain on drop may take before giving up on a sink.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`TelemetryGuard::prometheus_text`] waits for the `prometheus` sink's queue.
#[cfg(feature = "prometheus")]
const SCRAPE_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Keeps llm-telemetry's sinks alive. Dropping it writes out everything queued
/// (bounded by a timeout per sink, so a hung collector cannot hang the exit).
///
/// ```
/// use llm_telemetry::TelemetryConfig;
///
/// let guard = TelemetryConfig::builder().sinks([]).build().init_local().unwrap();
/// guard.flush();
/// assert!(guard.stats().sinks.is_empty());
/// drop(guard); // flushes and stops every sink
/// ```
#[must_use = "dropping the guard stops the sinks: keep it alive for the life of the program"]
pub struct TelemetryGuard {
    pub(crate) pipeline: Arc<Pipeline>,
    // Restores the previous thread-local subscriber (for `init_local`).
    pub(crate) _default: Option<tracing::subscriber::DefaultGuard>,
    pub(crate) db_path: Option<std::path::PathBuf>,
    #[cfg(feature = "prometheus")]
    pub(crate) prometheus: Option<crate::sinks::PrometheusText>,
}

impl TelemetryGuard {
    /// Block until everything emitted so far is written by every sink (at most 10 s
    /// per call). Returns false if a sink did not confirm in time.
    pub fn flush(&self) -> bool {
        self.pipeline.flush(FLUSH_TIMEOUT)
    }

    /// Counters of every sink: what was offered, written, dropped, failed and is pending
    /// (the `otel_trace` backlog).
    pub fn stats(&self) -> TelemetryStats {
        TelemetryStats {
            sinks: self.pipeline.stats(),
        }
    }

    /// The SQLite store this guard writes to, when the `sqlite` sink is enabled.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.db_path.as_deref()
    }

    /// The `prometheus` sink's metrics in the text exposition format (OpenMetrics 1.0,
    /// served as `application/openmetrics-text; version=1.0.0; charset=utf-8`), for an
    /// application that serves `/metrics` itself: configure the sink with
    /// `TELEMETRY_PROMETHEUS_ADDR=none` (or
    /// [`prometheus_addr("none")`](crate::TelemetryConfigBuilder::prometheus_addr)) so it
    /// binds no listener of its own, and answer scrapes with this.
    ///
    /// It first waits (at most 2 s) for the sink to take in everything emitted before the
    /// call, so a scrape right after some requests counts them all. `None` when the
    /// `prometheus` sink is not enabled (or this build lacks the `prometheus` feature).
    ///
    /// ```
    /// use llm_telemetry::{SinkKind, TelemetryConfig};
    ///
    /// let guard = TelemetryConfig::builder()
    ///     .sinks([SinkKind::Prometheus])
    ///     .prometheus_addr("none")
    ///     .build()
    ///     .init_local()
    ///     .unwrap();
    /// let text = guard.prometheus_text().unwrap();
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn prometheus_text(&self) -> Option<String> {
        #[cfg(feature = "prometheus")]
        {
            let text = self.prometheus.as_ref()?;
            self.pipeline.flush_sink("prometheus", SCRAPE_FLUSH_TIMEOUT);
            text.encode()
        }
        #[cfg(not(feature = "prometheus"))]
        None
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.pipeline.shutdown(FLUSH_TIMEOUT);
    }
}

impl fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("sinks", &self.pipeline.sink_names().collect::<Vec<_>>())
            .finish()
    }
}

/// Counters of every sink, from [`TelemetryGuard::stats`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TelemetryStats {
    /// One entry per enabled sink.
    pub sinks: Vec<SinkStats>,
}

impl TelemetryStats {
    /// The counters of one sink, by name (`console`, `sqlite`, ...).
    pub fn sink(&self, name: &str) -> Option<&SinkStats> {
        self.sinks.iter().find(|s| s.name == name)
    }

    /// Items dropped by any sink.
    pub fn dropped(&self) -> u64 {
        self.sinks.iter().map(|s| s.dropped).sum()
    }
}
