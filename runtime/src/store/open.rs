//! What every connection to a store file shares, readers and the sink's writer alike.

use std::time::Duration;

/// How long a statement waits for another connection's lock before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
