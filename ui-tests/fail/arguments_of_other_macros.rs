use llm_telemetry::{instrument_inference, instrument_retrieval, instrument_tool};

// Each says which macro takes the argument.
#[instrument_tool(data_source = "kb")]
fn lookup() {}

#[instrument_tool(user = user)]
fn greet(user: &str) {
    let _ = user;
}

#[instrument_retrieval(shield = "llama-guard")]
fn search() -> Vec<u8> {
    Vec::new()
}

#[instrument_inference(top_k = 3)]
fn chat() -> llm_telemetry::Usage {
    llm_telemetry::Usage::new(1, 1)
}

fn main() {
    lookup();
    greet("u");
    let _ = search();
    let _ = chat();
}
