//! `llm-trace --db postgres://...`: the example agent run once into a SQLite store and a
//! PostgreSQL store at once (its `sqlite` and `postgres` sinks), then every command that
//! reads PostgreSQL prints the same over both; the others say, in one line, that they do
//! not read PostgreSQL yet; a wrong password fails in one line with the password masked.

mod support {
    pub mod example;
    pub mod run;
    pub mod serve;
}
#[path = "../../tests/support/postgres.rs"]
mod pg;

use std::path::Path;

use serde_json::Value;
use support::example::{run_example_agent, scratch_dir};
use support::run::*;

/// `--json` output without what tells the two stores apart (the store's size).
fn answer(db: &Path, args: &[&str]) -> Value {
    let mut v = json(db, args);
    if let Some(o) = v.as_object_mut() {
        o.remove("size_bytes");
    }
    v
}

#[test]
fn every_ported_command_prints_the_same_over_sqlite_and_postgres() {
    let server = pg::PgServer::shared();
    let url = server.create_db("cli_read");
    let dir = scratch_dir("llm-trace-pg-");
    let sqlite = dir.join("trace_store.db");
    run_example_agent(
        &sqlite,
        &[
            ("TELEMETRY_SINKS", "sqlite,postgres"),
            ("TELEMETRY_POSTGRES_URL", &url),
        ],
    );
    let pg = Path::new(&url);

    let traces = answer(&sqlite, &["list", "--limit", "1000"]);
    assert!(traces.as_array().unwrap().len() >= 6, "{traces}");
    let ids: Vec<&str> = traces
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    let mut commands: Vec<Vec<String>> = [
        vec!["list"],
        vec!["list", "--status", "error"],
        vec!["list", "--user", "alice"],
        vec!["list", "--session", "session-atlantis"],
        vec!["list", "--filter", "gen_ai.usage.input_tokens:gt:20"],
        vec!["sessions"],
        vec!["sessions", "--user", "bob"],
        vec!["stats"],
        vec!["stats", "--since", "1h"],
        vec!["export", "--format", "jsonl"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    for id in &ids {
        commands.push(vec!["show".into(), id.to_string()]);
        commands.push(vec!["show".into(), format!("…{}", &id[24..])]);
    }
    for c in &commands {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        if args[0] != "export" {
            assert_eq!(
                answer(&sqlite, &args),
                answer(pg, &args),
                "llm-trace {args:?}"
            );
        }
        // The text output too, but for the store's name and size in `stats`.
        let text = |db: &Path| -> String {
            ok(db, &args)
                .lines()
                .filter(|l| !l.starts_with("Store "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(text(&sqlite), text(pg), "llm-trace {args:?}");
    }
    let stats = ok(pg, &["stats"]);
    let store_line = stats.lines().next().unwrap();
    assert!(
        store_line.contains("postgres://postgres:****@127.0.0.1"),
        "{stats}"
    );
    assert!(!stats.contains(pg::PASSWORD), "{stats}");

    for args in [
        &["search", "Paris"][..],
        &["prune", "--older-than", "7d"],
        &["serve"],
    ] {
        let err = fails(pg, args);
        assert!(
            err.contains(&format!("`llm-trace {}`", args[0]))
                && err.contains("PostgreSQL is not yet supported"),
            "{err}"
        );
    }

    let wrong = url.replace(pg::PASSWORD, "not-the-password");
    let err = fails(Path::new(&wrong), &["list"]);
    assert!(
        err.contains("postgres://postgres:****@") && err.contains("password authentication failed"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
}
