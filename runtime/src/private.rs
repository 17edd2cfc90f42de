//! TEMPORARY STUB by the lead; the macros helper replaces this file.
pub use tracing;
pub fn record_usage_on(_span: &tracing::Span, _usage: Option<crate::Usage>) {}
