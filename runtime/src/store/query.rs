//! The query API of [`TraceStore`]: traces, spans, span trees, events, metrics, search and
//! statistics. Every statement is a fixed SQL text with bound parameters.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::filter::{where_clause, AttributeFilter, LabelMatcher};
use super::types::{
    ExportRow, MetricPoint, MetricSeries, Span, SpanEvent, SpanWithChildren, Trace, TraceOrder,
};
use super::{StoreError, TraceStore};
use crate::model::time::{parse_sqlite_timestamp, sqlite_timestamp};

const TRACE_COLS: &str = "t.trace_id, t.service_name, t.root_span_id, \
    COALESCE((SELECT r.name FROM spans r WHERE r.span_id = t.root_span_id), \
             (SELECT r.name FROM spans r WHERE r.trace_id = t.trace_id ORDER BY r.start_time LIMIT 1)), \
    t.start_time, t.end_time, \
    (julianday(t.end_time) - julianday(t.start_time)) * 86400000.0, \
    t.span_count, t.error_count, \
    (SELECT COALESCE(SUM(json_extract(u.attributes, '$.\"gen_ai.usage.input_tokens\"')), 0) \
       FROM spans u WHERE u.trace_id = t.trace_id AND u.category = 'inference'), \
    (SELECT COALESCE(SUM(json_extract(u.attributes, '$.\"gen_ai.usage.output_tokens\"')), 0) \
       FROM spans u WHERE u.trace_id = t.trace_id AND u.category = 'inference')";

const SPAN_COLS: &str = "s.span_id, s.trace_id, s.parent_span_id, s.name, s.kind, s.status, \
    s.status_message, s.category, s.service_name, s.start_time, s.end_time, s.duration_ms, \
    s.attributes";

const EVENT_COLS: &str = "trace_id, span_id, timestamp, event_type, severity, message, \
    metric, value, unit, attributes";

/// Which traces [`TraceStore::list_traces`] returns: the [`TraceStore::query_traces`]
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

impl std::str::FromStr for TraceStatusFilter {
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

/// Where [`TraceStore::search`] found the text.
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

/// Token usage of one model and provider, in [`StoreStats`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenStats {
    /// `gen_ai.request.model`.
    pub model: Option<String>,
    /// `gen_ai.provider.name`.
    pub provider: Option<String>,
    /// Inference spans.
    pub calls: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

/// Latency of one span name, in [`StoreStats`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LatencyStats {
    /// The span name.
    pub name: String,
    /// Spans.
    pub count: u64,
    /// Median duration, ms (nearest rank).
    pub p50_ms: f64,
    /// 95th percentile duration, ms (nearest rank).
    pub p95_ms: f64,
}

/// What [`TraceStore::stats`] reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoreStats {
    /// Traces.
    pub traces: u64,
    /// Spans.
    pub spans: u64,
    /// Spans with status `error`.
    pub error_spans: u64,
    /// Traces with at least one failed span.
    pub error_traces: u64,
    /// `error_traces / traces` (0 when empty).
    pub error_rate: f64,
    /// Token usage by model and provider, most tokens first.
    pub tokens: Vec<TokenStats>,
    /// Latency by span name, slowest p95 first.
    pub latency: Vec<LatencyStats>,
    /// Bytes on disk: the database file plus its WAL.
    pub size_bytes: u64,
}

impl TraceStore {
    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(self.path.clone(), e)
    }

    /// Traces with at least one span matching every filter, newest first by default.
    ///
    /// A trace is listed as soon as its first span is stored, so traces whose root span
    /// has not closed yet are found too (their [`Trace::root_span_id`] is `None`).
    ///
    /// ```no_run
    /// use llm_telemetry::store::{AttributeFilter, FilterOp, TraceOrder, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let filters = [AttributeFilter::new("gen_ai.usage.input_tokens", FilterOp::Gt, 1000)];
    /// for t in store.query_traces(&filters, 100, 0, TraceOrder::Newest)? {
    ///     println!("{} {:?} {} ms", t.trace_id, t.root_span_name, t.duration_ms);
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn query_traces(
        &self,
        filters: &[AttributeFilter],
        limit: usize,
        offset: usize,
        order_by: TraceOrder,
    ) -> Result<Vec<Trace>, StoreError> {
        self.list_traces(&TraceQuery {
            filters: filters.to_vec(),
            limit,
            offset,
            order: order_by,
            ..TraceQuery::default()
        })
    }

    /// Traces selected by a [`TraceQuery`] (what `llm-trace list` shows).
    ///
    /// ```no_run
    /// use llm_telemetry::store::{TraceQuery, TraceStatusFilter, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let failed = store.list_traces(&TraceQuery {
    ///     status: Some(TraceStatusFilter::Error),
    ///     ..TraceQuery::default()
    /// })?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn list_traces(&self, q: &TraceQuery) -> Result<Vec<Trace>, StoreError> {
        let mut params = Vec::new();
        let mut conds = Vec::new();
        if let Some(since) = q.since {
            params.push(SqlValue::Text(sqlite_timestamp(since)));
            conds.push(format!("t.timestamp >= ?{}", params.len()));
        }
        if let Some(until) = q.until {
            params.push(SqlValue::Text(sqlite_timestamp(until)));
            conds.push(format!("t.timestamp < ?{}", params.len()));
        }
        if let Some(service) = &q.service {
            params.push(SqlValue::Text(service.clone()));
            conds.push(format!("t.service_name = ?{}", params.len()));
        }
        match q.status {
            Some(TraceStatusFilter::Error) => conds.push("t.error_count > 0".into()),
            Some(TraceStatusFilter::Ok) => {
                conds.push("t.error_count = 0 AND t.root_span_id IS NOT NULL".into())
            }
            Some(TraceStatusFilter::Open) => {
                conds.push("t.error_count = 0 AND t.root_span_id IS NULL".into())
            }
            None => {}
        }
        if !q.filters.is_empty() {
            let span_conds = where_clause(&q.filters, "s", &mut params)?;
            conds.push(format!(
                "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND {span_conds})"
            ));
        }
        let conds = if conds.is_empty() {
            "1".to_string()
        } else {
            conds.join(" AND ")
        };
        params.push(SqlValue::Integer(q.limit.min(i64::MAX as usize) as i64));
        let limit = params.len();
        params.push(SqlValue::Integer(q.offset.min(i64::MAX as usize) as i64));
        let offset = params.len();
        // Select the page of ids first (a subquery with LIMIT is never flattened), then the
        // figures of just those traces: the planner cannot trade the index walk for
        // another plan, whatever the limit.
        let order = q.order.sql();
        let sql = format!(
            "SELECT {TRACE_COLS} FROM \
               (SELECT t.trace_id FROM traces t WHERE {conds} ORDER BY {order} \
                LIMIT ?{limit} OFFSET ?{offset}) page \
             CROSS JOIN traces t ON t.trace_id = page.trace_id ORDER BY {order}"
        );
        self.collect(&sql, params, trace_from_row)
    }

    /// One trace.
    ///
    /// ```no_run
    /// use llm_telemetry::store::{StoreError, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// match store.get_trace("00000000000000000000000000000000") {
    ///     Err(StoreError::TraceNotFound { trace_id }) => println!("no trace {trace_id}"),
    ///     other => println!("{other:?}"),
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_trace(&self, trace_id: &str) -> Result<Trace, StoreError> {
        let sql = format!("SELECT {TRACE_COLS} FROM traces t WHERE t.trace_id = ?1");
        self.collect(&sql, vec![SqlValue::Text(trace_id.into())], trace_from_row)?
            .pop()
            .ok_or_else(|| StoreError::TraceNotFound {
                trace_id: trace_id.into(),
            })
    }

    /// The full trace id that starts or ends with `short` (at least 4 hex digits; a
    /// leading `…` or `...`, as `llm-trace list` prints the end of an id, is ignored). Fails
    /// with [`StoreError::TraceNotFound`] when none does and
    /// [`StoreError::AmbiguousTraceId`] when several do.
    ///
    /// Both ends are accepted because llm-telemetry's ids start with their time and a
    /// per-process sequence (so that the store's indexes append): traces of one process
    /// and second share their first 18 digits, and it is the end of an id, random, that
    /// tells them apart. Ids from other tracers (random throughout) work either way.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let id = store.resolve_trace_id("4bf92f35")?; // a prefix
    /// assert_eq!(id, store.resolve_trace_id("…0e0e4736")?); // or the end
    /// assert_eq!(id.len(), 32);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn resolve_trace_id(&self, short: &str) -> Result<String, StoreError> {
        let short = short.trim();
        let short = short
            .strip_prefix('…')
            .or_else(|| short.strip_prefix("..."))
            .unwrap_or(short)
            .to_ascii_lowercase();
        if short.len() < 4 || short.len() > 32 || !short.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::InvalidFilter {
                reason: format!(
                    "{short:?} is not a trace id or the start or end of one (4 to 32 hex digits)"
                ),
            });
        }
        // Range scan on the primary key: ids are lowercase hex, so every id with the
        // prefix sorts in [prefix, prefix + 'g').
        let upper = format!("{short}g");
        let mut ids: Vec<String> = self.collect(
            "SELECT trace_id FROM traces WHERE trace_id >= ?1 AND trace_id < ?2 ORDER BY trace_id LIMIT 6",
            vec![SqlValue::Text(short.clone()), SqlValue::Text(upper)],
            |r| r.get(0),
        )?;
        if short.len() < 32 {
            // No index serves the end of an id: one pass over the primary key (~10 ms per
            // 100,000 traces), only when it is asked for.
            let ends: Vec<String> = self.collect(
                "SELECT trace_id FROM traces WHERE substr(trace_id, -?2) = ?1 LIMIT 6",
                vec![
                    SqlValue::Text(short.clone()),
                    SqlValue::Integer(short.len() as i64),
                ],
                |r| r.get(0),
            )?;
            for id in ends {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        match ids.len() {
            0 => Err(StoreError::TraceNotFound { trace_id: short }),
            1 => Ok(ids.into_iter().next().expect("one")),
            _ => {
                ids.truncate(6);
                Err(StoreError::AmbiguousTraceId {
                    prefix: short,
                    candidates: ids,
                })
            }
        }
    }

    /// One span of a trace.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let span = store.get_span("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")?;
    /// println!("{} took {:?} ms", span.name, span.duration_ms);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_span(&self, trace_id: &str, span_id: &str) -> Result<Span, StoreError> {
        let sql =
            format!("SELECT {SPAN_COLS} FROM spans s WHERE s.span_id = ?1 AND s.trace_id = ?2");
        self.collect(
            &sql,
            vec![
                SqlValue::Text(span_id.into()),
                SqlValue::Text(trace_id.into()),
            ],
            |r| span_from_row(r, None),
        )?
        .pop()
        .ok_or_else(|| StoreError::SpanNotFound {
            span_id: span_id.into(),
        })
    }

    /// All spans of a trace, in start order (empty for an unknown trace).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let spans = store.get_trace_spans("4bf92f3577b34da6a3ce929d0e0e4736")?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_trace_spans(&self, trace_id: &str) -> Result<Vec<Span>, StoreError> {
        let sql = format!(
            "SELECT {SPAN_COLS} FROM spans s WHERE s.trace_id = ?1 ORDER BY s.start_time, s.span_id"
        );
        self.collect(&sql, vec![SqlValue::Text(trace_id.into())], |r| {
            span_from_row(r, None)
        })
    }

    /// The logs and metric events of a trace's spans, in time order.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let logs = store.get_trace_events("4bf92f3577b34da6a3ce929d0e0e4736")?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_trace_events(&self, trace_id: &str) -> Result<Vec<SpanEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLS} FROM span_events WHERE trace_id = ?1 ORDER BY timestamp, id"
        );
        self.collect(&sql, vec![SqlValue::Text(trace_id.into())], event_from_row)
    }

    /// A span and its descendants.
    ///
    /// `max_depth` counts levels below the span: `Some(0)` is the span alone, `Some(1)`
    /// adds its children, `Some(2)` its grandchildren, ...; `None` is the whole subtree.
    /// `attributes_to_return` keeps only the named attributes of each span (`None`: all).
    /// An unknown span is [`StoreError::SpanNotFound`].
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let tree = store.get_span_tree(
    ///     "00f067aa0ba902b7",
    ///     Some(&["gen_ai.request.model", "gen_ai.usage.input_tokens"]),
    ///     Some(2),
    /// )?;
    /// for node in tree.iter() {
    ///     println!("{}{} {:?}", "  ".repeat(node.depth as usize), node.span.name, node.span.attributes);
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_span_tree(
        &self,
        span_id: &str,
        attributes_to_return: Option<&[&str]>,
        max_depth: Option<u32>,
    ) -> Result<SpanWithChildren, StoreError> {
        // Depth-limited walk down (trace_id, parent_span_id): the index serves each step.
        // The depth cap also ends the walk on (corrupt) cyclic parent links. CROSS JOIN
        // fixes the join order: left to itself, SQLite may scan every span and probe the
        // (small) tree instead.
        let sql = format!(
            "WITH RECURSIVE tree(span_id, trace_id, depth) AS ( \
               SELECT span_id, trace_id, 0 FROM spans WHERE span_id = ?1 \
               UNION ALL \
               SELECT c.span_id, c.trace_id, tree.depth + 1 FROM tree CROSS JOIN spans c \
                 ON c.trace_id = tree.trace_id AND c.parent_span_id = tree.span_id \
               WHERE tree.depth < ?2) \
             SELECT {SPAN_COLS}, tree.depth FROM tree CROSS JOIN spans s ON s.span_id = tree.span_id \
             ORDER BY tree.depth, s.start_time, s.span_id"
        );
        let depth = i64::from(max_depth.unwrap_or(100_000));
        let rows: Vec<(Span, u32)> = self.collect(
            &sql,
            vec![SqlValue::Text(span_id.into()), SqlValue::Integer(depth)],
            |r| Ok((span_from_row(r, attributes_to_return)?, r.get(13)?)),
        )?;
        build_tree(rows).ok_or_else(|| StoreError::SpanNotFound {
            span_id: span_id.into(),
        })
    }

    /// The spans of the traces that match `filters` (as in [`TraceStore::query_traces`]),
    /// each with its own real `trace_id`, in trace then start order.
    ///
    /// `max_depth` counts from each trace's top: depth 0 is the root span (or, while the
    /// root is still open, each span whose parent is not stored), 1 its children, ...;
    /// `None` returns every level. With `attributes_to_return`, only spans that carry all
    /// of the named attributes are returned, with just those attributes (llama-stack's
    /// behaviour, for building evaluation data sets).
    ///
    /// ```no_run
    /// use llm_telemetry::store::{AttributeFilter, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let spans = store.query_spans(
    ///     &[AttributeFilter::eq("gen_ai.agent.name", "planner")],
    ///     Some(&["gen_ai.request.model", "gen_ai.usage.output_tokens"]),
    ///     None,
    /// )?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn query_spans(
        &self,
        filters: &[AttributeFilter],
        attributes_to_return: Option<&[&str]>,
        max_depth: Option<u32>,
    ) -> Result<Vec<Span>, StoreError> {
        let traces = self.list_traces(&TraceQuery {
            filters: filters.to_vec(),
            limit: usize::MAX >> 1,
            order: TraceOrder::Oldest,
            ..TraceQuery::default()
        })?;
        let mut out = Vec::new();
        for trace in traces {
            let spans = self.get_trace_spans(&trace.trace_id)?;
            let depths = depths(&spans);
            for (span, depth) in spans.into_iter().zip(depths) {
                if max_depth.is_some_and(|m| depth > m) {
                    continue;
                }
                match attributes_to_return {
                    Some(keep) => {
                        if keep
                            .iter()
                            .all(|k| span.attributes.get(*k).is_some_and(|v| !v.is_null()))
                        {
                            out.push(project(span, keep));
                        }
                    }
                    None => out.push(span),
                }
            }
        }
        Ok(out)
    }

    /// Spans matching every filter (each span on its own), flattened for evaluation data
    /// sets, in start order. `attributes` keeps only the named attributes (`None`: all).
    ///
    /// ```no_run
    /// use llm_telemetry::store::{AttributeFilter, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let rows = store.export_spans(
    ///     &[AttributeFilter::eq("gen_ai.operation.name", "chat")],
    ///     Some(&["gen_ai.input.messages", "gen_ai.output.messages"]),
    /// )?;
    /// for row in rows {
    ///     println!("{}", serde_json::to_string(&row).unwrap());
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn export_spans(
        &self,
        filters: &[AttributeFilter],
        attributes: Option<&[&str]>,
    ) -> Result<Vec<ExportRow>, StoreError> {
        let mut out = Vec::new();
        self.for_each_export_row(filters, attributes, |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// [`TraceStore::export_spans`] one row at a time, without holding them all in memory.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let mut n = 0;
    /// store.for_each_export_row(&[], None, |_row| { n += 1; Ok(()) })?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn for_each_export_row(
        &self,
        filters: &[AttributeFilter],
        attributes: Option<&[&str]>,
        mut f: impl FnMut(ExportRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut params = Vec::new();
        let conds = where_clause(filters, "s", &mut params)?;
        let sql = format!(
            "SELECT {SPAN_COLS} FROM spans s WHERE {conds} ORDER BY s.start_time, s.span_id"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(params_from_iter(params))
            .map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let s = span_from_row(r, attributes).map_err(|e| self.err(e))?;
            f(ExportRow {
                trace_id: s.trace_id,
                span_id: s.span_id,
                parent_span_id: s.parent_span_id,
                name: s.name,
                start_time: s.start_time,
                duration_ms: s.duration_ms,
                status: s.status,
                attributes: s.attributes,
            })?;
        }
        Ok(())
    }

    /// Metric points of `metric` between `start` and `end` (default: now), by label set.
    ///
    /// `metric` is the stored OpenTelemetry name (`llama_stack.tokens`,
    /// `gen_ai.client.token.usage`) or its Prometheus rendering (`llama_stack_tokens_total`,
    /// `gen_ai_client_token_usage`, `gen_ai_client_operation_duration_seconds`).
    /// `granularity` `Some(step)` is a range query: one point per step-long bucket from
    /// `start` (empty buckets omitted); `None` is an instant query: one point per series
    /// summing the whole interval. Values are sums of the recorded measurements (counter
    /// increments, histogram observations) with their count. `label_matchers` are PromQL's
    /// `=`, `!=`, `=~`, `!~`.
    ///
    /// ```no_run
    /// use std::time::{Duration, SystemTime};
    /// use llm_telemetry::store::{LabelMatcher, MatchOp, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    /// let series = store.query_metrics(
    ///     "llama_stack_tokens_total",
    ///     hour_ago,
    ///     None,
    ///     Some(Duration::from_secs(60)),
    ///     &[LabelMatcher::new("model_id", MatchOp::Regex, "llama.*")],
    /// )?;
    /// for s in series {
    ///     println!("{:?}: {} points", s.labels, s.values.len());
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn query_metrics(
        &self,
        metric: &str,
        start: SystemTime,
        end: Option<SystemTime>,
        granularity: Option<Duration>,
        label_matchers: &[LabelMatcher],
    ) -> Result<Vec<MetricSeries>, StoreError> {
        if granularity.is_some_and(|g| g.is_zero()) {
            return Err(StoreError::InvalidFilter {
                reason: "granularity must be longer than zero".into(),
            });
        }
        let matchers = label_matchers
            .iter()
            .map(LabelMatcher::compile)
            .collect::<Result<Vec<_>, _>>()?;
        let names = self.metric_names(metric)?;
        let end = end.unwrap_or_else(SystemTime::now);
        let start_text = sqlite_timestamp(start);
        let end_text = sqlite_timestamp(end);
        let mut series: BTreeMap<SeriesKey, BTreeMap<u64, (f64, u64)>> = BTreeMap::new();
        for name in names {
            let rows: Vec<(String, f64, String, u64)> = self.collect(
                "SELECT timestamp, value, attributes, count FROM metrics \
                 WHERE name = ?1 AND timestamp >= ?2 AND timestamp <= ?3 ORDER BY timestamp",
                vec![
                    SqlValue::Text(name.clone()),
                    SqlValue::Text(start_text.clone()),
                    SqlValue::Text(end_text.clone()),
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            for (ts, value, attrs, count) in rows {
                let labels = labels_of(&attrs);
                if !matchers
                    .iter()
                    .all(|m| m.matches(labels.get(&m.name).map(String::as_str)))
                {
                    continue;
                }
                let bucket = match (granularity, parse_sqlite_timestamp(&ts)) {
                    (Some(g), Some(t)) => {
                        let off = t.duration_since(start).unwrap_or_default();
                        (off.as_micros() / g.as_micros().max(1)) as u64
                    }
                    _ => 0,
                };
                let point = series
                    .entry((name.clone(), labels.into_iter().collect()))
                    .or_default()
                    .entry(bucket)
                    .or_insert((0.0, 0));
                point.0 += value;
                point.1 += count;
            }
        }
        Ok(series
            .into_iter()
            .map(|((metric, labels), buckets)| MetricSeries {
                metric,
                labels: labels.into_iter().collect(),
                values: buckets
                    .into_iter()
                    .map(|(b, (value, count))| MetricPoint {
                        timestamp: sqlite_timestamp(match granularity {
                            Some(g) => start + g * (b as u32),
                            None => start,
                        }),
                        value,
                        count,
                    })
                    .collect(),
            })
            .collect())
    }

    /// The stored metric names `metric` designates (OTel or Prometheus spelling).
    fn metric_names(&self, metric: &str) -> Result<Vec<String>, StoreError> {
        let stored: Vec<(String, String, Option<String>)> = self.collect(
            "SELECT name, instrument, unit FROM metrics GROUP BY name",
            vec![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(stored
            .into_iter()
            .filter(|(name, instrument, unit)| {
                name == metric
                    || prometheus_names(name, instrument, unit.as_deref())
                        .iter()
                        .any(|p| p == metric)
            })
            .map(|(name, _, _)| name)
            .collect())
    }

    /// Spans whose name, an attribute value or a log message contains `text` (ASCII
    /// case-insensitive), newest first, at most `limit`.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// for hit in store.search("timeout", 50)? {
    ///     println!("{} {} {}: {}", hit.trace_id, hit.span_name, hit.field, hit.text);
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        let pattern = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let sql = "SELECT * FROM ( \
              SELECT s.trace_id, s.span_id, s.name, 'name', s.name, s.start_time FROM spans s \
               WHERE s.name LIKE ?1 ESCAPE '\\' \
              UNION ALL \
              SELECT s.trace_id, s.span_id, s.name, 'attribute:' || j.key, CAST(j.value AS TEXT), s.start_time \
                FROM spans s, json_each(s.attributes) j \
               WHERE j.type NOT IN ('object', 'array', 'null') AND CAST(j.value AS TEXT) LIKE ?1 ESCAPE '\\' \
              UNION ALL \
              SELECT s.trace_id, s.span_id, s.name, 'log', e.message, e.timestamp \
                FROM span_logs e JOIN spans s ON s.span_id = e.span_id \
               WHERE e.event_type = 'unstructured_log' AND e.message LIKE ?1 ESCAPE '\\' \
            ) ORDER BY 6 DESC LIMIT ?2";
        self.collect(
            sql,
            vec![
                SqlValue::Text(pattern),
                SqlValue::Integer(limit.min(i64::MAX as usize) as i64),
            ],
            |r| {
                Ok(SearchHit {
                    trace_id: r.get(0)?,
                    span_id: r.get(1)?,
                    span_name: r.get(2)?,
                    field: r.get(3)?,
                    text: r.get(4)?,
                    start_time: r.get(5)?,
                })
            },
        )
    }

    /// Counts, error rate, tokens by model and provider, latency percentiles by span name
    /// and the size on disk, over traces started since `since` (`None`: all).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let stats = store.stats(None)?;
    /// println!("{} traces, {:.1}% failed", stats.traces, stats.error_rate * 100.0);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn stats(&self, since: Option<SystemTime>) -> Result<StoreStats, StoreError> {
        let since = since.map(sqlite_timestamp).unwrap_or_default();
        let p = || vec![SqlValue::Text(since.clone())];
        let (traces, error_traces): (u64, u64) = self
            .collect(
                "SELECT COUNT(*), COALESCE(SUM(error_count > 0), 0) FROM traces WHERE timestamp >= ?1",
                p(),
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )?
            .pop()
            .unwrap_or_default();
        let (spans, error_spans): (u64, u64) = self
            .collect(
                "SELECT COUNT(*), COALESCE(SUM(status = 'error'), 0) FROM spans WHERE start_time >= ?1",
                p(),
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )?
            .pop()
            .unwrap_or_default();
        let tokens = self.collect(
            "SELECT json_extract(attributes, '$.\"gen_ai.request.model\"') AS model, \
                    json_extract(attributes, '$.\"gen_ai.provider.name\"') AS provider, COUNT(*), \
                    COALESCE(SUM(json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"')), 0) AS i, \
                    COALESCE(SUM(json_extract(attributes, '$.\"gen_ai.usage.output_tokens\"')), 0) AS o \
               FROM spans WHERE category = 'inference' AND start_time >= ?1 \
              GROUP BY model, provider ORDER BY i + o DESC, model",
            p(),
            |r| {
                Ok(TokenStats {
                    model: r.get::<_, Option<SqlValue>>(0)?.map(sql_text),
                    provider: r.get::<_, Option<SqlValue>>(1)?.map(sql_text),
                    calls: r.get::<_, i64>(2)? as u64,
                    input_tokens: r.get::<_, f64>(3)? as u64,
                    output_tokens: r.get::<_, f64>(4)? as u64,
                })
            },
        )?;
        let durations: Vec<(String, f64)> = self.collect(
            "SELECT name, duration_ms FROM spans WHERE duration_ms IS NOT NULL AND start_time >= ?1 \
             ORDER BY name, duration_ms",
            p(),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut latency = Vec::new();
        for group in durations.chunk_by(|a, b| a.0 == b.0) {
            let n = group.len();
            let rank = |q: f64| group[((q * n as f64).ceil() as usize).clamp(1, n) - 1].1;
            latency.push(LatencyStats {
                name: group[0].0.clone(),
                count: n as u64,
                p50_ms: rank(0.50),
                p95_ms: rank(0.95),
            });
        }
        latency.sort_by(|a, b| b.p95_ms.total_cmp(&a.p95_ms).then(a.name.cmp(&b.name)));
        let size_bytes = self.size_bytes();
        Ok(StoreStats {
            traces,
            spans,
            error_spans,
            error_traces,
            error_rate: if traces == 0 {
                0.0
            } else {
                error_traces as f64 / traces as f64
            },
            tokens,
            latency,
            size_bytes,
        })
    }

    /// Bytes on disk: the database file plus its `-wal` file.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// println!("{} bytes", store.size_bytes());
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn size_bytes(&self) -> u64 {
        let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        len(&self.path) + len(std::path::Path::new(&wal))
    }

    fn collect<T>(
        &self,
        sql: &str,
        params: Vec<SqlValue>,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params_from_iter(params), f)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Whether a span exists (used by tests and the CLI).
    #[doc(hidden)]
    pub fn has_span(&self, span_id: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT 1 FROM spans WHERE span_id = ?1", [span_id], |_| {
                Ok(())
            })
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }
}

/// A series: metric name and sorted labels.
type SeriesKey = (String, Vec<(String, String)>);

/// The Prometheus names of a stored metric: dots become `_`, a unit suffix is added
/// (`_seconds` for `s`), counters end in `_total`.
pub(crate) fn prometheus_names(name: &str, instrument: &str, unit: Option<&str>) -> Vec<String> {
    let base: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut with_unit = base.clone();
    match unit {
        Some("s") if !base.ends_with("_seconds") => with_unit.push_str("_seconds"),
        Some("ms") if !base.ends_with("_milliseconds") => with_unit.push_str("_milliseconds"),
        Some("By") if !base.ends_with("_bytes") => with_unit.push_str("_bytes"),
        _ => {}
    }
    let mut out = vec![base.clone(), with_unit.clone()];
    if instrument == "counter" {
        out.push(format!("{base}_total"));
        out.push(format!("{with_unit}_total"));
    }
    out
}

fn sql_text(v: SqlValue) -> String {
    match v {
        SqlValue::Text(s) => s,
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Blob(_) | SqlValue::Null => String::new(),
    }
}

fn labels_of(attrs: &str) -> BTreeMap<String, String> {
    match serde_json::from_str::<Map<String, Value>>(attrs) {
        Ok(map) => map
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

fn trace_from_row(r: &Row<'_>) -> rusqlite::Result<Trace> {
    let root_span_id: Option<String> = r.get(2)?;
    let error_count = r.get::<_, i64>(8)? as u64;
    let input = r.get::<_, f64>(9)? as u64;
    let output = r.get::<_, f64>(10)? as u64;
    let status = if error_count > 0 {
        "error"
    } else if root_span_id.is_none() {
        "open"
    } else {
        "ok"
    };
    Ok(Trace {
        trace_id: r.get(0)?,
        service_name: r.get(1)?,
        root_span_id,
        root_span_name: r.get(3)?,
        start_time: r.get(4)?,
        end_time: r.get(5)?,
        duration_ms: {
            // From the text: julianday() only has millisecond precision.
            let (start, end): (String, String) = (r.get(4)?, r.get(5)?);
            match (parse_sqlite_timestamp(&start), parse_sqlite_timestamp(&end)) {
                (Some(s), Some(e)) => e.duration_since(s).unwrap_or_default().as_secs_f64() * 1e3,
                _ => r.get::<_, Option<f64>>(6)?.unwrap_or(0.0).max(0.0),
            }
        },
        span_count: r.get::<_, i64>(7)? as u64,
        error_count,
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        status: status.into(),
    })
}

fn span_from_row(r: &Row<'_>, keep: Option<&[&str]>) -> rusqlite::Result<Span> {
    let attrs: String = r.get(12)?;
    let mut attributes: Map<String, Value> = serde_json::from_str(&attrs).unwrap_or_default();
    if let Some(keep) = keep {
        attributes.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(Span {
        span_id: r.get(0)?,
        trace_id: r.get(1)?,
        parent_span_id: r.get(2)?,
        name: r.get(3)?,
        kind: r.get(4)?,
        status: r.get(5)?,
        status_message: r.get(6)?,
        category: r.get(7)?,
        service_name: r.get(8)?,
        start_time: r.get(9)?,
        end_time: r.get(10)?,
        duration_ms: r.get(11)?,
        attributes,
    })
}

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<SpanEvent> {
    let attrs: String = r.get(9)?;
    Ok(SpanEvent {
        trace_id: r.get(0)?,
        span_id: r.get(1)?,
        timestamp: r.get(2)?,
        event_type: r.get(3)?,
        severity: r.get(4)?,
        message: r.get(5)?,
        metric: r.get(6)?,
        value: r.get(7)?,
        unit: r.get(8)?,
        attributes: serde_json::from_str(&attrs).unwrap_or_default(),
    })
}

fn project(mut span: Span, keep: &[&str]) -> Span {
    span.attributes.retain(|k, _| keep.contains(&k.as_str()));
    span
}

/// Rows in (depth, start) order, the first being the top: assemble the tree.
fn build_tree(rows: Vec<(Span, u32)>) -> Option<SpanWithChildren> {
    let mut nodes: Vec<SpanWithChildren> = rows
        .into_iter()
        .map(|(span, depth)| SpanWithChildren {
            span,
            depth,
            children: Vec::new(),
        })
        .collect();
    if nodes.is_empty() {
        return None;
    }
    // Attach deepest first, so each node is complete when it moves into its parent.
    let index: HashMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.span.span_id.clone(), i))
        .collect();
    let mut slots: Vec<Option<SpanWithChildren>> = nodes.drain(..).map(Some).collect();
    for i in (1..slots.len()).rev() {
        let node = slots[i].take().expect("each node moves once");
        let parent = node
            .span
            .parent_span_id
            .as_ref()
            .and_then(|p| index.get(p))
            .copied();
        if let Some(p) = parent.filter(|&p| p < i) {
            slots[p]
                .as_mut()
                .expect("parents are shallower")
                .children
                .push(node);
        }
    }
    let mut root = slots[0].take()?;
    fn order(n: &mut SpanWithChildren) {
        n.children.reverse();
        n.children.sort_by(|a, b| {
            a.span
                .start_time
                .cmp(&b.span.start_time)
                .then_with(|| a.span.span_id.cmp(&b.span.span_id))
        });
        n.children.iter_mut().for_each(order);
    }
    order(&mut root);
    Some(root)
}

/// The depth of each span of one trace below the trace's top spans (a span whose parent
/// is not among them has depth 0).
pub(crate) fn depths(spans: &[Span]) -> Vec<u32> {
    let ids: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let mut memo: Vec<Option<u32>> = vec![None; spans.len()];
    for i in 0..spans.len() {
        // Walk up until a known depth or a top; guard against cycles.
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut cur = i;
        let base = loop {
            if let Some(d) = memo[cur] {
                break d + 1;
            }
            if !seen.insert(cur) {
                break 0;
            }
            chain.push(cur);
            match spans[cur]
                .parent_span_id
                .as_deref()
                .and_then(|p| ids.get(p))
            {
                Some(&p) => cur = p,
                None => break 0,
            }
        };
        for (d, &c) in (base..).zip(chain.iter().rev()) {
            memo[c] = Some(d);
        }
    }
    memo.into_iter().map(|d| d.unwrap_or(0)).collect()
}
