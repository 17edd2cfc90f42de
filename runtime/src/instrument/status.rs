//! The span's status: ok, or error with `error.type` and the error's text.

use std::fmt;

use tracing::field;
use tracing::Span;

use crate::model::semconv::{ERROR_TYPE, OTEL_STATUS_CODE, OTEL_STATUS_MESSAGE};

/// Mark the span successful.
#[inline]
pub fn record_ok(span: &Span) {
    span.record(OTEL_STATUS_CODE, "ok");
}

/// Mark the span failed with `error.type = error_type` and, when there is one, the
/// error's text as `otel.status_message`.
pub fn record_error(span: &Span, error_type: &str, message: Option<fmt::Arguments<'_>>) {
    span.record(OTEL_STATUS_CODE, "error");
    span.record(ERROR_TYPE, error_type);
    if let Some(message) = message {
        span.record(OTEL_STATUS_MESSAGE, field::display(message));
    }
}

/// Mark the span failed because the instrumented function panicked.
pub fn record_panic(span: &Span) {
    if span.is_disabled() {
        return;
    }
    record_error(span, "panic", Some(format_args!("the function panicked")));
}

/// Mark the span failed because its future was dropped before it completed.
pub fn record_cancelled(span: &Span) {
    if span.is_disabled() {
        return;
    }
    record_error(
        span,
        "cancelled",
        Some(format_args!("the future was dropped before it completed")),
    );
}

/// The short name of a type, for `error.type`: the last path segment, generics
/// stripped (`my_app::errors::ApiError<String>` gives `ApiError`). Types that are not
/// paths (`&str`, tuples, slices) keep their full name.
#[must_use]
pub fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    if !full.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return full;
    }
    let path = full.find('<').map_or(full, |generics| &full[..generics]);
    path.rfind("::").map_or(path, |sep| &path[sep + 2..])
}
