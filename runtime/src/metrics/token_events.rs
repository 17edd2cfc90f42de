//! llama-stack's per-inference token `MetricEvent`s (`prompt_tokens`, `completion_tokens`,
//! `total_tokens`), derived from the span record: the console line, the OTLP span events and
//! the store's `span_events` view show them.

use std::time::SystemTime;

use super::inference::{llama_stack_labels, InferenceMetrics};
use crate::model::attr::Attributes;
use crate::model::ids::{SpanId, TraceId};
use crate::model::log::{LogBody, LogRecord};
use crate::model::semconv::usage_of;
use crate::model::span::SpanRecord;
use crate::model::usage::Usage;

impl InferenceMetrics {
    /// The `MetricEvent`s of a finished inference span, read from the record: none when
    /// it reported no usage.
    pub fn token_events_of(&self, span: &SpanRecord) -> Vec<LogRecord> {
        match usage_of(&span.attributes) {
            Some(usage) => self
                .token_events(
                    &span.attributes,
                    usage,
                    span.end_time,
                    span.trace_id,
                    span.span_id,
                )
                .collect(),
            None => Vec::new(),
        }
    }

    /// llama-stack's per-inference `MetricEvent`s, logged on the inference span.
    pub fn token_events(
        &self,
        span_attrs: &Attributes,
        usage: Usage,
        at: SystemTime,
        trace_id: TraceId,
        span_id: SpanId,
    ) -> impl Iterator<Item = LogRecord> {
        let labels = llama_stack_labels(span_attrs);
        [
            ("prompt_tokens", usage.prompt_tokens),
            ("completion_tokens", usage.completion_tokens),
            ("total_tokens", usage.total()),
        ]
        .into_iter()
        .map(move |(metric, value)| LogRecord {
            timestamp: at,
            trace_id: Some(trace_id),
            span_id: Some(span_id),
            body: LogBody::Metric {
                metric: metric.to_owned(),
                value: value as f64,
                unit: "tokens".to_owned(),
            },
            attributes: labels.clone(),
        })
    }
}
