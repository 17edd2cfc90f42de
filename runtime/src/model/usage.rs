//! Token usage: the [`Usage`] numbers and the [`TokenUsage`] hook through which
//! `#[instrument_inference]` reads them from a function's return value.

/// Token counts of one inference.
///
/// ```
/// use llm_telemetry::Usage;
/// let u = Usage::new(120, 30);
/// assert_eq!(u.total(), 150);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Usage {
    /// Tokens in the prompt (`gen_ai.usage.input_tokens`).
    pub prompt_tokens: u64,
    /// Tokens generated (`gen_ai.usage.output_tokens`).
    pub completion_tokens: u64,
    /// Prompt tokens served from a cache, when the provider reports it: a part of
    /// `prompt_tokens`, not added to it (`gen_ai.usage.cache_read.input_tokens`; priced at
    /// the cached-input price, see [`ModelPrice::cost`](crate::ModelPrice::cost)).
    pub cached_tokens: Option<u64>,
    /// Hidden reasoning tokens, when the provider reports them: a part of
    /// `completion_tokens`, not added to it (`gen_ai.usage.reasoning.output_tokens`).
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Usage with prompt and completion counts and nothing else.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Usage {
            prompt_tokens,
            completion_tokens,
            cached_tokens: None,
            reasoning_tokens: None,
        }
    }

    /// Set the cached prompt tokens.
    pub fn with_cached_tokens(mut self, n: u64) -> Self {
        self.cached_tokens = Some(n);
        self
    }

    /// Set the reasoning tokens.
    pub fn with_reasoning_tokens(mut self, n: u64) -> Self {
        self.reasoning_tokens = Some(n);
        self
    }

    /// Prompt plus completion tokens.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// Add `other`'s counts to these (an agent turn's totals); a count absent on both
    /// sides stays absent.
    pub(crate) fn add(&mut self, other: &Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        if let Some(c) = other.cached_tokens {
            *self.cached_tokens.get_or_insert(0) += c;
        }
        if let Some(r) = other.reasoning_tokens {
            *self.reasoning_tokens.get_or_insert(0) += r;
        }
    }
}

/// Where `#[instrument_inference]` finds the token usage of a call.
///
/// Implement it for your response type; it is already implemented for [`Usage`],
/// `Option<T>`, `Result<T, E>`, `Box<T>` and `&T` where `T: TokenUsage`, so a function
/// returning `Result<ChatResponse, Error>` only needs it on `ChatResponse`.
///
/// ```
/// use llm_telemetry::{TokenUsage, Usage};
///
/// struct ChatResponse { text: String, prompt_eval_count: u64, eval_count: u64 }
///
/// impl TokenUsage for ChatResponse {
///     fn token_usage(&self) -> Option<Usage> {
///         Some(Usage::new(self.prompt_eval_count, self.eval_count))
///     }
/// }
///
/// let r: Result<ChatResponse, std::io::Error> =
///     Ok(ChatResponse { text: "hi".into(), prompt_eval_count: 12, eval_count: 3 });
/// assert_eq!(r.token_usage(), Some(Usage::new(12, 3)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[instrument_inference]` cannot read token usage from `{Self}`",
    label = "this return type does not implement `llm_telemetry::TokenUsage`",
    note = "implement `llm_telemetry::TokenUsage` for the response type, or write \
            `#[instrument_inference(usage = manual)]` and call \
            `llm_telemetry::record_usage(Usage::new(prompt, completion))` in the body"
)]
pub trait TokenUsage {
    /// The usage, or `None` when this value carries none (an error, an empty option).
    fn token_usage(&self) -> Option<Usage>;
}

impl TokenUsage for Usage {
    fn token_usage(&self) -> Option<Usage> {
        Some(*self)
    }
}

impl<T: TokenUsage> TokenUsage for Option<T> {
    fn token_usage(&self) -> Option<Usage> {
        self.as_ref().and_then(T::token_usage)
    }
}

impl<T: TokenUsage, E> TokenUsage for Result<T, E> {
    fn token_usage(&self) -> Option<Usage> {
        self.as_ref().ok().and_then(T::token_usage)
    }
}

impl<T: TokenUsage + ?Sized> TokenUsage for Box<T> {
    fn token_usage(&self) -> Option<Usage> {
        (**self).token_usage()
    }
}

impl<T: TokenUsage + ?Sized> TokenUsage for &T {
    fn token_usage(&self) -> Option<Usage> {
        (**self).token_usage()
    }
}

impl<T: TokenUsage + ?Sized> TokenUsage for std::sync::Arc<T> {
    fn token_usage(&self) -> Option<Usage> {
        (**self).token_usage()
    }
}
