//! OTLP ingest: spans/s a real OTLP/gRPC client gets accepted *and stored* by
//! `llm-trace serve` (release build), beside the sqlite sink's own write rate for the same
//! kind of span, in one run.
//!
//! ```text
//! cargo bench --bench otlp_ingest                    # N = 1,000,000 spans
//! OTLP_INGEST_SPANS=200000 cargo bench --bench otlp_ingest   # a quick run
//! ```
//!
//! 1. ingest: the export requests (batches of 512 spans, one trace each, three attributes
//!    per span: a tool call) are built and encoded first; then `IN_FLIGHT` concurrent
//!    tonic clients send them to the receiver as fast as it answers. A
//!    `RESOURCE_EXHAUSTED` (the writer's queue is full) is retried after 20 ms and counted
//!    (the OpenTelemetry SDKs wait the 1 s `RetryInfo` instead: a sender that honours it
//!    gets the writer's rate, not more). The clock stops when every span is a row of the
//!    store; the bench checks that the rows equal the spans accepted, each once.
//! 2. sqlite sink: N `#[instrument_tool]` spans from two threads through the runtime's
//!    own sqlite sink (the throughput bench's "tool" phase), first call to the flush: the
//!    rows written per second (the threads outrun the writer, so part is dropped and
//!    counted: the figure is the writer's rate).

#[path = "support/bench_store.rs"]
mod bench_store;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bench_store::llm_trace_binary;
use llm_telemetry::{instrument_tool, SinkKind, TelemetryConfig};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tracing_subscriber::prelude::*;

const BATCH: usize = 512;
const IN_FLIGHT: usize = 8;

#[instrument_tool(tool = "lookup")]
#[inline(never)]
fn lookup(key: u64) -> u64 {
    std::hint::black_box(key.wrapping_mul(31))
}

fn count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.replace(['_', ','], "")
                .parse()
                .expect("a number of spans")
        })
        .unwrap_or(default)
}

fn rows(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("SELECT count(*) FROM spans", [], |r| r.get(0)))
        .unwrap_or(0)
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        key_strindex: 0,
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn requests(n: usize) -> Vec<ExportTraceServiceRequest> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    (0..n.div_ceil(BATCH))
        .map(|b| {
            let spans = (0..BATCH.min(n - b * BATCH))
                .map(|i| {
                    let mut trace_id = [0u8; 16];
                    trace_id[..8].copy_from_slice(&(b as u64 + 1).to_be_bytes());
                    let mut span_id = [0u8; 8];
                    span_id[..4].copy_from_slice(&(b as u32 + 1).to_be_bytes());
                    span_id[4..].copy_from_slice(&(i as u32 + 1).to_be_bytes());
                    Span {
                        trace_id: trace_id.to_vec(),
                        span_id: span_id.to_vec(),
                        name: "execute_tool lookup".into(),
                        kind: 1,
                        start_time_unix_nano: now + i as u64 * 1_000,
                        end_time_unix_nano: now + i as u64 * 1_000 + 500,
                        attributes: vec![
                            kv(
                                "gen_ai.operation.name",
                                any_value::Value::StringValue("execute_tool".into()),
                            ),
                            kv(
                                "gen_ai.tool.name",
                                any_value::Value::StringValue("lookup".into()),
                            ),
                            kv("key", any_value::Value::IntValue(i as i64)),
                        ],
                        ..Default::default()
                    }
                })
                .collect();
            ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![kv(
                            "service.name",
                            any_value::Value::StringValue("otlp-bench".into()),
                        )],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        spans,
                        ..Default::default()
                    }],
                    schema_url: String::new(),
                }],
            }
        })
        .collect()
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `llm-trace serve` on free ports; its OTLP/gRPC endpoint.
fn serve(db: &Path) -> (Serve, String) {
    let mut child = Command::new(llm_trace_binary())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args([
            "--otlp-http-addr",
            "127.0.0.1:0",
            "--otlp-grpc-addr",
            "127.0.0.1:0",
        ])
        .arg("--db")
        .arg(db)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start llm-trace serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _ready = lines.next().expect("the ready line").unwrap();
    let otlp = lines.next().expect("the OTLP line").unwrap();
    let grpc = otlp
        .split(" (HTTP) and ")
        .nth(1)
        .and_then(|r| r.strip_suffix(" (gRPC)"))
        .expect("the gRPC endpoint")
        .to_owned();
    (Serve(child), grpc)
}

fn ingest(dir: &Path, n: usize) -> bool {
    let db = dir.join("ingest.db");
    let batches = requests(n);
    let (_server, endpoint) = serve(&db);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let queue = Arc::new(Mutex::new(batches));
    let retries = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    runtime.block_on(async {
        let channel = tonic::transport::Channel::from_shared(endpoint.clone())
            .unwrap()
            .connect()
            .await
            .expect("connect to the receiver");
        let mut tasks = Vec::new();
        for _ in 0..IN_FLIGHT {
            let (queue, retries) = (queue.clone(), retries.clone());
            let mut client = TraceServiceClient::new(channel.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let Some(request) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    loop {
                        match client.export(request.clone()).await {
                            Ok(_) => break,
                            Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                                retries.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            Err(s) => panic!("export failed: {s}"),
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let accepted = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    while rows(&db) < n as i64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stored = start.elapsed();
    let stored_rows = rows(&db);
    // Nothing arrives late: the count stays.
    std::thread::sleep(Duration::from_millis(500));
    let exact = rows(&db) == n as i64 && stored_rows == n as i64;
    println!(
        "ingest N={n} over OTLP/gRPC ({IN_FLIGHT} in flight, batches of {BATCH}): all accepted \
         after {:.3}s ({:.0} spans/s), all stored after {:.3}s => {:.0} spans/s; \
         {} RESOURCE_EXHAUSTED retries; rows {} (accepted = stored exactly: {exact})",
        accepted.as_secs_f64(),
        n as f64 / accepted.as_secs_f64(),
        stored.as_secs_f64(),
        n as f64 / stored.as_secs_f64(),
        retries.load(Ordering::Relaxed),
        rows(&db),
    );
    exact
}

fn sqlite_sink(dir: &Path, n: u64) -> bool {
    let db = dir.join("sink.db");
    let config = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&db)
        .service_name("otlp-bench")
        .build();
    let (layer, guard) = llm_telemetry::layer(&config).expect("telemetry layer");
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..2 {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..n / 2 + u64::from(t < n % 2) {
                        std::hint::black_box(lookup(i));
                    }
                })
            });
        }
    });
    drop(dispatch);
    guard.flush();
    let total = start.elapsed();
    let stats = *guard.stats().sink("sqlite").expect("sqlite sink");
    drop(guard);
    let stored = rows(&db);
    // Two threads emit faster than one writer stores: the queue fills and the rest is
    // dropped (and counted); the rate is what was written in the time.
    println!(
        "sqlite sink N={n}: #[instrument_tool] from 2 threads as fast as they can, flushed after \
         {:.3}s; {stored} rows => {:.0} spans/s written ({} dropped at the full queue; \
         stored + dropped == emitted: {})",
        total.as_secs_f64(),
        stored as f64 / total.as_secs_f64(),
        stats.dropped,
        stats.stored + stats.dropped == stats.emitted,
    );
    stats.stored + stats.dropped == stats.emitted && stored as u64 == stats.stored
}

fn main() {
    let n = count("OTLP_INGEST_SPANS", 1_000_000);
    let temp = tempfile::tempdir().expect("temporary directory");
    println!("== otlp_ingest: llm-trace serve's OTLP/gRPC receiver vs the sqlite sink ==");
    let ok = ingest(temp.path(), n as usize) & sqlite_sink(temp.path(), n);
    if !ok {
        println!("SOME CHECK FAILED (see above)");
    }
}
