//! Methods of `#[async_trait]` impls and traits: the attribute sees async-trait's
//! expansion and instruments the boxed future.
#![deny(warnings)]

use async_trait::async_trait;
use llm_telemetry::{
    instrument_agent_turn, instrument_inference, instrument_tool, TokenUsage, Usage,
};

#[derive(Debug)]
pub struct Completion {
    pub text: String,
    pub usage: Usage,
}

impl TokenUsage for Completion {
    fn token_usage(&self) -> Option<Usage> {
        Some(self.usage)
    }
}

#[async_trait]
pub trait Model: Send + Sync {
    async fn complete(&self, prompt: &str) -> Result<Completion, String>;

    // A default method, instrumented in the trait.
    #[instrument_agent_turn(agent = "default", session = session)]
    async fn turn(&self, session: &str, prompt: &str) -> Result<String, String> {
        Ok(self.complete(prompt).await?.text)
    }
}

pub struct Local {
    model: String,
}

#[async_trait]
impl Model for Local {
    #[instrument_inference(model = self.model, provider = "local")]
    async fn complete(&self, prompt: &str) -> Result<Completion, String> {
        if prompt.is_empty() {
            return Err("empty".into());
        }
        Ok(Completion {
            text: prompt.to_owned(),
            usage: Usage::new(1, 2),
        })
    }
}

#[async_trait]
pub trait Tool {
    async fn call(&mut self, args: String) -> String;
    async fn call_by_value(self, n: u32) -> u32;
}

pub struct Counter(u32);

#[async_trait]
impl Tool for Counter {
    #[instrument_tool(tool = "counter", call_id = args)]
    async fn call(&mut self, args: String) -> String {
        self.0 += 1;
        format!("{args}{}", self.0)
    }

    #[instrument_tool(skip(n))]
    async fn call_by_value(self, n: u32) -> u32 {
        self.0 + n
    }
}

// `?Send` futures too.
#[async_trait(?Send)]
pub trait LocalTool {
    async fn run(&self) -> std::rc::Rc<u8>;
}

#[async_trait(?Send)]
impl LocalTool for Counter {
    #[instrument_tool]
    async fn run(&self) -> std::rc::Rc<u8> {
        std::rc::Rc::new(1)
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let model = Local {
            model: "m".to_owned(),
        };
        let _ = model.turn("s", "hi").await;
        let mut counter = Counter(0);
        let _ = counter.call("a".to_owned()).await;
        let _ = counter.run().await;
        let _ = counter.call_by_value(2).await;
    });
}
