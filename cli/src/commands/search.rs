//! `llm-trace search`: where a text occurs in span names, attribute values and logs.

use std::io::Write;

use llm_telemetry::store::TraceStore;

use crate::args::SearchArgs;
use crate::error::Error;
use crate::format::{fit, one_line, short_id};
use crate::ui::Ui;

pub fn run<W: Write>(
    store: &TraceStore,
    args: SearchArgs,
    json: bool,
    ui: &mut Ui<W>,
) -> Result<(), Error> {
    let SearchArgs { text, limit } = args;
    let hits = store.search(&text, limit)?;
    if json {
        return ui.json(&hits);
    }
    if hits.is_empty() {
        writeln!(ui.out, "No span name, attribute or log contains {text:?}.")?;
        return Ok(());
    }
    ui.heading(&format!(
        "{:<12} {:<22} {:<22} {}",
        "TRACE", "SPAN", "FOUND IN", "TEXT"
    ))?;
    for h in &hits {
        // `attribute:KEY` is shown as the key alone.
        let field = h.field.strip_prefix("attribute:").unwrap_or(&h.field);
        let line = format!(
            "{:<12} {:<22} {:<22} {}",
            short_id(&h.trace_id),
            fit(&h.span_name, 22),
            fit(field, 22),
            one_line(&h.text)
        );
        writeln!(ui.out, "{}", fit(&line, ui.width))?;
    }
    Ok(())
}
