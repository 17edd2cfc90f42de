use llm_telemetry::instrument_retrieval;

pub struct Request {
    pub top_k: String,
}

// `top_k` is recorded as a number: the error is at the expression.
#[instrument_retrieval(data_source = "kb", top_k = req.top_k)]
fn search(req: &Request) -> Vec<u8> {
    let _ = req;
    Vec::new()
}

#[instrument_retrieval(data_source = "kb", top_k = 2.5)]
fn search_float() -> Vec<u8> {
    Vec::new()
}

fn main() {
    let _ = search(&Request { top_k: "3".into() });
    let _ = search_float();
}
