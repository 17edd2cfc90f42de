use futures_util::stream::{self, Stream};
use llm_telemetry::instrument_inference;

// The items are read for their usage: `String` has none.
#[instrument_inference(model = "m")]
fn chat() -> impl Stream<Item = String> {
    stream::iter(vec![String::from("a")])
}

fn main() {
    let _ = chat();
}
