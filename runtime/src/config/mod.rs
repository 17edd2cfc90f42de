//! L1, configuration: what llm-telemetry can be told, from the environment ([`env`]), from
//! code ([`builder`]) or from a file (serde). Parsing checks every value and a bad one is an
//! error naming the variable, the value and what is accepted ([`parse`], [`error`]).
//! Nothing here starts or installs anything: `install` (above the layer) does.

pub mod backlog;
pub mod builder;
pub mod capture;
pub mod env;
pub mod error;
pub mod otlp;
pub mod otlp_values;
pub mod parse;
pub mod postgres;
pub mod prices;
pub mod sampler;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use backlog::OtlpBacklog;
pub use builder::TelemetryConfigBuilder;
pub use error::ConfigError;
pub use otlp::{OtlpConfig, OtlpProtocol, OtlpSignalConfig};
pub use postgres::PgEnv;
pub use prices::Prices;

use crate::model::named_enum::named_enum;
use parse::{parse_host_port, parse_namespace, parse_retention};

named_enum! {
    /// A destination for telemetry, as named in `TELEMETRY_SINKS`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum SinkKind {
        /// One readable line per finished span, on stderr.
        Console = "console",
        /// The SQLite trace store (`TELEMETRY_SQLITE_DB_PATH`).
        Sqlite = "sqlite",
        /// Spans over OTLP.
        OtelTrace = "otel_trace",
        /// Metrics over OTLP.
        OtelMetric = "otel_metric",
        /// A Prometheus scrape endpoint.
        Prometheus = "prometheus",
        /// A PostgreSQL store (`TELEMETRY_POSTGRES_URL`) that many processes share.
        Postgres = "postgres",
    }
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
    /// `TELEMETRY_OTLP_BACKLOG`: what the `otel_trace` sink keeps while its collector is down.
    pub(crate) otlp_backlog: OtlpBacklog,
    pub(crate) prometheus_addr: String,
    /// `TELEMETRY_SQLITE_RETENTION`: delete stored data older than this.
    #[serde(deserialize_with = "de_retention")]
    pub(crate) sqlite_retention: Option<std::time::Duration>,
    /// `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`: which traces the trace sinks get.
    pub(crate) sampler: crate::model::sampler::Sampler,
    /// `TELEMETRY_POSTGRES_URL`: the `postgres` sink's database.
    pub(crate) postgres_url: Option<String>,
    /// `TELEMETRY_POSTGRES_RETENTION`: the `postgres` sink deletes data older than this.
    #[serde(deserialize_with = "de_retention")]
    pub(crate) postgres_retention: Option<std::time::Duration>,
    /// The `PG*` variables as `from_env` / `from_lookup` found them; `None` (a config built
    /// in code or read from a file): the sink reads the process environment, as libpq does.
    #[serde(skip)]
    pub(crate) pg_env: Option<PgEnv>,
    /// `TELEMETRY_PRICES`: model prices over the built-in table.
    pub(crate) prices: Prices,
    /// `TELEMETRY_CAPTURE_MAX_BYTES`: the longest captured content attribute ([`capture`]).
    #[serde(deserialize_with = "capture::de_max_bytes")]
    pub(crate) capture_max_bytes: usize,
    /// The redaction hook of captured content (code only, not in a file).
    #[serde(skip)]
    pub(crate) redact: Option<capture::Redactor>,
}

fn de_retention<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::time::Duration>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(v) => parse_retention("sqlite_retention", &v).map_err(serde::de::Error::custom),
    }
}

/// Default queue capacity per sink, in items (spans, metric batches, logs).
pub(crate) const DEFAULT_QUEUE_CAPACITY: usize = 131_072;

/// Default scrape address of the `prometheus` sink.
pub(crate) const DEFAULT_PROMETHEUS_ADDR: &str = "127.0.0.1:9464";

/// The `TELEMETRY_PROMETHEUS_ADDR` value (any case) that gives the `prometheus` sink no
/// listener of its own: the application serves the text of
/// `TelemetryGuard::prometheus_text` on its own `/metrics`.
pub(crate) const PROMETHEUS_NO_LISTENER: &str = "none";
impl TelemetryConfig {
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
    /// The `postgres` sink's database (`TELEMETRY_POSTGRES_URL`): a `postgres://` URL or a
    /// libpq `key=value` string.
    ///
    /// ```
    /// let c = llm_telemetry::TelemetryConfig::from_lookup(|k| {
    ///     (k == "TELEMETRY_POSTGRES_URL").then(|| "postgres://app@db/traces".to_string())
    /// }).unwrap();
    /// assert_eq!(c.postgres_url(), Some("postgres://app@db/traces"));
    /// ```
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres_url.as_deref()
    }
    /// How long the `postgres` sink keeps data (`TELEMETRY_POSTGRES_RETENTION`); `None`:
    /// forever.
    ///
    /// ```
    /// let c = llm_telemetry::TelemetryConfig::from_lookup(|k| {
    ///     (k == "TELEMETRY_POSTGRES_RETENTION").then(|| "30d".to_string())
    /// }).unwrap();
    /// assert_eq!(c.postgres_retention(), Some(std::time::Duration::from_secs(30 * 86_400)));
    /// ```
    pub fn postgres_retention(&self) -> Option<std::time::Duration> {
        self.postgres_retention
    }
    /// The `PG*` variables the `postgres` sink uses for what its URL leaves out: those
    /// `from_env` / `from_lookup` read, else (a config built in code or read from a file)
    /// the process environment's.
    pub fn pg_env(&self) -> PgEnv {
        self.pg_env.clone().unwrap_or_else(PgEnv::from_env)
    }
    /// The `service.name` resource attribute.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }
    /// Whether prompts, completions and tool arguments are recorded.
    pub fn capture_content(&self) -> bool {
        self.capture_content
    }
    /// Which traces the trace sinks receive (`OTEL_TRACES_SAMPLER`,
    /// `OTEL_TRACES_SAMPLER_ARG`); metrics are never sampled.
    ///
    /// ```
    /// use llm_telemetry::{Sampler, TelemetryConfig};
    ///
    /// let config = TelemetryConfig::from_lookup(|k| match k {
    ///     "OTEL_TRACES_SAMPLER" => Some("parentbased_traceidratio".into()),
    ///     "OTEL_TRACES_SAMPLER_ARG" => Some("0.1".into()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// assert_eq!(config.sampler(), Sampler::ParentBasedTraceIdRatio(0.1));
    /// ```
    pub fn sampler(&self) -> crate::model::sampler::Sampler {
        self.sampler
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
    /// Whether the `prometheus` sink binds a scrape endpoint of its own: false when
    /// `TELEMETRY_PROMETHEUS_ADDR` (or [`prometheus_addr`](TelemetryConfigBuilder::prometheus_addr))
    /// is `none`, for an application that serves
    /// [`TelemetryGuard::prometheus_text`](crate::TelemetryGuard::prometheus_text) itself.
    ///
    /// ```
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// assert!(TelemetryConfig::builder().build().prometheus_listens());
    /// let config = TelemetryConfig::from_lookup(|var| {
    ///     (var == "TELEMETRY_PROMETHEUS_ADDR").then(|| "none".to_owned())
    /// })
    /// .unwrap();
    /// assert!(!config.prometheus_listens());
    /// ```
    pub fn prometheus_listens(&self) -> bool {
        !self
            .prometheus_addr
            .trim()
            .eq_ignore_ascii_case(PROMETHEUS_NO_LISTENER)
    }

    /// What the `otel_trace` sink keeps for a collector that does not answer
    /// (`TELEMETRY_OTLP_BACKLOG`).
    ///
    /// ```
    /// let c = llm_telemetry::TelemetryConfig::from_lookup(|k| {
    ///     (k == "TELEMETRY_OTLP_BACKLOG").then(|| "500,5m".to_string())
    /// })
    /// .unwrap();
    /// assert_eq!(c.otlp_backlog().max_spans, 500);
    /// ```
    pub fn otlp_backlog(&self) -> OtlpBacklog {
        self.otlp_backlog
    }

    /// The model prices that add to or override the built-in table (`TELEMETRY_PRICES`).
    pub fn prices(&self) -> &Prices {
        &self.prices
    }

    /// Check what can be checked without starting anything.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        parse_namespace("metric_namespace", &self.metric_namespace)?;
        self.otlp.validate()?;
        self.prices.validate()?;
        parse_host_port("TELEMETRY_PROMETHEUS_ADDR", &self.prometheus_addr)?;
        capture::check_max_bytes("capture_max_bytes", self.capture_max_bytes)?;
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

#[cfg(test)]
mod tests;
