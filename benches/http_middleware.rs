//! The request middleware's added cost per request, against the same axum server without
//! it, in one run.
//!
//! ```text
//! cargo bench --bench http_middleware
//! ```
//!
//! Cases (one criterion group, `http_middleware/…`), the same router and handler (`GET
//! /v1/models/{id}` answering a short text) each time:
//!
//! In process, one request through the router with `tower::ServiceExt::oneshot`:
//! * `a_bare` — the router without the layer;
//! * `b_layer_no_telemetry` — with `RequestTelemetryLayer` (route templates from axum's
//!   `MatchedPath`), no subscriber at all: the pass-through;
//! * `c0_layer_metrics_no_sinks` — `RequestTelemetryLayer::new().without_spans()` under
//!   llm-telemetry with no sink: the points are made, then not sent (what the request's
//!   own thread pays, without the sinks' workers competing for the cores);
//! * `c_layer_metrics_only` — `RequestTelemetryLayer::new().without_spans()` under
//!   llm-telemetry with the `sqlite` and `prometheus` sinks (no listener);
//! * `d_layer_spans_and_metrics` — the full layer (metrics, server span, response
//!   headers) under the same sinks.
//!
//! Over loopback, one HTTP/1.1 request on a kept-alive connection (reqwest to axum, one
//! current-thread runtime):
//! * `e_loopback_bare` and `f_loopback_layer` — without and with the full layer.
//!
//! At the end the run prints the medians and each case's ratio to its bare case, and the
//! sinks' emitted/stored/dropped counts.

#[path = "support/criterion_results.rs"]
mod criterion_results;
use criterion_results::median_ns;

use std::time::Duration;

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::routing::get;
use axum::Router;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use llm_telemetry::http::RequestTelemetryLayer;
use llm_telemetry::{SinkKind, TelemetryConfig, TelemetryGuard};
use tower::ServiceExt;

fn router(layer: Option<RequestTelemetryLayer>) -> Router {
    let router = Router::new().route("/v1/models/{id}", get(|| async { "model" }));
    match layer {
        Some(layer) => router.layer(layer.route_from(|parts| {
            parts
                .extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
        })),
        None => router,
    }
}

fn request() -> http::Request<Body> {
    http::Request::get("/v1/models/m1")
        .body(Body::empty())
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn telemetry(dir: &tempfile::TempDir) -> TelemetryGuard {
    TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::Prometheus])
        .sqlite_db_path(dir.path().join("bench.db"))
        .prometheus_addr("none")
        .build()
        .init_local()
        .unwrap()
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn in_process(c: &mut Group<'_>, name: &str, app: Router, rt: &tokio::runtime::Runtime) {
    c.bench_function(name, |b| {
        b.iter(|| {
            rt.block_on(async {
                let response = app.clone().oneshot(request()).await.unwrap();
                assert_eq!(response.status(), 200);
            })
        })
    });
}

fn loopback(c: &mut Group<'_>, name: &str, app: Router, rt: &tokio::runtime::Runtime) {
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/v1/models/m1");
    c.bench_function(name, |b| {
        b.iter(|| {
            rt.block_on(async {
                let response = client.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
            })
        })
    });
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let rt = runtime();
    let cases = [
        ("a_bare", "a_bare"),
        ("b_layer_no_telemetry", "a_bare"),
        ("c0_layer_metrics_no_sinks", "a_bare"),
        ("c_layer_metrics_only", "a_bare"),
        ("d_layer_spans_and_metrics", "a_bare"),
        ("e_loopback_bare", "e_loopback_bare"),
        ("f_loopback_layer", "e_loopback_bare"),
    ];
    let mut g = c.benchmark_group("http_middleware");
    in_process(&mut g, "a_bare", router(None), &rt);
    let layer = RequestTelemetryLayer::new();
    in_process(&mut g, "b_layer_no_telemetry", router(Some(layer)), &rt);
    let no_sinks = TelemetryConfig::builder()
        .sinks([])
        .build()
        .init_local()
        .unwrap();
    let metrics_only = RequestTelemetryLayer::new().without_spans();
    in_process(
        &mut g,
        "c0_layer_metrics_no_sinks",
        router(Some(metrics_only)),
        &rt,
    );
    drop(no_sinks);
    let dir = tempfile::tempdir().unwrap();
    let guard = telemetry(&dir);
    let metrics_only = RequestTelemetryLayer::new().without_spans();
    in_process(
        &mut g,
        "c_layer_metrics_only",
        router(Some(metrics_only)),
        &rt,
    );
    let full = RequestTelemetryLayer::new();
    in_process(&mut g, "d_layer_spans_and_metrics", router(Some(full)), &rt);
    loopback(&mut g, "e_loopback_bare", router(None), &rt);
    let full = RequestTelemetryLayer::new();
    loopback(&mut g, "f_loopback_layer", router(Some(full)), &rt);
    g.finish();
    guard.flush();
    let stats = guard.stats();
    drop(guard);
    c.final_summary();

    println!("\nmedian per request, and the ratio to the same server without the layer:");
    for (case, base) in cases {
        match (
            median_ns("http_middleware", case),
            median_ns("http_middleware", base),
        ) {
            (Some(t), Some(b)) => println!(
                "  {case:<28} {:>9.2} µs   ×{:.2}  (+{:.2} µs)",
                t / 1e3,
                t / b,
                (t - b) / 1e3
            ),
            _ => println!("  {case:<28} (no estimate)"),
        }
    }
    for s in &stats.sinks {
        println!(
            "  sink {:<10} emitted {} stored {} dropped {}",
            s.name, s.emitted, s.stored, s.dropped
        );
    }
}
