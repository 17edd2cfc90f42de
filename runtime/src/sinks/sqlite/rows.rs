//! The rows of one span and of one event: a `spans` row with its attributes as one JSON
//! object, and a `span_logs` row per log or metric event (schema: [`crate::store`]'s
//! `schema` module). A span whose id is already stored is not inserted again, and says so,
//! so that the batch writes nothing else of it.

use rusqlite::params;

use crate::model::ids::{SpanId, TraceId};
use crate::model::log::LogRecord;
use crate::model::span::SpanRecord;

use crate::sinks::aggregate::events::EventColumns;

use super::encode::{span_hex, timestamp, trace_hex, JsonObject, Text};

pub(super) const INSERT_SPAN: &str =
    "INSERT INTO spans (span_id, trace_id, parent_span_id, name, start_time, \
     end_time, duration_ms, attributes, status, kind, status_message, category, service_name) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
     ON CONFLICT(span_id) DO NOTHING";

pub(super) const INSERT_EVENT: &str =
    "INSERT INTO span_logs (trace_id, span_id, timestamp, event_type, \
     severity, message, metric, value, unit, attributes) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// Why a batch failed: SQLite, or (never in practice) JSON encoding.
#[derive(Debug, thiserror::Error)]
pub(super) enum BatchError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot encode attributes as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Insert one span; false when a span with this id is already stored (then nothing else of
/// it is written).
pub(super) fn insert_span(
    stmt: &mut rusqlite::CachedStatement<'_>,
    json: &mut Vec<u8>,
    span: &SpanRecord,
) -> Result<bool, BatchError> {
    let mut obj = JsonObject::new(json);
    for (k, v) in &span.attributes {
        obj.attr(k, v)?;
    }
    let attributes = obj.finish();
    let parent = span.parent_span_id.map(|p| span_hex(&p));
    let inserted = stmt.execute(params![
        Text(&span_hex(&span.span_id)),
        Text(&trace_hex(&span.trace_id)),
        parent.as_ref().map(|p| Text(p)),
        span.name,
        Text(&timestamp(span.start_time)),
        Text(&timestamp(span.end_time)),
        span.duration_ms(),
        Text(attributes),
        span.status.as_str(),
        span.kind.as_str(),
        span.status_message,
        span.category.as_str(),
        &*span.service_name,
    ])?;
    Ok(inserted > 0)
}

/// Insert one `span_logs` row: a log or metric event, of the span `span_id` when it has
/// one ([`EventColumns`]: a span start or end event's own fields go into its attributes).
pub(super) fn insert_event(
    stmt: &mut rusqlite::CachedStatement<'_>,
    json: &mut Vec<u8>,
    event: &LogRecord,
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
) -> Result<(), BatchError> {
    let c = EventColumns::encode(json, event)?;
    let trace = trace_id.map(|t| trace_hex(&t));
    let span = span_id.map(|s| span_hex(&s));
    stmt.execute(params![
        trace.as_ref().map(|t| Text(t)),
        span.as_ref().map(|s| Text(s)),
        Text(&timestamp(event.timestamp)),
        c.event_type,
        c.severity,
        c.message,
        c.metric,
        c.value,
        c.unit,
        Text(json),
    ])?;
    Ok(())
}
