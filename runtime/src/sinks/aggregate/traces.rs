//! The `traces` rows of one batch: each trace's spans are summed up in memory (earliest
//! start, latest end, span and error counts, root span once it has closed), so that a store
//! upserts one row per trace per batch. A trace is then listed as soon as its first span is
//! stored, and several processes may share a trace row: each adds to it what it saw. The
//! SQLite and PostgreSQL writers share this; each writes the rows in its own SQL.

use std::sync::Arc;
use std::time::SystemTime;

use rustc_hash::FxHashMap;

use crate::model::ids::{SpanId, TraceId};
use crate::model::span::SpanRecord;
use crate::model::vocab::SpanStatus;

/// What one batch says about one trace.
pub(crate) struct TraceAgg {
    /// Earliest span start.
    pub(crate) start: SystemTime,
    /// Latest span end.
    pub(crate) end: SystemTime,
    /// Service of the first span seen; replaced by the root's.
    pub(crate) service: Arc<str>,
    /// The root span, once it is in the batch.
    pub(crate) root: Option<SpanId>,
    /// The root has no parent at all (a remote-parented root can be superseded).
    pub(crate) true_root: bool,
    /// Spans of the trace in the batch.
    pub(crate) spans: u32,
    /// Of which status = error.
    pub(crate) errors: u32,
}

/// The `traces` rows of one batch, one per trace; the map is reused across batches.
#[derive(Default)]
pub(crate) struct TraceAggs(FxHashMap<TraceId, TraceAgg>);

impl TraceAggs {
    /// No trace in the batch.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Add a span newly stored by this batch to its trace's row.
    pub(crate) fn aggregate(&mut self, span: &SpanRecord) {
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

    /// The rows in trace id order: ids are sequenced, so the rows append to an index on
    /// the trace id (the map's own order scattered them over the batch's key range), and
    /// every writer locks shared rows in the same order.
    pub(crate) fn sorted(&self) -> Vec<(&TraceId, &TraceAgg)> {
        let mut ordered: Vec<_> = self.0.iter().collect();
        ordered.sort_unstable_by_key(|(trace_id, _)| **trace_id);
        ordered
    }
}
