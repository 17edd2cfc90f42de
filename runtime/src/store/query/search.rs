//! Text search over span names, attribute values and log messages
//! ([`TraceStore::search`]).

use super::super::backend::Param;

use super::super::types::SearchHit;
use super::super::{StoreError, TraceStore};
use super::rows::{like_pattern, sql_count};

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
        self.sqlite_only("search")?;
        let pattern = like_pattern(text);
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
        self.collect(sql, vec![Param::Text(pattern), sql_count(limit)], |r| {
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
