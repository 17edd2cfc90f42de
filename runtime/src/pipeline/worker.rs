//! A sink's worker thread: it batches what its queue delivers and hands each batch to the
//! sink's writer, so that the application's thread never waits on I/O.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::counters::Counters;
use super::item::Telemetry;
use super::writer::{BatchWriter, WriteError};
use crate::model::diag::RateLimitedWarning;

/// What a sink's queue carries.
pub(super) enum Msg {
    Item(Telemetry),
    Flush(Sender<()>),
    // Write everything queued before it, then exit.
    Shutdown,
}

/// The worker loop: batch what arrives, write, flush on request, tick about once a
/// second, and drain everything before exiting on `Shutdown`.
pub(super) fn run_worker(
    name: &'static str,
    rx: Receiver<Msg>,
    mut writer: impl BatchWriter,
    max_batch: usize,
    counters: &Counters,
) {
    let errors = RateLimitedWarning::new(Duration::from_secs(30));
    let mut batch: Vec<Telemetry> = Vec::with_capacity(max_batch);
    let mut last_tick = Instant::now();
    let tick_every = Duration::from_secs(1);
    let write = |batch: &mut Vec<Telemetry>, writer: &mut dyn BatchWriterDyn| {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        match writer.write_batch_dyn(batch) {
            Ok(()) => counters.stored.fetch_add(n, Ordering::Relaxed),
            Err(e) => {
                errors.warn(|| format!("the `{name}` sink failed to write {n} items: {e}"));
                counters.failed.fetch_add(n, Ordering::Relaxed)
            }
        };
        batch.clear();
    };
    loop {
        let first = match rx.recv_timeout(tick_every) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut pending_flush = Vec::new();
        let mut shutting_down = false;
        let mut next = first;
        while let Some(msg) = next {
            match msg {
                Msg::Item(item) => {
                    batch.push(item);
                    if batch.len() >= max_batch {
                        write(&mut batch, &mut writer);
                    }
                }
                Msg::Flush(ack) => {
                    write(&mut batch, &mut writer);
                    if let Err(e) = writer.flush() {
                        errors.warn(|| format!("the `{name}` sink failed to flush: {e}"));
                    }
                    pending_flush.push(ack);
                }
                Msg::Shutdown => shutting_down = true,
            }
            next = rx.try_recv().ok();
        }
        write(&mut batch, &mut writer);
        for ack in pending_flush {
            let _ = ack.send(());
        }
        if shutting_down {
            break;
        }
        if last_tick.elapsed() >= tick_every {
            writer.tick();
            last_tick = Instant::now();
        }
    }
    write(&mut batch, &mut writer);
    if let Err(e) = writer.flush() {
        errors.warn(|| format!("the `{name}` sink failed to flush: {e}"));
    }
    writer.shutdown();
}

// Lets the batching closure take the writer without being generic itself.
trait BatchWriterDyn {
    fn write_batch_dyn(&mut self, batch: &[Telemetry]) -> Result<(), WriteError>;
}
impl<W: BatchWriter> BatchWriterDyn for W {
    fn write_batch_dyn(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        self.write_batch(batch)
    }
}
