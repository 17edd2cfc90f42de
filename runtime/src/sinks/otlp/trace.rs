//! The `otel_trace` sink: every span record becomes one OTLP span with the same trace id,
//! span id and parent as its SQLite row ([`super::convert`]), handed to the OTLP
//! `SpanExporter` directly.
//!
//! What the collector does not take for a reason the OTLP specification calls retryable
//! (no connection, a timeout, HTTP 429/502/503/504, gRPC `UNAVAILABLE` and the like) waits
//! in the [`Backlog`] and is sent, oldest first, when the collector answers again; what
//! it refuses for good (any other status) is counted as failed and not sent again, and
//! spans a `partial_success` names as rejected are not retried either.

use std::time::{Duration, Instant};

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::backlog::{Backlog, MemoryBacklog};
use super::convert::{scope, span_data};
use super::{build_exporter, describe, resource, ExportRuntime};
use crate::config::otlp::{ExportTarget, Signal};
use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::metrics::InferenceMetrics;
use crate::model::diag::{warn_stderr, RateLimitedWarning};
use crate::pipeline::{BatchWriter, Report, Telemetry, WriteError};

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
/// exporter attempts at most once per [`RETRY_DOWN_AFTER`]; in between, batches go to the
/// backlog at once, without being sent. Before, every export during an
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

    /// How the export just attempted went: whether the collector answered.
    pub(crate) fn exported(&self, answered: bool) {
        self.next_attempt
            .set((!answered).then(|| Instant::now() + RETRY_DOWN_AFTER));
    }

    /// Both exporters, for what applies to each (shutdown, resource).
    pub(crate) fn both(&mut self) -> [&mut E; 2] {
        [&mut self.with_retries, &mut self.probing]
    }
}

/// How long one write, tick or flush spends sending the backlog before it goes back to
/// the queue (a flush, which the caller waits for, gets [`FLUSH_DRAIN`]).
const DRAIN_BUDGET: Duration = Duration::from_millis(500);
const FLUSH_DRAIN: Duration = Duration::from_secs(2);

/// What became of one export request.
#[derive(Debug)]
enum Delivery {
    /// The collector took it (a `partial_success` included: what it rejected is not retried).
    Delivered,
    /// Not sent, or refused in a way the OTLP specification says to retry.
    Retry(String),
    /// Refused for good (the collector answered with a non-retryable status).
    Refused(String),
}

/// Whether an exporter error is one to retry. The SDK's exporter classifies responses
/// the same way for its own retries but returns only text: `network error` (no answer),
/// `status code: N` (HTTP), `gRPC code: Name` (gRPC); the unit tests below pin those texts
/// against real failures.
fn retryable(e: &opentelemetry_sdk::error::OTelSdkError) -> bool {
    use opentelemetry_sdk::error::OTelSdkError;
    let text = match e {
        OTelSdkError::Timeout(_) => return true,
        OTelSdkError::AlreadyShutdown => return false,
        OTelSdkError::InternalFailure(text) => text,
        #[allow(unreachable_patterns)]
        _ => return true,
    };
    if text.contains("network error") {
        return true;
    }
    if let Some((_, code)) = text.split_once("status code: ") {
        let code: String = code.chars().take_while(char::is_ascii_digit).collect();
        return matches!(code.as_str(), "429" | "502" | "503" | "504");
    }
    if let Some((_, code)) = text.split_once("gRPC code: ") {
        let code: String = code.chars().take_while(char::is_ascii_alphabetic).collect();
        return matches!(
            code.as_str(),
            "Unavailable"
                | "ResourceExhausted"
                | "Cancelled"
                | "DeadlineExceeded"
                | "Aborted"
                | "OutOfRange"
                | "DataLoss"
        );
    }
    // Anything else never reached a collector (a transport error of the client): retry.
    true
}

/// How long the worker rests after a batch it did not send because the collector is down.
/// Discarding at full speed kept a core busy and the queue's two ends bouncing between
/// cores under load; resting lets the queue fill, and a full queue costs the application
/// one failed `try_send`. A full queue (16 batches) still drains in ~0.3 s at shutdown.
const SKIPPED_BATCH_PAUSE: Duration = Duration::from_millis(20);

/// Exports spans over OTLP from the sink's worker thread.
pub(crate) struct TraceWriter {
    // Declared before the runtime: dropped while its I/O thread still runs.
    exporter: RetryUnlessDown<opentelemetry_otlp::SpanExporter>,
    rt: ExportRuntime,
    scope: InstrumentationScope,
    target: ExportTarget,
    what: String,
    // An inference's token events are exported as events of its span.
    metrics: InferenceMetrics,
    // What the collector has not taken yet, and the counts since the last report.
    backlog: Backlog,
    report: Report,
    // Backlog chunks the collector refused for good (said at most every 30 s).
    refused: RateLimitedWarning,
    // The store to keep the backlog in (the sqlite sink's), opened on the worker.
    #[cfg(feature = "sqlite")]
    store: Option<(std::path::PathBuf, String)>,
}

impl TraceWriter {
    /// Build the exporter now, so a configuration it rejects fails `init()`.
    pub(crate) fn new(config: &TelemetryConfig) -> Result<Self, ConfigError> {
        let target = config.otlp().target(Signal::Traces)?;
        let rt = ExportRuntime::new(SinkKind::OtelTrace)?;
        let mut exporter = RetryUnlessDown::build(|retry| span_exporter(&target, &rt, retry))
            .map_err(|reason| ConfigError::SinkStart {
                sink: SinkKind::OtelTrace,
                reason,
            })?;
        let resource = resource(config);
        for e in exporter.both() {
            e.set_resource(&resource);
        }
        let bound = config.otlp_backlog();
        Ok(TraceWriter {
            exporter,
            rt,
            scope: scope(),
            what: describe(&target),
            target,
            metrics: InferenceMetrics::new(config.metric_namespace()),
            backlog: if bound.is_off() {
                Backlog::Off
            } else {
                Backlog::Memory(MemoryBacklog::new(bound))
            },
            report: Report::default(),
            refused: RateLimitedWarning::new(Duration::from_secs(30)),
            #[cfg(feature = "sqlite")]
            store: None,
        })
    }

    /// Keep the backlog in the store at `path` (the sqlite sink's) rather than in memory.
    #[cfg(feature = "sqlite")]
    pub(crate) fn with_store(mut self, path: &std::path::Path, service: &str) -> Self {
        if matches!(self.backlog, Backlog::Memory(_)) {
            self.store = Some((path.to_path_buf(), service.to_owned()));
        }
        self
    }

    /// Open the store backlog on first use (on the worker: the sqlite sink has created or
    /// migrated the store by then); if it cannot be opened, the backlog stays in memory.
    fn open_backlog(&mut self) {
        #[cfg(feature = "sqlite")]
        if let Some((path, service)) = self.store.take() {
            let Backlog::Memory(ref memory) = self.backlog else {
                return;
            };
            let bound = memory.bound();
            match super::backlog_store::StoreBacklog::open(
                &path,
                &self.target.endpoint,
                &service,
                bound,
                self.scope.clone(),
            ) {
                Ok(store) => self.backlog = Backlog::Store(Box::new(store)),
                Err(e) => warn_stderr(&format!(
                    "cannot keep the OTLP backlog in the store {}: {e}; it is kept in memory",
                    path.display()
                )),
            }
        }
    }

    /// The OTLP spans of `batch`.
    fn convert(&self, batch: &[Telemetry]) -> Vec<SpanData> {
        batch
            .iter()
            .filter_map(|item| otlp_span(item, &self.metrics, &self.scope))
            .collect()
    }

    /// Export `spans` now, unless the collector is down and the next attempt is not due
    /// (then `Err` with how long until it is).
    fn send(&self, spans: Vec<SpanData>) -> Result<Delivery, Duration> {
        let exporter = self.exporter.current()?;
        // The exporter bounds each request by the timeout; this bounds everything else
        // (a collector that accepts connections and never answers).
        let limit = self.target.timeout + Duration::from_millis(500);
        let Some(outcome) = self
            .rt
            .block_on(async move { tokio::time::timeout(limit, exporter.export(spans)).await })
        else {
            return Ok(Delivery::Refused("the exporter is shut down".into()));
        };
        let delivery = match outcome {
            Ok(Ok(())) => Delivery::Delivered,
            Ok(Err(e)) if retryable(&e) => Delivery::Retry(format!(
                "cannot export {}: {e}. Is a collector running there?",
                self.what
            )),
            Ok(Err(e)) => Delivery::Refused(format!("{} refused the spans: {e}", self.what)),
            Err(_) => Delivery::Retry(format!(
                "cannot export {}: no answer within {limit:?}",
                self.what
            )),
        };
        self.exporter
            .exported(!matches!(delivery, Delivery::Retry(_)));
        Ok(delivery)
    }

    /// Send the backlog, oldest first, for up to `budget`. False when the collector did
    /// not take it (or is down and not due for an attempt).
    fn drain(&mut self, budget: Duration) -> bool {
        let start = Instant::now();
        while !self.backlog.is_empty() && start.elapsed() < budget {
            if self.exporter.current().is_err() {
                return false;
            }
            let (metrics, scope) = (&self.metrics, &self.scope);
            let chunk = self
                .backlog
                .oldest(&|item| otlp_span(item, metrics, scope), &mut self.report);
            if chunk.is_empty() {
                break;
            }
            match self.send(chunk) {
                Ok(Delivery::Delivered) => self.backlog.sent(true, &mut self.report),
                Ok(Delivery::Refused(e)) => {
                    self.refused.warn(|| {
                        format!("{e}: spans that had waited for it; they are not sent again")
                    });
                    self.backlog.sent(false, &mut self.report);
                }
                Ok(Delivery::Retry(_)) | Err(_) => return false,
            }
        }
        true
    }
}

/// The OTLP span of a queue item, with the events derived on this thread.
fn otlp_span(
    item: &Telemetry,
    metrics: &InferenceMetrics,
    scope: &InstrumentationScope,
) -> Option<SpanData> {
    item.span()
        .map(|span| span_data(span, &item.derived_events(metrics), scope))
}

fn span_exporter(
    target: &ExportTarget,
    rt: &ExportRuntime,
    retry: opentelemetry_otlp::RetryPolicy,
) -> Result<opentelemetry_otlp::SpanExporter, String> {
    // tonic's lazy channel spawns its worker on the runtime current at build time.
    let _enter = rt.handle().map(|h| h.enter());
    build_exporter!(opentelemetry_otlp::SpanExporter::builder(), target, retry)
}

impl BatchWriter for TraceWriter {
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        self.open_backlog();
        let spans = self.convert(batch);
        // Items that are not spans (none reach this sink) count as written.
        self.report.stored += (batch.len() - spans.len()) as u64;
        if spans.is_empty() {
            return Ok(());
        }
        let n = spans.len() as u64;
        // What waits goes first; the batch follows once the collector has taken some.
        let outcome = if self.drain(DRAIN_BUDGET) {
            self.send(spans)
        } else {
            Err(self.exporter.current().err().unwrap_or_default())
        };
        let error = match outcome {
            Ok(Delivery::Delivered) => {
                self.report.stored += n;
                return Ok(());
            }
            Ok(Delivery::Refused(e)) => {
                self.report.failed += n;
                return Err(format!("{e}; they are not sent again").into());
            }
            Ok(Delivery::Retry(e)) => e,
            Err(wait) => {
                std::thread::sleep(wait.min(SKIPPED_BATCH_PAUSE));
                format!(
                    "cannot export {}: it did not answer the last attempt; the next one is \
                     in {} ms",
                    self.what,
                    wait.as_millis()
                )
            }
        };
        self.backlog.keep(batch, &mut self.report);
        Err(match self.backlog {
            Backlog::Off => format!("{error} (TELEMETRY_OTLP_BACKLOG=off: dropped)"),
            _ => format!(
                "{error}; the spans wait for it ({} waiting, bound TELEMETRY_OTLP_BACKLOG)",
                self.backlog.len()
            ),
        }
        .into())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.open_backlog();
        self.drain(FLUSH_DRAIN);
        Ok(())
    }

    fn tick(&mut self) {
        self.open_backlog();
        self.backlog.tick();
        self.drain(DRAIN_BUDGET);
    }

    fn take_report(&mut self) -> Option<Report> {
        let mut report = std::mem::take(&mut self.report);
        report.pending = self.backlog.len();
        Some(report)
    }

    fn shutdown(&mut self) {
        if let Some(note) = self.backlog.close(&self.what, &mut self.report) {
            eprintln!("llm-telemetry: {note}");
        }
        for e in self.exporter.both() {
            let _ = e.shutdown_with_timeout(Duration::from_millis(500));
        }
        self.rt.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span::SpanRecord;
    use crate::model::vocab::SpanStatus;
    use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::SystemTime;

    fn span(name: &str) -> Telemetry {
        let now = SystemTime::now();
        Telemetry::Span(Arc::new(SpanRecord {
            start_time: now,
            end_time: now,
            status: SpanStatus::Unset,
            ..SpanRecord::test(name)
        }))
    }

    #[test]
    fn an_unreachable_collector_is_tried_once_a_second_after_the_first_failure() {
        // Each export attempt is one accepted connection.
        let (port, seen) = super::super::test_support::hang_up_collector();
        let config = super::super::test_support::config_for(port);
        let mut writer = TraceWriter::new(&config).unwrap();
        // The first failure is retried, as the OTLP retry policy says (3 retries)...
        assert!(writer.write_batch(&[span("a")]).is_err());
        assert_eq!(seen(), 4);
        // ...then, while nothing answers, batches fail without an attempt...
        let err = writer.write_batch(&[span("b")]).unwrap_err().to_string();
        assert!(err.contains("did not answer the last attempt"), "{err}");
        assert_eq!(seen(), 4);
        // ...until the next attempt is due: a short one (2 retries).
        std::thread::sleep(RETRY_DOWN_AFTER + Duration::from_millis(50));
        assert!(writer.write_batch(&[span("c")]).is_err());
        assert_eq!(seen(), 7);
        assert!(writer.write_batch(&[span("d")]).is_err());
        assert_eq!(seen(), 7);
        writer.shutdown();
    }

    /// A collector on 127.0.0.1 that answers every OTLP/HTTP request with the status in
    /// its cell (and an empty body); its port, the cell, and how many requests it had.
    fn status_collector() -> (u16, Arc<AtomicU16>, Arc<AtomicUsize>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(AtomicU16::new(200));
        let requests = Arc::new(AtomicUsize::new(0));
        let (st, rq) = (status.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (st, rq) = (st.clone(), rq.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    loop {
                        let mut length = 0;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let l = line.to_ascii_lowercase();
                            if let Some(v) = l.strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        rq.fetch_add(1, Ordering::SeqCst);
                        let code = st.load(Ordering::SeqCst);
                        let answer = format!(
                            "HTTP/1.1 {code} X\r\ncontent-type: application/x-protobuf\r\n\
                             content-length: 0\r\n\r\n"
                        );
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (port, status, requests)
    }

    #[test]
    fn retryable_refusals_wait_and_are_sent_when_the_collector_takes_them() {
        let (port, status, requests) = status_collector();
        let mut writer = TraceWriter::new(&super::super::test_support::config_for(port)).unwrap();
        status.store(503, Ordering::SeqCst);
        let err = writer.write_batch(&[span("a"), span("b")]).unwrap_err();
        assert!(err.to_string().contains("the spans wait for it"), "{err}");
        let r = writer.take_report().unwrap();
        assert_eq!((r.stored, r.failed, r.dropped, r.pending), (0, 0, 0, 2));
        // The collector takes them again: the next attempt (a second later) sends the
        // backlog, oldest first, then the new batch.
        status.store(200, Ordering::SeqCst);
        std::thread::sleep(RETRY_DOWN_AFTER);
        writer.write_batch(&[span("c")]).unwrap();
        let r = writer.take_report().unwrap();
        assert_eq!((r.stored, r.failed, r.dropped, r.pending), (3, 0, 0, 0));
        // A status the specification says not to retry fails the batch for good.
        status.store(400, Ordering::SeqCst);
        let before = requests.load(Ordering::SeqCst);
        let err = writer.write_batch(&[span("d")]).unwrap_err();
        assert!(err.to_string().contains("not sent again"), "{err}");
        assert_eq!(requests.load(Ordering::SeqCst), before + 1, "not retried");
        let r = writer.take_report().unwrap();
        assert_eq!((r.stored, r.failed, r.dropped, r.pending), (0, 1, 0, 0));
        // ...and the collector answered, so the next batch is sent at once.
        status.store(200, Ordering::SeqCst);
        writer.write_batch(&[span("e")]).unwrap();
        assert_eq!(writer.take_report().unwrap().stored, 1);
        writer.shutdown();
    }

    #[test]
    fn what_the_sdk_says_is_classified_as_the_specification_says() {
        use opentelemetry_sdk::error::OTelSdkError;
        let failure = |t: &str| retryable(&OTelSdkError::InternalFailure(t.into()));
        assert!(failure("HTTP export failed: network error"));
        for code in [429, 502, 503, 504] {
            assert!(failure(&format!(
                "HTTP export failed with status code: {code}"
            )));
        }
        for code in [400, 401, 403, 404, 413, 500] {
            assert!(!failure(&format!(
                "HTTP export failed with status code: {code}"
            )));
        }
        let grpc = |c: &str| {
            failure(&format!(
                "TonicTracesClient export failed with gRPC code: {c}"
            ))
        };
        assert!(grpc("Unavailable: transport error"));
        assert!(grpc("DeadlineExceeded"));
        assert!(!grpc("InvalidArgument"));
        assert!(!grpc("Unauthenticated"));
        assert!(retryable(&OTelSdkError::Timeout(Duration::from_secs(1))));
        assert!(!retryable(&OTelSdkError::AlreadyShutdown));
    }

    #[test]
    fn https_endpoints_speak_tls_over_both_transports() {
        for protocol in ["http/protobuf", "grpc"] {
            // A server that records the first bytes it is sent, then hangs up.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let first_bytes = std::thread::spawn(move || {
                use std::io::Read;
                let (mut stream, _) = listener.accept().unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut buf = [0u8; 3];
                stream.read_exact(&mut buf).map(|_| buf).ok()
            });
            let vars = [
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    format!("https://127.0.0.1:{port}"),
                ),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000".to_owned()),
            ];
            let config = TelemetryConfig::from_lookup(|k| {
                vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
            })
            .unwrap();
            let mut writer = TraceWriter::new(&config).expect(protocol);
            let err = writer.write_batch(&[span("s")]).unwrap_err().to_string();
            assert!(err.contains(&format!("https://127.0.0.1:{port}")), "{err}");
            writer.shutdown();
            // A TLS handshake record (0x16), version 3.x: a ClientHello.
            let hello = first_bytes.join().unwrap().expect(protocol);
            assert_eq!(&hello[..2], &[0x16, 0x03], "{protocol}: {hello:?}");
        }
    }
}
