//! `log_event` (`POST /events`): llama-stack's three event types into the store, through
//! the server's own bounded writer ([`StoreIngest`](llm_telemetry::ingest::StoreIngest)):
//! a full writer answers 429 with `Retry-After` rather than dropping the event.

use std::time::SystemTime;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDateTime};
use llm_telemetry::ingest::IngestError;
use llm_telemetry::{
    Event as RuntimeEvent, MetricEvent, Severity, SpanId, SpanStatus, StructuredLogEvent, TraceId,
    UnstructuredLogEvent,
};
use serde_json::Value;

use super::body::JsonBody;
use super::error::ApiError;
use super::wire::{Event, LogEventRequest, SpanEndStatus, StructuredLogPayload};
use crate::commands::serve::state::AppState;

/// Store an event: a log or metric event of a span, or a span's start or end (a start and
/// its end become a stored span).
#[utoipa::path(post, path = "/v1/telemetry/events", tag = "telemetry", operation_id = "log_event",
    request_body = LogEventRequest,
    responses((status = 200, description = "`null`; the event is queued for the store"),
              (status = 400, description = "A bad id, timestamp, severity or field"),
              (status = 429, description = "The writer is full; retry after the `Retry-After` seconds")))]
pub async fn log_event(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<LogEventRequest>,
) -> Result<Json<Value>, ApiError> {
    let (trace_id, span_id, timestamp, attributes, event) = match req.event {
        Event::UnstructuredLog {
            trace_id,
            span_id,
            timestamp,
            attributes,
            message,
            severity,
        } => {
            let severity = Severity::parse(&severity).ok_or_else(|| {
                ApiError::body(
                    &["event", "severity"],
                    format!("{severity:?} is not a severity: expected verbose, debug, info, warn, error or critical"),
                    "enum",
                )
            })?;
            (
                trace_id,
                span_id,
                timestamp,
                attributes,
                RuntimeEvent::from(UnstructuredLogEvent::new(message, severity)),
            )
        }
        Event::Metric {
            trace_id,
            span_id,
            timestamp,
            attributes,
            metric,
            value,
            unit,
        } => (
            trace_id,
            span_id,
            timestamp,
            attributes,
            RuntimeEvent::from(MetricEvent::new(metric, value, unit)),
        ),
        Event::StructuredLog {
            trace_id,
            span_id,
            timestamp,
            attributes,
            payload,
        } => {
            let event = match payload {
                StructuredLogPayload::SpanStart {
                    name,
                    parent_span_id,
                } => {
                    if let Some(p) = &parent_span_id {
                        parse_id::<SpanId>(p, &["event", "payload", "parent_span_id"])?;
                    }
                    StructuredLogEvent::SpanStart {
                        name,
                        parent_span_id: parent_span_id.map(|p| p.to_ascii_lowercase()),
                    }
                }
                StructuredLogPayload::SpanEnd { status } => StructuredLogEvent::SpanEnd {
                    status: match status {
                        SpanEndStatus::Ok => SpanStatus::Ok,
                        SpanEndStatus::Error => SpanStatus::Error,
                    },
                },
            };
            (
                trace_id,
                span_id,
                timestamp,
                attributes,
                RuntimeEvent::from(event),
            )
        }
    };
    let trace_id: TraceId = parse_id(&trace_id, &["event", "trace_id"])?;
    let span_id: SpanId = parse_id(&span_id, &["event", "span_id"])?;
    let timestamp = parse_time(&timestamp)?;
    // The first call opens (or creates) the store: off the async threads.
    let opening = state.clone();
    tokio::task::spawn_blocking(move || opening.ingest().map(|_| ()))
        .await
        .map_err(|e| ApiError::Store(e.to_string()))??;
    let ingest = state.ingest()?;
    ingest
        .log_event(
            trace_id,
            span_id,
            timestamp,
            event,
            attributes.unwrap_or_default(),
        )
        .map_err(|e: IngestError| ApiError::Busy(e.to_string()))?;
    Ok(Json(Value::Null))
}

/// A hex id (any case) of the kind `T`.
fn parse_id<T: std::str::FromStr<Err = llm_telemetry::InvalidId>>(
    text: &str,
    field: &[&str],
) -> Result<T, ApiError> {
    text.to_ascii_lowercase()
        .parse()
        .map_err(|e: llm_telemetry::InvalidId| ApiError::body(field, e.to_string(), "value_error"))
}

/// ISO 8601 as the client sends it: with an offset or `Z`, or without (then UTC).
fn parse_time(text: &str) -> Result<SystemTime, ApiError> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(SystemTime::from(dt.to_utc()));
    }
    for form in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, form) {
            return Ok(SystemTime::from(naive.and_utc()));
        }
    }
    Err(ApiError::body(
        &["event", "timestamp"],
        format!("{text:?} is not an ISO 8601 date and time (e.g. 2025-01-01T12:00:00Z)"),
        "datetime_parsing",
    ))
}
