use llm_telemetry::instrument_tool;

#[instrument_tool]
const fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
