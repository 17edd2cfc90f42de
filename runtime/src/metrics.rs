//! The metrics every inference emits: llama-stack's token counters and the GenAI
//! semantic-convention histograms.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use crate::ids::{SpanId, TraceId};
use crate::record::{
    attr, AttrStr, AttrValue, Attributes, Instrument, LogBody, LogRecord, MetricRecord,
};
use crate::usage::Usage;

/// `gen_ai.client.token.usage` bucket boundaries (semantic conventions): 1, 4, 16, ... 4^13.
pub const TOKEN_USAGE_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// `gen_ai.client.operation.duration` bucket boundaries in seconds (semantic conventions).
pub const OPERATION_DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// GenAI histogram of tokens per call.
pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// GenAI histogram of call duration.
pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";

/// Builds the measurements of one finished inference span.
#[derive(Debug)]
pub(crate) struct InferenceMetrics {
    prompt_tokens: &'static str,
    completion_tokens: &'static str,
    total_tokens: &'static str,
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
    pub fn new(namespace: &str) -> Self {
        InferenceMetrics {
            prompt_tokens: intern(format!("{namespace}.prompt_tokens")),
            completion_tokens: intern(format!("{namespace}.completion_tokens")),
            total_tokens: intern(format!("{namespace}.tokens")),
        }
    }

    /// The points of a finished inference span: the same as [`Self::measure`] with the
    /// usage, duration and end time read from the record.
    pub fn measure_span(&self, span: &crate::record::SpanRecord) -> Vec<MetricRecord> {
        self.measure(
            &span.attributes,
            crate::layer::usage_of(&span.attributes),
            duration_of(span),
            span.end_time,
            span.trace_id,
            span.span_id,
        )
    }

    /// Counters (when usage is known) and histograms of one inference.
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
                unit,
                value,
                attributes,
                timestamp: at,
                trace_id: Some(trace_id),
                span_id: Some(span_id),
            };
        let (values, n) = point_values(usage, duration);
        let mut out = Vec::with_capacity(n);
        let genai = genai_labels(span_attrs);
        if usage.is_some() {
            let labels = llama_stack_labels(span_attrs);
            out.push(point(
                Cow::Borrowed(self.prompt_tokens),
                Instrument::Counter,
                "{token}",
                values[0],
                labels.clone(),
            ));
            out.push(point(
                Cow::Borrowed(self.completion_tokens),
                Instrument::Counter,
                "{token}",
                values[1],
                labels.clone(),
            ));
            out.push(point(
                Cow::Borrowed(self.total_tokens),
                Instrument::Counter,
                "{token}",
                values[2],
                labels,
            ));
            for (token_type, value) in [("input", values[3]), ("output", values[4])] {
                let mut labels = genai.clone();
                labels.push((
                    Cow::Borrowed("gen_ai.token.type"),
                    AttrValue::Str(token_type.into()),
                ));
                out.push(point(
                    Cow::Borrowed(TOKEN_USAGE),
                    Instrument::Histogram,
                    "{token}",
                    value,
                    labels,
                ));
            }
        }
        out.push(point(
            Cow::Borrowed(OPERATION_DURATION),
            Instrument::Histogram,
            "s",
            values[n - 1],
            genai,
        ));
        out
    }

    /// The `MetricEvent`s of a finished inference span, read from the record: none when
    /// it reported no usage.
    pub fn token_events_of(&self, span: &crate::record::SpanRecord) -> Vec<LogRecord> {
        match crate::layer::usage_of(&span.attributes) {
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

fn text(attrs: &Attributes, key: &str) -> Option<AttrValue> {
    attr(attrs, key).map(|v| AttrValue::Str(AttrStr::format(format_args!("{v}"))))
}

/// `model_id` and `provider_id`, llama-stack's labels.
fn llama_stack_labels(attrs: &Attributes) -> Attributes {
    let mut labels = Vec::with_capacity(2);
    if let Some(v) = text(attrs, "gen_ai.request.model") {
        labels.push((Cow::Borrowed("model_id"), v));
    }
    if let Some(v) = text(attrs, "gen_ai.provider.name") {
        labels.push((Cow::Borrowed("provider_id"), v));
    }
    labels
}

/// The span attributes an inference's labels are made of: the GenAI metric attributes
/// (the llama-stack labels are two of them).
const LABEL_SOURCES: [&str; 5] = [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "error.type",
];

/// The GenAI metric attributes, copied from the span.
fn genai_labels(attrs: &Attributes) -> Attributes {
    LABEL_SOURCES
        .into_iter()
        .filter_map(|k| text(attrs, k).map(|v| (Cow::Borrowed(k), v)))
        .collect()
}

/// What an inference's points are labelled with, before formatting: two inferences with
/// equal sources (and usage known or not on both) have points in the same series.
pub(crate) fn label_sources(attrs: &Attributes) -> [Option<&AttrValue>; 5] {
    LABEL_SOURCES.map(|k| attr(attrs, k))
}

/// The duration an inference's `gen_ai.client.operation.duration` point records.
pub(crate) fn duration_of(span: &crate::record::SpanRecord) -> Duration {
    span.end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
}

/// The values of the points [`InferenceMetrics::measure`] builds, in its order, and how
/// many there are: prompt, completion and total tokens, input and output tokens, duration
/// in seconds (6) when usage is known; the duration alone (1) otherwise.
pub(crate) fn point_values(usage: Option<Usage>, duration: Duration) -> ([f64; 6], usize) {
    let seconds = duration.as_secs_f64();
    match usage {
        Some(u) => (
            [
                u.prompt_tokens as f64,
                u.completion_tokens as f64,
                u.total() as f64,
                u.prompt_tokens as f64,
                u.completion_tokens as f64,
                seconds,
            ],
            6,
        ),
        None => ([seconds, 0.0, 0.0, 0.0, 0.0, 0.0], 1),
    }
}
