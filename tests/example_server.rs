//! Runs the real example binary (`cargo run --example server -- --once`): an axum agent
//! service behind the request middleware sends itself a few requests and exits; each
//! answer's `x-trace-id` names a stored trace whose root is the request's server span,
//! with the agent turn, its inferences and tools under it.

mod common;

use std::process::Command;

use common::{example_binary, spans, TempStore};

#[test]
fn example_server_answers_with_trace_ids_the_store_holds() {
    let store = TempStore::new();
    let out = Command::new(example_binary("server"))
        .arg("--once")
        .env("TELEMETRY_SQLITE_DB_PATH", &store.path)
        .env("TELEMETRY_SINKS", "sqlite,prometheus")
        .env("TELEMETRY_PROMETHEUS_ADDR", "none")
        .env_remove("TELEMETRY_METRIC_NAMESPACE")
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "example failed:\n{stdout}\n{stderr}");

    let trace_ids: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("x-trace-id: "))
        .collect();
    assert_eq!(trace_ids.len(), 6, "{stdout}");
    assert!(
        stdout.contains("llama_stack_requests_total{api=\"agents\",status=\"200\"} 6"),
        "{stdout}"
    );
    assert!(
        stdout.contains("llama_stack_requests_total{api=\"agents\",status=\"404\"} 1"),
        "{stdout}"
    );

    let all = spans(&store.path);
    for trace_id in trace_ids {
        let trace: Vec<_> = all.iter().filter(|s| s.trace_id == trace_id).collect();
        let server = trace
            .iter()
            .find(|s| s.parent_span_id.is_none())
            .unwrap_or_else(|| panic!("no root in {trace_id}: {trace:?}"));
        assert_eq!(server.kind, "server");
        assert_eq!(
            server.name,
            "POST /v1/agents/{agent_id}/sessions/{session_id}/turn"
        );
        assert_eq!(server.attr_u64("http.response.status_code"), Some(200));
        let turn = trace
            .iter()
            .find(|s| s.name == "invoke_agent weather")
            .expect("the agent turn");
        assert_eq!(
            turn.parent_span_id.as_deref(),
            Some(server.span_id.as_str())
        );
        let child = |prefix: &str| {
            trace.iter().any(|s| {
                s.name.starts_with(prefix)
                    && s.parent_span_id.as_deref() == Some(turn.span_id.as_str())
            })
        };
        assert!(child("apply_guardrail "), "every input is checked");
        // The one input the guardrail stops calls no model.
        let stopped = trace
            .iter()
            .any(|s| s.attr("llm_telemetry.guardrail.violated") == Some(&serde_json::json!(true)));
        assert_eq!(child("chat "), !stopped);
    }
}
