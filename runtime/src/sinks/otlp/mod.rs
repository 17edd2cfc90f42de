//! OTLP export: the `otel_trace` and `otel_metric` sinks, on `opentelemetry_sdk` and
//! `opentelemetry-otlp` (HTTP/protobuf, HTTP/JSON or gRPC).
//!
//! Each sink owns a small tokio runtime (one I/O thread) that its exporter's HTTP or
//! gRPC client runs on. The application's own runtime, if it has one, is never used:
//! export works the same under a multi-thread runtime, a current-thread one or none,
//! and never blocks the application's threads. Every thread that runs exporter code is
//! marked so that the telemetry layer ignores what it traces.

pub(crate) mod backlog;
#[cfg(feature = "sqlite")]
pub(crate) mod backlog_store;
pub(crate) mod convert;
pub(crate) mod metric;
pub(crate) mod trace;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::Resource;

use crate::config::otlp::{ExportTarget, OtlpProtocol};
use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::model::diag::warn_stderr;
use crate::model::suppress::mark_thread_internal;

/// Spans sent per request when a backlog drains.
pub(crate) const BACKLOG_CHUNK: usize = 512;

/// The tokio runtime of one sink's exporter.
pub(crate) struct ExportRuntime {
    rt: Option<tokio::runtime::Runtime>,
}

impl ExportRuntime {
    pub(crate) fn new(sink: SinkKind) -> Result<Self, ConfigError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(2)
            .thread_name(format!("llm-telemetry-{sink}-io"))
            // What the HTTP/gRPC stacks trace on these threads must never come back.
            .on_thread_start(mark_thread_internal)
            .enable_all()
            .build()
            .map_err(|e| ConfigError::SinkStart {
                sink,
                reason: format!("cannot start its I/O thread: {e}"),
            })?;
        Ok(ExportRuntime { rt: Some(rt) })
    }

    pub(crate) fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.rt.as_ref().map(|rt| rt.handle())
    }

    /// Run `f` to completion on this runtime, from a thread outside any runtime.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> Option<F::Output> {
        self.rt.as_ref().map(|rt| rt.block_on(f))
    }

    /// Stop the I/O thread, waiting briefly for in-flight requests.
    pub(crate) fn shutdown(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_millis(200));
        }
    }
}

impl Drop for ExportRuntime {
    fn drop(&mut self) {
        // Never blocks, so it is safe even on an application thread inside async code
        // (a sink built by an `init()` that then failed elsewhere).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The resource every exported span and metric carries: the SDK's `telemetry.sdk.*`,
/// `OTEL_RESOURCE_ATTRIBUTES`, and `service.name` (which wins over one in the attributes).
pub(crate) fn resource(config: &TelemetryConfig) -> Resource {
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(
            config
                .otlp()
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_service_name(config.service_name().to_owned())
        .build()
}

/// `traces to http://host:4318/v1/traces (http/protobuf)`: how messages name an exporter.
pub(crate) fn describe(target: &ExportTarget) -> String {
    format!(
        "{} to the OTLP collector at {} ({})",
        target.signal.as_str(),
        target.endpoint,
        target.protocol
    )
}

/// The exporter's headers as an `http::HeaderMap` (already validated by the config).
#[cfg(feature = "otlp-grpc")]
pub(crate) fn header_map(target: &ExportTarget) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in &target.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            map.insert(name, value);
        }
    }
    map
}

/// Tracks whether an exporter's collector answers, so that an outage is reported once
/// (naming the endpoint) and its end once, however many exports fail in between.
pub(crate) struct ExportHealth {
    what: String,
    failing: AtomicBool,
}

impl ExportHealth {
    pub(crate) fn new(target: &ExportTarget) -> Self {
        ExportHealth {
            what: describe(target),
            failing: AtomicBool::new(false),
        }
    }

    pub(crate) fn record(&self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                if self.failing.swap(false, Ordering::AcqRel) {
                    eprintln!("llm-telemetry: export of {} has resumed", self.what);
                }
            }
            Err(e) => {
                if !self.failing.swap(true, Ordering::AcqRel) {
                    warn_stderr(&format!(
                        "cannot export {}: {e}. Is a collector running there? Export goes on \
                         trying; this is reported once until it succeeds",
                        self.what
                    ));
                }
            }
        }
    }
}

/// Build an OTLP exporter (`$builder`: `SpanExporter::builder()` or
/// `MetricExporter::builder()`) for `$target` over its protocol, with the retry policy
/// `$retry` and the exporter's own settings (`$(.$with(..))*`, e.g. the temporality) —
/// the one place that matches the protocol to a transport, and where a transport this
/// build lacks becomes an error naming the cargo feature. Evaluates to
/// `Result<Exporter, String>`.
macro_rules! build_exporter {
    ($builder:expr, $target:expr, $retry:expr $(, .$with:ident($($arg:expr),*))* $(,)?) => {{
        let target: &$crate::config::otlp::ExportTarget = $target;
        match target.protocol {
            #[cfg(feature = "otlp-grpc")]
            $crate::config::otlp::OtlpProtocol::Grpc => $crate::sinks::otlp::grpc_target(
                $builder.with_tonic() $(.$with($($arg),*))*,
                target,
                $retry,
            )
            .build()
            .map_err(|e| $crate::sinks::otlp::build_error(target, e)),
            #[cfg(feature = "otlp-http")]
            $crate::config::otlp::OtlpProtocol::HttpProtobuf
            | $crate::config::otlp::OtlpProtocol::HttpJson => $crate::sinks::otlp::http_target(
                $builder.with_http() $(.$with($($arg),*))*,
                target,
                $retry,
            )
            .build()
            .map_err(|e| $crate::sinks::otlp::build_error(target, e)),
            #[allow(unreachable_patterns)]
            missing => Err($crate::sinks::otlp::missing_transport(target, missing)),
        }
    }};
}
pub(crate) use build_exporter;

/// The message of a protocol whose transport this build was compiled without.
#[cfg_attr(all(feature = "otlp-http", feature = "otlp-grpc"), allow(dead_code))]
pub(crate) fn missing_transport(target: &ExportTarget, protocol: OtlpProtocol) -> String {
    let feature = match protocol {
        OtlpProtocol::Grpc => "otlp-grpc",
        OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => "otlp-http",
    };
    format!(
        "{} needs OTLP over {protocol}, which this build lacks: enable the `{feature}` cargo \
         feature of llm-telemetry (or set OTEL_EXPORTER_OTLP_PROTOCOL to the other transport)",
        describe(target)
    )
}

/// Endpoint, timeout, headers (as gRPC metadata) and retry policy of a tonic exporter
/// builder; the same for spans and metrics.
#[cfg(feature = "otlp-grpc")]
pub(crate) fn grpc_target<B>(
    builder: B,
    target: &ExportTarget,
    retry: opentelemetry_otlp::RetryPolicy,
) -> B
where
    B: opentelemetry_otlp::WithExportConfig + opentelemetry_otlp::WithTonicConfig,
{
    builder
        .with_retry_policy(retry)
        .with_endpoint(target.endpoint.clone())
        .with_timeout(target.timeout)
        .with_metadata(
            opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(header_map(
                target,
            )),
        )
}

/// Protocol, endpoint, timeout, headers and retry policy of an HTTP exporter builder.
#[cfg(feature = "otlp-http")]
pub(crate) fn http_target<B>(
    builder: B,
    target: &ExportTarget,
    retry: opentelemetry_otlp::RetryPolicy,
) -> B
where
    B: opentelemetry_otlp::WithExportConfig + opentelemetry_otlp::WithHttpConfig,
{
    builder
        .with_retry_policy(retry)
        .with_protocol(match target.protocol {
            OtlpProtocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
            _ => opentelemetry_otlp::Protocol::HttpBinary,
        })
        .with_endpoint(target.endpoint.clone())
        .with_timeout(target.timeout)
        .with_headers(target.headers.clone().into_iter().collect())
}

/// The message of an exporter that could not be built.
pub(crate) fn build_error(target: &ExportTarget, e: impl std::fmt::Display) -> String {
    format!(
        "cannot build the OTLP exporter for {}: {e}",
        describe(target)
    )
}

/// What the OTLP sinks' tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A "collector" on 127.0.0.1 that hangs up on every connection: its port, and how many
    /// connections (export attempts) it has accepted.
    pub(crate) fn hang_up_collector() -> (u16, impl Fn() -> usize) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = attempts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        (port, move || attempts.load(Ordering::SeqCst))
    }

    /// A configuration that exports to `127.0.0.1:port` over HTTP.
    pub(crate) fn config_for(port: u16) -> crate::config::TelemetryConfig {
        let vars = [
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000".to_owned()),
        ];
        crate::config::TelemetryConfig::from_lookup(|k| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
    }
}
