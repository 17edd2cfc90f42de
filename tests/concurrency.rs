//! Concurrent turns never share or mix trace state: every turn is its own trace with
//! correct parents, on a multi-thread runtime, a current-thread runtime and plain threads.

#[path = "../examples/agent/agent.rs"]
mod agent;
mod common;

use std::sync::Arc;

use agent::Agent;
use common::{by_trace, TempStore};
use tracing::instrument::WithSubscriber;
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

const TURNS: usize = 200;

fn dispatch_for(store: &TempStore) -> (Dispatch, llm_telemetry::TelemetryGuard) {
    let config = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&store.path)
        .capture_content(true)
        .build();
    let (layer, guard) = llm_telemetry::layer(&config).expect("layer");
    (
        Dispatch::new(tracing_subscriber::registry().with(layer)),
        guard,
    )
}

use llm_telemetry::{SinkKind, TelemetryConfig};

async fn run_turn(agent: Arc<Agent>, i: usize) {
    let session = format!("session-{i}");
    let answer = agent
        .turn(&session, &format!("What is {i} + 1?"))
        .await
        .expect("turn");
    assert!(
        answer.contains(&(i + 1).to_string()),
        "turn {i} answered {answer}"
    );
}

/// 200 traces, each: one `invoke_agent` root whose conversation id is its own, the input
/// guardrail, two inferences (the second streamed) and one tool under it, the tool's argument naming the turn's number, and
/// the root's token sum equal to its inferences'.
fn assert_unmixed(store: &TempStore, turns: usize) {
    let spans = store.spans();
    let traces = by_trace(&spans);
    assert_eq!(traces.len(), turns, "one trace per turn");
    for (trace_id, spans) in &traces {
        let roots: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_span_id.is_none())
            .collect();
        assert_eq!(roots.len(), 1, "trace {trace_id} has one root");
        let root = roots[0];
        assert_eq!(root.name, "invoke_agent weather-assistant");
        let session = root
            .attr_str("gen_ai.conversation.id")
            .expect("conversation id");
        let i: usize = session.trim_start_matches("session-").parse().unwrap();
        let children: Vec<_> = spans.iter().filter(|s| s.span_id != root.span_id).collect();
        assert_eq!(
            children.len(),
            4,
            "trace {trace_id}: a guardrail, two inferences and a tool"
        );
        for c in &children {
            assert_eq!(
                c.parent_span_id.as_deref(),
                Some(root.span_id.as_str()),
                "{c:?}"
            );
        }
        let tool = children
            .iter()
            .find(|c| c.name == "execute_tool calculator")
            .expect("tool span");
        let args = tool
            .attr_str("gen_ai.tool.call.arguments")
            .expect("captured arguments");
        assert!(
            args.contains(&format!("{i} + 1")),
            "trace of session {i} has arguments {args}"
        );
        let chats: Vec<_> = children
            .iter()
            .filter(|c| c.name.starts_with("chat "))
            .collect();
        assert_eq!(chats.len(), 2);
        let input: u64 = chats
            .iter()
            .map(|c| c.attr_u64("gen_ai.usage.input_tokens").unwrap())
            .sum();
        let output: u64 = chats
            .iter()
            .map(|c| c.attr_u64("gen_ai.usage.output_tokens").unwrap())
            .sum();
        assert_eq!(
            root.attr_u64("llm_telemetry.usage.input_tokens"),
            Some(input)
        );
        assert_eq!(
            root.attr_u64("llm_telemetry.usage.output_tokens"),
            Some(output)
        );
        assert_eq!(root.attr_u64("llm_telemetry.tool_calls"), Some(1));
    }
}

/// Spawn every turn as its own task on `rt`, all at once, and check the store.
fn spawn_all_turns_on(rt: tokio::runtime::Runtime) {
    let store = TempStore::new();
    let (dispatch, guard) = dispatch_for(&store);
    let agent = Arc::new(Agent::new("weather-assistant", "local-rules-1"));
    rt.block_on(async {
        let tasks: Vec<_> = (0..TURNS)
            .map(|i| tokio::spawn(run_turn(agent.clone(), i).with_subscriber(dispatch.clone())))
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
    drop(guard);
    assert_unmixed(&store, TURNS);
}

#[test]
fn multi_thread_runtime() {
    spawn_all_turns_on(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap(),
    );
}

#[test]
fn current_thread_runtime() {
    spawn_all_turns_on(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    );
}

#[test]
fn plain_threads() {
    let store = TempStore::new();
    let (dispatch, guard) = dispatch_for(&store);
    let agent = Arc::new(Agent::new("weather-assistant", "local-rules-1"));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (agent, dispatch) = (agent.clone(), dispatch.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in (t..TURNS).step_by(8) {
                        rt.block_on(run_turn(agent.clone(), i));
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    drop(guard);
    assert_unmixed(&store, TURNS);
}
