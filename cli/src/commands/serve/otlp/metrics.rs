//! An OTLP metrics export as the store's metric rows, which hold *increments* summed per
//! series and second (gauges: the last level).
//!
//! - A monotonic sum is a counter. Delta points are stored as sent; a cumulative point is
//!   stored as its increase since the series' previous point ([`Cumulative`]), so that
//!   successive exports of one running total are not counted twice.
//! - A non-monotonic cumulative sum (an up-down counter) is a level: a gauge; a
//!   non-monotonic delta sum a counter of its changes.
//! - A gauge is a gauge.
//! - A histogram is a histogram row (the sum of its observations, with their count) and,
//!   when it has buckets, one counter row per bucket bound named `{name}.bucket` with the
//!   label `le` (observations at most that bound, `+Inf` for all), as Prometheus keeps
//!   them; cumulative ones as increases, as sums are. Exponential histograms and summaries
//!   keep their sum and count only.
//!
//! Every row carries the point's attributes and the resource's `service.name` as labels.
//!
//! The first cumulative point of a series is its baseline: its whole value is stored only
//! when the series started (`start_time_unix_nano`) after this server did, since an older
//! series' earlier increase may already be in the store from a previous server run. A
//! changed start time or a smaller value is a reset: the point's whole value is the
//! increase.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use llm_telemetry::ingest::{AttrValue, Attributes, Instrument, MetricRecord};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, HistogramDataPoint, NumberDataPoint,
};

use super::values::{push_attributes, service_name, span_id, time, trace_id};
use super::Converted;

/// Cumulative series remembered at most; past it a new cumulative series is rejected
/// (counted in the export's partial success) until older ones go quiet for an hour.
const MAX_SERIES: usize = 100_000;
const QUIET_NANOS: u64 = 3_600 * 1_000_000_000;

/// The last point of each cumulative series, to turn the next one into an increase.
#[derive(Debug)]
pub struct Cumulative {
    started: u64,
    series: Mutex<HashMap<String, Last>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Last {
    start: u64,
    time: u64,
    value: f64,
    count: u64,
    buckets: Vec<u64>,
    bounds: Vec<f64>,
}

impl Default for Cumulative {
    fn default() -> Self {
        Cumulative::new(SystemTime::now())
    }
}

impl Cumulative {
    /// Remember series for a server started at `started`.
    pub fn new(started: SystemTime) -> Cumulative {
        Cumulative {
            started: nanos(started),
            series: Mutex::new(HashMap::new()),
        }
    }

    /// Start converting one export: its changes to the series are kept only if it is
    /// [committed](Changes::commit) (stored), so that an export refused as busy and sent
    /// again yields the same increases.
    pub fn begin(&self) -> Changes<'_> {
        Changes {
            started: self.started,
            series: self.series.lock().unwrap_or_else(|p| p.into_inner()),
            undo: Vec::new(),
        }
    }
}

/// The series' changes by one export, undone on drop unless committed.
pub struct Changes<'a> {
    started: u64,
    series: std::sync::MutexGuard<'a, HashMap<String, Last>>,
    undo: Vec<(String, Option<Last>)>,
}

impl Changes<'_> {
    /// Keep the changes.
    pub fn commit(mut self) {
        self.undo.clear();
    }

    /// The increase of `point` since the series' last point under `key`: `None` for a
    /// baseline (nothing to store), `Err` when no more series can be remembered.
    fn increase(&mut self, key: String, point: Last) -> Result<Option<Last>, String> {
        let series = &mut self.series;
        if !series.contains_key(&key) && series.len() >= MAX_SERIES {
            let now = point.time;
            series.retain(|_, l| now.saturating_sub(l.time) < QUIET_NANOS);
            if series.len() >= MAX_SERIES {
                return Err(format!(
                    "more than {MAX_SERIES} cumulative series are active; send delta temporality"
                ));
            }
        }
        let previous = series.insert(key.clone(), point.clone());
        self.undo.push((key, previous.clone()));
        Ok(match previous {
            None => (point.start != 0 && point.start >= self.started).then_some(point),
            Some(last) => {
                let reset = (point.start != 0 && point.start != last.start)
                    || point.value < last.value
                    || point.count < last.count
                    || point.bounds != last.bounds
                    || point.buckets.len() != last.buckets.len()
                    || point.buckets.iter().zip(&last.buckets).any(|(p, l)| p < l);
                if reset {
                    Some(point)
                } else {
                    Some(Last {
                        value: point.value - last.value,
                        count: point.count - last.count,
                        buckets: point
                            .buckets
                            .iter()
                            .zip(&last.buckets)
                            .map(|(p, l)| p - l)
                            .collect(),
                        ..point
                    })
                }
            }
        })
    }
}

impl Drop for Changes<'_> {
    fn drop(&mut self) {
        for (key, previous) in self.undo.drain(..).rev() {
            match previous {
                Some(last) => self.series.insert(key, last),
                None => self.series.remove(&key),
            };
        }
    }
}

/// The metric rows of `request`.
pub fn convert(
    request: ExportMetricsServiceRequest,
    state: &mut Changes<'_>,
) -> Converted<MetricRecord> {
    let now = SystemTime::now();
    let mut out = Converted::default();
    for resource_metrics in request.resource_metrics {
        let service = service_name(resource_metrics.resource.as_ref()).to_owned();
        for scope_metrics in resource_metrics.scope_metrics {
            let scope = scope_metrics
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for metric in scope_metrics.metrics {
                let series = Series {
                    service: &service,
                    scope: &scope,
                    name: &metric.name,
                    unit: &metric.unit,
                    now,
                };
                match metric.data {
                    Some(Data::Sum(sum)) => {
                        let cumulative = sum.aggregation_temporality
                            == AggregationTemporality::Cumulative as i32;
                        for p in &sum.data_points {
                            let (instrument, stored) = match (sum.is_monotonic, cumulative) {
                                (_, false) => (Instrument::Counter, Stored::AsSent),
                                (true, true) => (Instrument::Counter, Stored::Increase),
                                (false, true) => (Instrument::Gauge, Stored::AsSent),
                            };
                            series.number(p, instrument, stored, state, &mut out);
                        }
                    }
                    Some(Data::Gauge(gauge)) => {
                        for p in &gauge.data_points {
                            series.number(p, Instrument::Gauge, Stored::AsSent, state, &mut out);
                        }
                    }
                    Some(Data::Histogram(h)) => {
                        let cumulative =
                            h.aggregation_temporality == AggregationTemporality::Cumulative as i32;
                        for p in &h.data_points {
                            series.histogram(p, cumulative, state, &mut out);
                        }
                    }
                    Some(Data::ExponentialHistogram(h)) => {
                        let cumulative =
                            h.aggregation_temporality == AggregationTemporality::Cumulative as i32;
                        for p in &h.data_points {
                            let as_histogram = HistogramDataPoint {
                                attributes: p.attributes.clone(),
                                start_time_unix_nano: p.start_time_unix_nano,
                                time_unix_nano: p.time_unix_nano,
                                count: p.count,
                                sum: p.sum,
                                ..Default::default()
                            };
                            series.histogram(&as_histogram, cumulative, state, &mut out);
                        }
                    }
                    Some(Data::Summary(s)) => {
                        for p in &s.data_points {
                            let as_histogram = HistogramDataPoint {
                                attributes: p.attributes.clone(),
                                start_time_unix_nano: p.start_time_unix_nano,
                                time_unix_nano: p.time_unix_nano,
                                count: p.count,
                                sum: Some(p.sum),
                                ..Default::default()
                            };
                            series.histogram(&as_histogram, true, state, &mut out);
                        }
                    }
                    None => {}
                }
            }
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Stored {
    AsSent,
    Increase,
}

/// What names one metric's series.
struct Series<'a> {
    service: &'a str,
    scope: &'a str,
    name: &'a str,
    unit: &'a str,
    now: SystemTime,
}

impl Series<'_> {
    fn labels(&self, kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Attributes {
        let mut labels: Attributes = Vec::with_capacity(kvs.len() + 1);
        push_attributes(kvs, &mut labels);
        labels.push(("service.name".into(), AttrValue::from(self.service)));
        labels
    }

    fn key(&self, labels: &Attributes) -> String {
        let mut sorted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        sorted.sort();
        format!(
            "{}\0{}\0{}\0{}",
            self.scope,
            self.name,
            self.unit,
            sorted.join("\0")
        )
    }

    fn record(
        &self,
        name: String,
        instrument: Instrument,
        (value, count): (f64, u64),
        labels: Attributes,
        at: u64,
        exemplar: (
            Option<llm_telemetry::TraceId>,
            Option<llm_telemetry::SpanId>,
        ),
    ) -> MetricRecord {
        MetricRecord {
            name: name.into(),
            instrument,
            count,
            unit: self.unit.to_owned().into(),
            value,
            attributes: labels,
            timestamp: time(at, self.now),
            trace_id: exemplar.0,
            span_id: exemplar.1,
        }
    }

    fn number(
        &self,
        p: &NumberDataPoint,
        instrument: Instrument,
        stored: Stored,
        state: &mut Changes<'_>,
        out: &mut Converted<MetricRecord>,
    ) {
        let value = match p.value {
            Some(number_data_point::Value::AsDouble(f)) => f,
            Some(number_data_point::Value::AsInt(i)) => i as f64,
            None => return,
        };
        let labels = self.labels(&p.attributes);
        let value = match stored {
            Stored::AsSent => value,
            Stored::Increase => {
                let point = Last {
                    start: p.start_time_unix_nano,
                    time: p.time_unix_nano,
                    value,
                    ..Last::default()
                };
                match state.increase(self.key(&labels), point) {
                    Ok(Some(inc)) => inc.value,
                    Ok(None) => return,
                    Err(why) => return out.reject(why),
                }
            }
        };
        if instrument == Instrument::Counter && value == 0.0 {
            return;
        }
        let exemplar = exemplar(&p.exemplars);
        out.records.push(self.record(
            self.name.to_owned(),
            instrument,
            (value, 1),
            labels,
            p.time_unix_nano,
            exemplar,
        ));
    }

    fn histogram(
        &self,
        p: &HistogramDataPoint,
        cumulative: bool,
        state: &mut Changes<'_>,
        out: &mut Converted<MetricRecord>,
    ) {
        let labels = self.labels(&p.attributes);
        let point = Last {
            start: p.start_time_unix_nano,
            time: p.time_unix_nano,
            value: p.sum.unwrap_or(0.0),
            count: p.count,
            buckets: p.bucket_counts.clone(),
            bounds: p.explicit_bounds.clone(),
        };
        let point = if cumulative {
            match state.increase(self.key(&labels), point) {
                Ok(Some(inc)) => inc,
                Ok(None) => return,
                Err(why) => return out.reject(why),
            }
        } else {
            point
        };
        if point.count == 0 {
            return;
        }
        let exemplar = exemplar(&p.exemplars);
        if point.buckets.len() == point.bounds.len() + 1 {
            let mut at_most = 0;
            for (i, n) in point.buckets.iter().enumerate() {
                at_most += n;
                let le = point
                    .bounds
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
                let mut labels = labels.clone();
                labels.push(("le".into(), AttrValue::from(le.as_str())));
                let mut bucket = self.record(
                    format!("{}.bucket", self.name),
                    Instrument::Counter,
                    (at_most as f64, 1),
                    labels,
                    p.time_unix_nano,
                    exemplar,
                );
                // A count of observations, whatever the histogram measures.
                bucket.unit = "{observation}".into();
                out.records.push(bucket);
            }
        }
        out.records.push(self.record(
            self.name.to_owned(),
            Instrument::Histogram,
            (point.value, point.count),
            labels,
            p.time_unix_nano,
            exemplar,
        ));
    }
}

/// The first exemplar's span, as the row's exemplar.
fn exemplar(
    exemplars: &[opentelemetry_proto::tonic::metrics::v1::Exemplar],
) -> (
    Option<llm_telemetry::TraceId>,
    Option<llm_telemetry::SpanId>,
) {
    exemplars
        .iter()
        .find_map(|e| Some((Some(trace_id(&e.trace_id)?), Some(span_id(&e.span_id)?))))
        .unwrap_or((None, None))
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::{
        Histogram, Metric, ResourceMetrics, ScopeMetrics, Sum,
    };

    const T0: u64 = 1_700_000_000_000_000_000;
    const SEC: u64 = 1_000_000_000;

    fn sum_request(points: &[(u64, u64, i64)]) -> ExportMetricsServiceRequest {
        let data_points = points
            .iter()
            .map(|&(start, at, v)| NumberDataPoint {
                start_time_unix_nano: start,
                time_unix_nano: at,
                value: Some(number_data_point::Value::AsInt(v)),
                ..Default::default()
            })
            .collect();
        request(Data::Sum(Sum {
            data_points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        }))
    }

    fn request(data: Data) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "tokens".into(),
                        unit: "{token}".into(),
                        data: Some(data),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn run(request: ExportMetricsServiceRequest, state: &Cumulative) -> Converted<MetricRecord> {
        let mut changes = state.begin();
        let out = convert(request, &mut changes);
        changes.commit();
        out
    }

    fn values(out: &Converted<MetricRecord>) -> Vec<f64> {
        out.records.iter().map(|r| r.value).collect()
    }

    #[test]
    fn cumulative_sums_are_stored_as_increases_and_resets_start_over() {
        // The server started before the series did: its first point is all increase.
        let state = Cumulative::new(UNIX_EPOCH + std::time::Duration::from_nanos(T0 - SEC));
        assert_eq!(
            values(&run(sum_request(&[(T0, T0 + SEC, 10)]), &state)),
            [10.0]
        );
        assert_eq!(
            values(&run(sum_request(&[(T0, T0 + 2 * SEC, 25)]), &state)),
            [15.0]
        );
        // Unchanged: nothing to add.
        assert!(run(sum_request(&[(T0, T0 + 3 * SEC, 25)]), &state)
            .records
            .is_empty());
        // The application restarted: a new start time, the whole value is new.
        let t1 = T0 + 10 * SEC;
        assert_eq!(
            values(&run(sum_request(&[(t1, t1 + SEC, 4)]), &state)),
            [4.0]
        );
    }

    #[test]
    fn a_series_older_than_the_server_starts_with_a_baseline() {
        let state = Cumulative::new(UNIX_EPOCH + std::time::Duration::from_nanos(T0 + 60 * SEC));
        assert!(run(sum_request(&[(T0, T0 + 61 * SEC, 100)]), &state)
            .records
            .is_empty());
        assert_eq!(
            values(&run(sum_request(&[(T0, T0 + 62 * SEC, 130)]), &state)),
            [30.0]
        );
    }

    #[test]
    fn a_refused_export_leaves_the_series_as_they_were() {
        let state = Cumulative::new(UNIX_EPOCH);
        assert_eq!(
            values(&run(sum_request(&[(T0, T0 + SEC, 10)]), &state)),
            [10.0]
        );
        {
            let mut changes = state.begin();
            let out = convert(sum_request(&[(T0, T0 + 2 * SEC, 25)]), &mut changes);
            assert_eq!(values(&out), [15.0]);
            // Not committed: the writer was busy.
        }
        assert_eq!(
            values(&run(sum_request(&[(T0, T0 + 2 * SEC, 25)]), &state)),
            [15.0]
        );
    }

    #[test]
    fn histograms_keep_sum_count_and_buckets_as_increases() {
        let state = Cumulative::new(UNIX_EPOCH);
        let point = |at, count, sum, buckets: Vec<u64>| {
            request(Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    start_time_unix_nano: T0,
                    time_unix_nano: at,
                    count,
                    sum: Some(sum),
                    bucket_counts: buckets,
                    explicit_bounds: vec![0.5, 1.0],
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }))
        };
        let first = run(point(T0 + SEC, 3, 2.0, vec![1, 1, 1]), &state);
        let hist = first
            .records
            .iter()
            .find(|r| r.instrument == Instrument::Histogram)
            .unwrap();
        assert_eq!((hist.value, hist.count), (2.0, 3));
        assert_eq!(
            first.records.len(),
            4,
            "three bucket rows and the histogram"
        );
        let second = run(point(T0 + 2 * SEC, 5, 2.5, vec![3, 1, 1]), &state);
        let hist = second
            .records
            .iter()
            .find(|r| r.instrument == Instrument::Histogram)
            .unwrap();
        assert_eq!((hist.value, hist.count), (0.5, 2));
        let le = |r: &MetricRecord| {
            r.attributes
                .iter()
                .find(|(k, _)| k == "le")
                .map(|(_, v)| v.to_string())
        };
        let buckets: Vec<(Option<String>, f64)> = second
            .records
            .iter()
            .filter(|r| r.name == "tokens.bucket")
            .map(|r| (le(r), r.value))
            .collect();
        assert_eq!(
            buckets,
            [
                (Some("0.5".into()), 2.0),
                (Some("1".into()), 2.0),
                (Some("+Inf".into()), 2.0)
            ]
        );
    }
}
