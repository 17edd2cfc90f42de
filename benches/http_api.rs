//! What `llm-trace serve`'s HTTP layer adds to a query: the same calls through HTTP (a
//! release `llm-trace serve` on loopback, keep-alive clients) and on `TraceStore` directly,
//! side by side in one run, on the 1,000,000-span bench store (`benches/support`).
//!
//! ```text
//! cargo bench --bench http_api            # STORE_BENCH_SPANS=100000 for a quick look
//! ```
//!
//! Calls: `query_traces` limit 100 (no filter, and filtered by model, a quarter of the
//! traces) and `get_span_tree` of a 100-span trace's root. For each, 1 and 8 concurrent
//! clients (threads; each its own `TraceStore` handle or its own HTTP connection) make
//! `HTTP_BENCH_REQUESTS` calls each (default 200), after 20 unmeasured ones; every latency is
//! kept and the table gives p50, p99 and requests/s, and the HTTP layer's added p50.

#[path = "support/bench_store.rs"]
mod bench_store;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bench_store::{bench_store, llm_trace_binary};
use llm_telemetry::store::{AttributeFilter, TraceQuery, TraceStore};
use serde_json::json;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &std::path::Path) -> Server {
    let mut child = Command::new(llm_trace_binary())
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(db)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start llm-trace serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the ready line")
        .to_owned();
    Server { child, base }
}

#[derive(Clone, Copy)]
enum Call {
    Traces,
    TracesByModel,
    SpanTree,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Traces => "query_traces limit 100",
            Call::TracesByModel => "query_traces model= limit 100",
            Call::SpanTree => "get_span_tree 100 spans",
        }
    }
}

/// Latencies of `clients` threads making `n` calls each, and the wall time of the run.
fn run(
    clients: usize,
    n: usize,
    make: impl Fn() -> Box<dyn FnMut() + Send> + Sync,
) -> (Vec<Duration>, Duration) {
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut all = Vec::new();
    let wall = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let barrier = barrier.clone();
                let mut call = make();
                scope.spawn(move || {
                    for _ in 0..20 {
                        call();
                    }
                    barrier.wait();
                    let mut times = Vec::with_capacity(n);
                    for _ in 0..n {
                        let t = Instant::now();
                        call();
                        times.push(t.elapsed());
                    }
                    barrier.wait();
                    times
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        let wall = start.elapsed();
        for h in handles {
            all.extend(h.join().unwrap());
        }
        wall
    });
    all.sort();
    (all, wall)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let filled = bench_store();
    let n: usize = std::env::var("HTTP_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let server = serve(&filled.path);
    let base = server.base.clone();
    let root = filled.big_root.clone();
    println!(
        "{:<30} {:>7} | {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} | {:>9}",
        "call", "clients", "p50 ms", "p99 ms", "req/s", "p50 ms", "p99 ms", "req/s", "added p50"
    );
    println!(
        "{:<30} {:>7} | {:^26} | {:^26} |",
        "", "", "TraceStore", "HTTP"
    );
    for call in [Call::Traces, Call::TracesByModel, Call::SpanTree] {
        for clients in [1, 8] {
            let db = filled.path.clone();
            let root_d = root.clone();
            let (direct, direct_wall) = run(clients, n, move || {
                let store = TraceStore::open(&db).unwrap();
                let root = root_d.clone();
                let model = vec![AttributeFilter::eq("gen_ai.request.model", "llama3.2:3b")];
                Box::new(move || match call {
                    Call::Traces => {
                        let q = TraceQuery {
                            limit: 100,
                            ..TraceQuery::default()
                        };
                        assert_eq!(store.list_traces(&q).unwrap().len(), 100);
                    }
                    Call::TracesByModel => {
                        let q = TraceQuery {
                            limit: 100,
                            filters: model.clone(),
                            ..TraceQuery::default()
                        };
                        assert_eq!(store.list_traces(&q).unwrap().len(), 100);
                    }
                    Call::SpanTree => {
                        assert_eq!(store.get_span_tree(&root, None, None).unwrap().len(), 100);
                    }
                })
            });
            let base_h = base.clone();
            let root_h = root.clone();
            let (http, http_wall) = run(clients, n, move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let (url, body) = match call {
                    Call::Traces => (
                        format!("{base_h}/v1/telemetry/traces"),
                        json!({"limit": 100}),
                    ),
                    Call::TracesByModel => (
                        format!("{base_h}/v1/telemetry/traces"),
                        json!({"limit": 100, "attribute_filters": [
                            {"key": "gen_ai.request.model", "op": "eq", "value": "llama3.2:3b"}]}),
                    ),
                    Call::SpanTree => (
                        format!("{base_h}/v1/telemetry/spans/{root_h}/tree"),
                        json!({}),
                    ),
                };
                let body = body.to_string();
                Box::new(move || {
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .unwrap();
                    assert!(r.status().is_success());
                    let bytes = r.bytes().unwrap();
                    assert!(bytes.len() > 100);
                })
            });
            let rate = |times: &[Duration], wall: Duration| times.len() as f64 / wall.as_secs_f64();
            println!(
                "{:<30} {:>7} | {:>8.2} {:>8.2} {:>8.0} | {:>8.2} {:>8.2} {:>8.0} | {:>8.2}ms",
                call.name(),
                clients,
                pct(&direct, 0.5),
                pct(&direct, 0.99),
                rate(&direct, direct_wall),
                pct(&http, 0.5),
                pct(&http, 0.99),
                rate(&http, http_wall),
                pct(&http, 0.5) - pct(&direct, 0.5),
            );
        }
    }
}
