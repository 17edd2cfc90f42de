//! Running an `async` body: [`InstrumentedCall`], the future that enters the span on every
//! poll and records the outcome, a panic or a cancellation.

use std::fmt::{self, Debug};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing::Span;

use super::status::{record_cancelled, record_panic};

/// Instrument `future` with `span`: the span is entered on every poll; when the future
/// completes, `on_output` records the outcome from a reference to its output; a panic
/// inside a poll records `error.type = "panic"`, and dropping it before completion
/// records `error.type = "cancelled"`. On a disabled span, `on_output` never runs.
pub fn instrument_future<F, C>(future: F, span: Span, on_output: C) -> InstrumentedCall<F, C>
where
    F: Future,
    C: FnOnce(&Span, &F::Output),
{
    let on_output = if span.is_disabled() {
        None
    } else {
        Some(on_output)
    };
    InstrumentedCall {
        span,
        future: ManuallyDrop::new(future),
        on_output,
    }
}

/// The future returned by [`instrument_future`]. It is `Send`, `Sync` and `Unpin`
/// exactly when the wrapped future is (the outcome closure captures at most a `bool`).
#[must_use = "futures do nothing unless polled"]
pub struct InstrumentedCall<F, C> {
    span: Span,
    // Structurally pinned: never moved once pinned, dropped in place in `Drop`.
    future: ManuallyDrop<F>,
    // `Some` while the call is pending on an enabled span: taken when the future
    // completes or panics, so `Drop` knows whether it is a cancellation.
    on_output: Option<C>,
}

impl<F, C> Future for InstrumentedCall<F, C>
where
    F: Future,
    C: FnOnce(&Span, &F::Output),
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is the only structurally pinned field; it is never moved out
        // (it is only ever accessed through this pinned reference, and dropped in place
        // by `Drop`), and `InstrumentedCall` is `Unpin` only when `F` is. The other
        // fields are not pinned and may be moved freely.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        let _entered = this.span.enter();
        let guard = PollGuard {
            span: &this.span,
            on_output: &mut this.on_output,
        };
        let poll = future.poll(cx);
        // `poll` returned: the guard has nothing to report.
        let on_output = match poll {
            Poll::Ready(_) => guard.on_output.take(),
            Poll::Pending => None,
        };
        std::mem::forget(guard);
        if let (Poll::Ready(output), Some(on_output)) = (&poll, on_output) {
            on_output(&this.span, output);
        }
        poll
    }
}

/// Records a panic that unwinds out of the wrapped future's `poll`.
struct PollGuard<'a, C> {
    span: &'a Span,
    on_output: &'a mut Option<C>,
}

impl<C> Drop for PollGuard<'_, C> {
    fn drop(&mut self) {
        if std::thread::panicking() && self.on_output.take().is_some() {
            record_panic(self.span);
        }
    }
}

impl<F, C> Drop for InstrumentedCall<F, C> {
    fn drop(&mut self) {
        let _entered = self.span.enter();
        if self.on_output.take().is_some() {
            record_cancelled(&self.span);
        }
        // SAFETY: dropped exactly once, in place (the pinning guarantee holds), and the
        // field is never used again.
        unsafe { ManuallyDrop::drop(&mut self.future) };
    }
}

impl<F, C> Debug for InstrumentedCall<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentedCall")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}
