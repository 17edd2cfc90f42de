//! `llm-trace prune`: deletes what is older than an age and says how much it deleted.

use std::io::Write;
use std::path::Path;

use llm_telemetry::store;

use crate::args::PruneArgs;
use crate::error::Error;
use crate::format::humanize;
use crate::ui::Ui;

/// Prunes the store at `db`: [`store::prune`] opens it for writing, unlike the other
/// commands' read-only [`llm_telemetry::store::TraceStore`].
pub fn run<W: Write>(db: &Path, args: PruneArgs, ui: &mut Ui<W>) -> Result<(), Error> {
    let report = store::prune(db, args.older_than)?;
    if ui.json {
        return ui.write_json(&report);
    }
    writeln!(
        ui.out,
        "Deleted {} traces ({} spans, {} events) and {} metric points older than {}.",
        report.traces,
        report.spans,
        report.events,
        report.metrics,
        humanize(args.older_than)
    )?;
    Ok(())
}
