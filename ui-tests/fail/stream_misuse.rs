use futures_util::stream::{self, BoxStream, StreamExt};
use llm_telemetry::{instrument_inference, Usage};

// `usage = sum` adds up a stream's items: this returns one value.
#[instrument_inference(model = "m", usage = sum)]
fn one_answer() -> Usage {
    Usage::new(1, 1)
}

// `stream` is a flag.
#[instrument_inference(model = "m", stream = true)]
fn flag_with_value() -> BoxStream<'static, Usage> {
    stream::iter(vec![Usage::new(1, 1)]).boxed()
}

// Nothing is returned.
#[instrument_inference(model = "m", stream)]
fn returns_nothing() {}

// Embeddings come at once.
#[instrument_inference(model = "m", operation = embeddings, stream)]
fn embed() -> BoxStream<'static, Usage> {
    stream::iter(vec![Usage::new(1, 0)]).boxed()
}

fn main() {
    let _ = (one_answer(), flag_with_value(), embed());
    returns_nothing();
}
