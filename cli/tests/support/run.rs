//! Running the real `llm-trace` binary on a store, with the checks every command's test
//! makes: it succeeds (or fails with one line), prints JSON with `--json`, fits 80
//! columns without colour. Shared by the CLI tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

pub fn llm_trace(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llm-trace"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("TELEMETRY_SQLITE_DB_PATH")
        .output()
        .expect("run llm-trace")
}

pub fn ok(db: &Path, args: &[&str]) -> String {
    let out = llm_trace(db, args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "llm-trace {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn fails(db: &Path, args: &[&str]) -> String {
    let out = llm_trace(db, args);
    assert!(!out.status.success(), "llm-trace {args:?} should fail");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    stderr
}

pub fn json(db: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&ok(db, &a)).expect("--json prints JSON")
}

pub fn fits_80(text: &str) {
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
        assert!(!line.contains('\x1b'), "no colour off a TTY: {line:?}");
    }
}
