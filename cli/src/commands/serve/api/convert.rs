//! The store's records in llama-stack's wire shapes: timestamps from the store's
//! `YYYY-MM-DD HH:MM:SS.ffffff` to RFC 3339 with `Z` as pydantic prints them (the fraction
//! left out when it is zero), unix seconds for metric points, span status as llama-stack's
//! `ok` / `error` (`null` for unset), filters from `QueryCondition`s, depths counted from 1.

use std::time::{SystemTime, UNIX_EPOCH};

use llm_telemetry::store::{self, AttributeFilter, FilterOp};

use super::error::ApiError;
use super::wire::{self, QueryCondition, QueryConditionOp, StatusField};

/// The store's UTC timestamp text as RFC 3339 with `Z`.
pub fn rfc3339(stored: &str) -> String {
    let mut s = stored.trim().replacen(' ', "T", 1);
    if let Some(frac) = s.find('.') {
        if s[frac + 1..].bytes().all(|b| b == b'0') {
            s.truncate(frac);
        }
    }
    if !s.ends_with('Z') {
        s.push('Z');
    }
    s
}

/// Unix seconds of a store timestamp (0 if unreadable).
pub fn unix_seconds(stored: &str) -> i64 {
    llm_telemetry::store::parse_timestamp(stored)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

/// Unix seconds as a time, clamped to the years 1970 to 9999.
pub fn from_unix(seconds: i64) -> SystemTime {
    const YEAR_9999: u64 = 253_402_300_799;
    UNIX_EPOCH + std::time::Duration::from_secs((seconds.max(0) as u64).min(YEAR_9999))
}

/// A stored trace on the wire.
pub fn trace(t: store::Trace) -> wire::Trace {
    wire::Trace {
        trace_id: t.trace_id,
        root_span_id: t.root_span_id,
        start_time: rfc3339(&t.start_time),
        end_time: Some(rfc3339(&t.end_time)),
        service_name: t.service_name,
        root_span_name: t.root_span_name,
        duration_ms: t.duration_ms,
        span_count: t.span_count,
        error_count: t.error_count,
        input_tokens: t.input_tokens,
        output_tokens: t.output_tokens,
        status: t.status,
    }
}

/// A stored span on the wire, with or without its status.
pub fn span(s: store::Span, with_status: bool) -> wire::Span {
    let status = match (with_status, s.status.as_str()) {
        (false, _) => StatusField::Absent,
        (true, "ok") => StatusField::Ok,
        (true, "error") => StatusField::Error,
        (true, _) => StatusField::Unset,
    };
    wire::Span {
        span_id: s.span_id,
        trace_id: s.trace_id,
        parent_span_id: s.parent_span_id,
        name: s.name,
        start_time: rfc3339(&s.start_time),
        end_time: s.end_time.as_deref().map(rfc3339),
        attributes: s.attributes,
        status,
        kind: s.kind,
        status_message: s.status_message,
        duration_ms: s.duration_ms,
    }
}

/// `attribute_filters` as store filters; `field` names the body field for errors.
pub fn filters(
    conditions: &[QueryCondition],
    field: &'static str,
) -> Result<Vec<AttributeFilter>, ApiError> {
    conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let op = match c.op {
                QueryConditionOp::Eq => FilterOp::Eq,
                QueryConditionOp::Ne => FilterOp::Ne,
                QueryConditionOp::Gt => FilterOp::Gt,
                QueryConditionOp::Lt => FilterOp::Lt,
            };
            let filter = AttributeFilter::new(c.key.clone(), op, c.value.clone());
            filter.validate().map_err(|e| {
                let index = i.to_string();
                ApiError::body(&[field, &index], e.to_string(), "value_error")
            })?;
            Ok(filter)
        })
        .collect()
}

/// llama-stack's `max_depth` (the start span is level 1; `null` is every level) as the
/// store's (levels below the start span).
pub fn depth_below(max_depth: Option<i64>) -> Option<u32> {
    max_depth.map(|d| d.clamp(1, i64::from(u32::MAX)) as u32 - 1)
}
