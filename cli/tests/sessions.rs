//! `llm-trace sessions` and `llm-trace list --session/--user`, run as the real binary over
//! the hand-built conversations of `Fixture::sessions`.

mod fixture;
mod support {
    pub mod run;
}

use fixture::*;
use serde_json::Value;
use support::run::*;

fn column<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s[key].as_str().unwrap())
        .collect()
}

#[test]
fn sessions_table_one_line_per_conversation() {
    let fx = Fixture::sessions();
    let out = ok(&fx.path, &["sessions"]);
    fits_80(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["SESSION", "USER", "TURNS", "TRACES", "TOKENS", "COST", "FIRST", "LAST"]
    );
    assert_eq!(lines.len(), 5, "{out}");
    let cells = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>();
    assert_eq!(cells(1)[..6], ["conv-4", "dave", "1", "1", "16", "-"]);
    assert_eq!(cells(2)[..6], ["conv-3", "dave", "1", "1", "10", "-"]);
    // Each inference once (the turns' own 1000 input tokens never), the priced ones' cost.
    assert_eq!(
        cells(3)[..6],
        ["conv-1", "alice", "2", "2", "227", "$0.0035"]
    );
    // Bob started conv-2, carol took part.
    assert_eq!(cells(4)[..7], ["conv-2", "bob", "+1", "2", "2", "12", "-"]);
    // FIRST and LAST: MM-DD HH:MM; conv-2 began three days before it ended.
    let c2 = cells(4);
    let (first, last) = (c2[7..9].join(" "), c2[9..11].join(" "));
    assert_eq!((first.len(), last.len()), (11, 11), "{}", lines[4]);
    assert_ne!(first[..5], last[..5], "{}", lines[4]);
}

#[test]
fn sessions_json_since_user_limit_and_empty() {
    let fx = Fixture::sessions();
    let all = json(&fx.path, &["sessions"]);
    assert_eq!(
        column(&all, "conversation_id"),
        ["conv-4", "conv-3", "conv-1", "conv-2"]
    );
    let c1 = &all[2];
    assert_eq!(
        (
            c1["user_id"].as_str(),
            c1["turns"].as_u64(),
            c1["traces"].as_u64()
        ),
        (Some("alice"), Some(2), Some(2))
    );
    assert_eq!(
        (
            c1["input_tokens"].as_u64(),
            c1["output_tokens"].as_u64(),
            c1["total_tokens"].as_u64()
        ),
        (Some(190), Some(37), Some(227))
    );
    assert!((c1["cost"].as_f64().unwrap() - 0.0035).abs() < 1e-12);
    assert!(all[3]["cost"].is_null());
    assert!(c1["first_time"].as_str().unwrap() < c1["last_time"].as_str().unwrap());

    let recent = json(&fx.path, &["sessions", "--since", "1h"]);
    assert_eq!(recent.as_array().unwrap().len(), 4);
    assert_eq!(
        (
            recent[3]["conversation_id"].as_str(),
            recent[3]["turns"].as_u64(),
            recent[3]["total_tokens"].as_u64(),
            recent[3]["user_id"].as_str()
        ),
        (Some("conv-2"), Some(1), Some(2), Some("carol"))
    );
    assert_eq!(
        column(
            &json(&fx.path, &["sessions", "--since", "90s"]),
            "conversation_id"
        ),
        ["conv-4", "conv-3"]
    );
    assert_eq!(
        column(
            &json(&fx.path, &["sessions", "--user", "carol"]),
            "conversation_id"
        ),
        ["conv-2"]
    );
    assert_eq!(
        column(
            &json(&fx.path, &["sessions", "--limit", "1"]),
            "conversation_id"
        ),
        ["conv-4"]
    );
    assert_eq!(
        ok(&fx.path, &["sessions", "--user", "nobody"]).trim(),
        "No sessions."
    );
    let out = llm_trace(&fx.path, &["sessions", "--since", "a while"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("7d"));

    let empty = Fixture::new();
    let out = ok(&empty.path, &["sessions"]);
    fits_80(&out);
    assert_eq!(
        out.trim(),
        "No sessions: no span has a gen_ai.conversation.id (a turn's `session = ...`)."
    );
    assert_eq!(json(&empty.path, &["sessions"]), serde_json::json!([]));
}

#[test]
fn list_by_session_and_user() {
    let fx = Fixture::sessions();
    let ids = |args: &[&str]| {
        let mut a = vec!["list"];
        a.extend_from_slice(args);
        column(&json(&fx.path, &a), "trace_id")
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&["--session", "conv-1"]), [S2, S1]);
    assert_eq!(ids(&["--user", "alice"]), [S1]);
    // The user on the root span, the conversation on a turn below it.
    assert_eq!(ids(&["--session", "conv-3", "--user", "dave"]), [S5]);
    assert!(ids(&["--session", "conv-3", "--user", "alice"]).is_empty());
    assert_eq!(ids(&["--session", "conv-2", "--since", "1h"]), [S4]);
    let out = ok(&fx.path, &["list", "--session", "conv-1"]);
    fits_80(&out);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out
        .lines()
        .nth(1)
        .unwrap()
        .starts_with(&format!("…{}", &S2[21..])));
    assert_eq!(
        ok(&fx.path, &["list", "--session", "no-such"]).trim(),
        "No traces."
    );
}
