//! What `TELEMETRY_POSTGRES_RETENTION` and `llm-trace prune` delete from a PostgreSQL store,
//! as SQL: one chunk of each kind, and the advisory lock that lets one process prune at a
//! time. Here, beside `connect`, because both the `postgres` sink (built without the
//! `sqlite` feature too) and the store's on-demand prune (built with it) run them, and
//! neither may import the other.

/// The pruning lock ("LLMT" + 1): `pg_try_advisory_xact_lock` for the writers, which skip
/// a pass while another process prunes; `pg_advisory_xact_lock` for `llm-trace prune`.
pub(crate) const PRUNE_LOCK: i64 = 0x4C4C_4D55;

/// Traces deleted per transaction (each with its spans and events).
pub(crate) const CHUNK_TRACES: i64 = 256;
/// Metric rows and free logs deleted per transaction.
pub(crate) const CHUNK_ROWS: i64 = 4096;

/// `$1` cutoff, `$2` chunk size: a chunk of expired traces with their spans and logs;
/// answers the traces, spans and logs deleted and the token events derived from those
/// spans (the view reads the rows as they were before the statement).
pub(crate) const PRUNE_TRACES: &str = "WITH t AS (\
       DELETE FROM traces WHERE trace_id IN (SELECT trace_id FROM traces \
         WHERE timestamp < $1 AND end_time < $1 ORDER BY timestamp LIMIT $2 \
         FOR UPDATE SKIP LOCKED) RETURNING trace_id), \
     s AS (DELETE FROM spans WHERE trace_id IN (SELECT trace_id FROM t) RETURNING 1), \
     l AS (DELETE FROM span_logs WHERE trace_id IN (SELECT trace_id FROM t) RETURNING 1) \
     SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM s), (SELECT count(*) FROM l), \
       (SELECT count(*) FROM span_token_events WHERE trace_id IN (SELECT trace_id FROM t))";

/// `$1` cutoff, `$2` chunk size: free logs (outside any span) older than the cutoff.
pub(crate) const PRUNE_FREE_LOGS: &str =
    "DELETE FROM span_logs WHERE id IN (SELECT id FROM span_logs \
     WHERE trace_id IS NULL AND timestamp < $1 LIMIT $2)";

/// `$1` cutoff, `$2` chunk size: metric rows older than the cutoff.
pub(crate) const PRUNE_METRICS: &str = "DELETE FROM metrics WHERE id IN (SELECT id FROM metrics \
     WHERE timestamp < $1 LIMIT $2)";
