//! The wire format of [`log_event`](super::log_event): how an event travels as a `tracing`
//! event (target [`EVENT_TARGET`], its kind in the `llm_telemetry.event` field, the other
//! fields by name, extra attributes as one JSON object) — the encoder [`emit`] and the
//! decoder [`decode`] the layer calls, side by side so that they cannot drift apart.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{Event, StructuredLogEvent};
use crate::model::attr::{AttrValue, Attributes};
use crate::model::log::LogBody;
use crate::model::vocab::{Severity, SpanStatus};

/// `tracing` target of the events [`emit`] sends; the layer reads them back.
pub const EVENT_TARGET: &str = "llm_telemetry::event";

/// The field that carries the event's kind (`unstructured_log`, `metric`, `span_start`,
/// `span_end`); `tracing::event!` needs it spelled out as `llm_telemetry.event` in [`emit`].
const KIND_FIELD: &str = "llm_telemetry.event";

/// Emit `event` as a `tracing` event of [`EVENT_TARGET`] with the fields [`decode`] reads.
pub fn emit(event: Event) {
    use tracing::Level;
    let attrs = |a: &BTreeMap<String, String>| {
        if a.is_empty() {
            String::new()
        } else {
            serde_json::to_string(a).unwrap_or_default()
        }
    };
    match event {
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

/// The body of an event [`emit`] sent, from its message and fields (which are consumed:
/// what is left are the event's own attributes). `None` if it is not such an event.
pub fn decode(message: &mut Option<String>, attributes: &mut Attributes) -> Option<LogBody> {
    let mut take = |key: &str| {
        let i = attributes.iter().position(|(k, _)| k == key)?;
        Some(attributes.remove(i).1)
    };
    let kind = take(KIND_FIELD)?.to_string();
    let mut extra: Attributes = Vec::new();
    if let Some(AttrValue::Str(json)) = take("attributes") {
        if let Ok(map) = serde_json::from_str::<BTreeMap<String, String>>(&json) {
            extra.extend(
                map.into_iter()
                    .map(|(k, v)| (Cow::Owned(k), AttrValue::Str(v.into()))),
            );
        }
    }
    let body = match kind.as_str() {
        "metric" => LogBody::Metric {
            metric: take("metric").map(|v| v.to_string()).unwrap_or_default(),
            value: match take("value") {
                Some(AttrValue::F64(v)) => v,
                Some(AttrValue::U64(v)) => v as f64,
                Some(AttrValue::I64(v)) => v as f64,
                _ => f64::NAN,
            },
            unit: take("unit").map(|v| v.to_string()).unwrap_or_default(),
        },
        "span_start" => LogBody::SpanStart {
            name: take("name").map(|v| v.to_string()).unwrap_or_default(),
            parent_span_id: take("parent_span_id").and_then(|v| v.to_string().parse().ok()),
        },
        "span_end" => LogBody::SpanEnd {
            status: match take("status").and_then(|v| SpanStatus::from_name(&v.to_string())) {
                Some(SpanStatus::Ok) => SpanStatus::Ok,
                Some(SpanStatus::Error) => SpanStatus::Error,
                _ => SpanStatus::Unset,
            },
        },
        _ => LogBody::Unstructured {
            message: message.take().unwrap_or_default(),
            severity: take("severity")
                .and_then(|v| Severity::parse(&v.to_string()))
                .unwrap_or(Severity::Info),
        },
    };
    attributes.extend(extra);
    Some(body)
}
