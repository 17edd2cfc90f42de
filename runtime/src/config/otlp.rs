//! The OpenTelemetry exporter variables (`OTEL_EXPORTER_OTLP_*`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_METRIC_EXPORT_INTERVAL`), parsed into a typed [`OtlpConfig`] exactly as the
//! OpenTelemetry specification defines them. A bad value is a [`ConfigError::Invalid`]
//! naming the variable and what it accepts, at `init()`, never a silent default.
//!
//! Over 400 lines with its docs because each public setting carries its doc example; the
//! value parsers are apart, in `otlp_values`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::error::ConfigError;
use super::otlp_values::{
    append_path, check_endpoint, check_header, parse_millis, parse_pairs, HEADERS_ACCEPTED,
    INTERVAL_ACCEPTED, PROTOCOL_ACCEPTED, RESOURCE_ACCEPTED,
};
use crate::model::named_enum::named_enum;

named_enum! {
/// The OTLP transport, as named by `OTEL_EXPORTER_OTLP_PROTOCOL`.
///
/// ```
/// use llm_telemetry::OtlpProtocol;
///
/// assert_eq!(OtlpProtocol::default(), OtlpProtocol::HttpProtobuf);
/// assert_eq!(OtlpProtocol::Grpc.as_str(), "grpc");
/// assert_eq!("http/json".parse::<OtlpProtocol>(), Ok(OtlpProtocol::HttpJson));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
pub enum OtlpProtocol {
    /// OTLP over gRPC (default port 4317).
    #[serde(rename = "grpc")]
    Grpc = "grpc",
    /// OTLP over HTTP with protobuf bodies (default port 4318): the default.
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf = "http/protobuf",
    /// OTLP over HTTP with JSON bodies (port 4318).
    #[serde(rename = "http/json")]
    HttpJson = "http/json",
}
}

impl OtlpProtocol {
    /// The collector's default endpoint for this protocol.
    ///
    /// ```
    /// use llm_telemetry::OtlpProtocol;
    /// assert_eq!(OtlpProtocol::Grpc.default_endpoint(), "http://localhost:4317");
    /// assert_eq!(OtlpProtocol::HttpJson.default_endpoint(), "http://localhost:4318");
    /// ```
    pub fn default_endpoint(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "http://localhost:4317",
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => "http://localhost:4318",
        }
    }
}

impl std::str::FromStr for OtlpProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        OtlpProtocol::from_name_ignore_case(s)
            .ok_or_else(|| format!("unknown protocol `{}`", s.to_ascii_lowercase()))
    }
}

/// One signal (traces or metrics), as the OpenTelemetry variables name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Metrics,
}

impl Signal {
    fn path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Metrics => "v1/metrics",
        }
    }
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
        }
    }
    fn vars(self) -> Vars {
        match self {
            Signal::Traces => Vars {
                endpoint: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                protocol: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                headers: "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                timeout: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            },
            Signal::Metrics => Vars {
                endpoint: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                protocol: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                headers: "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                timeout: "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            },
        }
    }
}

struct Vars {
    endpoint: &'static str,
    protocol: &'static str,
    headers: &'static str,
    timeout: &'static str,
}

const GENERAL: Vars = Vars {
    endpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
    protocol: "OTEL_EXPORTER_OTLP_PROTOCOL",
    headers: "OTEL_EXPORTER_OTLP_HEADERS",
    timeout: "OTEL_EXPORTER_OTLP_TIMEOUT",
};

/// Settings that apply to one signal only (`OTEL_EXPORTER_OTLP_TRACES_*` or
/// `OTEL_EXPORTER_OTLP_METRICS_*`). Each one that is set replaces the general setting
/// for that signal; a signal endpoint is used exactly as given (no path is appended).
///
/// ```
/// use llm_telemetry::{OtlpConfig, OtlpSignalConfig};
///
/// let mut otlp = OtlpConfig::default();
/// otlp.traces = OtlpSignalConfig {
///     endpoint: Some("http://tempo:4318/v1/traces".into()),
///     ..OtlpSignalConfig::default()
/// };
/// assert_eq!(otlp.traces_endpoint().unwrap(), "http://tempo:4318/v1/traces");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpSignalConfig {
    /// Full URL of this signal's receiver, used as given.
    pub endpoint: Option<String>,
    /// Transport for this signal.
    pub protocol: Option<OtlpProtocol>,
    /// Headers for this signal (replace the general headers).
    pub headers: Option<BTreeMap<String, String>>,
    /// Export timeout for this signal, in milliseconds.
    pub timeout_ms: Option<u64>,
}

/// Where and how the `otel_trace` and `otel_metric` sinks export: the OpenTelemetry
/// exporter variables, typed. Read from the environment by
/// [`TelemetryConfig::from_env`](crate::config::TelemetryConfig::from_env), or set in code or in
/// a config file (`"otlp": { "endpoint": "...", "protocol": "grpc" }`).
///
/// | variable | field |
/// |---|---|
/// | `OTEL_EXPORTER_OTLP_ENDPOINT` | `endpoint` (base URL: `/v1/traces`, `/v1/metrics` appended for HTTP) |
/// | `OTEL_EXPORTER_OTLP_PROTOCOL` | `protocol` (`http/protobuf` default, `grpc`, `http/json`) |
/// | `OTEL_EXPORTER_OTLP_HEADERS` | `headers` |
/// | `OTEL_EXPORTER_OTLP_TIMEOUT` | `timeout_ms` (default 10000) |
/// | `OTEL_EXPORTER_OTLP_TRACES_*`, `OTEL_EXPORTER_OTLP_METRICS_*` | `traces`, `metrics` |
/// | `OTEL_RESOURCE_ATTRIBUTES` | `resource_attributes` |
/// | `OTEL_METRIC_EXPORT_INTERVAL` | `metric_export_interval_ms` (default 60000) |
///
/// ```
/// use llm_telemetry::{OtlpConfig, OtlpProtocol};
///
/// let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")];
/// let otlp = OtlpConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
///     .unwrap();
/// assert_eq!(otlp.traces_endpoint().unwrap(), "http://collector:4318/v1/traces");
/// assert_eq!(otlp.metrics_endpoint().unwrap(), "http://collector:4318/v1/metrics");
/// assert_eq!(otlp.traces_protocol(), OtlpProtocol::HttpProtobuf);
///
/// let err = OtlpConfig::from_lookup(|k| (k == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "grcp".into()))
///     .unwrap_err()
///     .to_string();
/// assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && err.contains("grpc, http/protobuf or http/json"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpConfig {
    /// Base URL of the collector (`OTEL_EXPORTER_OTLP_ENDPOINT`); default
    /// `http://localhost:4318`, or `http://localhost:4317` for gRPC.
    pub endpoint: Option<String>,
    /// Transport (`OTEL_EXPORTER_OTLP_PROTOCOL`); default `http/protobuf`.
    pub protocol: Option<OtlpProtocol>,
    /// Headers sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. an API key.
    pub headers: BTreeMap<String, String>,
    /// Export timeout in milliseconds (`OTEL_EXPORTER_OTLP_TIMEOUT`); default 10000.
    pub timeout_ms: Option<u64>,
    /// Trace-only settings (`OTEL_EXPORTER_OTLP_TRACES_*`).
    pub traces: OtlpSignalConfig,
    /// Metric-only settings (`OTEL_EXPORTER_OTLP_METRICS_*`).
    pub metrics: OtlpSignalConfig,
    /// Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`). `service.name` comes
    /// from the service name setting (`OTEL_SERVICE_NAME`), which wins over one given here.
    pub resource_attributes: BTreeMap<String, String>,
    /// How often the `otel_metric` sink exports, in milliseconds
    /// (`OTEL_METRIC_EXPORT_INTERVAL`); default 60000.
    pub metric_export_interval_ms: u64,
}

/// The OpenTelemetry default export timeout.
pub(crate) const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// The OpenTelemetry default metric export interval.
pub(crate) const DEFAULT_METRIC_EXPORT_INTERVAL_MS: u64 = 60_000;

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            endpoint: None,
            protocol: None,
            headers: BTreeMap::new(),
            timeout_ms: None,
            traces: OtlpSignalConfig::default(),
            metrics: OtlpSignalConfig::default(),
            resource_attributes: BTreeMap::new(),
            metric_export_interval_ms: DEFAULT_METRIC_EXPORT_INTERVAL_MS,
        }
    }
}

/// Everything one exporter needs, resolved from the general and signal settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExportTarget {
    pub signal: Signal,
    pub endpoint: String,
    pub protocol: OtlpProtocol,
    pub headers: BTreeMap<String, String>,
    pub timeout: Duration,
}

impl OtlpConfig {
    /// Read the OpenTelemetry variables from any variable source (empty values count as
    /// unset, as the specification says). Every value is checked here.
    ///
    /// ```
    /// use llm_telemetry::OtlpConfig;
    ///
    /// let err = OtlpConfig::from_lookup(|k| (k == "OTEL_EXPORTER_OTLP_HEADERS").then(|| "api-key".into()))
    ///     .unwrap_err()
    ///     .to_string();
    /// assert!(err.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{err}");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = OtlpConfig {
            endpoint: get(GENERAL.endpoint).map(|v| v.trim().to_owned()),
            protocol: get(GENERAL.protocol)
                .map(|v| parse_protocol(GENERAL.protocol, &v))
                .transpose()?,
            headers: get(GENERAL.headers)
                .map(|v| parse_pairs(GENERAL.headers, &v, HEADERS_ACCEPTED))
                .transpose()?
                .unwrap_or_default(),
            timeout_ms: get(GENERAL.timeout)
                .map(|v| parse_millis(GENERAL.timeout, &v))
                .transpose()?,
            traces: OtlpSignalConfig::default(),
            metrics: OtlpSignalConfig::default(),
            resource_attributes: get("OTEL_RESOURCE_ATTRIBUTES")
                .map(|v| parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &v, RESOURCE_ACCEPTED))
                .transpose()?
                .unwrap_or_default(),
            metric_export_interval_ms: match get("OTEL_METRIC_EXPORT_INTERVAL") {
                Some(v) => parse_millis("OTEL_METRIC_EXPORT_INTERVAL", &v)
                    .ok()
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| ConfigError::Invalid {
                        variable: "OTEL_METRIC_EXPORT_INTERVAL",
                        value: v.clone(),
                        problem: "not a positive whole number of milliseconds".into(),
                        expected: INTERVAL_ACCEPTED,
                    })?,
                None => DEFAULT_METRIC_EXPORT_INTERVAL_MS,
            },
        };
        for signal in [Signal::Traces, Signal::Metrics] {
            let vars = signal.vars();
            let parsed = OtlpSignalConfig {
                endpoint: get(vars.endpoint).map(|v| v.trim().to_owned()),
                protocol: get(vars.protocol)
                    .map(|v| parse_protocol(vars.protocol, &v))
                    .transpose()?,
                headers: get(vars.headers)
                    .map(|v| parse_pairs(vars.headers, &v, HEADERS_ACCEPTED))
                    .transpose()?,
                timeout_ms: get(vars.timeout)
                    .map(|v| parse_millis(vars.timeout, &v))
                    .transpose()?,
            };
            match signal {
                Signal::Traces => config.traces = parsed,
                Signal::Metrics => config.metrics = parsed,
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// The URL spans are sent to: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else
    /// the base endpoint (plus `/v1/traces` over HTTP), else the protocol's default.
    ///
    /// ```
    /// let otlp = llm_telemetry::OtlpConfig::default();
    /// assert_eq!(otlp.traces_endpoint().unwrap(), "http://localhost:4318/v1/traces");
    /// ```
    pub fn traces_endpoint(&self) -> Result<String, ConfigError> {
        self.target(Signal::Traces).map(|t| t.endpoint)
    }

    /// The URL metrics are sent to (see [`OtlpConfig::traces_endpoint`]).
    ///
    /// ```
    /// use llm_telemetry::{OtlpConfig, OtlpProtocol};
    /// let otlp = OtlpConfig { protocol: Some(OtlpProtocol::Grpc), ..OtlpConfig::default() };
    /// assert_eq!(otlp.metrics_endpoint().unwrap(), "http://localhost:4317");
    /// ```
    pub fn metrics_endpoint(&self) -> Result<String, ConfigError> {
        self.target(Signal::Metrics).map(|t| t.endpoint)
    }

    /// The transport of the trace exporter.
    ///
    /// ```
    /// use llm_telemetry::{OtlpConfig, OtlpProtocol};
    /// assert_eq!(OtlpConfig::default().traces_protocol(), OtlpProtocol::HttpProtobuf);
    /// ```
    pub fn traces_protocol(&self) -> OtlpProtocol {
        self.protocol_of(Signal::Traces)
    }

    /// The transport of the metric exporter.
    ///
    /// ```
    /// use llm_telemetry::{OtlpConfig, OtlpProtocol};
    /// assert_eq!(OtlpConfig::default().metrics_protocol(), OtlpProtocol::HttpProtobuf);
    /// ```
    pub fn metrics_protocol(&self) -> OtlpProtocol {
        self.protocol_of(Signal::Metrics)
    }

    fn signal(&self, signal: Signal) -> &OtlpSignalConfig {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
        }
    }

    fn protocol_of(&self, signal: Signal) -> OtlpProtocol {
        self.signal(signal)
            .protocol
            .or(self.protocol)
            .unwrap_or_default()
    }

    /// Resolve one signal's exporter settings, checking the endpoint and headers.
    pub(crate) fn target(&self, signal: Signal) -> Result<ExportTarget, ConfigError> {
        let vars = signal.vars();
        let own = self.signal(signal);
        let protocol = self.protocol_of(signal);
        let endpoint = match (&own.endpoint, &self.endpoint) {
            (Some(e), _) => check_endpoint(vars.endpoint, e)?,
            (None, Some(base)) => {
                let base = check_endpoint(GENERAL.endpoint, base)?;
                match protocol {
                    OtlpProtocol::Grpc => base,
                    _ => append_path(&base, signal.path()),
                }
            }
            (None, None) => match protocol {
                OtlpProtocol::Grpc => protocol.default_endpoint().to_owned(),
                _ => append_path(protocol.default_endpoint(), signal.path()),
            },
        };
        let (headers, headers_var) = match &own.headers {
            Some(h) => (h.clone(), vars.headers),
            None => (self.headers.clone(), GENERAL.headers),
        };
        for (name, value) in &headers {
            check_header(headers_var, name, value)?;
        }
        let timeout_ms = own
            .timeout_ms
            .or(self.timeout_ms)
            .unwrap_or(DEFAULT_TIMEOUT_MS);
        Ok(ExportTarget {
            signal,
            endpoint,
            protocol,
            headers,
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    /// Check what can be checked without starting anything (values set in code or
    /// read from a file go through the same checks as the environment's).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.target(Signal::Traces)?;
        self.target(Signal::Metrics)?;
        if self.metric_export_interval_ms == 0 {
            return Err(ConfigError::Invalid {
                variable: "OTEL_METRIC_EXPORT_INTERVAL",
                value: "0".into(),
                problem: "must be positive".into(),
                expected: INTERVAL_ACCEPTED,
            });
        }
        for key in self.resource_attributes.keys() {
            if key.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    variable: "OTEL_RESOURCE_ATTRIBUTES",
                    value: key.clone(),
                    problem: "empty attribute key".into(),
                    expected: RESOURCE_ACCEPTED,
                });
            }
        }
        Ok(())
    }
}

fn parse_protocol(variable: &'static str, value: &str) -> Result<OtlpProtocol, ConfigError> {
    value.parse().map_err(|problem| ConfigError::Invalid {
        variable,
        value: value.to_owned(),
        problem,
        expected: PROTOCOL_ACCEPTED,
    })
}

#[cfg(test)]
#[path = "tests/otlp.rs"]
mod tests;
