//! [`SinkHandle`]: the application-side end of a sink — its bounded queue, its counters and
//! its worker thread. Offering an item never blocks: a full queue drops it and counts it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::counters::Counters;
use super::item::Telemetry;
use super::stats::SinkStats;
use super::worker::{run_worker, Msg};
use super::writer::{Accepts, BatchWriter};
use crate::model::diag::{warn_stderr, RateLimitedWarning};
use crate::model::suppress::suppress_on_this_thread;

/// Queue and batch sizes of a sink.
#[derive(Clone, Copy, Debug)]
pub struct QueueOptions {
    pub capacity: usize,
    pub max_batch: usize,
}

/// The application-side handle of a sink: its queue, counters and worker.
pub struct SinkHandle {
    name: &'static str,
    accepts: Accepts,
    tx: Sender<Msg>,
    open: AtomicBool,
    counters: Arc<Counters>,
    queue_full: RateLimitedWarning,
    worker: Mutex<Option<JoinHandle<()>>>,
    done: Receiver<()>,
}

impl SinkHandle {
    /// Start the worker thread of `writer`.
    pub fn spawn(
        name: &'static str,
        accepts: Accepts,
        options: QueueOptions,
        writer: impl BatchWriter,
    ) -> SinkHandle {
        let (tx, rx) = bounded(options.capacity.max(1));
        let (done_tx, done_rx) = bounded(1);
        let counters = Arc::new(Counters::default());
        let worker_counters = counters.clone();
        let max_batch = options.max_batch.max(1);
        let worker = std::thread::Builder::new()
            .name(format!("llm-telemetry-{name}"))
            .spawn(move || {
                struct Gone<'a>(&'a AtomicBool);
                impl Drop for Gone<'_> {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::Release);
                    }
                }
                let _gone = Gone(&worker_counters.worker_gone);
                let _quiet = suppress_on_this_thread();
                run_worker(name, rx, writer, max_batch, &worker_counters);
                let _ = done_tx.send(());
            })
            .expect("spawn llm-telemetry sink worker thread");
        SinkHandle {
            name,
            accepts,
            tx,
            open: AtomicBool::new(true),
            counters,
            queue_full: RateLimitedWarning::new(Duration::from_secs(10)),
            worker: Mutex::new(Some(worker)),
            done: done_rx,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Offer an item; never blocks. Returns false when it was dropped.
    pub fn offer(&self, item: &Telemetry) -> bool {
        if !self.accepts.item(item) {
            return true;
        }
        self.counters.emitted.fetch_add(1, Ordering::Relaxed);
        // A full queue is seen before the item is cloned: under overload (when every
        // item is dropped) that saves an `Arc` increment and decrement per item.
        let sent = self.open.load(Ordering::Acquire)
            && match self.try_send(item) {
                Ok(()) => true,
                Err(TrySendError::Full(())) => {
                    self.queue_full.warn(|| {
                        format!(
                            "the `{}` sink's queue is full; dropping telemetry \
                             (see TelemetryGuard::stats() for counts)",
                            self.name
                        )
                    });
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Whether the queue is full now.
    pub fn is_full(&self) -> bool {
        self.tx.is_full()
    }

    /// How many more items the queue takes now, and how many it holds at most.
    pub fn room(&self) -> (usize, usize) {
        let capacity = self.tx.capacity().unwrap_or(usize::MAX);
        (capacity.saturating_sub(self.tx.len()), capacity)
    }

    /// Offer an item the sender can send again: never blocks; false when the queue is
    /// full or closed, and then the item is neither counted nor warned about.
    pub fn try_offer(&self, item: &Telemetry) -> bool {
        if !self.accepts.item(item) {
            return true;
        }
        let sent = self.open.load(Ordering::Acquire) && self.try_send(item).is_ok();
        if sent {
            self.counters.emitted.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    fn try_send(&self, item: &Telemetry) -> Result<(), TrySendError<()>> {
        if self.tx.is_full() && !self.counters.worker_gone.load(Ordering::Acquire) {
            return Err(TrySendError::Full(()));
        }
        self.tx
            .try_send(Msg::Item(item.clone()))
            .map_err(|e| match e {
                TrySendError::Full(_) => TrySendError::Full(()),
                TrySendError::Disconnected(_) => TrySendError::Disconnected(()),
            })
    }

    /// Wait until everything offered before this call is written, up to `timeout`.
    pub fn flush(&self, timeout: Duration) -> bool {
        if !self.open.load(Ordering::Acquire) {
            return true;
        }
        let (ack_tx, ack_rx) = bounded(1);
        let deadline = Instant::now() + timeout;
        // A flush may wait for room in the queue: it is the caller asking to wait.
        if self.tx.send_deadline(Msg::Flush(ack_tx), deadline).is_err() {
            return false;
        }
        ack_rx.recv_deadline(deadline).is_ok()
    }

    /// Close the queue, let the worker drain it, and wait up to `timeout` for it.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        if !self.open.swap(false, Ordering::AcqRel) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        let finished = self.tx.send_deadline(Msg::Shutdown, deadline).is_ok()
            && self.done.recv_deadline(deadline).is_ok();
        if finished {
            if let Some(handle) = self.worker.lock().ok().and_then(|mut g| g.take()) {
                let _ = handle.join();
            }
        } else {
            warn_stderr(&format!(
                "the `{}` sink did not finish writing within {timeout:?}; abandoning it",
                self.name
            ));
        }
        finished
    }

    pub fn stats(&self) -> SinkStats {
        SinkStats {
            name: self.name,
            emitted: self.counters.emitted.load(Ordering::Relaxed),
            stored: self.counters.stored.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            pending: self.counters.pending.load(Ordering::Relaxed),
        }
    }
}
