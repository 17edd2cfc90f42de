//! `async fn` (free, methods, generic) and functions returning `impl Future`.
#![deny(warnings)]

use std::future::Future;

use llm_telemetry::{instrument_agent_turn, instrument_inference, instrument_tool, Usage};

#[derive(Debug)]
pub struct Error;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("error")
    }
}

impl std::error::Error for Error {}

#[instrument_inference(model = model, provider = "ollama")]
pub async fn chat(model: &str, prompt: String) -> Result<Usage, Error> {
    if prompt.is_empty() {
        return Err(Error);
    }
    tokio::task::yield_now().await;
    Ok(Usage::new(prompt.len() as u64, 2))
}

// `?` on a boxed error, `.into()` in a `return`.
#[instrument_tool]
async fn fetch(url: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    if url.is_empty() {
        return Err("no url".into());
    }
    let n: u32 = "3".parse()?;
    Ok(format!("{url}:{n}"))
}

// Unit-returning, generic.
#[instrument_tool]
async fn sleep_then<T: Send>(value: T) -> T {
    tokio::task::yield_now().await;
    value
}

// Returning `impl Future`, with an async block tail.
#[instrument_inference(model = "m", usage = manual)]
fn stream(prompt: &str) -> impl Future<Output = String> + Send + '_ {
    async move {
        llm_telemetry::record_usage(Usage::new(1, 1));
        prompt.to_uppercase()
    }
}

// Returning `impl Future` built otherwise: the returned future is wrapped.
#[instrument_inference(model = "m")]
fn ready_usage(n: u64) -> impl Future<Output = Option<Usage>> {
    std::future::ready(Some(Usage::new(n, n)))
}

// Returning an `impl Future` that is `Unpin`: still `Unpin` once instrumented.
#[instrument_tool]
fn unpin_future() -> impl Future<Output = u8> + Unpin {
    std::future::ready(1)
}

pub struct Agent {
    name: String,
}

impl Agent {
    #[instrument_agent_turn(agent = self.name, session = session)]
    pub async fn turn(&self, session: &str, input: &str) -> Result<String, Error> {
        let usage = chat("m", input.to_owned()).await?;
        let page = fetch("u").await.map_err(|_| Error)?;
        let _ = (usage, page, session);
        Ok(stream(input).await)
    }

    #[instrument_agent_turn]
    async fn mutate(&mut self) -> &str {
        self.name.push('!');
        &self.name
    }
}

// Trait impl methods: native `async fn` in a trait, and a method returning `impl Future`.
trait Retriever {
    fn retrieve(&self, query: &str) -> impl Future<Output = Vec<String>> + Send;
    async fn count(&self) -> usize;
}

struct Docs(Vec<String>);

impl Retriever for Docs {
    #[instrument_tool(tool = "retrieve")]
    fn retrieve(&self, query: &str) -> impl Future<Output = Vec<String>> + Send {
        let found: Vec<String> = self
            .0
            .iter()
            .filter(|d| d.contains(query))
            .cloned()
            .collect();
        async move { found }
    }

    #[instrument_tool]
    async fn count(&self) -> usize {
        self.0.len()
    }
}

fn assert_send<T: Send>(_: T) {}
fn assert_unpin<T: Unpin>(_: &T) {}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut agent = Agent {
        name: "a".to_owned(),
    };
    assert_send(agent.turn("s", "hi"));
    let fut = unpin_future();
    assert_unpin(&fut);
    runtime.block_on(async {
        let _ = agent.turn("s", "hi").await;
        let _ = agent.mutate().await;
        let _ = sleep_then(3).await;
        let _ = ready_usage(2).await;
        let _ = fut.await;
        let docs = Docs(vec!["a".to_owned()]);
        let _ = docs.retrieve("a").await;
        let _ = docs.count().await;
    });
}
