//! The store's summary figures, what
//! [`TraceStore::stats`](super::super::TraceStore::stats) returns.

use serde::{Deserialize, Serialize};

/// Token usage of one model and provider, in [`StoreStats`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenStats {
    /// `gen_ai.request.model`.
    pub model: Option<String>,
    /// `gen_ai.provider.name`.
    pub provider: Option<String>,
    /// Inference spans.
    pub calls: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// The summed `gen_ai.usage.cost` of its calls that have one, USD; `None` when none has.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Its calls without a `gen_ai.usage.cost` (no price for the model, or no usage).
    #[serde(default)]
    pub cost_unknown_calls: u64,
}

/// Latency of one span name, in [`StoreStats`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LatencyStats {
    /// The span name.
    pub name: String,
    /// Spans.
    pub count: u64,
    /// Median duration, ms (nearest rank).
    pub p50_ms: f64,
    /// 95th percentile duration, ms (nearest rank).
    pub p95_ms: f64,
}

/// What [`TraceStore::stats`](super::super::TraceStore::stats) reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoreStats {
    /// Traces.
    pub traces: u64,
    /// Spans.
    pub spans: u64,
    /// Spans with status `error`.
    pub error_spans: u64,
    /// Traces with at least one failed span.
    pub error_traces: u64,
    /// `error_traces / traces` (0 when empty).
    pub error_rate: f64,
    /// Token usage by model and provider, most tokens first.
    pub tokens: Vec<TokenStats>,
    /// Inference spans.
    #[serde(default)]
    pub inference_calls: u64,
    /// The summed `gen_ai.usage.cost` of the inference spans that have one, USD; `None`
    /// when none has.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Inference spans without a `gen_ai.usage.cost`: their cost is unknown.
    #[serde(default)]
    pub cost_unknown_calls: u64,
    /// The models (`gen_ai.request.model`, else `gen_ai.response.model`) of the calls that
    /// reported token usage but have no cost: the models without a price, sorted.
    #[serde(default)]
    pub unpriced_models: Vec<String>,
    /// Latency by span name, slowest p95 first.
    pub latency: Vec<LatencyStats>,
    /// Bytes on disk: the database file plus its WAL.
    pub size_bytes: u64,
}
