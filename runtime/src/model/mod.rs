//! L0, the data model: what a span, a log and a metric point are once recorded, their ids
//! and vocabularies, the attribute names they use, and the few process-wide facilities
//! (the store's timestamp text, rate-limited warnings, thread suppression) that every
//! layer above may use. Nothing here knows `tracing`'s layer, the pipeline or a sink.

pub mod attr;
pub mod attr_str;
pub mod content_bound;
pub mod conventions;
pub mod diag;
pub mod embeddings;
pub mod guardrail;
pub mod ids;
pub mod log;
pub mod metric;
pub mod named_enum;
pub mod price;
pub mod retrieval;
pub mod sampler;
pub mod semconv;
pub mod span;
pub mod suppress;
pub mod time;
pub mod usage;
pub mod vocab;
pub mod wrappers;

pub use embeddings::Embeddings;
pub use guardrail::{GuardrailVerdict, Violation, ViolationLevel};
pub use ids::{InvalidId, SpanId, TraceId};
pub use price::ModelPrice;
pub use retrieval::RetrievedDocuments;
pub use sampler::Sampler;
pub use usage::{TokenUsage, Usage};
pub use vocab::{Severity, SpanStatus};

#[cfg(test)]
mod tests;
