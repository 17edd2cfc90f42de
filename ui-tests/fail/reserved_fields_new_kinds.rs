use llm_telemetry::{instrument_guardrail, instrument_tool, instrument_workflow};

// Fields the macros declare: each error names the argument that sets it, and which
// macros take that argument.
#[instrument_tool(fields(user.id = 1, gen_ai.data_source.id = "kb"))]
fn lookup() {}

#[instrument_workflow(fields(gen_ai.workflow.name = "w", otel.name = "n"))]
fn workflow() {}

#[instrument_guardrail(fields(llm_telemetry.guardrail.violated = false))]
fn run_shield() -> Option<llm_telemetry::Violation> {
    None
}

fn main() {
    lookup();
    workflow();
    let _ = run_shield();
}
