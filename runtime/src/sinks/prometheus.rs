//! The `prometheus` sink: a scrape endpoint (`TELEMETRY_PROMETHEUS_ADDR`, path
//! `/metrics`) in the text exposition format, encoded by `prometheus-client`.
//!
//! OTel names become Prometheus names the way the OpenTelemetry Prometheus exporter
//! renders them: `llama_stack.tokens` (a `{token}` counter) is
//! `llama_stack_tokens_total{model_id,provider_id}`; `gen_ai.client.token.usage` is the
//! histogram `gen_ai_client_token_usage_bucket/_sum/_count`; a histogram in seconds gets
//! `_seconds` (`gen_ai_client_operation_duration_seconds_bucket`); the `USD` cost counter
//! `{ns}.cost` is `{ns}_cost_usd_total`. Attribute keys become
//! label names with `.` replaced by `_`. A gauge (`{ns}.concurrent_requests`) keeps its
//! last value.
//!
//! With `TELEMETRY_PROMETHEUS_ADDR=none` the sink binds no listener: an application that
//! serves HTTP itself (`llm-trace serve`) answers its own `/metrics` with
//! `TelemetryGuard::prometheus_text`, which encodes the same registry ([`PrometheusText`]).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry, Unit};

use crate::config::{ConfigError, TelemetryConfig};
use crate::metrics::instruments::{
    description, histogram_buckets, is_whole_count, llama_stack_counters, COST_UNIT,
    OPERATION_DURATION, SECONDS_UNIT, TOKEN_UNIT, TOKEN_USAGE,
};
use crate::metrics::prometheus_names::sanitize;
use crate::metrics::InferenceMetrics;
use crate::model::diag::warn_stderr;
use crate::model::metric::MetricRecord;
use crate::model::suppress::mark_thread_internal;
use crate::model::vocab::Instrument;
use crate::pipeline::{BatchWriter, Telemetry, WriteError};

type Labels = Vec<(String, String)>;

/// The content type of what `/metrics` serves.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct Buckets(&'static [f64]);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

#[derive(Clone)]
enum Fam {
    U64Counter(Family<Labels, Counter<u64>>),
    F64Counter(Family<Labels, Counter<f64, AtomicU64>>),
    Histogram(Family<Labels, Histogram, Buckets>),
    Gauge(Family<Labels, Gauge<f64, AtomicU64>>),
}

/// The registry the sink's worker updates, encoded on demand in the text exposition
/// format: what `/metrics` serves, and what `TelemetryGuard::prometheus_text` returns.
#[derive(Clone)]
pub(crate) struct PrometheusText(Arc<Mutex<Registry>>);

impl PrometheusText {
    /// The exposition text, `None` if it cannot be encoded (a poisoned registry).
    pub(crate) fn encode(&self) -> Option<String> {
        let registry = self.0.lock().ok()?;
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).ok()?;
        Some(text)
    }
}

/// Updates the metric families on the sink's worker; a server thread encodes them.
pub(crate) struct PrometheusWriter {
    registry: Arc<Mutex<Registry>>,
    families: HashMap<String, Fam>,
    server: Option<Server>,
    metrics: InferenceMetrics,
}

impl PrometheusWriter {
    /// Bind the scrape address now, so a taken or bad address fails `init()`; with the
    /// address `none`, bind nothing (the registry is read through [`Self::text`]).
    pub(crate) fn new(config: &TelemetryConfig) -> Result<Self, ConfigError> {
        let addr = config.prometheus_addr();
        let bind_error = |e: std::io::Error| ConfigError::Invalid {
            variable: "TELEMETRY_PROMETHEUS_ADDR",
            value: addr.to_owned(),
            problem: format!("cannot serve /metrics there: {e}"),
            expected: "a free host:port on this machine, e.g. 127.0.0.1:9464 or 0.0.0.0:9464, \
                       or none",
        };
        let listener = if config.prometheus_listens() {
            Some(TcpListener::bind(addr).map_err(bind_error)?)
        } else {
            None
        };
        let registry = Arc::new(Mutex::new(Registry::default()));
        let mut writer = PrometheusWriter {
            registry: registry.clone(),
            families: HashMap::new(),
            server: None,
            metrics: InferenceMetrics::new(config.metric_namespace()),
        };
        // Register the standard families up front (they appear in the exposition once
        // they have a sample), so their order is stable.
        for name in llama_stack_counters(config.metric_namespace()) {
            writer.family(&name, Instrument::Counter, TOKEN_UNIT);
        }
        writer.family(TOKEN_USAGE, Instrument::Histogram, TOKEN_UNIT);
        writer.family(OPERATION_DURATION, Instrument::Histogram, SECONDS_UNIT);
        if let Some(listener) = listener {
            writer.server = Some(Server::start(listener, registry).map_err(bind_error)?);
        }
        Ok(writer)
    }

    /// A handle on the registry this writer updates, to encode it from another thread.
    pub(crate) fn text(&self) -> PrometheusText {
        PrometheusText(self.registry.clone())
    }

    fn family(&mut self, name: &str, instrument: Instrument, unit: &str) -> &Fam {
        // Found without allocating the key: every point but a family's first.
        if self.families.contains_key(name) {
            return &self.families[name];
        }
        let registry = &self.registry;
        self.families.entry(name.to_owned()).or_insert_with(|| {
            let family = match instrument {
                Instrument::Counter if is_whole_count(unit) => Fam::U64Counter(Family::default()),
                Instrument::Counter => Fam::F64Counter(Family::default()),
                Instrument::Gauge => Fam::Gauge(Family::default()),
                Instrument::Histogram => Fam::Histogram(Family::new_with_constructor(Buckets(
                    histogram_buckets(name, unit).unwrap_or(&DEFAULT_BUCKETS),
                ))),
            };
            let prom_name = sanitize(name);
            let help = description(name);
            let unit = match unit {
                "s" => Some(Unit::Seconds),
                "By" => Some(Unit::Bytes),
                COST_UNIT => Some(Unit::Other("usd".into())),
                _ => None,
            };
            if let Ok(mut r) = registry.lock() {
                match &family {
                    Fam::U64Counter(f) => register(&mut r, prom_name, help, unit, f.clone()),
                    Fam::F64Counter(f) => register(&mut r, prom_name, help, unit, f.clone()),
                    Fam::Histogram(f) => register(&mut r, prom_name, help, unit, f.clone()),
                    Fam::Gauge(f) => register(&mut r, prom_name, help, unit, f.clone()),
                }
            }
            family
        })
    }

    fn record(&mut self, point: &MetricRecord) {
        let labels: Labels = point
            .attributes
            .iter()
            .map(|(k, v)| (sanitize(k), v.to_string()))
            .collect();
        match self.family(&point.name, point.instrument, &point.unit) {
            Fam::U64Counter(f) => {
                if point.value >= 0.0 {
                    f.get_or_create(&labels).inc_by(point.value.round() as u64);
                }
            }
            Fam::F64Counter(f) => {
                if point.value >= 0.0 {
                    f.get_or_create(&labels).inc_by(point.value);
                }
            }
            Fam::Histogram(f) => f.get_or_create(&labels).observe(point.value),
            Fam::Gauge(f) => {
                f.get_or_create(&labels).set(point.value);
            }
        }
    }
}

fn register(
    registry: &mut Registry,
    name: String,
    help: String,
    unit: Option<Unit>,
    metric: impl Metric,
) {
    match unit {
        Some(u) => registry.register_with_unit(name, help, u, metric),
        None => registry.register(name, help, metric),
    }
}

/// Buckets of a histogram the semantic conventions say nothing about.
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl BatchWriter for PrometheusWriter {
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        for item in batch {
            if let Some(points) = item.metrics(&self.metrics) {
                for point in points.iter() {
                    self.record(point);
                }
            }
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

impl Drop for PrometheusWriter {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

/// A minimal HTTP/1.1 server: `GET /metrics` answers the encoded registry, anything
/// else 404. One connection at a time, each bounded by short timeouts.
struct Server {
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(listener: TcpListener, registry: Arc<Mutex<Registry>>) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("llm-telemetry-prometheus".into())
            .spawn(move || {
                mark_thread_internal();
                for conn in listener.incoming() {
                    if thread_stop.load(Ordering::Acquire) {
                        break;
                    }
                    if let Ok(stream) = conn {
                        if let Err(e) = serve(stream, &registry) {
                            if e.kind() != std::io::ErrorKind::WouldBlock
                                && e.kind() != std::io::ErrorKind::TimedOut
                            {
                                warn_stderr(&format!("prometheus sink: a scrape failed: {e}"));
                            }
                        }
                    }
                }
            })?;
        Ok(Server {
            stop,
            addr,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop with a connection of our own.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let woke = TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok();
        if let Some(thread) = self.thread.take() {
            if woke {
                let _ = thread.join();
            }
        }
    }
}

fn serve(mut stream: TcpStream, registry: &Arc<Mutex<Registry>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&request);
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let method = parts.next().unwrap_or_default();
    let path = parts
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    let (status, content_type, body) = if path != "/metrics" {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: metrics are served at /metrics\n".to_owned(),
        )
    } else if method != "GET" && method != "HEAD" {
        (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "use GET\n".to_owned(),
        )
    } else {
        if let Some(text) = PrometheusText(registry.clone()).encode() {
            ("200 OK", CONTENT_TYPE, text)
        } else {
            (
                "500 Internal Server Error",
                "text/plain; charset=utf-8",
                "cannot encode metrics\n".to_owned(),
            )
        }
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_like_the_otel_prometheus_exporter() {
        assert_eq!(sanitize("llama_stack.tokens"), "llama_stack_tokens");
        assert_eq!(
            sanitize("gen_ai.client.token.usage"),
            "gen_ai_client_token_usage"
        );
        assert_eq!(sanitize("9lives-x"), "_9lives_x");
    }
}
