//! Runs the real example binary (`cargo run --example agent`) against a temporary store
//! and checks what a user would look at afterwards.

mod common;

use std::process::Command;

use common::{by_trace, count, example_binary, TempStore};

struct Run {
    stdout: String,
    stderr: String,
}

fn run_example(store: &TempStore, extra_env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(example_binary("agent"));
    cmd.env("TELEMETRY_SQLITE_DB_PATH", &store.path)
        .env("TELEMETRY_SINKS", "console,sqlite")
        .env_remove("TELEMETRY_CAPTURE_CONTENT")
        .env("NO_COLOR", "1");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run example");
    let run = Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        out.status.success(),
        "example failed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

#[test]
fn example_store_has_one_trace_per_turn_with_tokens_tools_and_errors() {
    let store = TempStore::new();
    let run = run_example(&store, &[]);

    // What the user reads: answers, console lines, where the store is, a query to try.
    assert!(
        run.stdout
            .contains("[session-paris] < Here is what I found: light rain"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains(&format!("Traces stored in {}", store.path.display())));
    assert!(run.stdout.contains("sqlite3 "));
    let console: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("  "))
        .collect();
    assert!(console
        .iter()
        .any(|l| l.contains("invoke_agent weather-assistant") && l.contains(" ok ")));
    assert!(console
        .iter()
        .any(|l| l.contains("execute_tool get_weather") && l.contains("error")));
    assert!(console
        .iter()
        .any(|l| l.contains("chat local-rules-1") && l.contains("in=")));

    let spans = store.spans();
    let traces = by_trace(&spans);
    assert_eq!(traces.len(), 6, "six turns in two sessions");
    // The console shows the part of the trace id that tells traces apart (the end, as
    // `llm-trace` does): one per turn, each the end of a stored id.
    let shown: std::collections::BTreeSet<&str> = console
        .iter()
        .filter(|l| l.contains("invoke_agent "))
        .filter_map(|l| l.rsplit("trace=…").next())
        .collect();
    assert_eq!(shown.len(), 6, "{shown:?}");
    for end in &shown {
        assert!(
            traces.keys().any(|id| id.ends_with(end)),
            "{end} is no stored id's end"
        );
    }
    assert_eq!(count(&store.path, "SELECT COUNT(*) FROM traces"), 6);
    assert_eq!(
        count(&store.path, "SELECT COUNT(*) FROM traces t JOIN spans s ON s.span_id = t.root_span_id WHERE s.name LIKE 'invoke_agent %'"),
        6,
        "every trace's root is the turn"
    );

    for spans in traces.values() {
        let root = spans
            .iter()
            .find(|s| s.parent_span_id.is_none())
            .expect("root");
        assert_eq!(root.kind, "internal");
        for s in spans.iter().filter(|s| s.span_id != root.span_id) {
            assert_eq!(
                s.parent_span_id.as_deref(),
                Some(root.span_id.as_str()),
                "turn -> inference/tool"
            );
        }
        let user = match root.attr_str("gen_ai.conversation.id") {
            Some("session-paris") => "alice",
            Some("session-atlantis") => "bob",
            other => panic!("unexpected session {other:?}"),
        };
        assert_eq!(root.attr_str("user.id"), Some(user));
        // Every turn runs the guardrail on its input first.
        let guard = spans
            .iter()
            .find(|s| s.name == "apply_guardrail prompt-guard")
            .expect("a guardrail span");
        assert_eq!(guard.status, "ok", "a violation is not an error");
        let chats: Vec<_> = spans
            .iter()
            .filter(|s| s.name == "chat local-rules-1")
            .collect();
        if guard.attr("llm_telemetry.guardrail.violated") == Some(&serde_json::json!(true)) {
            assert_eq!(
                guard.attr_str("llm_telemetry.guardrail.violation.level"),
                Some("error")
            );
            assert!(chats.is_empty(), "a stopped turn calls no model");
            continue;
        }
        assert!(!chats.is_empty());
        let mut input = 0;
        for c in &chats {
            assert_eq!(c.kind, "client");
            assert_eq!(c.attr_str("gen_ai.provider.name"), Some("local"));
            assert_eq!(c.attr_str("gen_ai.request.model"), Some("local-rules-1"));
            let i = c
                .attr_u64("gen_ai.usage.input_tokens")
                .expect("input tokens");
            assert!(i > 0);
            assert!(c.attr_u64("gen_ai.usage.output_tokens").unwrap() > 0);
            input += i;
        }
        assert_eq!(
            root.attr_u64("llm_telemetry.usage.input_tokens"),
            Some(input),
            "turn sums its inferences"
        );
        assert!(
            root.attr("gen_ai.usage.input_tokens").is_none(),
            "a turn's totals are not under the inference keys"
        );
        let tools = spans
            .iter()
            .filter(|s| s.name.starts_with("execute_tool "))
            .count() as u64;
        assert_eq!(root.attr_u64("llm_telemetry.tool_calls"), Some(tools));
        // Content is off by default.
        assert!(spans
            .iter()
            .all(|s| s.attr("gen_ai.tool.call.arguments").is_none()));
    }

    let failed: Vec<_> = spans.iter().filter(|s| s.status == "error").collect();
    assert_eq!(
        failed.len(),
        1,
        "only the Atlantis weather call fails: {failed:?}"
    );
    assert_eq!(failed[0].name, "execute_tool get_weather");
    assert_eq!(failed[0].attr_str("error.type"), Some("ToolError"));
    let ok = spans.iter().filter(|s| s.status == "ok").count();
    assert_eq!(ok, spans.len() - 1);

    // One input is stopped by the guardrail.
    let violations: Vec<_> = spans
        .iter()
        .filter(|s| s.attr("llm_telemetry.guardrail.violated") == Some(&serde_json::json!(true)))
        .collect();
    assert_eq!(violations.len(), 1);
    assert!(violations[0]
        .attr_str("llm_telemetry.guardrail.violation.message")
        .is_some_and(|m| m.contains("override my instructions")));
    assert_eq!(
        count(&store.path, "SELECT CAST(SUM(value) AS INTEGER) FROM metrics WHERE name = 'llama_stack.guardrail_violations'"),
        1
    );

    // The weather in Paris comes with the city guides: one retrieval, two documents.
    let retrievals: Vec<_> = spans
        .iter()
        .filter(|s| s.name.starts_with("retrieval "))
        .collect();
    assert_eq!(retrievals.len(), 1, "{retrievals:?}");
    assert_eq!(retrievals[0].name, "retrieval city-guides");
    assert_eq!(retrievals[0].kind, "client");
    assert_eq!(
        retrievals[0].attr_str("gen_ai.data_source.id"),
        Some("city-guides")
    );
    assert_eq!(retrievals[0].attr_u64("gen_ai.request.top_k"), Some(2));
    assert_eq!(
        retrievals[0].attr_u64("llm_telemetry.retrieval.document_count"),
        Some(2)
    );
    assert!(
        retrievals[0].attr("gen_ai.retrieval.query.text").is_none(),
        "content is off"
    );

    // The answer after each tool result is streamed: the span covers the whole stream.
    let streamed: Vec<_> = spans
        .iter()
        .filter(|s| s.attr("gen_ai.request.stream") == Some(&serde_json::json!(true)))
        .collect();
    assert_eq!(streamed.len(), 4, "one per tool call");
    let mut later_chunks = 0;
    for s in &streamed {
        let chunks = s.attr_u64("llm_telemetry.stream.chunks").expect("chunks");
        assert!(chunks > 1);
        later_chunks += chunks - 1;
        let ttfc = s
            .attr("gen_ai.response.time_to_first_chunk")
            .and_then(serde_json::Value::as_f64)
            .expect("time to first chunk");
        assert!(
            ttfc > 0.0 && ttfc * 1000.0 < s.duration_ms,
            "{ttfc} s of {} ms",
            s.duration_ms
        );
        assert!(s.attr_u64("gen_ai.usage.output_tokens").unwrap() > 0);
    }
    assert_eq!(
        count(&store.path, "SELECT SUM(count) FROM metrics WHERE name = 'gen_ai.client.operation.time_to_first_chunk'"),
        4
    );
    assert_eq!(
        count(&store.path, "SELECT SUM(count) FROM metrics WHERE name = 'gen_ai.client.operation.time_per_output_chunk'") as u64,
        later_chunks
    );

    // llama-stack's metric events on each inference, and the metric points (aggregated:
    // `count` measurements per row).
    let chats = spans.iter().filter(|s| s.name.starts_with("chat ")).count() as i64;
    assert_eq!(
        count(&store.path, "SELECT COUNT(*) FROM span_events WHERE event_type = 'metric' AND metric = 'total_tokens'"),
        chats
    );
    assert_eq!(
        count(
            &store.path,
            "SELECT SUM(count) FROM metrics WHERE name = 'llama_stack.tokens'"
        ),
        chats
    );
    assert_eq!(
        count(
            &store.path,
            "SELECT SUM(count) FROM metrics WHERE name = 'gen_ai.client.operation.duration'"
        ),
        chats
    );
    let total: i64 = count(
        &store.path,
        "SELECT CAST(SUM(value) AS INTEGER) FROM metrics WHERE name = 'llama_stack.tokens'",
    );
    let from_spans: u64 = spans
        .iter()
        .filter(|s| s.name.starts_with("chat "))
        .map(|s| {
            s.attr_u64("gen_ai.usage.input_tokens").unwrap()
                + s.attr_u64("gen_ai.usage.output_tokens").unwrap()
        })
        .sum();
    assert_eq!(total as u64, from_spans);
    // Summed over every span of the store (as a back-end or a hand-written query sums it),
    // `gen_ai.usage.*` counts each token the model reported once.
    let every_span = count(
        &store.path,
        "SELECT SUM(json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"')) + \
                SUM(json_extract(attributes, '$.\"gen_ai.usage.output_tokens\"')) FROM spans",
    );
    assert_eq!(every_span as u64, from_spans);
    // The tool's `tracing::warn!` is a log of the turn span.
    assert!(count(&store.path, "SELECT COUNT(*) FROM span_events WHERE event_type = 'unstructured_log' AND message LIKE 'tool failed%'") >= 1);
}

#[test]
fn content_is_recorded_only_when_capture_is_on() {
    let store = TempStore::new();
    run_example(&store, &[("TELEMETRY_CAPTURE_CONTENT", "true")]);
    let spans = store.spans();
    let weather = spans
        .iter()
        .find(|s| s.name == "execute_tool get_weather")
        .unwrap();
    let args = weather
        .attr_str("gen_ai.tool.call.arguments")
        .expect("arguments captured");
    assert!(
        args.contains("Paris") || args.contains("Atlantis"),
        "{args}"
    );
    assert!(spans
        .iter()
        .filter(|s| s.name.starts_with("chat "))
        .all(|s| s.attr("gen_ai.output.messages").is_some()));
}

#[test]
fn a_bad_sink_name_is_one_clear_error_and_no_store() {
    let store = TempStore::new();
    let out = Command::new(example_binary("agent"))
        .env("TELEMETRY_SQLITE_DB_PATH", &store.path)
        .env("TELEMETRY_SINKS", "console,sqllite")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TELEMETRY_SINKS")
            && err.contains("sqllite")
            && err.contains("console, sqlite"),
        "{err}"
    );
    assert!(!store.path.exists());
}
