//! What the web viewer's summaries read from the store: a trace's cost and models
//! ([`TraceCost`]), the values to filter traces by ([`TraceFacets`]), activity over time
//! ([`Timeline`], [`TimelineBucket`], [`ModelBucket`]) and the slowest spans
//! ([`SlowSpan`]). Each is `serde`-serialisable, as the JSON routes of `llm-trace serve`
//! send them.

use serde::{Deserialize, Serialize};

/// The cost and the models of one trace's inference spans
/// ([`TraceStore::trace_costs`](super::super::TraceStore::trace_costs)).
///
/// ```no_run
/// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// for c in store.trace_costs(&["4bf92f3577b34da6a3ce929d0e0e4736"])? {
///     println!("{} {:?} {:?}", c.trace_id, c.cost, c.models);
/// }
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TraceCost {
    /// The trace.
    pub trace_id: String,
    /// `gen_ai.usage.cost` (USD) summed over its inference spans; `None` when none has one.
    pub cost: Option<f64>,
    /// The distinct `gen_ai.request.model`s of its inference spans, sorted.
    pub models: Vec<String>,
    /// Its inference spans.
    pub inference_calls: u64,
}

/// The values the trace list can be filtered by
/// ([`TraceStore::trace_facets`](super::super::TraceStore::trace_facets)).
///
/// ```no_run
/// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// let facets = store.trace_facets(None)?;
/// println!("services {:?}, models {:?}", facets.services, facets.models);
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TraceFacets {
    /// The traces' `service_name`s, sorted (of the newest 5,000 traces).
    pub services: Vec<String>,
    /// The inference spans' `gen_ai.request.model`s, sorted (of the same traces).
    pub models: Vec<String>,
}

/// Traces and errors of one time bucket, in a [`Timeline`].
///
/// ```
/// let b: llm_telemetry::store::TimelineBucket =
///     serde_json::from_str(r#"{"start":"2026-12-03 08:00:00.000000","traces":4,"error_traces":1}"#).unwrap();
/// assert_eq!(b.traces, 4);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimelineBucket {
    /// The bucket's start (the store's UTC text).
    pub start: String,
    /// Traces started in it.
    pub traces: u64,
    /// Of which with at least one failed span.
    pub error_traces: u64,
}

/// Tokens and cost of one model in one time bucket, in a [`Timeline`].
///
/// ```
/// let m: llm_telemetry::store::ModelBucket = serde_json::from_str(
///     r#"{"start":"2026-12-03 08:00:00.000000","model":"llama3.2:3b","calls":2,
///         "input_tokens":120,"output_tokens":40,"cost":null}"#).unwrap();
/// assert_eq!(m.input_tokens + m.output_tokens, 160);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelBucket {
    /// The bucket's start (the store's UTC text).
    pub start: String,
    /// `gen_ai.request.model` (`None`: spans without one).
    pub model: Option<String>,
    /// Inference spans started in the bucket.
    pub calls: u64,
    /// Their input tokens.
    pub input_tokens: u64,
    /// Their output tokens.
    pub output_tokens: u64,
    /// Their `gen_ai.usage.cost` (USD); `None` when none has one.
    pub cost: Option<f64>,
}

/// Activity over time ([`TraceStore::timeline`](super::super::TraceStore::timeline)):
/// fixed-width buckets from `start`, only those with data present.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// let day = store.timeline(SystemTime::now() - Duration::from_secs(86400), Duration::from_secs(3600))?;
/// for b in &day.traces {
///     println!("{} {} traces, {} failed", b.start, b.traces, b.error_traces);
/// }
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Timeline {
    /// The first bucket's start (the store's UTC text).
    pub start: String,
    /// The width of each bucket, seconds.
    pub bucket_secs: u64,
    /// Traces and failed traces per bucket, oldest first.
    pub traces: Vec<TimelineBucket>,
    /// Tokens and cost per bucket and model, oldest first.
    pub models: Vec<ModelBucket>,
}

/// One of the slowest spans ([`TraceStore::slowest_spans`](super::super::TraceStore::slowest_spans)).
///
/// ```no_run
/// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// for s in store.slowest_spans(None, 10)? {
///     println!("{} {} ms in {}", s.name, s.duration_ms, s.trace_id);
/// }
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SlowSpan {
    /// Its trace.
    pub trace_id: String,
    /// The span.
    pub span_id: String,
    /// Its name.
    pub name: String,
    /// `inference`, `tool`, ... (see [`Span::category`](super::Span::category)).
    pub category: Option<String>,
    /// `ok`, `error` or `unset`.
    pub status: String,
    /// Start, UTC.
    pub start_time: String,
    /// Duration, ms.
    pub duration_ms: f64,
}
