//! Every attribute name the runtime reads or writes, once: the OpenTelemetry GenAI
//! semantic conventions (v1.41 names), the `otel.*` span conventions of `tracing`, and
//! llm-telemetry's own keys — with the readers that interpret them ([`usage_of`],
//! [`guardrail_violated`]).
//!
//! The macros crate writes the same names into the spans it declares; `tests/macro_shapes.rs`
//! checks that the two agree.

use super::attr::{attr, AttrValue, Attributes};
use super::usage::Usage;

/// `gen_ai.operation.name`: `chat`, `execute_tool`, `invoke_agent`, ...
pub const OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`: `ollama`, `openai`, ...
pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.request.model`.
pub const REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.response.model`.
pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.token.type` (`input` or `output`), a label of `gen_ai.client.token.usage`.
pub const TOKEN_TYPE: &str = "gen_ai.token.type";
/// `gen_ai.conversation.id`: the conversation (session) an agent turn or workflow belongs to.
pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
/// `user.id`: the end user an agent turn or workflow serves.
pub const USER_ID: &str = "user.id";
/// `error.type`: the short type name of the error, `panic` or `cancelled`.
pub const ERROR_TYPE: &str = "error.type";

/// `gen_ai.usage.input_tokens`.
pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`.
pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.cache_read.input_tokens`.
pub const USAGE_CACHED_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// `gen_ai.usage.reasoning.output_tokens`.
pub const USAGE_REASONING_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";

/// `gen_ai.usage.cost`: an inference's cost in USD, from its model's price
/// ([`price`](super::price)); absent when the price is not known (never 0 for unknown).
pub const USAGE_COST: &str = "gen_ai.usage.cost";

/// `gen_ai.output.messages`: what a model answered (content: capture only).
pub const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";

/// Attributes that hold prompts, completions, tool arguments or results: recorded only
/// when content capture is on.
pub const CONTENT_FIELDS: [&str; 6] = [
    "gen_ai.input.messages",
    OUTPUT_MESSAGES,
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    RETRIEVAL_QUERY,
    RETRIEVAL_DOCUMENTS,
];

/// `true` on a span when at least one of its content attributes ([`CONTENT_FIELDS`]) was
/// cut to `TELEMETRY_CAPTURE_MAX_BYTES` (the cut value carries a `…[truncated N bytes]`
/// or `…[truncated N elements]` marker); absent otherwise.
pub const CONTENT_TRUNCATED: &str = "llm_telemetry.content.truncated";

/// `otel.name`: the span's display name (`chat llama3.2:3b`).
pub const OTEL_NAME: &str = "otel.name";
/// `otel.kind`: `client`, `internal`, ...
pub const OTEL_KIND: &str = "otel.kind";
/// `otel.status_code`: `ok` or `error`.
pub const OTEL_STATUS_CODE: &str = "otel.status_code";
/// `otel.status_message`: the error's text.
pub const OTEL_STATUS_MESSAGE: &str = "otel.status_message";

/// `http.response.status_code` (HTTP semantic conventions), recorded when a request
/// answers; the HTTP middleware declares its other attributes (`http.request.method`,
/// `http.route`, `url.path`) in its span macro, where names must be literal.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";

/// `gen_ai.request.stream`: true on a streamed inference.
#[allow(dead_code)] // the macros write it (as a literal: span field names must be)
pub const REQUEST_STREAM: &str = "gen_ai.request.stream";
/// `gen_ai.response.time_to_first_chunk`: seconds from the call to a stream's first item.
pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// The number of items a streamed inference yielded (no GenAI convention counts them).
pub const STREAM_CHUNKS: &str = "llm_telemetry.stream.chunks";

/// `gen_ai.data_source.id`: what a retrieval searched (an index, a vector store).
#[allow(dead_code)] // the macros write it (as a literal: span field names must be)
pub const DATA_SOURCE_ID: &str = "gen_ai.data_source.id";
/// `gen_ai.request.top_k`: how many documents a retrieval asked for (v1.41 name).
#[allow(dead_code)] // the macros write it (as a literal: span field names must be)
pub const REQUEST_TOP_K: &str = "gen_ai.request.top_k";
/// `gen_ai.retrieval.query.text`: a retrieval's query (content: capture only).
pub const RETRIEVAL_QUERY: &str = "gen_ai.retrieval.query.text";
/// `gen_ai.retrieval.documents`: the documents a retrieval returned (content: capture only).
pub const RETRIEVAL_DOCUMENTS: &str = "gen_ai.retrieval.documents";
/// How many documents a retrieval returned (no GenAI convention counts them).
pub const RETRIEVAL_DOCUMENT_COUNT: &str = "llm_telemetry.retrieval.document_count";
/// `gen_ai.embeddings.dimension.count`: the dimension of the embeddings returned.
pub const EMBEDDINGS_DIMENSION: &str = "gen_ai.embeddings.dimension.count";

/// The shield (guardrail) that checked the content (llama-stack's `shield_id`).
pub const GUARDRAIL_SHIELD: &str = "llm_telemetry.guardrail.shield_id";
/// Whether the shield found a violation (a boolean; a violation is not a span error).
pub const GUARDRAIL_VIOLATED: &str = "llm_telemetry.guardrail.violated";
/// The violation's level: `info`, `warn` or `error` (llama-stack's `ViolationLevel`).
pub const GUARDRAIL_VIOLATION_LEVEL: &str = "llm_telemetry.guardrail.violation.level";
/// The violation's message, as the shield gives it to the user.
pub const GUARDRAIL_VIOLATION_MESSAGE: &str = "llm_telemetry.guardrail.violation.message";

/// `gen_ai.workflow.name`: a multi-agent workflow (v1.41 `invoke_workflow` span).
#[allow(dead_code)] // the macros write it (as a literal: span field names must be)
pub const WORKFLOW_NAME: &str = "gen_ai.workflow.name";

/// An agent turn's or workflow's input tokens: its inferences' `gen_ai.usage.input_tokens`
/// summed, under a key of its own, so that a back-end summing `gen_ai.usage.*` over every
/// span of a trace counts each token once.
pub const TOTAL_INPUT_TOKENS: &str = "llm_telemetry.usage.input_tokens";
/// An agent turn's or workflow's output tokens (its inferences' summed).
pub const TOTAL_OUTPUT_TOKENS: &str = "llm_telemetry.usage.output_tokens";
/// An agent turn's or workflow's cached input tokens, when its inferences reported some.
pub const TOTAL_CACHED_TOKENS: &str = "llm_telemetry.usage.cache_read.input_tokens";
/// An agent turn's or workflow's reasoning tokens, when its inferences reported some.
pub const TOTAL_REASONING_TOKENS: &str = "llm_telemetry.usage.reasoning.output_tokens";

/// An agent turn's or workflow's cost in USD: its inferences' known `gen_ai.usage.cost`
/// summed; written only when at least one of them had a price.
pub const TOTAL_COST: &str = "llm_telemetry.cost";
/// How many of an agent turn's or workflow's inferences had no cost (no price for their
/// model, or no usage); written only when some had none.
pub const COST_UNKNOWN_CALLS: &str = "llm_telemetry.cost_unknown_calls";

/// An agent turn's or workflow's inference count (the inferences below it, at any depth).
pub const INFERENCE_CALLS: &str = "llm_telemetry.inference_calls";
/// An agent turn's or workflow's tool-call count (the tool calls below it, at any depth).
pub const TOOL_CALLS: &str = "llm_telemetry.tool_calls";

/// Whether a guardrail span recorded a violation: [`GUARDRAIL_VIOLATED`] is `true` (a
/// missing or non-boolean value is no violation).
pub fn guardrail_violated(attrs: &Attributes) -> bool {
    matches!(attr(attrs, GUARDRAIL_VIOLATED), Some(AttrValue::Bool(true)))
}

/// The usage recorded on an inference span, if any: `None` unless the input or the
/// output count is present. The first attribute of a key counts, as in
/// [`attr`](super::attr::attr).
pub fn usage_of(attrs: &Attributes) -> Option<Usage> {
    // One pass over the attributes instead of one look-up per slot.
    let mut found: [Option<&AttrValue>; 4] = [None; 4];
    for (k, v) in attrs {
        let Some(slot) = usage_slot(k) else { continue };
        if found[slot].is_none() {
            found[slot] = Some(v);
        }
    }
    let get = |i: usize| found[i].and_then(AttrValue::as_u64);
    let input = get(0);
    let output = get(1);
    if input.is_none() && output.is_none() {
        return None;
    }
    Some(Usage {
        prompt_tokens: input.unwrap_or(0),
        completion_tokens: output.unwrap_or(0),
        cached_tokens: get(2),
        reasoning_tokens: get(3),
    })
}

/// The `gen_ai.usage.*` slot table: the index of a usage attribute in the order of
/// [`Usage`]'s fields (prompt, completion, cached, reasoning), `None` for other names.
/// Writers and readers of usage index their slots with it.
#[inline]
pub fn usage_slot(name: &str) -> Option<usize> {
    // Constants as patterns: one `match`, compiled as the literal names would be.
    match name {
        USAGE_INPUT_TOKENS => Some(0),
        USAGE_OUTPUT_TOKENS => Some(1),
        USAGE_CACHED_TOKENS => Some(2),
        USAGE_REASONING_TOKENS => Some(3),
        _ => None,
    }
}
