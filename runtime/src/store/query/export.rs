//! Span export for evaluation data sets: [`TraceStore::export_spans`] and its streaming
//! form [`TraceStore::for_each_export_row`].

use rusqlite::params_from_iter;

use super::super::filter::{where_clause, AttributeFilter};
use super::super::types::ExportRow;
use super::super::{StoreError, TraceStore};
use super::rows::{span_from_row, SPAN_COLS};

impl TraceStore {
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
}
