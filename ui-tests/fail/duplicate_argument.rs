use llm_telemetry::instrument_tool;

#[instrument_tool(tool = "search", tool = "lookup")]
fn search(query: &str) -> Vec<String> {
    vec![query.to_owned()]
}

fn main() {
    let _ = search("rust");
}
