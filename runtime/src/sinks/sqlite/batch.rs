//! One batch, one transaction: a batch is written in one immediate transaction (it takes the
//! store's write lock as it begins, waiting up to the busy timeout), with statements prepared
//! once and kept in the connection's cache; its aggregated metric and trace rows are written
//! last. A batch that fails stores nothing.

use rusqlite::{Connection, TransactionBehavior};

use crate::metrics::InferenceMetrics;
use crate::model::vocab::SpanCategory;
use crate::pipeline::Telemetry;

use super::metric_agg::{insert_all, INSERT_METRIC};
use super::rows::{insert_event, insert_span, BatchError, INSERT_EVENT, INSERT_SPAN};
use super::trace_agg::{upsert_all, UPSERT_TRACE};
use crate::sinks::aggregate::metrics::MetricSeriesAgg;
use crate::sinks::aggregate::traces::TraceAggs;

/// Every statement a batch runs, to prepare (and cache) when the store is opened.
pub(super) const STATEMENTS: [&str; 4] = [INSERT_SPAN, INSERT_EVENT, INSERT_METRIC, UPSERT_TRACE];

/// What a batch aggregates before writing it, reused from one batch to the next.
pub(super) struct Batch {
    // The `traces` rows.
    traces: TraceAggs,
    // The metric points.
    series: MetricSeriesAgg,
    // Reused JSON buffer.
    json: Vec<u8>,
    // Derives an inference's metric points from its span.
    inference_metrics: InferenceMetrics,
}

impl Batch {
    pub(super) fn new(inference_metrics: InferenceMetrics) -> Batch {
        Batch {
            traces: TraceAggs::default(),
            series: MetricSeriesAgg::default(),
            json: Vec::with_capacity(1024),
            inference_metrics,
        }
    }

    /// Write `batch` in one transaction on `conn`; nothing of it is stored when it fails.
    pub(super) fn write(
        &mut self,
        conn: &mut Connection,
        batch: &[Telemetry],
    ) -> Result<(), BatchError> {
        let Batch {
            traces,
            series,
            json,
            inference_metrics,
        } = self;
        traces.clear();
        series.clear();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut spans = tx.prepare_cached(INSERT_SPAN)?;
            let mut events = tx.prepare_cached(INSERT_EVENT)?;
            let mut metrics = tx.prepare_cached(INSERT_METRIC)?;
            for item in batch {
                if let Telemetry::Log(log) = item {
                    insert_event(&mut events, json, log, log.trace_id, log.span_id)?;
                    continue;
                }
                // A span, a metric batch, or an inference carrying both.
                if let Some(span) = item.span() {
                    if insert_span(&mut spans, json, span)? {
                        let trace = Some(span.trace_id);
                        let span_id = Some(span.span_id);
                        // Not `item.derived_events()`: the `span_events` view derives an
                        // inference's token events from its row (schema version 3).
                        for event in &span.events {
                            insert_event(&mut events, json, event, trace, span_id)?;
                        }
                        traces.aggregate(span);
                    }
                }
                match item {
                    Telemetry::Inference(span) => series.add_inference(inference_metrics, span)?,
                    Telemetry::Guardrail(span) => {
                        for point in inference_metrics.measure_guardrail(span) {
                            series.add(&point)?;
                        }
                    }
                    Telemetry::SampledOut(span) if span.category == SpanCategory::Inference => {
                        series.add_inference(inference_metrics, span)?
                    }
                    Telemetry::Metrics(_) | Telemetry::SampledOut(_) => {
                        if let Some(points) = item.metrics(inference_metrics) {
                            for point in points.iter() {
                                series.add(point)?;
                            }
                        }
                    }
                    _ => {}
                }
            }
            insert_all(series, &mut metrics)?;
            upsert_all(traces, &tx)?;
        }
        tx.commit()?;
        Ok(())
    }
}
