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
//!   once, the application-thread cost is what is measured);
//! * `i_stream_bare` — a stream of 32 chunks (the last reports the usage), created and
//!   drained, uninstrumented;
//! * `j_stream_no_sinks`, `k_stream_sqlite` — the same stream from an
//!   `#[instrument_inference]` function, under the layers of (f) and (g): the span lasts
//!   until the last chunk, each chunk is timed and read for usage. The summary gives the
//!   streaming wrapper's added cost per chunk: `((j - i) - (f - a)) / 32`, the stream's
//!   overhead beyond that of one instrumented call, per chunk (and the same for k and g);
//! * `l_inference_sqlite_sampled_out` — (g) with `OTEL_TRACES_SAMPLER=always_off`: no span
//!   is stored, the metric points still are (one item to the SQLite sink's metrics);
//! * `m_tool_sqlite_sampled_out`, `n_tool_sqlite` — an `#[instrument_tool]` call with the
//!   SQLite sink, its trace sampled out (nothing is sent) and sampled (stored).
//!
//! Each case is measured twice: `<case>` in wall-clock time per call (criterion's default)
//! and `<case>_cpu` in CPU time of the calling thread per call (`CLOCK_THREAD_CPUTIME_ID`):
//! what the call costs the application's thread, without the time it spends preempted by
//! the sinks' own workers, or anything else, on a small loaded machine.
//!
//! Every instrumented function is a root span (no parent), as in the llm-telemetry
//! cases. At the end the run prints the medians, the targets' differences and ratios, and
//! the sinks' emitted/stored/dropped counts (read from criterion's
//! `target/criterion/overhead/*/new/estimates.json`).

#[path = "support/criterion_results.rs"]
mod criterion_results;
use criterion_results::median_ns;

use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};

use criterion::Criterion;
use llm_telemetry::{
    instrument_inference, instrument_tool, Sampler, SinkKind, TelemetryConfig, TokenUsage, Usage,
};
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

// The same `#[tracing::instrument]` function once per case (b), (c), (d): each has its
// own callsite, so the interest one case caches never leaks into another.
macro_rules! tracing_instrumented {
    ($($name:ident),*) => {$(
        #[tracing::instrument(
            name = "chat bench-model",
            skip_all,
            fields(gen_ai.request.model = "bench-model", gen_ai.provider.name = "bench")
        )]
        #[inline(never)]
        fn $name(prompt: &str) -> Reply {
            Reply {
                text_len: black_box(prompt.len() as u64),
            }
        }
    )*};
}

tracing_instrumented!(tracing_b, tracing_c, tracing_d);

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

/// A streamed chunk: the last one reports the usage, as OpenAI and Ollama do.
pub struct Chunk {
    index: u64,
}

impl TokenUsage for Chunk {
    fn token_usage(&self) -> Option<Usage> {
        (self.index == CHUNKS - 1).then(|| Usage::new(12, CHUNKS))
    }
}

const CHUNKS: u64 = 32;

fn chunks(prompt: &str) -> impl Stream<Item = Chunk> {
    let base = black_box(prompt.len() as u64);
    stream::iter(0..CHUNKS).map(move |i| Chunk {
        index: black_box(i + base - base),
    })
}

/// Poll `stream` to its end on the calling thread (every chunk is ready at once).
fn drain(stream: impl Stream<Item = Chunk>) -> Reply {
    let mut stream = std::pin::pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    let mut n = 0;
    while let Poll::Ready(Some(chunk)) = stream.as_mut().poll_next(&mut cx) {
        n += black_box(chunk.index) & 1;
    }
    Reply { text_len: n }
}

#[inline(never)]
fn stream_i(prompt: &str) -> Reply {
    drain(chunks(prompt))
}

#[instrument_inference(model = "bench-model", provider = "bench")]
#[inline(never)]
fn streamed_j(prompt: &str) -> impl Stream<Item = Chunk> {
    chunks(prompt)
}

#[instrument_inference(model = "bench-model", provider = "bench")]
#[inline(never)]
fn streamed_k(prompt: &str) -> impl Stream<Item = Chunk> {
    chunks(prompt)
}

fn stream_j(prompt: &str) -> Reply {
    drain(streamed_j(prompt))
}

fn stream_k(prompt: &str) -> Reply {
    drain(streamed_k(prompt))
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

#[instrument_inference(model = "bench-model", provider = "bench")]
#[inline(never)]
fn inference_l(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[instrument_tool(tool = "bench_tool")]
#[inline(never)]
fn tool_m(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[instrument_tool(tool = "bench_tool")]
#[inline(never)]
fn tool_n(prompt: &str) -> Reply {
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

/// CPU time consumed by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Bench `f` twice: `name` in wall-clock time (criterion's default), and `name_cpu` in CPU
/// time of the calling thread, i.e. what the call costs the application's thread, without
/// the time it spends preempted by the sinks' workers (or anything else) on a loaded box.
fn bench_both<M>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    f: M,
) where
    M: Fn(&str) -> Reply,
{
    group.bench_function(name, |b| b.iter(|| f(black_box(PROMPT))));
    group.bench_function(format!("{name}_cpu"), |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                black_box(f(black_box(PROMPT)));
            }
            thread_cpu_time() - start
        })
    });
}

fn overhead(c: &mut Criterion, sink_report: &mut Vec<String>) {
    let mut group = c.benchmark_group("overhead");

    bench_both(&mut group, "a_bare", bare);
    bench_both(&mut group, "b_tracing_no_subscriber", tracing_b);

    {
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(NoopLayer));
        tracing::dispatcher::with_default(&dispatch, || {
            bench_both(&mut group, "c_tracing_registry_noop_layer", tracing_c);
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
            bench_both(&mut group, "d_tracing_opentelemetry_batch", tracing_d);
        });
        drop(dispatch);
        let _ = provider.shutdown();
    }

    {
        fastrace::set_reporter(NoopReporter, fastrace::collector::Config::default());
        bench_both(&mut group, "e_fastrace_noop_reporter", fastrace_e);
        fastrace::flush();
    }

    let dir = tempfile::tempdir().expect("temporary directory");
    bench_both(&mut group, "i_stream_bare", stream_i);
    type Case = (
        &'static str,
        Vec<SinkKind>,
        Sampler,
        fn(&str) -> Reply,
        Option<(&'static str, fn(&str) -> Reply)>,
    );
    let cases: [Case; 6] = [
        (
            "f_inference_no_sinks",
            vec![],
            Sampler::AlwaysOn,
            inference_f,
            Some(("j_stream_no_sinks", stream_j)),
        ),
        (
            "g_inference_sqlite",
            vec![SinkKind::Sqlite],
            Sampler::AlwaysOn,
            inference_g,
            Some(("k_stream_sqlite", stream_k)),
        ),
        (
            "h_inference_sqlite_otlp",
            vec![SinkKind::Sqlite, SinkKind::OtelTrace, SinkKind::OtelMetric],
            Sampler::AlwaysOn,
            inference_h,
            None,
        ),
        (
            "l_inference_sqlite_sampled_out",
            vec![SinkKind::Sqlite],
            Sampler::AlwaysOff,
            inference_l,
            None,
        ),
        (
            "m_tool_sqlite_sampled_out",
            vec![SinkKind::Sqlite],
            Sampler::AlwaysOff,
            tool_m,
            None,
        ),
        (
            "n_tool_sqlite",
            vec![SinkKind::Sqlite],
            Sampler::AlwaysOn,
            tool_n,
            None,
        ),
    ];
    for (name, sinks, sampler, f, streamed) in cases {
        let config = TelemetryConfig::builder()
            .sinks(sinks)
            .sqlite_db_path(dir.path().join(format!("{name}.db")))
            .otlp_endpoint("http://127.0.0.1:1")
            .service_name("overhead-bench")
            .sampler(sampler)
            .build();
        let (layer, guard) = llm_telemetry::layer(&config).expect("telemetry layer");
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        tracing::dispatcher::with_default(&dispatch, || {
            bench_both(&mut group, name, f);
            if let Some((stream_name, stream_f)) = streamed {
                bench_both(&mut group, stream_name, stream_f);
            }
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

fn summary(sink_report: &[String]) {
    let cases = [
        ("a", "a_bare", "bare function"),
        (
            "b",
            "b_tracing_no_subscriber",
            "#[tracing::instrument], no subscriber",
        ),
        (
            "c",
            "c_tracing_registry_noop_layer",
            "#[tracing::instrument], registry + no-op layer",
        ),
        (
            "d",
            "d_tracing_opentelemetry_batch",
            "tracing-opentelemetry + SDK batch, no-op exporter",
        ),
        (
            "e",
            "e_fastrace_noop_reporter",
            "fastrace root span, no-op reporter",
        ),
        (
            "f",
            "f_inference_no_sinks",
            "#[instrument_inference], no sinks",
        ),
        ("g", "g_inference_sqlite", "#[instrument_inference], sqlite"),
        (
            "h",
            "h_inference_sqlite_otlp",
            "#[instrument_inference], sqlite + otel_trace + otel_metric",
        ),
        ("i", "i_stream_bare", "a 32-chunk stream, drained, bare"),
        (
            "j",
            "j_stream_no_sinks",
            "the same from #[instrument_inference], no sinks",
        ),
        (
            "k",
            "k_stream_sqlite",
            "the same from #[instrument_inference], sqlite",
        ),
        (
            "l",
            "l_inference_sqlite_sampled_out",
            "#[instrument_inference], sqlite, trace sampled out",
        ),
        (
            "m",
            "m_tool_sqlite_sampled_out",
            "#[instrument_tool], sqlite, trace sampled out",
        ),
        ("n", "n_tool_sqlite", "#[instrument_tool], sqlite"),
    ];
    for (title, suffix) in [
        ("wall-clock time per call", ""),
        ("CPU time of the calling thread per call", "_cpu"),
    ] {
        let m: Vec<Option<f64>> = cases
            .iter()
            .map(|(_, id, _)| median_ns("overhead", &format!("{id}{suffix}")))
            .collect();
        let get = |k: &str| {
            cases
                .iter()
                .position(|(c, _, _)| *c == k)
                .and_then(|i| m[i])
        };
        println!();
        println!("== overhead: {title} (medians of this run) ==");
        for ((key, _, what), median) in cases.iter().zip(&m) {
            match median {
                Some(ns) => println!("({key}) {ns:>10.1} ns  {what}"),
                None => println!("({key}) {:>10}     {what}", "n/a"),
            }
        }
        let show =
            |label: &str, value: Option<f64>, unit: &str, target: &str, met: Option<bool>| {
                let v = value.map_or("n/a".to_string(), |v| format!("{v:.2}{unit}"));
                let met = met.map_or("n/a", |m| if m { "met" } else { "NOT met" });
                println!("{label:<8} = {v:>12}   target {target:<12} {met}");
            };
        let diff = |x: &str| Some(get(x)? - get("a")?);
        let ratio = |x: &str, y: &str| Some(get(x)? / get(y)?);
        println!();
        show(
            "f - a",
            diff("f"),
            " ns",
            "<= 5 ns",
            diff("f").map(|v| v <= 5.0),
        );
        show(
            "g - a",
            diff("g"),
            " ns",
            "<= 250 ns",
            diff("g").map(|v| v <= 250.0),
        );
        show(
            "h / d",
            ratio("h", "d"),
            "x",
            "<= 0.3x",
            ratio("h", "d").map(|v| v <= 0.3),
        );
        show(
            "h / e",
            ratio("h", "e"),
            "x",
            "<= 1.5x",
            ratio("h", "e").map(|v| v <= 1.5),
        );
        let per_chunk = |stream: &str, call: &str| {
            Some(((get(stream)? - get("i")?) - (get(call)? - get("a")?)) / CHUNKS as f64)
        };
        for (label, stream, call) in [("j per chunk", "j", "f"), ("k per chunk", "k", "g")] {
            let v = per_chunk(stream, call).map_or("n/a".into(), |v| format!("{v:.2} ns"));
            println!("{label:<12} = {v:>12}   (({stream} - i) - ({call} - a)) / {CHUNKS}: the streaming wrapper's cost per chunk");
        }
        for (label, x, y, what) in [
            (
                "l / g",
                "l",
                "g",
                "a sampled-out inference, against a stored one",
            ),
            (
                "m / n",
                "m",
                "n",
                "a sampled-out tool span, against a stored one",
            ),
            (
                "m / c",
                "m",
                "c",
                "a sampled-out tool span, against a registry + no-op layer",
            ),
        ] {
            let v = ratio(x, y).map_or("n/a".into(), |v| format!("{v:.2}x"));
            println!("{label:<12} = {v:>12}   {what}");
        }
    }
    println!();
    for line in sink_report {
        println!("{line}");
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut sink_report = Vec::new();
    overhead(&mut criterion, &mut sink_report);
    criterion.final_summary();
    summary(&sink_report);
}
