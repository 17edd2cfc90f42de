use llm_telemetry::instrument_inference;

// `stream` on a function that returns one answer.
#[instrument_inference(model = "m", stream)]
fn chat(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {
    let _ = chat("hi");
}
