//! Token usage onto a span: what the outcome dispatch records for an inference, and
//! [`record_usage`] for bodies that report their own (`usage = manual`).

use tracing::field;
use tracing::Span;

use crate::model::semconv::{
    usage_slot, OTEL_STATUS_CODE, USAGE_CACHED_TOKENS, USAGE_INPUT_TOKENS, USAGE_OUTPUT_TOKENS,
    USAGE_REASONING_TOKENS,
};
use crate::model::usage::Usage;

/// Record `usage` on `span` as `gen_ai.usage.*` (`u64`). `None`, or a disabled span,
/// records nothing. Fields the span did not declare are ignored by `tracing`.
pub fn record_usage_on(span: &Span, usage: Option<Usage>) {
    let Some(usage) = usage else { return };
    if span.is_disabled() {
        return;
    }
    if !record_usage_and_status(span, &usage, None) {
        span.record(USAGE_INPUT_TOKENS, usage.prompt_tokens);
        span.record(USAGE_OUTPUT_TOKENS, usage.completion_tokens);
        if let Some(cached) = usage.cached_tokens {
            span.record(USAGE_CACHED_TOKENS, cached);
        }
        if let Some(reasoning) = usage.reasoning_tokens {
            span.record(USAGE_REASONING_TOKENS, reasoning);
        }
    }
}

/// Record `usage` (as [`record_usage_on`] does) and then mark the span successful: in
/// one `record` when the span declares every field, so the subscriber looks the span up
/// once instead of three to five times.
pub fn record_usage_and_ok(span: &Span, usage: Option<Usage>) {
    match usage {
        Some(usage) if !span.is_disabled() => {
            if !record_usage_and_status(span, &usage, Some("ok")) {
                record_usage_on(span, Some(usage));
                super::status::record_ok(span);
            }
        }
        _ => super::status::record_ok(span),
    }
}

/// The usage fields (those that are `Some`), then `otel.status_code = status` if given,
/// in one `ValueSet`, in that order. False, recording nothing, when the span does not
/// declare all of them.
fn record_usage_and_status(span: &Span, usage: &Usage, status: Option<&str>) -> bool {
    let Some(meta) = span.metadata() else {
        return false;
    };
    let fields = meta.fields();
    // One pass over the declared names (as `FieldSet::field`, the first of a name wins),
    // instead of one scan per field.
    let mut found: [Option<field::Field>; 5] = Default::default();
    for f in fields.iter() {
        let name = f.name();
        let slot = match usage_slot(name) {
            Some(slot) => slot,
            None if name == OTEL_STATUS_CODE => 4,
            None => continue,
        };
        if found[slot].is_none() {
            found[slot] = Some(f);
            if found.iter().all(Option::is_some) {
                break;
            }
        }
    }
    let [Some(input), Some(output), Some(cached), Some(reasoning), status_code] = found else {
        return false;
    };
    let status_field = match status {
        Some(_) => match status_code {
            Some(f) => Some(f),
            None => return false,
        },
        None => None,
    };
    // A `None` value is skipped by the visitors: absent counts are not recorded.
    let cached_value = usage.cached_tokens;
    let reasoning_value = usage.reasoning_tokens;
    let cached_value = cached_value.as_ref().map(|v| v as &dyn field::Value);
    let reasoning_value = reasoning_value.as_ref().map(|v| v as &dyn field::Value);
    match (&status_field, status) {
        (Some(status_field), Some(status)) => {
            span.record_all(&fields.value_set(&[
                (&input, Some(&usage.prompt_tokens as &dyn field::Value)),
                (&output, Some(&usage.completion_tokens as &dyn field::Value)),
                (&cached, cached_value),
                (&reasoning, reasoning_value),
                (status_field, Some(&status as &dyn field::Value)),
            ]));
        }
        _ => {
            span.record_all(&fields.value_set(&[
                (&input, Some(&usage.prompt_tokens as &dyn field::Value)),
                (&output, Some(&usage.completion_tokens as &dyn field::Value)),
                (&cached, cached_value),
                (&reasoning, reasoning_value),
            ]));
        }
    }
    true
}

/// Record token usage on the current inference span, for functions instrumented
/// with `#[instrument_inference(usage = manual)]` (streaming responses, say).
///
/// Call it from the instrumented function's body, where that span is current.
///
/// ```
/// use llm_telemetry::{instrument_inference, record_usage, Usage};
///
/// #[instrument_inference(model = "llama3.2:3b", provider = "ollama", usage = manual)]
/// fn stream(prompt: &str) -> String {
///     let answer = String::from("streamed answer");
///     record_usage(Usage::new(prompt.len() as u64 / 4, 3));
///     answer
/// }
/// # let _ = stream("hello there");
/// ```
pub fn record_usage(usage: Usage) {
    record_usage_on(&tracing::Span::current(), Some(usage));
}
