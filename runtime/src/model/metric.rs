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
    /// The measurement.
    pub value: f64,
    /// Labels (`model_id`, `provider_id`, `gen_ai.*`).
    pub attributes: Attributes,
    /// When it was measured.
    pub timestamp: SystemTime,
    /// The span that produced it.
    pub trace_id: Option<TraceId>,
    /// The span that produced it.
    pub span_id: Option<SpanId>,
}
