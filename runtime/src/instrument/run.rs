//! Running a synchronous body: through an `FnOnce` call, guarded against panics.

use std::fmt::{self, Debug};

use tracing::Span;

use super::status::record_panic;

/// Call `f` once. Passing the body's closure through an `FnOnce` bound makes it an
/// `FnOnce` closure, so a body may move out of its captures or return a reborrow of a
/// `&mut` parameter.
#[inline]
pub fn call_once<R, F: FnOnce() -> R>(f: F) -> R {
    f()
}

/// Drop guard around a synchronous body: dropped while the thread is panicking, it
/// records the span as failed with `error.type = "panic"`. [`PanicGuard::disarm`] it
/// once the body has returned.
#[must_use = "the guard records a panic only while it is alive"]
pub struct PanicGuard<'a> {
    span: &'a Span,
}

impl<'a> PanicGuard<'a> {
    /// Arm the guard for `span`.
    #[inline]
    pub fn new(span: &'a Span) -> Self {
        PanicGuard { span }
    }

    /// The body returned normally: forget the guard. (Checking `panicking()` on drop
    /// would be wrong when the instrumented function runs inside another panic's
    /// unwinding, in a `Drop` impl.)
    #[inline]
    pub fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            record_panic(self.span);
        }
    }
}

impl Debug for PanicGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicGuard").finish_non_exhaustive()
    }
}
