//! An OTLP logs export as log records: a log with a trace context (a valid trace and span
//! id) becomes a log of that span, any other a free log. The body is the message (a
//! structured body as its JSON text), the severity number (or text) the severity; the
//! resource's `service.name` and the scope are kept as attributes.

use std::time::SystemTime;

use llm_telemetry::ingest::{AttrValue, Attributes, LogBody, LogRecord};
use llm_telemetry::Severity;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

use super::values::{
    attr_value, push_attributes, service_name, span_id, time, trace_id, SCOPE_NAME,
};
use super::Converted;

/// The logs of `request`.
pub fn convert(request: ExportLogsServiceRequest) -> Converted<LogRecord> {
    let now = SystemTime::now();
    let mut out = Converted::default();
    for resource_logs in request.resource_logs {
        let service = service_name(resource_logs.resource.as_ref()).to_owned();
        for scope_logs in resource_logs.scope_logs {
            let scope = scope_logs.scope.as_ref().map(|s| s.name.as_str());
            for log in scope_logs.log_records {
                let mut attributes: Attributes = Vec::with_capacity(log.attributes.len() + 2);
                push_attributes(&log.attributes, &mut attributes);
                attributes.push(("service.name".into(), AttrValue::from(service.as_str())));
                if let Some(scope) = scope.filter(|s| !s.is_empty()) {
                    attributes.push((SCOPE_NAME.into(), AttrValue::from(scope)));
                }
                let message = match log.body.as_ref().and_then(attr_value) {
                    Some(AttrValue::Str(s)) => String::from(s.as_str()),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                let (trace, span) = (trace_id(&log.trace_id), span_id(&log.span_id));
                let (trace, span) = match (trace, span) {
                    (Some(t), Some(s)) => (Some(t), Some(s)),
                    _ => (None, None),
                };
                let observed = time(log.observed_time_unix_nano, now);
                out.records.push(LogRecord {
                    timestamp: time(log.time_unix_nano, observed),
                    trace_id: trace,
                    span_id: span,
                    body: LogBody::Unstructured {
                        message,
                        severity: severity(log.severity_number, &log.severity_text),
                    },
                    attributes,
                });
            }
        }
    }
    out
}

/// OTLP's severity numbers (1-4 trace ... 21-24 fatal) as llama-stack's levels; without
/// a number, the text; without either, info.
fn severity(number: i32, text: &str) -> Severity {
    match number {
        1..=4 => Severity::Verbose,
        5..=8 => Severity::Debug,
        9..=12 => Severity::Info,
        13..=16 => Severity::Warn,
        17..=20 => Severity::Error,
        21.. => Severity::Critical,
        _ => Severity::parse(&text.to_ascii_lowercase()).unwrap_or(Severity::Info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_numbers_map_to_levels() {
        assert_eq!(severity(9, ""), Severity::Info);
        assert_eq!(severity(13, ""), Severity::Warn);
        assert_eq!(severity(17, "whatever"), Severity::Error);
        assert_eq!(severity(24, ""), Severity::Critical);
        assert_eq!(severity(0, "WARNING"), Severity::Warn);
        assert_eq!(severity(0, ""), Severity::Info);
    }
}
