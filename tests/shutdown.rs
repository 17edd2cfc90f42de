//! Dropping the guard with a deep queue writes everything that was queued: none is lost.
//! (How long it takes is a bench figure: `cargo bench --bench throughput`.)

mod common;

use common::{count, TempStore};
use llm_telemetry::instrument_tool;

#[instrument_tool(tool = "lookup")]
fn lookup(i: u64) -> u64 {
    i.wrapping_mul(31)
}

#[test]
fn dropping_the_guard_with_100k_spans_queued_loses_none() {
    const N: u64 = 100_000;
    let store = TempStore::new();
    let guard = store.config().init_local().unwrap();
    let mut sum = 0u64;
    for i in 0..N {
        sum = sum.wrapping_add(lookup(i));
    }
    std::hint::black_box(sum);
    // Nothing was dropped at the queue (the default capacity holds the whole burst) ...
    let stats = *guard.stats().sink("sqlite").unwrap();
    assert_eq!(stats.emitted, N, "{stats:?}");
    assert_eq!(stats.dropped, 0, "{stats:?}");
    // ... and whatever was still queued is written by the drop.
    drop(guard);
    assert_eq!(
        count(
            &store.path,
            "SELECT COUNT(*) FROM spans WHERE name = 'execute_tool lookup'"
        ),
        N as i64
    );
    assert_eq!(count(&store.path, "SELECT COUNT(*) FROM traces"), N as i64);
}
