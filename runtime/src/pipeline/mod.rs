//! L3, the path from the layer to the sinks: one bounded queue and one worker thread per
//! sink ([`sink_handle`], [`worker`]). The application thread only ever `try_send`s; a full
//! queue drops the item and counts it ([`stats`]). Each worker batches what it receives and
//! hands the batch to its writer ([`writer`]). What travels is a [`Telemetry`] item.

pub mod counters;
pub mod item;
pub mod sink_handle;
pub mod stats;
pub mod worker;
pub mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use item::Telemetry;
pub use sink_handle::{QueueOptions, SinkHandle};
pub use stats::SinkStats;
pub use writer::{Accepts, BatchWriter, Report, WriteError};

/// Every enabled sink of one telemetry guard.
pub struct Pipeline {
    sinks: Vec<SinkHandle>,
    shut_down: AtomicBool,
}

impl Pipeline {
    pub fn new(sinks: Vec<SinkHandle>) -> Self {
        Pipeline {
            sinks,
            shut_down: AtomicBool::new(false),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    pub fn send(&self, item: Telemetry) {
        for sink in &self.sinks {
            sink.offer(&item);
        }
    }

    /// Hand `item` to every sink or to none: false (nothing taken, nothing counted as
    /// dropped) when a sink's queue is full. For senders that can refuse and be retried
    /// (`StoreIngest`), not for the application's own spans.
    pub fn try_send(&self, item: &Telemetry) -> bool {
        if self.sinks.iter().any(SinkHandle::is_full) {
            return false;
        }
        self.sinks.iter().all(|sink| sink.try_offer(item))
    }

    /// Hand all of `items` to every sink, or nothing: `Err(capacity)` when a sink's queue
    /// has no room for all of them now (the smallest queue's capacity: a batch larger than
    /// it never fits). All-or-nothing only while the caller is the one sender (it holds a
    /// lock around its sends), since a queue's room can only grow meanwhile.
    pub fn try_send_all(&self, items: &[Telemetry]) -> Result<(), usize> {
        let (room, capacity) = self
            .sinks
            .iter()
            .map(SinkHandle::room)
            .fold((usize::MAX, usize::MAX), |(r, c), (r2, c2)| {
                (r.min(r2), c.min(c2))
            });
        if room < items.len() {
            return Err(capacity);
        }
        for item in items {
            if !self.sinks.iter().all(|sink| sink.try_offer(item)) {
                return Err(capacity);
            }
        }
        Ok(())
    }

    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.sinks.iter().fold(true, |ok, s| {
            let left = deadline.saturating_duration_since(Instant::now());
            s.flush(left) && ok
        })
    }

    /// Flush the one sink called `name` (false if there is none or it did not confirm).
    pub fn flush_sink(&self, name: &str, timeout: Duration) -> bool {
        self.sinks
            .iter()
            .find(|s| s.name() == name)
            .is_some_and(|s| s.flush(timeout))
    }

    pub fn shutdown(&self, timeout: Duration) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        let deadline = Instant::now() + timeout;
        for sink in &self.sinks {
            let left = deadline.saturating_duration_since(Instant::now());
            sink.shutdown(left.max(Duration::from_millis(100)));
        }
    }

    pub fn stats(&self) -> Vec<SinkStats> {
        self.sinks.iter().map(SinkHandle::stats).collect()
    }

    pub fn sink_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sinks.iter().map(SinkHandle::name)
    }
}
