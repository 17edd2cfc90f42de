//! Parsers of configuration values: each returns the value or a [`ConfigError`] that names
//! the variable, the value and what is accepted.

use std::time::Duration;

use super::{ConfigError, SinkKind};

const SINKS_ACCEPTED: &str =
    "a comma-separated list of console, sqlite, otel_trace, otel_metric, otel (both otel sinks), \
     prometheus, postgres; or empty to disable telemetry";
const BOOL_ACCEPTED: &str = "true, false, 1, 0, yes, no, on, off";

const PROMETHEUS_ADDR_ACCEPTED: &str =
    "host:port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464; or none (no listener)";

/// Parse an age: a positive whole number followed by `s`, `m`, `h`, `d` or `w`
/// (`30m`, `12h`, `7d`, `2w`). `None` for anything else.
///
/// ```
/// use std::time::Duration;
/// use llm_telemetry::store::parse_age;
///
/// assert_eq!(parse_age("7d"), Some(Duration::from_secs(7 * 86_400)));
/// assert_eq!(parse_age("30m"), Some(Duration::from_secs(1_800)));
/// assert_eq!(parse_age("7"), None);
/// assert_eq!(parse_age("0h"), None);
/// ```
pub fn parse_age(s: &str) -> Option<Duration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let n: u64 = s[..s.len() - 1].parse().ok().filter(|n| *n > 0)?;
    n.checked_mul(secs).map(Duration::from_secs)
}

/// The forms [`parse_age`] accepts, for error messages.
pub const AGE_FORMS: &str =
    "a positive whole number with a unit s, m, h, d or w, e.g. 30m, 12h, 7d";

pub(crate) fn dedup(mut sinks: Vec<SinkKind>) -> Vec<SinkKind> {
    let mut seen = Vec::with_capacity(sinks.len());
    sinks.retain(|s| {
        let new = !seen.contains(s);
        seen.push(*s);
        new
    });
    sinks
}

pub(crate) fn parse_sinks(
    variable: &'static str,
    value: &str,
) -> Result<Vec<SinkKind>, ConfigError> {
    let mut sinks = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kinds: &[SinkKind] = match item.to_ascii_lowercase().as_str() {
            "console" => &[SinkKind::Console],
            "sqlite" => &[SinkKind::Sqlite],
            "otel_trace" => &[SinkKind::OtelTrace],
            "otel_metric" => &[SinkKind::OtelMetric],
            "otel" => &[SinkKind::OtelTrace, SinkKind::OtelMetric],
            "prometheus" => &[SinkKind::Prometheus],
            "postgres" => &[SinkKind::Postgres],
            _ => {
                return Err(ConfigError::Invalid {
                    variable,
                    value: value.to_owned(),
                    problem: format!("unknown sink `{item}`"),
                    expected: SINKS_ACCEPTED,
                })
            }
        };
        sinks.extend_from_slice(kinds);
    }
    Ok(dedup(sinks))
}

pub(crate) fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem: "not a boolean".into(),
            expected: BOOL_ACCEPTED,
        }),
    }
}

pub(crate) fn parse_namespace(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem: "not a valid metric name prefix".into(),
            expected:
                "letters, digits and underscores, not starting with a digit (e.g. llama_stack)",
        })
    }
}

/// `host:port` with a numeric port (the host is resolved when the sink binds), or
/// [`PROMETHEUS_NO_LISTENER`](super::PROMETHEUS_NO_LISTENER).
pub(crate) fn parse_host_port(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim();
    if v.eq_ignore_ascii_case(super::PROMETHEUS_NO_LISTENER) {
        return Ok(super::PROMETHEUS_NO_LISTENER.to_owned());
    }
    let ok = v
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok {
        Ok(v.to_owned())
    } else {
        Err(ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem: "not a host:port address".into(),
            expected: PROMETHEUS_ADDR_ACCEPTED,
        })
    }
}

/// `TELEMETRY_SQLITE_RETENTION`: empty = keep everything, else an age such as `7d`.
pub(crate) fn parse_retention(
    variable: &'static str,
    value: &str,
) -> Result<Option<std::time::Duration>, ConfigError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    parse_age(value)
        .map(Some)
        .ok_or_else(|| ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem: "not an age".into(),
            expected: AGE_FORMS,
        })
}
