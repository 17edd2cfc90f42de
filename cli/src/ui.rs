//! The terminal: where output goes, whether it is coloured (on a TTY only, and not when
//! `NO_COLOR` is set and not empty), how wide a line may be (80 columns), and the styles
//! the commands use (bold headings, coloured statuses, pretty JSON for `--json`).

use std::io::{self, IsTerminal, StdoutLock, Write};

use crate::error::Error;

/// The output of one run.
pub struct Ui<W: Write> {
    pub out: W,
    /// Whether to write ANSI colour codes.
    pub color: bool,
    /// The widest a line may be, in characters.
    pub width: usize,
}

impl Ui<StdoutLock<'static>> {
    /// Stdout, coloured when it is a terminal and `NO_COLOR` is unset or empty.
    pub fn stdout() -> Self {
        let out = io::stdout();
        Ui {
            color: out.is_terminal() && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty()),
            out: out.lock(),
            width: 80,
        }
    }
}

impl<W: Write> Ui<W> {
    /// A bold table heading line.
    pub fn heading(&mut self, text: &str) -> io::Result<()> {
        let line = self.paint(text, "1");
        writeln!(self.out, "{line}")
    }

    /// `s` in the ANSI style `code` (`1` bold, `2` dim, `31` red), when colouring.
    pub fn paint(&self, s: &str, code: &str) -> String {
        if self.color && !code.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// A span or trace status, coloured by what it says.
    pub fn status(&self, s: &str, width: usize) -> String {
        let padded = format!("{s:<width$}");
        let code = match s {
            "error" => "31",
            "ok" => "32",
            "open" | "unset" => "33",
            _ => "",
        };
        self.paint(&padded, code)
    }

    /// `v` as pretty JSON and a newline (`--json`).
    pub fn json(&mut self, v: &impl serde::Serialize) -> Result<(), Error> {
        serde_json::to_writer_pretty(&mut self.out, v)?;
        writeln!(self.out)?;
        Ok(())
    }
}
