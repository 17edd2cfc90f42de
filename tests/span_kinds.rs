//! The span kinds of issue 14 end to end: `#[instrument_retrieval]`,
//! `#[instrument_guardrail]`, `#[instrument_workflow]`, `user = ..` on agent turns and
//! `operation = embeddings`, each run under a real llm-telemetry layer writing to a real
//! SQLite file, read back with plain SQL: span names, kinds, statuses, attributes, and
//! content absent with capture off, present with it on.

mod common;

use std::sync::Arc;

use common::{SpanRow, TempStore};
use llm_telemetry::{
    instrument_agent_turn, instrument_guardrail, instrument_inference, instrument_retrieval,
    instrument_workflow, Embeddings, GuardrailVerdict, SinkKind, TelemetryConfig, TelemetryGuard,
    TokenUsage, Usage, Violation, ViolationLevel,
};
use serde_json::json;

// ---------------------------------------------------------------------------------------
// Instrumented functions

#[derive(Debug)]
struct StoreError;

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("vector store unavailable")
    }
}

#[derive(Debug, Clone)]
struct Chunk {
    #[allow(dead_code)]
    text: String,
}

/// A sync retrieval with every argument; `query` is what capture records.
#[instrument_retrieval(data_source = "docs-index", top_k = k, query = query)]
fn search(query: &str, k: usize) -> Result<Vec<Chunk>, StoreError> {
    if query.is_empty() {
        return Err(StoreError);
    }
    Ok((0..k.min(2))
        .map(|i| Chunk {
            text: format!("{query} #{i}"),
        })
        .collect())
}

struct VectorStore {
    id: String,
}

impl VectorStore {
    /// An async method, no `query`: capture records the arguments.
    #[instrument_retrieval(data_source = self.id, top_k = 3u8)]
    async fn nearest(&self, text: String) -> Option<Arc<[String]>> {
        tokio::task::yield_now().await;
        Some(vec![text.clone(), text].into())
    }
}

#[derive(Debug)]
struct ShieldError;

#[instrument_guardrail(shield = shield_id)]
fn run_shield(shield_id: &str, message: &str) -> Result<Option<Violation>, ShieldError> {
    match message {
        "" => Err(ShieldError),
        m if m.contains("password") => Ok(Some(Violation::new(
            ViolationLevel::Error,
            "I can't help with that.",
        ))),
        _ => Ok(None),
    }
}

/// A response type with its own `GuardrailVerdict`, from an async fn.
#[derive(Debug)]
struct RunShieldResponse {
    violation: Option<Violation>,
}

impl GuardrailVerdict for RunShieldResponse {
    fn violation(&self) -> Option<Violation> {
        self.violation.clone()
    }
}

#[instrument_guardrail(shield = "llama-guard")]
async fn moderate(text: &str) -> RunShieldResponse {
    tokio::task::yield_now().await;
    RunShieldResponse {
        violation: text
            .contains("spam")
            .then(|| Violation::new(ViolationLevel::Warn, "looks like spam")),
    }
}

#[instrument_agent_turn(agent = "planner", session = session, user = user)]
async fn turn(user: &str, session: &str, input: &str) -> Result<String, StoreError> {
    let chunks = search(input, 2)?;
    Ok(format!("{} chunks", chunks.len()))
}

/// The workflow's name defaults to the function's.
#[instrument_workflow(user = user, session = session)]
async fn plan_trip(user: &str, session: &str) -> Result<String, StoreError> {
    turn(user, session, "Oslo").await
}

/// `name = "..."` is the workflow's name.
#[instrument_workflow(name = "nightly-batch")]
fn batch() -> u32 {
    7
}

#[derive(Debug)]
struct EmbeddingsResponse {
    embeddings: Vec<Vec<f32>>,
    prompt_tokens: u64,
}

impl TokenUsage for EmbeddingsResponse {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(self.prompt_tokens, 0))
    }
}

impl Embeddings for EmbeddingsResponse {
    fn dimension(&self) -> Option<usize> {
        self.embeddings.dimension()
    }
}

#[instrument_inference(operation = embeddings, model = "nomic-embed-text", provider = "ollama")]
fn embed(texts: &[&str]) -> Result<EmbeddingsResponse, StoreError> {
    Ok(EmbeddingsResponse {
        embeddings: texts.iter().map(|_| vec![0.25; 4]).collect(),
        prompt_tokens: 2 * texts.len() as u64,
    })
}

/// A return type without `Embeddings`: no dimension, and no error.
#[instrument_inference(operation = embeddings, model = "m")]
fn embed_usage_only(text: &str) -> Usage {
    Usage::new(text.len() as u64, 0)
}

// ---------------------------------------------------------------------------------------
// Harness

/// Run every instrumented function once (the failing cases too) under a layer writing
/// to a fresh store; the spans stored.
fn run_all(capture: bool) -> Vec<SpanRow> {
    let store = TempStore::new();
    let config = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&store.path)
        .capture_content(capture)
        .build();
    let guard: TelemetryGuard = config.init_local().expect("init");

    assert_eq!(search("rust", 5).unwrap().len(), 2);
    assert!(search("", 5).is_err());
    assert!(run_shield("prompt-guard", "my password is hunter2")
        .unwrap()
        .is_some());
    assert!(run_shield("prompt-guard", "hello").unwrap().is_none());
    assert!(run_shield("prompt-guard", "").is_err());
    assert_eq!(batch(), 7);
    assert_eq!(embed(&["a", "b"]).unwrap().embeddings.len(), 2);
    let _ = embed_usage_only("abcd");
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let store = VectorStore {
                id: "kb-1".to_owned(),
            };
            assert_eq!(store.nearest("fjord".to_owned()).await.unwrap().len(), 2);
            assert!(moderate("buy spam now").await.violation.is_some());
            assert_eq!(plan_trip("alice", "s-1").await.unwrap(), "2 chunks");
        });

    assert!(guard.flush(), "flush confirmed");
    drop(guard);
    store.spans()
}

#[track_caller]
fn span<'a>(spans: &'a [SpanRow], name: &str, pick: impl Fn(&SpanRow) -> bool) -> &'a SpanRow {
    spans
        .iter()
        .find(|s| s.name == name && pick(s))
        .unwrap_or_else(|| panic!("no span `{name}` in {spans:#?}"))
}

fn any(_: &SpanRow) -> bool {
    true
}

const CONTENT: [&str; 6] = [
    "gen_ai.retrieval.query.text",
    "gen_ai.retrieval.documents",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
];

// ---------------------------------------------------------------------------------------
// Capture off: the attributes, no content

#[test]
fn span_kinds_land_in_the_store_with_their_attributes() {
    let spans = run_all(false);
    for s in &spans {
        for key in CONTENT {
            assert!(s.attr(key).is_none(), "{key} without capture: {s:#?}");
        }
    }

    // Retrieval: client span, top_k a number, the documents counted.
    let ok = |s: &SpanRow| s.status == "ok";
    let found = span(&spans, "retrieval docs-index", |s| {
        ok(s) && s.attr_u64("llm_telemetry.retrieval.document_count") == Some(2)
    });
    assert_eq!(found.kind, "client");
    assert_eq!(found.attr_str("gen_ai.operation.name"), Some("retrieval"));
    assert_eq!(found.attr_str("gen_ai.data_source.id"), Some("docs-index"));
    assert_eq!(found.attr("gen_ai.request.top_k"), Some(&json!(5)));
    let failed = span(&spans, "retrieval docs-index", |s| s.status == "error");
    assert_eq!(failed.attr_str("error.type"), Some("StoreError"));
    assert!(failed
        .attr("llm_telemetry.retrieval.document_count")
        .is_none());
    let nearest = span(&spans, "retrieval kb-1", any);
    assert_eq!(nearest.status, "ok");
    assert_eq!(nearest.attr("gen_ai.request.top_k"), Some(&json!(3)));
    assert_eq!(
        nearest.attr_u64("llm_telemetry.retrieval.document_count"),
        Some(2)
    );

    // Guardrail: a violation is an outcome, status ok; an `Err` is an error, no verdict.
    let shield = "apply_guardrail prompt-guard";
    let violated = span(&spans, shield, |s| {
        s.attr("llm_telemetry.guardrail.violated") == Some(&json!(true))
    });
    assert_eq!(violated.status, "ok");
    assert_eq!(violated.kind, "internal");
    assert_eq!(
        violated.attr_str("gen_ai.operation.name"),
        Some("apply_guardrail")
    );
    assert_eq!(
        violated.attr_str("llm_telemetry.guardrail.shield_id"),
        Some("prompt-guard")
    );
    assert_eq!(
        violated.attr_str("llm_telemetry.guardrail.violation.level"),
        Some("error")
    );
    assert_eq!(
        violated.attr_str("llm_telemetry.guardrail.violation.message"),
        Some("I can't help with that.")
    );
    let passed = span(&spans, shield, |s| {
        s.attr("llm_telemetry.guardrail.violated") == Some(&json!(false))
    });
    assert_eq!(passed.status, "ok");
    assert!(passed
        .attr("llm_telemetry.guardrail.violation.level")
        .is_none());
    let errored = span(&spans, shield, |s| s.status == "error");
    assert_eq!(errored.attr_str("error.type"), Some("ShieldError"));
    assert!(errored.attr("llm_telemetry.guardrail.violated").is_none());
    let moderated = span(&spans, "apply_guardrail llama-guard", any);
    assert_eq!(moderated.status, "ok");
    assert_eq!(
        moderated.attr_str("llm_telemetry.guardrail.violation.level"),
        Some("warn")
    );

    // Workflow → agent turn → retrieval, with the user and the session.
    let workflow = span(&spans, "invoke_workflow plan_trip", any);
    assert_eq!(workflow.kind, "internal");
    assert_eq!(workflow.status, "ok");
    assert_eq!(
        workflow.attr_str("gen_ai.operation.name"),
        Some("invoke_workflow")
    );
    assert_eq!(workflow.attr_str("gen_ai.workflow.name"), Some("plan_trip"));
    assert_eq!(workflow.attr_str("user.id"), Some("alice"));
    assert_eq!(workflow.attr_str("gen_ai.conversation.id"), Some("s-1"));
    let agent = span(&spans, "invoke_agent planner", any);
    assert_eq!(agent.attr_str("user.id"), Some("alice"));
    assert_eq!(agent.parent_span_id.as_deref(), Some(&*workflow.span_id));
    // A retrieval is not an inference: the turn counts none.
    assert_eq!(agent.attr_u64("llm_telemetry.inference_calls"), Some(0));
    let inner = span(&spans, "retrieval docs-index", |s| {
        s.parent_span_id.as_deref() == Some(&*agent.span_id)
    });
    assert_eq!(inner.trace_id, workflow.trace_id);
    let nightly = span(&spans, "invoke_workflow nightly-batch", any);
    assert_eq!(
        nightly.attr_str("gen_ai.workflow.name"),
        Some("nightly-batch")
    );
    assert!(nightly.attr("user.id").is_none());

    // Embeddings: input tokens only, and the dimension when the type tells it.
    let embeddings = span(&spans, "embeddings nomic-embed-text", any);
    assert_eq!(embeddings.kind, "client");
    assert_eq!(embeddings.attr_u64("gen_ai.usage.input_tokens"), Some(4));
    assert!(embeddings.attr("gen_ai.usage.output_tokens").is_none());
    assert_eq!(
        embeddings.attr_u64("gen_ai.embeddings.dimension.count"),
        Some(4)
    );
    let usage_only = span(&spans, "embeddings m", any);
    assert_eq!(usage_only.status, "ok");
    assert_eq!(usage_only.attr_u64("gen_ai.usage.input_tokens"), Some(4));
    assert!(usage_only
        .attr("gen_ai.embeddings.dimension.count")
        .is_none());
}

// ---------------------------------------------------------------------------------------
// Capture on: the query, the documents, the guardrail's messages

#[test]
fn content_is_recorded_with_capture_on() {
    let spans = run_all(true);

    let found = span(&spans, "retrieval docs-index", |s| s.status == "ok");
    // `query = query`: its `Display`, not the arguments.
    assert_eq!(found.attr_str("gen_ai.retrieval.query.text"), Some("rust"));
    let documents = found.attr_str("gen_ai.retrieval.documents").unwrap();
    assert!(documents.starts_with("Ok([Chunk {"), "{documents}");

    // No `query`: the arguments as JSON (`self` left out).
    let nearest = span(&spans, "retrieval kb-1", any);
    let query: serde_json::Value =
        serde_json::from_str(nearest.attr_str("gen_ai.retrieval.query.text").unwrap()).unwrap();
    assert_eq!(query, json!({ "text": "fjord" }));
    assert_eq!(
        nearest.attr_str("gen_ai.retrieval.documents"),
        Some(r#"Some(["fjord", "fjord"])"#)
    );

    let violated = span(&spans, "apply_guardrail prompt-guard", |s| {
        s.attr("llm_telemetry.guardrail.violated") == Some(&json!(true))
    });
    let input: serde_json::Value =
        serde_json::from_str(violated.attr_str("gen_ai.input.messages").unwrap()).unwrap();
    assert_eq!(
        input,
        json!({ "shield_id": "prompt-guard", "message": "my password is hunter2" })
    );
    assert!(violated
        .attr_str("gen_ai.output.messages")
        .unwrap()
        .starts_with("Ok(Some(Violation { level: Error"));

    let workflow = span(&spans, "invoke_workflow plan_trip", any);
    let input: serde_json::Value =
        serde_json::from_str(workflow.attr_str("gen_ai.input.messages").unwrap()).unwrap();
    assert_eq!(input, json!({ "user": "alice", "session": "s-1" }));
    assert_eq!(
        workflow.attr_str("gen_ai.output.messages"),
        Some(r#"Ok("2 chunks")"#)
    );
}
