//! The attribute macros of [llm-telemetry]: `#[instrument_inference]`,
//! `#[instrument_agent_turn]`, `#[instrument_tool]`, `#[instrument_retrieval]`,
//! `#[instrument_guardrail]` and `#[instrument_workflow]`.
//!
//! Use them through the `llm-telemetry` crate, which re-exports them; the code they
//! generate calls its doc-hidden `__private` module. This crate has no runtime logic.
//!
//! Each attribute wraps the function in one `tracing` span at level `INFO`, with the
//! caller's module as target, named and attributed after the OpenTelemetry GenAI
//! semantic conventions, then records the outcome on it when the function returns:
//!
//! | | `#[instrument_inference]` | `#[instrument_agent_turn]` | `#[instrument_tool]` |
//! |---|---|---|---|
//! | span name, `gen_ai.operation.name` | `chat` (or the `operation`) | `invoke_agent` | `execute_tool` |
//! | `otel.name` | `chat {model}` | `invoke_agent {agent}` | `execute_tool {tool}` |
//! | `otel.kind` | `client` | `internal` | `internal` |
//! | attributes | `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.*` (`embeddings`: input tokens and `gen_ai.embeddings.dimension.count`) | `gen_ai.agent.name`, `gen_ai.conversation.id`, `user.id` | `gen_ai.tool.name`, `gen_ai.tool.type`, `gen_ai.tool.call.id` |
//! | content (only when capture is on) | `gen_ai.input.messages`, `gen_ai.output.messages` | `gen_ai.input.messages`, `gen_ai.output.messages` | `gen_ai.tool.call.arguments`, `gen_ai.tool.call.result` |
//!
//! | | `#[instrument_retrieval]` | `#[instrument_guardrail]` | `#[instrument_workflow]` |
//! |---|---|---|---|
//! | span name, `gen_ai.operation.name` | `retrieval` | `apply_guardrail` | `invoke_workflow` |
//! | `otel.name` | `retrieval {data_source}` | `apply_guardrail {shield}` | `invoke_workflow {name}` |
//! | `otel.kind` | `client` | `internal` | `internal` |
//! | attributes | `gen_ai.data_source.id`, `gen_ai.request.top_k`, `llm_telemetry.retrieval.document_count` | `llm_telemetry.guardrail.shield_id`, `llm_telemetry.guardrail.violated`, `llm_telemetry.guardrail.violation.level`, `llm_telemetry.guardrail.violation.message` | `gen_ai.workflow.name`, `gen_ai.conversation.id`, `user.id` |
//! | content (only when capture is on) | `gen_ai.retrieval.query.text`, `gen_ai.retrieval.documents` | `gen_ai.input.messages`, `gen_ai.output.messages` | `gen_ai.input.messages`, `gen_ai.output.messages` |
//!
//! Every span also has `otel.status_code` (`ok` or `error`), `otel.status_message`,
//! `error.type` and `code.function`. A function that returns `Err(e)` ends `error`, with
//! `error.type` the short name of the error type and the message its `Display` (or
//! `Debug`); a panic ends it `error` with `error.type = "panic"` and keeps unwinding; a
//! future dropped before it completes ends it `error` with `error.type = "cancelled"`.
//!
//! They apply to free functions, methods (`&self`, `&mut self`, `self`), generic and
//! `unsafe` functions, `async fn`, functions returning `impl Future` (the returned
//! future is instrumented) or another `impl Trait`, trait impl methods and
//! `#[async_trait]` methods, whatever their visibility.
//!
//! Arguments common to the macros:
//!
//! - `name = "..."`: the span's `otel.name`, instead of the convention's (except on
//!   `#[instrument_workflow]`, where `name = expr` is the workflow's name).
//! - `skip(a, b)`: parameters never recorded as content (`self` never is).
//! - `fields(key = expr, other.key = %expr, dbg = ?expr, later)`: extra fields, as in
//!   `tracing`: `%` records with `Display`, `?` with `Debug`, a bare name declares an
//!   empty field that the body can fill with `Span::current().record(..)`.
//! - `crate = path`: where llm-telemetry is, when it is re-exported under another path.
//!
//! Argument expressions (`model = req.model`) may use the function's parameters: they
//! are evaluated once, by reference, before the body runs.
//!
//! Mistakes are compile errors that point at the offending tokens; the function is then
//! left as written, so one mistake gives one error.
//!
//! [llm-telemetry]: https://docs.rs/llm-telemetry

mod async_like;
mod attr;
mod errors;
mod expand;
mod item;
mod signature;
mod spec;
mod stream;
mod validate;

use proc_macro::TokenStream;

/// Instrument a call to a model: one `chat {model}` span (GenAI client span) with the
/// provider, the model, the token usage and the outcome.
///
/// Arguments, besides the common `name`, `skip`, `fields` and `crate`:
///
/// - `model = expr`: `gen_ai.request.model` (`Display`), and the span's `otel.name`
///   `"{operation} {model}"`.
/// - `provider = expr`: `gen_ai.provider.name` (`Display`), e.g. `"ollama"`, `"openai"`.
/// - `operation = chat | text_completion | embeddings | generate_content`: the span's
///   name and `gen_ai.operation.name`; `chat` by default.
/// - `usage = manual`: see below; `usage = sum`: a stream's chunks report deltas.
/// - `stream`: the function returns a stream whose type the macro cannot recognise by
///   its name (an alias of `Pin<Box<dyn Stream<Item = T> + Send>>`).
///
/// **Streams.** On a function that returns a stream — `impl Stream<Item = T>`,
/// `BoxStream<'_, T>`, `LocalBoxStream<'_, T>`, `Pin<Box<dyn Stream<Item = T> + ..>>`, or a
/// `Result` of one, from a plain function, an `async fn`, a function returning
/// `impl Future` or an `#[async_trait]` method — the span stays open until the stream
/// yields `None` or is dropped. It records `gen_ai.request.stream`,
/// `gen_ai.response.time_to_first_chunk` (seconds from the span's start to the first
/// item), `llm_telemetry.stream.chunks`, and the usage the items report (`T:
/// TokenUsage`): each counter's last non-zero value, or their sum with `usage = sum`. An
/// `Err` item or an `Err` from the connection ends it `error`; dropped early, `cancelled`.
///
/// **Token usage.** By default the return type must implement
/// `llm_telemetry::TokenUsage` (it is implemented for `Result<T, E>`, `Option<T>`,
/// `Box<T>`, `Arc<T>` and `&T` when `T` does): `gen_ai.usage.input_tokens`,
/// `gen_ai.usage.output_tokens` and, when present, the cached and reasoning tokens are
/// read from the returned value. A return type without it is a compile error at that
/// type. An `operation = embeddings` span records the input tokens only, and
/// `gen_ai.embeddings.dimension.count` when the return value implements
/// `llm_telemetry::Embeddings` (vectors of `f32`/`f64` and batches of them do; without
/// it, no dimension and no error). With `usage = manual` there is no such requirement: the body reports the
/// usage itself with `llm_telemetry::record_usage(Usage::new(prompt, completion))`.
///
/// With content capture on (`TELEMETRY_CAPTURE_CONTENT=true`), the arguments that
/// implement `Debug` are recorded as a JSON object in `gen_ai.input.messages` and the
/// return value's `Debug` in `gen_ai.output.messages`.
///
/// ```ignore
/// use llm_telemetry::{instrument_inference, TokenUsage, Usage};
///
/// pub struct ChatRequest { pub model: String, pub prompt: String }
/// pub struct ChatResponse { pub text: String, pub prompt_eval_count: u64, pub eval_count: u64 }
///
/// impl TokenUsage for ChatResponse {
///     fn token_usage(&self) -> Option<Usage> {
///         Some(Usage::new(self.prompt_eval_count, self.eval_count))
///     }
/// }
///
/// #[instrument_inference(model = req.model, provider = "ollama")]
/// async fn chat(req: &ChatRequest) -> Result<ChatResponse, std::io::Error> {
///     // ... call the model ...
/// #   Ok(ChatResponse { text: String::new(), prompt_eval_count: 12, eval_count: 3 })
/// }
///
/// #[instrument_inference(model = "nomic-embed-text", provider = "ollama",
///                        operation = embeddings, usage = manual)]
/// fn embed(text: &str) -> Vec<f32> {
///     llm_telemetry::record_usage(Usage::new(text.len() as u64 / 4, 0));
///     vec![0.0; 768]
/// }
///
/// pub struct Chunk { pub delta: String, pub usage: Option<Usage> }
///
/// impl TokenUsage for Chunk {
///     fn token_usage(&self) -> Option<Usage> { self.usage }
/// }
///
/// // The span ends with the stream, not when the function returns.
/// #[instrument_inference(model = "gpt-4o", provider = "openai")]
/// fn chat_stream(prompt: &str) -> futures::stream::BoxStream<'static, Chunk> {
///     // ... open the response stream ...
/// #   unimplemented!()
/// }
/// ```
#[proc_macro_attribute]
pub fn instrument_inference(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument::<attr::InferenceArgs>(args.into(), item.into()).into()
}

/// Instrument one turn of an agent: one `invoke_agent {agent}` span, parent of the
/// inferences and tool calls made during the turn.
///
/// Arguments, besides the common `name`, `skip`, `fields` and `crate`:
///
/// - `agent = expr`: `gen_ai.agent.name` (`Display`); the function's name by default.
/// - `session = expr`: `gen_ai.conversation.id` (`Display`), which groups the turns of
///   one conversation.
/// - `user = expr`: `user.id` (`Display`), the end user the turn serves.
///
/// With content capture on, the arguments that implement `Debug` are recorded as a JSON
/// object in `gen_ai.input.messages` and the return value's `Debug` in
/// `gen_ai.output.messages`.
///
/// ```ignore
/// use llm_telemetry::instrument_agent_turn;
///
/// pub struct Agent { name: String }
///
/// impl Agent {
///     #[instrument_agent_turn(agent = self.name, session = session_id, user = "alice")]
///     pub async fn turn(&self, session_id: &str, input: &str) -> Result<String, std::io::Error> {
///         // ... inferences and tool calls, each a child span ...
/// #       Ok(input.to_owned())
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn instrument_agent_turn(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument::<attr::AgentTurnArgs>(args.into(), item.into()).into()
}

/// Instrument a tool the agent calls: one `execute_tool {tool}` span.
///
/// Arguments, besides the common `name`, `skip`, `fields` and `crate`:
///
/// - `tool = expr`: `gen_ai.tool.name` (`Display`); the function's name by default.
/// - `call_id = expr`: `gen_ai.tool.call.id` (`Display`), the id the model gave the call.
///
/// `gen_ai.tool.type` is `function`. With content capture on, the arguments that
/// implement `Debug` are recorded as a JSON object in `gen_ai.tool.call.arguments` and
/// the return value's `Debug` in `gen_ai.tool.call.result`; `skip` the ones that must
/// never be recorded.
///
/// ```ignore
/// use llm_telemetry::instrument_tool;
///
/// #[instrument_tool(tool = "get_weather", call_id = call.id, skip(api_key))]
/// async fn get_weather(call: &ToolCall, city: &str, api_key: &str) -> Result<Weather, Error> {
///     // ...
/// }
/// ```
#[proc_macro_attribute]
pub fn instrument_tool(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument::<attr::ToolArgs>(args.into(), item.into()).into()
}

/// Instrument a retrieval (a vector store or index query, a RAG step): one
/// `retrieval {data_source}` span (GenAI client span) with the data source, the top-k
/// asked for and the number of documents returned.
///
/// Arguments, besides the common `name`, `skip`, `fields` and `crate`:
///
/// - `data_source = expr`: `gen_ai.data_source.id` (`Display`), and the span's
///   `otel.name` `"retrieval {data_source}"`.
/// - `top_k = expr`: `gen_ai.request.top_k`, recorded as a number: the expression must
///   be an integer (`u32`, `usize`, `i64`, ...), or it is a compile error at it.
/// - `query = expr`: the query recorded as content (`Display`); without it, the
///   arguments are.
///
/// **Documents.** The return type must implement `llm_telemetry::RetrievedDocuments`
/// (it is implemented for `Vec<T>`, `[T]` and `[T; N]`, and for `Result<T, E>`,
/// `Option<T>`, `Box<T>`, `Arc<T>` and `&T` when `T` does):
/// `llm_telemetry.retrieval.document_count` is read from the returned value. A return
/// type without it is a compile error at that type. An `Err` is the span's error, as
/// for every macro.
///
/// With content capture on, the query (or the arguments that implement `Debug`, as a
/// JSON object) is recorded in `gen_ai.retrieval.query.text` and the return value's
/// `Debug` in `gen_ai.retrieval.documents`.
///
/// ```ignore
/// use llm_telemetry::instrument_retrieval;
///
/// #[instrument_retrieval(data_source = self.vector_db_id, top_k = k, query = query)]
/// async fn query_chunks(&self, query: &str, k: usize) -> Result<Vec<Chunk>, Error> {
///     // ... search the vector store ...
/// }
/// ```
#[proc_macro_attribute]
pub fn instrument_retrieval(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument::<attr::RetrievalArgs>(args.into(), item.into()).into()
}

/// Instrument a guardrail (llama-stack's safety shields, `run_shield`): one
/// `apply_guardrail {shield}` span with the shield and its verdict.
///
/// Arguments, besides the common `name`, `skip`, `fields` and `crate`:
///
/// - `shield = expr`: `llm_telemetry.guardrail.shield_id` (`Display`), and the span's
///   `otel.name` `"apply_guardrail {shield}"`.
///
/// **Verdict.** The return type must implement `llm_telemetry::GuardrailVerdict` (it is
/// implemented for `Violation`, and for `Option<T>`, `Result<T, E>`, `Box<T>`,
/// `Arc<T>` and `&T` when `T` does). A violation records
/// `llm_telemetry.guardrail.violated = true`, `llm_telemetry.guardrail.violation.level`
/// (`info`, `warn` or `error`) and `llm_telemetry.guardrail.violation.message`; no
/// violation records `violated = false`. A violation is an outcome, not an error: the
/// span's status is `ok`. An `Err` is the span's error and records no verdict. A return
/// type without `GuardrailVerdict` is a compile error at that type.
///
/// With content capture on, the arguments that implement `Debug` are recorded as a JSON
/// object in `gen_ai.input.messages` and the return value's `Debug` in
/// `gen_ai.output.messages`.
///
/// ```ignore
/// use llm_telemetry::{instrument_guardrail, Violation, ViolationLevel};
///
/// #[instrument_guardrail(shield = shield_id)]
/// fn run_shield(shield_id: &str, message: &str) -> Result<Option<Violation>, Error> {
///     if message.contains("password") {
///         return Ok(Some(Violation::new(ViolationLevel::Error, "I can't help with that.")));
///     }
///     Ok(None)
/// }
/// ```
#[proc_macro_attribute]
pub fn instrument_guardrail(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument::<attr::GuardrailArgs>(args.into(), item.into()).into()
}

/// Instrument a workflow (several agents, or several turns, working on one task): one
/// `invoke_workflow {name}` span, parent of the turns, inferences and tools it runs.
///
/// Arguments, besides the common `skip`, `fields` and `crate`:
///
/// - `name = expr`: `gen_ai.workflow.name` (`Display`); the function's name by default.
///   Here `name` is the workflow's name, which names the span (`invoke_workflow {name}`),
///   not the common `name = "..."` override of `otel.name`.
/// - `user = expr`: `user.id` (`Display`), the end user the workflow serves.
/// - `session = expr`: `gen_ai.conversation.id` (`Display`).
///
/// With content capture on, the arguments that implement `Debug` are recorded as a JSON
/// object in `gen_ai.input.messages` and the return value's `Debug` in
/// `gen_ai.output.messages`.
///
/// ```ignore
/// use llm_telemetry::instrument_workflow;
///
/// #[instrument_workflow(name = "trip-planner", user = req.user_id, session = req.session)]
/// async fn plan_trip(req: &TripRequest) -> Result<Plan, Error> {
///     // ... agent turns, each a child span ...
/// }
/// ```
#[proc_macro_attribute]
pub fn instrument_workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument::<attr::WorkflowArgs>(args.into(), item.into()).into()
}
