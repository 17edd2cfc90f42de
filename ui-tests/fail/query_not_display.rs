use llm_telemetry::instrument_retrieval;

#[derive(Debug)]
pub struct Query {
    pub text: String,
}

// `query` is recorded with `Display`: the error is at the expression.
#[instrument_retrieval(data_source = "kb", query = query)]
fn search(query: &Query) -> Vec<String> {
    vec![query.text.clone()]
}

fn main() {
    let _ = search(&Query { text: "q".into() });
}
