//! Reading the configuration from environment variables (or any lookup function, for tests).

use std::path::{Path, PathBuf};

use super::otlp::OtlpConfig;
use super::parse::{parse_bool, parse_host_port, parse_namespace, parse_retention, parse_sinks};
use super::{
    ConfigError, SinkKind, TelemetryConfig, DEFAULT_PROMETHEUS_ADDR, DEFAULT_QUEUE_CAPACITY,
};

/// The sinks when `TELEMETRY_SINKS` is not set: the console, and the SQLite store when this
/// build has it (the `sqlite` feature, on by default).
const DEFAULT_SINKS: &[SinkKind] = if cfg!(feature = "sqlite") {
    &[SinkKind::Console, SinkKind::Sqlite]
} else {
    &[SinkKind::Console]
};

impl Default for TelemetryConfig {
    /// The defaults of the environment table: console and sqlite sinks, content off.
    fn default() -> Self {
        let mut config = TelemetryConfig::from_lookup(|_| None).expect("defaults are valid");
        // Built in code or read from a file: the postgres sink reads the PG* variables of
        // the process when it starts, as libpq does.
        config.pg_env = None;
        config
    }
}

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
            None => DEFAULT_SINKS.to_vec(),
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
        let otlp_backlog = match lookup("TELEMETRY_OTLP_BACKLOG") {
            Some(v) => super::OtlpBacklog::parse("TELEMETRY_OTLP_BACKLOG", &v)?,
            None => super::OtlpBacklog::default(),
        };
        let postgres_retention = match lookup("TELEMETRY_POSTGRES_RETENTION") {
            Some(v) => parse_retention("TELEMETRY_POSTGRES_RETENTION", &v)?,
            None => None,
        };
        let postgres_url = lookup("TELEMETRY_POSTGRES_URL").filter(|v| !v.trim().is_empty());
        let pg_env = Some(super::PgEnv::from_lookup(&lookup));
        let sampler = super::sampler::sampler_from_lookup(&lookup)?;
        let prices = match lookup("TELEMETRY_PRICES").filter(|v| !v.trim().is_empty()) {
            Some(path) => super::Prices::read("TELEMETRY_PRICES", Path::new(path.trim()))?,
            None => super::Prices::default(),
        };
        let capture_max_bytes = super::capture::max_bytes_from(&lookup)?;
        Ok(TelemetryConfig {
            sinks,
            sampler,
            sqlite_db_path,
            sqlite_retention,
            postgres_url,
            postgres_retention,
            pg_env,
            service_name,
            capture_content,
            metric_namespace,
            queue_capacity,
            otlp,
            otlp_backlog,
            prometheus_addr,
            prices,
            capture_max_bytes,
            redact: None,
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

fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown_service".to_owned())
}
