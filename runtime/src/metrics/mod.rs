//! L2, what an inference yields besides its span: the metric points
//! ([`InferenceMetrics`](inference::InferenceMetrics)), llama-stack's token events, the
//! catalogue of instruments every metric sink describes them with, and the one mapping
//! from OpenTelemetry metric names to Prometheus names.

pub mod inference;
pub mod instruments;
pub mod prometheus_names;
pub mod token_events;

pub use inference::InferenceMetrics;
