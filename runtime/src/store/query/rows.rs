//! What the query families share: the statement runner ([`TraceStore`]'s `collect`), the
//! column lists of traces, spans and span events with the readers that turn their rows
//! into [`Trace`], [`Span`] and [`SpanEvent`], and the value conversions of bound
//! parameters and read columns.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::super::backend::{pg_time, DbError, Dialect, Param, Row};
use super::super::types::{Span, SpanEvent, Trace};
use super::super::{StoreError, TraceStore};
use crate::model::time::parse_sqlite_timestamp;

/// The columns [`trace_from_row`] reads, on `traces t`.
pub(super) fn trace_cols(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => "t.trace_id, t.service_name, t.root_span_id, \
            COALESCE((SELECT r.name FROM spans r WHERE r.span_id = t.root_span_id), \
                     (SELECT r.name FROM spans r WHERE r.trace_id = t.trace_id ORDER BY r.start_time LIMIT 1)), \
            t.start_time, t.end_time, \
            (julianday(t.end_time) - julianday(t.start_time)) * 86400000.0, \
            t.span_count, t.error_count, \
            (SELECT COALESCE(SUM(json_extract(u.attributes, '$.\"gen_ai.usage.input_tokens\"')), 0) \
               FROM spans u WHERE u.trace_id = t.trace_id AND u.category = 'inference'), \
            (SELECT COALESCE(SUM(json_extract(u.attributes, '$.\"gen_ai.usage.output_tokens\"')), 0) \
               FROM spans u WHERE u.trace_id = t.trace_id AND u.category = 'inference')"
            .into(),
        Dialect::Postgres => format!(
            "t.trace_id, t.service_name, t.root_span_id, \
            COALESCE((SELECT r.name FROM spans r WHERE r.span_id = t.root_span_id), \
                     (SELECT r.name FROM spans r WHERE r.trace_id = t.trace_id ORDER BY r.start_time LIMIT 1)), \
            {}, {}, \
            (extract(epoch FROM t.end_time - t.start_time) * 1000)::float8, \
            t.span_count, t.error_count, \
            (SELECT COALESCE(SUM({}), 0) FROM spans u WHERE u.trace_id = t.trace_id AND u.category = 'inference'), \
            (SELECT COALESCE(SUM({}), 0) FROM spans u WHERE u.trace_id = t.trace_id AND u.category = 'inference')",
            pg_time("t.start_time"),
            pg_time("t.end_time"),
            pg_num("u", "gen_ai.usage.input_tokens"),
            pg_num("u", "gen_ai.usage.output_tokens"),
        ),
    }
}

/// The columns [`span_from_row`] reads, on `spans s`.
pub(super) fn span_cols(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => "s.span_id, s.trace_id, s.parent_span_id, s.name, s.kind, s.status, \
            s.status_message, s.category, s.service_name, s.start_time, s.end_time, s.duration_ms, \
            s.attributes"
            .into(),
        Dialect::Postgres => format!(
            "s.span_id, s.trace_id, s.parent_span_id, s.name, s.kind, s.status, \
            s.status_message, s.category, s.service_name, {}, {}, s.duration_ms, \
            s.attributes::text",
            pg_time("s.start_time"),
            pg_time("s.end_time"),
        ),
    }
}

/// The columns [`event_from_row`] reads, on `span_events`.
pub(super) fn event_cols(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => "trace_id, span_id, timestamp, event_type, severity, message, \
            metric, value, unit, attributes"
            .into(),
        Dialect::Postgres => format!(
            "trace_id, span_id, {}, event_type, severity, message, \
            metric, value, unit, attributes::text",
            pg_time("timestamp")
        ),
    }
}

/// The PostgreSQL expression of the attribute `key` of spans `alias` as a number (`NULL`
/// when it is not one), what SQLite's `json_extract` gives `SUM` (`key` is one of the
/// code's attribute names, never user text).
pub(super) fn pg_num(alias: &str, key: &str) -> String {
    format!(
        "(CASE WHEN jsonb_typeof({alias}.attributes -> '{key}') = 'number' \
          THEN ({alias}.attributes ->> '{key}')::float8 END)"
    )
}

impl TraceStore {
    /// An error of this store's database, as a [`StoreError`] naming its file or URL.
    pub(super) fn err(&self, e: DbError) -> StoreError {
        match self.dialect() {
            Dialect::Sqlite => StoreError::Sqlite {
                path: self.path.clone(),
                source: e,
            },
            Dialect::Postgres => StoreError::Postgres {
                url: self.path.display().to_string(),
                source: e,
            },
        }
    }

    /// The SQL dialect of this store's database.
    pub(super) fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    /// Run `sql` (in this store's [`dialect`](Self::dialect)) with `params` and read every
    /// row with `f`.
    pub(in crate::store) fn collect<T>(
        &self,
        sql: &str,
        params: Vec<Param>,
        mut f: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.backend
            .for_each(sql, params, |r| {
                out.push(f(r)?);
                Ok(())
            })
            .map_err(|e| self.err(e))?;
        Ok(out)
    }
}

/// The spans a conversation query reads, aliased `s`, and the condition on them: every
/// span; or, with `since`, the spans started since then of the traces that ended since
/// then (the `traces` time index first). Pushes the parameter.
pub(super) fn spans_since(
    d: Dialect,
    params: &mut Vec<Param>,
    since: Option<std::time::SystemTime>,
) -> (String, String) {
    match since {
        Some(since) => {
            let p = d.push_time(params, crate::model::time::sqlite_timestamp(since));
            (
                format!(
                    "traces t {} spans s ON s.trace_id = t.trace_id AND t.end_time >= {p}",
                    d.fixed_join()
                ),
                format!("AND s.start_time >= {p}"),
            )
        }
        None => ("spans s".to_string(), String::new()),
    }
}

/// A count, limit or offset as a bound parameter (SQLite integers are `i64`).
pub(super) fn sql_count(n: usize) -> Param {
    Param::Integer(n.min(i64::MAX as usize) as i64)
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

/// A row of [`trace_cols`].
pub(super) fn trace_from_row(r: &Row<'_>) -> Result<Trace, DbError> {
    let root_span_id: Option<String> = r.get(2)?;
    let error_count = r.get::<i64>(8)? as u64;
    let input = r.get::<f64>(9)? as u64;
    let output = r.get::<f64>(10)? as u64;
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
                _ => r.get::<Option<f64>>(6)?.unwrap_or(0.0).max(0.0),
            }
        },
        span_count: r.get::<i64>(7)? as u64,
        error_count,
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        status: status.into(),
    })
}

/// A row of [`span_cols`], with only the attributes named in `keep` (`None`: all).
pub(super) fn span_from_row(r: &Row<'_>, keep: Option<&[&str]>) -> Result<Span, DbError> {
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

/// A row of [`event_cols`].
pub(super) fn event_from_row(r: &Row<'_>) -> Result<SpanEvent, DbError> {
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
