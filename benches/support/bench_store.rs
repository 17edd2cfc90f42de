//! The benches' 1,000,000-span store (see `store_queries.rs` for its shape), built once and
//! cached under `target/bench-store/`, and the release `llm-trace` binary; shared by
//! `store_queries` and `http_api`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use llm_telemetry::{SinkKind, TelemetryConfig};
use rusqlite::{params, Connection};

/// The cached store of `total` spans (`STORE_BENCH_SPANS`, default 1,000,000).
pub fn bench_store() -> Filled {
    let total: usize = std::env::var("STORE_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let path = target_dir()
        .join("bench-store")
        .join(if total == 1_000_000 {
            "store_1m.db".to_string()
        } else {
            format!("store_{total}.db")
        });
    fill(&path, total)
}

pub const MODELS: [&str; 4] = ["llama3.2:3b", "gpt-4o", "claude-sonnet", "mistral-7b"];

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

pub fn target_dir() -> PathBuf {
    // target/release/deps/<bench> -> target
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// SQLite's timestamp text for `micros` since the epoch.
pub fn ts(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil from days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        micros.rem_euclid(1_000_000)
    )
}

pub struct Filled {
    pub path: PathBuf,
    /// Root span of a 100-span trace.
    pub big_root: String,
}

pub fn fill(path: &Path, total_spans: usize) -> Filled {
    let meta = path.with_extension("root");
    if path.exists() && meta.exists() {
        return Filled {
            path: path.to_path_buf(),
            big_root: std::fs::read_to_string(&meta).unwrap(),
        };
    }
    let _ = std::fs::remove_file(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let started = Instant::now();
    // The runtime's schema, created by its own sink.
    drop(
        TelemetryConfig::builder()
            .sinks([SinkKind::Sqlite])
            .sqlite_db_path(path)
            .build()
            .init_local()
            .unwrap(),
    );
    let mut conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    conn.pragma_update(None, "cache_size", -262_144).unwrap();
    let scale = total_spans as f64 / 1_000_000.0;
    let big = (1_000.0 * scale) as usize;
    let tens = (9_000.0 * scale) as usize;
    let nines = (90_000.0 * scale) as usize;
    let traces = big + tens + nines;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let week = 7 * 86_400 * 1_000_000i64;
    let mut rng = Rng(42);
    let mut big_root = String::new();
    let tx = conn.transaction().unwrap();
    {
        let mut span = tx
            .prepare(
                "INSERT INTO spans (span_id, trace_id, parent_span_id, name, start_time, end_time, \
                 duration_ms, attributes, status, kind, status_message, category, service_name) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'internal', NULL, ?10, 'bench')",
            )
            .unwrap();
        let mut trace = tx
            .prepare(
                "INSERT INTO traces (trace_id, service_name, root_span_id, start_time, end_time, \
                 timestamp, span_count, error_count) VALUES (?1, 'bench', ?2, ?3, ?4, ?3, ?5, ?6)",
            )
            .unwrap();
        // Big traces are spread among the others, in time order of their index.
        for i in 0..traces {
            let n_spans = if i % (traces / big.max(1)) == 0 && i / (traces / big.max(1)) < big {
                100
            } else if i % 10 == 1 && i / 10 < tens {
                10
            } else {
                9
            };
            let trace_id = format!("{:016x}{:016x}", rng.next(), rng.next());
            let start = now - week + (i as i64) * (week / traces as i64);
            let root_id = format!("{:016x}", rng.next());
            let model = if i % 1000 == 7 {
                "rare-model"
            } else {
                MODELS[i % 4]
            };
            let failed = i % 20 == 0;
            let mut errors = 0;
            let mut parents = vec![root_id.clone()];
            let dur_root = 200_000i64 + (rng.next() % 2_000_000) as i64;
            span.execute(params![
                root_id,
                trace_id,
                None::<String>,
                "invoke_agent planner",
                ts(start),
                ts(start + dur_root),
                dur_root as f64 / 1000.0,
                format!(
                    r#"{{"gen_ai.operation.name":"invoke_agent","gen_ai.agent.name":"planner","gen_ai.conversation.id":"session-{}"}}"#,
                    i % 5000
                ),
                if failed { "error" } else { "ok" },
                "agent_turn"
            ])
            .unwrap();
            errors += i64::from(failed);
            for k in 1..n_spans {
                let id = format!("{:016x}", rng.next());
                // 100-span traces: 9 steps under the root, 10 spans under each step.
                let parent = if n_spans == 100 && k > 9 {
                    parents[1 + (k - 10) / 10].clone()
                } else {
                    root_id.clone()
                };
                if n_spans == 100 && k <= 9 {
                    parents.push(id.clone());
                }
                let s = start + (k as i64) * 1_000;
                let d = 1_000 + (rng.next() % 500_000) as i64;
                let (name, attrs, cat) = if k % 3 == 2 {
                    (
                        "execute_tool get_weather".to_string(),
                        r#"{"gen_ai.operation.name":"execute_tool","gen_ai.tool.name":"get_weather","gen_ai.tool.call.id":"call_0"}"#.to_string(),
                        "tool",
                    )
                } else {
                    (
                        format!("chat {model}"),
                        format!(
                            r#"{{"gen_ai.operation.name":"chat","gen_ai.provider.name":"ollama","gen_ai.request.model":"{model}","gen_ai.response.model":"{model}","gen_ai.usage.input_tokens":{},"gen_ai.usage.output_tokens":{}}}"#,
                            rng.next() % 2000,
                            rng.next() % 500
                        ),
                        "inference",
                    )
                };
                span.execute(params![
                    id,
                    trace_id,
                    parent,
                    name,
                    ts(s),
                    ts(s + d),
                    d as f64 / 1000.0,
                    attrs,
                    "ok",
                    cat
                ])
                .unwrap();
            }
            trace
                .execute(params![
                    trace_id,
                    root_id,
                    ts(start),
                    ts(start + dur_root),
                    n_spans as i64,
                    errors
                ])
                .unwrap();
            if n_spans == 100 {
                big_root = root_id;
            }
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let spans: i64 = conn
        .query_row("SELECT COUNT(*) FROM spans", [], |r| r.get(0))
        .unwrap();
    eprintln!(
        "filled {} with {spans} spans in {traces} traces in {:.1} s ({:.0} MiB)",
        path.display(),
        started.elapsed().as_secs_f64(),
        std::fs::metadata(path).unwrap().len() as f64 / 1048576.0
    );
    std::fs::write(&meta, &big_root).unwrap();
    Filled {
        path: path.to_path_buf(),
        big_root,
    }
}

/// The release `llm-trace`, built (or brought up to date: a stale binary would measure old
/// code) by cargo first.
pub fn llm_trace_binary() -> PathBuf {
    let dir = target_dir().join("release");
    let bin = dir.join(format!("llm-trace{}", std::env::consts::EXE_SUFFIX));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "llm-telemetry-cli"])
        .status()
        .unwrap();
    assert!(status.success());
    bin
}
