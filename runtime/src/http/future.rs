//! [`ResponseFuture`]: the inner service's future, run inside the request's span; when it
//! completes, fails, panics or is dropped it records the request's metrics and closes the
//! span, and on an answer it adds the `traceparent` and `x-trace-id` headers.
//!
//! A panic in the handler is recorded (status `"500"`, span status `error` with
//! `error.type = panic`) and then resumed, as llama-stack re-raised: turning it into a
//! response is the job of a layer such as tower-http's `CatchPanicLayer`. Put that layer
//! inside this one and the 500 it answers is what is recorded, headers included.

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use http::Response;
use tracing::Span;

use super::labels::{status_label, FAILED_STATUS};
use super::metrics::{Exemplar, InFlight};
use super::span::{answered, set_headers, unanswered, Unanswered};
use crate::instrument::status::short_type_name;
use crate::model::attr::AttrStr;

pin_project_lite::pin_project! {
    /// Response future of [`RequestTelemetry`](super::RequestTelemetry): the inner
    /// service's future `F`, with the same output.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::future::Ready;
    /// use llm_telemetry::http::ResponseFuture;
    ///
    /// // What `RequestTelemetry<S>::call` returns when `S::Future` is `Ready<..>`.
    /// type Answer = ResponseFuture<Ready<Result<http::Response<String>, Infallible>>>;
    /// # let _: Option<Answer> = None;
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // `None` for a path that is not measured, and once the request is recorded.
        request: Option<Tracked>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(request) = this.project().request.take() {
                request.unanswered(Unanswered::Dropped);
            }
        }
    }
}

/// What is known of a measured request while it runs.
pub(super) struct Tracked {
    pub(super) span: Span,
    pub(super) ids: Exemplar,
    pub(super) api: AttrStr,
    pub(super) start: Instant,
    pub(super) in_flight: Arc<InFlight>,
}

impl Tracked {
    /// Record a request that ended without an answer (status `"500"`).
    pub(super) fn unanswered(self, how: Unanswered) {
        self.in_flight.leave(
            &self.api,
            AttrStr::from(FAILED_STATUS),
            self.start.elapsed(),
            self.ids,
        );
        unanswered(&self.span, how);
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, request: Option<Tracked>) -> Self {
        ResponseFuture { inner, request }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(request) = this.request.as_ref() else {
            return this.inner.poll(cx);
        };
        let polled = {
            let _entered = request.span.enter();
            let inner = this.inner;
            catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
        };
        let polled = match polled {
            Ok(polled) => polled,
            Err(panic) => {
                if let Some(request) = this.request.take() {
                    request.unanswered(Unanswered::Panicked);
                }
                resume_unwind(panic)
            }
        };
        let output = ready!(polled);
        let Some(request) = this.request.take() else {
            return Poll::Ready(output);
        };
        Poll::Ready(match output {
            Ok(mut response) => {
                let code = response.status();
                request.in_flight.leave(
                    &request.api,
                    status_label(code),
                    request.start.elapsed(),
                    request.ids,
                );
                answered(&request.span, code);
                set_headers(request.ids, response.headers_mut());
                Ok(response)
            }
            Err(error) => {
                request.unanswered(Unanswered::Failed(short_type_name::<E>()));
                Err(error)
            }
        })
    }
}
