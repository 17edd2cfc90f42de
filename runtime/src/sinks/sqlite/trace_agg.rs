//! The `traces` rows of one batch in SQLite: the batch's [`TraceAggs`] (the sinks' shared
//! aggregation) upserted once per trace, in id order, adding to what other processes wrote.

use rusqlite::{params, Connection};

use crate::sinks::aggregate::traces::TraceAggs;

use super::encode::{span_hex, timestamp, trace_hex, Text};

// ?8: the batch carries a true root (no parent), which replaces a remote-parented one.
pub(super) const UPSERT_TRACE: &str = "INSERT INTO traces (trace_id, service_name, root_span_id, \
     start_time, end_time, timestamp, span_count, error_count) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6, ?7) \
     ON CONFLICT(trace_id) DO UPDATE SET \
       start_time = min(start_time, excluded.start_time), \
       timestamp = min(timestamp, excluded.timestamp), \
       end_time = max(end_time, excluded.end_time), \
       root_span_id = CASE WHEN ?8 THEN excluded.root_span_id \
                           ELSE coalesce(root_span_id, excluded.root_span_id) END, \
       service_name = CASE WHEN ?8 OR (root_span_id IS NULL AND excluded.root_span_id IS NOT NULL) \
                           THEN excluded.service_name ELSE service_name END, \
       span_count = span_count + excluded.span_count, \
       error_count = error_count + excluded.error_count";

/// Upsert every row of `aggs`, within the batch's transaction.
pub(super) fn upsert_all(aggs: &TraceAggs, tx: &Connection) -> rusqlite::Result<()> {
    if aggs.is_empty() {
        return Ok(());
    }
    let mut upsert = tx.prepare_cached(UPSERT_TRACE)?;
    for (trace_id, t) in aggs.sorted() {
        let root = t.root.map(|s| span_hex(&s));
        upsert.execute(params![
            Text(&trace_hex(trace_id)),
            &*t.service,
            root.as_ref().map(|r| Text(r)),
            Text(&timestamp(t.start)),
            Text(&timestamp(t.end)),
            t.spans,
            t.errors,
            t.true_root,
        ])?;
    }
    Ok(())
}
