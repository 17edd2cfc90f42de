//! Free functions of every shape, with every common argument.
#![deny(warnings)]

use llm_telemetry::{
    instrument_agent_turn, instrument_inference, instrument_tool, TokenUsage, Usage,
};

#[derive(Debug)]
pub struct Reply {
    pub text: String,
    pub usage: Usage,
}

impl TokenUsage for Reply {
    fn token_usage(&self) -> Option<Usage> {
        Some(self.usage)
    }
}

pub struct ChatRequest {
    pub model: String,
    pub prompt: String,
}

/// Doc comments and `#[must_use]` are kept.
#[must_use]
#[instrument_inference(model = req.model, provider = "ollama")]
pub fn chat(req: &ChatRequest) -> Reply {
    Reply {
        text: req.prompt.clone(),
        usage: Usage::new(3, 4),
    }
}

// `return` and `?` inside the body, errors converted with `.into()`.
#[instrument_inference(model = "llama3.2:3b", provider = "ollama", operation = text_completion)]
pub(crate) fn complete(prompt: &str) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
    if prompt.is_empty() {
        return Err("empty prompt".into());
    }
    let n: u64 = prompt.len().to_string().parse()?;
    Ok(Reply {
        text: prompt.to_owned(),
        usage: Usage::new(n, 1),
    })
}

// Generic, with a where clause, an error type without bounds.
#[instrument_inference(model = model, operation = embeddings)]
fn embed<M, E>(model: M, input: &[&str]) -> Result<Usage, E>
where
    M: std::fmt::Display + Clone,
{
    Ok(Usage::new(input.len() as u64, 0))
}

// `impl Trait` in argument and return position: the span covers the call.
#[instrument_tool]
fn tokens(text: impl AsRef<str>) -> impl Iterator<Item = String> {
    text.as_ref()
        .split(' ')
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

// Every common argument: `name`, `skip`, `fields` with sigils, `crate`.
#[instrument_tool(
    name = "lookup the weather",
    tool = "get_weather",
    call_id = call_id,
    skip(api_key),
    fields(app.city = %city, app.days = days, app.debug = ?days, app.later),
    crate = llm_telemetry
)]
fn get_weather(call_id: &str, city: &str, days: u32, api_key: &str) -> Result<String, String> {
    let _ = (call_id, api_key);
    Ok(format!("sunny in {city} for {days} days"))
}

// Unit return, no arguments, `pub(super)` in a module.
mod inner {
    #[llm_telemetry::instrument_agent_turn]
    pub(super) fn idle() {}
}

// `unsafe fn`, an `extern "C"` ABI.
#[instrument_tool]
unsafe fn read(ptr: *const u8) -> u8 {
    *ptr
}

#[instrument_tool]
extern "C" fn callback(x: i32) -> i32 {
    x + 1
}

// A body returning a borrow of a parameter, with inner attributes.
#[instrument_agent_turn(agent = "router", session = session)]
fn route<'a>(session: &str, candidates: &'a [String]) -> Option<&'a str> {
    #![allow(clippy::needless_lifetimes)]
    candidates.first().map(String::as_str)
}

// A destructuring parameter and a parameter that is not `Debug`.
struct Secret;

#[instrument_tool]
fn pair((a, b): (u8, u8), _secret: Secret) -> u16 {
    u16::from(a) + u16::from(b)
}

fn main() {
    let req = ChatRequest {
        model: "m".into(),
        prompt: "p".into(),
    };
    let _ = chat(&req).text;
    let _ = complete("hello");
    let _ = embed::<_, String>("m", &["a"]);
    let _ = tokens("a b").count();
    let _ = get_weather("call-1", "Paris", 3, "key");
    inner::idle();
    let _ = unsafe { read(&7) };
    let _ = callback(1);
    let _ = route("s", &["x".to_owned()]);
    let _ = pair((1, 2), Secret);
}
