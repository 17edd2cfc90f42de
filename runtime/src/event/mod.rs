//! llama-stack's three event types and [`log_event`], which attaches one to the current span
//! (or stores it on its own when there is none). An event travels as an ordinary `tracing`
//! event whose fields are the [`wire`] format; the layer decodes it back into a log record.
//!
//! This module sits low (L1, beside `config`): the layer, above it, decodes what
//! [`log_event`] encodes, and the encoder and the decoder live in one file.

pub mod wire;

use std::collections::BTreeMap;

use crate::model::vocab::{Severity, SpanStatus};

/// A free-text log line.
///
/// ```
/// use llm_telemetry::{log_event, Severity, UnstructuredLogEvent};
/// log_event(UnstructuredLogEvent::new("cache miss", Severity::Warn).attribute("key", "user:42"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct UnstructuredLogEvent {
    /// The message.
    pub message: String,
    /// Its severity.
    pub severity: Severity,
    /// Extra key/value pairs.
    pub attributes: BTreeMap<String, String>,
}

impl UnstructuredLogEvent {
    /// A message at a severity.
    pub fn new(message: impl Into<String>, severity: Severity) -> Self {
        UnstructuredLogEvent {
            message: message.into(),
            severity,
            attributes: BTreeMap::new(),
        }
    }
    /// Add an attribute.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// A metric point attached to the current span.
///
/// ```
/// use llm_telemetry::{log_event, MetricEvent};
/// log_event(MetricEvent::new("retrieved_chunks", 12.0, "chunks"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MetricEvent {
    /// Metric name.
    pub metric: String,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: String,
    /// Extra key/value pairs.
    pub attributes: BTreeMap<String, String>,
}

impl MetricEvent {
    /// A named value with a unit.
    pub fn new(metric: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        MetricEvent {
            metric: metric.into(),
            value,
            unit: unit.into(),
            attributes: BTreeMap::new(),
        }
    }
    /// Add an attribute.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// Span start and end markers, as llama-stack logged them.
///
/// ```
/// use llm_telemetry::{log_event, SpanStatus, StructuredLogEvent};
/// log_event(StructuredLogEvent::SpanEnd { status: SpanStatus::Ok });
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum StructuredLogEvent {
    /// A span started.
    SpanStart {
        /// Span name.
        name: String,
        /// Parent span id (hex), if any.
        parent_span_id: Option<String>,
    },
    /// A span ended.
    SpanEnd {
        /// Final status.
        status: SpanStatus,
    },
}

/// Any of the three event types; what [`log_event`] takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// See [`UnstructuredLogEvent`].
    Unstructured(UnstructuredLogEvent),
    /// See [`MetricEvent`].
    Metric(MetricEvent),
    /// See [`StructuredLogEvent`].
    Structured(StructuredLogEvent),
}

impl From<UnstructuredLogEvent> for Event {
    fn from(e: UnstructuredLogEvent) -> Self {
        Event::Unstructured(e)
    }
}
impl From<MetricEvent> for Event {
    fn from(e: MetricEvent) -> Self {
        Event::Metric(e)
    }
}
impl From<StructuredLogEvent> for Event {
    fn from(e: StructuredLogEvent) -> Self {
        Event::Structured(e)
    }
}

/// Record an event in the current span (its trace and span ids, and the time, are
/// filled in). With no span open it is stored on its own. It is an ordinary `tracing`
/// event, so other layers see it too.
///
/// ```
/// use llm_telemetry::{log_event, MetricEvent, Severity, UnstructuredLogEvent};
///
/// tracing::info_span!("retrieval").in_scope(|| {
///     log_event(UnstructuredLogEvent::new("vector store queried", Severity::Info));
///     log_event(MetricEvent::new("retrieved_chunks", 5.0, "chunks"));
/// });
/// ```
pub fn log_event(event: impl Into<Event>) {
    wire::emit(event.into());
}
