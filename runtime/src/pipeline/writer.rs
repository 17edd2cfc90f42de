//! What a sink is to the pipeline: a [`BatchWriter`] on its own worker thread, and which
//! items it [`Accepts`].

use super::item::Telemetry;

/// The error a writer reports for a batch it could not write.
pub type WriteError = Box<dyn std::error::Error + Send + Sync>;

/// The I/O side of a sink. It lives on the sink's own worker thread.
pub trait BatchWriter: Send + 'static {
    /// Write one batch. On error the whole batch counts as failed.
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError>;
    /// Make everything written so far durable / exported.
    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }
    /// Called about once a second, and when the queue is idle (retention, periodic export).
    fn tick(&mut self) {}
    /// Last call before the worker exits.
    fn shutdown(&mut self) {}
    /// For a writer that keeps items for a later attempt (the `otel_trace` sink's backlog):
    /// what became of items since the last call. The worker asks after every write, flush,
    /// tick and the shutdown; when the answer is `Some`, it counts from it instead of from
    /// `write_batch`'s result (whose error is then only reported).
    fn take_report(&mut self) -> Option<Report> {
        None
    }
}

/// What a writer that holds items back ([`BatchWriter::take_report`]) did with them since
/// its last report: counts to add, and how many it holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Items written (now or after waiting).
    pub stored: u64,
    /// Items refused for good (not retryable).
    pub failed: u64,
    /// Items given up: outside the writer's bound, or gone before they could be written.
    pub dropped: u64,
    /// Items held now for a later attempt (not a delta).
    pub pending: u64,
}

/// Which kinds of item a sink takes; the others are never offered to it nor counted.
#[derive(Clone, Copy, Debug)]
pub struct Accepts {
    pub spans: bool,
    pub metrics: bool,
    pub logs: bool,
}

impl Accepts {
    pub const ALL: Accepts = Accepts {
        spans: true,
        metrics: true,
        logs: true,
    };
    /// Trace exporters: spans only.
    pub const SPANS: Accepts = Accepts {
        spans: true,
        metrics: false,
        logs: false,
    };
    /// Metric exporters: the metric points of inferences, guardrails and requests only.
    pub const METRICS: Accepts = Accepts {
        spans: false,
        metrics: true,
        logs: false,
    };

    /// Whether the sink takes `item`.
    pub fn item(&self, item: &Telemetry) -> bool {
        match item {
            Telemetry::Span(_) => self.spans,
            Telemetry::Metrics(_) | Telemetry::SampledOut(_) => self.metrics,
            Telemetry::Log(_) => self.logs,
            Telemetry::Inference(..) | Telemetry::Guardrail(..) => self.spans || self.metrics,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::span::SpanRecord;

    #[test]
    fn a_sampled_out_span_goes_to_metric_sinks_only() {
        let item = Telemetry::SampledOut(Arc::new(SpanRecord::test("chat m")));
        assert!(!Accepts::SPANS.item(&item));
        assert!(Accepts::METRICS.item(&item));
        assert!(Accepts::ALL.item(&item));
        assert!(item.span().is_none());
    }
}
