//! The `metrics` rows of one batch in SQLite: the batch's [`MetricSeriesAgg`] (the sinks'
//! shared aggregation: points summed per series and wall-clock second, schema version 2)
//! inserted as one row per series.

use rusqlite::params;

use crate::sinks::aggregate::metrics::MetricSeriesAgg;

use super::encode::{span_hex, timestamp, trace_hex, Text};

pub(super) const INSERT_METRIC: &str =
    "INSERT INTO metrics (name, instrument, unit, value, timestamp, \
     attributes, trace_id, span_id, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

pub(super) fn insert_all(
    agg: &MetricSeriesAgg,
    stmt: &mut rusqlite::CachedStatement<'_>,
) -> rusqlite::Result<()> {
    for row in agg.rows() {
        let trace = row.trace_id.map(|t| trace_hex(&t));
        let span = row.span_id.map(|s| span_hex(&s));
        stmt.execute(params![
            &*row.name,
            row.instrument.as_str(),
            &*row.unit,
            // A non-finite sum is stored as NULL (SQLite's own rule for NaN).
            row.sum.is_finite().then_some(row.sum),
            Text(&timestamp(row.latest)),
            Text(row.labels()),
            trace.as_ref().map(|t| Text(t)),
            span.as_ref().map(|s| Text(s)),
            row.count,
        ])?;
    }
    Ok(())
}
