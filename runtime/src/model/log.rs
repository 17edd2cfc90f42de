//! [`LogRecord`]: a log line or metric event, inside a span or on its own.

use std::time::SystemTime;

use super::attr::Attributes;
use super::ids::{SpanId, TraceId};
use super::vocab::{Severity, SpanStatus};

/// The body of a log record: one of llama-stack's three event types.
#[derive(Clone, Debug, PartialEq)]
pub enum LogBody {
    /// A free-text log line (`tracing::info!`, `UnstructuredLogEvent`).
    Unstructured {
        /// The message.
        message: String,
        /// Its severity.
        severity: Severity,
    },
    /// A metric point (`MetricEvent`).
    Metric {
        /// Metric name, e.g. `prompt_tokens`.
        metric: String,
        /// Value.
        value: f64,
        /// Unit, e.g. `tokens`.
        unit: String,
    },
    /// Span start marker (`StructuredLogEvent::SpanStart`).
    SpanStart {
        /// Span name.
        name: String,
        /// Parent, if any.
        parent_span_id: Option<SpanId>,
    },
    /// Span end marker (`StructuredLogEvent::SpanEnd`).
    SpanEnd {
        /// Final status.
        status: SpanStatus,
    },
}

impl LogBody {
    /// `unstructured_log`, `metric` or `structured_log`: the `event_type` column.
    pub fn event_type(&self) -> &'static str {
        match self {
            LogBody::Unstructured { .. } => "unstructured_log",
            LogBody::Metric { .. } => "metric",
            LogBody::SpanStart { .. } | LogBody::SpanEnd { .. } => "structured_log",
        }
    }
}

/// A log or metric event, inside a span (then in its `events`) or free-standing.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// When it happened.
    pub timestamp: SystemTime,
    /// The trace it belongs to, if any.
    pub trace_id: Option<TraceId>,
    /// The span it belongs to, if any.
    pub span_id: Option<SpanId>,
    /// What it says.
    pub body: LogBody,
    /// Extra fields.
    pub attributes: Attributes,
}
