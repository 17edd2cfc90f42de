//! Metric queries: [`TraceStore::query_metrics`] (points by label set, bucketed or summed,
//! filtered by label matchers), with the OpenTelemetry-to-Prometheus name mapping that
//! lets a metric be asked for by either name.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use rusqlite::types::Value as SqlValue;

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
    /// `gen_ai_client_token_usage`, `gen_ai_client_operation_duration_seconds`).
    /// `granularity` `Some(step)` is a range query: one point per step-long bucket from
    /// `start` (empty buckets omitted); `None` is an instant query: one point per series
    /// summing the whole interval. Values are sums of the recorded measurements (counter
    /// increments, histogram observations) with their count; a gauge's value
    /// (`llama_stack_concurrent_requests`) is its last measurement in the bucket.
    /// `label_matchers` are PromQL's `=`, `!=`, `=~`, `!~`.
    ///
    /// ```no_run
    /// use std::time::{Duration, SystemTime};
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
        if granularity.is_some_and(|g| g.is_zero()) {
            return Err(StoreError::InvalidFilter {
                reason: "granularity must be longer than zero".into(),
            });
        }
        let matchers = label_matchers
            .iter()
            .map(LabelMatcher::compile)
            .collect::<Result<Vec<_>, _>>()?;
        let names = self.metric_names(metric)?;
        let end = end.unwrap_or_else(SystemTime::now);
        let start_text = sqlite_timestamp(start);
        let end_text = sqlite_timestamp(end);
        let mut series: BTreeMap<SeriesKey, BTreeMap<u64, (f64, u64)>> = BTreeMap::new();
        for (name, instrument) in names {
            let gauge = instrument == Instrument::Gauge.as_str();
            let rows: Vec<(String, f64, String, u64)> = self.collect(
                "SELECT timestamp, value, attributes, count FROM metrics \
                 WHERE name = ?1 AND timestamp >= ?2 AND timestamp <= ?3 \
                 ORDER BY timestamp, id",
                vec![
                    SqlValue::Text(name.clone()),
                    SqlValue::Text(start_text.clone()),
                    SqlValue::Text(end_text.clone()),
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            for (ts, value, attrs, count) in rows {
                let labels = labels_of(&attrs);
                if !matchers
                    .iter()
                    .all(|m| m.matches(labels.get(&m.name).map(String::as_str)))
                {
                    continue;
                }
                let bucket = match (granularity, parse_sqlite_timestamp(&ts)) {
                    (Some(g), Some(t)) => {
                        let off = t.duration_since(start).unwrap_or_default();
                        (off.as_micros() / g.as_micros().max(1)) as u64
                    }
                    _ => 0,
                };
                let point = series
                    .entry((name.clone(), labels.into_iter().collect()))
                    .or_default()
                    .entry(bucket)
                    .or_insert((0.0, 0));
                if gauge {
                    point.0 = value;
                } else {
                    point.0 += value;
                }
                point.1 += count;
            }
        }
        Ok(series
            .into_iter()
            .map(|((metric, labels), buckets)| MetricSeries {
                metric,
                labels: labels.into_iter().collect(),
                values: buckets
                    .into_iter()
                    .map(|(b, (value, count))| MetricPoint {
                        timestamp: sqlite_timestamp(match granularity {
                            Some(g) => start + g * (b as u32),
                            None => start,
                        }),
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
            "SELECT name, instrument, unit FROM metrics GROUP BY name",
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
