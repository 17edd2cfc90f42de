//! A sink's worker thread: it batches what its queue delivers and hands each batch to the
//! sink's writer, so that the application's thread never waits on I/O.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::counters::Counters;
use super::item::Telemetry;
use super::writer::{BatchWriter, Report, WriteError};
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
        let result = writer.write_batch_dyn(batch);
        let reported = writer.take_report_dyn().map(|r| apply(counters, r));
        match result {
            Ok(()) if reported.is_none() => {
                counters.stored.fetch_add(n, Ordering::Relaxed);
            }
            Ok(()) => {}
            Err(e) => {
                errors.warn(|| format!("the `{name}` sink failed to write {n} items: {e}"));
                if reported.is_none() {
                    counters.failed.fetch_add(n, Ordering::Relaxed);
                }
            }
        };
        batch.clear();
    };
    let settle = |writer: &mut dyn BatchWriterDyn| {
        if let Some(r) = writer.take_report_dyn() {
            apply(counters, r);
        }
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
                    settle(&mut writer);
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
            settle(&mut writer);
            last_tick = Instant::now();
        }
    }
    write(&mut batch, &mut writer);
    if let Err(e) = writer.flush() {
        errors.warn(|| format!("the `{name}` sink failed to flush: {e}"));
    }
    writer.shutdown();
    settle(&mut writer);
}

/// Add a writer's [`Report`] to the counters.
fn apply(counters: &Counters, r: Report) {
    counters.stored.fetch_add(r.stored, Ordering::Relaxed);
    counters.failed.fetch_add(r.failed, Ordering::Relaxed);
    counters.dropped.fetch_add(r.dropped, Ordering::Relaxed);
    counters.pending.store(r.pending, Ordering::Relaxed);
}

// Lets the batching closure take the writer without being generic itself.
trait BatchWriterDyn {
    fn write_batch_dyn(&mut self, batch: &[Telemetry]) -> Result<(), WriteError>;
    fn take_report_dyn(&mut self) -> Option<Report>;
}
impl<W: BatchWriter> BatchWriterDyn for W {
    fn write_batch_dyn(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        self.write_batch(batch)
    }
    fn take_report_dyn(&mut self) -> Option<Report> {
        self.take_report()
    }
}
