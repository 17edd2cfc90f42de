//! Runs the real `llm-trace` binary over a hand-built store with known contents and over
//! a store written by the example agent.

mod fixture;
mod support {
    pub mod run;
}

use std::path::Path;
use std::process::Command;

use fixture::*;
use serde_json::Value;
use support::run::*;

#[test]
fn list_with_every_option() {
    let fx = Fixture::new();
    let out = ok(&fx.path, &["list"]);
    fits_80(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("TRACE") && lines[0].contains("TOKENS") && lines[0].contains("STATUS")
    );
    assert_eq!(lines.len(), 6);
    assert!(
        lines[1].starts_with(&format!("…{}", &D[21..])) && lines[1].ends_with("open"),
        "{}",
        lines[1]
    );
    let a = lines[2];
    assert!(
        a.starts_with(&format!("…{}", &A[21..]))
            && a.contains("invoke_agent planner")
            && a.contains(" 3 ")
            && a.contains(" 120 ")
            && a.contains("900.")
            && a.ends_with("ok"),
        "{a}"
    );
    assert!(lines[4].starts_with(&format!("…{}", &B[21..])) && lines[4].ends_with("error"));

    let ids = |v: Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(json(&fx.path, &["list"])), [D, A, E, B, C]);
    assert_eq!(ids(json(&fx.path, &["list", "--since", "1h"])), [D, A, E]);
    assert_eq!(ids(json(&fx.path, &["list", "--status", "error"])), [B]);
    assert_eq!(ids(json(&fx.path, &["list", "--service", "svc-b"])), [B]);
    assert_eq!(ids(json(&fx.path, &["list", "--limit", "2"])), [D, A]);
    assert_eq!(
        ids(json(
            &fx.path,
            &["list", "--filter", "gen_ai.request.model:eq:llama3.2:3b"]
        )),
        [D, A]
    );
    assert_eq!(
        ids(json(
            &fx.path,
            &["list", "--filter", "gen_ai.request.model:ne:llama3.2:3b"]
        )),
        [B, C]
    );
    assert_eq!(
        ids(json(
            &fx.path,
            &["list", "--filter", "gen_ai.usage.input_tokens:gt:99"]
        )),
        [A, B]
    );
    assert_eq!(
        ids(json(
            &fx.path,
            &["list", "--filter", "gen_ai.usage.input_tokens:lt:10"]
        )),
        [D, C]
    );
    let t = &json(&fx.path, &["list", "--status", "error"])[0];
    assert_eq!(
        (t["total_tokens"].as_u64(), t["span_count"].as_u64()),
        (Some(550), Some(2))
    );

    let e = fails(&fx.path, &["list", "--filter", "bad key:eq:1"]);
    assert!(e.contains("\"bad key\""), "{e}");
    let e = fails(&fx.path, &["list", "--filter", "name:like:x"]);
    assert!(e.contains("\"like\""), "{e}");
    let out = llm_trace(&fx.path, &["list", "--since", "yesterday"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("7d"));
}

#[test]
fn show_tree_prefix_attributes_and_logs() {
    let fx = Fixture::new();
    let out = ok(&fx.path, &["show", "a1000000000000000000000000000001"]);
    fits_80(&out);
    assert!(out.starts_with(&format!("Trace {A}\n")), "{out}");
    assert!(
        out.contains("3 spans") && out.contains("120 tokens (100 in, 20 out)"),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[3].starts_with("└─ invoke_agent planner  900.0ms"),
        "{out}"
    );
    assert!(
        lines[4].starts_with("   ├─ chat llama3.2:3b  400.0ms  100→20 tok  ok"),
        "{out}"
    );
    assert!(
        lines[5].starts_with("   └─ execute_tool get_weather  200.0ms  ok"),
        "{out}"
    );
    assert!(
        lines[6].contains("[info] calling the weather api for Reykjavik"),
        "{out}"
    );
    assert!(!out.contains("gen_ai.request.model"));

    let with = ok(&fx.path, &["show", "b200", "--attributes"]);
    fits_80(&with);
    assert!(
        with.contains(B) && with.contains("gen_ai.request.model = gpt-4o"),
        "{with}"
    );
    assert!(with.contains("error: rate limited by provider"), "{with}");

    let deep = ok(&fx.path, &["show", "a1000000000000000000000000000005"]);
    assert!(deep.contains("         └─ step three"), "{deep}");
    let open = ok(&fx.path, &["show", "d400"]);
    assert!(
        open.contains("open") && open.contains("chat llama3.2:3b"),
        "{open}"
    );

    let v = json(&fx.path, &["show", "c300"]);
    assert_eq!(v["trace"]["trace_id"], C);
    assert_eq!(v["spans"].as_array().unwrap().len(), 1);
    assert_eq!(v["events"][0]["message"], "ancient history");

    let e = fails(&fx.path, &["show", "a100"]);
    assert!(
        e.contains("ambiguous") && e.contains(A) && e.contains(E),
        "{e}"
    );
    let e = fails(&fx.path, &["show", "9999"]);
    assert!(e.contains("no trace 9999"), "{e}");
}

#[test]
fn search_stats_export() {
    let fx = Fixture::new();
    let out = ok(&fx.path, &["search", "reykjavik"]);
    fits_80(&out);
    assert!(
        out.lines()
            .any(|l| l.contains(" city ") && l.ends_with("Reykjavik"))
            && out.contains(" log ")
            && out.contains(&format!("…{}", &A[21..])),
        "{out}"
    );
    let hits = json(&fx.path, &["search", "gpt-4o"]);
    assert!(hits
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["field"] == "name" && h["trace_id"] == B));
    assert!(ok(&fx.path, &["search", "zzz-nothing"]).contains("No span"));

    let out = ok(&fx.path, &["stats"]);
    fits_80(&out);
    assert!(
        out.contains("Traces      5") && out.contains("Spans       11 (2 failed)"),
        "{out}"
    );
    assert!(out.contains("Error rate  20.0%"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("gpt-4o") && l.contains("openai") && l.contains(" 550 ")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("invoke_agent planner")
            && l.contains("900.0ms")
            && l.contains("3.00s")),
        "{out}"
    );
    let s = json(&fx.path, &["stats", "--since", "1h"]);
    assert_eq!(s["traces"], 3);
    assert!(s["size_bytes"].as_u64().unwrap() > 0);

    let out = ok(
        &fx.path,
        &[
            "export",
            "--format",
            "jsonl",
            "--filter",
            "gen_ai.operation.name:eq:chat",
            "--attributes",
            "gen_ai.request.model",
        ],
    );
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1]["trace_id"], B);
    assert_eq!(
        rows[1]["attributes"],
        serde_json::json!({"gen_ai.request.model": "gpt-4o"})
    );
    assert_eq!(ok(&fx.path, &["export"]).lines().count(), 11);
    assert_eq!(json(&fx.path, &["export"]).as_array().unwrap().len(), 11);
}

#[test]
fn prune_on_demand() {
    let fx = Fixture::new();
    let out = ok(&fx.path, &["prune", "--older-than", "7d"]);
    assert_eq!(
        out.trim(),
        "Deleted 1 traces (1 spans, 4 events) and 1 metric points older than 7d."
    );
    let v = json(&fx.path, &["prune", "--older-than", "1h"]);
    assert_eq!(
        (v["traces"].as_u64(), v["spans"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(fx.count("SELECT COUNT(*) FROM traces"), 3);
    let out = llm_trace(&fx.path, &["prune", "--older-than", "forever"]);
    assert!(!out.status.success());
}

#[test]
fn bad_stores_are_one_clear_line() {
    let fx = Fixture::new();
    let dir = fx.dir.path();
    let e = fails(&dir.join("missing.db"), &["list"]);
    assert!(
        e.contains("missing.db") && e.contains("does not exist"),
        "{e}"
    );
    assert!(!dir.join("missing.db").exists());
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a database\n".repeat(200)).unwrap();
    let e = fails(&text, &["stats"]);
    assert!(e.contains("not an llm-telemetry trace store"), "{e}");
    let e = fails(&text, &["prune", "--older-than", "1d"]);
    assert!(e.contains("not an llm-telemetry trace store"), "{e}");
    rusqlite::Connection::open(&fx.path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let e = fails(&fx.path, &["list"]);
    assert!(e.contains("version 99") && e.contains("newer"), "{e}");
}

#[test]
fn default_db_is_the_runtimes() {
    let fx = Fixture::new();
    let out = Command::new(env!("CARGO_BIN_EXE_llm-trace"))
        .arg("list")
        .env("TELEMETRY_SQLITE_DB_PATH", &fx.path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("…{}", &A[21..])));
}

#[test]
fn over_the_example_agents_store() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agent.db");
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["run", "-q", "--example", "agent"])
        .env("TELEMETRY_SQLITE_DB_PATH", &db)
        .env("TELEMETRY_SINKS", "sqlite")
        .env("TELEMETRY_PRICES", root.join("examples/agent/prices.toml"))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let traces = json(&db, &["list"]);
    let traces = traces.as_array().unwrap();
    assert!(traces.len() >= 3, "{traces:?}");
    assert!(traces.iter().all(|t| t["root_span_name"]
        .as_str()
        .unwrap()
        .starts_with("invoke_agent ")));
    assert!(traces.iter().any(|t| t["status"] == "error"));
    // Every turn calls the model but the one the guardrail stops.
    let without_tokens = traces
        .iter()
        .filter(|t| t["total_tokens"].as_u64().unwrap() == 0)
        .count();
    assert_eq!(without_tokens, 1, "{traces:?}");
    let id = traces[0]["trace_id"].as_str().unwrap();
    // The end of the id, as the table prints it (ids of one process and second share
    // their start).
    let out = ok(&db, &["show", &format!("…{}", &id[21..])]);
    fits_80(&out);
    assert!(
        out.contains("invoke_agent ") && out.contains("chat ") && out.contains(" tok "),
        "{out}"
    );
    let stats = ok(&db, &["stats"]);
    fits_80(&stats);
    assert!(stats.contains("local-rules-1"), "{stats}");
    // Its price file prices its one model: a cost, known for every call.
    assert!(stats.contains("\nCost        $0.0"), "{stats}");
    assert!(!stats.contains("cost unknown"), "{stats}");
    assert!(ok(&db, &["search", "execute_tool"]).contains("execute_tool"));
    assert!(ok(&db, &["export"]).lines().count() >= traces.len());
    fits_80(&ok(&db, &["list"]));
}
