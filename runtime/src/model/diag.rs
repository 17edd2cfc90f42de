//! The runtime's own diagnostics: warnings on stderr, never through `tracing` (that would
//! feed the pipeline its own diagnostics), rate-limited so that a full queue or a collector
//! that is down prints one line per interval with a count, not one per item.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Prints a warning at most once per interval, with the count of what it swallowed.
pub struct RateLimitedWarning {
    last: Mutex<Option<Instant>>,
    // When the last warning was printed, on `coarse_now_ns`'s clock, plus one (0: never).
    // Read without the lock, so that a burst of warnings (a full queue drops every item
    // for a while) costs an atomic load and a coarse clock read each, not a mutex.
    last_ns: AtomicU64,
    suppressed: AtomicU64,
    interval: Duration,
}

impl RateLimitedWarning {
    pub fn new(interval: Duration) -> Self {
        RateLimitedWarning {
            last: Mutex::new(None),
            last_ns: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            interval,
        }
    }

    /// Warn now, or count the warning if one was printed within the interval.
    pub fn warn(&self, message: impl FnOnce() -> String) {
        let last_ns = self.last_ns.load(Ordering::Relaxed);
        if last_ns != 0
            && coarse_now_ns().saturating_sub(last_ns - 1) < self.interval.as_nanos() as u64
        {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut last = match self.last.try_lock() {
            Ok(guard) => guard,
            // Someone else is warning right now: that is enough.
            Err(_) => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        self.last_ns.store(coarse_now_ns() + 1, Ordering::Relaxed);
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        let more = if suppressed > 0 {
            format!(" ({suppressed} similar warnings suppressed)")
        } else {
            String::new()
        };
        warn_stderr(&format!("{}{more}", message()));
    }
}

/// Nanoseconds on a monotonic clock that may lag by a few milliseconds, read for every
/// rate-limited warning: on Linux `CLOCK_MONOTONIC_COARSE`, a few times cheaper than
/// the precise clock.
#[cfg(target_os = "linux")]
fn coarse_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to a `timespec`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc != 0 {
        return precise_now_ns();
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

#[cfg(not(target_os = "linux"))]
fn coarse_now_ns() -> u64 {
    precise_now_ns()
}

fn precise_now_ns() -> u64 {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The one place the runtime talks to the user outside the telemetry itself. It never
/// goes through `tracing`: that would feed the pipeline its own diagnostics.
pub fn warn_stderr(message: &str) {
    eprintln!("llm-telemetry: warning: {message}");
}
