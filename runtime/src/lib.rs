//! # llm-telemetry
//!
//! Observability for LLM and agent applications: put `#[instrument_inference]`,
//! `#[instrument_agent_turn]`, `#[instrument_tool]`, `#[instrument_retrieval]`,
//! `#[instrument_guardrail]` or `#[instrument_workflow]` on a function and every call
//! becomes a span named and attributed after the OpenTelemetry GenAI conventions, with its
//! token usage, status and duration, plus token and latency metrics. A retrieval's
//! documents, a guardrail's verdict and the dimension of embeddings are read from the
//! return value through [`RetrievedDocuments`], [`GuardrailVerdict`] and [`Embeddings`],
//! as the token usage is through [`TokenUsage`]. [`init`] routes those spans
//! through a `tracing` layer into the sinks named by `TELEMETRY_SINKS` (console, SQLite,
//! OTLP); the guard it returns flushes every sink when dropped.
//!
//! ```no_run
//! use llm_telemetry::{instrument_inference, instrument_tool, TokenUsage, Usage};
//!
//! struct Reply { text: String, prompt_tokens: u64, completion_tokens: u64 }
//! impl TokenUsage for Reply {
//!     fn token_usage(&self) -> Option<Usage> {
//!         Some(Usage::new(self.prompt_tokens, self.completion_tokens))
//!     }
//! }
//!
//! #[instrument_inference(model = model, provider = "ollama")]
//! fn chat(model: &str, prompt: &str) -> Result<Reply, std::io::Error> {
//!     Ok(Reply { text: format!("echo: {prompt}"), prompt_tokens: 5, completion_tokens: 3 })
//! }
//!
//! #[instrument_tool(tool = "get_weather")]
//! fn get_weather(city: &str) -> Result<String, std::io::Error> {
//!     Ok(format!("sunny in {city}"))
//! }
//!
//! fn main() {
//!     let _telemetry = llm_telemetry::init().expect("telemetry config");
//!     let reply = chat("llama3.2:3b", "hello").unwrap();
//!     let _ = get_weather("Paris");
//!     println!("{}", reply.text);
//! } // dropping the guard flushes every sink
//! ```

#![warn(missing_docs)]
// The model, the metrics and the pipeline serve every sink; a build without some sinks
// leaves parts of them unused, which is expected, not dead code.
#![cfg_attr(
    not(all(
        feature = "sqlite",
        feature = "otlp-http",
        feature = "otlp-grpc",
        feature = "prometheus"
    )),
    allow(dead_code, unused_imports)
)]

pub use llm_telemetry_macros::{
    instrument_agent_turn, instrument_guardrail, instrument_inference, instrument_retrieval,
    instrument_tool, instrument_workflow,
};

// The modules are layers that import downward only (`tests/layers.rs` checks it; the
// README's architecture section draws them): L0 model, L1 config and event, L2 metrics,
// L3 pipeline, L4 store, L5 sinks, L6 layer, L7 install, guard, context, instrument,
// http, L8 this façade and `__private`.
mod config;
pub mod context;
mod event;
mod guard;
#[cfg(feature = "tower")]
pub mod http;
#[cfg(feature = "sqlite")]
pub mod ingest;
mod install;
mod instrument;
mod layer;
mod metrics;
mod model;
mod pipeline;
mod sinks;
#[cfg(feature = "sqlite")]
pub mod store;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use config::{
    ConfigError, OtlpBacklog, OtlpConfig, OtlpProtocol, OtlpSignalConfig, PgEnv, Prices, SinkKind,
    TelemetryConfig, TelemetryConfigBuilder,
};
pub use event::{log_event, Event, MetricEvent, StructuredLogEvent, UnstructuredLogEvent};
pub use guard::{TelemetryGuard, TelemetryStats};
pub use instrument::record_usage;
pub use layer::TelemetryLayer;
pub use model::ids::short_id;
pub use model::{
    Embeddings, GuardrailVerdict, InvalidId, ModelPrice, RetrievedDocuments, Sampler, Severity,
    SpanId, SpanStatus, TokenUsage, TraceId, Usage, Violation, ViolationLevel,
};
pub use pipeline::SinkStats;

/// Install llm-telemetry as the global `tracing` subscriber, configured from the
/// environment (`TELEMETRY_SINKS`, `TELEMETRY_SQLITE_DB_PATH`, ...).
///
/// Shorthand for `TelemetryConfig::from_env()?.init()`. Keep the returned guard alive
/// for the life of the program: dropping it flushes every sink.
///
/// ```no_run
/// let _telemetry = llm_telemetry::init().expect("telemetry config");
/// ```
pub fn init() -> Result<TelemetryGuard, ConfigError> {
    TelemetryConfig::from_env()?.init()
}

/// Build the llm-telemetry layer and its guard, to compose with your own layers.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use llm_telemetry::TelemetryConfig;
///
/// let config = TelemetryConfig::builder().sinks([]).build();
/// let (layer, guard) = llm_telemetry::layer(&config).unwrap();
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info_span!("work").in_scope(|| {});
/// });
/// guard.flush();
/// ```
pub fn layer<S>(
    config: &TelemetryConfig,
) -> Result<(TelemetryLayer<S>, TelemetryGuard), ConfigError>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    install::layer(config)
}
