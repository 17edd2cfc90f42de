//! Guardrails (llama-stack's safety shields): a [`Violation`] and its
//! [`ViolationLevel`], and [`GuardrailVerdict`], how `#[instrument_guardrail]` reads
//! whether a shield found one.

use super::wrappers::through_wrappers;

use super::named_enum::named_enum;

named_enum! {
    /// How serious a [`Violation`] is: llama-stack's `ViolationLevel`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum ViolationLevel {
        /// Worth knowing; the content may go on.
        Info = "info",
        /// Suspicious; the content may go on.
        Warn = "warn",
        /// The content must be blocked.
        Error = "error",
    }
}

/// What a shield found wrong with the content it checked (llama-stack's
/// `SafetyViolation`), recorded as `llm_telemetry.guardrail.violation.level` and
/// `llm_telemetry.guardrail.violation.message`.
///
/// ```
/// use llm_telemetry::{Violation, ViolationLevel};
///
/// let v = Violation::new(ViolationLevel::Error, "I can't answer that.");
/// assert_eq!(v.level.as_str(), "error");
/// assert_eq!(v.message, "I can't answer that.");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// How serious it is.
    pub level: ViolationLevel,
    /// The message for the user (llama-stack's `user_message`).
    pub message: String,
}

impl Violation {
    /// A violation of `level` with the user-facing `message`.
    pub fn new(level: ViolationLevel, message: impl Into<String>) -> Self {
        Violation {
            level,
            message: message.into(),
        }
    }
}

/// Where `#[instrument_guardrail]` finds whether a shield found a [`Violation`]:
/// `llm_telemetry.guardrail.violated` is `true` with the violation's level and message,
/// or `false`. A violation is an outcome, not an error: the span's status stays `ok`.
///
/// Implemented for [`Violation`], and for `Option<T>` (`None`: no violation),
/// `Result<T, E>` (an `Err` is the span's error and records no verdict), `Box<T>`,
/// `Arc<T>` and `&T` where `T: GuardrailVerdict`. Implement it for a response type:
///
/// ```
/// use llm_telemetry::{GuardrailVerdict, Violation, ViolationLevel};
///
/// struct RunShieldResponse { violation: Option<Violation> }
///
/// impl GuardrailVerdict for RunShieldResponse {
///     fn violation(&self) -> Option<Violation> {
///         self.violation.clone()
///     }
/// }
///
/// let blocked = RunShieldResponse {
///     violation: Some(Violation::new(ViolationLevel::Error, "blocked")),
/// };
/// assert_eq!(blocked.violation().map(|v| v.level), Some(ViolationLevel::Error));
/// assert_eq!(RunShieldResponse { violation: None }.violation(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[instrument_guardrail]` cannot tell whether `{Self}` is a violation",
    label = "this return type does not implement `llm_telemetry::GuardrailVerdict`",
    note = "implement `llm_telemetry::GuardrailVerdict` for the response type \
            (`fn violation(&self) -> Option<Violation>`), or return \
            `Option<llm_telemetry::Violation>`"
)]
pub trait GuardrailVerdict {
    /// The violation found, or `None` when the content passed.
    fn violation(&self) -> Option<Violation>;
}

impl GuardrailVerdict for Violation {
    fn violation(&self) -> Option<Violation> {
        Some(self.clone())
    }
}

through_wrappers!(GuardrailVerdict::violation -> Violation);
