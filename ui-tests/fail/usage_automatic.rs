use llm_telemetry::instrument_inference;

#[instrument_inference(model = "llama3.2:3b", usage = automatic)]
fn chat(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {
    let _ = chat("hi");
}
