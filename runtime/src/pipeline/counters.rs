//! A sink's counters: emitted and dropped (counted by the application's threads), stored,
//! failed and pending (by the worker; it may add to dropped), each side on its own cache line.

use std::sync::atomic::{AtomicBool, AtomicU64};

// The application's threads count `emitted` and `dropped`, the worker `stored` and
// `failed`: on separate cache lines, so that neither side's counting evicts the other's.
#[derive(Default)]
pub(super) struct Counters {
    pub emitted: CacheLine<AtomicU64>,
    pub dropped: AtomicU64,
    pub stored: CacheLine<AtomicU64>,
    pub failed: AtomicU64,
    // Held by the writer for a later attempt (a gauge, set by the worker).
    pub pending: AtomicU64,
    // Set when the worker thread has exited (or panicked): the queue is then
    // disconnected, which a full queue must not be mistaken for.
    pub worker_gone: AtomicBool,
}

#[derive(Default)]
#[repr(align(64))]
pub(super) struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
