//! The web viewer's summaries: the cost and models of a page of traces
//! ([`TraceStore::trace_costs`]), the services and models to filter by
//! ([`TraceStore::trace_facets`]), tokens, cost and errors over time
//! ([`TraceStore::timeline`]), the slowest spans ([`TraceStore::slowest_spans`]) and the
//! traces of a page of conversations ([`TraceStore::conversation_traces`]).
//!
//! Each reads through the `traces` table's time index and then the spans of the traces
//! it selected (the `spans_trace_parent` index), so a recent window of a large store reads
//! only that window's spans.

use std::time::{Duration, SystemTime};

use super::super::backend::{AnyText, Param};

use super::super::types::{
    ModelBucket, SlowSpan, Timeline, TimelineBucket, TraceCost, TraceFacets,
};
use super::super::{StoreError, TraceStore};
use super::rows::sql_count;
use crate::model::time::sqlite_timestamp;

/// How many of the newest traces [`TraceStore::trace_facets`] reads the models of.
const FACET_TRACES: usize = 5000;

impl TraceStore {
    /// The cost and models of each of `trace_ids` that has inference spans (in no
    /// particular order; a trace without any is left out).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let costs = store.trace_costs(&["4bf92f3577b34da6a3ce929d0e0e4736"])?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn trace_costs(&self, trace_ids: &[impl AsRef<str>]) -> Result<Vec<TraceCost>, StoreError> {
        self.sqlite_only("trace_costs")?;
        if trace_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::Value::from(
            trace_ids
                .iter()
                .map(|id| id.as_ref().to_owned())
                .collect::<Vec<_>>(),
        )
        .to_string();
        self.collect(
            "SELECT s.trace_id, SUM(json_extract(s.attributes, '$.\"gen_ai.usage.cost\"')), \
                    json_group_array(DISTINCT CAST(json_extract(s.attributes, '$.\"gen_ai.request.model\"') AS TEXT)), \
                    COUNT(*) \
               FROM spans s \
              WHERE s.trace_id IN (SELECT value FROM json_each(?1)) AND s.category = 'inference' \
              GROUP BY s.trace_id",
            vec![Param::Text(ids)],
            |r| {
                let models: String = r.get(2)?;
                let mut models: Vec<String> = serde_json::from_str::<Vec<Option<String>>>(&models)
                    .unwrap_or_default()
                    .into_iter()
                    .flatten()
                    .collect();
                models.sort();
                Ok(TraceCost {
                    trace_id: r.get(0)?,
                    cost: r.get(1)?,
                    models,
                    inference_calls: r.get::<i64>(3)? as u64,
                })
            },
        )
    }

    /// The services and the inference spans' models of the newest 5,000 traces started
    /// since `since` (`None`: all): what the viewer offers to filter by. Bounded so that
    /// it reads a few thousand traces and their spans however large the store is.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let facets = store.trace_facets(None)?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn trace_facets(&self, since: Option<SystemTime>) -> Result<TraceFacets, StoreError> {
        self.sqlite_only("trace_facets")?;
        let params = || {
            vec![
                Param::Text(since.map(sqlite_timestamp).unwrap_or_default()),
                sql_count(FACET_TRACES),
            ]
        };
        let newest =
            "SELECT trace_id FROM traces WHERE timestamp >= ?1 ORDER BY timestamp DESC LIMIT ?2";
        let services = self.collect(
            &format!(
                "SELECT DISTINCT t.service_name FROM ({newest}) n CROSS JOIN traces t ON t.trace_id = n.trace_id \
                  WHERE t.service_name IS NOT NULL ORDER BY 1"
            ),
            params(),
            |r| r.get(0),
        )?;
        let models = self.collect(
            &format!(
                "SELECT DISTINCT CAST(json_extract(s.attributes, '$.\"gen_ai.request.model\"') AS TEXT) AS m \
                   FROM ({newest}) t CROSS JOIN spans s ON s.trace_id = t.trace_id \
                  WHERE s.category = 'inference' AND m IS NOT NULL ORDER BY 1"
            ),
            params(),
            |r| r.get(0),
        )?;
        Ok(TraceFacets { services, models })
    }

    /// Traces, failed traces, and each model's calls, tokens and cost, in buckets of
    /// `bucket` (at least a second) from `since` on. Buckets without data are left out.
    ///
    /// ```no_run
    /// use std::time::{Duration, SystemTime};
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let t = store.timeline(SystemTime::now() - Duration::from_secs(3600), Duration::from_secs(60))?;
    /// let tokens: u64 = t.models.iter().map(|m| m.input_tokens + m.output_tokens).sum();
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn timeline(&self, since: SystemTime, bucket: Duration) -> Result<Timeline, StoreError> {
        self.sqlite_only("timeline")?;
        let bucket_secs = bucket.as_secs().max(1);
        let start = Param::Text(sqlite_timestamp(since));
        let width = Param::Integer(bucket_secs.min(i64::MAX as u64) as i64);
        let at = |b: i64| {
            sqlite_timestamp(
                since + Duration::from_secs(bucket_secs.saturating_mul(b.max(0) as u64)),
            )
        };
        let traces = self.collect(
            "SELECT CAST((julianday(timestamp) - julianday(?1)) * 86400.0 / ?2 AS INTEGER) AS b, \
                    COUNT(*), SUM(error_count > 0) \
               FROM traces WHERE timestamp >= ?1 GROUP BY b ORDER BY b",
            vec![start.clone(), width.clone()],
            |r| {
                Ok(TimelineBucket {
                    start: at(r.get(0)?),
                    traces: r.get::<i64>(1)? as u64,
                    error_traces: r.get::<i64>(2)? as u64,
                })
            },
        )?;
        let models = self.collect(
            "SELECT CAST((julianday(s.start_time) - julianday(?1)) * 86400.0 / ?2 AS INTEGER) AS b, \
                    json_extract(s.attributes, '$.\"gen_ai.request.model\"') AS m, COUNT(*), \
                    COALESCE(SUM(json_extract(s.attributes, '$.\"gen_ai.usage.input_tokens\"')), 0), \
                    COALESCE(SUM(json_extract(s.attributes, '$.\"gen_ai.usage.output_tokens\"')), 0), \
                    SUM(json_extract(s.attributes, '$.\"gen_ai.usage.cost\"')) \
               FROM traces t CROSS JOIN spans s ON s.trace_id = t.trace_id \
              WHERE t.timestamp >= ?1 AND s.category = 'inference' AND s.start_time >= ?1 \
              GROUP BY b, m ORDER BY b, m",
            vec![start, width],
            |r| {
                Ok(ModelBucket {
                    start: at(r.get(0)?),
                    model: r.get::<AnyText>(1)?.0,
                    calls: r.get::<i64>(2)? as u64,
                    input_tokens: r.get::<f64>(3)? as u64,
                    output_tokens: r.get::<f64>(4)? as u64,
                    cost: r.get(5)?,
                })
            },
        )?;
        Ok(Timeline {
            start: sqlite_timestamp(since),
            bucket_secs,
            traces,
            models,
        })
    }

    /// The `limit` longest spans of the traces started since `since` (`None`: all),
    /// longest first.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let slow = store.slowest_spans(None, 10)?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn slowest_spans(
        &self,
        since: Option<SystemTime>,
        limit: usize,
    ) -> Result<Vec<SlowSpan>, StoreError> {
        self.sqlite_only("slowest_spans")?;
        let since = Param::Text(since.map(sqlite_timestamp).unwrap_or_default());
        self.collect(
            "SELECT s.trace_id, s.span_id, s.name, s.category, s.status, s.start_time, s.duration_ms \
               FROM traces t CROSS JOIN spans s ON s.trace_id = t.trace_id \
              WHERE t.timestamp >= ?1 AND s.duration_ms IS NOT NULL \
              ORDER BY s.duration_ms DESC, s.span_id LIMIT ?2",
            vec![since, sql_count(limit)],
            |r| {
                Ok(SlowSpan {
                    trace_id: r.get(0)?,
                    span_id: r.get(1)?,
                    name: r.get(2)?,
                    category: r.get(3)?,
                    status: r.get(4)?,
                    start_time: r.get(5)?,
                    duration_ms: r.get(6)?,
                })
            },
        )
    }

    /// The traces of each of the conversations `conversation_ids` (`gen_ai.conversation.id`
    /// on one of their spans), as `(conversation, trace id)` pairs, each conversation's in
    /// the order they started. With `since`, only the traces that ended since then and
    /// their spans started since then are read, as
    /// [`TraceStore::sessions`](super::super::TraceStore::sessions) reads them; one pass
    /// for all the conversations.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// for (conversation, trace_id) in store.conversation_traces(&["session-paris"], None)? {
    ///     println!("{conversation}: {trace_id}");
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn conversation_traces(
        &self,
        conversation_ids: &[impl AsRef<str>],
        since: Option<SystemTime>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.sqlite_only("conversation_traces")?;
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::Value::from(
            conversation_ids
                .iter()
                .map(|id| id.as_ref().to_owned())
                .collect::<Vec<_>>(),
        )
        .to_string();
        let mut params = vec![Param::Text(ids)];
        let (from, since) = match since {
            Some(since) => {
                params.push(Param::Text(sqlite_timestamp(since)));
                (
                    "traces t CROSS JOIN spans s ON s.trace_id = t.trace_id AND t.end_time >= ?2",
                    "AND s.start_time >= ?2",
                )
            }
            None => ("spans s", ""),
        };
        self.collect(
            &format!(
                "SELECT conv, trace_id FROM ( \
                   SELECT CAST(json_extract(s.attributes, '$.\"gen_ai.conversation.id\"') AS TEXT) AS conv, \
                          s.trace_id AS trace_id, MIN(s.start_time) AS first \
                     FROM {from} \
                    WHERE json_extract(s.attributes, '$.\"gen_ai.conversation.id\"') IS NOT NULL {since} \
                      AND conv IN (SELECT value FROM json_each(?1)) \
                    GROUP BY conv, s.trace_id) \
                 ORDER BY conv, first, trace_id"
            ),
            params,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}
