//! Every stream shape `#[instrument_inference]` recognises, on free functions, methods,
//! trait impls and `#[async_trait]` methods; `stream` for a name it cannot see through.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, LocalBoxStream, Stream, StreamExt};
use llm_telemetry::{instrument_inference, record_usage, TokenUsage, Usage};

#[derive(Debug, Clone)]
pub struct Chunk {
    pub text: String,
    pub usage: Option<Usage>,
}

impl TokenUsage for Chunk {
    fn token_usage(&self) -> Option<Usage> {
        self.usage
    }
}

#[derive(Debug)]
pub struct ApiError;

fn chunks() -> Vec<Chunk> {
    vec![Chunk {
        text: "hi".into(),
        usage: Some(Usage::new(3, 1)),
    }]
}

#[instrument_inference(model = "m", provider = "p")]
pub fn impl_stream(prompt: &str) -> impl Stream<Item = Chunk> + Send + '_ {
    stream::iter(chunks()).map(move |mut c| {
        c.text.push_str(prompt);
        c
    })
}

#[instrument_inference(model = model, provider = "p")]
pub fn boxed<'a>(model: &'a str) -> BoxStream<'a, Chunk> {
    let _ = model;
    stream::iter(chunks()).boxed()
}

#[instrument_inference(model = "m")]
pub fn local_boxed() -> LocalBoxStream<'static, Chunk> {
    stream::iter(chunks()).boxed_local()
}

#[instrument_inference(model = "m", usage = sum)]
pub fn pinned() -> Pin<Box<dyn Stream<Item = Result<Chunk, ApiError>> + Send>> {
    Box::pin(stream::iter(chunks().into_iter().map(Ok)))
}

#[instrument_inference(model = "m")]
pub async fn connect(url: &str) -> Result<impl Stream<Item = Chunk>, ApiError> {
    if url.is_empty() {
        return Err(ApiError);
    }
    Ok(stream::iter(chunks()))
}

#[instrument_inference(model = "m")]
pub fn connect_sync(url: &str) -> std::io::Result<BoxStream<'static, Chunk>> {
    if url.is_empty() {
        return Err(std::io::Error::other("no url"));
    }
    Ok(stream::iter(chunks()).boxed())
}

#[instrument_inference(model = "m")]
pub fn later() -> impl Future<Output = BoxStream<'static, Chunk>> {
    async { stream::iter(chunks()).boxed() }
}

pub type ChatStream = Pin<Box<dyn Stream<Item = Chunk> + Send>>;

#[instrument_inference(model = "m", stream)]
pub fn aliased() -> ChatStream {
    Box::pin(stream::iter(chunks()))
}

/// No usage in the items: the body reports it.
#[instrument_inference(model = "m", usage = manual)]
pub fn manual() -> impl Stream<Item = String> {
    record_usage(Usage::new(1, 1));
    stream::iter(vec![String::from("a")])
}

pub struct Client {
    pub model: String,
}

impl Client {
    #[instrument_inference(model = self.model, provider = "p")]
    pub fn stream(&self) -> BoxStream<'_, Chunk> {
        stream::iter(chunks()).boxed()
    }

    #[instrument_inference(model = self.model)]
    pub async fn connect(&mut self) -> Result<BoxStream<'static, Chunk>, ApiError> {
        self.model.push('!');
        Ok(stream::iter(chunks()).boxed())
    }

    #[instrument_inference(model = "m")]
    pub fn generic<T: Clone + TokenUsage + Send + 'static>(
        &self,
        items: Vec<T>,
    ) -> impl Stream<Item = T> {
        stream::iter(items)
    }
}

pub trait Provider {
    fn chat(&self) -> Pin<Box<dyn Stream<Item = Chunk> + Send + '_>>;
}

impl Provider for Client {
    #[instrument_inference(model = self.model)]
    fn chat(&self) -> Pin<Box<dyn Stream<Item = Chunk> + Send + '_>> {
        Box::pin(stream::iter(chunks()))
    }
}

#[async_trait]
pub trait AsyncProvider: Send + Sync {
    async fn open(&self, prompt: &str) -> Result<BoxStream<'static, Chunk>, ApiError>;
}

#[async_trait]
impl AsyncProvider for Client {
    #[instrument_inference(model = self.model, provider = "p")]
    async fn open(&self, prompt: &str) -> Result<BoxStream<'static, Chunk>, ApiError> {
        let _ = prompt;
        Ok(stream::iter(chunks()).boxed())
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let client = Client { model: "m".into() };
    assert_send(&impl_stream("x"));
    assert_send(&client.stream());
    assert_send(&connect("u"));
    assert_send(&client.open("p"));
    let _ = (boxed("m"), local_boxed(), pinned(), connect_sync("u"), later(), aliased());
    let _ = (manual(), client.generic(chunks()), client.chat());
}
