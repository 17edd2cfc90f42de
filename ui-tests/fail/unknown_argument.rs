use llm_telemetry::instrument_inference;

// A typo: the error suggests `model`, and the function still exists (no cascade).
#[instrument_inference(modle = "llama3.2:3b")]
fn chat(prompt: &str) -> llm_telemetry::Usage {
    llm_telemetry::Usage::new(prompt.len() as u64, 1)
}

fn main() {
    let _ = chat("hi");
}
