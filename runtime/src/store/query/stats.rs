//! Summary figures of the store ([`TraceStore::stats`]): counts, error rate, tokens and cost
//! by model and provider (with the calls whose cost is unknown), latency percentiles by span
//! name, and the size on disk
//! ([`TraceStore::size_bytes`]).

use std::time::SystemTime;

use super::super::backend::{AnyText, Dialect, Param};
use super::super::types::{LatencyStats, StoreStats, TokenStats};
use super::super::{StoreError, TraceStore};
use super::rows::pg_num;

impl TraceStore {
    /// Counts, error rate, tokens and cost by model and provider, latency percentiles by
    /// span name and the size on disk, over traces started since `since` (`None`: all).
    ///
    /// Cost is the sum of the inference spans' `gen_ai.usage.cost` (USD); the spans without
    /// one are counted as calls of unknown cost, and the models of those that reported
    /// token usage are listed as [`unpriced_models`](StoreStats::unpriced_models).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let stats = store.stats(None)?;
    /// println!("{} traces, {:.1}% failed", stats.traces, stats.error_rate * 100.0);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn stats(&self, since: Option<SystemTime>) -> Result<StoreStats, StoreError> {
        let d = self.dialect();
        let since = d.since_text(since);
        // The one parameter's placeholder (PostgreSQL's, read as UTC).
        let at = d.push_time(&mut Vec::new(), since.clone());
        let p = || vec![Param::Text(since.clone())];
        // A row of two counts: all, and those that failed.
        let counts = |sql: &str| -> Result<(u64, u64), StoreError> {
            Ok(self
                .collect(sql, p(), |r| Ok((r.get::<u64>(0)?, r.get::<u64>(1)?)))?
                .pop()
                .unwrap_or_default())
        };
        let sql = match d {
            Dialect::Sqlite => StatsSql {
                traces: "SELECT COUNT(*), COALESCE(SUM(error_count > 0), 0) FROM traces WHERE timestamp >= ?1".into(),
                spans: "SELECT COUNT(*), COALESCE(SUM(status = 'error'), 0) FROM spans WHERE start_time >= ?1".into(),
                tokens: "SELECT json_extract(attributes, '$.\"gen_ai.request.model\"') AS model, \
                    json_extract(attributes, '$.\"gen_ai.provider.name\"') AS provider, COUNT(*), \
                    COALESCE(SUM(json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"')), 0) AS i, \
                    COALESCE(SUM(json_extract(attributes, '$.\"gen_ai.usage.output_tokens\"')), 0) AS o, \
                    SUM(json_extract(attributes, '$.\"gen_ai.usage.cost\"')), \
                    SUM(json_extract(attributes, '$.\"gen_ai.usage.cost\"') IS NULL) \
               FROM spans WHERE category = 'inference' AND start_time >= ?1 \
              GROUP BY model, provider ORDER BY i + o DESC, model".into(),
                unpriced: "SELECT DISTINCT CAST(COALESCE(json_extract(attributes, '$.\"gen_ai.request.model\"'), \
                    json_extract(attributes, '$.\"gen_ai.response.model\"')) AS TEXT) AS m \
               FROM spans WHERE category = 'inference' AND start_time >= ?1 \
                AND json_extract(attributes, '$.\"gen_ai.usage.cost\"') IS NULL \
                AND (json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"') IS NOT NULL \
                     OR json_extract(attributes, '$.\"gen_ai.usage.output_tokens\"') IS NOT NULL) \
                AND m IS NOT NULL ORDER BY m".into(),
                durations: "SELECT name, duration_ms FROM spans WHERE duration_ms IS NOT NULL AND start_time >= ?1 \
             ORDER BY name, duration_ms".into(),
            },
            Dialect::Postgres => StatsSql {
                traces: format!("SELECT COUNT(*), COALESCE(SUM((error_count > 0)::int), 0)::bigint \
                    FROM traces WHERE timestamp >= {at}"),
                spans: format!("SELECT COUNT(*), COALESCE(SUM((status = 'error')::int), 0)::bigint \
                    FROM spans WHERE start_time >= {at}"),
                tokens: format!("SELECT * FROM ( \
                    SELECT s.attributes ->> 'gen_ai.request.model' AS model, \
                           s.attributes ->> 'gen_ai.provider.name' AS provider, COUNT(*) AS n, \
                           COALESCE(SUM({i}), 0) AS i, COALESCE(SUM({o}), 0) AS o, SUM({c}) AS c, \
                           SUM(({c} IS NULL)::int)::bigint AS unknown \
                      FROM spans s WHERE s.category = 'inference' AND s.start_time >= {at} \
                     GROUP BY 1, 2) x \
                    ORDER BY x.i + x.o DESC, x.model COLLATE \"C\" NULLS FIRST",
                    i = pg_num("s", "gen_ai.usage.input_tokens"),
                    o = pg_num("s", "gen_ai.usage.output_tokens"),
                    c = pg_num("s", "gen_ai.usage.cost")),
                unpriced: format!("SELECT DISTINCT m COLLATE \"C\" FROM ( \
                    SELECT COALESCE(s.attributes ->> 'gen_ai.request.model', \
                                    s.attributes ->> 'gen_ai.response.model') AS m \
                      FROM spans s WHERE s.category = 'inference' AND s.start_time >= {at} \
                       AND s.attributes ->> 'gen_ai.usage.cost' IS NULL \
                       AND (s.attributes ->> 'gen_ai.usage.input_tokens' IS NOT NULL \
                            OR s.attributes ->> 'gen_ai.usage.output_tokens' IS NOT NULL)) x \
                     WHERE m IS NOT NULL ORDER BY 1"),
                durations: format!("SELECT name, duration_ms FROM spans \
                    WHERE duration_ms IS NOT NULL AND start_time >= {at} \
                    ORDER BY name COLLATE \"C\", duration_ms"),
            },
        };
        let (traces, error_traces) = counts(&sql.traces)?;
        let (spans, error_spans) = counts(&sql.spans)?;
        let tokens = self.collect(&sql.tokens, p(), |r| {
            Ok(TokenStats {
                model: r.get::<AnyText>(0)?.0,
                provider: r.get::<AnyText>(1)?.0,
                calls: r.get::<u64>(2)?,
                input_tokens: r.get::<f64>(3)? as u64,
                output_tokens: r.get::<f64>(4)? as u64,
                cost_usd: r.get(5)?,
                cost_unknown_calls: r.get::<u64>(6)?,
            })
        })?;
        let unpriced_models: Vec<String> = self.collect(&sql.unpriced, p(), |r| r.get(0))?;
        let inference_calls = tokens.iter().map(|t| t.calls).sum();
        let cost_unknown_calls = tokens.iter().map(|t| t.cost_unknown_calls).sum();
        let cost_usd = tokens
            .iter()
            .filter_map(|t| t.cost_usd)
            .reduce(|a, b| a + b);
        let durations: Vec<(String, f64)> =
            self.collect(&sql.durations, p(), |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut latency = Vec::new();
        for group in durations.chunk_by(|a, b| a.0 == b.0) {
            let n = group.len();
            let rank = |q: f64| group[((q * n as f64).ceil() as usize).clamp(1, n) - 1].1;
            latency.push(LatencyStats {
                name: group[0].0.clone(),
                count: n as u64,
                p50_ms: rank(0.50),
                p95_ms: rank(0.95),
            });
        }
        latency.sort_by(|a, b| b.p95_ms.total_cmp(&a.p95_ms).then(a.name.cmp(&b.name)));
        let size_bytes = self.size_bytes();
        Ok(StoreStats {
            traces,
            spans,
            error_spans,
            error_traces,
            error_rate: if traces == 0 {
                0.0
            } else {
                error_traces as f64 / traces as f64
            },
            tokens,
            inference_calls,
            cost_usd,
            cost_unknown_calls,
            unpriced_models,
            latency,
            size_bytes,
        })
    }

    /// Bytes on disk: the database file plus its `-wal` file (a PostgreSQL store: its
    /// tables and their indexes).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// println!("{} bytes", store.size_bytes());
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn size_bytes(&self) -> u64 {
        #[cfg(feature = "postgres")]
        if self.dialect() == Dialect::Postgres {
            return super::super::pg::size_bytes(self);
        }
        let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        len(&self.path) + len(std::path::Path::new(&wal))
    }
}

/// The statements of [`TraceStore::stats`] in one dialect.
struct StatsSql {
    traces: String,
    spans: String,
    tokens: String,
    unpriced: String,
    durations: String,
}
