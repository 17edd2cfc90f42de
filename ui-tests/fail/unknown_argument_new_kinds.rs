use llm_telemetry::{instrument_guardrail, instrument_retrieval, instrument_workflow};

// Typos: each error suggests the argument meant.
#[instrument_retrieval(data_sorce = "kb", topk = 3)]
fn search() -> Vec<u8> {
    Vec::new()
}

#[instrument_guardrail(sheild = "llama-guard")]
fn run_shield() -> Option<llm_telemetry::Violation> {
    None
}

// `name` is the workflow's own argument: given twice, it is a duplicate.
#[instrument_workflow(nmae = "a", name = "b", name = "c", usr = "u")]
fn workflow() {}

fn main() {
    let _ = search();
    let _ = run_shield();
    workflow();
}
