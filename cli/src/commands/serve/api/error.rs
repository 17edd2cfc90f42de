//! [`ApiError`]: every way a request fails, and the JSON each answers with — the envelopes
//! llama-stack's server used (reference §1.4), so its client reads them as it read the
//! original's: `{"detail": "..."}` for a failed call, `{"error": {"detail": {"errors":
//! [...]}}}` for a body that does not validate.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use llm_telemetry::store::StoreError;
use serde_json::{json, Value};

/// A failed request.
#[derive(Debug)]
pub enum ApiError {
    /// 400: an unknown trace or span, a bad filter, order or matcher (llama-stack's
    /// `ValueError`: `{"detail": "Invalid value: ..."}`).
    Invalid(String),
    /// 400: the body does not validate: where (`["body", "limit"]`), what, and its kind.
    Body {
        /// Path to the offending field, starting with `"body"`.
        loc: Vec<Value>,
        /// What is wrong.
        msg: String,
        /// A short machine-readable kind (`missing`, `json_invalid`, `int_parsing`, ...).
        kind: &'static str,
    },
    /// 401: no or a wrong bearer token.
    Unauthorized,
    /// 404: no such route.
    NoRoute,
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    /// 413: the body is longer than the limit.
    TooLarge(usize),
    /// 421: the `Host` header names a server this is not (DNS rebinding).
    WrongHost(String),
    /// 429: the store's writer is full; retry after `Retry-After` (the OTLP backpressure answer).
    Busy(String),
    /// 500: the store could not be read (I/O, a corrupt or foreign file).
    Store(String),
}

impl ApiError {
    /// A body error at `field` (a path below `body`).
    pub fn body(field: &[&str], msg: impl Into<String>, kind: &'static str) -> ApiError {
        let mut loc = vec![Value::from("body")];
        // List indexes as numbers, as pydantic reports them.
        loc.extend(field.iter().map(|f| match f.parse::<u64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(*f),
        }));
        ApiError::Body {
            loc,
            msg: msg.into(),
            kind,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TraceNotFound { trace_id } => {
                ApiError::Invalid(format!("Trace {trace_id} not found"))
            }
            StoreError::SpanNotFound { span_id } => {
                ApiError::Invalid(format!("Span {span_id} not found"))
            }
            StoreError::InvalidFilter { reason } => ApiError::Invalid(reason),
            other => ApiError::Store(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = |status: StatusCode, text: String| (status, Json(json!({ "detail": text })));
        match self {
            ApiError::Invalid(text) => {
                detail(StatusCode::BAD_REQUEST, format!("Invalid value: {text}")).into_response()
            }
            ApiError::Body { loc, msg, kind } => (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "error": { "detail": { "errors": [ { "loc": loc, "msg": msg, "type": kind } ] } }
                })),
            )
                .into_response(),
            ApiError::Unauthorized => {
                let mut r = detail(
                    StatusCode::UNAUTHORIZED,
                    "missing or wrong bearer token: send `Authorization: Bearer <token>` \
                     (llama-stack-client: api_key=...; the web viewer: open /?token=<token> once)"
                        .into(),
                )
                .into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            ApiError::NoRoute => detail(StatusCode::NOT_FOUND, "Not Found".into()).into_response(),
            ApiError::MethodNotAllowed => {
                detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed".into()).into_response()
            }
            ApiError::TooLarge(limit) => detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {limit} bytes"),
            )
            .into_response(),
            ApiError::WrongHost(host) => detail(
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "this server does not serve the host {host:?}; use its address or localhost \
                     (or start it with --allow-host {host})"
                ),
            )
            .into_response(),
            ApiError::Busy(text) => {
                let mut r = detail(StatusCode::TOO_MANY_REQUESTS, text).into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            ApiError::Store(text) => {
                detail(StatusCode::INTERNAL_SERVER_ERROR, text).into_response()
            }
        }
    }
}
