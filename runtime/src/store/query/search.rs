//! Text search over span names, attribute values and log messages
//! ([`TraceStore::search`]).

use super::super::backend::{pg_time, Dialect, Param};

use super::super::types::SearchHit;
use super::super::{StoreError, TraceStore};
use super::rows::{like_pattern, sql_count};
use super::traces::pg_scalar_text;

impl TraceStore {
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
        let pattern = like_pattern(text);
        // Newest first; hits of one span and time in a fixed order: its name, then its
        // attributes by key, then its logs.
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT trace_id, span_id, name, field, text, at FROM ( \
                  SELECT s.trace_id, s.span_id, s.name, 'name' AS field, s.name AS text, \
                         s.start_time AS at, 0 AS rank FROM spans s \
                   WHERE s.name LIKE ?1 ESCAPE '\\' \
                  UNION ALL \
                  SELECT s.trace_id, s.span_id, s.name, 'attribute:' || j.key, CAST(j.value AS TEXT), \
                         s.start_time, 1 FROM spans s, json_each(s.attributes) j \
                   WHERE j.type NOT IN ('object', 'array', 'null') AND CAST(j.value AS TEXT) LIKE ?1 ESCAPE '\\' \
                  UNION ALL \
                  SELECT s.trace_id, s.span_id, s.name, 'log', e.message, e.timestamp, 2 \
                    FROM span_logs e JOIN spans s ON s.span_id = e.span_id \
                   WHERE e.event_type = 'unstructured_log' AND e.message LIKE ?1 ESCAPE '\\' \
                ) ORDER BY at DESC, trace_id, span_id, rank, field, text LIMIT ?2"
                .to_string(),
            // SQLite's LIKE is ASCII case-insensitive: ILIKE in the C collation.
            Dialect::Postgres => format!(
                "SELECT trace_id, span_id, name, field, text, {} FROM ( \
                  SELECT s.trace_id, s.span_id, s.name, 'name' AS field, s.name AS text, \
                         s.start_time AS at, 0 AS rank FROM spans s \
                   WHERE s.name COLLATE \"C\" ILIKE $1::text ESCAPE '\\' \
                  UNION ALL \
                  SELECT s.trace_id, s.span_id, s.name, 'attribute:' || j.key, {v}, s.start_time, 1 \
                    FROM spans s, jsonb_each(s.attributes) j \
                   WHERE jsonb_typeof(j.value) IN ('string', 'number', 'boolean') \
                     AND {v} COLLATE \"C\" ILIKE $1::text ESCAPE '\\' \
                  UNION ALL \
                  SELECT s.trace_id, s.span_id, s.name, 'log', e.message, e.timestamp, 2 \
                    FROM span_logs e JOIN spans s ON s.span_id = e.span_id \
                   WHERE e.event_type = 'unstructured_log' \
                     AND e.message COLLATE \"C\" ILIKE $1::text ESCAPE '\\' \
                ) x ORDER BY at DESC, trace_id COLLATE \"C\", span_id COLLATE \"C\", rank, \
                  field COLLATE \"C\", text COLLATE \"C\" LIMIT $2::bigint",
                pg_time("at"),
                v = pg_scalar_text("j.value"),
            ),
        };
        self.collect(&sql, vec![Param::Text(pattern), sql_count(limit)], |r| {
            Ok(SearchHit {
                trace_id: r.get(0)?,
                span_id: r.get(1)?,
                span_name: r.get(2)?,
                field: r.get(3)?,
                text: r.get(4)?,
                start_time: r.get(5)?,
            })
        })
    }
}
