//! Retention: delete traces (with their spans and events) and metric points older than a
//! cutoff, in bounded chunks so that writers are never stalled for long.
//!
//! The runtime does this in the background when `TELEMETRY_SQLITE_RETENTION` is set (the
//! sqlite sink's worker, at most once a minute, a few chunks per second until done);
//! `llm-trace prune --older-than 7d` and [`prune`](super::prune) do it on demand.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::schema::{self, Found};
use super::StoreError;
use crate::model::time::sqlite_timestamp;

/// Traces deleted per transaction (each with its spans and events).
pub(crate) const CHUNK_TRACES: usize = 256;
/// Metric points and free logs deleted per transaction.
pub(crate) const CHUNK_ROWS: usize = 4096;
/// How often the sink's worker looks for expired data.
pub(crate) const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Time the sink's worker spends pruning per tick (about one per second) before it goes
/// back to writing.
pub(crate) const TICK_BUDGET: Duration = Duration::from_millis(50);

/// What a prune deleted.
///
/// ```
/// let r = llm_telemetry::store::PruneReport::default();
/// assert_eq!(r.traces + r.spans + r.events + r.metrics, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PruneReport {
    /// Traces deleted.
    pub traces: u64,
    /// Spans deleted.
    pub spans: u64,
    /// Span events (logs, metric events) deleted.
    pub events: u64,
    /// Metric points deleted.
    pub metrics: u64,
}

impl PruneReport {
    fn add(&mut self, o: PruneReport) {
        self.traces += o.traces;
        self.spans += o.spans;
        self.events += o.events;
        self.metrics += o.metrics;
    }
}

/// [`prune_before`](super::prune_before) on a SQLite store.
pub(super) fn prune_sqlite_before(
    path: &Path,
    cutoff: SystemTime,
) -> Result<PruneReport, StoreError> {
    // Same checks as TraceStore::open (missing, foreign, newer), then a writable handle.
    drop(super::TraceStore::open(path)?);
    let sqlite = |e: rusqlite::Error| StoreError::sqlite(path.to_path_buf(), e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    conn.busy_timeout(crate::store::open::BUSY_TIMEOUT)
        .map_err(sqlite)?;
    match schema::inspect(&conn) {
        Ok(Found::Store(_)) => {}
        Ok(Found::Empty) => {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: "it is empty (no llm-telemetry tables)".into(),
            })
        }
        Err(e) => return Err(StoreError::from_schema(path, e)),
    }
    let cutoff = sqlite_timestamp(cutoff);
    let mut total = PruneReport::default();
    loop {
        let (report, more) = prune_chunk(&conn, &cutoff).map_err(sqlite)?;
        total.add(report);
        if !more {
            break;
        }
    }
    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    Ok(total)
}

/// One bounded chunk of deletions in one immediate transaction. Returns what it deleted
/// and whether more may remain.
pub(crate) fn prune_chunk(
    conn: &Connection,
    cutoff: &str,
) -> rusqlite::Result<(PruneReport, bool)> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let mut report = PruneReport::default();
    let mut more = false;
    {
        let ids: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT trace_id FROM traces WHERE timestamp < ?1 AND end_time < ?1 \
                 ORDER BY timestamp LIMIT ?2",
            )?;
            let rows =
                stmt.query_map(rusqlite::params![cutoff, CHUNK_TRACES as i64], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        more |= ids.len() == CHUNK_TRACES;
        // The token metric events the `span_events` view derives from the spans go with
        // them; they count as deleted events, as when they were stored (schema < 3).
        let mut derived =
            tx.prepare_cached("SELECT count(*) FROM span_token_events WHERE trace_id = ?1")?;
        let mut spans = tx.prepare_cached("DELETE FROM spans WHERE trace_id = ?1")?;
        let mut events = tx.prepare_cached("DELETE FROM span_logs WHERE trace_id = ?1")?;
        let mut traces = tx.prepare_cached("DELETE FROM traces WHERE trace_id = ?1")?;
        for id in &ids {
            report.events += derived.query_row([id], |r| r.get::<_, u64>(0))?;
            report.spans += spans.execute([id])? as u64;
            report.events += events.execute([id])? as u64;
            report.traces += traces.execute([id])? as u64;
        }
        let free_logs = tx.execute(
            "DELETE FROM span_logs WHERE id IN (SELECT id FROM span_logs \
             WHERE trace_id IS NULL AND timestamp < ?1 LIMIT ?2)",
            rusqlite::params![cutoff, CHUNK_ROWS as i64],
        )?;
        more |= free_logs == CHUNK_ROWS;
        report.events += free_logs as u64;
        // Per metric name, so that the (name, timestamp) index serves each delete.
        let names: Vec<String> = {
            let mut stmt = tx.prepare_cached("SELECT name FROM metrics GROUP BY name")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut metrics = tx.prepare_cached(
            "DELETE FROM metrics WHERE id IN (SELECT id FROM metrics \
             WHERE name = ?1 AND timestamp < ?2 LIMIT ?3)",
        )?;
        for name in &names {
            let n = metrics.execute(rusqlite::params![name, cutoff, CHUNK_ROWS as i64])?;
            more |= n == CHUNK_ROWS;
            report.metrics += n as u64;
        }
    }
    tx.commit()?;
    Ok((report, more))
}

/// The background half: the sqlite sink's worker calls [`RetentionTask::tick`] about once
/// a second; it prunes at most every [`PRUNE_EVERY`], and spends at most [`TICK_BUDGET`]
/// per tick, resuming on the next tick while expired data remains.
#[derive(Debug)]
pub(crate) struct RetentionTask {
    keep: Duration,
    last_run: Option<Instant>,
    resume: bool,
    /// Everything deleted so far (tests read it).
    pub(crate) deleted: PruneReport,
}

impl RetentionTask {
    pub(crate) fn new(keep: Option<Duration>) -> Option<RetentionTask> {
        keep.map(|keep| RetentionTask {
            keep,
            last_run: None,
            resume: false,
            deleted: PruneReport::default(),
        })
    }

    pub(crate) fn tick(&mut self, conn: &Connection) {
        let due = self.resume || self.last_run.is_none_or(|t| t.elapsed() >= PRUNE_EVERY);
        if !due {
            return;
        }
        self.last_run = Some(Instant::now());
        let cutoff = sqlite_timestamp(
            SystemTime::now()
                .checked_sub(self.keep)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        );
        let started = Instant::now();
        self.resume = false;
        // An error (busy past the timeout, ...) ends this run: the next interval retries.
        while let Ok((report, more)) = prune_chunk(conn, &cutoff) {
            self.deleted.add(report);
            if !more {
                break;
            }
            if started.elapsed() >= TICK_BUDGET {
                self.resume = true;
                break;
            }
        }
    }
}
