//! [`MetricRecord`]: one metric measurement, as the metric sinks receive it.

use std::borrow::Cow;
use std::time::SystemTime;

use super::attr::Attributes;
use super::ids::{SpanId, TraceId};
use super::vocab::Instrument;

/// One metric measurement (one `add` or `record`).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRecord {
    /// OpenTelemetry instrument name, e.g. `llama_stack.prompt_tokens` or
    /// `gen_ai.client.token.usage`.
    pub name: Cow<'static, str>,
    /// Counter, histogram or gauge.
    pub instrument: Instrument,
    /// UCUM unit: `{token}` or `s` (owned when it comes from outside, e.g. OTLP).
    pub unit: Cow<'static, str>,
    /// The measurement (the sum of `count` of them for an aggregate).
    pub value: f64,
    /// How many measurements `value` sums: 1 for one `add` or `record`; an aggregate
    /// received from outside (an OTLP histogram point) sums more. Gauges: 1.
    pub count: u64,
    /// Labels (`model_id`, `provider_id`, `gen_ai.*`).
    pub attributes: Attributes,
    /// When it was measured.
    pub timestamp: SystemTime,
    /// The span that produced it.
    pub trace_id: Option<TraceId>,
    /// The span that produced it.
    pub span_id: Option<SpanId>,
}
