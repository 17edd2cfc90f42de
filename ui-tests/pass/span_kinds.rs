//! `#[instrument_retrieval]`, `#[instrument_guardrail]`, `#[instrument_workflow]`,
//! `user = ..` on agent turns and `operation = embeddings`, on every function shape:
//! sync, `async fn`, `impl Future`, methods, trait impls and `#[async_trait]` methods.
#![deny(warnings)]

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use llm_telemetry::{
    instrument_agent_turn, instrument_guardrail, instrument_inference, instrument_retrieval,
    instrument_workflow, Embeddings, GuardrailVerdict, RetrievedDocuments, Usage, Violation,
    ViolationLevel,
};

#[derive(Debug)]
pub struct Chunk(pub String);

/// A response type with its own impl.
#[derive(Debug)]
pub struct QueryChunksResponse {
    pub chunks: Vec<Chunk>,
}

impl RetrievedDocuments for QueryChunksResponse {
    fn document_count(&self) -> Option<usize> {
        Some(self.chunks.len())
    }
}

#[derive(Debug)]
pub struct RunShieldResponse {
    pub violation: Option<Violation>,
}

impl GuardrailVerdict for RunShieldResponse {
    fn violation(&self) -> Option<Violation> {
        self.violation.clone()
    }
}

// ---- retrieval

#[instrument_retrieval(data_source = "kb", top_k = k, query = query)]
fn search(query: &str, k: u32) -> Result<Vec<Chunk>, std::io::Error> {
    Ok(query
        .split(' ')
        .take(k as usize)
        .map(|word| Chunk(word.to_owned()))
        .collect())
}

#[instrument_retrieval(data_source = index, top_k = 5)]
async fn search_async(index: &str, text: String) -> QueryChunksResponse {
    let _ = index;
    QueryChunksResponse {
        chunks: vec![Chunk(text)],
    }
}

// `&[T]`, `Box`, `Arc`, `Option`, arrays, a generic document type, no arguments at all.
#[instrument_retrieval]
fn borrowed<'a>(all: &'a [Chunk]) -> &'a [Chunk] {
    all
}

#[instrument_retrieval(top_k = n as usize)]
fn boxed(n: i64) -> Box<Option<Arc<[u8]>>> {
    Box::new(Some(vec![0; n as usize].into()))
}

#[instrument_retrieval(data_source = "fixed")]
fn array() -> [u8; 3] {
    [1, 2, 3]
}

#[instrument_retrieval(data_source = "generic", top_k = *k)]
fn generic<T: Clone>(item: T, k: &usize) -> Vec<T> {
    vec![item; *k]
}

#[instrument_retrieval(data_source = "future")]
fn returns_future(text: &str) -> impl Future<Output = Vec<String>> + '_ {
    async move { vec![text.to_owned()] }
}

// ---- guardrail

#[instrument_guardrail(shield = shield_id)]
fn run_shield(shield_id: &str, message: &str) -> Result<Option<Violation>, String> {
    let _ = shield_id;
    if message.is_empty() {
        return Err("empty".into());
    }
    Ok(Some(Violation::new(ViolationLevel::Info, "fine")))
}

#[instrument_guardrail(shield = "llama-guard", skip(message))]
async fn moderate(message: &str) -> RunShieldResponse {
    let _ = message;
    RunShieldResponse { violation: None }
}

#[instrument_guardrail]
fn always() -> Violation {
    Violation::new(ViolationLevel::Warn, "always")
}

#[instrument_guardrail(shield = "boxed")]
fn boxed_verdict() -> Arc<Option<Box<Violation>>> {
    Arc::new(None)
}

// ---- workflow and turns with a user

#[instrument_workflow]
fn default_name() {}

#[instrument_workflow(name = "trip", user = user, session = session, fields(app.n = 1))]
async fn trip(user: &str, session: &str) -> Result<String, String> {
    turn(user, session).await
}

#[instrument_workflow(name = format!("batch-{n}"))]
fn named_by_expr(n: u8) -> u8 {
    n
}

#[instrument_agent_turn(agent = "a", user = user, session = session)]
async fn turn(user: &str, session: &str) -> Result<String, String> {
    Ok(format!("{user}{session}"))
}

// ---- embeddings

#[instrument_inference(operation = embeddings, model = "nomic-embed-text")]
fn embed(text: &str) -> Result<EmbeddingsResponse, String> {
    Ok(EmbeddingsResponse {
        vectors: vec![vec![0.0; text.len()]],
        usage: Usage::new(1, 0),
    })
}

/// No `Embeddings`: no dimension, and no error.
#[instrument_inference(operation = embeddings)]
fn embed_usage() -> Usage {
    Usage::new(1, 0)
}

#[derive(Debug)]
pub struct EmbeddingsResponse {
    pub vectors: Vec<Vec<f32>>,
    pub usage: Usage,
}

impl llm_telemetry::TokenUsage for EmbeddingsResponse {
    fn token_usage(&self) -> Option<Usage> {
        Some(self.usage)
    }
}

impl Embeddings for EmbeddingsResponse {
    fn dimension(&self) -> Option<usize> {
        self.vectors.dimension()
    }
}

// ---- methods, trait impls, `#[async_trait]`

pub struct VectorStore {
    pub id: String,
}

impl VectorStore {
    #[instrument_retrieval(data_source = self.id, top_k = 2u8, query = query)]
    pub fn query(&self, query: &str) -> Vec<Chunk> {
        vec![Chunk(query.to_owned())]
    }

    #[instrument_guardrail(shield = self.id)]
    pub async fn check(&mut self, text: String) -> Option<Violation> {
        text.is_empty()
            .then(|| Violation::new(ViolationLevel::Error, "empty"))
    }

    #[instrument_workflow(name = self.id, user = "u")]
    pub fn run(self) -> String {
        self.id
    }
}

pub trait Retriever {
    fn retrieve(&self, query: &str) -> Vec<Chunk>;
}

impl Retriever for VectorStore {
    #[instrument_retrieval(data_source = self.id, query = query)]
    fn retrieve(&self, query: &str) -> Vec<Chunk> {
        vec![Chunk(query.to_owned())]
    }
}

#[async_trait]
pub trait Safety: Send + Sync {
    async fn run_shield(&self, message: &str) -> Result<RunShieldResponse, String>;
    async fn query_chunks(&self, query: &str) -> Result<QueryChunksResponse, String>;
    async fn workflow(&self, user: &str) -> String;

    #[instrument_guardrail(shield = "default")]
    async fn default_shield(&self, message: &str) -> Option<Violation> {
        let _ = message;
        None
    }
}

#[async_trait]
impl Safety for VectorStore {
    #[instrument_guardrail(shield = self.id)]
    async fn run_shield(&self, message: &str) -> Result<RunShieldResponse, String> {
        let _ = message;
        Ok(RunShieldResponse { violation: None })
    }

    #[instrument_retrieval(data_source = self.id, top_k = 3, query = query)]
    async fn query_chunks(&self, query: &str) -> Result<QueryChunksResponse, String> {
        Ok(QueryChunksResponse {
            chunks: vec![Chunk(query.to_owned())],
        })
    }

    #[instrument_workflow(user = user, session = self.id)]
    async fn workflow(&self, user: &str) -> String {
        user.to_owned()
    }
}

fn main() {
    let _ = search("q", 3);
    let _ = borrowed(&[Chunk("a".into())]).len();
    let _ = boxed(2);
    let _ = array();
    let _ = generic("x", &2);
    let _ = run_shield("s", "m");
    let _ = always();
    let _ = boxed_verdict();
    default_name();
    let _ = named_by_expr(1);
    let _ = embed("abc");
    let _ = embed_usage();
    let mut store = VectorStore { id: "kb".into() };
    let _ = store.query("q");
    let _ = store.retrieve("q");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let _ = search_async("kb", "t".into()).await;
        let _ = returns_future("t").await;
        let _ = moderate("m").await;
        let _ = trip("u", "s").await;
        let _ = store.check(String::new()).await;
        let _ = store.run_shield("m").await;
        let _ = store.query_chunks("q").await;
        let _ = store.workflow("u").await;
        let _ = store.default_shield("m").await;
    });
    let _ = store.run();
}
