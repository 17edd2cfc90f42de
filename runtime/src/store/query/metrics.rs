//! Metric queries: [`TraceStore::query_metrics`] (points by label set, bucketed or summed,
//! filtered by label matchers), with the OpenTelemetry-to-Prometheus name mapping that
//! lets a metric be asked for by either name.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::super::backend::{pg_time, Dialect, Param};

use super::super::label_matcher::LabelMatcher;
use super::super::types::{MetricPoint, MetricSeries};
use super::super::{StoreError, TraceStore};
use super::rows::labels_of;
use crate::metrics::prometheus_names::prometheus_names;
use crate::model::time::{parse_sqlite_timestamp, sqlite_timestamp};
use crate::model::vocab::Instrument;

impl TraceStore {
    /// Metric points of `metric` between `start` and `end` (default: now), by label set.
    ///
    /// `metric` is the stored OpenTelemetry name (`llama_stack.tokens`,
    /// `gen_ai.client.token.usage`) or its Prometheus rendering (`llama_stack_tokens_total`,
    /// `gen_ai_client_token_usage`, `gen_ai_client_operation_duration_seconds`), or the name
    /// of llama-stack `MetricEvent`s: the logged ones and the `prompt_tokens`,
    /// `completion_tokens` and `total_tokens` events of each inference span (labels
    /// `model_id`, `provider_id`).
    /// `granularity` `Some(step)` is a range query: one point per step-long bucket, the
    /// buckets aligned on the clock in UTC (a `1h` bucket starts at the hour, `1d` at
    /// midnight; empty buckets omitted); `None` is an instant query: one point per series
    /// summing the whole interval. Values are sums of the recorded measurements (counter
    /// increments, histogram observations) with their count; a gauge's value
    /// (`llama_stack_concurrent_requests`) is its last measurement in the bucket.
    /// `label_matchers` are PromQL's `=`, `!=`, `=~`, `!~`.
    ///
    /// ```no_run
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use llm_telemetry::store::{LabelMatcher, MatchOp, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    /// let series = store.query_metrics(
    ///     "llama_stack_tokens_total",
    ///     hour_ago,
    ///     None,
    ///     Some(Duration::from_secs(60)),
    ///     &[LabelMatcher::new("model_id", MatchOp::Regex, "llama.*")],
    /// )?;
    /// for s in series {
    ///     println!("{:?}: {} points", s.labels, s.values.len());
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn query_metrics(
        &self,
        metric: &str,
        start: SystemTime,
        end: Option<SystemTime>,
        granularity: Option<Duration>,
        label_matchers: &[LabelMatcher],
    ) -> Result<Vec<MetricSeries>, StoreError> {
        let step = match granularity {
            Some(g) => Step::Every(g),
            None => Step::Whole,
        };
        self.metric_series(metric, start, end, step, label_matchers)
    }

    /// Every measurement of `metric` between `start` and `end` (default: now) as its own
    /// point at its own time, by label set: a range query without a step, as llama-stack
    /// answered it (one point per MetricEvent; the `metrics` table's rows are per-second
    /// aggregates, so one point per row). Names and matchers as in
    /// [`TraceStore::query_metrics`].
    ///
    /// ```no_run
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    /// for s in store.query_metric_points("prompt_tokens", hour_ago, None, &[])? {
    ///     println!("{:?}: {} events", s.labels, s.values.len());
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn query_metric_points(
        &self,
        metric: &str,
        start: SystemTime,
        end: Option<SystemTime>,
        label_matchers: &[LabelMatcher],
    ) -> Result<Vec<MetricSeries>, StoreError> {
        self.metric_series(metric, start, end, Step::Each, label_matchers)
    }

    fn metric_series(
        &self,
        metric: &str,
        start: SystemTime,
        end: Option<SystemTime>,
        step: Step,
        label_matchers: &[LabelMatcher],
    ) -> Result<Vec<MetricSeries>, StoreError> {
        if matches!(step, Step::Every(g) if g.is_zero()) {
            return Err(StoreError::InvalidFilter {
                reason: "granularity must be longer than zero".into(),
            });
        }
        let matchers = label_matchers
            .iter()
            .map(LabelMatcher::compile)
            .collect::<Result<Vec<_>, _>>()?;
        let end = end.unwrap_or_else(SystemTime::now);
        let start_text = sqlite_timestamp(start);
        let end_text = sqlite_timestamp(end);
        let sql = MetricSql::of(self.dialect());
        let mut rows: Vec<MetricRow> = Vec::new();
        for (name, instrument) in self.metric_names(metric)? {
            let gauge = instrument == Instrument::Gauge.as_str();
            rows.extend(self.collect(
                &sql.rows,
                vec![
                    Param::Text(name.clone()),
                    Param::Text(start_text.clone()),
                    Param::Text(end_text.clone()),
                ],
                |r| {
                    Ok(MetricRow {
                        metric: name.clone(),
                        timestamp: r.get(0)?,
                        value: r.get(1)?,
                        attributes: r.get(2)?,
                        count: r.get(3)?,
                        unit: r.get(4)?,
                        gauge,
                    })
                },
            )?);
        }
        // llama-stack's MetricEvents: the logged ones, and the token events derived from
        // each inference span (a view over every inference span: read only for their names).
        let events = if TOKEN_EVENT_NAMES.contains(&metric) {
            "span_events"
        } else {
            "span_logs"
        };
        rows.extend(self.collect(
            &sql.events(events),
            vec![
                Param::Text(metric.to_owned()),
                Param::Text(start_text),
                Param::Text(end_text),
            ],
            |r| {
                Ok(MetricRow {
                    metric: metric.to_owned(),
                    timestamp: r.get(0)?,
                    value: r.get(1)?,
                    attributes: r.get(2)?,
                    count: 1,
                    unit: r.get(3)?,
                    gauge: false,
                })
            },
        )?);
        let mut series: BTreeMap<SeriesKey, SeriesPoints> = BTreeMap::new();
        let mut seq = 0u64;
        for row in rows {
            let labels = labels_of(&row.attributes);
            if !matchers
                .iter()
                .all(|m| m.matches(labels.get(&m.name).map(String::as_str)))
            {
                continue;
            }
            let micros = |t: SystemTime| {
                t.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros().min(u128::from(u64::MAX)) as u64)
            };
            let at = parse_sqlite_timestamp(&row.timestamp).map_or(micros(start), micros);
            let bucket = match step {
                // On the clock (UTC): 1h buckets start at the hour, 1d at midnight.
                Step::Every(g) => {
                    let g = g.as_micros().clamp(1, u128::from(u64::MAX)) as u64;
                    (at - at % g, 0)
                }
                Step::Whole => (micros(start), 0),
                Step::Each => (at, seq),
            };
            seq += 1;
            let (unit, buckets) = series
                .entry((row.metric, labels.into_iter().collect()))
                .or_default();
            if unit.is_none() {
                *unit = row.unit;
            }
            let point = buckets.entry(bucket).or_insert((0.0, 0));
            if row.gauge {
                point.0 = row.value;
            } else {
                point.0 += row.value;
            }
            point.1 += row.count;
        }
        Ok(series
            .into_iter()
            .map(|((metric, labels), (unit, buckets))| MetricSeries {
                metric,
                labels: labels.into_iter().collect(),
                unit,
                values: buckets
                    .into_iter()
                    .map(|((micros, _), (value, count))| MetricPoint {
                        timestamp: sqlite_timestamp(UNIX_EPOCH + Duration::from_micros(micros)),
                        value,
                        count,
                    })
                    .collect(),
            })
            .collect())
    }

    /// The stored metric names `metric` designates (OTel or Prometheus spelling), with
    /// their instrument.
    fn metric_names(&self, metric: &str) -> Result<Vec<(String, String)>, StoreError> {
        let stored: Vec<(String, String, Option<String>)> = self.collect(
            match self.dialect() {
                Dialect::Sqlite => "SELECT name, instrument, unit FROM metrics GROUP BY name",
                Dialect::Postgres => {
                    "SELECT DISTINCT ON (name) name, instrument, unit FROM metrics ORDER BY name"
                }
            },
            vec![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(stored
            .into_iter()
            .filter(|(name, instrument, unit)| {
                name == metric
                    || prometheus_names(name, instrument, unit.as_deref())
                        .iter()
                        .any(|p| p == metric)
            })
            .map(|(name, instrument, _)| (name, instrument))
            .collect())
    }
}

/// A series: metric name and sorted labels.
type SeriesKey = (String, Vec<(String, String)>);

/// A series' unit and its (value sum, count) by bucket: (its start in microseconds since
/// the epoch, a sequence number that keeps `Step::Each` points apart).
type SeriesPoints = (Option<String>, BTreeMap<(u64, u64), (f64, u64)>);

/// How measurements are grouped into points.
#[derive(Clone, Copy)]
enum Step {
    /// One point for the whole interval, at its start.
    Whole,
    /// One point per bucket of this length, buckets aligned on the clock (UTC).
    Every(Duration),
    /// One point per measurement.
    Each,
}

/// The MetricEvent names the store derives from every inference span.
const TOKEN_EVENT_NAMES: [&str; 3] = ["prompt_tokens", "completion_tokens", "total_tokens"];

/// One measurement read from the `metrics` table or a metric event.
struct MetricRow {
    metric: String,
    timestamp: String,
    value: f64,
    attributes: String,
    count: u64,
    unit: Option<String>,
    /// A gauge: a later measurement replaces the value instead of adding to it.
    gauge: bool,
}

/// The statements of the metric queries in one dialect: the `metrics` rows of a name, and
/// the metric events of `span_logs` or `span_events` (`?1`/`$1` the name, then the
/// interval's ends).
struct MetricSql {
    dialect: Dialect,
    rows: String,
}

impl MetricSql {
    fn of(dialect: Dialect) -> MetricSql {
        let rows = match dialect {
            Dialect::Sqlite => "SELECT timestamp, value, attributes, count, unit FROM metrics \
                 WHERE name = ?1 AND timestamp >= ?2 AND timestamp <= ?3 ORDER BY timestamp, id"
                .to_string(),
            Dialect::Postgres => format!(
                "SELECT {}, value, attributes::text, count, unit FROM metrics \
                 WHERE name = $1::text AND timestamp >= ($2::text::timestamp AT TIME ZONE 'UTC') \
                   AND timestamp <= ($3::text::timestamp AT TIME ZONE 'UTC') \
                 ORDER BY timestamp, id",
                pg_time("timestamp")
            ),
        };
        MetricSql { dialect, rows }
    }

    /// The metric events of `events` (`span_logs` or `span_events`, a fixed name).
    fn events(&self, events: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(
                "SELECT timestamp, value, attributes, unit FROM {events} \
                 WHERE event_type = 'metric' AND metric = ?1 AND timestamp >= ?2 AND timestamp <= ?3 \
                 AND value IS NOT NULL ORDER BY timestamp, id"
            ),
            Dialect::Postgres => format!(
                "SELECT {}, value, attributes::text, unit FROM {events} \
                 WHERE event_type = 'metric' AND metric = $1::text \
                   AND timestamp >= ($2::text::timestamp AT TIME ZONE 'UTC') \
                   AND timestamp <= ($3::text::timestamp AT TIME ZONE 'UTC') \
                   AND value IS NOT NULL ORDER BY timestamp, id",
                pg_time("timestamp")
            ),
        }
    }
}
