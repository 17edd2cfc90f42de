//! `llm-trace list`: recent traces, one line each.

use std::io::Write;

use llm_telemetry::store::{Trace, TraceQuery, TraceStatusFilter, TraceStore};

use crate::args::{self, ListArgs};
use crate::error::Error;
use crate::format::{duration, fit, short_id, short_time};
use crate::ui::Ui;

pub fn run<W: Write>(
    store: &TraceStore,
    args: ListArgs,
    json: bool,
    ui: &mut Ui<W>,
) -> Result<(), Error> {
    let q = TraceQuery {
        filters: args::filters(&args.filters)?,
        since: args::ago(args.since),
        service: args.service,
        status: args
            .status
            .as_deref()
            .map(str::parse::<TraceStatusFilter>)
            .transpose()?,
        limit: args.limit,
        ..TraceQuery::default()
    };
    let traces = store.list_traces(&q)?;
    if json {
        return ui.json(&traces);
    }
    table(ui, &traces)
}

fn table<W: Write>(ui: &mut Ui<W>, traces: &[Trace]) -> Result<(), Error> {
    if traces.is_empty() {
        writeln!(ui.out, "No traces.")?;
        return Ok(());
    }
    // 12 + 1 + 14 + 1 + 9 + 1 + ROOT + 1 + 5 + 1 + 7 + 1 + 6 = 80
    const ROOT: usize = 21;
    ui.heading(&format!(
        "{:<12} {:<14} {:>9} {:<ROOT$} {:>5} {:>7} {:<6}",
        "TRACE", "START", "DURATION", "ROOT SPAN", "SPANS", "TOKENS", "STATUS"
    ))?;
    for t in traces {
        writeln!(
            ui.out,
            "{:<12} {:<14} {:>9} {:<ROOT$} {:>5} {:>7} {}",
            short_id(&t.trace_id),
            short_time(&t.start_time),
            duration(t.duration_ms),
            fit(t.root_span_name.as_deref().unwrap_or("-"), ROOT),
            t.span_count,
            t.total_tokens,
            ui.status(&t.status, 0)
        )?;
    }
    Ok(())
}
