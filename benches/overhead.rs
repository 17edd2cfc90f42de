//! Overhead per instrumented call, side by side in one run with the Rust anchors.
//!
//! `cargo bench --bench overhead` — the README quotes the medians as ratios.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use llm_telemetry::{instrument_inference, SinkKind, TelemetryConfig, TokenUsage, Usage};
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

#[tracing::instrument(skip_all, fields(model = "bench-model"))]
#[inline(never)]
fn with_tracing_instrument(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

#[instrument_inference(model = "bench-model", provider = "bench")]
#[inline(never)]
fn with_instrument_inference(prompt: &str) -> Reply {
    Reply {
        text_len: black_box(prompt.len() as u64),
    }
}

fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("overhead");
    let prompt = "What is the weather in Paris?";

    group.bench_function("a_bare_call", |b| b.iter(|| bare(black_box(prompt))));

    tracing::subscriber::with_default(tracing_subscriber::registry(), || {
        group.bench_function("b_tracing_instrument_registry", |b| {
            b.iter(|| with_tracing_instrument(black_box(prompt)))
        });
    });

    let dir = tempfile::tempdir().unwrap();
    let config = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(dir.path().join("bench.db"))
        .build();
    let (layer, guard) = llm_telemetry::layer(&config).unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        group.bench_function("g_instrument_inference_sqlite", |b| {
            b.iter(|| with_instrument_inference(black_box(prompt)))
        });
    });
    guard.flush();
    let stats = guard.stats();
    let s = stats.sink("sqlite").unwrap();
    eprintln!(
        "sqlite sink during the bench: emitted {} stored {} dropped {} failed {}",
        s.emitted, s.stored, s.dropped, s.failed
    );
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
