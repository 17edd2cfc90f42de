//! `llm-trace`: browse the llm-telemetry SQLite trace store from the command line.
//!
//! ```text
//! llm-trace list --since 1h --status error
//! llm-trace show 4bf92f35
//! llm-trace search "timeout"
//! llm-trace stats
//! llm-trace prune --older-than 7d
//! llm-trace export --format jsonl > spans.jsonl
//! ```
//!
//! The store is `--db PATH`, else `TELEMETRY_SQLITE_DB_PATH`, else the runtime's default
//! (`$XDG_STATE_HOME/llm-telemetry/trace_store.db`). Every command takes `--json`.

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand, ValueEnum};
use llm_telemetry::store::{
    self, AttributeFilter, Span, SpanEvent, StoreError, Trace, TraceQuery, TraceStatusFilter,
    TraceStore,
};
use serde_json::{json, Value};

/// Browse the llm-telemetry trace store.
#[derive(Parser, Debug)]
#[command(name = "llm-trace", version, about, long_about = None)]
struct Cli {
    /// The store [default: $TELEMETRY_SQLITE_DB_PATH, else $XDG_STATE_HOME/llm-telemetry/trace_store.db]
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Recent traces: id, start, duration, root span, span count, tokens, status.
    List {
        /// Only traces started within this age (30m, 1h, 7d).
        #[arg(long, value_parser = parse_age)]
        since: Option<Duration>,
        /// Only traces with this status.
        #[arg(long, value_parser = ["ok", "error", "open"])]
        status: Option<String>,
        /// Only traces of this service.
        #[arg(long, value_name = "NAME")]
        service: Option<String>,
        /// Span filter KEY:OP:VALUE (op eq, ne, gt, lt); a trace matches when one span
        /// matches all filters. Repeatable.
        #[arg(long = "filter", value_name = "KEY:OP:VALUE")]
        filters: Vec<String>,
        /// At most this many traces.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// A trace's span tree with durations, tokens, status and logs.
    Show {
        /// The trace id, or its start or end (at least 4 hex digits; `list` prints the end).
        trace_id: String,
        /// Print every span's attributes.
        #[arg(long)]
        attributes: bool,
    },
    /// Find text in span names, attribute values and log messages.
    Search {
        /// The text (case-insensitive for ASCII).
        text: String,
        /// At most this many hits.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Traces, spans, error rate, tokens by model, latency by span name, store size.
    Stats {
        /// Only data started within this age (30m, 1h, 7d).
        #[arg(long, value_parser = parse_age)]
        since: Option<Duration>,
    },
    /// Delete traces, spans, events and metric points older than an age.
    Prune {
        /// The age (30m, 12h, 7d, 2w).
        #[arg(long, value_parser = parse_age, value_name = "AGE")]
        older_than: Duration,
    },
    /// Spans with their attributes, one JSON object per line (evaluation data sets).
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Span filter KEY:OP:VALUE; a span is exported when it matches all. Repeatable.
        #[arg(long = "filter", value_name = "KEY:OP:VALUE")]
        filters: Vec<String>,
        /// Only these attributes (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "KEYS")]
        attributes: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// One JSON object per line.
    Jsonl,
}

fn parse_age(s: &str) -> Result<Duration, String> {
    store::parse_age(s).ok_or_else(|| format!("{s:?} is not an age: expected {}", store::AGE_FORMS))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = io::stdout();
    let mut ui = Ui {
        out: out.lock(),
        color: out.is_terminal() && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty()),
        width: 80,
    };
    match run(cli, &mut ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = ui.out.flush();
            eprintln!("llm-trace: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug)]
enum Error {
    Store(StoreError),
    Io(io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Store(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Io(e.into())
    }
}

struct Ui<W: Write> {
    out: W,
    color: bool,
    width: usize,
}

impl<W: Write> Ui<W> {
    /// A bold table heading line.
    fn heading(&mut self, text: &str) -> std::io::Result<()> {
        let line = self.paint(text, "1");
        writeln!(self.out, "{line}")
    }

    fn paint(&self, s: &str, code: &str) -> String {
        if self.color && !code.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn status(&self, s: &str, width: usize) -> String {
        let padded = format!("{s:<width$}");
        let code = match s {
            "error" => "31",
            "ok" => "32",
            "open" | "unset" => "33",
            _ => "",
        };
        self.paint(&padded, code)
    }

    fn json(&mut self, v: &impl serde::Serialize) -> Result<(), Error> {
        serde_json::to_writer_pretty(&mut self.out, v)?;
        writeln!(self.out)?;
        Ok(())
    }
}

fn filters(raw: &[String]) -> Result<Vec<AttributeFilter>, Error> {
    Ok(raw
        .iter()
        .map(|f| f.parse::<AttributeFilter>())
        .collect::<Result<Vec<_>, _>>()?)
}

fn ago(age: Option<Duration>) -> Option<SystemTime> {
    age.map(|a| {
        SystemTime::now()
            .checked_sub(a)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    })
}

fn run<W: Write>(cli: Cli, ui: &mut Ui<W>) -> Result<(), Error> {
    let db = cli.db.unwrap_or_else(store::default_db_path);
    if let Command::Prune { older_than } = cli.command {
        let report = store::prune(&db, older_than)?;
        if cli.json {
            return ui.json(&report);
        }
        writeln!(
            ui.out,
            "Deleted {} traces ({} spans, {} events) and {} metric points older than {}.",
            report.traces,
            report.spans,
            report.events,
            report.metrics,
            humanize(older_than)
        )?;
        return Ok(());
    }
    let store = TraceStore::open(&db)?;
    match cli.command {
        Command::List {
            since,
            status,
            service,
            filters: raw,
            limit,
        } => {
            let q = TraceQuery {
                filters: filters(&raw)?,
                since: ago(since),
                service,
                status: status
                    .as_deref()
                    .map(str::parse::<TraceStatusFilter>)
                    .transpose()?,
                limit,
                ..TraceQuery::default()
            };
            let traces = store.list_traces(&q)?;
            if cli.json {
                return ui.json(&traces);
            }
            list(ui, &traces)
        }
        Command::Show {
            trace_id,
            attributes,
        } => {
            let id = store.resolve_trace_id(&trace_id)?;
            let trace = store.get_trace(&id)?;
            let spans = store.get_trace_spans(&id)?;
            let events = store.get_trace_events(&id)?;
            if cli.json {
                return ui.json(&json!({ "trace": trace, "spans": spans, "events": events }));
            }
            show(ui, &trace, &spans, &events, attributes)
        }
        Command::Search { text, limit } => {
            let hits = store.search(&text, limit)?;
            if cli.json {
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
        Command::Stats { since } => {
            let stats = store.stats(ago(since))?;
            if cli.json {
                return ui.json(&stats);
            }
            writeln!(
                ui.out,
                "Store       {} ({})",
                db.display(),
                bytes(stats.size_bytes)
            )?;
            writeln!(ui.out, "Traces      {}", stats.traces)?;
            writeln!(
                ui.out,
                "Spans       {} ({} failed)",
                stats.spans, stats.error_spans
            )?;
            writeln!(
                ui.out,
                "Error rate  {:.1}% of traces ({} of {})",
                stats.error_rate * 100.0,
                stats.error_traces,
                stats.traces
            )?;
            if !stats.tokens.is_empty() {
                writeln!(ui.out)?;
                ui.heading(&format!(
                    "{:<28} {:<12} {:>7} {:>9} {:>9} {:>9}",
                    "MODEL", "PROVIDER", "CALLS", "INPUT", "OUTPUT", "TOTAL"
                ))?;
                for t in &stats.tokens {
                    writeln!(
                        ui.out,
                        "{:<28} {:<12} {:>7} {:>9} {:>9} {:>9}",
                        fit(t.model.as_deref().unwrap_or("-"), 28),
                        fit(t.provider.as_deref().unwrap_or("-"), 12),
                        t.calls,
                        t.input_tokens,
                        t.output_tokens,
                        t.input_tokens + t.output_tokens
                    )?;
                }
            }
            if !stats.latency.is_empty() {
                writeln!(ui.out)?;
                ui.heading(&format!(
                    "{:<44} {:>8} {:>12} {:>12}",
                    "SPAN NAME", "COUNT", "P50", "P95"
                ))?;
                for l in &stats.latency {
                    writeln!(
                        ui.out,
                        "{:<44} {:>8} {:>12} {:>12}",
                        fit(&l.name, 44),
                        l.count,
                        duration(l.p50_ms),
                        duration(l.p95_ms)
                    )?;
                }
            }
            Ok(())
        }
        Command::Export {
            format: Format::Jsonl,
            filters: raw,
            attributes,
        } => {
            let keep: Vec<&str> = attributes.iter().map(String::as_str).collect();
            let keep = (!keep.is_empty()).then_some(keep.as_slice());
            let filters = filters(&raw)?;
            if cli.json {
                // One JSON array instead of JSON lines.
                return ui.json(&store.export_spans(&filters, keep)?);
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
        Command::Prune { .. } => unreachable!("handled above"),
    }
}

fn list<W: Write>(ui: &mut Ui<W>, traces: &[Trace]) -> Result<(), Error> {
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

fn show<W: Write>(
    ui: &mut Ui<W>,
    trace: &Trace,
    spans: &[Span],
    events: &[SpanEvent],
    attributes: bool,
) -> Result<(), Error> {
    writeln!(ui.out, "{} {}", ui.paint("Trace", "1"), trace.trace_id)?;
    writeln!(
        ui.out,
        "  {}  started {} UTC  {}",
        fit(trace.service_name.as_deref().unwrap_or("-"), 30),
        &trace.start_time[..19.min(trace.start_time.len())],
        duration(trace.duration_ms),
    )?;
    writeln!(
        ui.out,
        "  {} spans  {} tokens ({} in, {} out)  {}",
        trace.span_count,
        trace.total_tokens,
        trace.input_tokens,
        trace.output_tokens,
        ui.status(&trace.status, 0)
    )?;
    let index: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut tops = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s.parent_span_id.as_deref().and_then(|p| index.get(p)) {
            Some(&p) if p != i => children[p].push(i),
            _ => tops.push(i),
        }
    }
    let mut logs: HashMap<&str, Vec<&SpanEvent>> = HashMap::new();
    for e in events {
        if e.event_type == "unstructured_log" {
            if let Some(s) = e.span_id.as_deref() {
                logs.entry(s).or_default().push(e);
            }
        }
    }
    let ctx = ShowCtx {
        spans,
        children: &children,
        logs: &logs,
        attributes,
    };
    let n = tops.len();
    let mut seen = vec![false; spans.len()];
    for (k, &i) in tops.iter().enumerate() {
        render(ui, &ctx, i, "", k + 1 == n, &mut seen)?;
    }
    Ok(())
}

struct ShowCtx<'a> {
    spans: &'a [Span],
    children: &'a [Vec<usize>],
    logs: &'a HashMap<&'a str, Vec<&'a SpanEvent>>,
    attributes: bool,
}

fn render<W: Write>(
    ui: &mut Ui<W>,
    ctx: &ShowCtx<'_>,
    i: usize,
    prefix: &str,
    last: bool,
    seen: &mut [bool],
) -> Result<(), Error> {
    if std::mem::replace(&mut seen[i], true) {
        return Ok(());
    }
    let s = &ctx.spans[i];
    let branch = if last { "└─ " } else { "├─ " };
    let mut facts = vec![duration(s.duration_ms.unwrap_or(0.0))];
    if let (Some(input), Some(output)) = (
        s.attr_u64("gen_ai.usage.input_tokens"),
        s.attr_u64("gen_ai.usage.output_tokens"),
    ) {
        facts.push(format!("{input}→{output} tok"));
    }
    let head = format!("{prefix}{branch}");
    let tail = format!("  {}  ", facts.join("  "));
    let room = ui
        .width
        .saturating_sub(head.chars().count() + tail.chars().count() + s.status.len());
    writeln!(
        ui.out,
        "{head}{}{tail}{}",
        ui.paint(&fit(&s.name, room.max(8)), "1"),
        ui.status(&s.status, 0)
    )?;
    let inner = format!("{prefix}{}", if last { "   " } else { "│  " });
    let kids = &ctx.children[i];
    let bar = if kids.is_empty() { "   " } else { "│  " };
    if let Some(msg) = s.status_message.as_deref().filter(|_| s.status == "error") {
        let line = format!("{inner}{bar}error: {}", one_line(msg));
        writeln!(ui.out, "{}", ui.paint(&fit(&line, ui.width), "31"))?;
    }
    if ctx.attributes {
        for (k, v) in &s.attributes {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let line = format!("{inner}{bar}{k} = {}", one_line(&v));
            writeln!(ui.out, "{}", ui.paint(&fit(&line, ui.width), "2"))?;
        }
    }
    for e in ctx.logs.get(s.span_id.as_str()).into_iter().flatten() {
        let line = format!(
            "{inner}{bar}[{}] {}",
            e.severity.as_deref().unwrap_or("log"),
            one_line(e.message.as_deref().unwrap_or(""))
        );
        writeln!(ui.out, "{}", fit(&line, ui.width))?;
    }
    let n = kids.len();
    for (k, &c) in kids.iter().enumerate() {
        render(ui, ctx, c, &inner, k + 1 == n, seen)?;
    }
    Ok(())
}

/// `11-22 04:12:35` from the store's `2026-11-22 04:12:35.691483`.
/// A trace id as the tables print it: `…` and its last 11 digits. The end, not the
/// start: llm-telemetry's ids start with their time and a per-process sequence, so the ids
/// of one process and second share their first 18 digits, and only the random end tells
/// them apart. `show` accepts it as printed (see `TraceStore::resolve_trace_id`).
fn short_id(id: &str) -> String {
    match id.len().checked_sub(11) {
        Some(at) if at > 0 && id.is_char_boundary(at) => format!("…{}", &id[at..]),
        _ => id.to_owned(),
    }
}

fn short_time(ts: &str) -> &str {
    ts.get(5..19).unwrap_or(ts)
}

fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s >= n && s % n == 0 {
            return format!("{}{unit}", s / n);
        }
    }
    format!("{s}s")
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to `width` characters, ending in `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
