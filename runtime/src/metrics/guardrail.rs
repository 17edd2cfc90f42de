//! What a guardrail span that found a violation yields: one point of llama-stack's
//! `{ns}.guardrail_violations` counter (Prometheus `{ns}_guardrail_violations_total`),
//! labelled with the shield and the violation's level.

use std::borrow::Cow;

use super::inference::InferenceMetrics;
use super::instruments::VIOLATION_UNIT;
use crate::model::attr::{AttrStr, AttrValue};
use crate::model::metric::MetricRecord;
use crate::model::semconv::{guardrail_violated, GUARDRAIL_SHIELD, GUARDRAIL_VIOLATION_LEVEL};
use crate::model::span::SpanRecord;
use crate::model::vocab::Instrument;

impl InferenceMetrics {
    /// The points of a finished guardrail span: one `{ns}.guardrail_violations` increment,
    /// labels `shield` and `level` (each when the span recorded it), when the span says
    /// `llm_telemetry.guardrail.violated = true`; none otherwise.
    pub fn measure_guardrail(&self, span: &SpanRecord) -> Vec<MetricRecord> {
        if !guardrail_violated(&span.attributes) {
            return Vec::new();
        }
        let attributes = [
            ("shield", GUARDRAIL_SHIELD),
            ("level", GUARDRAIL_VIOLATION_LEVEL),
        ]
        .into_iter()
        .filter_map(|(label, key)| {
            let value = span.attr(key)?;
            Some((
                Cow::Borrowed(label),
                AttrValue::Str(AttrStr::format(format_args!("{value}"))),
            ))
        })
        .collect();
        vec![MetricRecord {
            name: Cow::Borrowed(self.guardrail_violations),
            instrument: Instrument::Counter,
            count: 1,
            unit: Cow::Borrowed(VIOLATION_UNIT),
            value: 1.0,
            attributes,
            timestamp: span.end_time,
            trace_id: Some(span.trace_id),
            span_id: Some(span.span_id),
        }]
    }
}
