//! The `metrics` rows of one batch (shared by the SQLite and PostgreSQL writers): its points summed per series and wall-clock second
//! ([`MetricSeriesAgg`], schema version 2; a gauge's row keeps its last value, not a sum,
//! with the count of measurements), so that a burst of inferences costs a few rows
//! rather than up to seven each. An inference that shares the previous one's series adds to its
//! rows without encoding its points again ([`LastInference`]).

use std::time::SystemTime;

use rustc_hash::FxHashMap;

use crate::metrics::InferenceMetrics;
use crate::model::attr::AttrValue;
use crate::model::ids::{SpanId, TraceId};
use crate::model::metric::MetricRecord;
use crate::model::span::SpanRecord;
use crate::model::vocab::Instrument;

use super::json::JsonObject;

/// The metric points of one batch, summed per series and wall-clock second (schema version
/// 2): one row per key instead of one per measurement. Rows keep the order in which their
/// series first appeared in the batch.
#[derive(Default)]
pub(crate) struct MetricSeriesAgg {
    // Key bytes (second, name, unit, instrument, labels JSON) -> index into `rows`.
    index: FxHashMap<Vec<u8>, usize>,
    rows: Vec<MetricRow>,
    // Reused key buffer.
    key: Vec<u8>,
    last: Option<LastInference>,
}

/// The series the previous inference of the batch went to. Consecutive inferences mostly
/// share them (same model, provider, operation, second): the next one then adds its
/// values to those rows directly, without building, encoding and hashing up to seven points —
/// a third of the writer's time per inference before.
struct LastInference {
    second: i64,
    usage: bool,
    cost: bool,
    sources: [Option<AttrValue>; 5],
    rows: [usize; 7],
}

/// One aggregated `metrics` row.
pub(crate) struct MetricRow {
    /// The metric's name.
    pub(crate) name: std::borrow::Cow<'static, str>,
    /// Counter, histogram or gauge.
    pub(crate) instrument: Instrument,
    /// UCUM unit.
    pub(crate) unit: std::borrow::Cow<'static, str>,
    // Where the labels' JSON starts in the row's key.
    labels_at: usize,
    key: Vec<u8>,
    /// The sum of the measurements (a gauge: the last one).
    pub(crate) sum: f64,
    /// How many measurements.
    pub(crate) count: u64,
    /// The latest measurement's time.
    pub(crate) latest: SystemTime,
    /// The first contributing span: an exemplar.
    pub(crate) trace_id: Option<TraceId>,
    /// Its span.
    pub(crate) span_id: Option<SpanId>,
}

impl MetricRow {
    /// The labels as one JSON object.
    pub(crate) fn labels(&self) -> &[u8] {
        &self.key[self.labels_at..]
    }
}

impl MetricSeriesAgg {
    /// The rows, in the order their series first appeared in the batch.
    pub(crate) fn rows(&self) -> &[MetricRow] {
        &self.rows
    }

    pub(crate) fn clear(&mut self) {
        self.index.clear();
        self.rows.clear();
        self.last = None;
    }

    /// The points of an inference: as `add` of each of `metrics.measure_span(span)`.
    pub(crate) fn add_inference(
        &mut self,
        metrics: &InferenceMetrics,
        span: &SpanRecord,
    ) -> Result<(), serde_json::Error> {
        self.add_inference_fixed(metrics, span)?;
        self.add_stream(span)
    }

    /// The points every inference has (tokens when known, duration): as `add` of each of
    /// `metrics.measure_call(span)`.
    fn add_inference_fixed(
        &mut self,
        metrics: &InferenceMetrics,
        span: &SpanRecord,
    ) -> Result<(), serde_json::Error> {
        let usage = crate::model::semconv::usage_of(&span.attributes);
        let cost = crate::metrics::inference::cost_of(&span.attributes);
        let (values, n) = crate::metrics::inference::point_values(
            usage,
            cost,
            crate::metrics::inference::duration_of(span),
        );
        let second = unix_second(span.end_time);
        let sources = crate::metrics::inference::label_sources(&span.attributes);
        if let Some(last) = &self.last {
            let same = last.second == second
                && last.usage == usage.is_some()
                && last.cost == cost.is_some()
                && last
                    .sources
                    .iter()
                    .zip(&sources)
                    .all(|(a, b)| a.as_ref() == *b);
            if same {
                for (&row, value) in last.rows.iter().zip(values).take(n) {
                    let row = &mut self.rows[row];
                    row.sum += value;
                    row.count += 1;
                    row.latest = row.latest.max(span.end_time);
                }
                return Ok(());
            }
        }
        let mut rows = [0; 7];
        for (i, point) in metrics.measure_call(span).iter().enumerate() {
            rows[i] = self.add(point)?;
        }
        self.last = Some(LastInference {
            second,
            usage: usage.is_some(),
            cost: cost.is_some(),
            sources: sources.map(|v| v.cloned()),
            rows,
        });
        Ok(())
    }

    /// A streamed inference's time to first chunk and chunk intervals
    /// ([`stream_points`](crate::metrics::inference::stream_points)). The intervals of one
    /// span share their series (name, labels, second): the first is added as any point, the
    /// others straight to its row, without encoding each one's key.
    fn add_stream(&mut self, span: &SpanRecord) -> Result<(), serde_json::Error> {
        let mut points = crate::metrics::inference::stream_points(span).peekable();
        while let Some(point) = points.next() {
            let row = self.add(&point)?;
            while let Some(next) = points.next_if(|p| p.name == point.name) {
                let row = &mut self.rows[row];
                row.sum += next.value;
                row.count += 1;
            }
        }
        Ok(())
    }

    /// Add one point to its series' row; returns the row's index.
    pub(crate) fn add(&mut self, point: &MetricRecord) -> Result<usize, serde_json::Error> {
        let second = unix_second(point.timestamp);
        let key = &mut self.key;
        key.clear();
        key.extend_from_slice(&second.to_le_bytes());
        key.extend_from_slice(point.name.as_bytes());
        key.push(0);
        key.extend_from_slice(point.unit.as_bytes());
        key.push(0);
        key.push(point.instrument as u8);
        let labels_at = key.len();
        let mut obj = JsonObject::append(key);
        for (k, v) in &point.attributes {
            obj.attr(k, v)?;
        }
        obj.finish();
        match self.index.get(key.as_slice()) {
            Some(&i) => {
                let row = &mut self.rows[i];
                match point.instrument {
                    // A level: the row holds the last one (points arrive in the order they
                    // were measured; the latest timestamp wins a tie of clocks).
                    Instrument::Gauge if point.timestamp >= row.latest => row.sum = point.value,
                    Instrument::Gauge => {}
                    _ => row.sum += point.value,
                }
                row.count += point.count;
                row.latest = row.latest.max(point.timestamp);
                Ok(i)
            }
            None => {
                let i = self.rows.len();
                self.index.insert(key.clone(), i);
                self.rows.push(MetricRow {
                    name: point.name.clone(),
                    instrument: point.instrument,
                    unit: point.unit.clone(),
                    labels_at,
                    key: key.clone(),
                    sum: point.value,
                    count: point.count,
                    latest: point.timestamp,
                    trace_id: point.trace_id,
                    span_id: point.span_id,
                });
                Ok(i)
            }
        }
    }
}

/// The whole seconds since the Unix epoch (-1 before it): a metric row's time bucket.
fn unix_second(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(-1, |d| d.as_secs() as i64)
}
