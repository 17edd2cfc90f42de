//! `llm-trace search`: where a text occurs in span names, attribute values and logs.

use std::io::Write;

use llm_telemetry::store::TraceStore;

use crate::args::SearchArgs;
use crate::error::Error;
use crate::format::{one_line, short_id};
use crate::ui::{
    Column::{Cut, Left, Rest},
    Style, Table, Ui,
};

const TABLE: Table<4> = Table([
    ("TRACE", Left(12)),
    ("SPAN", Cut(22)),
    ("FOUND IN", Cut(22)),
    ("TEXT", Rest),
]);

pub fn run<W: Write>(store: &TraceStore, args: SearchArgs, ui: &mut Ui<W>) -> Result<(), Error> {
    let SearchArgs { text, limit } = args;
    let hits = store.search(&text, limit)?;
    if ui.json {
        return ui.write_json(&hits);
    }
    if hits.is_empty() {
        writeln!(ui.out, "No span name, attribute or log contains {text:?}.")?;
        return Ok(());
    }
    ui.heading(&TABLE)?;
    for h in &hits {
        // `attribute:KEY` is shown as the key alone.
        let field = h.field.strip_prefix("attribute:").unwrap_or(&h.field);
        let line = TABLE.line([
            &short_id(&h.trace_id),
            &h.span_name,
            field,
            &one_line(&h.text),
        ]);
        ui.line(&line, Style::Plain)?;
    }
    Ok(())
}
