//! "This thread is telemetry's own": a thread-local flag set on the sinks' worker threads
//! and the exporters' runtimes, so that what they do (HTTP requests, their own `tracing`
//! events) never comes back into the pipeline as telemetry.

use std::cell::Cell;

thread_local! {
    static SUPPRESSED: Cell<bool> = const { Cell::new(false) };
}

/// Ignore telemetry from the current thread until the returned value drops.
pub fn suppress_on_this_thread() -> impl Drop {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SUPPRESSED.with(|s| s.set(self.0));
        }
    }
    Restore(SUPPRESSED.with(|s| s.replace(true)))
}

/// Whether telemetry from the current thread is ignored.
#[inline]
pub fn suppressed() -> bool {
    SUPPRESSED.with(Cell::get)
}

/// Mark the current thread as telemetry's own for the rest of its life (the exporters' I/O
/// threads, the Prometheus scrape server).
pub fn mark_thread_internal() {
    std::mem::forget(suppress_on_this_thread());
}
