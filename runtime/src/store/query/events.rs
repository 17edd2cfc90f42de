//! Span events: the logs and metric events of a trace's spans
//! ([`TraceStore::get_trace_events`]).

use super::super::backend::{Dialect, Param};
use super::super::types::SpanEvent;
use super::super::{StoreError, TraceStore};
use super::rows::{event_cols, event_from_row};

impl TraceStore {
    /// The logs and metric events of a trace's spans, in time order.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let logs = store.get_trace_events("4bf92f3577b34da6a3ce929d0e0e4736")?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_trace_events(&self, trace_id: &str) -> Result<Vec<SpanEvent>, StoreError> {
        let d = self.dialect();
        let cols = event_cols(d);
        let sql = match d {
            Dialect::Sqlite => {
                format!("SELECT {cols} FROM span_events WHERE trace_id = ?1 ORDER BY timestamp, id")
            }
            Dialect::Postgres => format!(
                "SELECT {cols} FROM span_events WHERE trace_id = $1::text ORDER BY timestamp, id"
            ),
        };
        self.collect(&sql, vec![Param::Text(trace_id.into())], event_from_row)
    }
}
