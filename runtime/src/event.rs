//! llama-stack's three event types and [`log_event`], which attaches one to the
//! current span (or stores it on its own when there is none).

use std::collections::BTreeMap;

use crate::record::{Severity, SpanStatus};

/// `tracing` target of the events [`log_event`] emits; the layer reads them back.
pub(crate) const EVENT_TARGET: &str = "llm_telemetry::event";

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
    use tracing::Level;
    let attrs = |a: &BTreeMap<String, String>| {
        if a.is_empty() {
            String::new()
        } else {
            serde_json::to_string(a).unwrap_or_default()
        }
    };
    match event.into() {
        Event::Unstructured(e) => {
            let severity = e.severity.as_str();
            let attributes = attrs(&e.attributes);
            macro_rules! emit {
                ($level:expr) => {
                    tracing::event!(target: EVENT_TARGET, $level, llm_telemetry.event = "unstructured_log",
                        severity, attributes = attributes.as_str(), "{}", e.message)
                };
            }
            // Below INFO the layer's level filter would discard the event: the
            // `severity` field carries the real level.
            match e.severity {
                Severity::Verbose | Severity::Debug | Severity::Info => emit!(Level::INFO),
                Severity::Warn => emit!(Level::WARN),
                Severity::Error | Severity::Critical => emit!(Level::ERROR),
            }
        }
        Event::Metric(e) => {
            tracing::event!(target: EVENT_TARGET, Level::INFO, llm_telemetry.event = "metric",
                metric = e.metric.as_str(), value = e.value, unit = e.unit.as_str(),
                attributes = attrs(&e.attributes).as_str())
        }
        Event::Structured(StructuredLogEvent::SpanStart {
            name,
            parent_span_id,
        }) => {
            tracing::event!(target: EVENT_TARGET, Level::INFO, llm_telemetry.event = "span_start",
                name = name.as_str(), parent_span_id = parent_span_id.as_deref())
        }
        Event::Structured(StructuredLogEvent::SpanEnd { status }) => {
            tracing::event!(target: EVENT_TARGET, Level::INFO, llm_telemetry.event = "span_end",
                status = status.as_str())
        }
    }
}
