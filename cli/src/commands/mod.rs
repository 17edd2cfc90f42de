//! The commands, one file each. Every command takes its arguments and the opened store
//! (`prune`, which deletes, takes the store's path or URL) and writes its output to the
//! [`Ui`]: text, or JSON with `--json`.

mod export;
mod list;
mod prune;
mod search;
mod serve;
mod sessions;
mod show;
mod stats;

use std::io::Write;

use llm_telemetry::store::{self, TraceStore};

use crate::args::{Cli, Command};
use crate::error::Error;
use crate::ui::Ui;

/// Runs the command `cli` names on the store it names.
pub fn run<W: Write>(cli: Cli, ui: &mut Ui<W>) -> Result<(), Error> {
    let db = cli.db.unwrap_or_else(store::default_db_path);
    let open = || TraceStore::open(&db);
    match cli.command {
        Command::List(args) => list::run(&open()?, args, ui),
        Command::Sessions(args) => sessions::run(&open()?, args, ui),
        Command::Show(args) => show::run(&open()?, args, ui),
        Command::Search(args) => search::run(&open()?, args, ui),
        Command::Stats(args) => stats::run(&open()?, args, ui),
        Command::Prune(args) => prune::run(&db, args, ui),
        Command::Export(args) => export::run(&open()?, args, ui),
        Command::Serve(args) => serve::run(&db, args, ui),
    }
}
