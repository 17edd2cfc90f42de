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

use super::super::backend::{pg_julianday, pg_time, AnyText, Dialect, Param};

use super::super::types::{
    ModelBucket, SlowSpan, Timeline, TimelineBucket, TraceCost, TraceFacets,
};
use super::super::{StoreError, TraceStore};
use super::rows::{pg_num, spans_since, sql_count};
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
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT s.trace_id, SUM(json_extract(s.attributes, '$.\"gen_ai.usage.cost\"')), \
                    json_group_array(DISTINCT CAST(json_extract(s.attributes, '$.\"gen_ai.request.model\"') AS TEXT)), \
                    COUNT(*) \
               FROM spans s \
              WHERE s.trace_id IN (SELECT value FROM json_each(?1)) AND s.category = 'inference' \
              GROUP BY s.trace_id"
                .to_string(),
            Dialect::Postgres => format!(
                "SELECT s.trace_id, SUM({}), \
                        json_agg(DISTINCT s.attributes ->> 'gen_ai.request.model')::text, COUNT(*) \
                   FROM spans s \
                  WHERE s.trace_id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) \
                    AND s.category = 'inference' \
                  GROUP BY s.trace_id",
                pg_num("s", "gen_ai.usage.cost")
            ),
        };
        self.collect(&sql, vec![Param::Text(ids)], |r| {
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
        })
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
        let d = self.dialect();
        let since = d.since_text(since);
        let params = || vec![Param::Text(since.clone()), sql_count(FACET_TRACES)];
        let (services, models) = match d {
            Dialect::Sqlite => {
                let newest = "SELECT trace_id FROM traces WHERE timestamp >= ?1 ORDER BY timestamp DESC LIMIT ?2";
                (
                    format!(
                        "SELECT DISTINCT t.service_name FROM ({newest}) n CROSS JOIN traces t ON t.trace_id = n.trace_id \
                          WHERE t.service_name IS NOT NULL ORDER BY 1"
                    ),
                    format!(
                        "SELECT DISTINCT CAST(json_extract(s.attributes, '$.\"gen_ai.request.model\"') AS TEXT) AS m \
                           FROM ({newest}) t CROSS JOIN spans s ON s.trace_id = t.trace_id \
                          WHERE s.category = 'inference' AND m IS NOT NULL ORDER BY 1"
                    ),
                )
            }
            Dialect::Postgres => {
                let newest = "SELECT trace_id FROM traces \
                    WHERE timestamp >= ($1::text::timestamp AT TIME ZONE 'UTC') \
                    ORDER BY timestamp DESC LIMIT $2::bigint";
                (
                    format!(
                        "SELECT DISTINCT t.service_name COLLATE \"C\" FROM ({newest}) n \
                           JOIN traces t ON t.trace_id = n.trace_id \
                          WHERE t.service_name IS NOT NULL ORDER BY 1"
                    ),
                    format!(
                        "SELECT DISTINCT m COLLATE \"C\" FROM ( \
                           SELECT s.attributes ->> 'gen_ai.request.model' AS m \
                             FROM ({newest}) t JOIN spans s ON s.trace_id = t.trace_id \
                            WHERE s.category = 'inference') x \
                          WHERE m IS NOT NULL ORDER BY 1"
                    ),
                )
            }
        };
        let services = self.collect(&services, params(), |r| r.get(0))?;
        let models = self.collect(&models, params(), |r| r.get(0))?;
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
        let bucket_secs = bucket.as_secs().max(1);
        let start = Param::Text(sqlite_timestamp(since));
        let width = Param::Integer(bucket_secs.min(i64::MAX as u64) as i64);
        let at = |b: i64| {
            sqlite_timestamp(
                since + Duration::from_secs(bucket_secs.saturating_mul(b.max(0) as u64)),
            )
        };
        let (traces_sql, models_sql) = match self.dialect() {
            Dialect::Sqlite => (
                "SELECT CAST((julianday(timestamp) - julianday(?1)) * 86400.0 / ?2 AS INTEGER) AS b, \
                        COUNT(*), SUM(error_count > 0) \
                   FROM traces WHERE timestamp >= ?1 GROUP BY b ORDER BY b"
                    .to_string(),
                "SELECT CAST((julianday(s.start_time) - julianday(?1)) * 86400.0 / ?2 AS INTEGER) AS b, \
                        json_extract(s.attributes, '$.\"gen_ai.request.model\"') AS m, COUNT(*), \
                        COALESCE(SUM(json_extract(s.attributes, '$.\"gen_ai.usage.input_tokens\"')), 0), \
                        COALESCE(SUM(json_extract(s.attributes, '$.\"gen_ai.usage.output_tokens\"')), 0), \
                        SUM(json_extract(s.attributes, '$.\"gen_ai.usage.cost\"')) \
                   FROM traces t CROSS JOIN spans s ON s.trace_id = t.trace_id \
                  WHERE t.timestamp >= ?1 AND s.category = 'inference' AND s.start_time >= ?1 \
                  GROUP BY b, m ORDER BY b, m"
                    .to_string(),
            ),
            Dialect::Postgres => {
                // The bucket as SQLite computes it, from julianday() doubles.
                let since = "($1::text::timestamp AT TIME ZONE 'UTC')";
                let bucket = |col: &str| {
                    format!(
                        "trunc(({} - {}) * 86400.0 / $2::bigint)::bigint",
                        pg_julianday(col),
                        pg_julianday(since)
                    )
                };
                (
                    format!(
                        "SELECT {} AS b, COUNT(*), SUM((error_count > 0)::int)::bigint \
                           FROM traces WHERE timestamp >= {since} GROUP BY 1 ORDER BY 1",
                        bucket("timestamp")
                    ),
                    format!(
                        "SELECT * FROM ( \
                           SELECT {} AS b, s.attributes ->> 'gen_ai.request.model' AS m, COUNT(*), \
                                  COALESCE(SUM({}), 0), COALESCE(SUM({}), 0), SUM({}) \
                             FROM traces t JOIN spans s ON s.trace_id = t.trace_id \
                            WHERE t.timestamp >= {since} AND s.category = 'inference' \
                              AND s.start_time >= {since} \
                            GROUP BY 1, 2) x \
                          ORDER BY x.b, x.m COLLATE \"C\" NULLS FIRST",
                        bucket("s.start_time"),
                        pg_num("s", "gen_ai.usage.input_tokens"),
                        pg_num("s", "gen_ai.usage.output_tokens"),
                        pg_num("s", "gen_ai.usage.cost"),
                    ),
                )
            }
        };
        let traces = self.collect(&traces_sql, vec![start.clone(), width.clone()], |r| {
            Ok(TimelineBucket {
                start: at(r.get(0)?),
                traces: r.get::<i64>(1)? as u64,
                error_traces: r.get::<i64>(2)? as u64,
            })
        })?;
        let models = self.collect(&models_sql, vec![start, width], |r| {
            Ok(ModelBucket {
                start: at(r.get(0)?),
                model: r.get::<AnyText>(1)?.0,
                calls: r.get::<i64>(2)? as u64,
                input_tokens: r.get::<f64>(3)? as u64,
                output_tokens: r.get::<f64>(4)? as u64,
                cost: r.get(5)?,
            })
        })?;
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
        let d = self.dialect();
        let since = Param::Text(d.since_text(since));
        let sql = match d {
            Dialect::Sqlite => {
                "SELECT s.trace_id, s.span_id, s.name, s.category, s.status, s.start_time, s.duration_ms \
                   FROM traces t CROSS JOIN spans s ON s.trace_id = t.trace_id \
                  WHERE t.timestamp >= ?1 AND s.duration_ms IS NOT NULL \
                  ORDER BY s.duration_ms DESC, s.span_id LIMIT ?2"
                    .to_string()
            }
            Dialect::Postgres => format!(
                "SELECT s.trace_id, s.span_id, s.name, s.category, s.status, {}, s.duration_ms \
                   FROM traces t JOIN spans s ON s.trace_id = t.trace_id \
                  WHERE t.timestamp >= ($1::text::timestamp AT TIME ZONE 'UTC') \
                    AND s.duration_ms IS NOT NULL \
                  ORDER BY s.duration_ms DESC, s.span_id COLLATE \"C\" LIMIT $2::bigint",
                pg_time("s.start_time")
            ),
        };
        self.collect(&sql, vec![since, sql_count(limit)], |r| {
            Ok(SlowSpan {
                trace_id: r.get(0)?,
                span_id: r.get(1)?,
                name: r.get(2)?,
                category: r.get(3)?,
                status: r.get(4)?,
                start_time: r.get(5)?,
                duration_ms: r.get(6)?,
            })
        })
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
        let d = self.dialect();
        let mut params = vec![Param::Text(ids)];
        let (from, since) = spans_since(d, &mut params, since);
        let sql = match d {
            Dialect::Sqlite => format!(
                "SELECT conv, trace_id FROM ( \
                   SELECT CAST(json_extract(s.attributes, '$.\"gen_ai.conversation.id\"') AS TEXT) AS conv, \
                          s.trace_id AS trace_id, MIN(s.start_time) AS first \
                     FROM {from} \
                    WHERE json_extract(s.attributes, '$.\"gen_ai.conversation.id\"') IS NOT NULL {since} \
                      AND conv IN (SELECT value FROM json_each(?1)) \
                    GROUP BY conv, s.trace_id) \
                 ORDER BY conv, first, trace_id"
            ),
            Dialect::Postgres => format!(
                "SELECT conv, trace_id FROM ( \
                   SELECT s.attributes ->> 'gen_ai.conversation.id' AS conv, \
                          s.trace_id AS trace_id, MIN(s.start_time) AS first \
                     FROM {from} \
                    WHERE s.attributes ->> 'gen_ai.conversation.id' IS NOT NULL {since} \
                      AND s.attributes ->> 'gen_ai.conversation.id' \
                          IN (SELECT jsonb_array_elements_text($1::text::jsonb)) \
                    GROUP BY 1, 2) x \
                 ORDER BY conv COLLATE \"C\", first, trace_id COLLATE \"C\""
            ),
        };
        self.collect(&sql, params, |r| Ok((r.get(0)?, r.get(1)?)))
    }
}
