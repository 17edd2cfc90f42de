//! [`InferenceMetrics`]: the metric points of one finished inference span — llama-stack's
//! token counters, the `{ns}.cost` counter (USD, when the span has a `gen_ai.usage.cost`)
//! and the GenAI semantic-convention histograms, a stream's time to first
//! chunk and time per output chunk ([`stream_points`]) — derived from the span record on the
//! sink's thread that wants them.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use super::instruments::{
    cost_counter, guardrail_violations, llama_stack_counters, COST_UNIT, OPERATION_DURATION,
    OPERATION_TIME_PER_OUTPUT_CHUNK, OPERATION_TIME_TO_FIRST_CHUNK, SECONDS_UNIT, TOKEN_UNIT,
    TOKEN_USAGE,
};
use crate::model::attr::{attr, AttrStr, AttrValue, Attributes};
use crate::model::ids::{SpanId, TraceId};
use crate::model::metric::MetricRecord;
use crate::model::semconv::{
    usage_of, ERROR_TYPE, OPERATION_NAME, PROVIDER_NAME, REQUEST_MODEL, RESPONSE_MODEL,
    TIME_TO_FIRST_CHUNK, TOKEN_TYPE, USAGE_COST,
};
use crate::model::span::SpanRecord;
use crate::model::usage::Usage;
use crate::model::vocab::Instrument;

/// Builds the measurements of one finished inference span (and of a guardrail span that
/// found a violation, [`InferenceMetrics::measure_guardrail`]), with the counter names of
/// one namespace.
#[derive(Debug)]
pub struct InferenceMetrics {
    pub(super) prompt_tokens: &'static str,
    pub(super) completion_tokens: &'static str,
    pub(super) total_tokens: &'static str,
    pub(super) guardrail_violations: &'static str,
    pub(super) cost: &'static str,
}

/// `name`, leaked once per distinct name, so that every point borrows its instrument name
/// instead of allocating a copy (three per inference). A process uses one namespace, or a
/// few in tests: the set stays tiny.
fn intern(name: String) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

impl InferenceMetrics {
    /// The metrics of namespace `namespace` (`TELEMETRY_METRIC_NAMESPACE`).
    pub fn new(namespace: &str) -> Self {
        let [prompt, completion, total] = llama_stack_counters(namespace);
        InferenceMetrics {
            prompt_tokens: intern(prompt),
            completion_tokens: intern(completion),
            total_tokens: intern(total),
            guardrail_violations: intern(guardrail_violations(namespace)),
            cost: intern(cost_counter(namespace)),
        }
    }

    /// The points of a finished inference span: its [`Self::measure_call`] points, then a
    /// stream's [`stream_points`].
    pub fn measure_span(&self, span: &SpanRecord) -> Vec<MetricRecord> {
        let mut points = self.measure_call(span);
        points.extend(stream_points(span));
        points
    }

    /// The points every finished inference span has: those of [`Self::measure`] with the
    /// usage, duration and end time read from the record.
    pub fn measure_call(&self, span: &SpanRecord) -> Vec<MetricRecord> {
        self.measure(
            &span.attributes,
            usage_of(&span.attributes),
            duration_of(span),
            span.end_time,
            span.trace_id,
            span.span_id,
        )
    }

    /// Counters (tokens when usage is known, cost when the span has one) and histograms of
    /// one inference.
    pub fn measure(
        &self,
        span_attrs: &Attributes,
        usage: Option<Usage>,
        duration: Duration,
        at: SystemTime,
        trace_id: TraceId,
        span_id: SpanId,
    ) -> Vec<MetricRecord> {
        let point =
            |name: Cow<'static, str>, instrument, unit, value: f64, attributes| MetricRecord {
                name,
                instrument,
                count: 1,
                unit: Cow::Borrowed(unit),
                value,
                attributes,
                timestamp: at,
                trace_id: Some(trace_id),
                span_id: Some(span_id),
            };
        let cost = cost_of(span_attrs);
        let (values, n) = point_values(usage, cost, duration);
        let mut out = Vec::with_capacity(n);
        let genai = genai_labels(span_attrs);
        let labels = llama_stack_labels(span_attrs);
        if usage.is_some() {
            out.push(point(
                Cow::Borrowed(self.prompt_tokens),
                Instrument::Counter,
                TOKEN_UNIT,
                values[0],
                labels.clone(),
            ));
            out.push(point(
                Cow::Borrowed(self.completion_tokens),
                Instrument::Counter,
                TOKEN_UNIT,
                values[1],
                labels.clone(),
            ));
            out.push(point(
                Cow::Borrowed(self.total_tokens),
                Instrument::Counter,
                TOKEN_UNIT,
                values[2],
                labels.clone(),
            ));
            for (token_type, value) in [("input", values[3]), ("output", values[4])] {
                let mut labels = genai.clone();
                labels.push((Cow::Borrowed(TOKEN_TYPE), AttrValue::Str(token_type.into())));
                out.push(point(
                    Cow::Borrowed(TOKEN_USAGE),
                    Instrument::Histogram,
                    TOKEN_UNIT,
                    value,
                    labels,
                ));
            }
        }
        let duration_at = if usage.is_some() { 5 } else { 0 };
        out.push(point(
            Cow::Borrowed(OPERATION_DURATION),
            Instrument::Histogram,
            SECONDS_UNIT,
            values[duration_at],
            genai,
        ));
        if cost.is_some() {
            out.push(point(
                Cow::Borrowed(self.cost),
                Instrument::Counter,
                COST_UNIT,
                values[n - 1],
                labels,
            ));
        }
        out
    }
}

/// A streamed inference's points: one `gen_ai.client.operation.time_to_first_chunk` when
/// the span recorded `gen_ai.response.time_to_first_chunk`, then one
/// `gen_ai.client.operation.time_per_output_chunk` per chunk interval, all labelled with the
/// GenAI attributes but `error.type` (the conventions list none for these two). Nothing for
/// an inference that was not streamed.
pub fn stream_points(span: &SpanRecord) -> impl Iterator<Item = MetricRecord> + '_ {
    let first = span.attr(TIME_TO_FIRST_CHUNK).and_then(AttrValue::as_f64);
    let labels = if first.is_some() || !span.chunk_intervals.is_empty() {
        stream_labels(&span.attributes)
    } else {
        Vec::new()
    };
    let point = move |name: &'static str, value: f64| MetricRecord {
        name: Cow::Borrowed(name),
        instrument: Instrument::Histogram,
        count: 1,
        unit: Cow::Borrowed(SECONDS_UNIT),
        value,
        attributes: labels.clone(),
        timestamp: span.end_time,
        trace_id: Some(span.trace_id),
        span_id: Some(span.span_id),
    };
    let first = first.map(|v| point(OPERATION_TIME_TO_FIRST_CHUNK, v));
    first.into_iter().chain(
        span.chunk_intervals
            .iter()
            .map(move |&v| point(OPERATION_TIME_PER_OUTPUT_CHUNK, f64::from(v))),
    )
}

fn text(attrs: &Attributes, key: &str) -> Option<AttrValue> {
    attr(attrs, key).map(|v| AttrValue::Str(AttrStr::format(format_args!("{v}"))))
}

/// `model_id` and `provider_id`, llama-stack's labels.
pub(super) fn llama_stack_labels(attrs: &Attributes) -> Attributes {
    let mut labels = Vec::with_capacity(2);
    if let Some(v) = text(attrs, REQUEST_MODEL) {
        labels.push((Cow::Borrowed("model_id"), v));
    }
    if let Some(v) = text(attrs, PROVIDER_NAME) {
        labels.push((Cow::Borrowed("provider_id"), v));
    }
    labels
}

/// The span attributes an inference's labels are made of: the GenAI metric attributes
/// (the llama-stack labels are two of them); `error.type` last, as the stream histograms
/// take all but it.
const LABEL_SOURCES: [&str; 5] = [
    OPERATION_NAME,
    PROVIDER_NAME,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    ERROR_TYPE,
];

/// The GenAI metric attributes, copied from the span.
fn genai_labels(attrs: &Attributes) -> Attributes {
    labels_from(attrs, &LABEL_SOURCES)
}

/// The GenAI metric attributes of the stream histograms: all but `error.type`.
fn stream_labels(attrs: &Attributes) -> Attributes {
    labels_from(attrs, &LABEL_SOURCES[..4])
}

fn labels_from(attrs: &Attributes, keys: &[&'static str]) -> Attributes {
    keys.iter()
        .filter_map(|&k| text(attrs, k).map(|v| (Cow::Borrowed(k), v)))
        .collect()
}

/// What an inference's points are labelled with, before formatting: two inferences with
/// equal sources (and usage known or not on both) have points in the same series.
pub fn label_sources(attrs: &Attributes) -> [Option<&AttrValue>; 5] {
    LABEL_SOURCES.map(|k| attr(attrs, k))
}

/// The duration an inference's `gen_ai.client.operation.duration` point records.
pub fn duration_of(span: &SpanRecord) -> Duration {
    span.end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
}

/// An inference's `gen_ai.usage.cost` (USD), the value of its `{ns}.cost` point.
pub fn cost_of(attrs: &Attributes) -> Option<f64> {
    attr(attrs, USAGE_COST)
        .and_then(AttrValue::as_f64)
        .filter(|c| c.is_finite() && *c >= 0.0)
}

/// The values of the points [`InferenceMetrics::measure`] builds, in its order, and how
/// many there are: prompt, completion and total tokens, input and output tokens, duration
/// in seconds (6) when usage is known, the duration alone (1) otherwise; then the cost in
/// USD when there is one (7, or 2).
pub fn point_values(
    usage: Option<Usage>,
    cost: Option<f64>,
    duration: Duration,
) -> ([f64; 7], usize) {
    let seconds = duration.as_secs_f64();
    let (mut values, n) = match usage {
        Some(u) => (
            [
                u.prompt_tokens as f64,
                u.completion_tokens as f64,
                u.total() as f64,
                u.prompt_tokens as f64,
                u.completion_tokens as f64,
                seconds,
                0.0,
            ],
            6,
        ),
        None => ([seconds, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 1),
    };
    match cost {
        Some(c) => {
            values[n] = c;
            (values, n + 1)
        }
        None => (values, n),
    }
}
