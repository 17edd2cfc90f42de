//! Parsers of the `OTEL_EXPORTER_OTLP_*` values (protocols, endpoints, headers, durations,
//! key=value lists), each an error naming the variable, the value and what is accepted.

use std::collections::BTreeMap;

use super::error::ConfigError;

pub(crate) const PROTOCOL_ACCEPTED: &str = "grpc, http/protobuf or http/json";
pub(crate) const ENDPOINT_ACCEPTED: &str =
    "an absolute http:// or https:// URL, e.g. http://localhost:4318 (http/protobuf) or \
     http://localhost:4317 (grpc)";
pub(crate) const HEADERS_ACCEPTED: &str =
    "comma-separated key=value pairs with percent-encoded values, e.g. \
     api-key=secret,x-tenant=acme";
pub(crate) const MILLIS_ACCEPTED: &str = "a whole number of milliseconds, e.g. 10000";
pub(crate) const INTERVAL_ACCEPTED: &str = "a positive whole number of milliseconds, e.g. 60000";
pub(crate) const RESOURCE_ACCEPTED: &str =
    "comma-separated key=value pairs with percent-encoded values, e.g. \
     deployment.environment=prod,service.version=1.2.3";

pub(crate) fn parse_millis(variable: &'static str, value: &str) -> Result<u64, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem: "not a whole number of milliseconds".into(),
            expected: MILLIS_ACCEPTED,
        })
}

/// `key=value,key2=value2` with percent-encoded values (the W3C baggage form that
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES` use).
pub(crate) fn parse_pairs(
    variable: &'static str,
    value: &str,
    expected: &'static str,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let bad = |problem: String| ConfigError::Invalid {
        variable,
        value: value.to_owned(),
        problem,
        expected,
    };
    let mut out = BTreeMap::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(bad(format!("`{item}` is not a key=value pair")));
        };
        let k = percent_decode(k.trim())
            .ok_or_else(|| bad(format!("bad percent-encoding in `{item}`")))?;
        let v = percent_decode(v.trim())
            .ok_or_else(|| bad(format!("bad percent-encoding in `{item}`")))?;
        if k.is_empty() {
            return Err(bad(format!("`{item}` has an empty key")));
        }
        out.insert(k, v);
    }
    Ok(out)
}

pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub(crate) fn check_endpoint(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let bad = |problem: &str| ConfigError::Invalid {
        variable,
        value: value.to_owned(),
        problem: problem.to_owned(),
        expected: ENDPOINT_ACCEPTED,
    };
    let value = value.trim();
    let uri: http::Uri = value.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        Some(_) => return Err(bad("the scheme must be http or https")),
        None => return Err(bad("not an absolute URL (no http:// or https://)")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("the URL has no host"));
    }
    Ok(value.to_owned())
}

/// Append a signal path to a base URL, as the specification does: exactly one `/`
/// between them, whatever path the base already has.
pub(crate) fn append_path(base: &str, path: &str) -> String {
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    let mut out = base.trim_end_matches('/').to_owned();
    out.push('/');
    out.push_str(path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub(crate) fn check_header(
    variable: &'static str,
    name: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let bad = |problem: String| ConfigError::Invalid {
        variable,
        value: format!("{name}={value}"),
        problem,
        expected: HEADERS_ACCEPTED,
    };
    http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| bad(format!("`{name}` is not a valid header name")))?;
    http::HeaderValue::from_str(value)
        .map_err(|_| bad(format!("the value of `{name}` is not a valid header value")))?;
    Ok(())
}
