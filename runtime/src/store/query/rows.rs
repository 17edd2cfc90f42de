//! What the query families share: the statement runner ([`TraceStore`]'s `collect`), the
//! column lists of traces, spans and span events with the readers that turn their rows
//! into [`Trace`], [`Span`] and [`SpanEvent`], and the value conversions of bound
//! parameters and read columns.

use std::collections::BTreeMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Row};
use serde_json::{Map, Value};

use super::super::types::{Span, SpanEvent, Trace};
use super::super::{StoreError, TraceStore};
use crate::model::time::parse_sqlite_timestamp;

/// The columns [`trace_from_row`] reads, on `traces t`.
pub(super) const TRACE_COLS: &str = "t.trace_id, t.service_name, t.root_span_id, \
    COALESCE((SELECT r.name FROM spans r WHERE r.span_id = t.root_span_id), \
             (SELECT r.name FROM spans r WHERE r.trace_id = t.trace_id ORDER BY r.start_time LIMIT 1)), \
    t.start_time, t.end_time, \
    (julianday(t.end_time) - julianday(t.start_time)) * 86400000.0, \
    t.span_count, t.error_count, \
    (SELECT COALESCE(SUM(json_extract(u.attributes, '$.\"gen_ai.usage.input_tokens\"')), 0) \
       FROM spans u WHERE u.trace_id = t.trace_id AND u.category = 'inference'), \
    (SELECT COALESCE(SUM(json_extract(u.attributes, '$.\"gen_ai.usage.output_tokens\"')), 0) \
       FROM spans u WHERE u.trace_id = t.trace_id AND u.category = 'inference')";

/// The columns [`span_from_row`] reads, on `spans s`.
pub(super) const SPAN_COLS: &str =
    "s.span_id, s.trace_id, s.parent_span_id, s.name, s.kind, s.status, \
    s.status_message, s.category, s.service_name, s.start_time, s.end_time, s.duration_ms, \
    s.attributes";

/// The columns [`event_from_row`] reads, on `span_events`.
pub(super) const EVENT_COLS: &str = "trace_id, span_id, timestamp, event_type, severity, message, \
    metric, value, unit, attributes";

impl TraceStore {
    /// A SQLite error of this store, as a [`StoreError::Sqlite`] naming its file.
    pub(super) fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(self.path.clone(), e)
    }

    /// Run `sql` with `params` and read every row with `f`. The statement is cached, so
    /// each family's fixed SQL text is prepared once per handle.
    pub(super) fn collect<T>(
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
}

/// A count, limit or offset as a bound parameter (SQLite integers are `i64`).
pub(super) fn sql_count(n: usize) -> SqlValue {
    SqlValue::Integer(n.min(i64::MAX as usize) as i64)
}

/// A `LIKE ... ESCAPE '\'` pattern that matches values containing `text` literally.
pub(super) fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// A column read as text, whatever its SQLite type (`NULL` and blobs: empty).
pub(super) fn sql_text(v: SqlValue) -> String {
    match v {
        SqlValue::Text(s) => s,
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Blob(_) | SqlValue::Null => String::new(),
    }
}

/// The labels of a metric row: its `attributes` JSON object, values rendered as text.
pub(super) fn labels_of(attrs: &str) -> BTreeMap<String, String> {
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

/// A row of [`TRACE_COLS`].
pub(super) fn trace_from_row(r: &Row<'_>) -> rusqlite::Result<Trace> {
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

/// A row of [`SPAN_COLS`], with only the attributes named in `keep` (`None`: all).
pub(super) fn span_from_row(r: &Row<'_>, keep: Option<&[&str]>) -> rusqlite::Result<Span> {
    let attrs: String = r.get(12)?;
    let span = Span {
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
        attributes: serde_json::from_str(&attrs).unwrap_or_default(),
    };
    Ok(match keep {
        Some(keep) => project(span, keep),
        None => span,
    })
}

/// A row of [`EVENT_COLS`].
pub(super) fn event_from_row(r: &Row<'_>) -> rusqlite::Result<SpanEvent> {
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

/// `span` with only the attributes named in `keep`.
pub(super) fn project(mut span: Span, keep: &[&str]) -> Span {
    span.attributes.retain(|k, _| keep.contains(&k.as_str()));
    span
}
