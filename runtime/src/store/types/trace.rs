//! Traces and the queries that select them: [`Trace`], what
//! [`TraceStore::list_traces`](super::super::TraceStore::list_traces) returns, and the
//! [`TraceQuery`], [`TraceStatusFilter`] and [`TraceOrder`] it takes.

use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::super::backend::{pg_julianday, Dialect};
use super::super::filter::AttributeFilter;
use super::super::StoreError;
use crate::model::time::parse_sqlite_timestamp;

/// One trace: a row of `traces` plus a few figures computed from its spans.
///
/// ```no_run
/// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// let trace = store.get_trace("4bf92f3577b34da6a3ce929d0e0e4736")?;
/// println!("{} {} spans, {} tokens, {}", trace.trace_id, trace.span_count, trace.total_tokens, trace.status);
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Trace {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// `service.name` of the root span (else of the first span stored).
    pub service_name: Option<String>,
    /// The root span, `None` while it has not closed yet.
    pub root_span_id: Option<String>,
    /// The root span's name; while the root is open, the name of the earliest span stored.
    pub root_span_name: Option<String>,
    /// Earliest span start.
    pub start_time: String,
    /// Latest span end so far.
    pub end_time: String,
    /// `end_time - start_time`, in milliseconds.
    pub duration_ms: f64,
    /// Spans stored.
    pub span_count: u64,
    /// Of which with status `error`.
    pub error_count: u64,
    /// `gen_ai.usage.input_tokens` summed over the trace's inference spans.
    pub input_tokens: u64,
    /// `gen_ai.usage.output_tokens` summed over the trace's inference spans.
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`.
    pub total_tokens: u64,
    /// `error` if any span failed, else `open` while the root has not closed, else `ok`.
    pub status: String,
}

impl Trace {
    /// [`Trace::start_time`] as a [`SystemTime`].
    ///
    /// ```no_run
    /// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// # let trace = store.get_trace("4bf92f3577b34da6a3ce929d0e0e4736")?;
    /// let age = trace.start().and_then(|t| t.elapsed().ok());
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn start(&self) -> Option<SystemTime> {
        parse_sqlite_timestamp(&self.start_time)
    }
}

/// How [`TraceStore::query_traces`](super::super::TraceStore::query_traces) orders its result.
/// Parses llama-stack's `order_by` strings: a trace column, with a leading `-` for
/// descending (`start_time` is oldest first, `-start_time` newest first); the columns are
/// [`TraceColumn::NAMES`].
///
/// ```
/// use llm_telemetry::store::{TraceColumn, TraceOrder};
/// assert_eq!("-start_time".parse::<TraceOrder>().unwrap(), TraceOrder::Newest);
/// assert_eq!(
///     "-service_name".parse::<TraceOrder>().unwrap(),
///     TraceOrder::By { column: TraceColumn::ServiceName, descending: true }
/// );
/// let err = "size".parse::<TraceOrder>().unwrap_err().to_string();
/// assert!(err.contains("size") && err.contains("root_span_id"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TraceOrder {
    /// Newest start first (the default).
    #[default]
    Newest,
    /// Oldest start first.
    Oldest,
    /// Longest first.
    Longest,
    /// Shortest first.
    Shortest,
    /// By another column of the trace.
    By {
        /// The column.
        column: TraceColumn,
        /// Largest first.
        descending: bool,
    },
}

/// A column of a trace that [`TraceOrder`] can sort by.
///
/// ```
/// use llm_telemetry::store::TraceColumn;
/// assert_eq!(TraceColumn::NAMES[0], "trace_id");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceColumn {
    /// `trace_id`.
    TraceId,
    /// `service_name`.
    ServiceName,
    /// `root_span_id`.
    RootSpanId,
    /// `start_time`.
    StartTime,
    /// `end_time`.
    EndTime,
    /// `duration` (end minus start).
    Duration,
}

impl TraceColumn {
    /// The names `order_by` accepts, in this enum's order.
    pub const NAMES: [&'static str; 6] = [
        "trace_id",
        "service_name",
        "root_span_id",
        "start_time",
        "end_time",
        "duration",
    ];
    const ALL: [TraceColumn; 6] = [
        TraceColumn::TraceId,
        TraceColumn::ServiceName,
        TraceColumn::RootSpanId,
        TraceColumn::StartTime,
        TraceColumn::EndTime,
        TraceColumn::Duration,
    ];

    /// The column as an ORDER BY key in `dialect`. PostgreSQL's spelling sorts as SQLite
    /// does: text bytewise (`COLLATE "C"`), the trace's duration as SQLite's difference of
    /// `julianday()` doubles (whole milliseconds, and their rounding).
    fn sql(self, dialect: Dialect) -> String {
        match (self, dialect) {
            (TraceColumn::TraceId, Dialect::Sqlite) => "t.trace_id",
            (TraceColumn::TraceId, Dialect::Postgres) => "t.trace_id COLLATE \"C\"",
            (TraceColumn::ServiceName, Dialect::Sqlite) => "t.service_name",
            (TraceColumn::ServiceName, Dialect::Postgres) => "t.service_name COLLATE \"C\"",
            (TraceColumn::RootSpanId, Dialect::Sqlite) => "t.root_span_id",
            (TraceColumn::RootSpanId, Dialect::Postgres) => "t.root_span_id COLLATE \"C\"",
            (TraceColumn::StartTime, _) => "t.timestamp",
            (TraceColumn::EndTime, _) => "t.end_time",
            (TraceColumn::Duration, Dialect::Sqlite) => {
                "julianday(t.end_time) - julianday(t.start_time)"
            }
            (TraceColumn::Duration, Dialect::Postgres) => {
                return format!(
                    "({} - {})",
                    pg_julianday("t.end_time"),
                    pg_julianday("t.start_time")
                )
            }
        }
        .into()
    }
}

impl TraceOrder {
    /// The ORDER BY key (without the `trace_id` tie-breaker).
    /// In PostgreSQL, `NULL`s sort first ascending and last descending, as in SQLite.
    pub(crate) fn key_sql(self, dialect: Dialect) -> String {
        let (column, descending) = match self {
            TraceOrder::Newest => (TraceColumn::StartTime, true),
            TraceOrder::Oldest => (TraceColumn::StartTime, false),
            TraceOrder::Longest => (TraceColumn::Duration, true),
            TraceOrder::Shortest => (TraceColumn::Duration, false),
            TraceOrder::By { column, descending } => (column, descending),
        };
        let nulls = match (dialect, descending) {
            (Dialect::Sqlite, _) => "",
            (Dialect::Postgres, false) => " NULLS FIRST",
            (Dialect::Postgres, true) => " NULLS LAST",
        };
        format!(
            "{} {}{nulls}",
            column.sql(dialect),
            if descending { "DESC" } else { "ASC" }
        )
    }
}

impl FromStr for TraceOrder {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "-start_time" | "-timestamp" | "newest" => return Ok(TraceOrder::Newest),
            "start_time" | "timestamp" | "oldest" => return Ok(TraceOrder::Oldest),
            "-duration" | "longest" => return Ok(TraceOrder::Longest),
            "duration" | "shortest" => return Ok(TraceOrder::Shortest),
            _ => {}
        }
        let (name, descending) = match s.strip_prefix('-') {
            Some(rest) => (rest, true),
            None => (s, false),
        };
        match TraceColumn::NAMES.iter().position(|n| *n == name) {
            Some(i) => Ok(TraceOrder::By {
                column: TraceColumn::ALL[i],
                descending,
            }),
            None => Err(StoreError::InvalidFilter {
                reason: format!(
                    "unknown order {s:?}: expected a trace column ({}), with a leading - for descending",
                    TraceColumn::NAMES.join(", ")
                ),
            }),
        }
    }
}

/// Which traces [`TraceStore::list_traces`](super::super::TraceStore::list_traces)
/// returns: the [`TraceStore::query_traces`](super::super::TraceStore::query_traces)
/// filters plus trace-level conditions: time, service and status, which use the store's
/// `traces` table directly, and the conversation and end user, each a span of the trace.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use llm_telemetry::store::{AttributeFilter, TraceQuery, TraceStatusFilter};
///
/// let q = TraceQuery {
///     since: Some(SystemTime::now() - Duration::from_secs(3600)),
///     status: Some(TraceStatusFilter::Error),
///     filters: vec![AttributeFilter::eq("gen_ai.request.model", "llama3.2:3b")],
///     session: Some("conversation-42".into()),
///     limit: 20,
///     ..TraceQuery::default()
/// };
/// assert_eq!(q.offset, 0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TraceQuery {
    /// Span filters: a trace matches when one of its spans matches all of them.
    pub filters: Vec<AttributeFilter>,
    /// Only traces that started at or after this time.
    pub since: Option<SystemTime>,
    /// Only traces that started before this time.
    pub until: Option<SystemTime>,
    /// Only traces of this service (the trace's `service_name`).
    pub service: Option<String>,
    /// Only traces with this status.
    pub status: Option<TraceStatusFilter>,
    /// Only traces of this conversation: with a span whose `gen_ai.conversation.id` is
    /// this (an agent turn's `session = ...`).
    pub session: Option<String>,
    /// Only traces of this end user: with a span whose `user.id` is this. With
    /// [`TraceQuery::session`] too, a trace matches when it has both, on one span or on
    /// two (a workflow span naming the user around a turn naming the conversation).
    pub user: Option<String>,
    /// Only traces with a span whose name, error message or an attribute value, or a log
    /// of whose spans, contains this text (ASCII case-insensitive), as
    /// [`TraceStore::search`](super::super::TraceStore::search) matches it.
    pub text: Option<String>,
    /// At most this many traces.
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
    /// The order.
    pub order: TraceOrder,
    /// Further sort keys, for traces equal under `order`.
    pub then_by: Vec<TraceOrder>,
}

impl Default for TraceQuery {
    fn default() -> Self {
        TraceQuery {
            filters: Vec::new(),
            since: None,
            until: None,
            service: None,
            status: None,
            session: None,
            user: None,
            text: None,
            limit: 100,
            offset: 0,
            order: TraceOrder::Newest,
            then_by: Vec::new(),
        }
    }
}

/// A trace's status, as [`Trace::status`] reports it.
///
/// ```
/// use llm_telemetry::store::TraceStatusFilter;
/// assert_eq!("error".parse::<TraceStatusFilter>().unwrap(), TraceStatusFilter::Error);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceStatusFilter {
    /// No span failed and the root has closed.
    Ok,
    /// At least one span failed.
    Error,
    /// The root span has not closed yet (and no span failed).
    Open,
}

impl FromStr for TraceStatusFilter {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "ok" => Ok(TraceStatusFilter::Ok),
            "error" => Ok(TraceStatusFilter::Error),
            "open" => Ok(TraceStatusFilter::Open),
            other => Err(StoreError::InvalidFilter {
                reason: format!("unknown trace status {other:?}: expected ok, error or open"),
            }),
        }
    }
}
