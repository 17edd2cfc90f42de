//! `llm-trace export`: spans with their attributes as JSON lines, streamed from the store
//! (one JSON array with `--json`).

use std::io::{self, Write};

use llm_telemetry::store::{StoreError, TraceStore};

use crate::args::{self, ExportArgs, Format};
use crate::error::Error;
use crate::ui::Ui;

pub fn run<W: Write>(store: &TraceStore, args: ExportArgs, ui: &mut Ui<W>) -> Result<(), Error> {
    let ExportArgs {
        format: Format::Jsonl,
        filters: raw,
        attributes,
    } = args;
    let keep: Vec<&str> = attributes.iter().map(String::as_str).collect();
    let keep = (!keep.is_empty()).then_some(keep.as_slice());
    let filters = args::filters(&raw)?;
    if ui.json {
        // One JSON array instead of JSON lines.
        return ui.write_json(&store.export_spans(&filters, keep)?);
    }
    let mut io_err = None;
    store
        .for_each_export_row(&filters, keep, |row| {
            let r = serde_json::to_writer(&mut ui.out, &row)
                .map_err(io::Error::from)
                .and_then(|_| writeln!(ui.out));
            if let Err(e) = r {
                io_err = Some(e);
                // Stop the scan: the reader went away.
                return Err(StoreError::InvalidFilter {
                    reason: "output closed".into(),
                });
            }
            Ok(())
        })
        .map_err(|e| match io_err.take() {
            Some(io) => Error::Io(io),
            None => Error::Store(e),
        })?;
    Ok(())
}
