//! An OTLP trace export as span records: ids as the store writes them, parent, name,
//! kind, status and its message, typed attributes, events as span logs, links and the
//! instrumentation scope kept in the attributes, the resource's `service.name` as the
//! span's service, and the span classified by its GenAI attributes whichever convention
//! they follow ([`recognise_genai`]).
//!
//! A span without a valid trace or span id is rejected (counted, with the reason, for the
//! export's partial success), never stored under an invented id.

use std::time::SystemTime;

use llm_telemetry::ingest::{
    recognise_genai, AttrValue, Attributes, LogBody, LogRecord, SpanCategory, SpanKind, SpanRecord,
};
use llm_telemetry::{Severity, SpanStatus};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span, status::StatusCode, Span};

use super::values::{
    push_attributes, service_name, span_id, string_attr, take_attributes, time, trace_id,
    SCOPE_NAME, SCOPE_VERSION,
};
use super::Converted;

/// The attribute that keeps a span's links, as a JSON array of
/// `{"trace_id", "span_id", "attributes"}`.
pub const LINKS: &str = "otel.links";

/// The token `MetricEvent`s the store derives from every inference span (an exporter that
/// sent them as span events would have them counted twice).
const DERIVED_TOKEN_EVENTS: [&str; 3] = ["prompt_tokens", "completion_tokens", "total_tokens"];

/// `SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK` and `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// The spans of `request`.
pub fn convert(request: ExportTraceServiceRequest) -> Converted<SpanRecord> {
    let now = SystemTime::now();
    let mut out = Converted::default();
    for resource_spans in request.resource_spans {
        let service: std::sync::Arc<str> = service_name(resource_spans.resource.as_ref()).into();
        for scope_spans in resource_spans.scope_spans {
            let mut scope_attrs: Attributes = Vec::new();
            if let Some(scope) = &scope_spans.scope {
                if !scope.name.is_empty() {
                    scope_attrs.push((SCOPE_NAME.into(), AttrValue::from(scope.name.as_str())));
                }
                if !scope.version.is_empty() {
                    scope_attrs.push((
                        SCOPE_VERSION.into(),
                        AttrValue::from(scope.version.as_str()),
                    ));
                }
            }
            for span in scope_spans.spans {
                match record(span, &service, &scope_attrs, now) {
                    Ok(record) => out.records.push(record),
                    Err(why) => out.reject(why),
                }
            }
        }
    }
    out
}

fn record(
    mut span: Span,
    service: &std::sync::Arc<str>,
    scope_attrs: &Attributes,
    now: SystemTime,
) -> Result<SpanRecord, String> {
    let trace = trace_id(&span.trace_id).ok_or_else(|| {
        format!(
            "span {:?}: its trace_id is not 16 bytes, or is all zero",
            span.name
        )
    })?;
    let id = span_id(&span.span_id).ok_or_else(|| {
        format!(
            "span {:?}: its span_id is not 8 bytes, or is all zero",
            span.name
        )
    })?;
    let parent = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(span_id(&span.parent_span_id).ok_or_else(|| {
            format!(
                "span {:?}: its parent_span_id is not 8 bytes, or is all zero",
                span.name
            )
        })?)
    };
    let mut attributes: Attributes =
        Vec::with_capacity(span.attributes.len() + scope_attrs.len() + 1);
    take_attributes(std::mem::take(&mut span.attributes), &mut attributes);
    attributes.extend(scope_attrs.iter().cloned());
    if !span.links.is_empty() {
        attributes.push((LINKS.into(), AttrValue::from(links(&span.links).as_str())));
    }
    let category = recognise_genai(&mut attributes);
    let start_time = time(span.start_time_unix_nano, now);
    let end_time = time(span.end_time_unix_nano, start_time).max(start_time);
    let (status, status_message) = match span.status.as_ref() {
        Some(s) if s.code == StatusCode::Error as i32 => (
            SpanStatus::Error,
            (!s.message.is_empty()).then(|| s.message.clone()),
        ),
        Some(s) if s.code == StatusCode::Ok as i32 => (SpanStatus::Ok, None),
        _ => (SpanStatus::Unset, None),
    };
    let events = span
        .events
        .iter()
        .filter_map(|e| event(e, trace, id, category, start_time))
        .collect();
    Ok(SpanRecord {
        trace_id: trace,
        span_id: id,
        parent_span_id: parent,
        parent_is_remote: span.flags & HAS_IS_REMOTE != 0 && span.flags & IS_REMOTE != 0,
        name: span.name,
        kind: kind(span.kind),
        category,
        start_time,
        end_time,
        status,
        status_message,
        attributes,
        events,
        chunk_intervals: Vec::new(),
        service_name: service.clone(),
    })
}

fn kind(kind: i32) -> SpanKind {
    match span::SpanKind::try_from(kind) {
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

/// A span event as a span log: an `exception` is an error log with its message, a
/// `metric` event (as our `otel_trace` sink writes llama-stack `MetricEvent`s) a metric
/// log, any other a log named by the event with the severity of its `level` attribute.
fn event(
    e: &span::Event,
    trace: llm_telemetry::TraceId,
    span: llm_telemetry::SpanId,
    category: SpanCategory,
    start: SystemTime,
) -> Option<LogRecord> {
    let mut attributes: Attributes = Vec::with_capacity(e.attributes.len());
    push_attributes(&e.attributes, &mut attributes);
    let text = |k: &str| string_attr(&e.attributes, k);
    let body = if e.name == "metric" && text("metric.name").is_some() {
        let metric = text("metric.name").unwrap_or_default().to_owned();
        if category == SpanCategory::Inference && DERIVED_TOKEN_EVENTS.contains(&metric.as_str()) {
            return None;
        }
        let value = attributes
            .iter()
            .find(|(k, _)| k == "metric.value")
            .and_then(|(_, v)| v.as_f64())
            .unwrap_or(f64::NAN);
        let unit = text("metric.unit").unwrap_or_default().to_owned();
        attributes.retain(|(k, _)| !k.starts_with("metric."));
        LogBody::Metric {
            metric,
            value,
            unit,
        }
    } else if e.name == "exception" {
        let message = text("exception.message")
            .or(text("exception.type"))
            .unwrap_or("exception")
            .to_owned();
        LogBody::Unstructured {
            message,
            severity: Severity::Error,
        }
    } else {
        let severity = text("level")
            .and_then(Severity::parse)
            .unwrap_or(Severity::Info);
        attributes.retain(|(k, _)| k != "level");
        LogBody::Unstructured {
            message: e.name.clone(),
            severity,
        }
    };
    Some(LogRecord {
        timestamp: time(e.time_unix_nano, start),
        trace_id: Some(trace),
        span_id: Some(span),
        body,
        attributes,
    })
}

/// Links as a JSON array (ids in hex, attributes as an object).
fn links(links: &[span::Link]) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let array: Vec<serde_json::Value> = links
        .iter()
        .map(|l| {
            let mut attrs: Attributes = Vec::new();
            push_attributes(&l.attributes, &mut attrs);
            let attrs: serde_json::Map<String, serde_json::Value> = attrs
                .into_iter()
                .map(|(k, v)| (k.into_owned(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            serde_json::json!({
                "trace_id": hex(&l.trace_id),
                "span_id": hex(&l.span_id),
                "attributes": attrs,
            })
        })
        .collect();
    serde_json::Value::Array(array).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            key_strindex: 0,
            value: Some(AnyValue { value: Some(v) }),
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv(
                        "service.name",
                        any_value::Value::StringValue("py-agent".into()),
                    )],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(
                        opentelemetry_proto::tonic::common::v1::InstrumentationScope {
                            name: "openinference.instrumentation.openai".into(),
                            ..Default::default()
                        },
                    ),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    #[test]
    fn an_openinference_llm_span_becomes_an_inference_with_current_names() {
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![3; 8],
            name: "ChatCompletion".into(),
            kind: span::SpanKind::Client as i32,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_500_000_000,
            attributes: vec![
                kv(
                    "openinference.span.kind",
                    any_value::Value::StringValue("LLM".into()),
                ),
                kv(
                    "llm.model_name",
                    any_value::Value::StringValue("gpt-4o".into()),
                ),
                kv("llm.token_count.prompt", any_value::Value::IntValue(11)),
            ],
            events: vec![span::Event {
                time_unix_nano: 1_700_000_000_100_000_000,
                name: "exception".into(),
                attributes: vec![kv(
                    "exception.message",
                    any_value::Value::StringValue("rate limited".into()),
                )],
                dropped_attributes_count: 0,
            }],
            status: Some(Status {
                code: StatusCode::Error as i32,
                message: "rate limited".into(),
            }),
            ..Default::default()
        };
        let out = convert(request(vec![span]));
        assert_eq!(out.rejected, 0);
        let s = &out.records[0];
        assert_eq!(s.category, SpanCategory::Inference);
        assert_eq!(s.kind, SpanKind::Client);
        assert_eq!(&*s.service_name, "py-agent");
        assert_eq!(s.status, SpanStatus::Error);
        assert_eq!(s.status_message.as_deref(), Some("rate limited"));
        assert_eq!(s.parent_span_id, span_id(&[3; 8]));
        let get = |k: &str| {
            s.attributes
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v)
        };
        assert_eq!(get("gen_ai.usage.input_tokens"), Some(&AttrValue::I64(11)));
        assert_eq!(
            get(SCOPE_NAME),
            Some(&AttrValue::from("openinference.instrumentation.openai"))
        );
        assert!(matches!(
            &s.events[0].body,
            LogBody::Unstructured { message, severity: Severity::Error } if message == "rate limited"
        ));
    }

    #[test]
    fn spans_with_bad_ids_are_rejected_with_a_reason() {
        let good = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "ok".into(),
            ..Default::default()
        };
        let bad = Span {
            trace_id: vec![0; 16],
            span_id: vec![2; 8],
            name: "zero".into(),
            ..Default::default()
        };
        let out = convert(request(vec![good, bad]));
        assert_eq!((out.records.len(), out.rejected), (1, 1));
        assert!(out.error.unwrap().contains("\"zero\""));
    }
}
