//! Spans and what is read from them: a [`Span`], a [`SpanWithChildren`] tree, a
//! [`SpanEvent`] (log or metric event), an [`ExportRow`] and a [`SearchHit`].

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::time::parse_sqlite_timestamp;

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
    /// `inference`, `agent_turn`, `tool`, `retrieval`, `guardrail`, `workflow` or `other`.
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

/// A span and its descendants, as
/// [`TraceStore::get_span_tree`](super::super::TraceStore::get_span_tree) returns them.
/// `depth` is the distance from the span the tree was asked for (0 for it, 1 for its
/// children, ...); children are in start order.
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

/// One row of [`TraceStore::export_spans`](super::super::TraceStore::export_spans): a flat span
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

/// Where [`TraceStore::search`](super::super::TraceStore::search) found the text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchHit {
    /// The trace.
    pub trace_id: String,
    /// The span.
    pub span_id: String,
    /// The span's name.
    pub span_name: String,
    /// `name`, `attribute:KEY` or `log`.
    pub field: String,
    /// The matching text (a name, an attribute value or a log message).
    pub text: String,
    /// The span's start, UTC.
    pub start_time: String,
}
