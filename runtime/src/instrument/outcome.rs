//! The outcome dispatch: what a return value means for the span (autoref specialisation
//! on `Result` and on whether its error is `Display` or `Debug`).

use std::fmt::{Debug, Display};

use tracing::Span;

use super::status::{record_error, short_type_name};
use super::usage::{record_usage_and_ok, record_usage_on};
use crate::model::usage::Usage;

/// A return value seen by the outcome dispatch. The expansion calls
/// `(&&&&Outcome(&ret)).__llm_outcome(&span, usage)`, with the four traits below in
/// scope: the most specific implementation that applies records the token usage read
/// from the value (inference spans; `None` otherwise), then the status.
pub struct Outcome<'a, T: ?Sized>(pub &'a T);

/// `Result<T, E>` with `E: Display`: the message is the error's `Display`.
pub trait OutcomeErrDisplay {
    /// Record the usage, then the outcome, on `span`.
    fn __llm_outcome(&self, span: &Span, usage: Option<Usage>);
}

impl<T, E: Display> OutcomeErrDisplay for &&&Outcome<'_, Result<T, E>> {
    fn __llm_outcome(&self, span: &Span, usage: Option<Usage>) {
        match self.0 {
            Ok(_) => record_usage_and_ok(span, usage),
            Err(e) => {
                record_usage_on(span, usage);
                record_error(span, short_type_name::<E>(), Some(format_args!("{e}")))
            }
        }
    }
}

/// `Result<T, E>` with `E: Debug` (not `Display`): the message is the error's `Debug`.
pub trait OutcomeErrDebug {
    /// Record the usage, then the outcome, on `span`.
    fn __llm_outcome(&self, span: &Span, usage: Option<Usage>);
}

impl<T, E: Debug> OutcomeErrDebug for &&Outcome<'_, Result<T, E>> {
    fn __llm_outcome(&self, span: &Span, usage: Option<Usage>) {
        match self.0 {
            Ok(_) => record_usage_and_ok(span, usage),
            Err(e) => {
                record_usage_on(span, usage);
                record_error(span, short_type_name::<E>(), Some(format_args!("{e:?}")))
            }
        }
    }
}

/// `Result<T, E>` with an error that cannot be formatted: status and type only.
pub trait OutcomeErr {
    /// Record the usage, then the outcome, on `span`.
    fn __llm_outcome(&self, span: &Span, usage: Option<Usage>);
}

impl<T, E> OutcomeErr for &Outcome<'_, Result<T, E>> {
    fn __llm_outcome(&self, span: &Span, usage: Option<Usage>) {
        match self.0 {
            Ok(_) => record_usage_and_ok(span, usage),
            Err(_) => {
                record_usage_on(span, usage);
                record_error(span, short_type_name::<E>(), None)
            }
        }
    }
}

/// Any other return value: the call succeeded.
pub trait OutcomeValue {
    /// Record the usage, then the outcome, on `span`.
    fn __llm_outcome(&self, span: &Span, usage: Option<Usage>);
}

impl<T: ?Sized> OutcomeValue for Outcome<'_, T> {
    fn __llm_outcome(&self, span: &Span, usage: Option<Usage>) {
        record_usage_and_ok(span, usage);
    }
}
