//! `llm-trace stats`: counts, error rate, tokens by model, latency by span name, size.

use std::io::Write;
use std::path::Path;

use llm_telemetry::store::TraceStore;

use crate::args::{self, StatsArgs};
use crate::error::Error;
use crate::format::{bytes, duration, fit};
use crate::ui::Ui;

/// `db` is the store's path, which the text output names.
pub fn run<W: Write>(
    store: &TraceStore,
    db: &Path,
    args: StatsArgs,
    json: bool,
    ui: &mut Ui<W>,
) -> Result<(), Error> {
    let stats = store.stats(args::ago(args.since))?;
    if json {
        return ui.json(&stats);
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
        ui.heading(&format!(
            "{:<28} {:<12} {:>7} {:>9} {:>9} {:>9}",
            "MODEL", "PROVIDER", "CALLS", "INPUT", "OUTPUT", "TOTAL"
        ))?;
        for t in &stats.tokens {
            writeln!(
                ui.out,
                "{:<28} {:<12} {:>7} {:>9} {:>9} {:>9}",
                fit(t.model.as_deref().unwrap_or("-"), 28),
                fit(t.provider.as_deref().unwrap_or("-"), 12),
                t.calls,
                t.input_tokens,
                t.output_tokens,
                t.input_tokens + t.output_tokens
            )?;
        }
    }
    if !stats.latency.is_empty() {
        writeln!(ui.out)?;
        ui.heading(&format!(
            "{:<44} {:>8} {:>12} {:>12}",
            "SPAN NAME", "COUNT", "P50", "P95"
        ))?;
        for l in &stats.latency {
            writeln!(
                ui.out,
                "{:<44} {:>8} {:>12} {:>12}",
                fit(&l.name, 44),
                l.count,
                duration(l.p50_ms),
                duration(l.p95_ms)
            )?;
        }
    }
    Ok(())
}
