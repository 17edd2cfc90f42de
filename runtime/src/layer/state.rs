//! [`SpanState`]: what the layer keeps of an open span, in the registry's extensions.

use std::time::{Instant, SystemTime};

use crate::model::attr::Attributes;
use crate::model::ids::{SpanId, TraceId};
use crate::model::log::LogRecord;
use crate::model::price::CostTotals;
use crate::model::usage::Usage;
use crate::model::vocab::{SpanCategory, SpanKind, SpanStatus};

/// The state of an open span, kept in the registry's extensions.
pub struct SpanState {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub parent_is_remote: bool,
    // A carrier for a remote parent: gives ids to children, is never recorded itself.
    pub remote_carrier: bool,
    // Whether the trace is sampled: decided at the local root (for a remote carrier: the
    // remote parent's flag), inherited below it. A sampled-out span records no content
    // and no events, and reaches only the metric sinks, and only if it yields metrics.
    pub sampled: bool,
    pub start: SystemTime,
    pub started: Instant,
    pub name: Option<String>,
    pub kind: SpanKind,
    pub category: SpanCategory,
    pub status: SpanStatus,
    pub status_message: Option<String>,
    pub attributes: Attributes,
    pub events: Vec<LogRecord>,
    // Agent turns and workflows: what the inferences and tools below them reported
    // (through nested aggregates too).
    pub children_usage: Usage,
    pub children_cost: CostTotals,
    pub inference_calls: u64,
    pub tool_calls: u64,
    // Streamed inferences: set once, when the stream ends (`lookups::set_chunk_intervals`).
    pub chunk_intervals: Vec<f32>,
}
