//! [`SinkStats`]: the counters of one sink, as `TelemetryGuard::stats` reports them.

/// Counters of one sink. After a flush, `stored + dropped + failed + pending == emitted`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SinkStats {
    /// Sink name.
    pub name: &'static str,
    /// Items offered to the sink (spans, metric batches, logs).
    pub emitted: u64,
    /// Items written.
    pub stored: u64,
    /// Items dropped because the queue was full (or the sink was shut down), or, for the
    /// `otel_trace` sink, outside its backlog's bound (`TELEMETRY_OTLP_BACKLOG`).
    pub dropped: u64,
    /// Items the sink tried to write and could not.
    pub failed: u64,
    /// Items the sink holds for a later attempt: the `otel_trace` sink's backlog while its
    /// collector does not answer (after the shutdown: what the store keeps for the next run).
    pub pending: u64,
}
