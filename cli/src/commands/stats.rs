//! `llm-trace stats`: counts, error rate, tokens by model, latency by span name, size.

use std::io::Write;
use std::path::Path;

use llm_telemetry::store::TraceStore;

use crate::args::{self, StatsArgs};
use crate::error::Error;
use crate::format::{bytes, duration};
use crate::ui::{
    Column::{Cut, Right},
    Table, Ui,
};

const TOKENS: Table<6> = Table([
    ("MODEL", Cut(28)),
    ("PROVIDER", Cut(12)),
    ("CALLS", Right(7)),
    ("INPUT", Right(9)),
    ("OUTPUT", Right(9)),
    ("TOTAL", Right(9)),
]);

const LATENCY: Table<4> = Table([
    ("SPAN NAME", Cut(44)),
    ("COUNT", Right(8)),
    ("P50", Right(12)),
    ("P95", Right(12)),
]);

/// `db` is the store's path, which the text output names.
pub fn run<W: Write>(
    store: &TraceStore,
    db: &Path,
    args: StatsArgs,
    ui: &mut Ui<W>,
) -> Result<(), Error> {
    let stats = store.stats(args::ago(args.since))?;
    if ui.json {
        return ui.write_json(&stats);
    }
    writeln!(
        ui.out,
        "Store       {} ({})",
        db.display(),
        bytes(stats.size_bytes)
    )?;
    writeln!(ui.out, "Traces      {}", stats.traces)?;
    writeln!(
        ui.out,
        "Spans       {} ({} failed)",
        stats.spans, stats.error_spans
    )?;
    writeln!(
        ui.out,
        "Error rate  {:.1}% of traces ({} of {})",
        stats.error_rate * 100.0,
        stats.error_traces,
        stats.traces
    )?;
    if !stats.tokens.is_empty() {
        writeln!(ui.out)?;
        ui.heading(&TOKENS)?;
        for t in &stats.tokens {
            let line = TOKENS.line([
                t.model.as_deref().unwrap_or("-"),
                t.provider.as_deref().unwrap_or("-"),
                &t.calls.to_string(),
                &t.input_tokens.to_string(),
                &t.output_tokens.to_string(),
                &(t.input_tokens + t.output_tokens).to_string(),
            ]);
            writeln!(ui.out, "{line}")?;
        }
    }
    if !stats.latency.is_empty() {
        writeln!(ui.out)?;
        ui.heading(&LATENCY)?;
        for l in &stats.latency {
            let line = LATENCY.line([
                &l.name,
                &l.count.to_string(),
                &duration(l.p50_ms),
                &duration(l.p95_ms),
            ]);
            writeln!(ui.out, "{line}")?;
        }
    }
    Ok(())
}
