//! OTLP export: the `otel_trace` and `otel_metric` sinks, on `opentelemetry_sdk` and
//! `opentelemetry-otlp` (HTTP/protobuf, HTTP/JSON or gRPC).
//!
//! Each sink owns a small tokio runtime (one I/O thread) that its exporter's HTTP or
//! gRPC client runs on. The application's own runtime, if it has one, is never used:
//! export works the same under a multi-thread runtime, a current-thread one or none,
//! and never blocks the application's threads. Every thread that runs exporter code is
//! marked so that the telemetry layer ignores what it traces.

pub(crate) mod metric;
pub(crate) mod trace;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::Resource;

use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::otlp_config::ExportTarget;
use crate::pipeline::warn_stderr;

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

/// Mark the current thread as part of the telemetry machinery for the rest of its life.
pub(crate) fn mark_thread_internal() {
    std::mem::forget(crate::layer::suppress_on_this_thread());
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

/// The retry policy of an export while the collector is down: 2 retries, 50 then 100 ms
/// apart.
fn probe_policy() -> opentelemetry_otlp::RetryPolicy {
    opentelemetry_otlp::RetryPolicy::disabled()
        .with_max_retries(2)
        .with_initial_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_millis(100))
}

/// How long an exporter whose collector did not answer waits before it tries again.
pub(crate) const RETRY_DOWN_AFTER: Duration = Duration::from_secs(1);

/// The span exporter, built twice: with the OTLP retry policy (the SDK's recommended
/// one: up to 3 retries, backing off from 100 ms to 1.6 s) while the collector answers,
/// and with a short one ([`probe_policy`]: 2 retries within ~150 ms, enough for a
/// collector that is just starting) once it has not. While it does not answer, the span
/// exporter attempts at most once per [`RETRY_DOWN_AFTER`]; in between, batches fail at
/// once (counted as failed), without being converted or sent. Before, every export during an
/// outage waited out the whole backoff (~0.8 s with no collector listening): a full queue
/// took the guard's 10-second bound to drain, and an application whose collector was
/// unreachable took seconds longer to exit. The first export that succeeds goes back to
/// retrying.
pub(crate) struct RetryUnlessDown<E> {
    with_retries: E,
    probing: E,
    // While the collector does not answer: when the next attempt may be made.
    next_attempt: std::cell::Cell<Option<Instant>>,
}

impl<E> RetryUnlessDown<E> {
    /// `build(retry_policy)` builds one exporter.
    pub(crate) fn build<Err>(
        mut build: impl FnMut(opentelemetry_otlp::RetryPolicy) -> Result<E, Err>,
    ) -> Result<Self, Err> {
        Ok(RetryUnlessDown {
            with_retries: build(opentelemetry_otlp::RetryPolicy::recommended())?,
            probing: build(probe_policy())?,
            next_attempt: std::cell::Cell::new(None),
        })
    }

    /// The exporter for an export now, or how long until the next attempt may be made.
    pub(crate) fn current(&self) -> Result<&E, Duration> {
        match self.next_attempt.get() {
            None => Ok(&self.with_retries),
            Some(at) => match at.checked_duration_since(Instant::now()) {
                Some(wait) if !wait.is_zero() => Err(wait),
                _ => Ok(&self.probing),
            },
        }
    }

    /// How the export just attempted went.
    pub(crate) fn exported(&self, ok: bool) {
        self.next_attempt
            .set((!ok).then(|| Instant::now() + RETRY_DOWN_AFTER));
    }

    /// Both exporters, for what applies to each (shutdown, resource).
    pub(crate) fn both(&mut self) -> [&mut E; 2] {
        [&mut self.with_retries, &mut self.probing]
    }
}

/// Endpoint, timeout, headers (as gRPC metadata) and retry policy of a tonic exporter
/// builder; the same for spans and metrics.
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
            crate::otlp_config::OtlpProtocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
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
