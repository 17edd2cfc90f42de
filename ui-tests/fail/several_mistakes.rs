use llm_telemetry::instrument_agent_turn;

// Every mistake in one attribute is reported at once, each at its token.
#[instrument_agent_turn(agnet = self.name, session = s, session = s, skip(input), fields(otel.name = "x"))]
fn turn(s: &str) -> String {
    s.to_owned()
}

fn main() {
    let _ = turn("s");
}
