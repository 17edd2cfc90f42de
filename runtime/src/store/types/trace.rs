//! Traces and the queries that select them: [`Trace`], what
//! [`TraceStore::list_traces`](super::super::TraceStore::list_traces) returns, and the
//! [`TraceQuery`], [`TraceStatusFilter`] and [`TraceOrder`] it takes.

use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

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
/// Parses llama-stack's strings: `start_time` (oldest first), `-start_time` (newest
/// first), `duration`, `-duration`.
///
/// ```
/// use llm_telemetry::store::TraceOrder;
/// assert_eq!("-start_time".parse::<TraceOrder>().unwrap(), TraceOrder::Newest);
/// assert!("size".parse::<TraceOrder>().unwrap_err().to_string().contains("size"));
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
}

impl TraceOrder {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            TraceOrder::Newest => "t.timestamp DESC, t.trace_id",
            TraceOrder::Oldest => "t.timestamp ASC, t.trace_id",
            TraceOrder::Longest => {
                "julianday(t.end_time) - julianday(t.start_time) DESC, t.trace_id"
            }
            TraceOrder::Shortest => {
                "julianday(t.end_time) - julianday(t.start_time) ASC, t.trace_id"
            }
        }
    }
}

impl FromStr for TraceOrder {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "-start_time" | "-timestamp" | "newest" => Ok(TraceOrder::Newest),
            "start_time" | "timestamp" | "oldest" => Ok(TraceOrder::Oldest),
            "-duration" | "longest" => Ok(TraceOrder::Longest),
            "duration" | "shortest" => Ok(TraceOrder::Shortest),
            other => Err(StoreError::InvalidFilter {
                reason: format!(
                    "unknown order {other:?}: expected start_time, -start_time, duration or -duration"
                ),
            }),
        }
    }
}

/// Which traces [`TraceStore::list_traces`](super::super::TraceStore::list_traces)
/// returns: the [`TraceStore::query_traces`](super::super::TraceStore::query_traces)
/// filters plus trace-level conditions (time, service, status) that use the store's
/// `traces` table directly.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use llm_telemetry::store::{AttributeFilter, TraceQuery, TraceStatusFilter};
///
/// let q = TraceQuery {
///     since: Some(SystemTime::now() - Duration::from_secs(3600)),
///     status: Some(TraceStatusFilter::Error),
///     filters: vec![AttributeFilter::eq("gen_ai.request.model", "llama3.2:3b")],
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
    /// At most this many traces.
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
    /// The order.
    pub order: TraceOrder,
}

impl Default for TraceQuery {
    fn default() -> Self {
        TraceQuery {
            filters: Vec::new(),
            since: None,
            until: None,
            service: None,
            status: None,
            limit: 100,
            offset: 0,
            order: TraceOrder::Newest,
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
