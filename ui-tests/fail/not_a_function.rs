use llm_telemetry::instrument_agent_turn;

#[instrument_agent_turn]
struct Agent {
    name: String,
}

fn main() {
    let _ = Agent { name: "a".into() }.name;
}
