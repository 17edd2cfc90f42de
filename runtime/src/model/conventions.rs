//! [`recognise_genai`]: spans recorded by other instrumentations, read as ours.
//!
//! The store, `llm-trace stats` and the viewer read the current GenAI semantic conventions
//! (`gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.usage.input_tokens`, ...) and a
//! span's category. Spans that arrive over OTLP may use the older GenAI names
//! (`gen_ai.system`, `gen_ai.usage.prompt_tokens`: OpenLLMetry, llama-stack) or
//! OpenInference's (`openinference.span.kind`, `llm.model_name`, `llm.token_count.prompt`:
//! Phoenix's instrumentations). This adds the current name beside each one it knows (the
//! original stays, so nothing a sender wrote is lost) and classifies the span.

use super::attr::{attr, AttrValue, Attributes, Key};
use super::semconv::{
    CONVERSATION_ID, OPERATION_NAME, PROVIDER_NAME, REQUEST_MODEL, RESPONSE_MODEL,
    USAGE_CACHED_TOKENS, USAGE_INPUT_TOKENS, USAGE_OUTPUT_TOKENS,
};
use super::vocab::SpanCategory;

/// OpenInference's span kind attribute.
pub const OPENINFERENCE_SPAN_KIND: &str = "openinference.span.kind";

/// Older or foreign attribute names and the current GenAI name each one means.
const ALIASES: [(&str, &str); 14] = [
    ("gen_ai.system", PROVIDER_NAME),
    ("gen_ai.usage.prompt_tokens", USAGE_INPUT_TOKENS),
    ("gen_ai.usage.completion_tokens", USAGE_OUTPUT_TOKENS),
    ("gen_ai.usage.cache_read_input_tokens", USAGE_CACHED_TOKENS),
    ("llm.model_name", REQUEST_MODEL),
    ("llm.provider", PROVIDER_NAME),
    ("llm.system", PROVIDER_NAME),
    ("llm.token_count.prompt", USAGE_INPUT_TOKENS),
    ("llm.token_count.completion", USAGE_OUTPUT_TOKENS),
    (
        "llm.token_count.prompt_details.cache_read",
        USAGE_CACHED_TOKENS,
    ),
    ("llm.response.model", RESPONSE_MODEL),
    ("session.id", CONVERSATION_ID),
    ("tool.name", "gen_ai.tool.name"),
    ("embedding.model_name", REQUEST_MODEL),
];

/// Add the current GenAI name beside each older or OpenInference attribute of `attributes`
/// that has no current counterpart yet, and classify the span: by `gen_ai.operation.name`
/// (set from `openinference.span.kind` when only that is there), else an inference when
/// it names a model and counts tokens.
///
/// ```
/// use llm_telemetry::ingest::{recognise_genai, AttrValue, Attributes, SpanCategory};
///
/// let mut attrs: Attributes = vec![
///     ("openinference.span.kind".into(), AttrValue::from("LLM")),
///     ("llm.model_name".into(), AttrValue::from("gpt-4o")),
///     ("llm.token_count.prompt".into(), AttrValue::U64(12)),
/// ];
/// assert_eq!(recognise_genai(&mut attrs), SpanCategory::Inference);
/// let get = |k: &str| attrs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
/// assert_eq!(get("gen_ai.request.model"), Some(AttrValue::from("gpt-4o")));
/// assert_eq!(get("gen_ai.usage.input_tokens"), Some(AttrValue::U64(12)));
/// assert_eq!(get("gen_ai.operation.name"), Some(AttrValue::from("chat")));
/// ```
pub fn recognise_genai(attributes: &mut Attributes) -> SpanCategory {
    let mut added: Vec<(Key, AttrValue)> = Vec::new();
    for (old, current) in ALIASES {
        if attr(attributes, current).is_some() || added.iter().any(|(k, _)| k == current) {
            continue;
        }
        if let Some(value) = attr(attributes, old) {
            added.push((Key::Borrowed(current), value.clone()));
        }
    }
    attributes.extend(added);
    if attr(attributes, OPERATION_NAME).is_none() {
        let operation = attr(attributes, OPENINFERENCE_SPAN_KIND)
            .and_then(AttrValue::as_str)
            .and_then(openinference_operation)
            .or_else(|| looks_like_inference(attributes).then_some("chat"));
        if let Some(op) = operation {
            attributes.push((Key::Borrowed(OPERATION_NAME), AttrValue::from(op)));
        }
    }
    attr(attributes, OPERATION_NAME)
        .and_then(AttrValue::as_str)
        .map_or(SpanCategory::Other, SpanCategory::from_operation)
}

/// The GenAI operation an OpenInference span kind stands for (`CHAIN` and `UNKNOWN` are
/// none: a chain is any step of a pipeline).
fn openinference_operation(kind: &str) -> Option<&'static str> {
    Some(match kind.to_ascii_uppercase().as_str() {
        "LLM" => "chat",
        "EMBEDDING" => "embeddings",
        "TOOL" => "execute_tool",
        "AGENT" => "invoke_agent",
        "RETRIEVER" | "RERANKER" => "retrieval",
        "GUARDRAIL" => "apply_guardrail",
        _ => return None,
    })
}

/// A span of the older conventions without an operation name that is still an inference:
/// it names a model and counts tokens (`llm.request.type` of OpenLLMetry says which).
fn looks_like_inference(attributes: &Attributes) -> bool {
    let has = |k: &str| attr(attributes, k).is_some();
    let request_type = attr(attributes, "llm.request.type").and_then(AttrValue::as_str);
    let tokens = has(USAGE_INPUT_TOKENS) || has(USAGE_OUTPUT_TOKENS);
    (has(REQUEST_MODEL) || has(RESPONSE_MODEL))
        && (tokens || matches!(request_type, Some("chat" | "completion")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(attrs: &'a Attributes, k: &str) -> Option<&'a AttrValue> {
        attr(attrs, k)
    }

    #[test]
    fn older_gen_ai_names_gain_the_current_ones() {
        let mut attrs: Attributes = vec![
            ("gen_ai.system".into(), "openai".into()),
            ("gen_ai.request.model".into(), "gpt-4o".into()),
            ("gen_ai.usage.prompt_tokens".into(), AttrValue::I64(7)),
            ("gen_ai.usage.completion_tokens".into(), AttrValue::I64(3)),
        ];
        assert_eq!(recognise_genai(&mut attrs), SpanCategory::Inference);
        assert_eq!(get(&attrs, PROVIDER_NAME), Some(&"openai".into()));
        assert_eq!(get(&attrs, USAGE_INPUT_TOKENS), Some(&AttrValue::I64(7)));
        assert_eq!(get(&attrs, USAGE_OUTPUT_TOKENS), Some(&AttrValue::I64(3)));
        // The originals stay.
        assert_eq!(get(&attrs, "gen_ai.system"), Some(&"openai".into()));
    }

    #[test]
    fn current_names_win_over_old_ones_and_operations_classify() {
        let mut attrs: Attributes = vec![
            (OPERATION_NAME.into(), "execute_tool".into()),
            (USAGE_INPUT_TOKENS.into(), AttrValue::U64(5)),
            ("gen_ai.usage.prompt_tokens".into(), AttrValue::U64(99)),
        ];
        assert_eq!(recognise_genai(&mut attrs), SpanCategory::Tool);
        assert_eq!(get(&attrs, USAGE_INPUT_TOKENS), Some(&AttrValue::U64(5)));
        assert_eq!(attrs.len(), 3);
    }

    #[test]
    fn openinference_kinds() {
        for (kind, category) in [
            ("LLM", SpanCategory::Inference),
            ("EMBEDDING", SpanCategory::Inference),
            ("TOOL", SpanCategory::Tool),
            ("AGENT", SpanCategory::AgentTurn),
            ("RETRIEVER", SpanCategory::Retrieval),
            ("GUARDRAIL", SpanCategory::Guardrail),
            ("CHAIN", SpanCategory::Other),
        ] {
            let mut attrs: Attributes = vec![(OPENINFERENCE_SPAN_KIND.into(), kind.into())];
            assert_eq!(recognise_genai(&mut attrs), category, "{kind}");
        }
    }

    #[test]
    fn a_plain_span_stays_other() {
        let mut attrs: Attributes = vec![("http.method".into(), "GET".into())];
        assert_eq!(recognise_genai(&mut attrs), SpanCategory::Other);
        assert_eq!(attrs.len(), 1);
    }
}
