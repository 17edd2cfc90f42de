//! Run-time behaviour of `#[instrument_inference]`, `#[instrument_agent_turn]` and
//! `#[instrument_tool]` on every function shape: the span each call opens (name,
//! `otel.name`, GenAI fields, parent) and the outcome recorded on it (status, error
//! type and message, token usage, content).
//!
//! A small recording layer of this file's own, installed per test with
//! `tracing::subscriber::with_default` (thread-local, no global state), keeps every
//! closed span with its fields.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

use llm_telemetry::{
    instrument_agent_turn, instrument_inference, instrument_tool, record_usage, TelemetryConfig,
    TokenUsage, Usage,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

// ---------------------------------------------------------------------------------------
// The recording layer

/// A field value as recorded.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str(String),
    U64(u64),
    I64(i64),
    Bool(bool),
}

/// One closed span.
#[derive(Clone, Debug)]
struct Recorded {
    id: u64,
    parent: Option<u64>,
    name: &'static str,
    target: String,
    level: tracing::Level,
    fields: BTreeMap<String, Value>,
}

impl Recorded {
    fn str(&self, key: &str) -> Option<&str> {
        match self.fields.get(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn u64(&self, key: &str) -> Option<u64> {
        match self.fields.get(key)? {
            Value::U64(n) => Some(*n),
            _ => None,
        }
    }

    fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    #[track_caller]
    fn assert_ok(&self) {
        assert_eq!(self.str("otel.status_code"), Some("ok"), "{self:#?}");
        assert!(!self.has("error.type"), "{self:#?}");
    }

    #[track_caller]
    fn assert_error(&self, error_type: &str, message: Option<&str>) {
        assert_eq!(self.str("otel.status_code"), Some("error"), "{self:#?}");
        assert_eq!(self.str("error.type"), Some(error_type), "{self:#?}");
        assert_eq!(self.str("otel.status_message"), message, "{self:#?}");
    }
}

#[derive(Clone, Default)]
struct Recorder {
    closed: Arc<Mutex<Vec<Recorded>>>,
}

struct FieldVisitor<'a>(&'a mut BTreeMap<String, Value>);

impl Visit for FieldVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::Str(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::Str(value.to_owned()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::I64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::Bool(value));
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = BTreeMap::new();
        attrs.record(&mut FieldVisitor(&mut fields));
        let metadata = span.metadata();
        span.extensions_mut().insert(Recorded {
            id: id.into_u64(),
            parent: span.parent().map(|p| p.id().into_u64()),
            name: metadata.name(),
            target: metadata.target().to_owned(),
            level: *metadata.level(),
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(recorded) = span.extensions_mut().get_mut::<Recorded>() {
            values.record(&mut FieldVisitor(&mut recorded.fields));
        };
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        if let Some(recorded) = span.extensions_mut().remove::<Recorded>() {
            self.closed.lock().unwrap().push(recorded);
        };
    }
}

/// Run `f` under a subscriber with the recording layer; the spans closed meanwhile,
/// in the order they closed.
fn record<R>(f: impl FnOnce() -> R) -> (R, Vec<Recorded>) {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let result = tracing::subscriber::with_default(subscriber, f);
    let closed = std::mem::take(&mut *recorder.closed.lock().unwrap());
    (result, closed)
}

/// `record` for a future, on a current-thread tokio runtime.
fn record_async<F: Future>(f: F) -> (F::Output, Vec<Recorded>) {
    record(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
}

#[track_caller]
fn only(spans: Vec<Recorded>) -> Recorded {
    assert_eq!(spans.len(), 1, "{spans:#?}");
    spans.into_iter().next().unwrap()
}

#[track_caller]
fn find<'a>(spans: &'a [Recorded], otel_name: &str) -> &'a Recorded {
    spans
        .iter()
        .find(|s| s.str("otel.name") == Some(otel_name))
        .unwrap_or_else(|| panic!("no span `{otel_name}` in {spans:#?}"))
}

// ---------------------------------------------------------------------------------------
// Types used by the instrumented functions

#[derive(Debug, Clone, PartialEq)]
struct ChatResponse {
    text: String,
    prompt_eval_count: u64,
    eval_count: u64,
}

impl TokenUsage for ChatResponse {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(self.prompt_eval_count, self.eval_count))
    }
}

#[derive(Debug)]
struct ChatRequest {
    model: String,
    prompt: String,
}

#[derive(Debug, PartialEq)]
enum ApiError {
    RateLimited { retry_after: u32 },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::RateLimited { retry_after } => {
                write!(f, "rate limited, retry after {retry_after}s")
            }
        }
    }
}

impl std::error::Error for ApiError {}

/// An error that is `Debug` only.
#[derive(Debug)]
struct DebugOnly(#[allow(dead_code)] u8);

/// An error that can't be formatted at all.
struct Opaque;

fn reply(prompt: &str) -> ChatResponse {
    ChatResponse {
        text: format!("echo: {prompt}"),
        prompt_eval_count: prompt.len() as u64,
        eval_count: 3,
    }
}

// ---------------------------------------------------------------------------------------
// Inference

#[instrument_inference(model = req.model, provider = "ollama")]
fn chat(req: &ChatRequest) -> Result<ChatResponse, ApiError> {
    if req.prompt.is_empty() {
        return Err(ApiError::RateLimited { retry_after: 7 });
    }
    Ok(reply(&req.prompt))
}

#[test]
fn inference_span_has_the_genai_shape() {
    let req = ChatRequest {
        model: "llama3.2:3b".into(),
        prompt: "hello".into(),
    };
    let (result, spans) = record(|| chat(&req));
    assert_eq!(result.unwrap().text, "echo: hello");
    let span = only(spans);
    assert_eq!(span.name, "chat");
    assert_eq!(span.level, tracing::Level::INFO);
    assert_eq!(span.target, module_path!());
    assert_eq!(span.str("otel.name"), Some("chat llama3.2:3b"));
    assert_eq!(span.str("otel.kind"), Some("client"));
    assert_eq!(span.str("gen_ai.operation.name"), Some("chat"));
    assert_eq!(span.str("gen_ai.provider.name"), Some("ollama"));
    assert_eq!(span.str("gen_ai.request.model"), Some("llama3.2:3b"));
    assert_eq!(span.str("code.function"), Some("chat"));
    assert_eq!(span.u64("gen_ai.usage.input_tokens"), Some(5));
    assert_eq!(span.u64("gen_ai.usage.output_tokens"), Some(3));
    assert!(!span.has("gen_ai.usage.cache_read.input_tokens"));
    span.assert_ok();
}

#[test]
fn err_sets_status_error_type_and_message() {
    let req = ChatRequest {
        model: "m".into(),
        prompt: String::new(),
    };
    let (result, spans) = record(|| chat(&req));
    assert_eq!(result, Err(ApiError::RateLimited { retry_after: 7 }));
    let span = only(spans);
    span.assert_error("ApiError", Some("rate limited, retry after 7s"));
    assert!(!span.has("gen_ai.usage.input_tokens"));
}

#[instrument_inference(model = "m")]
fn fails_debug_only() -> Result<Usage, DebugOnly> {
    Err(DebugOnly(4))
}

#[instrument_inference(model = "m")]
fn fails_opaque() -> Result<Usage, Opaque> {
    Err(Opaque)
}

#[instrument_tool]
fn fails_generic<E>(error: E) -> Result<(), E> {
    Err(error)
}

#[instrument_tool]
fn fails_generic_display<E: std::fmt::Display>(error: E) -> Result<(), E> {
    Err(error)
}

#[instrument_tool]
fn fails_boxed() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    let n: u8 = "not a number".parse()?;
    Ok(n)
}

#[test]
fn error_message_falls_back_to_debug_then_to_nothing() {
    let (_, spans) = record(fails_debug_only);
    only(spans).assert_error("DebugOnly", Some("DebugOnly(4)"));

    let (_, spans) = record(fails_opaque);
    only(spans).assert_error("Opaque", None);

    // A generic error type gets the message its bounds allow; its type name is the
    // caller's.
    let (_, spans) = record(|| fails_generic(ApiError::RateLimited { retry_after: 1 }));
    only(spans).assert_error("ApiError", None);
    let (_, spans) = record(|| fails_generic_display(ApiError::RateLimited { retry_after: 1 }));
    only(spans).assert_error("ApiError", Some("rate limited, retry after 1s"));

    // `?` converting into a boxed error.
    let (_, spans) = record(fails_boxed);
    only(spans).assert_error("Box", Some("invalid digit found in string"));
}

#[instrument_inference(model = "m", provider = "local", usage = manual)]
fn streamed(prompt: &str) -> String {
    record_usage(
        Usage::new(prompt.len() as u64, 2)
            .with_cached_tokens(1)
            .with_reasoning_tokens(9),
    );
    prompt.to_uppercase()
}

#[test]
fn manual_usage_is_recorded_from_the_body() {
    let (text, spans) = record(|| streamed("abc"));
    assert_eq!(text, "ABC");
    let span = only(spans);
    assert_eq!(span.u64("gen_ai.usage.input_tokens"), Some(3));
    assert_eq!(span.u64("gen_ai.usage.output_tokens"), Some(2));
    assert_eq!(span.u64("gen_ai.usage.cache_read.input_tokens"), Some(1));
    assert_eq!(span.u64("gen_ai.usage.reasoning.output_tokens"), Some(9));
    span.assert_ok();
}

#[instrument_inference(operation = embeddings, model = model, provider = provider)]
fn embed(model: &str, provider: String, input: &[&str]) -> Option<Usage> {
    let _ = provider;
    Some(Usage::new(input.len() as u64, 0))
}

#[instrument_inference]
fn anonymous() -> Usage {
    Usage::new(1, 1)
}

#[test]
fn operation_and_missing_model() {
    let (_, spans) = record(|| embed("nomic", "ollama".to_owned(), &["a", "b"]));
    let span = only(spans);
    assert_eq!(span.name, "embeddings");
    assert_eq!(span.str("otel.name"), Some("embeddings nomic"));
    assert_eq!(span.str("gen_ai.operation.name"), Some("embeddings"));
    assert_eq!(span.str("gen_ai.provider.name"), Some("ollama"));
    assert_eq!(span.u64("gen_ai.usage.input_tokens"), Some(2));

    let (_, spans) = record(anonymous);
    let span = only(spans);
    assert_eq!(span.str("otel.name"), Some("chat"));
    assert!(!span.has("gen_ai.request.model"));
    assert!(!span.has("gen_ai.provider.name"));
}

// ---------------------------------------------------------------------------------------
// Panics

#[instrument_tool]
fn explode(message: &str) -> u8 {
    if !message.is_empty() {
        panic!("{message}");
    }
    0
}

#[test]
fn panic_marks_the_span_and_keeps_unwinding() {
    let (caught, spans) = record(|| std::panic::catch_unwind(|| explode("boom")));
    let payload = caught.expect_err("the panic reached the caller");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("boom")
    );
    only(spans).assert_error("panic", Some("the function panicked"));
}

// ---------------------------------------------------------------------------------------
// Agent turns and tools

struct Agent {
    name: String,
    history: Vec<String>,
}

impl Agent {
    #[instrument_agent_turn(agent = self.name, session = session_id)]
    fn turn(&mut self, session_id: &str, input: &str) -> Result<&str, ApiError> {
        let reply = chat(&ChatRequest {
            model: "m".into(),
            prompt: input.into(),
        })?;
        let weather = get_weather("Paris", "secret")?;
        self.history.push(format!("{} / {weather}", reply.text));
        Ok(self.history.last().unwrap())
    }

    #[instrument_agent_turn]
    fn reset(self) -> Vec<String> {
        self.history
    }

    #[instrument_tool(tool = self.name, call_id = "call-7")]
    fn history_mut(&mut self) -> &mut Vec<String> {
        &mut self.history
    }
}

#[instrument_tool(skip(api_key), fields(app.city = %city, app.attempt = 1u64, app.later))]
fn get_weather(city: &str, api_key: &str) -> Result<String, ApiError> {
    let _ = api_key;
    Ok(format!("sunny in {city}"))
}

#[instrument_tool(name = "custom span name", tool = "renamed")]
fn renamed() {}

#[test]
fn agent_turn_is_the_parent_of_its_inferences_and_tools() {
    let mut agent = Agent {
        name: "weather-bot".into(),
        history: Vec::new(),
    };
    let (reply, spans) = record(|| agent.turn("session-1", "hi").map(str::to_owned));
    assert_eq!(reply.unwrap(), "echo: hi / sunny in Paris");
    assert_eq!(spans.len(), 3, "{spans:#?}");

    let turn = find(&spans, "invoke_agent weather-bot");
    assert_eq!(turn.name, "invoke_agent");
    assert_eq!(turn.str("otel.kind"), Some("internal"));
    assert_eq!(turn.str("gen_ai.operation.name"), Some("invoke_agent"));
    assert_eq!(turn.str("gen_ai.agent.name"), Some("weather-bot"));
    assert_eq!(turn.str("gen_ai.conversation.id"), Some("session-1"));
    assert_eq!(turn.parent, None);
    turn.assert_ok();

    let inference = find(&spans, "chat m");
    assert_eq!(inference.parent, Some(turn.id));

    let tool = find(&spans, "execute_tool get_weather");
    assert_eq!(tool.name, "execute_tool");
    assert_eq!(tool.parent, Some(turn.id));
    assert_eq!(tool.str("gen_ai.tool.name"), Some("get_weather"));
    assert_eq!(tool.str("gen_ai.tool.type"), Some("function"));
    assert!(!tool.has("gen_ai.tool.call.id"));
    assert_eq!(tool.str("app.city"), Some("Paris"));
    assert_eq!(tool.u64("app.attempt"), Some(1));
    assert!(!tool.has("app.later"));
    tool.assert_ok();
}

#[test]
fn defaults_overrides_and_receivers() {
    let mut agent = Agent {
        name: "bot".into(),
        history: vec!["x".into()],
    };
    let (_, spans) = record(|| agent.history_mut().push("y".into()));
    let tool = only(spans);
    assert_eq!(tool.str("otel.name"), Some("execute_tool bot"));
    assert_eq!(tool.str("gen_ai.tool.call.id"), Some("call-7"));
    assert_eq!(tool.str("code.function"), Some("history_mut"));

    let (history, spans) = record(|| agent.reset());
    assert_eq!(history, ["x", "y"]);
    let turn = only(spans);
    assert_eq!(turn.str("otel.name"), Some("invoke_agent reset"));
    assert_eq!(turn.str("gen_ai.agent.name"), Some("reset"));
    assert!(!turn.has("gen_ai.conversation.id"));

    let (_, spans) = record(renamed);
    let tool = only(spans);
    assert_eq!(tool.name, "execute_tool");
    assert_eq!(tool.str("otel.name"), Some("custom span name"));
    assert_eq!(tool.str("gen_ai.tool.name"), Some("renamed"));
}

// ---------------------------------------------------------------------------------------
// Async

#[instrument_inference(model = model, provider = "ollama")]
async fn chat_async(model: &str, prompt: String) -> Result<ChatResponse, ApiError> {
    tokio::task::yield_now().await;
    if prompt.is_empty() {
        return Err(ApiError::RateLimited { retry_after: 1 });
    }
    Ok(reply(&prompt))
}

#[instrument_tool(call_id = call_id)]
async fn lookup(call_id: u32, city: &str) -> Result<String, ApiError> {
    tokio::task::yield_now().await;
    Ok(format!("{call_id}:{city}"))
}

#[instrument_agent_turn(agent = "async-agent", session = session)]
async fn async_turn(session: &str, input: &str) -> Result<String, ApiError> {
    let reply = chat_async("m", input.to_owned()).await?;
    let found = lookup(1, "Paris").await?;
    Ok(format!("{} {found}", reply.text))
}

#[test]
fn async_fn_spans_nest_across_awaits() {
    let (reply, spans) = record_async(async_turn("s-2", "hey"));
    assert_eq!(reply.unwrap(), "echo: hey 1:Paris");
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let turn = find(&spans, "invoke_agent async-agent");
    let inference = find(&spans, "chat m");
    let tool = find(&spans, "execute_tool lookup");
    assert_eq!(inference.parent, Some(turn.id));
    assert_eq!(tool.parent, Some(turn.id));
    assert_eq!(inference.u64("gen_ai.usage.input_tokens"), Some(3));
    assert_eq!(tool.str("gen_ai.tool.call.id"), Some("1"));
    for span in [turn, inference, tool] {
        span.assert_ok();
    }

    let (_, spans) = record_async(async_turn("s-3", ""));
    let turn = find(&spans, "invoke_agent async-agent");
    turn.assert_error("ApiError", Some("rate limited, retry after 1s"));
    find(&spans, "chat m").assert_error("ApiError", Some("rate limited, retry after 1s"));
}

#[instrument_inference(model = "m", usage = manual)]
fn returns_future(prompt: &str) -> impl Future<Output = String> + '_ {
    async move {
        tokio::task::yield_now().await;
        record_usage(Usage::new(prompt.len() as u64, 1));
        prompt.to_uppercase()
    }
}

#[instrument_inference(model = "m")]
fn returns_ready(n: u64) -> impl Future<Output = Result<Usage, ApiError>> {
    std::future::ready(Ok(Usage::new(n, n + 1)))
}

#[test]
fn impl_future_is_instrumented_until_it_completes() {
    let (text, spans) = record_async(async {
        let future = returns_future("abcd");
        // The span is open, but the body of the future has not run yet.
        tokio::task::yield_now().await;
        future.await
    });
    assert_eq!(text, "ABCD");
    let span = only(spans);
    assert_eq!(span.u64("gen_ai.usage.input_tokens"), Some(4));
    span.assert_ok();

    // The span opens when the function is called, so the call happens under `record`.
    let (_, spans) = record_async(async { returns_ready(5).await });
    let span = only(spans);
    assert_eq!(span.u64("gen_ai.usage.input_tokens"), Some(5));
    assert_eq!(span.u64("gen_ai.usage.output_tokens"), Some(6));
}

#[instrument_tool]
async fn never_finishes() {
    std::future::pending::<()>().await;
}

#[instrument_tool]
async fn panics_later() -> u8 {
    tokio::task::yield_now().await;
    panic!("async boom");
}

#[test]
fn dropped_future_is_cancelled_and_async_panic_is_recorded() {
    let ((), spans) = record(|| {
        let mut future = pin!(never_finishes());
        struct Noop;
        impl Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
    });
    only(spans).assert_error(
        "cancelled",
        Some("the future was dropped before it completed"),
    );

    let (joined, spans) = record_async(async { tokio::spawn(panics_later()).await });
    assert!(joined.unwrap_err().is_panic());
    only(spans).assert_error("panic", Some("the function panicked"));
}

// `#[async_trait]` methods: the attribute instruments the boxed future.
#[async_trait::async_trait]
trait Model: Send + Sync {
    async fn complete(&self, prompt: &str) -> Result<ChatResponse, ApiError>;
}

struct Local {
    model: String,
}

#[async_trait::async_trait]
impl Model for Local {
    #[instrument_inference(model = self.model, provider = "local")]
    async fn complete(&self, prompt: &str) -> Result<ChatResponse, ApiError> {
        tokio::task::yield_now().await;
        let answer = lookup(2, prompt).await?;
        Ok(reply(&answer))
    }
}

#[test]
fn async_trait_methods_are_instrumented_around_the_future() {
    let model = Local {
        model: "qwen".into(),
    };
    let (reply, spans) = record_async(async { model.complete("Oslo").await });
    assert_eq!(reply.unwrap().text, "echo: 2:Oslo");
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let inference = find(&spans, "chat qwen");
    assert_eq!(inference.str("gen_ai.provider.name"), Some("local"));
    assert_eq!(inference.u64("gen_ai.usage.input_tokens"), Some(6));
    inference.assert_ok();
    // The tool called inside the future is a child: the future runs inside the span.
    assert_eq!(
        find(&spans, "execute_tool lookup").parent,
        Some(inference.id)
    );
}

// ---------------------------------------------------------------------------------------
// Content capture and disabled spans

#[test]
fn content_is_not_recorded_without_the_llm_telemetry_layer() {
    let (_, spans) = record(|| get_weather("Paris", "secret"));
    let tool = only(spans);
    assert!(!tool.has("gen_ai.tool.call.arguments"), "{tool:#?}");
    assert!(!tool.has("gen_ai.tool.call.result"), "{tool:#?}");

    let req = ChatRequest {
        model: "m".into(),
        prompt: "p".into(),
    };
    let (_, spans) = record(|| chat(&req));
    let inference = only(spans);
    assert!(!inference.has("gen_ai.input.messages"));
    assert!(!inference.has("gen_ai.output.messages"));
}

#[test]
fn content_is_recorded_when_the_llm_telemetry_layer_captures_it() {
    let config = TelemetryConfig::builder()
        .sinks([])
        .capture_content(true)
        .build();
    let (telemetry, _guard) = llm_telemetry::layer(&config).unwrap();
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry()
        .with(telemetry)
        .with(recorder.clone());
    tracing::subscriber::with_default(subscriber, || {
        let _ = get_weather("Paris", "secret");
        let _ = chat(&ChatRequest {
            model: "m".into(),
            prompt: "p".into(),
        });
    });
    let spans = std::mem::take(&mut *recorder.closed.lock().unwrap());

    let tool = find(&spans, "execute_tool get_weather");
    let arguments: serde_json::Value =
        serde_json::from_str(tool.str("gen_ai.tool.call.arguments").unwrap()).unwrap();
    // `api_key` is skipped.
    assert_eq!(arguments, serde_json::json!({ "city": "Paris" }));
    assert_eq!(
        tool.str("gen_ai.tool.call.result"),
        Some(r#"Ok("sunny in Paris")"#)
    );

    let inference = find(&spans, "chat m");
    let input: serde_json::Value =
        serde_json::from_str(inference.str("gen_ai.input.messages").unwrap()).unwrap();
    assert_eq!(
        input,
        serde_json::json!({ "req": r#"ChatRequest { model: "m", prompt: "p" }"# })
    );
    assert!(inference
        .str("gen_ai.output.messages")
        .unwrap()
        .starts_with("Ok(ChatResponse {"));
}

#[test]
fn instrumented_functions_work_without_a_subscriber() {
    let ((), spans) = record(|| {
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            let req = ChatRequest {
                model: "m".into(),
                prompt: "p".into(),
            };
            assert_eq!(chat(&req).unwrap().text, "echo: p");
            assert_eq!(streamed("x"), "X");
            assert!(std::panic::catch_unwind(|| explode("quiet")).is_err());
        })
    });
    assert!(spans.is_empty());
}
