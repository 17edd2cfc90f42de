//! [`SpanRecord`]: one finished span, built once by the layer and shared by every sink.

use std::sync::Arc;
use std::time::SystemTime;

use super::attr::{attr, AttrValue, Attributes};
use super::ids::{SpanId, TraceId};
use super::log::LogRecord;
use super::vocab::{SpanCategory, SpanKind, SpanStatus};

/// One finished span.
#[derive(Clone, Debug)]
pub struct SpanRecord {
    /// W3C trace id shared by every span of the trace.
    pub trace_id: TraceId,
    /// W3C span id.
    pub span_id: SpanId,
    /// Parent span, local or remote (from an incoming `traceparent`).
    pub parent_span_id: Option<SpanId>,
    /// True when the parent came from another process.
    pub parent_is_remote: bool,
    /// Display name, e.g. `chat llama3.2:3b`, `execute_tool get_weather`.
    pub name: String,
    /// OpenTelemetry span kind.
    pub kind: SpanKind,
    /// GenAI category.
    pub category: SpanCategory,
    /// Wall-clock start.
    pub start_time: SystemTime,
    /// Wall-clock end (start + monotonic elapsed time, so never before start).
    pub end_time: SystemTime,
    /// Final status.
    pub status: SpanStatus,
    /// Error message when `status` is `Error`.
    pub status_message: Option<String>,
    /// Attributes, GenAI names first; content attributes only when capture is on.
    pub attributes: Attributes,
    /// Logs and metric events recorded inside the span, in order.
    pub events: Vec<LogRecord>,
    /// A streamed inference: the seconds between consecutive items, from the second item
    /// on (one `gen_ai.client.operation.time_per_output_chunk` point each). Empty otherwise.
    pub chunk_intervals: Vec<f32>,
    /// `service.name` of the emitting process.
    pub service_name: Arc<str>,
}

impl SpanRecord {
    /// Duration in milliseconds (fractional).
    pub fn duration_ms(&self) -> f64 {
        self.end_time
            .duration_since(self.start_time)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    }
    /// Look an attribute up by key.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        attr(&self.attributes, key)
    }
}

#[cfg(test)]
impl SpanRecord {
    /// The tests' one span fixture: a finished, successful internal span named `name`,
    /// with fresh ids, no parent, attributes or events, started now and lasting 1 ms, of
    /// service `svc`. Tests set what they need with struct update syntax:
    /// `SpanRecord { status: SpanStatus::Error, ..SpanRecord::test("x") }`.
    pub(crate) fn test(name: &str) -> SpanRecord {
        let now = SystemTime::now();
        SpanRecord {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_span_id: None,
            parent_is_remote: false,
            name: name.to_owned(),
            kind: SpanKind::Internal,
            category: SpanCategory::Other,
            start_time: now,
            end_time: now + std::time::Duration::from_millis(1),
            status: SpanStatus::Ok,
            status_message: None,
            attributes: Vec::new(),
            events: Vec::new(),
            chunk_intervals: Vec::new(),
            service_name: Arc::from("svc"),
        }
    }
}
