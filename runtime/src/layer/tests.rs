//! The layer with real sinks behind it: spans built the way the macros build them
//! (`gen_ai.operation.name` and the fields they record), written through the pipeline to a
//! SQLite file and the Prometheus registry. Totals of nested workflows and turns.

use std::path::Path;

use rusqlite::Connection;
use serde_json::Value;
use tracing::field::Empty;

use crate::config::{SinkKind, TelemetryConfig};
use crate::TelemetryGuard;

/// Telemetry for this thread only: SQLite at `db` and Prometheus without a listener.
fn telemetry(db: &Path) -> TelemetryGuard {
    TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::Prometheus])
        .sqlite_db_path(db)
        .prometheus_addr("none")
        .service_name("layer-tests")
        .build()
        .init_local()
        .expect("telemetry starts")
}

/// An inference as `#[instrument_inference]` records it: usage filled in at the end.
fn chat(input: u64, output: u64) {
    let span = tracing::info_span!(
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "ollama",
        gen_ai.request.model = "m",
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
    );
    span.record("gen_ai.usage.input_tokens", input);
    span.record("gen_ai.usage.output_tokens", output);
}

fn tool() {
    let _ = tracing::info_span!("execute_tool", gen_ai.operation.name = "execute_tool");
}

/// The attributes and category of the span called `name`.
fn stored(conn: &Connection, name: &str) -> (serde_json::Map<String, Value>, String) {
    let (attrs, category): (String, String) = conn
        .query_row(
            "SELECT attributes, category FROM spans WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or_else(|e| panic!("span {name}: {e}"));
    match serde_json::from_str(&attrs).unwrap() {
        Value::Object(map) => (map, category),
        other => panic!("attributes of {name}: {other}"),
    }
}

fn totals(attrs: &serde_json::Map<String, Value>) -> [u64; 4] {
    [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "llm_telemetry.inference_calls",
        "llm_telemetry.tool_calls",
    ]
    .map(|k| attrs.get(k).and_then(Value::as_u64).unwrap_or(u64::MAX))
}

#[test]
fn nested_aggregates_count_everything_below_them_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let guard = telemetry(&db);
    tracing::info_span!(
        "workflow",
        gen_ai.operation.name = "invoke_workflow",
        gen_ai.workflow.name = "research",
    )
    .in_scope(|| {
        // An inference right under the workflow.
        chat(1, 2);
        tracing::info_span!("planner", gen_ai.operation.name = "invoke_agent").in_scope(|| {
            chat(10, 20);
            tool();
            // A sub-agent: a turn inside a turn.
            tracing::info_span!("searcher", gen_ai.operation.name = "invoke_agent").in_scope(
                || {
                    // A user span between the turn and its inference is skipped over.
                    tracing::info_span!("mine").in_scope(|| chat(100, 200));
                    tool();
                },
            );
        });
        // Not an aggregate, not an inference: adds nothing.
        let _ = tracing::info_span!("retrieval docs", gen_ai.operation.name = "retrieval");
    });
    // A turn on its own, after the workflow: totals of its own only.
    tracing::info_span!("alone", gen_ai.operation.name = "invoke_agent").in_scope(|| chat(5, 5));
    assert!(guard.flush());
    let conn = Connection::open(&db).unwrap();
    let (searcher, category) = stored(&conn, "searcher");
    assert_eq!(category, "agent_turn");
    assert_eq!(totals(&searcher), [100, 200, 1, 1]);
    let (planner, _) = stored(&conn, "planner");
    assert_eq!(totals(&planner), [110, 220, 2, 2]);
    let (workflow, category) = stored(&conn, "workflow");
    assert_eq!(category, "workflow");
    assert_eq!(totals(&workflow), [111, 222, 3, 2]);
    assert_eq!(totals(&stored(&conn, "alone").0), [5, 5, 1, 0]);
    assert_eq!(stored(&conn, "retrieval docs").1, "retrieval");
    // The trace's tokens still count each inference once.
    let inference_tokens: i64 = conn
        .query_row(
            "SELECT sum(json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"')) \
             FROM spans WHERE category = 'inference'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(inference_tokens, 116);
}
