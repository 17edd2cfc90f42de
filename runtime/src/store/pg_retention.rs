//! [`prune`](super::prune) over the PostgreSQL store (`llm-trace --db postgres://... prune`):
//! the same deletions as the `postgres` sink's `TELEMETRY_POSTGRES_RETENTION`, in the same
//! bounded chunks (one short transaction each), under the same advisory lock, so that an
//! on-demand prune and the writers' own never delete at once. Unlike the writers, which
//! skip a pass when another process holds the lock, this waits for it, and it counts what
//! each chunk deleted for the [`PruneReport`].
//!
//! The statements are `config::postgres::prune_sql`, which the sink runs too.

use std::time::SystemTime;

use postgres::Client;

use super::retention::PruneReport;
use super::{StoreError, TraceStore};
use crate::config::postgres::connect::{connect, describe, on_own_thread};
use crate::config::postgres::mask_password;
use crate::config::postgres::prune_sql::{
    CHUNK_ROWS, CHUNK_TRACES, PRUNE_FREE_LOGS, PRUNE_LOCK, PRUNE_METRICS, PRUNE_TRACES,
};
use crate::config::PgEnv;

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
    let row = tx.query_one(PRUNE_TRACES, &[&cutoff, &CHUNK_TRACES])?;
    let count = |i: usize| row.get::<_, i64>(i) as u64;
    let (traces, spans, logs, derived) = (count(0), count(1), count(2), count(3));
    let free_logs = tx.execute(PRUNE_FREE_LOGS, &[&cutoff, &CHUNK_ROWS])?;
    let metrics = tx.execute(PRUNE_METRICS, &[&cutoff, &CHUNK_ROWS])?;
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
