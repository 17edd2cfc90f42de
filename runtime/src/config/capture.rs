//! Content capture settings beyond on/off: how long one captured attribute may be
//! (`TELEMETRY_CAPTURE_MAX_BYTES`, [`TelemetryConfigBuilder::capture_max_bytes`]) and the
//! redaction hook ([`TelemetryConfigBuilder::redact`]). Here they are only described and
//! checked; the layer applies them, on the application's thread, before a record exists.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use super::{ConfigError, TelemetryConfig, TelemetryConfigBuilder};
use crate::model::content_bound::MIN_MAX_BYTES;

/// The longest captured content attribute when `TELEMETRY_CAPTURE_MAX_BYTES` is not set:
/// 16 KiB, a long prompt or answer, small enough for every OTLP back-end's limits.
pub const DEFAULT_CAPTURE_MAX_BYTES: usize = 16 * 1024;

const MAX_BYTES_ACCEPTED: &str =
    "a whole number of bytes of at least 256, optionally with a KiB or MiB suffix, e.g. 16384, \
     16KiB or 1MiB";

/// A redaction hook's type: a content attribute's key and value in, the value to record out.
type RedactFn = dyn Fn(&str, String) -> String + Send + Sync;

/// The redaction hook ([`TelemetryConfigBuilder::redact`]). Shared by every clone of the
/// configuration.
#[derive(Clone)]
pub(crate) struct Redactor(Arc<RedactFn>);

impl Redactor {
    /// The hook's answer for `key` = `value` (it may panic: the caller catches that).
    pub(crate) fn call(&self, key: &str, value: String) -> String {
        (self.0)(key, value)
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redaction hook>")
    }
}

impl TelemetryConfig {
    /// The longest captured content attribute, in bytes (`TELEMETRY_CAPTURE_MAX_BYTES`,
    /// default 16 KiB); longer values are cut, JSON kept valid, and marked (see the
    /// README, "Content capture: limits and redaction").
    ///
    /// ```
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// assert_eq!(TelemetryConfig::builder().build().capture_max_bytes(), 16_384);
    /// let config = TelemetryConfig::from_lookup(|k| {
    ///     (k == "TELEMETRY_CAPTURE_MAX_BYTES").then(|| "1MiB".to_owned())
    /// })
    /// .unwrap();
    /// assert_eq!(config.capture_max_bytes(), 1 << 20);
    /// ```
    pub fn capture_max_bytes(&self) -> usize {
        self.capture_max_bytes
    }
}

impl TelemetryConfigBuilder {
    /// The longest captured content attribute, in bytes, as `TELEMETRY_CAPTURE_MAX_BYTES`
    /// (checked at `init()`: at least 256).
    ///
    /// ```
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// let config = TelemetryConfig::builder().capture_max_bytes(64 * 1024).build();
    /// assert_eq!(config.capture_max_bytes(), 65_536);
    /// let err = TelemetryConfig::builder().capture_max_bytes(0).build().init_local().unwrap_err();
    /// assert!(err.to_string().contains("capture_max_bytes"), "{err}");
    /// ```
    pub fn capture_max_bytes(mut self, bytes: usize) -> Self {
        self.config.capture_max_bytes = bytes;
        self
    }

    /// A redaction hook for captured content: called with the attribute's key
    /// (`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.tool.call.arguments`,
    /// `gen_ai.tool.call.result`, `gen_ai.retrieval.query.text`,
    /// `gen_ai.retrieval.documents`) and its text, it returns the text to record.
    ///
    /// - It runs only when content capture is on, on the application's thread, inside the
    ///   layer, before the span's record exists: no sink, queue or exporter ever sees the
    ///   text it was given.
    /// - It runs *before* the value is bounded to
    ///   [`capture_max_bytes`](Self::capture_max_bytes), so that a pattern is never
    ///   half-cut by the bound before the hook could see it (the bound then applies to
    ///   what the hook returned). A stream's output is the JSON array of its chunks, of
    ///   which a stream keeps whole chunks up to the bound.
    /// - A hook that panics does not reach the application: the value is recorded as
    ///   `[redaction failed]`, the span's other attributes are kept, and a warning
    ///   (rate-limited) goes to stderr. With `panic = "abort"` a panic still aborts.
    /// - Telemetry from inside the hook (a `tracing` event it emits) is ignored.
    ///
    /// The value comes by value so that a hook with nothing to change returns it without a
    /// copy.
    ///
    /// ```
    /// use llm_telemetry::{SinkKind, TelemetryConfig};
    ///
    /// let config = TelemetryConfig::builder()
    ///     .sinks([SinkKind::Console])
    ///     .capture_content(true)
    ///     .redact(|_key, value| {
    ///         if value.contains("sk-") {
    ///             value.replace("sk-", "[key]-") // or a regex's `replace_all(..).into_owned()`
    ///         } else {
    ///             value // unchanged, no copy
    ///         }
    ///     })
    ///     .build();
    /// assert!(format!("{config:?}").contains("redact: Some(<redaction hook>)"));
    /// ```
    pub fn redact<F>(mut self, hook: F) -> Self
    where
        F: Fn(&str, String) -> String + Send + Sync + 'static,
    {
        self.config.redact = Some(Redactor(Arc::new(hook)));
        self
    }
}

/// `TELEMETRY_CAPTURE_MAX_BYTES` from `lookup`: the default when unset or empty.
pub(crate) fn max_bytes_from(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<usize, ConfigError> {
    const VAR: &str = "TELEMETRY_CAPTURE_MAX_BYTES";
    match lookup(VAR).filter(|v| !v.trim().is_empty()) {
        Some(v) => parse_max_bytes(VAR, &v),
        None => Ok(DEFAULT_CAPTURE_MAX_BYTES),
    }
}

/// A number of bytes, `16384`, `16KiB`, `16 kib` or `1MiB`, of at least [`MIN_MAX_BYTES`].
pub(crate) fn parse_max_bytes(variable: &'static str, value: &str) -> Result<usize, ConfigError> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    let (digits, unit) = if let Some(n) = lower.strip_suffix("kib") {
        (n, 1024)
    } else if let Some(n) = lower.strip_suffix("mib") {
        (n, 1024 * 1024)
    } else {
        (lower.as_str(), 1)
    };
    let bytes = digits
        .trim_end()
        .parse::<usize>()
        .ok()
        .filter(|_| digits.starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem: "not a number of bytes".into(),
            expected: MAX_BYTES_ACCEPTED,
        })?;
    at_least_min(variable, value, bytes)
}

/// A bound smaller than [`MIN_MAX_BYTES`] could hold little but its own marker.
pub(crate) fn check_max_bytes(variable: &'static str, bytes: usize) -> Result<(), ConfigError> {
    at_least_min(variable, &bytes.to_string(), bytes).map(|_| ())
}

fn at_least_min(variable: &'static str, value: &str, bytes: usize) -> Result<usize, ConfigError> {
    if bytes < MIN_MAX_BYTES {
        return Err(ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem: format!("below the minimum of {MIN_MAX_BYTES} bytes"),
            expected: MAX_BYTES_ACCEPTED,
        });
    }
    Ok(bytes)
}

/// `capture_max_bytes` in a config file: a number (`16384`) or the text forms (`"16KiB"`).
pub(crate) fn de_max_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Bytes {
        Number(u64),
        Text(String),
    }
    const FIELD: &str = "capture_max_bytes";
    let bytes = match Bytes::deserialize(d)? {
        Bytes::Number(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            check_max_bytes(FIELD, n).map(|()| n)
        }
        Bytes::Text(s) => parse_max_bytes(FIELD, &s),
    };
    bytes.map_err(serde::de::Error::custom)
}

#[cfg(test)]
#[path = "tests/capture.rs"]
mod tests;
