//! [`prune`](super::prune) over the PostgreSQL store (`llm-trace --db postgres://... prune`):
//! the same deletions as the `postgres` sink's `TELEMETRY_POSTGRES_RETENTION`, in the same
//! bounded chunks (one short transaction each), under the same advisory lock, so that an
//! on-demand prune and the writers' own never delete at once. Unlike the writers, which
//! skip a pass when another process holds the lock, this waits for it, and it counts what
//! each chunk deleted for the [`PruneReport`].
//!
//! The statements are this file's own rather than the sink's: the store is compiled with
//! the `sqlite` feature only, and the sink must prune without it.

use std::time::SystemTime;

use postgres::Client;

use super::retention::{PruneReport, CHUNK_ROWS, CHUNK_TRACES};
use super::{StoreError, TraceStore};
use crate::config::postgres::connect::{connect, describe, on_own_thread};
use crate::config::postgres::mask_password;
use crate::config::PgEnv;

/// The `postgres` sink's pruning lock ("LLMT" + 1).
const PRUNE_LOCK: i64 = 0x4C4C_4D55;

/// A chunk of expired traces with their spans and logs, and the token events derived from
/// those spans (the view reads the rows as they were before the statement).
const PRUNE_TRACES: &str = "WITH t AS (\
       DELETE FROM traces WHERE trace_id IN (SELECT trace_id FROM traces \
         WHERE timestamp < $1 AND end_time < $1 ORDER BY timestamp LIMIT $2 \
         FOR UPDATE SKIP LOCKED) RETURNING trace_id), \
     s AS (DELETE FROM spans WHERE trace_id IN (SELECT trace_id FROM t) RETURNING 1), \
     l AS (DELETE FROM span_logs WHERE trace_id IN (SELECT trace_id FROM t) RETURNING 1) \
     SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM s), (SELECT count(*) FROM l), \
       (SELECT count(*) FROM span_token_events WHERE trace_id IN (SELECT trace_id FROM t))";

const PRUNE_FREE_LOGS: &str = "DELETE FROM span_logs WHERE id IN (SELECT id FROM span_logs \
     WHERE trace_id IS NULL AND timestamp < $1 LIMIT $2)";

const PRUNE_METRICS: &str = "DELETE FROM metrics WHERE id IN (SELECT id FROM metrics \
     WHERE timestamp < $1 LIMIT $2)";

/// Delete what is older than `cutoff` from the PostgreSQL store at `url`.
pub(super) fn prune_before(url: &str, cutoff: SystemTime) -> Result<PruneReport, StoreError> {
    // Same checks as reading it (reachable, an llm-telemetry store, a schema this build
    // reads), then a session that may write.
    drop(TraceStore::connect(url)?);
    on_own_thread(|| {
        let failed = |reason: String| StoreError::Postgres {
            url: mask_password(url),
            source: reason.into(),
        };
        let (_, mut client) = connect(url, &PgEnv::from_env()).map_err(failed)?;
        let mut total = PruneReport::default();
        loop {
            let (report, more) =
                prune_chunk(&mut client, cutoff).map_err(|e| failed(describe(&e)))?;
            total.traces += report.traces;
            total.spans += report.spans;
            total.events += report.events;
            total.metrics += report.metrics;
            if !more {
                return Ok(total);
            }
        }
    })
}

/// One chunk in one transaction: what it deleted, and whether more may remain.
fn prune_chunk(
    client: &mut Client,
    cutoff: SystemTime,
) -> Result<(PruneReport, bool), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PRUNE_LOCK])?;
    let chunk_traces = CHUNK_TRACES as i64;
    let chunk_rows = CHUNK_ROWS as i64;
    let row = tx.query_one(PRUNE_TRACES, &[&cutoff, &chunk_traces])?;
    let count = |i: usize| row.get::<_, i64>(i) as u64;
    let (traces, spans, logs, derived) = (count(0), count(1), count(2), count(3));
    let free_logs = tx.execute(PRUNE_FREE_LOGS, &[&cutoff, &chunk_rows])?;
    let metrics = tx.execute(PRUNE_METRICS, &[&cutoff, &chunk_rows])?;
    tx.commit()?;
    let report = PruneReport {
        traces,
        spans,
        events: logs + derived + free_logs,
        metrics,
    };
    let more = traces == CHUNK_TRACES as u64
        || free_logs == CHUNK_ROWS as u64
        || metrics == CHUNK_ROWS as u64;
    Ok((report, more))
}
