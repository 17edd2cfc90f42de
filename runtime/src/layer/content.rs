//! [`ContentPolicy`]: what the layer does to a content attribute ([`CONTENT_FIELDS`]) when
//! capture is on, in the field visitor, on the application's thread, before the span's
//! record exists — so that no queue, sink or exporter ever holds the raw text:
//!
//! 1. the redaction hook, if one is set, replaces the text (a panic in it is caught: the
//!    value becomes [`REDACTION_FAILED`], with one rate-limited warning);
//! 2. the result is bounded to `TELEMETRY_CAPTURE_MAX_BYTES`
//!    ([`bound_content`](crate::model::content_bound::bound_content)), and a cut value
//!    marks the span with [`CONTENT_TRUNCATED`].
//!
//! Redaction comes first so that a secret is never half-cut by the bound before the hook
//! sees it. Each layer has its own policy: two subscribers may capture differently.
//!
//! [`CONTENT_FIELDS`]: crate::model::semconv::CONTENT_FIELDS

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::config::capture::Redactor;
use crate::model::attr::{set_attr, AttrValue, Attributes};
use crate::model::content_bound::bound_content;
use crate::model::diag::RateLimitedWarning;
use crate::model::semconv::CONTENT_TRUNCATED;
use crate::model::suppress::suppress_on_this_thread;

/// The value recorded in place of a content attribute whose redaction hook panicked.
pub const REDACTION_FAILED: &str = "[redaction failed]";

/// How the layer treats content when capture is on: redaction, then the bound.
pub struct ContentPolicy {
    /// `TELEMETRY_CAPTURE_MAX_BYTES`.
    pub max_bytes: usize,
    redact: Option<Redactor>,
    redact_failed: RateLimitedWarning,
}

impl ContentPolicy {
    /// A policy bounding to `max_bytes`, redacting with `redact` first if set.
    pub fn new(max_bytes: usize, redact: Option<Redactor>) -> Self {
        ContentPolicy {
            max_bytes,
            redact,
            redact_failed: RateLimitedWarning::new(Duration::from_secs(60)),
        }
    }

    /// The value to store for the content field `key`: a string redacted, then bounded
    /// (marking `attributes` with [`CONTENT_TRUNCATED`] when cut); any other value as is.
    // Out of line: the field visitor's hot path stays small.
    #[inline(never)]
    pub fn prepare(&self, key: &str, value: AttrValue, attributes: &mut Attributes) -> AttrValue {
        let AttrValue::Str(text) = value else {
            return value;
        };
        let mut text = String::from(text);
        if let Some(redact) = &self.redact {
            text = self.redacted(redact, key, text);
        }
        let bounded = bound_content(text, self.max_bytes);
        if bounded.truncated {
            set_attr(attributes, CONTENT_TRUNCATED, AttrValue::Bool(true));
        }
        AttrValue::Str(bounded.text.into())
    }

    /// The hook's answer, or [`REDACTION_FAILED`] if it panicked. The layer holds the
    /// span's state while the hook runs: telemetry from inside the hook is ignored, so
    /// that it cannot come back into the layer (and wait for that very state).
    fn redacted(&self, redact: &Redactor, key: &str, text: String) -> String {
        let _quiet = suppress_on_this_thread();
        match catch_unwind(AssertUnwindSafe(|| redact.call(key, text))) {
            Ok(text) => text,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a non-text panic payload");
                self.redact_failed.warn(|| {
                    format!(
                        "the redaction hook panicked on `{key}` ({why}); the value was \
                         recorded as {REDACTION_FAILED:?}"
                    )
                });
                REDACTION_FAILED.to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests;
