//! Content capture: arguments and return values recorded as `Debug` text (a JSON object
//! for arguments), only when the layer serving the span captures content.

use std::fmt::{Debug, Write as _};

use tracing::field;
use tracing::Span;

/// Whether prompts, completions, tool arguments and results are recorded on `span`:
/// only when the llm-telemetry layer serving it has content capture on. Checked once
/// per call; when it is off nothing is formatted.
#[inline]
#[must_use]
pub fn capture_enabled(span: &Span) -> bool {
    !span.is_disabled() && crate::layer::lookups::content_capture_enabled(span)
}

/// An argument or return value seen by the capture dispatch. The expansion calls
/// `(&&Capture(&value)).__llm_debug()`, with [`CaptureDebug`] and [`CaptureNone`] in
/// scope: it is `Some` exactly when the value implements `Debug`.
pub struct Capture<'a, T: ?Sized>(pub &'a T);

/// Values that implement `Debug` are captured.
pub trait CaptureDebug {
    /// The value, as `Debug`.
    fn __llm_debug(&self) -> Option<&dyn Debug>;
}

impl<T: Debug> CaptureDebug for &Capture<'_, T> {
    fn __llm_debug(&self) -> Option<&dyn Debug> {
        Some(self.0)
    }
}

/// Values that do not implement `Debug` are left out.
pub trait CaptureNone {
    /// Nothing.
    fn __llm_debug(&self) -> Option<&dyn Debug>;
}

impl<T: ?Sized> CaptureNone for Capture<'_, T> {
    fn __llm_debug(&self) -> Option<&dyn Debug> {
        None
    }
}

/// Record a captured value (the return value) as the content field `field`.
pub fn record_content(span: &Span, field: &'static str, value: Option<&dyn Debug>) {
    if let Some(value) = value {
        span.record(field, field::debug(value));
    }
}

/// Builds the JSON object of a call's arguments: `{"city":"Paris","days":3}`. Each
/// argument's `Debug` text is kept as is when it is already JSON (strings, numbers,
/// booleans) and becomes a JSON string otherwise (`"Query { top_k: 3 }"`).
#[derive(Debug)]
pub struct ArgsJson {
    json: String,
}

impl ArgsJson {
    /// An empty object.
    #[must_use]
    pub fn new() -> Self {
        ArgsJson {
            json: String::from("{"),
        }
    }

    /// Add the argument `name`, unless it could not be captured (`None`).
    pub fn arg(&mut self, name: &str, value: Option<&dyn Debug>) {
        let Some(value) = value else { return };
        if self.json.len() > 1 {
            self.json.push(',');
        }
        push_json_string(&mut self.json, name);
        self.json.push(':');
        let text = format!("{value:?}");
        if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok() {
            self.json.push_str(&text);
        } else {
            push_json_string(&mut self.json, &text);
        }
    }

    /// Close the object and record it on `span` as `field`.
    pub fn record(self, span: &Span, field: &'static str) {
        span.record(field, self.finish().as_str());
    }

    /// The closed object.
    fn finish(mut self) -> String {
        self.json.push('}');
        self.json
    }

    #[cfg(test)]
    pub(crate) fn into_json(self) -> String {
        self.finish()
    }
}

impl Default for ArgsJson {
    fn default() -> Self {
        Self::new()
    }
}

/// Append `s` to `out` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
