//! `llm-trace`: browse the llm-telemetry SQLite trace store from the command line.
//!
//! ```text
//! llm-trace list --since 1h --status error
//! llm-trace list --session conv-42
//! llm-trace sessions --user alice
//! llm-trace show 4bf92f35
//! llm-trace search "timeout"
//! llm-trace stats
//! llm-trace prune --older-than 7d
//! llm-trace export --format jsonl > spans.jsonl
//! ```
//!
//! The store is `--db PATH` (or `--db postgres://...`, the `postgres` sink's database),
//! else `TELEMETRY_SQLITE_DB_PATH`, else the runtime's default
//! (`$XDG_STATE_HOME/llm-telemetry/trace_store.db`). Every command takes `--json`.
//!
//! This file parses the command line, runs the command and turns the outcome into the
//! exit code. The command line is in [`args`], the commands in [`commands`], the terminal
//! in [`ui`], the renderings of values the commands share in [`format`](mod@format), the
//! error type in [`error`].

mod args;
mod commands;
mod error;
mod format;
mod ui;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let mut ui = ui::Ui::stdout(cli.json);
    match commands::run(cli, &mut ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = ui.out.flush();
            eprintln!("llm-trace: {e}");
            ExitCode::FAILURE
        }
    }
}
