//! The SQLite sink: writes spans, span events (logs, metric events) and metric points into
//! the trace store (schema: [`crate::store`]'s `schema` module). It runs on the sink's own
//! worker thread; [`SqliteWriter`] holds the connection and runs the sink's life: open,
//! one transaction per batch, periodic work from `tick()` (retention, a checkpoint of an
//! idle store every 10 s), and the final checkpoint at shutdown.
//!
//! - `open`: the file, its pragmas (WAL, busy timeout, page size) and the schema.
//! - `batch`: the transaction of one batch, over `rows` (span and event rows),
//!   `trace_agg` (the `traces` rows) and `metric_agg` (metric points summed per series),
//!   all encoded by `encode` into reused buffers.
//! - `checkpointer`: a second connection that copies the WAL into the file while batches
//!   keep coming.

mod batch;
mod checkpointer;
mod encode;
mod metric_agg;
mod open;
mod rows;
#[cfg(test)]
mod tests;
mod trace_agg;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::config::{ConfigError, TelemetryConfig};
use crate::metrics::InferenceMetrics;
use crate::pipeline::{BatchWriter, Telemetry, WriteError};

use batch::Batch;
use checkpointer::WalCheckpointer;

/// Checkpoint from `tick()` when something was written and this long has passed.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// Writes batches of telemetry into one SQLite file.
pub(crate) struct SqliteWriter {
    conn: Connection,
    path: PathBuf,
    // What a batch aggregates, reused across batches.
    batch: Batch,
    written_since_checkpoint: bool,
    last_checkpoint: Instant,
    /// `TELEMETRY_SQLITE_RETENTION`, enforced from `tick()`.
    retention: Option<crate::store::retention::RetentionTask>,
    /// Keeps the WAL copied into the file while batches keep coming.
    checkpointer: WalCheckpointer,
}

impl SqliteWriter {
    /// Open (creating if needed) the store at `path`; an unusable path fails here rather
    /// than on the first batch.
    pub(crate) fn open(path: &Path, config: &TelemetryConfig) -> Result<SqliteWriter, ConfigError> {
        let conn = open::open(path, &batch::STATEMENTS)?;
        Ok(SqliteWriter {
            conn,
            path: path.to_path_buf(),
            batch: Batch::new(InferenceMetrics::new(config.metric_namespace())),
            written_since_checkpoint: false,
            last_checkpoint: Instant::now(),
            retention: crate::store::retention::RetentionTask::new(config.sqlite_retention()),
            checkpointer: WalCheckpointer::new(path),
        })
    }

    fn checkpoint(&mut self) {
        // PASSIVE: never waits for readers or other writers. Failures are harmless (the
        // next commit past the threshold checkpoints anyway).
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        self.written_since_checkpoint = false;
        self.last_checkpoint = Instant::now();
    }
}

impl BatchWriter for SqliteWriter {
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        self.batch.write(&mut self.conn, batch).map_err(|e| {
            format!(
                "cannot write {} item(s) to the SQLite trace store {}: {e}",
                batch.len(),
                self.path.display()
            )
        })?;
        self.written_since_checkpoint = true;
        self.checkpointer.committed(batch.len());
        Ok(())
    }

    fn tick(&mut self) {
        if let Some(retention) = &mut self.retention {
            retention.tick(&self.conn);
        }
        if self.written_since_checkpoint && self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            self.checkpoint();
        }
    }

    fn shutdown(&mut self) {
        self.checkpointer.stop();
        if self.written_since_checkpoint {
            self.checkpoint();
        }
        // Keeps the query planner's statistics fresh; cheap, and a no-op when nothing changed.
        let _ = self.conn.execute_batch("PRAGMA optimize");
    }
}
