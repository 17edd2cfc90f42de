//! The command line, as clap derive structs: the global options ([`Cli`]), the commands
//! ([`Command`]) and each command's arguments, with the parsing of the values clap leaves
//! as text (ages, span filters).
//!
//! The doc comments on the fields are the help texts `llm-trace --help` prints.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand, ValueEnum};
use llm_telemetry::store::{self, AttributeFilter};

use crate::error::Error;

/// Browse the llm-telemetry trace store.
#[derive(Parser, Debug)]
#[command(name = "llm-trace", version, about, long_about = None)]
pub struct Cli {
    /// The store: a SQLite file, or a PostgreSQL database as postgres://user:pass@host:5432/db
    /// (PG* variables fill in the rest) [default: $TELEMETRY_SQLITE_DB_PATH, else
    /// $XDG_STATE_HOME/llm-telemetry/trace_store.db]
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Recent traces: id, start, duration, root span, span count, tokens, status.
    List(ListArgs),
    /// Conversations (gen_ai.conversation.id), most recently active first: user, turns,
    /// traces, tokens, cost, first and last time.
    Sessions(SessionsArgs),
    /// A trace's span tree with durations, tokens, status and logs.
    Show(ShowArgs),
    /// Find text in span names, attribute values and log messages.
    Search(SearchArgs),
    /// Traces, spans, error rate, tokens by model, latency by span name, store size.
    Stats(StatsArgs),
    /// Delete traces, spans, events and metric points older than an age.
    Prune(PruneArgs),
    /// Spans with their attributes, one JSON object per line (evaluation data sets).
    Export(ExportArgs),
    /// Serve the store over llama-stack's telemetry HTTP API (for llama-stack-client).
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8321", value_name = "HOST:PORT")]
    pub addr: String,
    /// Require `Authorization: Bearer TOKEN` on every route [env: LLM_TRACE_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Serve a non-loopback address without a token (anyone who reaches it reads the traces).
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// Also accept requests whose Host header names HOST (a name this server is reached by
    /// through DNS or a proxy); localhost and the listening address are always accepted.
    /// Repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Where save_spans_to_dataset writes DATASET_ID.jsonl [default: datasets/ next to the store;
    /// a PostgreSQL store's: next to the default SQLite store].
    #[arg(long, value_name = "DIR")]
    pub datasets_dir: Option<PathBuf>,
    /// Receive OTLP/HTTP here: POST /v1/traces, /v1/metrics, /v1/logs, protobuf or JSON
    /// (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:4318", value_name = "HOST:PORT")]
    pub otlp_http_addr: String,
    /// Receive OTLP/gRPC here: the trace, metrics and logs services (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:4317", value_name = "HOST:PORT")]
    pub otlp_grpc_addr: String,
    /// Do not receive OTLP (serve only the HTTP API).
    #[arg(long)]
    pub no_otlp: bool,
    /// Items the store's writer holds for received telemetry (OTLP, log_event) before a
    /// sender is told to retry later (429 / RESOURCE_EXHAUSTED).
    #[arg(long, default_value_t = 131_072, value_name = "ITEMS", value_parser = clap::value_parser!(u64).range(1..))]
    pub ingest_queue: u64,
    /// Do not serve the web viewer at / (only the JSON API).
    #[arg(long)]
    pub no_ui: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only traces started within this age (30m, 1h, 7d).
    #[arg(long, value_parser = parse_age)]
    pub since: Option<Duration>,
    /// Only traces with this status.
    #[arg(long, value_parser = ["ok", "error", "open"])]
    pub status: Option<String>,
    /// Only traces of this service.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Span filter KEY:OP:VALUE (op eq, ne, gt, lt); a trace matches when one span
    /// matches all filters. Repeatable.
    #[arg(long = "filter", value_name = "KEY:OP:VALUE")]
    pub filters: Vec<String>,
    /// Only traces of this conversation: with a span whose gen_ai.conversation.id is ID.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Only traces of this end user: with a span whose user.id is ID. With --session, a
    /// trace matches when it has both, on one span or on two (e.g. the user on a workflow
    /// span, the conversation on its turns).
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,
    /// At most this many traces.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct SessionsArgs {
    /// Only what happened within this age (30m, 1h, 7d): the conversations active since
    /// then, their turns, traces and tokens since then.
    #[arg(long, value_parser = parse_age)]
    pub since: Option<Duration>,
    /// Only conversations whose traces have a span with this user.id.
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,
    /// At most this many conversations.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The trace id, or its start or end (at least 4 hex digits; `list` prints the end).
    pub trace_id: String,
    /// Print every span's attributes.
    #[arg(long)]
    pub attributes: bool,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The text (case-insensitive for ASCII).
    pub text: String,
    /// At most this many hits.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Only data started within this age (30m, 1h, 7d).
    #[arg(long, value_parser = parse_age)]
    pub since: Option<Duration>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// The age (30m, 12h, 7d, 2w).
    #[arg(long, value_parser = parse_age, value_name = "AGE")]
    pub older_than: Duration,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Span filter KEY:OP:VALUE; a span is exported when it matches all. Repeatable.
    #[arg(long = "filter", value_name = "KEY:OP:VALUE")]
    pub filters: Vec<String>,
    /// Only these attributes (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub attributes: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
}

fn parse_age(s: &str) -> Result<Duration, String> {
    store::parse_age(s).ok_or_else(|| format!("{s:?} is not an age: expected {}", store::AGE_FORMS))
}

/// The `--filter` values as store filters. Parsed here, not by clap, so that a bad filter
/// is the store's one-line message.
pub fn filters(raw: &[String]) -> Result<Vec<AttributeFilter>, Error> {
    Ok(raw
        .iter()
        .map(|f| f.parse::<AttributeFilter>())
        .collect::<Result<Vec<_>, _>>()?)
}

/// The time `age` ago (`--since`), or the epoch when `age` reaches back before it.
pub fn ago(age: Option<Duration>) -> Option<SystemTime> {
    age.map(|a| {
        SystemTime::now()
            .checked_sub(a)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    })
}
