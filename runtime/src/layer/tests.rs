//! The layer with real sinks behind it: spans built the way the macros build them
//! (`gen_ai.operation.name` and the fields they record), written through the pipeline to a
//! SQLite file and the Prometheus registry. Totals of nested workflows and turns, what each
//! category hands the metric sinks, and a stream's chunk intervals.

use std::path::Path;

use rusqlite::Connection;
use serde_json::Value;
use tracing::field::Empty;

use super::lookups::set_chunk_intervals;
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

/// The one value `sql` selects.
fn value<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> T {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn totals(attrs: &serde_json::Map<String, Value>) -> [u64; 4] {
    [
        "llm_telemetry.usage.input_tokens",
        "llm_telemetry.usage.output_tokens",
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
    let inference_tokens: i64 = value(
        &conn,
        "SELECT sum(json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"')) \
         FROM spans WHERE category = 'inference'",
    );
    assert_eq!(inference_tokens, 116);
    // Only inferences carry `gen_ai.usage.*`: summed over every span, each token once.
    let all_spans: i64 = value(
        &conn,
        "SELECT sum(json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"')) FROM spans",
    );
    assert_eq!(all_spans, 116);
}

#[test]
fn streams_guardrails_and_unknown_operations_reach_the_metric_sinks_as_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let guard = telemetry(&db);
    // A streamed chat, as the stream wrapper leaves it.
    let stream = tracing::info_span!(
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "ollama",
        gen_ai.request.model = "m",
        gen_ai.request.stream = true,
        gen_ai.response.time_to_first_chunk = Empty,
        llm_telemetry.stream.chunks = Empty,
        gen_ai.usage.input_tokens = 8u64,
        gen_ai.usage.output_tokens = 3u64,
    );
    stream.record("gen_ai.response.time_to_first_chunk", 0.25);
    stream.record("llm_telemetry.stream.chunks", 3u64);
    set_chunk_intervals(&stream, vec![0.05, 0.5]);
    drop(stream);
    // A chat that was not streamed: neither stream histogram.
    chat(1, 1);
    let guardrail = |name: &'static str, violated: bool, level: &str| {
        let span = tracing::info_span!(
            "apply_guardrail",
            otel.name = name,
            gen_ai.operation.name = "apply_guardrail",
            llm_telemetry.guardrail.shield_id = "llama-guard",
            llm_telemetry.guardrail.violated = Empty,
            llm_telemetry.guardrail.violation.level = Empty,
            otel.status_code = Empty,
        );
        span.record("llm_telemetry.guardrail.violated", violated);
        // A violation is an outcome, not an error.
        span.record("otel.status_code", "ok");
        if violated {
            span.record("llm_telemetry.guardrail.violation.level", level);
        }
    };
    guardrail("apply_guardrail a", true, "warn");
    guardrail("apply_guardrail b", true, "warn");
    guardrail("apply_guardrail c", true, "error");
    guardrail("apply_guardrail d", false, "");
    // A user's span with an operation of its own: no inference metrics.
    let _ = tracing::info_span!("rerank", gen_ai.operation.name = "rerank_my_way");

    let text = guard.prometheus_text().expect("the prometheus sink is on");
    let has = |line: &str| text.lines().any(|l| l == line);
    let ttfc = "gen_ai_client_operation_time_to_first_chunk_seconds";
    let per_chunk = "gen_ai_client_operation_time_per_output_chunk_seconds";
    let labels = "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"ollama\",\
                  gen_ai_request_model=\"m\"";
    assert!(has(&format!("{ttfc}_count{{{labels}}} 1")), "{text}");
    assert!(has(&format!("{ttfc}_sum{{{labels}}} 0.25")), "{text}");
    assert!(has(&format!("{per_chunk}_count{{{labels}}} 2")), "{text}");
    // Semantic-convention buckets: 0.05 in (0.04, 0.08], 0.5 in (0.32, 0.64].
    assert!(
        has(&format!("{per_chunk}_bucket{{le=\"0.04\",{labels}}} 0")),
        "{text}"
    );
    assert!(
        has(&format!("{per_chunk}_bucket{{le=\"0.08\",{labels}}} 1")),
        "{text}"
    );
    assert!(
        has(&format!("{per_chunk}_bucket{{le=\"0.64\",{labels}}} 2")),
        "{text}"
    );
    assert!(text.contains(&format!("# UNIT {ttfc} seconds")), "{text}");
    let violations = "llama_stack_guardrail_violations_total";
    assert!(
        has(&format!(
            "{violations}{{shield=\"llama-guard\",level=\"warn\"}} 2"
        )),
        "{text}"
    );
    assert!(
        has(&format!(
            "{violations}{{shield=\"llama-guard\",level=\"error\"}} 1"
        )),
        "{text}"
    );
    assert_eq!(
        text.matches(&format!("{violations}{{")).count(),
        2,
        "{text}"
    );
    // Two chats measured, the user's span not.
    assert!(
        has(&format!(
            "gen_ai_client_operation_duration_seconds_count{{{labels}}} 2"
        )),
        "{text}"
    );
    assert!(!text.contains("rerank_my_way"), "{text}");

    // The same points in the store's `metrics` table.
    assert!(guard.flush());
    let conn = Connection::open(&db).unwrap();
    let metric = |name: &str| -> (f64, i64) {
        conn.query_row(
            "SELECT sum(value), sum(count) FROM metrics WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, Option<f64>>(0)?.unwrap_or(0.0),
                    r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                ))
            },
        )
        .unwrap()
    };
    assert_eq!(
        metric("gen_ai.client.operation.time_to_first_chunk"),
        (0.25, 1)
    );
    let (sum, n) = metric("gen_ai.client.operation.time_per_output_chunk");
    assert!((sum - 0.55).abs() < 1e-6 && n == 2, "{sum} {n}");
    assert_eq!(metric("llama_stack.guardrail_violations"), (3.0, 3));
    let unit: String = value(
        &conn,
        "SELECT unit FROM metrics WHERE name = 'llama_stack.guardrail_violations'",
    );
    assert_eq!(unit, "{violation}");
    assert_eq!(metric("gen_ai.client.operation.duration").1, 2);
    let ok: i64 = value(
        &conn,
        "SELECT count(*) FROM spans WHERE category = 'guardrail' AND status = 'ok'",
    );
    assert_eq!(ok, 4);
    let (rerank, category) = stored(&conn, "rerank");
    assert_eq!(category, "other");
    assert!(rerank.contains_key("gen_ai.operation.name"));
}
