//! Metric points by label set, what
//! [`TraceStore::query_metrics`](super::super::TraceStore::query_metrics) returns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One point of a [`MetricSeries`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricPoint {
    /// Start of the bucket (range query), of the queried interval (instant query), or the
    /// measurement's own time (`query_metric_points`), UTC.
    pub timestamp: String,
    /// Sum of the values recorded in the bucket.
    pub value: f64,
    /// Number of measurements in the bucket.
    pub count: u64,
}

/// The points of one metric for one label set.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// # let store = llm_telemetry::store::TraceStore::open("traces.db")?;
/// let day_ago = SystemTime::now() - Duration::from_secs(86_400);
/// for s in store.query_metrics("llama_stack_tokens_total", day_ago, None, None, &[])? {
///     println!("{} {:?} = {}", s.metric, s.labels, s.values[0].value);
/// }
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricSeries {
    /// The stored (OpenTelemetry) name, e.g. `llama_stack.tokens`, or a MetricEvent's
    /// name (`prompt_tokens`).
    pub metric: String,
    /// The labels (metric attributes), rendered as text.
    pub labels: BTreeMap<String, String>,
    /// The unit recorded with the points (`{token}`, `s`, a MetricEvent's `tokens`), if any.
    pub unit: Option<String>,
    /// The points, in time order.
    pub values: Vec<MetricPoint>,
}
