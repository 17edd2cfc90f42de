//! Return types `#[instrument_inference]` reads the token usage from, and `usage =
//! manual` on a return type without `TokenUsage`.
#![deny(warnings)]

use std::sync::Arc;

use llm_telemetry::{instrument_inference, record_usage, TokenUsage, Usage};

pub struct Response {
    pub usage: Option<Usage>,
}

impl TokenUsage for Response {
    fn token_usage(&self) -> Option<Usage> {
        self.usage
    }
}

// An error type that is neither `Display` nor `Debug`.
pub struct Opaque;

#[instrument_inference(model = "m")]
fn plain() -> Response {
    Response {
        usage: Some(Usage::new(1, 2)),
    }
}

#[instrument_inference(model = "m")]
fn usage_itself() -> Usage {
    Usage::new(1, 2)
        .with_cached_tokens(1)
        .with_reasoning_tokens(3)
}

#[instrument_inference(model = "m")]
fn result_opaque() -> Result<Response, Opaque> {
    Err(Opaque)
}

#[instrument_inference(model = "m")]
fn option_box() -> Option<Box<Response>> {
    None
}

#[instrument_inference(model = "m")]
fn arc() -> Arc<Response> {
    Arc::new(Response { usage: None })
}

#[instrument_inference(model = "m")]
fn borrowed(r: &Response) -> &Response {
    r
}

// A generic response type, bound in a where clause.
#[instrument_inference(model = "m")]
fn generic<R>(r: R) -> Result<R, std::io::Error>
where
    R: TokenUsage,
{
    Ok(r)
}

// `usage = manual`: any return type.
#[instrument_inference(model = "m", usage = manual)]
fn manual(prompt: &str) -> String {
    record_usage(Usage::new(prompt.len() as u64, 1));
    prompt.to_owned()
}

#[instrument_inference(model = "m", usage = manual, operation = "generate_content")]
fn manual_unit() {}

fn main() {
    let _ = plain();
    let _ = usage_itself();
    let _ = result_opaque().is_err();
    let _ = option_box();
    let _ = arc();
    let _ = borrowed(&Response { usage: None }).usage;
    let _ = generic(Usage::new(1, 1));
    let _ = manual("p");
    manual_unit();
}
