//! `llm-trace serve` driven by the real Python client, `llama-stack-client` 0.2.23 (and
//! 0.3.5 against the `/v1alpha` mirrors), over a store the example agent wrote.
//!
//! The example agent writes the store, one server serves it for the whole test binary,
//! and `tests/python/llama_stack_client_check.py` calls every telemetry method of the
//! client and compares each answer with the SQLite file (read-only, Python's `sqlite3`).
//! A second server, started with `--token`, checks that every route wants the token and
//! that the client's `api_key` is it. The venv is installed on first use
//! (`support/python_venv.rs`); `LLM_TELEMETRY_SKIP_PYTHON_CLIENT=1` skips where it cannot be.
#![cfg(unix)]

mod support {
    pub mod example;
    pub mod python_venv;
    pub mod serve;
}

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::example::{run_bounded, run_example_agent, scratch_dir, Output};
use support::python_venv::{self, Venv};
use support::serve::{clean_env, Server};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/python/llama_stack_client_check.py"
);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

// ------------------------------------------------------------------ the shared fixture

/// The store the example agent wrote, and the server over it (one per test binary).
struct Fixture {
    dir: PathBuf,
    db: PathBuf,
    server: Server,
}

/// Built once; never dropped (statics are not), so the server is stopped by its watchdog
/// when this process exits (see [`Server::start`]).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = scratch_dir("serve-llama-stack-client-");
        let db = dir.join("traces.db");
        run_example_agent(&db, &[]);
        let server = Server::start(&db, &[]);
        Fixture { dir, db, server }
    })
}

/// The Python runs share one store that `log_event` writes to, and compare the server
/// with it: one at a time.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a run of the check script found.
struct Checked {
    /// The `RESULT` JSON it printed last (`Null` if it printed none).
    result: Value,
    /// Everything that went wrong, for the test's final panic.
    failures: Vec<String>,
}

impl Checked {
    /// Panic with every failure (of the script and of the checks the test added).
    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} problem(s):\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }
}

/// Run the check script in `mode`. Its failures are collected, not raised, so the test
/// can check the rest (e.g. `llm-trace show`) before it fails with all of them.
fn run_checks(
    venv: &Venv,
    alpha: bool,
    server: &Server,
    db: &Path,
    datasets_dir: &Path,
    mode: &str,
    token: Option<&str>,
) -> Checked {
    let mut cmd = Command::new(&venv.python);
    clean_env(&mut cmd);
    cmd.arg(SCRIPT)
        .arg("--base-url")
        .arg(&server.base_url)
        .arg("--db")
        .arg(db)
        .arg("--datasets-dir")
        .arg(datasets_dir)
        .args(["--mode", mode])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env("NO_COLOR", "1");
    if alpha {
        cmd.env("PYTHONPATH", &venv.alpha_path);
    }
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    let started = Instant::now();
    let out = run_bounded(&mut cmd, SCRIPT_TIMEOUT);
    eprintln!(
        "check script ({mode}) ran in {:.1} s:\n{}",
        started.elapsed().as_secs_f64(),
        out.stdout
    );
    let mut failures = Vec::new();
    let result = out
        .stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .unwrap_or(Value::Null);
    if !out.status.success() || result["failed"] != 0 {
        failures.push(format!(
            "llama-stack-client checks ({mode}) failed ({}):\n{}\n{}\nserver stderr:\n{}",
            out.status,
            out.stdout,
            out.stderr,
            server.stderr()
        ));
    } else if result["passed"].as_u64().unwrap_or(0) == 0 {
        failures.push(format!("no check ran ({mode}): {}", out.stdout));
    }
    // The full and v1alpha runs are with the client they are for.
    let expected = if alpha {
        python_venv::ALPHA_CLIENT_VERSION
    } else {
        python_venv::CLIENT_VERSION
    };
    if mode != "token" && result["client"] != expected {
        failures.push(format!("the script ran with another client: {result}"));
    }
    Checked { result, failures }
}

fn llm_trace(db: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm-trace"));
    clean_env(&mut cmd);
    cmd.arg("--db").arg(db).args(args).env("NO_COLOR", "1");
    run_bounded(&mut cmd, Duration::from_secs(30))
}

/// `llm-trace show` of the trace log_event wrote: its spans, logs, metric events and
/// statuses.
fn show_the_logged_trace(db: &Path, result: &Value) -> Result<(), String> {
    let field = |k: &str| {
        result[k]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the script's RESULT has no {k}: {result}"))
    };
    let trace_id = field("logged_trace_id")?;
    let message = field("logged_message")?;
    let (root_name, child_name) = (field("logged_root_name")?, field("logged_child_name")?);
    let out = llm_trace(db, &["show", &trace_id]);
    if !out.status.success() {
        return Err(format!(
            "llm-trace show {trace_id} failed:\n{}\n{}",
            out.stdout, out.stderr
        ));
    }
    let show = out.stdout;
    for want in [
        format!("Trace {trace_id}"),
        "2 spans".to_string(),
        root_name.clone(),
        child_name.clone(),
        format!("[warn] {message}"),
        format!("[info] {message} (naive)"),
        "py_client_checks = 3.5".to_string(),
        "py_client_checks = 2".to_string(),
        "prompt_tokens = 11".to_string(),
    ] {
        if !show.contains(&want) {
            return Err(format!("llm-trace show lacks {want:?}:\n{show}"));
        }
    }
    let line = |name: &str| show.lines().find(|l| l.contains(name)).unwrap_or("");
    let (root, child) = (line(&root_name), line(&child_name));
    let depth = |l: &str| l.find(|c: char| c.is_alphanumeric()).unwrap_or(0);
    if !root.trim_end().ends_with("error") || !child.trim_end().ends_with("ok") {
        return Err(format!(
            "llm-trace show: the root ended error, the child ok:\n{show}"
        ));
    }
    if depth(child) <= depth(root) {
        return Err(format!(
            "llm-trace show: the child is under the root:\n{show}"
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------ the tests

#[test]
fn every_method_of_llama_stack_client_0_2_23_against_the_example_agents_store() {
    let Some(venv) = python_venv::venv() else {
        return;
    };
    let fx = fixture();
    let _one = exclusive();
    let datasets_dir = fx.dir.join("datasets");
    let mut checked = run_checks(
        &venv,
        false,
        &fx.server,
        &fx.db,
        &datasets_dir,
        "full",
        None,
    );
    // What log_event stored is what `llm-trace show` shows.
    if let Err(e) = show_the_logged_trace(&fx.db, &checked.result) {
        checked.failures.push(e);
    }
    // The dataset is where the contract says: `datasets/` next to the store.
    let datasets: Vec<String> = std::fs::read_dir(&datasets_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if !datasets
        .iter()
        .any(|n| n.starts_with("py-full-") && n.ends_with(".jsonl"))
    {
        checked.failures.push(format!(
            "no py-full-*.jsonl in {} (datasets/ next to the store): {datasets:?}",
            datasets_dir.display()
        ));
    }
    checked.finish();
}

#[test]
fn llama_stack_client_0_3_5_against_the_v1alpha_mirrors() {
    let Some(venv) = python_venv::venv() else {
        return;
    };
    let fx = fixture();
    let _one = exclusive();
    let datasets_dir = fx.dir.join("datasets");
    let checked = run_checks(
        &venv,
        true,
        &fx.server,
        &fx.db,
        &datasets_dir,
        "v1alpha",
        None,
    );
    checked.finish();
}

#[test]
fn with_a_token_every_route_wants_it_and_api_key_is_it() {
    let Some(venv) = python_venv::venv() else {
        return;
    };
    let fx = fixture();
    let _one = exclusive();
    let exports = fx.dir.join("token-exports");
    let server = Server::start(
        &fx.db,
        &[
            "--token",
            "secret",
            "--datasets-dir",
            exports.to_str().expect("UTF-8 path"),
        ],
    );
    let mut failures = Vec::new();
    for alpha in [false, true] {
        let checked = run_checks(
            &venv,
            alpha,
            &server,
            &fx.db,
            &exports,
            "token",
            Some("secret"),
        );
        failures.extend(checked.failures);
    }
    let status = server.stop();
    if !status.success() {
        failures.push(format!(
            "SIGTERM stops the server cleanly (exit 0), got {status}; stderr:\n{}",
            server.stderr()
        ));
    }
    let more: Vec<String> = server.stdout.lock().unwrap().try_iter().collect();
    if !more.is_empty() {
        failures.push(format!(
            "the server printed more than its ready line: {more:?}"
        ));
    }
    Checked {
        result: Value::Null,
        failures,
    }
    .finish();
}
