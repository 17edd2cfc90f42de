//! Sustained throughput into the SQLite store and a PostgreSQL database, loss accounting,
//! memory and shutdown.
//!
//! ```text
//! cargo bench --bench throughput                       # N = 2,000,000 spans
//! THROUGHPUT_SPANS=200000 cargo bench --bench throughput   # a quick run
//! THROUGHPUT_ONLY=tool THROUGHPUT_SPANS=200000 cargo bench --bench throughput   # one phase
//! THROUGHPUT_ONLY=shutdown cargo bench --bench throughput   # the shutdown runs alone
//! THROUGHPUT_ONLY=postgres cargo bench --bench throughput   # the PostgreSQL phases alone
//! ```
//!
//! Phases, each with a fresh store and a fresh guard at the default queue capacity:
//!
//! 1. sustained: two threads call an `#[instrument_inference]` function as fast as they
//!    can, N/4 spans then N spans (so that peak RSS can be compared across N), then N
//!    `#[instrument_tool]` spans (a plain span: one row, no metrics); reports spans/s
//!    written to the indexed store (emit start → everything stored), the
//!    `stored + dropped == emitted` reconciliation from `stats()` and the span rows;
//!    The same two sustained workloads (N inference spans, N tool spans) then go to the
//!    `postgres` sink, into a fresh database of a real server started by the bench
//!    (`tests/support/postgres.rs`: `initdb` + `pg_ctl` on a loopback port, fsync off;
//!    `THROUGHPUT_POSTGRES=0` leaves them out);
//! 2. burst: 100,000 inference spans (`THROUGHPUT_BURST`) from two threads, then a
//!    flush: the number dropped;
//! 3. shutdown, five times (`THROUGHPUT_SHUTDOWN_RUNS`): 100,000 inference spans emitted as
//!    fast as possible, then the guard dropped at once: how long the drop takes (the
//!    median is the figure) and whether every span is in the store.
//!
//! An inference is one queue item and two rows in the store (its span and its `traces`
//! row), plus its share of the batch's aggregated `metrics` rows; its three llama-stack
//! metric events are derived from the span row by the `span_events` view.

#[path = "../tests/support/postgres.rs"]
mod postgres_server;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use llm_telemetry::{
    instrument_inference, instrument_tool, SinkKind, TelemetryConfig, TokenUsage, Usage,
};
use tracing_subscriber::prelude::*;

pub struct Reply {
    completion_tokens: u64,
}

impl TokenUsage for Reply {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(12, self.completion_tokens))
    }
}

#[instrument_inference(model = "bench-model", provider = "bench")]
#[inline(never)]
fn chat(prompt: &str) -> Reply {
    Reply {
        completion_tokens: black_box(prompt.len() as u64),
    }
}

/// A plain span: one `spans` row (and its trace's row), no metrics.
#[instrument_tool(tool = "lookup")]
#[inline(never)]
fn lookup(key: u64) -> u64 {
    black_box(key.wrapping_mul(31))
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// `#[instrument_inference]`: a span row, 3 metric events and 6 metric points.
    Inference,
    /// `#[instrument_tool]`: a span row.
    Tool,
}

const THREADS: usize = 2;

fn env_count(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: expected a number of spans")),
        Err(_) => default,
    }
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Where a run's spans go: a SQLite file, or a PostgreSQL database (its URL).
enum Store {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Store {
    fn sink(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    fn config(&self) -> TelemetryConfig {
        let builder = TelemetryConfig::builder().service_name("throughput-bench");
        match self {
            Store::Sqlite(db) => builder.sinks([SinkKind::Sqlite]).sqlite_db_path(db),
            Store::Postgres(url) => builder.sinks([SinkKind::Postgres]).postgres_url(url),
        }
        .build()
    }

    fn span_rows(&self) -> i64 {
        match self {
            Store::Sqlite(db) => {
                let conn = rusqlite::Connection::open(db).expect("open the store");
                conn.query_row("SELECT count(*) FROM spans", [], |r| r.get(0))
                    .expect("count spans")
            }
            Store::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .expect("connect to the bench database")
                .query_one("SELECT count(*) FROM spans", &[])
                .expect("count spans")
                .get(0),
        }
    }
}

struct Run {
    emit: Duration,
    total: Duration,
    stats: llm_telemetry::SinkStats,
    rows: i64,
}

/// Emit `n` spans from `THREADS` threads into a fresh SQLite store, then either flush (and
/// drop the guard) or drop the guard directly.
fn run(dir: &Path, label: &str, kind: Kind, n: u64, drop_guard_to_finish: bool) -> Run {
    let store = Store::Sqlite(dir.join(format!("{label}.db")));
    run_into(&store, kind, n, drop_guard_to_finish)
}

/// Emit `n` spans from `THREADS` threads into `store` (fresh), then finish as [`run`] does.
fn run_into(store: &Store, kind: Kind, n: u64, drop_guard_to_finish: bool) -> Run {
    let config = store.config();
    let (layer, guard) = llm_telemetry::layer(&config).expect("telemetry layer");
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..THREADS as u64 {
            let dispatch = dispatch.clone();
            let count = n / THREADS as u64 + u64::from(t < n % THREADS as u64);
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..count {
                        match kind {
                            Kind::Inference => {
                                black_box(chat(black_box("What is the weather in Paris?")));
                            }
                            Kind::Tool => {
                                black_box(lookup(black_box(i)));
                            }
                        }
                    }
                })
            });
        }
    });
    let emit = start.elapsed();
    drop(dispatch);
    let stats;
    if drop_guard_to_finish {
        // What was dropped at emit time is final here; the drop writes the queued rest
        // (the rows counted below show whether it did).
        let snapshot = guard.stats();
        drop(guard);
        stats = *snapshot.sink(store.sink()).expect("the store's sink");
    } else {
        guard.flush();
        stats = *guard.stats().sink(store.sink()).expect("the store's sink");
        drop(guard);
    }
    let total = start.elapsed();
    Run {
        emit,
        total,
        stats,
        rows: store.span_rows(),
    }
}

/// Print a sustained run's figures; whether its counts reconcile with its rows.
fn report(what: &str, sink: &str, size: u64, r: &Run) -> bool {
    let s = r.stats;
    let reconciled = s.stored + s.dropped + s.failed == s.emitted;
    println!(
        "{what} N={size}: emitted in {:.3}s ({:.0} spans/s offered), all stored after \
         {:.3}s => {:.0} spans/s written; {} span rows",
        r.emit.as_secs_f64(),
        size as f64 / r.emit.as_secs_f64(),
        r.total.as_secs_f64(),
        r.rows as f64 / r.total.as_secs_f64(),
        r.rows,
    );
    println!(
        "  {sink}: emitted {} stored {} dropped {} failed {}; stored + dropped == emitted: {}",
        s.emitted, s.stored, s.dropped, s.failed, reconciled
    );
    println!(
        "  peak RSS so far (VmHWM): {} KiB",
        vm_hwm_kib().unwrap_or(0)
    );
    reconciled && r.rows as u64 == s.stored
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let n = env_count("THROUGHPUT_SPANS", 2_000_000);
    let burst = env_count("THROUGHPUT_BURST", 100_000);
    // THROUGHPUT_DIR keeps the stores for inspection; by default they go to a temporary one.
    let temp = tempfile::tempdir().expect("temporary directory");
    let dir = match std::env::var_os("THROUGHPUT_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).expect("THROUGHPUT_DIR");
            tempfile::tempdir_in(d).expect("temporary directory").keep()
        }
        None => temp.path().to_path_buf(),
    };
    println!("== throughput: {THREADS} threads, #[instrument_inference] into SQLite ==");
    println!("start: VmHWM {} KiB", vm_hwm_kib().unwrap_or(0));

    let mut all_ok = true;
    let phases = [
        ("inference", Kind::Inference, n / 4),
        ("inference", Kind::Inference, n),
        ("tool", Kind::Tool, n),
    ];
    // THROUGHPUT_ONLY=inference|tool|postgres|shutdown runs that phase alone (for profiling).
    let only = std::env::var("THROUGHPUT_ONLY").ok();
    for (i, (what, kind, size)) in phases.into_iter().enumerate() {
        if only.as_deref().is_some_and(|o| o != what) {
            continue;
        }
        let r = run(&dir, &format!("sustained{i}"), kind, size, false);
        all_ok &= report(&format!("sustained {what}"), "sqlite", size, &r);
    }

    let postgres = std::env::var("THROUGHPUT_POSTGRES").map_or(true, |v| v != "0");
    if postgres && only.as_deref().is_none_or(|o| o == "postgres") {
        println!("== the same into PostgreSQL (a server started for the bench, fsync off) ==");
        let server = postgres_server::PgServer::shared();
        for (i, (what, kind)) in [("inference", Kind::Inference), ("tool", Kind::Tool)]
            .into_iter()
            .enumerate()
        {
            let store = Store::Postgres(server.create_db(&format!("throughput{i}")));
            let r = run_into(&store, kind, n, false);
            all_ok &= report(&format!("postgres {what}"), "postgres", n, &r);
        }
    }

    if only.as_deref().is_some_and(|o| o != "shutdown") {
        if !all_ok {
            println!("SOME CHECK FAILED (see above)");
        }
        return;
    }
    if only.is_none() {
        let r = run(&dir, "burst", Kind::Inference, burst, false);
        println!(
            "burst N={burst}: emitted in {:.3}s; dropped {} (target 0); {} span rows",
            r.emit.as_secs_f64(),
            r.stats.dropped,
            r.rows
        );
        all_ok &= r.stats.dropped == 0 && r.rows == burst as i64;
    }

    // The drop time varies with what else the machine does: report the median of several.
    let runs = env_count("THROUGHPUT_SHUTDOWN_RUNS", 5).max(1);
    let mut drop_times = Vec::new();
    for i in 0..runs {
        let r = run(&dir, &format!("shutdown{i}"), Kind::Inference, burst, true);
        let drop_time = r.total - r.emit;
        println!(
            "shutdown run {}: {burst} spans emitted in {:.3}s, dropping the guard wrote the rest \
             in {:.3}s; {} span rows (target {burst})",
            i + 1,
            r.emit.as_secs_f64(),
            drop_time.as_secs_f64(),
            r.rows
        );
        all_ok &= r.rows == burst as i64;
        drop_times.push(drop_time);
    }
    drop_times.sort();
    println!(
        "shutdown: median drop time over {runs} runs {:.3}s (target <= 1 s)",
        drop_times[drop_times.len() / 2].as_secs_f64()
    );
    println!("peak RSS (VmHWM): {} KiB", vm_hwm_kib().unwrap_or(0));
    if !all_ok {
        println!("SOME CHECK FAILED (see above)");
    }
}
