//! Streamed inferences through the real SQLite store: the span lasts until the stream
//! ends or is dropped, time to first chunk counts from the call, usage comes from the
//! chunks (last value per counter, or summed), `Err` items and early drops are errors,
//! and every recognised return shape works.

mod common;

use std::pin::Pin;
use std::time::Duration;

use common::{SpanRow, TempStore};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use llm_telemetry::{instrument_inference, TokenUsage, Usage};

/// A chunk as providers stream them: text, and sometimes a usage report.
#[derive(Clone, Debug)]
struct Chunk {
    text: &'static str,
    usage: Option<(u64, u64)>,
}

impl TokenUsage for Chunk {
    fn token_usage(&self) -> Option<Usage> {
        self.usage.map(|(i, o)| Usage::new(i, o))
    }
}

fn chunk(text: &'static str, usage: Option<(u64, u64)>) -> Chunk {
    Chunk { text, usage }
}

#[derive(Debug)]
struct ProviderError;
impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stream broke")
    }
}

/// OpenAI / Ollama: the totals in the last chunk.
#[instrument_inference(model = "gpt-test", provider = "openai")]
fn final_totals() -> impl Stream<Item = Chunk> {
    stream::iter(vec![
        chunk("Hel", None),
        chunk("lo", None),
        chunk("!", Some((12, 3))),
    ])
}

/// Anthropic: input in `message_start`, output counts growing, input reported as 0 later.
#[instrument_inference(model = "claude-test", provider = "anthropic")]
fn running_totals() -> BoxStream<'static, Chunk> {
    stream::iter(vec![
        chunk("", Some((20, 1))),
        chunk("a", Some((0, 5))),
        chunk("b", Some((0, 9))),
    ])
    .boxed()
}

/// Deltas, summed.
#[instrument_inference(model = "delta-test", provider = "test", usage = sum)]
fn deltas() -> Pin<Box<dyn Stream<Item = Chunk> + Send>> {
    Box::pin(stream::iter(vec![
        chunk("a", Some((4, 1))),
        chunk("b", Some((0, 1))),
        chunk("c", Some((0, 2))),
    ]))
}

/// Connect, then stream; the first chunk comes 30 ms after the call.
#[instrument_inference(model = req, provider = "ollama")]
async fn connect_then_stream(
    req: &str,
    fail: bool,
) -> Result<impl Stream<Item = Result<Chunk, ProviderError>>, ProviderError> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    if fail {
        return Err(ProviderError);
    }
    Ok(
        stream::iter(vec![Ok(chunk("x", None)), Ok(chunk("y", Some((8, 2))))]).then(
            |c| async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                c
            },
        ),
    )
}

#[instrument_inference(model = "broken", provider = "test")]
fn breaks_midway() -> impl Stream<Item = Result<Chunk, ProviderError>> {
    stream::iter(vec![
        Ok(chunk("a", Some((5, 1)))),
        Err(ProviderError),
        Ok(chunk("b", Some((5, 2)))),
    ])
}

type ChatStream = Pin<Box<dyn Stream<Item = Chunk> + Send>>;

/// A return type the macro cannot recognise: `stream` says it is one.
#[instrument_inference(model = "alias", provider = "test", stream)]
fn aliased() -> ChatStream {
    Box::pin(stream::iter(vec![chunk("a", Some((3, 1)))]))
}

fn stored(f: impl FnOnce()) -> Vec<SpanRow> {
    let store = TempStore::new();
    let guard = store.config().init_local().unwrap();
    f();
    drop(guard);
    store.spans()
}

fn only(spans: &[SpanRow]) -> &SpanRow {
    assert_eq!(spans.len(), 1, "{spans:#?}");
    &spans[0]
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

fn drain<S: Stream>(s: S) -> usize {
    block_on(s.collect::<Vec<_>>()).len()
}

#[test]
fn the_usage_of_the_last_chunk_counts_and_the_span_ends_with_the_stream() {
    let spans = stored(|| {
        let s = final_totals();
        // Created, not yet consumed: the span is still open.
        assert_eq!(drain(s), 3);
    });
    let span = only(&spans);
    assert_eq!(span.name, "chat gpt-test");
    assert_eq!(span.status, "ok");
    assert_eq!(span.attr_u64("gen_ai.usage.input_tokens"), Some(12));
    assert_eq!(span.attr_u64("gen_ai.usage.output_tokens"), Some(3));
    assert_eq!(span.attr_u64("llm_telemetry.stream.chunks"), Some(3));
    assert_eq!(
        span.attr("gen_ai.request.stream"),
        Some(&serde_json::json!(true))
    );
    assert!(span.attr("gen_ai.response.time_to_first_chunk").is_some());
}

#[test]
fn running_totals_keep_the_counters_a_chunk_reports_as_zero() {
    let spans = stored(|| assert_eq!(drain(running_totals()), 3));
    let span = only(&spans);
    assert_eq!(span.attr_u64("gen_ai.usage.input_tokens"), Some(20));
    assert_eq!(span.attr_u64("gen_ai.usage.output_tokens"), Some(9));
}

#[test]
fn usage_sum_adds_up_deltas() {
    let spans = stored(|| assert_eq!(drain(deltas()), 3));
    let span = only(&spans);
    assert_eq!(span.attr_u64("gen_ai.usage.input_tokens"), Some(4));
    assert_eq!(span.attr_u64("gen_ai.usage.output_tokens"), Some(4));
}

#[test]
fn time_to_first_chunk_counts_from_the_call_and_the_span_covers_the_whole_stream() {
    let spans = stored(|| {
        block_on(async {
            let s = connect_then_stream("llama3.2", false).await.unwrap();
            let items: Vec<_> = s.collect().await;
            assert!(items.iter().all(Result::is_ok));
        })
    });
    let span = only(&spans);
    assert_eq!(span.name, "chat llama3.2");
    assert_eq!(span.status, "ok");
    let ttfc = span
        .attr("gen_ai.response.time_to_first_chunk")
        .and_then(serde_json::Value::as_f64)
        .expect("time to first chunk");
    // 20 ms to connect, 10 ms to the first chunk; the span lasts ~40 ms.
    assert!(ttfc >= 0.030, "ttfc {ttfc}");
    assert!(span.duration_ms >= 40.0, "duration {}", span.duration_ms);
    assert!(span.duration_ms / 1000.0 > ttfc);
    assert_eq!(span.attr_u64("llm_telemetry.stream.chunks"), Some(2));
    assert_eq!(span.attr_u64("gen_ai.usage.input_tokens"), Some(8));
}

#[test]
fn a_failed_connection_ends_the_span_as_an_error() {
    let spans = stored(|| {
        block_on(async {
            assert!(connect_then_stream("llama3.2", true).await.is_err());
        })
    });
    let span = only(&spans);
    assert_eq!(span.status, "error");
    assert_eq!(span.attr_str("error.type"), Some("ProviderError"));
    assert!(span.attr("llm_telemetry.stream.chunks").is_none());
}

#[test]
fn an_err_item_is_an_error_and_keeps_the_partial_usage() {
    let store = TempStore::new();
    let guard = store.config().init_local().unwrap();
    assert_eq!(drain(breaks_midway()), 3);
    drop(guard);
    let spans = store.spans();
    let span = only(&spans);
    assert_eq!(span.status, "error");
    assert_eq!(span.attr_str("error.type"), Some("ProviderError"));
    let message: String = store
        .open()
        .query_row("SELECT status_message FROM spans", [], |r| r.get(0))
        .unwrap();
    assert_eq!(message, "stream broke");
    assert_eq!(span.attr_u64("llm_telemetry.stream.chunks"), Some(3));
    assert_eq!(span.attr_u64("gen_ai.usage.output_tokens"), Some(2));
}

#[test]
fn a_stream_dropped_early_is_cancelled_with_what_it_had() {
    let spans = stored(|| {
        block_on(async {
            let mut s = std::pin::pin!(final_totals());
            let first = s.next().await.expect("a first chunk");
            assert_eq!(first.text, "Hel");
        })
    });
    let span = only(&spans);
    assert_eq!(span.status, "error");
    assert_eq!(span.attr_str("error.type"), Some("cancelled"));
    assert_eq!(span.attr_u64("llm_telemetry.stream.chunks"), Some(1));
    assert!(span.attr("gen_ai.usage.input_tokens").is_none());
}

#[test]
fn stream_marks_a_type_the_macro_cannot_recognise() {
    let spans = stored(|| assert_eq!(drain(aliased()), 1));
    let span = only(&spans);
    assert_eq!(span.status, "ok");
    assert_eq!(span.attr_u64("gen_ai.usage.input_tokens"), Some(3));
}

#[test]
fn a_stream_never_polled_still_ends_its_span() {
    let spans = stored(|| drop(final_totals()));
    let span = only(&spans);
    assert_eq!(span.attr_str("error.type"), Some("cancelled"));
    assert_eq!(span.attr_u64("llm_telemetry.stream.chunks"), Some(0));
    assert!(span.attr("gen_ai.response.time_to_first_chunk").is_none());
}

#[test]
fn without_a_subscriber_the_stream_is_unchanged() {
    let items: Vec<Chunk> = block_on(final_totals().collect());
    let text: String = items.iter().map(|c| c.text).collect();
    assert_eq!(text, "Hello!");
}

#[test]
fn a_stream_yields_one_time_per_chunk_point_per_chunk_after_the_first() {
    let guard = llm_telemetry::TelemetryConfig::builder()
        .sinks([llm_telemetry::SinkKind::Prometheus])
        .prometheus_addr("none")
        .service_name("streaming-tests")
        .build()
        .init_local()
        .unwrap();
    assert_eq!(drain(final_totals()), 3);
    assert_eq!(drain(deltas()), 3);
    guard.flush();
    let text = guard.prometheus_text().expect("prometheus sink");
    let count = |metric: &str, model: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(&format!("{metric}_count")) && l.contains(model))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {metric}_count for {model} in\n{text}"))
    };
    let ttfc = "gen_ai_client_operation_time_to_first_chunk_seconds";
    let tpoc = "gen_ai_client_operation_time_per_output_chunk_seconds";
    assert_eq!(count(ttfc, "gpt-test"), 1.0);
    assert_eq!(count(tpoc, "gpt-test"), 2.0);
    assert_eq!(count(tpoc, "delta-test"), 2.0);
}

#[test]
fn with_capture_on_the_chunks_are_the_output_and_off_nothing_is_kept() {
    let store = TempStore::new();
    let guard = llm_telemetry::TelemetryConfig::builder()
        .sinks([llm_telemetry::SinkKind::Sqlite])
        .sqlite_db_path(&store.path)
        .capture_content(true)
        .build()
        .init_local()
        .unwrap();
    assert_eq!(drain(final_totals()), 3);
    drop(guard);
    let spans = store.spans();
    let output = only(&spans)
        .attr_str("gen_ai.output.messages")
        .expect("captured output");
    let chunks: Vec<String> = serde_json::from_str(output).expect("a JSON array");
    assert_eq!(chunks.len(), 3);
    assert!(chunks[0].contains("Hel"), "{chunks:?}");

    let spans = stored(|| assert_eq!(drain(final_totals()), 3));
    assert!(only(&spans).attr("gen_ai.output.messages").is_none());
}
