//! The `traces` rows of one batch: each trace's spans are summed up in memory (earliest
//! start, latest end, span and error counts, root span once it has closed) and the row is
//! upserted once per trace per batch, in id order. So a trace is listed as soon as its first span is
//! stored, and several processes may write one file: each adds to the row what it saw.

use std::sync::Arc;
use std::time::SystemTime;

use rusqlite::{params, Connection};
use rustc_hash::FxHashMap;

use crate::model::ids::{SpanId, TraceId};
use crate::model::span::SpanRecord;
use crate::model::vocab::SpanStatus;

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

/// What one batch says about one trace.
struct TraceAgg {
    start: SystemTime,
    end: SystemTime,
    // Service of the first span seen; replaced by the root's.
    service: Arc<str>,
    root: Option<SpanId>,
    // The root has no parent at all (a remote-parented root can be superseded).
    true_root: bool,
    spans: u32,
    errors: u32,
}

/// The `traces` rows of one batch, one per trace; the map is reused across batches.
#[derive(Default)]
pub(super) struct TraceAggs(FxHashMap<TraceId, TraceAgg>);

impl TraceAggs {
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// Add a span newly stored by this batch to its trace's row.
    pub(super) fn aggregate(&mut self, span: &SpanRecord) {
        let is_root = span.parent_span_id.is_none() || span.parent_is_remote;
        let true_root = span.parent_span_id.is_none();
        let error = u32::from(span.status == SpanStatus::Error);
        let t = self.0.entry(span.trace_id).or_insert_with(|| TraceAgg {
            start: span.start_time,
            end: span.end_time,
            service: span.service_name.clone(),
            root: None,
            true_root: false,
            spans: 0,
            errors: 0,
        });
        t.start = t.start.min(span.start_time);
        t.end = t.end.max(span.end_time);
        t.spans += 1;
        t.errors += error;
        // A true root wins over a remote-parented one; otherwise the first root seen.
        if is_root && (t.root.is_none() || (true_root && !t.true_root)) {
            t.root = Some(span.span_id);
            t.true_root = true_root;
            t.service = span.service_name.clone();
        }
    }

    /// Upsert every row, within the batch's transaction.
    pub(super) fn upsert_all(&self, tx: &Connection) -> rusqlite::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut upsert = tx.prepare_cached(UPSERT_TRACE)?;
        // In id order: ids are sequenced, so the rows append to the `traces` tree
        // (the map's own order scattered them over the batch's key range).
        let mut ordered: Vec<_> = self.0.iter().collect();
        ordered.sort_unstable_by_key(|(trace_id, _)| **trace_id);
        for (trace_id, t) in ordered {
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
}
