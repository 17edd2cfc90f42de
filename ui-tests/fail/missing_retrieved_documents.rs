use llm_telemetry::instrument_retrieval;

pub struct Hits {
    pub ids: Vec<u64>,
}

// The return type must say how many documents it holds: the error is at that type.
#[instrument_retrieval(data_source = "kb")]
fn search(query: &str) -> Result<Hits, std::io::Error> {
    let _ = query;
    Ok(Hits { ids: vec![1] })
}

#[instrument_retrieval(data_source = "kb")]
async fn search_async(query: &str) -> Hits {
    let _ = query;
    Hits { ids: vec![1] }
}

#[instrument_retrieval(data_source = "kb")]
fn nothing(query: &str) {
    let _ = query;
}

fn main() {
    let _ = search("q");
    let _ = search_async("q");
    nothing("q");
}
