//! W3C trace-context propagation: carry a trace across processes in the `traceparent`
//! (and `tracestate`) HTTP headers.
//!
//! * A client calls [`inject`] on its outgoing request's headers: the current span
//!   (an agent turn, a tool call) travels as `00-{trace id}-{span id}-01`.
//! * A server calls [`extract`] on the incoming headers and runs its handler under the
//!   returned span: the spans it opens join the caller's trace, as children of the
//!   caller's span, with the same ids in SQLite, in OTLP and in the next `traceparent`.
//!
//! The ids are the ones llm-telemetry records, so this needs an llm-telemetry layer
//! ([`crate::init`], [`crate::layer`] or `init_local`) on the current subscriber.
//!
//! ```
//! use llm_telemetry::{context, SinkKind, TelemetryConfig};
//! use tracing::Instrument;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! let _telemetry = TelemetryConfig::builder()
//!     .sinks([SinkKind::Sqlite])
//!     .sqlite_db_path(dir.path().join("traces.db"))
//!     .build()
//!     .init_local()
//!     .unwrap();
//!
//! // Client side: the outgoing request carries the current span.
//! let turn = tracing::info_span!("invoke_agent planner");
//! let mut request_headers = http::HeaderMap::new();
//! turn.in_scope(|| context::inject(&mut request_headers));
//! let traceparent = request_headers["traceparent"].to_str().unwrap().to_owned();
//!
//! // Server side: the handler's spans become children of the caller's span.
//! async fn handle() {
//!     let _span = tracing::info_span!("execute_tool search").entered();
//! }
//! let handler = handle().instrument(context::extract(&request_headers));
//! # drop(handler);
//! assert!(traceparent.starts_with("00-") && traceparent.ends_with("-01"));
//! ```

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};
use tracing::Span;

use crate::model::ids::{SpanId, TraceId};

/// The `traceparent` header name.
///
/// ```
/// use llm_telemetry::context::TRACEPARENT;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// assert_eq!(TRACEPARENT, "traceparent");
/// ```
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header name.
///
/// ```
/// use llm_telemetry::context::TRACESTATE;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(TRACESTATE, "vendor=value".parse().unwrap());
/// assert_eq!(headers["tracestate"], "vendor=value");
/// ```
pub const TRACESTATE: &str = "tracestate";

/// Write the current span into `headers` as a W3C `traceparent`, plus the `tracestate`
/// received from a remote parent, if any. Headers already there are replaced. Outside
/// any recorded span nothing is written.
///
/// ```
/// use llm_telemetry::{context, SinkKind, TelemetryConfig};
///
/// # let dir = tempfile::tempdir().unwrap();
/// let _telemetry = TelemetryConfig::builder()
///     .sinks([SinkKind::Sqlite])
///     .sqlite_db_path(dir.path().join("traces.db"))
///     .build()
///     .init_local()
///     .unwrap();
///
/// let mut headers = http::HeaderMap::new();
/// context::inject(&mut headers);
/// assert!(headers.is_empty()); // no current span
///
/// tracing::info_span!("execute_tool search").in_scope(|| context::inject(&mut headers));
/// let traceparent = headers["traceparent"].to_str().unwrap();
/// assert_eq!(traceparent.len(), 55); // 00-<32 hex>-<16 hex>-01
/// ```
pub fn inject(headers: &mut HeaderMap) {
    inject_span(&Span::current(), headers)
}

/// Like [`inject`], for a given span rather than the current one.
///
/// ```
/// use llm_telemetry::{context, SinkKind, TelemetryConfig};
///
/// # let dir = tempfile::tempdir().unwrap();
/// let _telemetry = TelemetryConfig::builder()
///     .sinks([SinkKind::Sqlite])
///     .sqlite_db_path(dir.path().join("traces.db"))
///     .build()
///     .init_local()
///     .unwrap();
///
/// let span = tracing::info_span!("invoke_agent planner");
/// let mut headers = http::HeaderMap::new();
/// context::inject_span(&span, &mut headers);
/// assert!(headers.contains_key("traceparent"));
/// ```
pub fn inject_span(span: &Span, headers: &mut HeaderMap) {
    let Some(context) = crate::layer::lookups::span_context(span) else {
        return;
    };
    let traceparent = format_traceparent(context.trace_id, context.span_id, context.sampled);
    if let Ok(value) = HeaderValue::from_str(&traceparent) {
        headers.insert(HeaderName::from_static(TRACEPARENT), value);
    }
    match context
        .tracestate
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        Some(value) => {
            headers.insert(HeaderName::from_static(TRACESTATE), value);
        }
        None => {
            headers.remove(TRACESTATE);
        }
    }
}

/// The current span as a `traceparent` value, for carriers other than HTTP headers
/// (message queues, environment variables of a child process).
///
/// ```
/// use llm_telemetry::{context, SinkKind, TelemetryConfig};
///
/// # let dir = tempfile::tempdir().unwrap();
/// let _telemetry = TelemetryConfig::builder()
///     .sinks([SinkKind::Sqlite])
///     .sqlite_db_path(dir.path().join("traces.db"))
///     .build()
///     .init_local()
///     .unwrap();
///
/// assert_eq!(context::traceparent(), None);
/// let value = tracing::info_span!("work").in_scope(context::traceparent).unwrap();
/// assert!(value.starts_with("00-"));
/// ```
pub fn traceparent() -> Option<String> {
    crate::layer::lookups::span_context(&Span::current())
        .map(|c| format_traceparent(c.trace_id, c.span_id, c.sampled))
}

/// Read a W3C `traceparent` (and `tracestate`) from incoming `headers` and return a
/// span to run the request's work under (`.instrument(span)` for a future,
/// `span.in_scope(..)` for a closure): every span opened under it joins the remote
/// trace as a child of the remote span. The returned span itself is never recorded.
///
/// Without a valid `traceparent` (missing, malformed, repeated) it returns
/// [`Span::none()`], so the work is traced as it would have been without it.
///
/// ```
/// use llm_telemetry::{context, SinkKind, TelemetryConfig};
///
/// # let dir = tempfile::tempdir().unwrap();
/// let _telemetry = TelemetryConfig::builder()
///     .sinks([SinkKind::Sqlite])
///     .sqlite_db_path(dir.path().join("traces.db"))
///     .build()
///     .init_local()
///     .unwrap();
///
/// let mut incoming = http::HeaderMap::new();
/// incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
///
/// context::extract(&incoming).in_scope(|| {
///     let _turn = tracing::info_span!("invoke_agent planner").entered();
///     // Propagating further: same trace, this span as the parent.
///     let next = context::traceparent().unwrap();
///     assert!(next.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
/// });
///
/// assert!(context::extract(&http::HeaderMap::new()).is_none());
/// ```
pub fn extract(headers: &HeaderMap) -> Span {
    let mut values = headers.get_all(TRACEPARENT).iter();
    let traceparent = match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok(),
        // Several traceparent headers: the specification says to ignore them all.
        _ => None,
    };
    let Some(traceparent) = traceparent else {
        return Span::none();
    };
    let tracestate: Vec<&str> = headers
        .get_all(TRACESTATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let tracestate = tracestate.join(",");
    span_from_traceparent(
        traceparent,
        (!tracestate.is_empty()).then_some(tracestate.as_str()),
    )
}

/// Like [`extract`], from a `traceparent` value (and optional `tracestate`) carried
/// some other way than HTTP headers.
///
/// ```
/// use llm_telemetry::context;
///
/// let span = context::span_from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None);
/// # let _ = span;
/// assert!(context::span_from_traceparent("not a traceparent", None).is_none());
/// ```
pub fn span_from_traceparent(traceparent: &str, tracestate: Option<&str>) -> Span {
    let Some((trace_id, span_id, sampled)) = parse_traceparent(traceparent) else {
        return Span::none();
    };
    let tracestate = tracestate
        .map(str::trim)
        .filter(|t| valid_tracestate(t))
        .unwrap_or("");
    tracing::info_span!(
        target: crate::layer::lookups::REMOTE_PARENT_TARGET,
        "remote_parent",
        trace_id = %trace_id,
        span_id = %span_id,
        sampled = sampled,
        tracestate = tracestate,
    )
}

/// `00-{trace id}-{span id}-01`, or `-00` for a sampled-out trace: the next service,
/// under a parent-based sampler, then drops its part of the trace too.
pub(crate) fn format_traceparent(trace_id: TraceId, span_id: SpanId, sampled: bool) -> String {
    let flags = if sampled { "01" } else { "00" };
    format!("00-{trace_id}-{span_id}-{flags}")
}

/// `version-traceid-parentid-flags`, lowercase hex, as the W3C specification defines it:
/// the ids and the sampled flag (the flags' lowest bit).
pub(crate) fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, bool)> {
    let value = value.trim();
    let mut parts = value.split('-');
    let version = parts.next()?;
    let trace_id = parts.next()?;
    let span_id = parts.next()?;
    let flags = parts.next()?;
    let is_hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    if !is_hex(version, 2) || version == "ff" || !is_hex(flags, 2) {
        return None;
    }
    // Version 00 has exactly four fields; later versions may append more.
    if version == "00" && parts.next().is_some() {
        return None;
    }
    let sampled = u8::from_str_radix(flags, 16).ok()? & 1 == 1;
    Some((trace_id.parse().ok()?, span_id.parse().ok()?, sampled))
}

/// A plausible `tracestate`: at most 32 members and 512 characters, printable ASCII.
fn valid_tracestate(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 512
        && value.split(',').filter(|m| !m.trim().is_empty()).count() <= 32
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && value
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .all(|m| m.contains('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_traceparents_and_rejects_the_rest() {
        let (t, s, sampled) =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(t.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s.to_string(), "00f067aa0ba902b7");
        assert!(sampled);
        for (flags, sampled) in [("00", false), ("03", true), ("02", false), ("ff", true)] {
            let value = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
            assert_eq!(parse_traceparent(&value).unwrap().2, sampled, "{flags}");
        }
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra")
                .is_some()
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn tracestate_checks() {
        assert!(valid_tracestate("vendor=value,other=x"));
        assert!(!valid_tracestate("novalue"));
        assert!(!valid_tracestate(&"a=b,".repeat(40)));
    }
}
