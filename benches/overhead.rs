//! Overhead per instrumented call, side by side in one run with the Rust anchors.
//!
//! ```text
//! cargo bench --bench overhead
//! ```
//!
//! Cases (one criterion group, `overhead/…`):
//!
//! * `a_bare` — the function, uninstrumented;
//! * `b_tracing_no_subscriber` — `#[tracing::instrument]`, no subscriber at all;
//! * `c_tracing_registry_noop_layer` — the same under `tracing_subscriber::registry()`
//!   with a layer that does nothing;
//! * `d_tracing_opentelemetry_batch` — the same under `tracing-opentelemetry` with an
//!   `opentelemetry_sdk` tracer provider whose batch span processor feeds a no-op exporter;
//! * `e_fastrace_noop_reporter` — a `fastrace` root span (with the same two properties)
//!   per call, with a no-op reporter;
//! * `f_inference_no_sinks` — `#[instrument_inference]` under llm-telemetry's layer with
//!   no sink enabled (`TELEMETRY_SINKS=`);
//! * `g_inference_sqlite` — the same with the SQLite sink;
//! * `h_inference_sqlite_otlp` — the same with `sqlite,otel_trace,otel_metric`, the OTLP
//!   exporters pointed at `http://127.0.0.1:1` (a closed loopback port: export fails at
//!   once, the application-thread cost is what is measured).
//!
//! Every instrumented function is a root span (no parent), as in the llm-telemetry
//! cases. At the end the run prints the medians, the targets' differences and ratios, and
//! the sinks' emitted/stored/dropped counts (read from criterion's
//! `target/criterion/overhead/*/new/estimates.json`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;
use llm_telemetry::{instrument_inference, SinkKind, TelemetryConfig, TokenUsage, Usage};
use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::prelude::*;

pub struct Reply {
    text_len: u64,
}

impl TokenUsage for Reply {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(12, self.text_len))
    }
}

#[inline(never)]
fn bare(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[tracing::instrument(
    name = "chat bench-model",
    skip_all,
    fields(gen_ai.request.model = "bench-model", gen_ai.provider.name = "bench")
)]
#[inline(never)]
fn tracing_b(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[tracing::instrument(
    name = "chat bench-model",
    skip_all,
    fields(gen_ai.request.model = "bench-model", gen_ai.provider.name = "bench")
)]
#[inline(never)]
fn tracing_c(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[tracing::instrument(
    name = "chat bench-model",
    skip_all,
    fields(gen_ai.request.model = "bench-model", gen_ai.provider.name = "bench")
)]
#[inline(never)]
fn tracing_d(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[inline(never)]
fn fastrace_e(prompt: &str) -> Reply {
    let root = fastrace::Span::root(
        "chat bench-model",
        fastrace::collector::SpanContext::random(),
    )
    .with_properties(|| {
        [
            ("gen_ai.request.model", "bench-model"),
            ("gen_ai.provider.name", "bench"),
        ]
    });
    let _guard = root.set_local_parent();
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

// One function (one callsite) per case, so that one case's interest never leaks into another.
#[instrument_inference(model = "bench-model", provider = "bench")]
#[inline(never)]
fn inference_f(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[instrument_inference(model = "bench-model", provider = "bench")]
#[inline(never)]
fn inference_g(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[instrument_inference(model = "bench-model", provider = "bench")]
#[inline(never)]
fn inference_h(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

struct NoopLayer;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for NoopLayer {}

#[derive(Debug)]
struct NoopExporter;
impl opentelemetry_sdk::trace::SpanExporter for NoopExporter {
    async fn export(
        &self,
        _batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

struct NoopReporter;
impl fastrace::collector::Reporter for NoopReporter {
    fn report(&mut self, _spans: Vec<fastrace::prelude::SpanRecord>) {}
}

const PROMPT: &str = "What is the weather in Paris?";

fn overhead(c: &mut Criterion, sink_report: &mut Vec<String>) {
    let mut group = c.benchmark_group("overhead");

    group.bench_function("a_bare", |b| b.iter(|| bare(black_box(PROMPT))));

    group.bench_function("b_tracing_no_subscriber", |b| {
        b.iter(|| tracing_b(black_box(PROMPT)))
    });

    {
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(NoopLayer));
        tracing::dispatcher::with_default(&dispatch, || {
            group.bench_function("c_tracing_registry_noop_layer", |b| {
                b.iter(|| tracing_c(black_box(PROMPT)))
            });
        });
    }

    {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(NoopExporter)
            .build();
        let tracer = provider.tracer("bench");
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer)),
        );
        tracing::dispatcher::with_default(&dispatch, || {
            group.bench_function("d_tracing_opentelemetry_batch", |b| {
                b.iter(|| tracing_d(black_box(PROMPT)))
            });
        });
        drop(dispatch);
        let _ = provider.shutdown();
    }

    {
        fastrace::set_reporter(NoopReporter, fastrace::collector::Config::default());
        group.bench_function("e_fastrace_noop_reporter", |b| {
            b.iter(|| fastrace_e(black_box(PROMPT)))
        });
        fastrace::flush();
    }

    let dir = tempfile::tempdir().expect("temporary directory");
    let cases: [(&str, Vec<SinkKind>, fn(&str) -> Reply); 3] = [
        ("f_inference_no_sinks", vec![], inference_f),
        ("g_inference_sqlite", vec![SinkKind::Sqlite], inference_g),
        (
            "h_inference_sqlite_otlp",
            vec![SinkKind::Sqlite, SinkKind::OtelTrace, SinkKind::OtelMetric],
            inference_h,
        ),
    ];
    for (name, sinks, f) in cases {
        let config = TelemetryConfig::builder()
            .sinks(sinks)
            .sqlite_db_path(dir.path().join(format!("{name}.db")))
            .otlp_endpoint("http://127.0.0.1:1")
            .service_name("overhead-bench")
            .build();
        let (layer, guard) = llm_telemetry::layer(&config).expect("telemetry layer");
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        tracing::dispatcher::with_default(&dispatch, || {
            group.bench_function(name, |b| b.iter(|| f(black_box(PROMPT))));
        });
        drop(dispatch);
        let flushed = std::time::Instant::now();
        guard.flush();
        let flush_time = flushed.elapsed();
        for s in guard.stats().sinks {
            sink_report.push(format!(
                "{name:<26} sink {:<12} emitted {:>10}  stored {:>10}  dropped {:>10}  failed {:>10}",
                s.name, s.emitted, s.stored, s.dropped, s.failed
            ));
        }
        if !guard.stats().sinks.is_empty() {
            sink_report.push(format!("{name:<26} final flush took {flush_time:.2?}"));
        }
        drop(guard);
    }
    group.finish();
}

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// Median of one case in nanoseconds, from criterion's estimates of this run.
fn median_ns(case: &str) -> Option<f64> {
    let path = criterion_dir()
        .join("overhead")
        .join(case)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn summary(sink_report: &[String]) {
    let cases = [
        ("a", "a_bare", "bare function"),
        ("b", "b_tracing_no_subscriber", "#[tracing::instrument], no subscriber"),
        ("c", "c_tracing_registry_noop_layer", "#[tracing::instrument], registry + no-op layer"),
        ("d", "d_tracing_opentelemetry_batch", "tracing-opentelemetry + SDK batch, no-op exporter"),
        ("e", "e_fastrace_noop_reporter", "fastrace root span, no-op reporter"),
        ("f", "f_inference_no_sinks", "#[instrument_inference], no sinks"),
        ("g", "g_inference_sqlite", "#[instrument_inference], sqlite"),
        ("h", "h_inference_sqlite_otlp", "#[instrument_inference], sqlite + otel_trace + otel_metric"),
    ];
    let m: Vec<Option<f64>> = cases.iter().map(|(_, id, _)| median_ns(id)).collect();
    let get = |k: &str| cases.iter().position(|(c, _, _)| *c == k).and_then(|i| m[i]);
    println!();
    println!("== overhead summary (medians of this run) ==");
    for ((key, _, what), median) in cases.iter().zip(&m) {
        match median {
            Some(ns) => println!("({key}) {ns:>10.1} ns  {what}"),
            None => println!("({key}) {:>10}     {what}", "n/a"),
        }
    }
    let show = |label: &str, value: Option<f64>, unit: &str, target: &str, met: Option<bool>| {
        let v = value.map_or("n/a".to_string(), |v| format!("{v:.2}{unit}"));
        let met = met.map_or("n/a", |m| if m { "met" } else { "NOT met" });
        println!("{label:<8} = {v:>12}   target {target:<12} {met}");
    };
    let diff = |x: &str| Some(get(x)? - get("a")?);
    let ratio = |x: &str, y: &str| Some(get(x)? / get(y)?);
    println!();
    show("f - a", diff("f"), " ns", "<= 5 ns", diff("f").map(|v| v <= 5.0));
    show("g - a", diff("g"), " ns", "<= 250 ns", diff("g").map(|v| v <= 250.0));
    show("h / d", ratio("h", "d"), "x", "<= 0.3x", ratio("h", "d").map(|v| v <= 0.3));
    show("h / e", ratio("h", "e"), "x", "<= 1.5x", ratio("h", "e").map(|v| v <= 1.5));
    println!();
    for line in sink_report {
        println!("{line}");
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut sink_report = Vec::new();
    overhead(&mut criterion, &mut sink_report);
    criterion.final_summary();
    summary(&sink_report);
}
