use llm_telemetry::instrument_tool;

#[instrument_tool(skip(api_key))]
fn get_weather(city: &str, apikey: &str) -> String {
    format!("{city}{apikey}")
}

fn main() {
    let _ = get_weather("Paris", "secret");
}
