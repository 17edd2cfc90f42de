use llm_telemetry::{instrument_inference, Usage};

#[instrument_inference(model = "llama3.2:3b", operation = bogus)]
fn chat(prompt: &str) -> Usage {
    Usage::new(prompt.len() as u64, 1)
}

fn main() {
    let _ = chat("hi");
}
