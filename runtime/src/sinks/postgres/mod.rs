//! The PostgreSQL sink: writes spans, span events and metric series into a PostgreSQL
//! database that many processes on many hosts share (the same tables as the SQLite store).
//! [`PostgresWriter`] runs on the sink's own worker thread with the synchronous driver.
//!
//! - the connection (`TELEMETRY_POSTGRES_URL` + the `PG*` variables, TLS through rustls) is
//!   `config::postgres::connect`, shared with the store's readers;
//! - `schema`: the tables (`sql/*.sql`), created or migrated under an advisory lock;
//! - `batch`: one transaction per batch, one multi-row statement per table;
//! - `retention`: `TELEMETRY_POSTGRES_RETENTION` in bounded chunks.
//!
//! A database that is down or restarts is survived as a collector that is down: one
//! warning when the connection is lost, reconnection with exponential backoff (from the
//! worker's ticks and batches, never a busy loop), the batches that could not be written
//! kept in order (up to the queue's capacity in items; past that a new batch is dropped and
//! counted as failed) and written when it is back, one line when it is. The application
//! never waits: the worker does, and its queue drops and counts when full. No transaction
//! is open while the writer waits. A batch whose `COMMIT` lost its answer is looked up by
//! transaction id (`txid_status`) before it is written again, and spans are inserted `ON
//! CONFLICT DO NOTHING`, so every span is stored once.

mod batch;
mod retention;
pub(crate) mod schema;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use postgres::Client;

/// The driver's errors in one line, as every part of the sink reports them.
pub(super) use crate::config::postgres::connect::describe;
use crate::config::postgres::connect::{self, Target};
use crate::config::postgres::mask_password;
use crate::config::{ConfigError, TelemetryConfig};
use crate::metrics::InferenceMetrics;
use crate::model::diag::warn_stderr;
use crate::pipeline::{BatchWriter, Telemetry, WriteError};

use batch::{Batch, BatchOutcome, Statements};
use retention::Retention;

/// The first reconnection delay; doubled after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the last flush at exit keeps trying to reach a database that is down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// Whether a failed batch may succeed when written again: the connection or the server
/// went away, or the transaction lost a deadlock or a serialization conflict. Anything else
/// (a constraint, a type) would fail again.
fn retryable(e: &postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(code) => {
            let c = code.code();
            c.starts_with("08")
                || c.starts_with("57P")
                || c == "53300"
                || c == "40001"
                || c == "40P01"
                || c == "25006"
        }
    }
}

/// A batch waiting for the database.
struct Pending {
    items: Vec<Telemetry>,
    /// The transaction that wrote it and whose `COMMIT` lost its answer.
    maybe_committed: Option<i64>,
}

/// The connection and what was prepared on it.
struct Connection {
    client: Client,
    statements: Statements,
}

/// Writes batches of telemetry into a PostgreSQL database.
pub(crate) struct PostgresWriter {
    target: Target,
    /// `TELEMETRY_POSTGRES_URL`, its password masked, for messages.
    shown: String,
    conn: Option<Connection>,
    batch: Batch,
    pending: VecDeque<Pending>,
    pending_items: usize,
    max_pending_items: usize,
    /// When the connection was lost (`None`: connected or never lost).
    down_since: Option<Instant>,
    next_attempt: Instant,
    backoff: Duration,
    retention: Option<Retention>,
}

impl PostgresWriter {
    /// Parse the URL, connect, and create or migrate the schema: a bad URL, a refused
    /// connection or bad credentials fail here, naming `TELEMETRY_POSTGRES_URL`.
    pub(crate) fn open(config: &TelemetryConfig) -> Result<PostgresWriter, ConfigError> {
        let url = config.postgres_url().unwrap_or_default();
        let shown = mask_password(url);
        let fail = |reason: String| ConfigError::Postgres {
            value: shown.clone(),
            reason,
        };
        if url.trim().is_empty() {
            return Err(fail(
                "it is not set; the postgres sink needs a database, e.g. \
                 postgres://user:password@host:5432/db (postgresql:// alone takes \
                 everything from the PG* variables)"
                    .into(),
            ));
        }
        // Off the caller's thread: `init()` may run inside `#[tokio::main]`.
        let env = config.pg_env();
        let (target, client, statements) = connect::on_own_thread(|| {
            let (target, mut client) = connect::connect(url, &env).map_err(fail)?;
            schema::migrate(&mut client).map_err(fail)?;
            let statements = Statements::prepare(&mut client).map_err(|e| fail(describe(&e)))?;
            Ok::<_, ConfigError>((target, client, statements))
        })?;
        Ok(PostgresWriter {
            target,
            shown,
            conn: Some(Connection { client, statements }),
            batch: Batch::new(InferenceMetrics::new(config.metric_namespace())),
            pending: VecDeque::new(),
            pending_items: 0,
            max_pending_items: config.queue_capacity,
            down_since: None,
            next_attempt: Instant::now(),
            backoff: FIRST_BACKOFF,
            retention: config.postgres_retention().map(Retention::new),
        })
    }

    /// Connect when not connected and the backoff allows (or `now_anyway`).
    fn ensure_connected(&mut self, now_anyway: bool) -> bool {
        if self.conn.is_some() {
            return true;
        }
        if !now_anyway && Instant::now() < self.next_attempt {
            return false;
        }
        let attempt = self.target.connect().and_then(|mut client| {
            Statements::prepare(&mut client).map(|statements| Connection { client, statements })
        });
        match attempt {
            Ok(conn) => {
                self.conn = Some(conn);
                self.backoff = FIRST_BACKOFF;
                true
            }
            Err(_) => {
                self.next_attempt = Instant::now() + self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                false
            }
        }
    }

    /// The connection is gone: warn once per outage and wait before trying again.
    fn lost(&mut self, e: &postgres::Error) {
        self.conn = None;
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            warn_stderr(&format!(
                "the `postgres` sink cannot reach the PostgreSQL store {} ({}); keeping up \
                 to {} items and reconnecting in the background",
                self.shown,
                describe(e),
                self.max_pending_items
            ));
        }
    }

    /// Write the kept batches, oldest first, while the database takes them. True when none
    /// is left.
    fn drain(&mut self, now_anyway: bool) -> bool {
        let mut written = 0usize;
        while !self.pending.is_empty() {
            if !self.ensure_connected(now_anyway) {
                return false;
            }
            let Some(conn) = self.conn.as_mut() else {
                return false;
            };
            let front = &self.pending[0];
            if let Some(xid) = front.maybe_committed {
                match conn
                    .client
                    .query_one("SELECT txid_status($1)::text", &[&xid])
                    .map(|row| row.get::<_, Option<String>>(0))
                {
                    Ok(Some(status)) if status == "committed" => {
                        let done = self.pending.pop_front().map_or(0, |p| p.items.len());
                        self.pending_items -= done;
                        written += done;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) if retryable(&e) => {
                        self.lost(&e);
                        return false;
                    }
                    Err(_) => {}
                }
            }
            let outcome = self
                .batch
                .write(&mut conn.client, &conn.statements, &front.items);
            match outcome {
                BatchOutcome::Stored => {
                    let done = self.pending.pop_front().map_or(0, |p| p.items.len());
                    self.pending_items -= done;
                    written += done;
                }
                BatchOutcome::Unknown(xid, e) => {
                    self.pending[0].maybe_committed = Some(xid);
                    self.lost(&e);
                    return false;
                }
                BatchOutcome::Failed(e) if retryable(&e) => {
                    self.lost(&e);
                    return false;
                }
                BatchOutcome::Failed(e) => {
                    let gone = self.pending.pop_front().map_or(0, |p| p.items.len());
                    self.pending_items -= gone;
                    warn_stderr(&format!(
                        "the `postgres` sink dropped {gone} kept item(s) the store refused: {}",
                        describe(&e)
                    ));
                }
            }
        }
        self.back(written);
        true
    }

    /// A write succeeded: say so once when it follows an outage.
    fn back(&mut self, written: usize) {
        if let Some(since) = self.down_since.take() {
            warn_stderr(&format!(
                "the `postgres` sink reached the PostgreSQL store {} again after {:.1} s; \
                 wrote the {written} item(s) kept meanwhile",
                self.shown,
                since.elapsed().as_secs_f64()
            ));
        }
    }

    fn keep(
        &mut self,
        batch: &[Telemetry],
        maybe_committed: Option<i64>,
    ) -> Result<(), WriteError> {
        if self.pending_items + batch.len() > self.max_pending_items {
            return Err(format!(
                "the PostgreSQL store {} has been unreachable for {:.0} s and {} items are \
                 kept already; dropped {} more",
                self.shown,
                self.down_since.map_or(0.0, |d| d.elapsed().as_secs_f64()),
                self.pending_items,
                batch.len()
            )
            .into());
        }
        self.pending_items += batch.len();
        self.pending.push_back(Pending {
            items: batch.to_vec(),
            maybe_committed,
        });
        Ok(())
    }
}

impl BatchWriter for PostgresWriter {
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        if !self.pending.is_empty() && !self.drain(false) {
            return self.keep(batch, None);
        }
        if !self.ensure_connected(false) {
            return self.keep(batch, None);
        }
        let Some(conn) = self.conn.as_mut() else {
            return self.keep(batch, None);
        };
        match self.batch.write(&mut conn.client, &conn.statements, batch) {
            BatchOutcome::Stored => {
                self.back(0);
                Ok(())
            }
            BatchOutcome::Unknown(xid, e) => {
                self.lost(&e);
                self.keep(batch, Some(xid))
            }
            BatchOutcome::Failed(e) if retryable(&e) => {
                self.lost(&e);
                self.keep(batch, None)
            }
            BatchOutcome::Failed(e) => Err(format!(
                "cannot write {} item(s) to the PostgreSQL store {}: {}",
                batch.len(),
                self.shown,
                describe(&e)
            )
            .into()),
        }
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        if self.pending.is_empty() || self.drain(true) {
            Ok(())
        } else {
            Err(format!(
                "{} item(s) wait for the PostgreSQL store {}",
                self.pending_items, self.shown
            )
            .into())
        }
    }

    fn tick(&mut self) {
        if !self.pending.is_empty() && !self.drain(false) {
            return;
        }
        if let (Some(retention), Some(conn)) = (&mut self.retention, &mut self.conn) {
            if let Err(e) = retention.tick(&mut conn.client) {
                if retryable(&e) {
                    self.lost(&e);
                }
            }
        }
    }

    fn shutdown(&mut self) {
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while !self.pending.is_empty() && !self.drain(true) && Instant::now() < deadline {
            std::thread::sleep(
                self.backoff
                    .min(deadline.saturating_duration_since(Instant::now())),
            );
        }
        if self.pending_items > 0 {
            warn_stderr(&format!(
                "the `postgres` sink lost {} item(s) at exit: the PostgreSQL store {} stayed \
                 unreachable",
                self.pending_items, self.shown
            ));
        }
    }
}
