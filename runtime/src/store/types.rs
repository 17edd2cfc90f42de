//! What the query API returns. Every type is `serde`-serialisable (the CLI's `--json`).
//! Timestamps are the store's own UTC text, `YYYY-MM-DD HH:MM:SS.ffffff`; use
//! [`Span::start`] and friends for a [`SystemTime`].

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StoreError;
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

/// One span: a row of `spans`.
///
/// ```no_run
/// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// let span = store.get_span("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")?;
/// let model = span.attributes.get("gen_ai.request.model");
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Span {
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// The span's own trace (32 hex digits).
    pub trace_id: String,
    /// The parent span (possibly in another process), `None` for a root.
    pub parent_span_id: Option<String>,
    /// E.g. `chat llama3.2:3b`, `execute_tool get_weather`, `invoke_agent planner`.
    pub name: String,
    /// `internal`, `client`, `server`, `producer` or `consumer`.
    pub kind: String,
    /// `ok`, `error` or `unset`.
    pub status: String,
    /// The error message when `status` is `error`.
    pub status_message: Option<String>,
    /// `inference`, `agent_turn`, `tool` or `other`.
    pub category: Option<String>,
    /// `service.name` of the process that recorded it.
    pub service_name: Option<String>,
    /// Start, UTC.
    pub start_time: String,
    /// End, UTC.
    pub end_time: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: Option<f64>,
    /// The attributes (all of them, or those asked for).
    pub attributes: Map<String, Value>,
}

impl Span {
    /// [`Span::start_time`] as a [`SystemTime`].
    ///
    /// ```no_run
    /// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// # let span = store.get_span("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")?;
    /// assert!(span.start().is_some());
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn start(&self) -> Option<SystemTime> {
        parse_sqlite_timestamp(&self.start_time)
    }

    /// An integer attribute (token counts and the like).
    ///
    /// ```no_run
    /// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// # let span = store.get_span("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")?;
    /// let input = span.attr_u64("gen_ai.usage.input_tokens").unwrap_or(0);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn attr_u64(&self, key: &str) -> Option<u64> {
        self.attributes.get(key).and_then(Value::as_u64)
    }

    /// A text attribute.
    ///
    /// ```no_run
    /// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// # let span = store.get_span("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")?;
    /// let model = span.attr_str("gen_ai.request.model");
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }
}

/// A span and its descendants, as [`TraceStore::get_span_tree`](super::TraceStore::get_span_tree)
/// returns them. `depth` is the distance from the span the tree was asked for (0 for it,
/// 1 for its children, ...); children are in start order.
///
/// ```no_run
/// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// let tree = store.get_span_tree("00f067aa0ba902b7", None, Some(1))?;
/// for child in &tree.children {
///     assert_eq!(child.depth, 1);
///     assert!(child.children.is_empty()); // max_depth 1: no grandchildren
/// }
/// assert_eq!(tree.len(), 1 + tree.children.len());
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanWithChildren {
    /// The span.
    #[serde(flatten)]
    pub span: Span,
    /// Its distance from the top of the tree.
    pub depth: u32,
    /// Its children (within `max_depth`), in start order.
    pub children: Vec<SpanWithChildren>,
}

impl SpanWithChildren {
    /// Number of spans in the tree.
    ///
    /// ```no_run
    /// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let n = store.get_span_tree("00f067aa0ba902b7", None, None)?.len();
    /// assert!(n >= 1);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        1 + self
            .children
            .iter()
            .map(SpanWithChildren::len)
            .sum::<usize>()
    }

    /// The spans of the tree in depth-first pre-order.
    ///
    /// ```no_run
    /// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let tree = store.get_span_tree("00f067aa0ba902b7", None, None)?;
    /// for node in tree.iter() {
    ///     println!("{}{}", "  ".repeat(node.depth as usize), node.span.name);
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &SpanWithChildren> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let node = stack.pop()?;
            stack.extend(node.children.iter().rev());
            Some(node)
        })
    }
}

/// A log or metric event of a span (a row of `span_events`).
///
/// ```no_run
/// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// for e in store.get_trace_events("4bf92f3577b34da6a3ce929d0e0e4736")? {
///     if e.event_type == "unstructured_log" {
///         println!("{} {:?} {:?}", e.timestamp, e.severity, e.message);
///     }
/// }
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpanEvent {
    /// The trace.
    pub trace_id: Option<String>,
    /// The span.
    pub span_id: Option<String>,
    /// When, UTC.
    pub timestamp: String,
    /// `unstructured_log`, `metric` or `structured_log`.
    pub event_type: String,
    /// Of a log: `verbose` .. `critical`.
    pub severity: Option<String>,
    /// Of a log: the text; of a structured log: `span_start` / `span_end`.
    pub message: Option<String>,
    /// Of a metric event: its name.
    pub metric: Option<String>,
    /// Of a metric event: its value.
    pub value: Option<f64>,
    /// Of a metric event: its unit.
    pub unit: Option<String>,
    /// Its attributes.
    pub attributes: Map<String, Value>,
}

/// How [`TraceStore::query_traces`](super::TraceStore::query_traces) orders its result.
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

/// One point of a [`MetricSeries`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricPoint {
    /// Start of the bucket (range query) or of the queried interval (instant query), UTC.
    pub timestamp: String,
    /// Sum of the values recorded in the bucket.
    pub value: f64,
    /// Number of measurements in the bucket.
    pub count: u64,
}

/// The points of one metric for one label set.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// let day_ago = SystemTime::now() - Duration::from_secs(86_400);
/// for s in store.query_metrics("llama_stack_tokens_total", day_ago, None, None, &[])? {
///     println!("{} {:?} = {}", s.metric, s.labels, s.values[0].value);
/// }
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricSeries {
    /// The stored (OpenTelemetry) name, e.g. `llama_stack.tokens`.
    pub metric: String,
    /// The labels (metric attributes), rendered as text.
    pub labels: BTreeMap<String, String>,
    /// The points, in time order.
    pub values: Vec<MetricPoint>,
}

/// One row of [`TraceStore::export_spans`](super::TraceStore::export_spans): a flat span
/// with the attributes asked for, for evaluation data sets (one JSON line each).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExportRow {
    /// The trace.
    pub trace_id: String,
    /// The span.
    pub span_id: String,
    /// Its parent.
    pub parent_span_id: Option<String>,
    /// Its name.
    pub name: String,
    /// Start, UTC.
    pub start_time: String,
    /// Duration in milliseconds.
    pub duration_ms: Option<f64>,
    /// `ok`, `error` or `unset`.
    pub status: String,
    /// The attributes (all, or those asked for that the span has).
    pub attributes: Map<String, Value>,
}
