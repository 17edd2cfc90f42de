//! Configuration: from the environment, from code (builder) or from a file (serde).
//! A bad value is an error naming the variable, the value and what is accepted.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::otlp_config::{OtlpConfig, OtlpProtocol};

/// A destination for telemetry, as named in `TELEMETRY_SINKS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// One readable line per finished span, on stderr.
    Console,
    /// The SQLite trace store (`TELEMETRY_SQLITE_DB_PATH`).
    Sqlite,
    /// Spans over OTLP.
    OtelTrace,
    /// Metrics over OTLP.
    OtelMetric,
    /// A Prometheus scrape endpoint.
    Prometheus,
}

impl SinkKind {
    /// Every sink, in the order they are listed in messages.
    pub const ALL: [SinkKind; 5] = [
        SinkKind::Console,
        SinkKind::Sqlite,
        SinkKind::OtelTrace,
        SinkKind::OtelMetric,
        SinkKind::Prometheus,
    ];

    /// The name used in `TELEMETRY_SINKS`.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Console => "console",
            SinkKind::Sqlite => "sqlite",
            SinkKind::OtelTrace => "otel_trace",
            SinkKind::OtelMetric => "otel_metric",
            SinkKind::Prometheus => "prometheus",
        }
    }
}

impl fmt::Display for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const SINKS_ACCEPTED: &str =
    "a comma-separated list of console, sqlite, otel_trace, otel_metric, otel (both otel sinks), \
     prometheus; or empty to disable telemetry";
const BOOL_ACCEPTED: &str = "true, false, 1, 0, yes, no, on, off";

/// Why llm-telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable (or config field) has a value that is not accepted.
    #[error("{variable}={value:?} is invalid: {problem}; expected {expected}")]
    Invalid {
        /// The environment variable (or config field) name.
        variable: &'static str,
        /// The value found.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// A sink was requested that this build does not provide.
    #[error("sink `{sink}` (from {variable}) is not available in this build: {reason}")]
    SinkUnavailable {
        /// The sink.
        sink: SinkKind,
        /// Where it was requested.
        variable: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The SQLite store cannot be opened or written.
    #[error("cannot open the SQLite trace store {path} (TELEMETRY_SQLITE_DB_PATH): {reason}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        reason: String,
    },
    /// An OpenTelemetry or Prometheus sink could not be started.
    #[error("cannot start the `{sink}` sink: {reason}")]
    SinkStart {
        /// The sink.
        sink: SinkKind,
        /// Why.
        reason: String,
    },
    /// A global `tracing` subscriber is already installed.
    #[error(
        "a global tracing subscriber is already set; use llm_telemetry::layer() to add \
         llm-telemetry to it, or TelemetryConfig::init_local() in tests"
    )]
    AlreadyInitialized,
}

/// Everything llm-telemetry can be told. Build it with [`TelemetryConfig::from_env`],
/// [`TelemetryConfig::builder`], or deserialize it from your own config file.
///
/// ```
/// use llm_telemetry::{SinkKind, TelemetryConfig};
///
/// let config: TelemetryConfig = serde_json::from_str(
///     r#"{ "sinks": ["sqlite"], "sqlite_db_path": "/tmp/traces.db", "capture_content": true }"#,
/// ).unwrap();
/// assert_eq!(config.sinks(), &[SinkKind::Sqlite]);
/// assert!(config.capture_content());
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    pub(crate) sinks: Vec<SinkKind>,
    pub(crate) sqlite_db_path: PathBuf,
    pub(crate) service_name: String,
    pub(crate) capture_content: bool,
    pub(crate) metric_namespace: String,
    pub(crate) queue_capacity: usize,
    pub(crate) otlp: OtlpConfig,
    pub(crate) prometheus_addr: String,
    /// `TELEMETRY_SQLITE_RETENTION`: delete stored data older than this.
    #[serde(deserialize_with = "de_retention")]
    pub(crate) sqlite_retention: Option<std::time::Duration>,
}

fn de_retention<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::time::Duration>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(v) => parse_retention("sqlite_retention", &v).map_err(serde::de::Error::custom),
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
    crate::store::parse_age(value)
        .map(Some)
        .ok_or_else(|| ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            problem: "not an age".into(),
            expected: crate::store::AGE_FORMS,
        })
}

impl Default for TelemetryConfig {
    /// The defaults of the environment table: console and sqlite sinks, content off.
    fn default() -> Self {
        TelemetryConfig::from_lookup(|_| None).expect("defaults are valid")
    }
}

/// Default queue capacity per sink, in items (spans, metric batches, logs).
pub(crate) const DEFAULT_QUEUE_CAPACITY: usize = 131_072;

/// Default scrape address of the `prometheus` sink.
pub(crate) const DEFAULT_PROMETHEUS_ADDR: &str = "127.0.0.1:9464";
const PROMETHEUS_ADDR_ACCEPTED: &str = "host:port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464";

impl TelemetryConfig {
    /// Read the configuration from the process environment.
    ///
    /// ```
    /// let config = llm_telemetry::TelemetryConfig::from_env().unwrap();
    /// # let _ = config;
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read the configuration from any variable source: tests pass a map instead of
    /// mutating the process environment.
    ///
    /// ```
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// let err = TelemetryConfig::from_lookup(|k| (k == "TELEMETRY_SINKS").then(|| "sqllite".into()))
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("unknown sink `sqllite`"));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let sinks = match lookup("TELEMETRY_SINKS") {
            Some(v) => parse_sinks("TELEMETRY_SINKS", &v)?,
            None => vec![SinkKind::Console, SinkKind::Sqlite],
        };
        let sqlite_db_path = match lookup("TELEMETRY_SQLITE_DB_PATH").filter(|v| !v.is_empty()) {
            Some(v) => PathBuf::from(v),
            None => default_db_path_from(&lookup),
        };
        let otlp = OtlpConfig::from_lookup(&lookup)?;
        // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES.
        let service_name = lookup("OTEL_SERVICE_NAME")
            .filter(|v| !v.trim().is_empty())
            .or_else(|| {
                otlp.resource_attributes
                    .get("service.name")
                    .filter(|v| !v.trim().is_empty())
                    .cloned()
            })
            .unwrap_or_else(default_service_name);
        let prometheus_addr =
            match lookup("TELEMETRY_PROMETHEUS_ADDR").filter(|v| !v.trim().is_empty()) {
                Some(v) => parse_host_port("TELEMETRY_PROMETHEUS_ADDR", &v)?,
                None => DEFAULT_PROMETHEUS_ADDR.to_owned(),
            };
        let capture_content = match lookup("TELEMETRY_CAPTURE_CONTENT") {
            Some(v) => parse_bool("TELEMETRY_CAPTURE_CONTENT", &v)?,
            None => false,
        };
        let metric_namespace = match lookup("TELEMETRY_METRIC_NAMESPACE") {
            Some(v) => parse_namespace("TELEMETRY_METRIC_NAMESPACE", &v)?,
            None => "llama_stack".to_owned(),
        };
        let queue_capacity = match lookup("TELEMETRY_QUEUE_CAPACITY") {
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError::Invalid {
                    variable: "TELEMETRY_QUEUE_CAPACITY",
                    value: v.clone(),
                    problem: "not a positive integer".into(),
                    expected: "a positive number of items, e.g. 131072",
                })?,
            None => DEFAULT_QUEUE_CAPACITY,
        };
        let sqlite_retention = match lookup("TELEMETRY_SQLITE_RETENTION") {
            Some(v) => parse_retention("TELEMETRY_SQLITE_RETENTION", &v)?,
            None => None,
        };
        Ok(TelemetryConfig {
            sinks,
            sqlite_db_path,
            sqlite_retention,
            service_name,
            capture_content,
            metric_namespace,
            queue_capacity,
            otlp,
            prometheus_addr,
        })
    }

    /// Start from the defaults and set fields in code.
    ///
    /// ```
    /// use llm_telemetry::{SinkKind, TelemetryConfig};
    ///
    /// let config = TelemetryConfig::builder()
    ///     .sinks([SinkKind::Sqlite])
    ///     .sqlite_db_path("/tmp/traces.db")
    ///     .service_name("my-agent")
    ///     .build();
    /// assert_eq!(config.service_name(), "my-agent");
    /// ```
    pub fn builder() -> TelemetryConfigBuilder {
        TelemetryConfigBuilder {
            config: TelemetryConfig::default(),
        }
    }

    /// The enabled sinks.
    pub fn sinks(&self) -> &[SinkKind] {
        &self.sinks
    }
    /// The SQLite store path.
    pub fn sqlite_db_path(&self) -> &Path {
        &self.sqlite_db_path
    }
    /// How long the sqlite sink keeps data (`TELEMETRY_SQLITE_RETENTION`); `None`: forever.
    ///
    /// ```
    /// let c = llm_telemetry::TelemetryConfig::from_lookup(|k| {
    ///     (k == "TELEMETRY_SQLITE_RETENTION").then(|| "7d".to_string())
    /// }).unwrap();
    /// assert_eq!(c.sqlite_retention(), Some(std::time::Duration::from_secs(7 * 86_400)));
    /// ```
    pub fn sqlite_retention(&self) -> Option<std::time::Duration> {
        self.sqlite_retention
    }
    /// The `service.name` resource attribute.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }
    /// Whether prompts, completions and tool arguments are recorded.
    pub fn capture_content(&self) -> bool {
        self.capture_content
    }
    /// Prefix of the llama-stack-style metrics.
    pub fn metric_namespace(&self) -> &str {
        &self.metric_namespace
    }
    /// Where and how the `otel_trace` and `otel_metric` sinks export (the
    /// `OTEL_EXPORTER_OTLP_*` variables).
    ///
    /// ```
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// let config = TelemetryConfig::from_lookup(|k| {
    ///     (k == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://collector:4318".into())
    /// })
    /// .unwrap();
    /// assert_eq!(config.otlp().traces_endpoint().unwrap(), "http://collector:4318/v1/traces");
    /// ```
    pub fn otlp(&self) -> &OtlpConfig {
        &self.otlp
    }
    /// The scrape address of the `prometheus` sink (`TELEMETRY_PROMETHEUS_ADDR`).
    ///
    /// ```
    /// let config = llm_telemetry::TelemetryConfig::from_lookup(|_| None).unwrap();
    /// assert_eq!(config.prometheus_addr(), "127.0.0.1:9464");
    /// ```
    pub fn prometheus_addr(&self) -> &str {
        &self.prometheus_addr
    }

    /// Install llm-telemetry as the global `tracing` subscriber.
    ///
    /// Fails if the configuration cannot be honoured (an unwritable store, say) or a
    /// global subscriber is already set.
    pub fn init(self) -> Result<crate::TelemetryGuard, ConfigError> {
        use tracing_subscriber::prelude::*;
        let (layer, guard) = crate::layer(&self)?;
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .map_err(|_| ConfigError::AlreadyInitialized)?;
        Ok(guard)
    }

    /// Install llm-telemetry as this thread's default subscriber until the guard drops:
    /// for tests, which must not share global state.
    pub fn init_local(self) -> Result<crate::TelemetryGuard, ConfigError> {
        use tracing_subscriber::prelude::*;
        let (layer, mut guard) = crate::layer(&self)?;
        let subscriber = tracing_subscriber::registry().with(layer);
        guard._default = Some(tracing::subscriber::set_default(subscriber));
        Ok(guard)
    }

    /// Check what can be checked without starting anything.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        parse_namespace("metric_namespace", &self.metric_namespace)?;
        self.otlp.validate()?;
        parse_host_port("TELEMETRY_PROMETHEUS_ADDR", &self.prometheus_addr)?;
        if self.queue_capacity == 0 {
            return Err(ConfigError::Invalid {
                variable: "queue_capacity",
                value: "0".into(),
                problem: "must be positive".into(),
                expected: "a positive number of items",
            });
        }
        Ok(())
    }
}

/// Sets [`TelemetryConfig`] fields in code; see [`TelemetryConfig::builder`].
#[derive(Clone, Debug)]
pub struct TelemetryConfigBuilder {
    config: TelemetryConfig,
}

impl TelemetryConfigBuilder {
    /// The sinks to enable (empty: telemetry off).
    pub fn sinks(mut self, sinks: impl IntoIterator<Item = SinkKind>) -> Self {
        self.config.sinks = dedup(sinks.into_iter().collect());
        self
    }
    /// Delete stored data older than `keep` in the background (`None`: keep everything).
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = llm_telemetry::TelemetryConfig::builder()
    ///     .sqlite_retention(Some(Duration::from_secs(3_600)))
    ///     .build();
    /// assert_eq!(c.sqlite_retention(), Some(Duration::from_secs(3_600)));
    /// ```
    pub fn sqlite_retention(mut self, keep: Option<std::time::Duration>) -> Self {
        self.config.sqlite_retention = keep;
        self
    }
    /// The SQLite store path.
    pub fn sqlite_db_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.sqlite_db_path = path.into();
        self
    }
    /// The `service.name` resource attribute.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.config.service_name = name.into();
        self
    }
    /// Record prompts, completions, tool arguments and results.
    pub fn capture_content(mut self, on: bool) -> Self {
        self.config.capture_content = on;
        self
    }
    /// Prefix of the llama-stack-style metrics (default `llama_stack`).
    pub fn metric_namespace(mut self, ns: impl Into<String>) -> Self {
        self.config.metric_namespace = ns.into();
        self
    }
    /// Capacity of each sink's queue, in items.
    pub fn queue_capacity(mut self, items: usize) -> Self {
        self.config.queue_capacity = items;
        self
    }
    /// All OTLP exporter settings at once (replaces what the environment said).
    ///
    /// ```
    /// use llm_telemetry::{OtlpConfig, OtlpProtocol, TelemetryConfig};
    ///
    /// let otlp = OtlpConfig { protocol: Some(OtlpProtocol::Grpc), ..OtlpConfig::default() };
    /// let config = TelemetryConfig::builder().otlp(otlp).build();
    /// assert_eq!(config.otlp().traces_endpoint().unwrap(), "http://localhost:4317");
    /// ```
    pub fn otlp(mut self, otlp: OtlpConfig) -> Self {
        self.config.otlp = otlp;
        self
    }
    /// The collector's base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` (checked at `init()`).
    ///
    /// ```
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// let config = TelemetryConfig::builder().otlp_endpoint("http://127.0.0.1:4318").build();
    /// assert_eq!(config.otlp().metrics_endpoint().unwrap(), "http://127.0.0.1:4318/v1/metrics");
    /// ```
    pub fn otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.otlp.endpoint = Some(url.into());
        self
    }
    /// The OTLP transport, as `OTEL_EXPORTER_OTLP_PROTOCOL`.
    ///
    /// ```
    /// use llm_telemetry::{OtlpProtocol, TelemetryConfig};
    ///
    /// let config = TelemetryConfig::builder().otlp_protocol(OtlpProtocol::Grpc).build();
    /// assert_eq!(config.otlp().traces_protocol(), OtlpProtocol::Grpc);
    /// ```
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.config.otlp.protocol = Some(protocol);
        self
    }
    /// How often the `otel_metric` sink exports, as `OTEL_METRIC_EXPORT_INTERVAL`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// let config = TelemetryConfig::builder().metric_export_interval(Duration::from_secs(5)).build();
    /// assert_eq!(config.otlp().metric_export_interval_ms, 5000);
    /// ```
    pub fn metric_export_interval(mut self, interval: std::time::Duration) -> Self {
        self.config.otlp.metric_export_interval_ms =
            interval.as_millis().try_into().unwrap_or(u64::MAX);
        self
    }
    /// The scrape address of the `prometheus` sink, as `TELEMETRY_PROMETHEUS_ADDR`.
    ///
    /// ```
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// let config = TelemetryConfig::builder().prometheus_addr("0.0.0.0:9464").build();
    /// assert_eq!(config.prometheus_addr(), "0.0.0.0:9464");
    /// ```
    pub fn prometheus_addr(mut self, addr: impl Into<String>) -> Self {
        self.config.prometheus_addr = addr.into();
        self
    }
    /// The configuration.
    pub fn build(self) -> TelemetryConfig {
        self.config
    }
}

fn dedup(mut sinks: Vec<SinkKind>) -> Vec<SinkKind> {
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

fn parse_namespace(variable: &'static str, value: &str) -> Result<String, ConfigError> {
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

/// `$XDG_STATE_HOME/llm-telemetry/trace_store.db`, else `~/.local/state/...`.
pub(crate) fn default_db_path_from(lookup: &impl Fn(&str) -> Option<String>) -> PathBuf {
    let state = lookup("XDG_STATE_HOME")
        .filter(|v| Path::new(v).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            lookup("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".local").join("state"))
        })
        .unwrap_or_else(|| PathBuf::from("."));
    state.join("llm-telemetry").join("trace_store.db")
}

/// `host:port` with a numeric port; the host is resolved when the sink binds.
pub(crate) fn parse_host_port(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim();
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

fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown_service".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TelemetryConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = from(&[("HOME", "/home/u")]).unwrap();
        assert_eq!(c.sinks(), &[SinkKind::Console, SinkKind::Sqlite]);
        assert_eq!(
            c.sqlite_db_path(),
            Path::new("/home/u/.local/state/llm-telemetry/trace_store.db")
        );
        assert!(!c.capture_content());
        assert_eq!(c.metric_namespace(), "llama_stack");
        let c = from(&[("XDG_STATE_HOME", "/state")]).unwrap();
        assert_eq!(
            c.sqlite_db_path(),
            Path::new("/state/llm-telemetry/trace_store.db")
        );
    }

    #[test]
    fn sinks_parse_and_name_bad_values() {
        let c = from(&[("TELEMETRY_SINKS", " otel , sqlite,otel_trace")]).unwrap();
        assert_eq!(
            c.sinks(),
            &[SinkKind::OtelTrace, SinkKind::OtelMetric, SinkKind::Sqlite]
        );
        assert!(from(&[("TELEMETRY_SINKS", "")]).unwrap().sinks().is_empty());
        let e = from(&[("TELEMETRY_SINKS", "console,sqllite")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("TELEMETRY_SINKS"), "{e}");
        assert!(e.contains("sqllite"), "{e}");
        assert!(
            e.contains("console, sqlite, otel_trace, otel_metric"),
            "{e}"
        );
    }

    #[test]
    fn booleans_and_namespaces() {
        assert!(from(&[("TELEMETRY_CAPTURE_CONTENT", "ON")])
            .unwrap()
            .capture_content());
        let e = from(&[("TELEMETRY_CAPTURE_CONTENT", "maybe")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("TELEMETRY_CAPTURE_CONTENT=\"maybe\"") && e.contains("true, false"),
            "{e}"
        );
        let e = from(&[("TELEMETRY_METRIC_NAMESPACE", "my-ns")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("TELEMETRY_METRIC_NAMESPACE"), "{e}");
    }

    #[test]
    fn otlp_and_prometheus_settings() {
        let c = from(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("TELEMETRY_PROMETHEUS_ADDR", "0.0.0.0:9999"),
        ])
        .unwrap();
        assert_eq!(c.otlp().traces_protocol(), OtlpProtocol::Grpc);
        assert_eq!(c.prometheus_addr(), "0.0.0.0:9999");
        assert_eq!(from(&[]).unwrap().prometheus_addr(), "127.0.0.1:9464");
        let e = from(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grcp")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && e.contains("grpc, http/protobuf"),
            "{e}"
        );
        let e = from(&[("TELEMETRY_PROMETHEUS_ADDR", "9464")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("TELEMETRY_PROMETHEUS_ADDR") && e.contains("host:port"),
            "{e}"
        );
        // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
        let c = from(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs")]).unwrap();
        assert_eq!(c.service_name(), "from-attrs");
        let c = from(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=a"),
            ("OTEL_SERVICE_NAME", "b"),
        ])
        .unwrap();
        assert_eq!(c.service_name(), "b");
        // Values set in code are checked at init, naming the variable.
        let c = TelemetryConfig::builder()
            .otlp_endpoint("collector:4318")
            .build();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{e}");
    }
}
