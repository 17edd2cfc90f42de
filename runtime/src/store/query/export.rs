//! Span export for evaluation data sets: [`TraceStore::export_spans`] and its streaming
//! form [`TraceStore::for_each_export_row`].

use super::super::filter::{where_clause, AttributeFilter};
use super::super::types::ExportRow;
use super::super::{StoreError, TraceStore};
use super::rows::{span_cols, span_from_row};

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
        let d = self.dialect();
        let mut params = Vec::new();
        let conds = where_clause(d, filters, "s", &mut params)?;
        let sql = format!(
            "SELECT {} FROM spans s WHERE {conds} ORDER BY s.start_time, s.span_id",
            span_cols(d)
        );
        let mut failed = None;
        self.backend
            .for_each(&sql, params, |r| {
                let s = span_from_row(r, attributes)?;
                let row = ExportRow {
                    trace_id: s.trace_id,
                    span_id: s.span_id,
                    parent_span_id: s.parent_span_id,
                    name: s.name,
                    start_time: s.start_time,
                    duration_ms: s.duration_ms,
                    status: s.status,
                    attributes: s.attributes,
                };
                f(row).map_err(|e| {
                    failed = Some(e);
                    "stopped".into()
                })
            })
            .map_err(|e| failed.take().unwrap_or_else(|| self.err(e)))?;
        Ok(())
    }
}
