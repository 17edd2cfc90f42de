//! L2, what an inference yields besides its span: the metric points
//! ([`InferenceMetrics`](inference::InferenceMetrics), and a violated guardrail's count,
//! [`guardrail`]), llama-stack's token events, the catalogue of instruments every metric
//! sink describes them with, and the one mapping from OpenTelemetry metric names to
//! Prometheus names.

pub mod guardrail;
pub mod inference;
pub mod instruments;
pub mod prometheus_names;
pub mod token_events;

#[cfg(test)]
mod tests;

pub use inference::InferenceMetrics;
