//! `query_traces` (`POST /traces`) and `get_trace` / `get_span` (`GET /traces/{id}` and
//! `GET /traces/{trace_id}/spans/{span_id}`, ids that may hold `/`).

use axum::extract::State;
use axum::Json;
use llm_telemetry::store::{TraceOrder, TraceQuery};

use super::body::JsonBody;
use super::convert;
use super::error::ApiError;
use super::path::IdPath;
use super::wire::{Data, QueryTracesRequest, Span, Trace};
use crate::commands::serve::state::AppState;

/// Traces with a span matching every filter, newest first unless `order_by` says otherwise.
#[utoipa::path(post, path = "/v1/telemetry/traces", tag = "telemetry", operation_id = "query_traces",
    request_body(content = QueryTracesRequest, description = "Optional; `{}` or empty for defaults"),
    responses((status = 200, body = inline(Data<Vec<Trace>>)), (status = 400, description = "A bad filter, order or field")))]
pub async fn query_traces(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<QueryTracesRequest>,
) -> Result<Json<Data<Vec<Trace>>>, ApiError> {
    let filters = convert::filters(
        req.attribute_filters.as_deref().unwrap_or_default(),
        "attribute_filters",
    )?;
    let mut orders = Vec::new();
    for (i, key) in req.order_by.iter().flatten().enumerate() {
        let order: TraceOrder = key.parse().map_err(|e: llm_telemetry::store::StoreError| {
            ApiError::body(&["order_by", &i.to_string()], e.to_string(), "value_error")
        })?;
        orders.push(order);
    }
    let mut orders = orders.into_iter();
    let query = TraceQuery {
        filters,
        limit: req.limit.map_or(100, |l| l.min(usize::MAX as u64) as usize),
        offset: req.offset.map_or(0, |o| o.min(usize::MAX as u64) as usize),
        order: orders.next().unwrap_or_default(),
        then_by: orders.collect(),
        ..TraceQuery::default()
    };
    let traces = state
        .read(move |store| match store {
            Some(store) => Ok(store.list_traces(&query)?),
            None => Ok(Vec::new()),
        })
        .await?;
    Ok(Json(Data {
        data: traces.into_iter().map(convert::trace).collect(),
    }))
}

/// `GET /traces/{rest}`: `rest` is a trace id, or `{trace_id}/spans/{span_id}` (split at
/// the last `/spans/`, as llama-stack's `{trace_id:path}/spans/{span_id:path}` route did).
pub async fn get_trace_or_span(
    state: State<AppState>,
    IdPath(rest): IdPath,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match rest.rsplit_once("/spans/") {
        Some((trace_id, span_id)) if !trace_id.is_empty() && !span_id.is_empty() => {
            Ok(get_span(state, trace_id.to_owned(), span_id.to_owned())
                .await?
                .into_response())
        }
        _ => Ok(get_trace(state, rest).await?.into_response()),
    }
}

/// One trace.
#[utoipa::path(get, path = "/v1/telemetry/traces/{trace_id}", tag = "telemetry", operation_id = "get_trace",
    params(("trace_id" = String, Path, description = "May contain `/`")),
    responses((status = 200, body = Trace), (status = 400, description = "No such trace")))]
pub async fn get_trace(
    State(state): State<AppState>,
    trace_id: String,
) -> Result<Json<Trace>, ApiError> {
    let id = trace_id.clone();
    let trace = state
        .read(move |store| match store {
            Some(store) => Ok(store.get_trace(&id)?),
            None => Err(ApiError::Invalid(format!("Trace {id} not found"))),
        })
        .await?;
    Ok(Json(convert::trace(trace)))
}

/// One span of a trace, with its attributes.
#[utoipa::path(get, path = "/v1/telemetry/traces/{trace_id}/spans/{span_id}", tag = "telemetry", operation_id = "get_span",
    params(("trace_id" = String, Path), ("span_id" = String, Path)),
    responses((status = 200, body = Span), (status = 400, description = "No such span")))]
pub async fn get_span(
    State(state): State<AppState>,
    trace_id: String,
    span_id: String,
) -> Result<Json<Span>, ApiError> {
    let span = state
        .read(move |store| match store {
            Some(store) => Ok(store.get_span(&trace_id, &span_id)?),
            None => Err(ApiError::Invalid(format!("Span {span_id} not found"))),
        })
        .await?;
    Ok(Json(convert::span(span, false)))
}
