//! `TELEMETRY_OTLP_BACKLOG`: how much the `otel_trace` sink keeps for a collector that does
//! not answer, so that it is sent when the collector is back instead of being dropped.
//!
//! The bound is a number of spans, an age, or both (`10000`, `30m`, `10000,1h`); `off` (or
//! `0`) keeps nothing, as OpenTelemetry's own batch processor does. What falls outside the
//! bound is dropped and counted (`dropped` in the sink's stats), never silently.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::parse::parse_age;
use super::ConfigError;

/// What `TELEMETRY_OTLP_BACKLOG` accepts, for error messages.
pub const BACKLOG_ACCEPTED: &str =
    "a number of spans, an age (s, m, h, d or w), or both separated by a comma, e.g. 10000, \
     30m or 10000,1h; or off (keep nothing)";

/// How many spans the `otel_trace` sink keeps while its collector does not answer, and for
/// how long (`TELEMETRY_OTLP_BACKLOG`). The default keeps 10,000 spans for up to an hour.
///
/// ```
/// use std::time::Duration;
/// use llm_telemetry::OtlpBacklog;
///
/// let bound: OtlpBacklog = "5000,10m".parse().unwrap();
/// assert_eq!(bound.max_spans, 5000);
/// assert_eq!(bound.max_age, Some(Duration::from_secs(600)));
/// assert!("off".parse::<OtlpBacklog>().unwrap().is_off());
/// assert_eq!(OtlpBacklog::default().to_string(), "10000,1h");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OtlpBacklog {
    /// The most spans kept; when one more fails, the oldest kept one is dropped. `0`: none.
    pub max_spans: usize,
    /// A kept span older than this (since it was first refused) is dropped, not sent.
    /// `None`: no age limit.
    pub max_age: Option<Duration>,
}

impl OtlpBacklog {
    /// Keep nothing: a batch the collector did not take is dropped (and counted).
    ///
    /// ```
    /// assert!(llm_telemetry::OtlpBacklog::OFF.is_off());
    /// ```
    pub const OFF: OtlpBacklog = OtlpBacklog {
        max_spans: 0,
        max_age: None,
    };

    /// Whether nothing is kept.
    ///
    /// ```
    /// assert!(!llm_telemetry::OtlpBacklog::default().is_off());
    /// ```
    pub fn is_off(&self) -> bool {
        self.max_spans == 0
    }

    /// Parse the value of `variable` (the name goes into the error).
    pub(crate) fn parse(variable: &'static str, value: &str) -> Result<Self, ConfigError> {
        let invalid = |problem: String| ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem,
            expected: BACKLOG_ACCEPTED,
        };
        let trimmed = value.trim();
        if trimmed.eq_ignore_ascii_case("off") || trimmed == "0" {
            return Ok(OtlpBacklog::OFF);
        }
        let mut spans = None;
        let mut age = None;
        for part in trimmed.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(invalid("an empty part".into()));
            }
            if part.bytes().all(|b| b.is_ascii_digit()) {
                let n: usize = part
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid(format!("`{part}` is not a positive number")))?;
                if spans.replace(n).is_some() {
                    return Err(invalid("two numbers of spans".into()));
                }
            } else {
                let a = parse_age(part)
                    .ok_or_else(|| invalid(format!("`{part}` is neither a number nor an age")))?;
                if age.replace(a).is_some() {
                    return Err(invalid("two ages".into()));
                }
            }
        }
        Ok(OtlpBacklog {
            max_spans: spans.unwrap_or(DEFAULT.max_spans),
            max_age: age.or(if spans.is_some() {
                None
            } else {
                DEFAULT.max_age
            }),
        })
    }
}

const DEFAULT: OtlpBacklog = OtlpBacklog {
    max_spans: 10_000,
    max_age: Some(Duration::from_secs(3_600)),
};

impl Default for OtlpBacklog {
    fn default() -> Self {
        DEFAULT
    }
}

impl std::str::FromStr for OtlpBacklog {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        OtlpBacklog::parse("TELEMETRY_OTLP_BACKLOG", s)
    }
}

impl fmt::Display for OtlpBacklog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_off() {
            return f.write_str("off");
        }
        write!(f, "{}", self.max_spans)?;
        if let Some(age) = self.max_age {
            let secs = age.as_secs();
            let (n, unit) = [(604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m")]
                .into_iter()
                .find(|(u, _)| secs % u == 0 && secs >= *u)
                .map_or((secs, "s"), |(u, name)| (secs / u, name));
            write!(f, ",{n}{unit}")?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for OtlpBacklog {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        OtlpBacklog::parse("otlp_backlog", &text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<OtlpBacklog, String> {
        OtlpBacklog::parse("TELEMETRY_OTLP_BACKLOG", v).map_err(|e| e.to_string())
    }

    #[test]
    fn spans_age_both_and_off() {
        let hour = Some(Duration::from_secs(3_600));
        assert_eq!(parse("2000").unwrap().max_spans, 2000);
        assert_eq!(parse("2000").unwrap().max_age, None);
        assert_eq!(
            parse("30m").unwrap(),
            OtlpBacklog {
                max_spans: 10_000,
                max_age: Some(Duration::from_secs(1_800))
            }
        );
        assert_eq!(
            parse(" 1h , 50 ").unwrap(),
            OtlpBacklog {
                max_spans: 50,
                max_age: hour
            }
        );
        assert!(parse("off").unwrap().is_off());
        assert!(parse("0").unwrap().is_off());
        for v in ["10000,1h", "50,90s", "off", "7,2d"] {
            assert_eq!(parse(v).unwrap().to_string(), v);
        }
    }

    #[test]
    fn config_files_and_the_environment_set_it() {
        let c: crate::config::TelemetryConfig =
            serde_json::from_str(r#"{ "otlp_backlog": "500,5m" }"#).unwrap();
        assert_eq!(c.otlp_backlog().to_string(), "500,5m");
        let e =
            serde_json::from_str::<crate::config::TelemetryConfig>(r#"{ "otlp_backlog": "x" }"#)
                .unwrap_err()
                .to_string();
        assert!(e.contains("otlp_backlog"), "{e}");
        let c = crate::config::TelemetryConfig::from_lookup(|k| {
            (k == "TELEMETRY_OTLP_BACKLOG").then(|| "off".to_owned())
        })
        .unwrap();
        assert!(c.otlp_backlog().is_off());
        let e = crate::config::TelemetryConfig::from_lookup(|k| {
            (k == "TELEMETRY_OTLP_BACKLOG").then(|| "lots".to_owned())
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("TELEMETRY_OTLP_BACKLOG=\"lots\" is invalid"),
            "{e}"
        );
        assert_eq!(
            crate::config::TelemetryConfig::default().otlp_backlog(),
            OtlpBacklog::default()
        );
    }

    #[test]
    fn bad_values_name_the_variable_the_value_and_the_forms() {
        for bad in ["", "ten", "10,", "10,20", "1h,2h", "-5", "10k"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("TELEMETRY_OTLP_BACKLOG"), "{e}");
            assert!(e.contains(&format!("{bad:?}")), "{e}");
            assert!(e.contains("10000,1h"), "{e}");
        }
    }
}
