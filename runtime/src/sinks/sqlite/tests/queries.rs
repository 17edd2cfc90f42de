//! The SQL queries of llama-stack's telemetry documentation, run unchanged on a store this
//! writer filled.

use super::*;

#[test]
fn the_llama_stack_documentation_queries_run_unchanged() {
    let (_dir, path, mut w) = temp_store();
    // An old trace (2 hours ago) and a recent one.
    let old_trace = TraceId::random();
    let mut old = S::new(old_trace, None, "old turn");
    old.start = at(7_200.0);
    old.ms = 200;
    let recent = TraceId::random();
    let mut turn = S::new(recent, None, "turn");
    turn.start = at(30.0);
    turn.ms = 4_000;
    let mut items = vec![old.item()];
    // chat: 1500 and 2500 ms (avg 2000); tool: 100 and 300 (avg 200); turn: 4000.
    for (name, ms) in [
        ("chat", 1_500),
        ("chat", 2_500),
        ("tool", 100),
        ("tool", 300),
    ] {
        let mut s = S::new(recent, Some(turn.span), name);
        s.start = at(29.0);
        s.ms = ms;
        items.push(s.item());
    }
    items.push(turn.item());
    w.write_batch(&items).unwrap();
    let conn = reader(&path);

    let ids: Vec<String> = select_with(
        &conn,
        "SELECT * FROM traces WHERE timestamp > datetime('now', '-1 hour')",
        |r| r.get::<_, String>("trace_id"),
    );
    assert_eq!(ids, vec![recent.to_string()]);

    let avg: Vec<(String, f64)> = select(
        &conn,
        "SELECT name, AVG(duration_ms) as avg_duration FROM spans GROUP BY name ORDER BY avg_duration DESC",
    );
    let expect = [
        ("turn", 4_000.0),
        ("chat", 2_000.0),
        ("tool", 200.0),
        ("old turn", 200.0),
    ];
    assert_eq!(avg.len(), 4);
    for ((name, v), (en, ev)) in avg.iter().zip(expect) {
        if en != "tool" && en != "old turn" {
            assert_eq!(name, en);
        }
        assert!((v - ev).abs() < 1e-6, "{name}: {v} vs {ev}");
    }

    let slow: Vec<(String, f64)> = select_with(
        &conn,
        "SELECT * FROM spans WHERE duration_ms > 1000 ORDER BY duration_ms DESC",
        |r| Ok((r.get("name")?, r.get("duration_ms")?)),
    );
    assert_eq!(
        slow,
        vec![
            ("turn".to_owned(), 4_000.0),
            ("chat".to_owned(), 2_500.0),
            ("chat".to_owned(), 1_500.0)
        ]
    );

    let julian: Vec<(String, f64)> = select(
        &conn,
        "SELECT name, AVG((julianday(end_time) - julianday(start_time)) * 86400000) as avg_duration_ms \
         FROM spans WHERE end_time IS NOT NULL GROUP BY name ORDER BY avg_duration_ms DESC",
    );
    assert_eq!(julian.len(), 4);
    assert_eq!(julian[0].0, "turn");
    assert_eq!(julian[1].0, "chat");
    for ((name, v), (_, ev)) in julian.iter().zip(expect) {
        // julianday() is a double of days: ~1 ms of precision at today's dates.
        assert!((v - ev).abs() < 1.0, "{name}: {v} vs {ev}");
    }
}
