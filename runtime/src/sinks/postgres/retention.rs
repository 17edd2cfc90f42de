//! `TELEMETRY_POSTGRES_RETENTION`: delete traces (with their spans and events) and metric
//! rows older than the cutoff, in bounded chunks (each one short transaction of a few
//! hundred traces or a few thousand rows), at most a few chunks per tick, so that writers
//! are never stalled for long. With many processes writing one database, one of them
//! prunes at a time (a transaction-scoped advisory lock that the others skip rather than
//! wait for).

use std::time::{Duration, Instant, SystemTime};

use postgres::Client;

use crate::config::postgres::prune_sql::{
    CHUNK_ROWS, CHUNK_TRACES, PRUNE_FREE_LOGS, PRUNE_LOCK, PRUNE_METRICS, PRUNE_TRACES,
};
use crate::model::diag::RateLimitedWarning;

/// How often the writer looks for expired data.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Time spent pruning per tick (about one per second) before going back to writing.
const TICK_BUDGET: Duration = Duration::from_millis(50);

/// The retention of one writer.
pub(super) struct Retention {
    keep: Duration,
    /// A database that refuses the deletes (permissions) says so every ten minutes.
    refused: RateLimitedWarning,
    /// When the next pass starts; `None` while a pass is under way.
    next_pass: Option<Instant>,
    cutoff: SystemTime,
}

impl Retention {
    pub(super) fn new(keep: Duration) -> Retention {
        Retention {
            keep,
            refused: RateLimitedWarning::new(Duration::from_secs(600)),
            next_pass: Some(Instant::now()),
            cutoff: SystemTime::UNIX_EPOCH,
        }
    }

    /// Prune for up to [`TICK_BUDGET`] when a pass is due or under way.
    pub(super) fn tick(&mut self, client: &mut Client) -> Result<(), postgres::Error> {
        let now = Instant::now();
        match self.next_pass {
            Some(at) if now < at => return Ok(()),
            Some(_) => {
                self.cutoff = SystemTime::now()
                    .checked_sub(self.keep)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                self.next_pass = None;
            }
            None => {}
        }
        while now.elapsed() < TICK_BUDGET {
            match prune_chunk(client, self.cutoff) {
                Ok(true) => {}
                Ok(false) => {
                    self.next_pass = Some(Instant::now() + PRUNE_EVERY);
                    break;
                }
                Err(e) => {
                    self.next_pass = Some(Instant::now() + PRUNE_EVERY);
                    if e.as_db_error().is_some() {
                        self.refused.warn(|| {
                            format!(
                                "the `postgres` sink cannot enforce TELEMETRY_POSTGRES_RETENTION: {}",
                                super::describe(&e)
                            )
                        });
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// One bounded chunk in one transaction; true when more may remain. Another process
/// pruning now makes this one stop for this pass.
fn prune_chunk(client: &mut Client, cutoff: SystemTime) -> Result<bool, postgres::Error> {
    let mut tx = client.transaction()?;
    let mine: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&PRUNE_LOCK])?
        .get(0);
    if !mine {
        return Ok(false);
    }
    let row = tx.query_one(PRUNE_TRACES, &[&cutoff, &CHUNK_TRACES])?;
    let traces: i64 = row.get(0);
    let logs = tx.execute(PRUNE_FREE_LOGS, &[&cutoff, &CHUNK_ROWS])?;
    let metrics = tx.execute(PRUNE_METRICS, &[&cutoff, &CHUNK_ROWS])?;
    tx.commit()?;
    Ok(traces == CHUNK_TRACES || logs == CHUNK_ROWS as u64 || metrics == CHUNK_ROWS as u64)
}
