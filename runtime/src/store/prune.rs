//! [`prune`] and [`prune_before`]: on demand, what the sinks' retention does in the
//! background, on a SQLite file (`retention`) or, given a `postgres://` URL, on a
//! PostgreSQL store (`pg_retention`).

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::retention::{self, PruneReport};
use super::StoreError;

/// Delete everything older than `older_than` from the store at `path`: traces that both
/// started and ended before the cutoff, with their spans and events, and metric points and
/// free logs recorded before it. Works in chunks of a few hundred traces, each its own
/// short transaction, so applications writing to the store meanwhile are not stalled.
///
/// A `postgres://` URL instead of a path prunes that PostgreSQL store (feature
/// `postgres`) with the same deletions, chunks and advisory lock as the `postgres` sink's
/// `TELEMETRY_POSTGRES_RETENTION`.
///
/// ```no_run
/// use std::time::Duration;
///
/// let report = llm_telemetry::store::prune("traces.db", Duration::from_secs(7 * 86_400))?;
/// println!("deleted {} traces, {} spans", report.traces, report.spans);
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
pub fn prune(path: impl AsRef<Path>, older_than: Duration) -> Result<PruneReport, StoreError> {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    prune_before(path, cutoff)
}

/// [`prune`] with an absolute cutoff.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// let cutoff = SystemTime::now() - Duration::from_secs(86_400);
/// llm_telemetry::store::prune_before("traces.db", cutoff)?;
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
pub fn prune_before(path: impl AsRef<Path>, cutoff: SystemTime) -> Result<PruneReport, StoreError> {
    let path = path.as_ref();
    #[cfg(feature = "postgres")]
    if super::is_postgres_url(path) {
        return super::pg_retention::prune_before(path.to_str().unwrap_or_default(), cutoff);
    }
    retention::prune_sqlite_before(path, cutoff)
}
