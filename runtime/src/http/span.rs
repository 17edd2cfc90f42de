//! The request's `server` span, after the HTTP semantic conventions: named
//! `{method} {route}` (`{method}` when the route is unknown), with `http.request.method`,
//! `http.route`, `url.path` and, when it answered, `http.response.status_code`. It is the
//! parent of what the handler opens (agent turns, inferences, tools), the child of an
//! incoming `traceparent`'s remote span when there is one, and its ids are what the
//! response's `traceparent` and `x-trace-id` headers carry.
//!
//! Status: `error` for a 5xx answer (`error.type` = the code), a failed service
//! (`error.type` = the error's type), a panic (`panic`) or a request dropped unanswered
//! (`cancelled`); `ok` otherwise, 4xx included: the client's mistake is not the server's
//! failure, as the conventions say for server spans (which leave it unset; the store says
//! `ok`, as for every span that finished).

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use tracing::{field, Span};

use super::metrics::Exemplar;
use crate::context::{extract, format_traceparent};
use crate::instrument::status::{record_cancelled, record_error, record_ok, record_panic};
use crate::layer::lookups::span_context;
use crate::model::semconv::HTTP_RESPONSE_STATUS_CODE;

/// The `tracing` target of request spans.
pub const SPAN_TARGET: &str = "llm_telemetry::http";

/// The response header that carries the trace id, as llama-stack named it (here it is the
/// id the store holds: `llm-trace show <x-trace-id>` finds the request).
///
/// ```
/// assert_eq!(llm_telemetry::http::X_TRACE_ID, "x-trace-id");
/// ```
pub const X_TRACE_ID: &str = "x-trace-id";

/// Open the span of a request, under the remote parent its `traceparent` names, else
/// under the current span.
pub fn open(method: &Method, route: Option<&str>, path: &str, headers: &HeaderMap) -> Span {
    let remote = extract(headers);
    let parent = if remote.is_none() {
        Span::current()
    } else {
        remote
    };
    let name = match route {
        Some(route) => format!("{method} {route}"),
        None => method.as_str().to_owned(),
    };
    tracing::info_span!(
        target: SPAN_TARGET,
        parent: &parent,
        "http.server.request",
        otel.name = name.as_str(),
        otel.kind = "server",
        http.request.method = method.as_str(),
        http.route = route,
        url.path = path,
        http.response.status_code = field::Empty,
        otel.status_code = field::Empty,
        otel.status_message = field::Empty,
        error.type = field::Empty,
    )
}

/// The ids the llm-telemetry layer gave `span`, when one records it and its trace is
/// sampled (a sampled-out trace is stored nowhere: no exemplar, no `x-trace-id` points to it).
pub fn ids(span: &Span) -> Exemplar {
    span_context(span)
        .filter(|c| c.sampled)
        .map(|c| (c.trace_id, c.span_id))
}

/// The request answered with `code`.
pub fn answered(span: &Span, code: http::StatusCode) {
    span.record(HTTP_RESPONSE_STATUS_CODE, u64::from(code.as_u16()));
    if code.is_server_error() {
        record_error(span, code.as_str(), None);
    } else {
        record_ok(span);
    }
}

/// How a request ended without an answer.
#[derive(Clone, Copy, Debug)]
pub enum Unanswered {
    /// The service returned an error of this (short) type name.
    Failed(&'static str),
    /// The handler panicked.
    Panicked,
    /// The response future was dropped first (the client went away, the server stopped).
    Dropped,
}

/// The request ended without an answer.
pub fn unanswered(span: &Span, how: Unanswered) {
    if span.is_disabled() {
        return;
    }
    match how {
        Unanswered::Failed(error_type) => record_error(
            span,
            error_type,
            Some(format_args!("the service failed before it answered")),
        ),
        Unanswered::Panicked => record_panic(span),
        Unanswered::Dropped => record_cancelled(span),
    }
}

/// Put the span's ids on the response: `traceparent` (`00-{trace}-{span}-01`, for the
/// client to continue the trace) and `x-trace-id` (the id to look up in the store).
pub fn set_headers(ids: Exemplar, headers: &mut HeaderMap) {
    let Some((trace_id, span_id)) = ids else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(&format_traceparent(trace_id, span_id, true)) {
        headers.insert(HeaderName::from_static(crate::context::TRACEPARENT), v);
    }
    if let Ok(v) = HeaderValue::from_str(&trace_id.to_string()) {
        headers.insert(HeaderName::from_static(X_TRACE_ID), v);
    }
}
