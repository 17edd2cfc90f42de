//! `llm-trace stats`: counts, error rate, cost (and for how many calls it is unknown), tokens
//! and cost by model, latency by span name, size.

use std::io::Write;

use llm_telemetry::store::TraceStore;

use crate::args::{self, StatsArgs};
use crate::error::Error;
use crate::format::{bytes, duration, usd};
use crate::ui::{
    Column::{Cut, Right},
    Table, Ui,
};

/// 24 + 1 + 10 + 1 + 6 + 1 + 8 + 1 + 8 + 1 + 8 + 1 + 9 (`COST`) = 79 columns.
const TOKENS: Table<7> = Table([
    ("MODEL", Cut(24)),
    ("PROVIDER", Cut(10)),
    ("CALLS", Right(6)),
    ("INPUT", Right(8)),
    ("OUTPUT", Right(8)),
    ("TOTAL", Right(8)),
    ("COST", Right(9)),
]);

/// A row's cost: `-` when none of its calls has one, a `+` after it when some have none
/// (the sum is of the priced calls only).
fn cost_cell(cost: Option<f64>, unknown: u64) -> String {
    match (cost, unknown) {
        (None, _) => "-".into(),
        (Some(c), 0) => usd(c),
        (Some(c), _) => format!("{}+", usd(c)),
    }
}

const LATENCY: Table<4> = Table([
    ("SPAN NAME", Cut(44)),
    ("COUNT", Right(8)),
    ("P50", Right(12)),
    ("P95", Right(12)),
]);

/// The text output names the store: its path (a PostgreSQL store: its URL, the password
/// masked).
pub fn run<W: Write>(store: &TraceStore, args: StatsArgs, ui: &mut Ui<W>) -> Result<(), Error> {
    let stats = store.stats(args::ago(args.since))?;
    if ui.json {
        return ui.write_json(&stats);
    }
    writeln!(
        ui.out,
        "Store       {} ({})",
        store.path().display(),
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
    if stats.inference_calls > 0 {
        let known = stats.cost_usd.map_or_else(|| "unknown".to_string(), usd);
        writeln!(ui.out, "Cost        {known}")?;
        if stats.cost_unknown_calls > 0 {
            let why = if stats.unpriced_models.is_empty() {
                "no token usage reported".to_string()
            } else {
                format!("no price for: {}", stats.unpriced_models.join(", "))
            };
            let line = format!(
                "            cost unknown for {} of {} calls ({why})",
                stats.cost_unknown_calls, stats.inference_calls
            );
            ui.line(&line, crate::ui::Style::Plain)?;
        }
    }
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
                &cost_cell(t.cost_usd, t.cost_unknown_calls),
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
