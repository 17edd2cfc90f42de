//! The OTLP form of what the layer records: a [`SpanRecord`] (with its events) becomes the
//! SDK's `SpanData` with the same trace id, span id and parent, handed to the exporter
//! directly (no SDK tracer, so no second set of ids); attributes keep their types. Shared
//! by the live export, the backlog read back from the store, and the metric sink.

use std::borrow::Cow;

use opentelemetry::trace::{
    Event, SpanContext, SpanId as OtelSpanId, SpanKind as OtelSpanKind, Status, TraceFlags,
    TraceId as OtelTraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::model::attr::{AttrValue, Attributes};
use crate::model::log::{LogBody, LogRecord};
use crate::model::span::SpanRecord;
use crate::model::vocab::{SpanKind, SpanStatus};

/// The instrumentation scope of everything llm-telemetry exports.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("llm-telemetry")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// The OTLP form of one record.
pub(crate) fn span_data(
    record: &SpanRecord,
    derived_events: &[LogRecord],
    scope: &InstrumentationScope,
) -> SpanData {
    let span_context = SpanContext::new(
        OtelTraceId::from(record.trace_id.to_u128()),
        OtelSpanId::from(record.span_id.to_u64()),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let status = match record.status {
        SpanStatus::Unset => Status::Unset,
        SpanStatus::Ok => Status::Ok,
        SpanStatus::Error => Status::error(record.status_message.clone().unwrap_or_default()),
    };
    let mut events = SpanEvents::default();
    events.events = record
        .events
        .iter()
        .chain(derived_events)
        .map(event)
        .collect();
    SpanData {
        span_context,
        parent_span_id: record
            .parent_span_id
            .map_or(OtelSpanId::INVALID, |p| OtelSpanId::from(p.to_u64())),
        parent_span_is_remote: record.parent_is_remote,
        span_kind: span_kind(record.kind),
        name: Cow::Owned(record.name.clone()),
        start_time: record.start_time,
        end_time: record.end_time,
        attributes: key_values(&record.attributes),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    }
}

fn span_kind(kind: SpanKind) -> OtelSpanKind {
    match kind {
        SpanKind::Internal => OtelSpanKind::Internal,
        SpanKind::Client => OtelSpanKind::Client,
        SpanKind::Server => OtelSpanKind::Server,
        SpanKind::Producer => OtelSpanKind::Producer,
        SpanKind::Consumer => OtelSpanKind::Consumer,
    }
}

/// A typed OpenTelemetry value: integers stay integers (token counts), floats floats.
pub(crate) fn value(v: &AttrValue) -> Value {
    match v {
        AttrValue::Bool(b) => Value::Bool(*b),
        AttrValue::I64(i) => Value::I64(*i),
        AttrValue::U64(u) => match i64::try_from(*u) {
            Ok(i) => Value::I64(i),
            Err(_) => Value::String(u.to_string().into()),
        },
        AttrValue::F64(f) => Value::F64(*f),
        AttrValue::Str(s) => Value::String(String::from(s.as_str()).into()),
    }
}

pub(crate) fn key_values(attrs: &Attributes) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), value(v)))
        .collect()
}

/// A span's log or metric event as an OTLP span event: logs are named by their message
/// (with `level`), metric events `metric` (with `metric.name`, `metric.value`, `metric.unit`).
fn event(log: &LogRecord) -> Event {
    let mut attributes = Vec::with_capacity(log.attributes.len() + 3);
    let name: Cow<'static, str> = match &log.body {
        LogBody::Unstructured { message, severity } => {
            attributes.push(KeyValue::new("level", severity.as_str()));
            if message.is_empty() {
                Cow::Borrowed("log")
            } else {
                Cow::Owned(message.clone())
            }
        }
        LogBody::Metric {
            metric,
            value,
            unit,
        } => {
            attributes.push(KeyValue::new("metric.name", metric.clone()));
            attributes.push(KeyValue::new("metric.value", *value));
            attributes.push(KeyValue::new("metric.unit", unit.clone()));
            Cow::Borrowed("metric")
        }
        LogBody::SpanStart {
            name,
            parent_span_id,
        } => {
            attributes.push(KeyValue::new("span.name", name.clone()));
            if let Some(p) = parent_span_id {
                attributes.push(KeyValue::new("parent_span_id", p.to_string()));
            }
            Cow::Borrowed("span_start")
        }
        LogBody::SpanEnd { status } => {
            attributes.push(KeyValue::new("status", status.as_str()));
            Cow::Borrowed("span_end")
        }
    };
    attributes.extend(key_values(&log.attributes));
    Event::new(name, log.timestamp, attributes, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::{SpanId, TraceId};
    use crate::model::vocab::{Severity, SpanCategory};
    use std::time::{Duration, SystemTime};

    #[test]
    fn records_keep_their_ids_kind_status_attributes_and_events() {
        let trace_id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
        let span_id: SpanId = "00f067aa0ba902b7".parse().unwrap();
        let parent: SpanId = "1111111111111111".parse().unwrap();
        let now = SystemTime::now();
        let record = SpanRecord {
            trace_id,
            span_id,
            parent_span_id: Some(parent),
            parent_is_remote: true,
            kind: SpanKind::Client,
            category: SpanCategory::Inference,
            start_time: now,
            end_time: now + Duration::from_millis(5),
            status: SpanStatus::Error,
            status_message: Some("boom".into()),
            attributes: vec![
                ("gen_ai.request.model".into(), AttrValue::Str("m".into())),
                ("gen_ai.usage.input_tokens".into(), AttrValue::U64(10)),
                ("ratio".into(), AttrValue::F64(0.5)),
            ],
            events: vec![LogRecord {
                timestamp: now,
                trace_id: Some(trace_id),
                span_id: Some(span_id),
                body: LogBody::Unstructured {
                    message: "hello".into(),
                    severity: Severity::Warn,
                },
                attributes: vec![],
            }],
            ..SpanRecord::test("chat m")
        };
        let data = span_data(&record, &[], &scope());
        assert_eq!(
            data.span_context.trace_id().to_string(),
            trace_id.to_string()
        );
        assert_eq!(data.span_context.span_id().to_string(), span_id.to_string());
        assert_eq!(data.parent_span_id.to_string(), parent.to_string());
        assert!(data.parent_span_is_remote);
        assert_eq!(data.span_kind, OtelSpanKind::Client);
        assert_eq!(data.status, Status::error("boom"));
        assert_eq!(data.name, "chat m");
        assert!(data
            .attributes
            .contains(&KeyValue::new("gen_ai.usage.input_tokens", 10i64)));
        assert!(data.attributes.contains(&KeyValue::new("ratio", 0.5)));
        assert_eq!(data.events.events[0].name, "hello");
        assert!(data.events.events[0]
            .attributes
            .contains(&KeyValue::new("level", "warn")));
    }
}
