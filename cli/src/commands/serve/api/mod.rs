//! llama-stack's telemetry API: the eight routes of 0.2.x ([`telemetry_routes`], served
//! under `/v1/telemetry` and, for the 0.3.x clients, `/v1alpha/telemetry`), `/v1/health`,
//! `/metrics` (the server's own request metrics) and the OpenAPI description generated from the handlers ([`ApiDoc`]).
//!
//! Ids are matched as llama-stack's `{id:path}` parameters were: they may hold `/` (and
//! arrive percent-decoded), so the id routes take the rest of the path and split it.

pub mod body;
pub mod convert;
pub mod error;
pub mod events;
pub mod metrics;
pub mod path;
pub mod spans;
pub mod traces;
pub mod viewer;
pub mod wire;

use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use super::state::AppState;
use error::ApiError;

/// The telemetry routes, relative to their prefix.
pub fn telemetry_routes() -> Router<AppState> {
    Router::new()
        .route("/traces", post(traces::query_traces))
        .route("/traces/{*rest}", get(traces::get_trace_or_span))
        .route("/spans", post(spans::query_spans))
        .route("/spans/export", post(spans::save_spans_to_dataset))
        .route("/spans/{*rest}", post(spans::span_tree_route))
        .route("/events", post(events::log_event))
        .route("/metrics/{*metric_name}", post(metrics::query_metrics))
}

/// Every route of the API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .nest("/v1/telemetry", telemetry_routes())
        .nest("/v1alpha/telemetry", telemetry_routes())
        .route("/v1/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(server_metrics))
        // The web viewer's JSON routes (`/api/...`).
        .merge(viewer::routes())
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}

/// The server is up.
#[utoipa::path(get, path = "/v1/health", tag = "server", operation_id = "health",
    responses((status = 200, body = wire::Health)))]
async fn health() -> Json<wire::Health> {
    Json(wire::Health { status: "OK" })
}

/// The server's own request metrics, in the Prometheus text format:
/// `llama_stack_requests_total{api,status}`, `llama_stack_request_duration_seconds{api,status}`
/// and `llama_stack_concurrent_requests{api}`.
#[utoipa::path(get, path = "/metrics", tag = "server", operation_id = "metrics",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
async fn server_metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let Some(telemetry) = state.telemetry().cloned() else {
        return Err(ApiError::NoRoute);
    };
    // Waits (briefly) for the metrics sink to take in what was recorded.
    let text = tokio::task::spawn_blocking(move || telemetry.prometheus_text())
        .await
        .map_err(|e| ApiError::Store(e.to_string()))?
        .unwrap_or_default();
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// This description.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    // The web viewer's routes.
    doc.merge(viewer::ViewerDoc::openapi());
    Json(doc)
}

/// The OpenAPI 3 description of the server, from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "llm-trace serve",
        description = "llama-stack 0.2.x's telemetry API over an llm-telemetry trace store. \
            The same routes are served under /v1alpha/telemetry for llama-stack-client 0.3.x."
    ),
    paths(
        traces::query_traces,
        traces::get_trace,
        traces::get_span,
        spans::get_span_tree,
        spans::query_spans,
        spans::save_spans_to_dataset,
        events::log_event,
        metrics::query_metrics,
        health,
        server_metrics,
    ),
    tags((name = "telemetry", description = "llama-stack's telemetry API"), (name = "server"))
)]
pub struct ApiDoc;
