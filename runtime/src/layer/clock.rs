//! The layer's clock: wall-clock and monotonic time from one clock read per span open.

use std::cell::Cell;
use std::time::{Instant, SystemTime};

/// How long a thread derives wall-clock times from one reading of the system clock.
const CLOCK_RESYNC: std::time::Duration = std::time::Duration::from_secs(1);

thread_local! {
    // A reading of the monotonic clock and, just after it, of the system clock (as the
    // time since the Unix epoch).
    static CLOCK_ANCHOR: Cell<Option<(Instant, std::time::Duration)>> = const { Cell::new(None) };
}

/// The current wall-clock time (and as whole Unix seconds) and monotonic instant, from
/// one clock read: the wall clock is the thread's anchor plus the monotonic time since
/// it, and is read again at most once per [`CLOCK_RESYNC`] (so a step of the system
/// clock shows within a second).
pub fn now() -> (SystemTime, u64, Instant) {
    let instant = Instant::now();
    let since_epoch = CLOCK_ANCHOR.with(|anchor| match anchor.get() {
        Some((at, wall)) if instant.saturating_duration_since(at) < CLOCK_RESYNC => {
            Ok(wall + instant.saturating_duration_since(at))
        }
        _ => match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            Ok(wall) => {
                anchor.set(Some((instant, wall)));
                Ok(wall)
            }
            // A clock before 1970: not worth an anchor.
            Err(e) => Err(SystemTime::UNIX_EPOCH - e.duration()),
        },
    });
    match since_epoch {
        Ok(d) => (SystemTime::UNIX_EPOCH + d, d.as_secs(), instant),
        Err(wall) => (wall, 0, instant),
    }
}
