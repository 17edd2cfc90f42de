//! [`TelemetryConfigBuilder`]: setting the configuration in code.

use std::path::PathBuf;

use super::otlp::{OtlpConfig, OtlpProtocol};
use super::parse::dedup;
use super::{SinkKind, TelemetryConfig};

impl TelemetryConfig {
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
}

/// Sets [`TelemetryConfig`] fields in code; see [`TelemetryConfig::builder`].
#[derive(Clone, Debug)]
pub struct TelemetryConfigBuilder {
    pub(super) config: TelemetryConfig,
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
    /// The `postgres` sink's database, as `TELEMETRY_POSTGRES_URL` (checked at `init()`).
    ///
    /// ```
    /// use llm_telemetry::{SinkKind, TelemetryConfig};
    ///
    /// let config = TelemetryConfig::builder()
    ///     .sinks([SinkKind::Postgres])
    ///     .postgres_url("postgres://app@db.internal/traces?sslmode=verify-full")
    ///     .build();
    /// assert_eq!(config.postgres_url(), Some("postgres://app@db.internal/traces?sslmode=verify-full"));
    /// ```
    pub fn postgres_url(mut self, url: impl Into<String>) -> Self {
        self.config.postgres_url = Some(url.into());
        self
    }
    /// Delete data older than `keep` from the PostgreSQL store in the background, as
    /// `TELEMETRY_POSTGRES_RETENTION` (`None`: keep everything).
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = llm_telemetry::TelemetryConfig::builder()
    ///     .postgres_retention(Some(Duration::from_secs(86_400)))
    ///     .build();
    /// assert_eq!(c.postgres_retention(), Some(Duration::from_secs(86_400)));
    /// ```
    pub fn postgres_retention(mut self, keep: Option<std::time::Duration>) -> Self {
        self.config.postgres_retention = keep;
        self
    }
    /// The `PG*` variables to use instead of the process environment's.
    ///
    /// ```
    /// use llm_telemetry::{PgEnv, TelemetryConfig};
    ///
    /// let env = PgEnv::from_lookup(|k| (k == "PGUSER").then(|| "app".to_owned()));
    /// let config = TelemetryConfig::builder().pg_env(env).build();
    /// assert_eq!(config.pg_env().user.as_deref(), Some("app"));
    /// ```
    pub fn pg_env(mut self, env: super::PgEnv) -> Self {
        self.config.pg_env = Some(env);
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
    /// Which traces the trace sinks receive; metrics stay exact. As `OTEL_TRACES_SAMPLER`.
    ///
    /// ```
    /// use llm_telemetry::{Sampler, TelemetryConfig};
    ///
    /// let config = TelemetryConfig::builder()
    ///     .sampler(Sampler::ParentBasedTraceIdRatio(0.1))
    ///     .build();
    /// assert_eq!(config.sampler().ratio(), Some(0.1));
    /// ```
    pub fn sampler(mut self, sampler: crate::model::sampler::Sampler) -> Self {
        self.config.sampler = sampler;
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
    /// What the `otel_trace` sink keeps while its collector does not answer
    /// (`TELEMETRY_OTLP_BACKLOG`).
    ///
    /// ```
    /// use llm_telemetry::{OtlpBacklog, TelemetryConfig};
    ///
    /// let c = TelemetryConfig::builder().otlp_backlog(OtlpBacklog::OFF).build();
    /// assert!(c.otlp_backlog().is_off());
    /// ```
    pub fn otlp_backlog(mut self, bound: super::OtlpBacklog) -> Self {
        self.config.otlp_backlog = bound;
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
    /// The scrape address of the `prometheus` sink, as `TELEMETRY_PROMETHEUS_ADDR`; `"none"`
    /// binds no listener (serve [`TelemetryGuard::prometheus_text`](crate::TelemetryGuard::prometheus_text)
    /// on your own `/metrics` instead).
    ///
    /// ```
    /// use llm_telemetry::TelemetryConfig;
    ///
    /// let config = TelemetryConfig::builder().prometheus_addr("0.0.0.0:9464").build();
    /// assert_eq!(config.prometheus_addr(), "0.0.0.0:9464");
    /// let own_endpoint = TelemetryConfig::builder().prometheus_addr("none").build();
    /// assert!(!own_endpoint.prometheus_listens());
    /// ```
    pub fn prometheus_addr(mut self, addr: impl Into<String>) -> Self {
        self.config.prometheus_addr = addr.into();
        self
    }
    /// Model prices over the built-in table (replaces what `TELEMETRY_PRICES` said).
    ///
    /// ```
    /// use llm_telemetry::{ModelPrice, Prices, TelemetryConfig};
    ///
    /// let prices = Prices::new().price("gpt-4o", ModelPrice::new(2.0, 8.0));
    /// let config = TelemetryConfig::builder().prices(prices).build();
    /// assert_eq!(config.prices().len(), 1);
    /// ```
    pub fn prices(mut self, prices: super::Prices) -> Self {
        self.config.prices = prices;
        self
    }
    /// Add (or replace) one model's price: an exact name, `provider/name`, or a `*`
    /// pattern; USD per 1M tokens.
    ///
    /// ```
    /// use llm_telemetry::{ModelPrice, TelemetryConfig};
    ///
    /// let config = TelemetryConfig::builder()
    ///     .price("local-rules-1", ModelPrice::new(0.1, 0.2))
    ///     .build();
    /// assert_eq!(config.prices().len(), 1);
    /// ```
    pub fn price(
        mut self,
        model: impl Into<String>,
        price: crate::model::price::ModelPrice,
    ) -> Self {
        self.config.prices = std::mem::take(&mut self.config.prices).price(model, price);
        self
    }
    /// The configuration.
    pub fn build(self) -> TelemetryConfig {
        self.config
    }
}
