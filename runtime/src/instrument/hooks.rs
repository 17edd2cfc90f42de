//! The outcome hooks of the span kinds beyond inference, agent turn and tool: what
//! `#[instrument_retrieval]`, `#[instrument_guardrail]` and
//! `#[instrument_inference(operation = embeddings)]` read from a call's arguments and
//! return value, and record on its span after the status.
//!
//! Required hooks (the document count, the guardrail verdict) are written by the
//! expansion as `<R as Trait>::method(&ret)` with the user's return type `R`, so that a
//! missing impl is reported at that type; they run only when the call did not return
//! `Err` ([`Returned`]). The optional hook (the embeddings' dimension) uses autoref
//! dispatch ([`DimensionProbe`]): a type without [`Embeddings`] records nothing.

use std::fmt::Display;

use tracing::field;
use tracing::Span;

use crate::model::embeddings::Embeddings;
use crate::model::guardrail::Violation;
use crate::model::semconv::{
    EMBEDDINGS_DIMENSION, GUARDRAIL_VIOLATED, GUARDRAIL_VIOLATION_LEVEL,
    GUARDRAIL_VIOLATION_MESSAGE, RETRIEVAL_DOCUMENT_COUNT,
};

/// An integer argument recorded as a number (`top_k = expr`): the expansion writes
/// `integer_field(&expr)`, so that a non-integer is reported at the expression.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an integer",
    label = "expected an integer (`u32`, `usize`, `i64`, ...)",
    note = "`top_k` is recorded as a number: give it an integer expression, e.g. \
            `top_k = req.top_k` with a `usize` field, or convert it (`top_k = n as u64`)"
)]
pub trait IntegerField {
    /// The value as a `u64`; `None` (not recorded) when it is negative or too large.
    fn __llm_integer(&self) -> Option<u64>;
}

macro_rules! integer_field {
    ($($int:ty),*) => {$(
        impl IntegerField for $int {
            #[inline]
            fn __llm_integer(&self) -> Option<u64> {
                u64::try_from(*self).ok()
            }
        }
    )*};
}

integer_field!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl<T: IntegerField + ?Sized> IntegerField for &T {
    #[inline]
    fn __llm_integer(&self) -> Option<u64> {
        (**self).__llm_integer()
    }
}

/// `value` as the number a span field records (a concrete type, so that a non-integer
/// is reported once, at the expression).
#[inline]
pub fn integer_field<T: IntegerField + ?Sized>(value: &T) -> Option<u64> {
    value.__llm_integer()
}

/// Record `value`'s `Display` as the content field `field` (`query = expr`).
pub fn record_display_content<T: Display + ?Sized>(span: &Span, field: &'static str, value: &T) {
    span.record(field, field::display(value));
}

/// A return value seen by the hooks: `(&&Returned(&ret)).__llm_failed()` tells whether
/// it is an `Err`, with [`ReturnedErr`] and [`ReturnedValue`] in scope.
pub struct Returned<'a, T: ?Sized>(pub &'a T);

/// `Result<T, E>`: failed when it is `Err`.
pub trait ReturnedErr {
    /// Whether the call failed.
    fn __llm_failed(&self) -> bool;
}

impl<T, E> ReturnedErr for &Returned<'_, Result<T, E>> {
    #[inline]
    fn __llm_failed(&self) -> bool {
        self.0.is_err()
    }
}

/// Any other value: the call succeeded.
pub trait ReturnedValue {
    /// Whether the call failed: never.
    fn __llm_failed(&self) -> bool;
}

impl<T: ?Sized> ReturnedValue for Returned<'_, T> {
    #[inline]
    fn __llm_failed(&self) -> bool {
        false
    }
}

/// Record `llm_telemetry.retrieval.document_count`, when known.
pub fn record_document_count(span: &Span, count: Option<usize>) {
    if let Some(count) = count {
        span.record(RETRIEVAL_DOCUMENT_COUNT, count as u64);
    }
}

/// Record a guardrail's verdict: `violated = true` with the level and message, or
/// `violated = false`. The status is left as it is (a violation is no error).
pub fn record_verdict(span: &Span, violation: Option<Violation>) {
    match violation {
        Some(violation) => {
            span.record(GUARDRAIL_VIOLATED, true);
            span.record(GUARDRAIL_VIOLATION_LEVEL, violation.level.as_str());
            span.record(GUARDRAIL_VIOLATION_MESSAGE, violation.message.as_str());
        }
        None => {
            span.record(GUARDRAIL_VIOLATED, false);
        }
    }
}

/// A return value seen by the dimension dispatch: `(&&DimensionProbe(&ret)).__llm_dimension()`,
/// with [`DimensionOf`] and [`DimensionNone`] in scope, is the dimension exactly when the
/// value implements [`Embeddings`].
pub struct DimensionProbe<'a, T: ?Sized>(pub &'a T);

/// Values that implement [`Embeddings`]: their dimension.
pub trait DimensionOf {
    /// The dimension.
    fn __llm_dimension(&self) -> Option<usize>;
}

impl<T: Embeddings + ?Sized> DimensionOf for &DimensionProbe<'_, T> {
    #[inline]
    fn __llm_dimension(&self) -> Option<usize> {
        self.0.dimension()
    }
}

/// Other values: none.
pub trait DimensionNone {
    /// Nothing.
    fn __llm_dimension(&self) -> Option<usize>;
}

impl<T: ?Sized> DimensionNone for DimensionProbe<'_, T> {
    #[inline]
    fn __llm_dimension(&self) -> Option<usize> {
        None
    }
}

/// Record `gen_ai.embeddings.dimension.count`, when known.
pub fn record_dimension(span: &Span, dimension: Option<usize>) {
    if let Some(dimension) = dimension {
        span.record(EMBEDDINGS_DIMENSION, dimension as u64);
    }
}
