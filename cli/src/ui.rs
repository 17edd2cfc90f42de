//! The terminal: where output goes, whether it is coloured (on a TTY only, and not when
//! `NO_COLOR` is set and not empty), how wide a line may be (80 columns), whether it is
//! JSON (`--json`), and the pieces of styled text the commands are made of: bold table
//! headings over [`Table`] columns, coloured statuses, lines cut to the width.

use std::io::{self, IsTerminal, StdoutLock, Write};

use crate::error::Error;
use crate::format::fit;

/// The output of one run.
pub struct Ui<W: Write> {
    pub out: W,
    /// Whether to write ANSI colour codes.
    pub color: bool,
    /// The widest a line may be, in characters.
    pub width: usize,
    /// `--json`: print JSON instead of text.
    pub json: bool,
}

/// An ANSI text style.
#[derive(Clone, Copy, Debug)]
pub enum Style {
    Plain,
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Plain => "",
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Red => "31",
            Style::Green => "32",
            Style::Yellow => "33",
        }
    }
}

impl Ui<StdoutLock<'static>> {
    /// Stdout, coloured when it is a terminal and `NO_COLOR` is unset or empty.
    pub fn stdout(json: bool) -> Self {
        let out = io::stdout();
        Ui {
            color: out.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            out: out.lock(),
            width: 80,
            json,
        }
    }
}

impl<W: Write> Ui<W> {
    /// `s` in `style`, when colouring.
    pub fn paint(&self, s: &str, style: Style) -> String {
        match style.code() {
            code if self.color && !code.is_empty() => format!("\x1b[{code}m{s}\x1b[0m"),
            _ => s.to_string(),
        }
    }

    /// A span or trace status, coloured by what it says.
    pub fn status(&self, s: &str) -> String {
        let style = match s {
            "error" => Style::Red,
            "ok" => Style::Green,
            "open" | "unset" => Style::Yellow,
            _ => Style::Plain,
        };
        self.paint(s, style)
    }

    /// `text` cut to the width, in `style`, as a line.
    pub fn line(&mut self, text: &str, style: Style) -> io::Result<()> {
        let line = self.paint(&fit(text, self.width), style);
        writeln!(self.out, "{line}")
    }

    /// `table`'s heading line: its column names, bold.
    pub fn heading<const N: usize>(&mut self, table: &Table<N>) -> io::Result<()> {
        let names = table.0.map(|(name, _)| name);
        self.line(&table.line(names), Style::Bold)
    }

    /// `v` as pretty JSON and a newline (`--json`).
    pub fn write_json(&mut self, v: &impl serde::Serialize) -> Result<(), Error> {
        serde_json::to_writer_pretty(&mut self.out, v)?;
        writeln!(self.out)?;
        Ok(())
    }
}

/// A text table: its columns' names and layouts, left to right, one space apart. The
/// heading ([`Ui::heading`]) and the rows ([`Table::line`]) lay out their cells by the same
/// columns, so that they line up.
pub struct Table<const N: usize>(pub [(&'static str, Column); N]);

/// How a [`Table`] column lays out its cells.
#[derive(Clone, Copy, Debug)]
pub enum Column {
    /// Padded on the right to this width.
    Left(usize),
    /// Cut to this width (ending in `…`) and padded on the right.
    Cut(usize),
    /// Padded on the left to this width (numbers, durations).
    Right(usize),
    /// The last column, as wide as its text.
    Rest,
}

impl<const N: usize> Table<N> {
    /// One line of the table: `cells` in their columns.
    pub fn line(&self, cells: [&str; N]) -> String {
        let cells = self
            .0
            .iter()
            .zip(cells)
            .map(|(&(_, column), s)| match column {
                Column::Left(w) => format!("{s:<w$}"),
                Column::Cut(w) => format!("{:<w$}", fit(s, w)),
                Column::Right(w) => format!("{s:>w$}"),
                Column::Rest => s.to_string(),
            });
        cells.collect::<Vec<_>>().join(" ")
    }
}
