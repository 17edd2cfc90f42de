//! [`SinkStats`]: the counters of one sink, as `TelemetryGuard::stats` reports them.

/// Counters of one sink. After a flush, `stored + dropped + failed == emitted`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SinkStats {
    /// Sink name.
    pub name: &'static str,
    /// Items offered to the sink (spans, metric batches, logs).
    pub emitted: u64,
    /// Items written.
    pub stored: u64,
    /// Items dropped because the queue was full (or the sink was shut down).
    pub dropped: u64,
    /// Items the sink tried to write and could not.
    pub failed: u64,
}
