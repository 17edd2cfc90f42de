//! `llm-trace list`: recent traces, one line each.

use std::io::Write;

use llm_telemetry::store::{TraceQuery, TraceStatusFilter, TraceStore};

use crate::args::{self, ListArgs};
use crate::error::Error;
use crate::format::{duration, short_id, short_time};
use crate::ui::{
    Column::{Cut, Left, Rest, Right},
    Table, Ui,
};

/// 12 + 1 + 14 + 1 + 9 + 1 + 21 + 1 + 5 + 1 + 7 + 1 + 6 (`STATUS`) = 80 columns.
const TABLE: Table<7> = Table([
    ("TRACE", Left(12)),
    ("START", Left(14)),
    ("DURATION", Right(9)),
    ("ROOT SPAN", Cut(21)),
    ("SPANS", Right(5)),
    ("TOKENS", Right(7)),
    ("STATUS", Rest),
]);

pub fn run<W: Write>(store: &TraceStore, args: ListArgs, ui: &mut Ui<W>) -> Result<(), Error> {
    let q = TraceQuery {
        filters: args::filters(&args.filters)?,
        since: args::ago(args.since),
        service: args.service,
        status: args
            .status
            .as_deref()
            .map(str::parse::<TraceStatusFilter>)
            .transpose()?,
        session: args.session,
        user: args.user,
        limit: args.limit,
        ..TraceQuery::default()
    };
    let traces = store.list_traces(&q)?;
    if ui.json {
        return ui.write_json(&traces);
    }
    if traces.is_empty() {
        writeln!(ui.out, "No traces.")?;
        return Ok(());
    }
    ui.heading(&TABLE)?;
    for t in &traces {
        let line = TABLE.line([
            &short_id(&t.trace_id),
            short_time(&t.start_time),
            &duration(t.duration_ms),
            t.root_span_name.as_deref().unwrap_or("-"),
            &t.span_count.to_string(),
            &t.total_tokens.to_string(),
            &ui.status(&t.status),
        ]);
        writeln!(ui.out, "{line}")?;
    }
    Ok(())
}
