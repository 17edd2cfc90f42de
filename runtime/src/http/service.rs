//! [`RequestTelemetryLayer`] and the [`RequestTelemetry`] service it wraps around an HTTP
//! service: the tower middleware that measures and traces each request.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::request::Parts;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;

use super::future::{ResponseFuture, Tracked};
use super::labels::{api_of, is_excluded};
use super::metrics::InFlight;
use super::span;
use crate::model::attr::AttrStr;

/// Finds the route template a request matched, for `http.route`, the span name and the
/// `api` label. With axum, `MatchedPath` (present when the layer is added with
/// `Router::layer` or `Router::route_layer`):
///
/// ```
/// use axum::extract::MatchedPath;
/// use llm_telemetry::http::RequestTelemetryLayer;
///
/// let layer = RequestTelemetryLayer::new()
///     .route_from(|parts| parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str));
/// # let _ = layer;
/// ```
pub type RouteFn = for<'a> fn(&'a Parts) -> Option<&'a str>;

/// A tower [`Layer`] that measures and traces every request of an HTTP service (axum,
/// hyper, tonic): the request metrics `{ns}_requests_total{api,status}`,
/// `{ns}_request_duration_seconds{api,status}` and `{ns}_concurrent_requests{api}`, and a
/// `server` span around the handler with the `traceparent` and `x-trace-id` response
/// headers. See [the module](crate::http) for the details.
///
/// Every clone, and every service it wraps, shares one count of requests in flight.
///
/// ```
/// use axum::{routing::get, Router};
/// use axum::extract::MatchedPath;
/// use llm_telemetry::http::RequestTelemetryLayer;
///
/// let app: Router = Router::new()
///     .route("/v1/health", get(|| async { "ok" }))
///     .layer(
///         RequestTelemetryLayer::new()
///             .route_from(|parts| parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str)),
///     );
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct RequestTelemetryLayer {
    spans: bool,
    route: Option<RouteFn>,
    in_flight: Arc<InFlight>,
}

impl RequestTelemetryLayer {
    /// Metrics and a span per request; no route templates (the span is named after the
    /// method alone, `api` comes from the path).
    ///
    /// ```
    /// let layer = llm_telemetry::http::RequestTelemetryLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        RequestTelemetryLayer {
            spans: true,
            route: None,
            in_flight: Arc::default(),
        }
    }

    /// Record the metrics only: no span, no `traceparent` / `x-trace-id` headers. For a
    /// server that must not trace itself into the store it serves (`llm-trace serve`).
    ///
    /// ```
    /// let metrics_only = llm_telemetry::http::RequestTelemetryLayer::new().without_spans();
    /// # let _ = metrics_only;
    /// ```
    pub fn without_spans(mut self) -> Self {
        self.spans = false;
        self
    }

    /// Read the matched route template with `route` (see [`RouteFn`]). Requests that
    /// matched no route fall back to the path for `api`, and their span is named after
    /// the method alone.
    ///
    /// ```
    /// use llm_telemetry::http::RequestTelemetryLayer;
    ///
    /// // A framework that leaves the template in the extensions as a `&'static str`:
    /// let layer = RequestTelemetryLayer::new()
    ///     .route_from(|parts| parts.extensions.get::<&'static str>().copied());
    /// # let _ = layer;
    /// ```
    pub fn route_from(mut self, route: RouteFn) -> Self {
        self.route = Some(route);
        self
    }
}

impl Default for RequestTelemetryLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for RequestTelemetryLayer {
    type Service = RequestTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestTelemetry {
            inner,
            spans: self.spans,
            route: self.route,
            in_flight: self.in_flight.clone(),
        }
    }
}

/// The service [`RequestTelemetryLayer`] wraps around `S`; usually built by the layer.
///
/// ```
/// use std::convert::Infallible;
/// use llm_telemetry::http::RequestTelemetry;
/// use tower::{service_fn, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let service = RequestTelemetry::new(service_fn(|_req: http::Request<()>| async {
///     Ok::<_, Infallible>(http::Response::new("ok"))
/// }));
/// let response = service
///     .oneshot(http::Request::get("/v1/health").body(()).unwrap())
///     .await
///     .unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct RequestTelemetry<S> {
    inner: S,
    spans: bool,
    route: Option<RouteFn>,
    in_flight: Arc<InFlight>,
}

impl<S> RequestTelemetry<S> {
    /// Wrap `inner` with the defaults of [`RequestTelemetryLayer::new`].
    ///
    /// ```
    /// use llm_telemetry::http::RequestTelemetry;
    ///
    /// let service = RequestTelemetry::new(tower::service_fn(|_req: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
    /// }));
    /// # let _ = service;
    /// ```
    pub fn new(inner: S) -> Self {
        RequestTelemetryLayer::new().layer(inner)
    }

    /// A [`RequestTelemetryLayer`] with the defaults, as tower-http spells it
    /// (`RequestTelemetry::layer()`).
    ///
    /// ```
    /// let layer = llm_telemetry::http::RequestTelemetry::<()>::layer().without_spans();
    /// # let _ = layer;
    /// ```
    pub fn layer() -> RequestTelemetryLayer {
        RequestTelemetryLayer::new()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestTelemetry<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if is_excluded(request.uri().path()) {
            return ResponseFuture::new(self.inner.call(request), None);
        }
        let start = Instant::now();
        let (parts, body) = request.into_parts();
        let route = self.route.and_then(|route| route(&parts));
        let api = AttrStr::from(api_of(route.unwrap_or(parts.uri.path())));
        let (span, ids) = if self.spans {
            let span = span::open(&parts.method, route, parts.uri.path(), &parts.headers);
            let ids = span::ids(&span);
            (span, ids)
        } else {
            (Span::none(), None)
        };
        let request = Request::from_parts(parts, body);
        self.in_flight.enter(&api, ids);
        let tracked = Tracked {
            span,
            ids,
            api,
            start,
            in_flight: self.in_flight.clone(),
        };
        let inner = {
            let _entered = tracked.span.enter();
            catch_unwind(AssertUnwindSafe(|| self.inner.call(request)))
        };
        match inner {
            Ok(inner) => ResponseFuture::new(inner, Some(tracked)),
            Err(panic) => {
                tracked.unanswered(span::Unanswered::Panicked);
                resume_unwind(panic)
            }
        }
    }
}
