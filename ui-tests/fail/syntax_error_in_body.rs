use llm_telemetry::instrument_tool;

// rustc's own syntax error, not a macro panic.
#[instrument_tool]
fn broken(x: u32) -> u32 {
    let y = x +;
    y
}

fn main() {
    let _ = broken(1);
}
