//! L7, HTTP services: [`RequestTelemetryLayer`], a tower middleware for any axum, hyper or
//! tonic server (cargo feature `tower`). Per request it records llama-stack's request
//! metrics and opens the request's `server` span, the parent of the agent turns,
//! inferences and tool calls its handler runs.
//!
//! * **Metrics**, through the same sinks as the token metrics (`prometheus`,
//!   `otel_metric`, the SQLite `metrics` table): `{ns}_requests_total{api,status}`
//!   (counter), `{ns}_request_duration_seconds{api,status}` (histogram, the HTTP
//!   conventions' buckets 5 ms … 10 s) and `{ns}_concurrent_requests{api}` (gauge, the
//!   requests in flight), `{ns}` being `TELEMETRY_METRIC_NAMESPACE` (`llama_stack`). Stored
//!   and exported under their OpenTelemetry names `{ns}.requests`, `{ns}.request_duration`
//!   and `{ns}.concurrent_requests`; `TraceStore::query_metrics` takes either name.
//!   `api` is the first path segment after `/v1/` of the matched route template
//!   ([`RequestTelemetryLayer::route_from`]) or else of the path; `status` is the status
//!   code as text, `"500"` when the service failed, the handler panicked or the request was
//!   dropped before it answered. The duration runs until the response's head is ready (a
//!   streamed body's transfer is not included).
//! * **Not measured nor traced**: paths starting with `/docs`, `/redoc`, `/openapi.json`,
//!   `/favicon.ico` or `/static` ([`EXCLUDED_PREFIXES`]).
//! * **The span** (unless [`RequestTelemetryLayer::without_spans`]): kind `server`, named
//!   `{method} {route}` (`POST /v1/agents/{agent_id}/turn`; `{method}` when no route is
//!   known), with `http.request.method`, `http.route`, `url.path` and
//!   `http.response.status_code`; status `error` for a 5xx answer, a failure, a panic or a
//!   dropped request (`error.type` says which). An incoming `traceparent` makes it a child
//!   of the caller's span, in the caller's trace. The response gets `traceparent`
//!   (`00-{trace id}-{span id}-01`) and `x-trace-id` (the trace id): the ids the store
//!   holds, so `llm-trace show <x-trace-id>` finds the request and everything under it.
//! * **A panic** in the handler is recorded, then resumed; add tower-http's
//!   `CatchPanicLayer` inside this layer to answer it with a 500 instead.
//!
//! The metrics and spans go to the llm-telemetry layer of the current subscriber
//! ([`init`](crate::init), [`layer`](crate::layer)); without one the middleware passes
//! requests through and sets no headers. Recording never waits on a sink and never fails
//! the request: a full sink queue drops and counts, as for every span.
//!
//! ```
//! use axum::{extract::MatchedPath, routing::post, Router};
//! use llm_telemetry::http::RequestTelemetryLayer;
//!
//! async fn turn() -> &'static str {
//!     "the agent's answer"
//! }
//!
//! let app: Router = Router::new()
//!     .route("/v1/agents/{agent_id}/turn", post(turn))
//!     .layer(
//!         RequestTelemetryLayer::new()
//!             .route_from(|parts| parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str)),
//!     );
//! # let _ = app;
//! ```

mod future;
mod labels;
mod metrics;
mod service;
mod span;

pub use future::ResponseFuture;
pub use labels::EXCLUDED_PREFIXES;
pub use service::{RequestTelemetry, RequestTelemetryLayer, RouteFn};
pub use span::X_TRACE_ID;
