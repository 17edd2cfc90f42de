use llm_telemetry::instrument_tool;

#[instrument_tool(model = "llama3.2:3b")]
fn get_weather(city: &str) -> String {
    city.to_owned()
}

fn main() {
    let _ = get_weather("Paris");
}
