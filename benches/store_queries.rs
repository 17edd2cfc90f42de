//! Query speed of the SQLite trace store at size, the same queries over the same rows in
//! PostgreSQL, and the sqlite sink's write rate.
//!
//! ```text
//! cargo bench --bench store_queries
//! ```
//!
//! Fills a store with 1,000,000 spans in 100,000 traces (1,000 traces of 100 spans,
//! 9,000 of 10 and 90,000 of 9; GenAI attributes, four models, random W3C ids, start
//! times spread over the last 7 days) through the runtime's own schema, with direct SQL
//! in big transactions, and caches it as `target/bench-store/store_1m.db` (delete it to
//! regenerate; `STORE_BENCH_SPANS=100000` makes a smaller one for a quick look). Then:
//!
//! * `get_span_tree_100` — `get_span_tree` of a 100-span trace's root (target ≤ 5 ms);
//! * `query_traces_model_limit100` — `query_traces` with one attribute filter
//!   (`gen_ai.request.model eq llama3.2:3b`, a quarter of the traces), limit 100 (≤ 50 ms);
//! * `query_traces_rare_limit100` — the same with a value on 1 trace in 1,000;
//! * `llm_trace_list` — the `llm-trace list` binary end to end (≤ 100 ms);
//! * the same four over PostgreSQL (`pg_*`): the store's `traces` and `spans` rows copied
//!   (`COPY ... FROM STDIN`) into a database of a real server the bench starts
//!   (`tests/support/postgres.rs`: `initdb` + `pg_ctl` on a loopback port, fsync off), its
//!   schema created by the `postgres` sink, then `VACUUM ANALYZE`; `STORE_BENCH_POSTGRES=0`
//!   leaves them out;
//! * then the sqlite sink's write rate, into a new store and into a copy of the full one
//!   (20,000 instrumented agent turns of 10 spans, each inference also recording its six
//!   metric points, through `init_local`, until the guard has flushed).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::Criterion;
use llm_telemetry::store::{AttributeFilter, TraceOrder, TraceStore};
use llm_telemetry::{instrument_agent_turn, instrument_inference, SinkKind, TelemetryConfig};
use llm_telemetry::{TokenUsage, Usage};
use rusqlite::Connection;

#[path = "support/bench_store.rs"]
mod bench_store;
#[path = "../tests/support/postgres.rs"]
mod postgres_server;
use bench_store::{bench_store, llm_trace_binary, MODELS};

struct Reply(u64);
impl TokenUsage for Reply {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(100, self.0))
    }
}

#[instrument_inference(model = model, provider = "ollama")]
fn chat(model: &str, n: u64) -> Result<Reply, std::io::Error> {
    Ok(Reply(n))
}

#[instrument_agent_turn(agent = "planner", session = session)]
fn turn(session: &str, i: u64) -> Result<u64, std::io::Error> {
    let mut total = 0;
    for k in 0..9 {
        total += chat(MODELS[(k % 4) as usize], i + k)?.0;
    }
    Ok(total)
}

/// Spans per second the sqlite sink stores into a copy of `source` (`None`: a new store).
fn write_rate(source: Option<&Path>, dir: &Path, turns: u64) {
    let copy = dir.join("write_rate.db");
    let _ = std::fs::remove_file(&copy);
    let _ = std::fs::remove_file(copy.with_extension("db-wal"));
    if let Some(source) = source {
        std::fs::copy(source, &copy).unwrap();
    }
    let before = if source.is_some() { count(&copy) } else { 0 };
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&copy)
        .queue_capacity(4 * 1024 * 1024)
        .build()
        .init_local()
        .unwrap();
    let started = Instant::now();
    for i in 0..turns {
        turn(&format!("s{}", i % 100), i).unwrap();
    }
    let emitted = started.elapsed();
    guard.flush();
    let elapsed = started.elapsed();
    let stats = guard.stats();
    drop(guard);
    for s in &stats.sinks {
        eprintln!(
            "sink {}: emitted {} stored {} dropped {} failed {}",
            s.name, s.emitted, s.stored, s.dropped, s.failed
        );
    }
    let spans = turns * 10;
    let metrics: i64 = Connection::open(&copy)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM metrics", [], |r| r.get(0))
        .unwrap();
    eprintln!(
        "write rate into a {before}-span store: {spans} spans and {metrics} metric points emitted in {:.2} s, \
         stored by {:.2} s: {:.0} spans/s ({:.0} rows/s)",
        emitted.as_secs_f64(),
        elapsed.as_secs_f64(),
        spans as f64 / elapsed.as_secs_f64(),
        (spans as f64 + metrics as f64) / elapsed.as_secs_f64()
    );
    let _ = std::fs::remove_file(&copy);
}

/// The bench store's `traces` and `spans` copied into a new PostgreSQL database (its schema
/// created by the `postgres` sink); the database's URL.
fn postgres_copy(filled: &Path) -> String {
    let server = postgres_server::PgServer::shared();
    let url = server.create_db("store_queries");
    drop(
        TelemetryConfig::builder()
            .sinks([SinkKind::Postgres])
            .postgres_url(&url)
            .build()
            .init_local()
            .expect("the postgres sink creates the schema"),
    );
    let started = Instant::now();
    let sqlite = Connection::open(filled).unwrap();
    let mut pg = server.client("store_queries");
    pg.batch_execute("SET TIME ZONE 'UTC'").unwrap();
    copy_table(
        &sqlite,
        &mut pg,
        "traces",
        "trace_id, service_name, root_span_id, start_time, end_time, timestamp, span_count, \
         error_count",
    );
    copy_table(
        &sqlite,
        &mut pg,
        "spans",
        "span_id, trace_id, parent_span_id, name, start_time, end_time, duration_ms, \
         attributes, status, kind, status_message, category, service_name",
    );
    // The bench's roots have no parent (what the sink records as a true root).
    pg.batch_execute("UPDATE traces SET root_is_true = root_span_id IS NOT NULL")
        .unwrap();
    pg.batch_execute("VACUUM ANALYZE").unwrap();
    eprintln!(
        "copied the bench store into PostgreSQL in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    url
}

/// `columns` of every row of `table` from SQLite into PostgreSQL, as CSV over `COPY`.
fn copy_table(sqlite: &Connection, pg: &mut postgres::Client, table: &str, columns: &str) {
    use rusqlite::types::ValueRef;
    use std::fmt::Write as _;
    use std::io::Write as _;
    let mut out = pg
        .copy_in(&format!("COPY {table} ({columns}) FROM STDIN (FORMAT csv)"))
        .unwrap();
    let mut stmt = sqlite
        .prepare(&format!("SELECT {columns} FROM {table}"))
        .unwrap();
    let n = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    let mut line = String::new();
    while let Some(row) = rows.next().unwrap() {
        line.clear();
        for i in 0..n {
            if i > 0 {
                line.push(',');
            }
            // CSV: an unquoted empty field is NULL, a quoted one text.
            match row.get_ref(i).unwrap() {
                ValueRef::Null => {}
                ValueRef::Integer(v) => write!(line, "{v}").unwrap(),
                ValueRef::Real(v) => write!(line, "{v}").unwrap(),
                ValueRef::Text(t) => {
                    line.push('"');
                    line.push_str(&String::from_utf8_lossy(t).replace('"', "\"\""));
                    line.push('"');
                }
                ValueRef::Blob(_) => panic!("a blob in {table}"),
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
    }
    out.finish().unwrap();
}

fn count(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM spans", [], |r| r.get(0))
        .unwrap()
}

fn main() {
    let filled = bench_store();
    let store = TraceStore::open(&filled.path).unwrap();
    assert_eq!(
        store
            .get_span_tree(&filled.big_root, None, None)
            .unwrap()
            .len(),
        100
    );
    let model = [AttributeFilter::eq("gen_ai.request.model", "llama3.2:3b")];
    let rare = [AttributeFilter::eq("gen_ai.request.model", "rare-model")];
    assert_eq!(
        store
            .query_traces(&model, 100, 0, TraceOrder::Newest)
            .unwrap()
            .len(),
        100
    );
    let bin = llm_trace_binary();

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let mut g = c.benchmark_group("store_queries");
    g.bench_function("get_span_tree_100", |b| {
        b.iter(|| store.get_span_tree(&filled.big_root, None, None).unwrap())
    });
    g.bench_function("query_traces_model_limit100", |b| {
        b.iter(|| {
            store
                .query_traces(&model, 100, 0, TraceOrder::Newest)
                .unwrap()
        })
    });
    g.bench_function("query_traces_rare_limit100", |b| {
        b.iter(|| {
            store
                .query_traces(&rare, 100, 0, TraceOrder::Newest)
                .unwrap()
        })
    });
    g.bench_function("llm_trace_list", |b| {
        b.iter(|| {
            let out = Command::new(&bin)
                .arg("--db")
                .arg(&filled.path)
                .arg("list")
                .output()
                .unwrap();
            assert!(out.status.success());
        })
    });
    drop(store);
    if std::env::var("STORE_BENCH_POSTGRES").map_or(true, |v| v != "0") {
        let url = postgres_copy(&filled.path);
        let pg = TraceStore::open(&url).unwrap();
        assert_eq!(
            pg.get_span_tree(&filled.big_root, None, None)
                .unwrap()
                .len(),
            100
        );
        g.bench_function("pg_get_span_tree_100", |b| {
            b.iter(|| pg.get_span_tree(&filled.big_root, None, None).unwrap())
        });
        g.bench_function("pg_query_traces_model_limit100", |b| {
            b.iter(|| pg.query_traces(&model, 100, 0, TraceOrder::Newest).unwrap())
        });
        g.bench_function("pg_query_traces_rare_limit100", |b| {
            b.iter(|| pg.query_traces(&rare, 100, 0, TraceOrder::Newest).unwrap())
        });
        g.bench_function("pg_llm_trace_list", |b| {
            b.iter(|| {
                let out = Command::new(&bin)
                    .args(["--db", &url, "list"])
                    .output()
                    .unwrap();
                assert!(out.status.success());
            })
        });
    }
    g.finish();
    let turns = std::env::var("STORE_BENCH_WRITE_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = filled.path.parent().unwrap();
    write_rate(None, dir, turns);
    write_rate(Some(&filled.path), dir, turns);
    c.final_summary();
}
