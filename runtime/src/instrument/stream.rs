//! Running a streamed inference: [`InstrumentedStream`], the stream that keeps the
//! inference's span open until the stream ends or is dropped, and measures it on the way.
//!
//! The expansion of `#[instrument_inference]` on a function that returns a stream (or a
//! `Result` / future of one) wraps that stream with [`instrument_stream`]. Each item is
//! timed and handed to the expansion's closure, which reads the token usage the item
//! reports (`T: TokenUsage`) and whether it is an `Err`. When the stream yields `None`,
//! the span gets, in one go: the chunk count, the time to the first chunk (seconds from
//! the call, not from the first poll), the usage, the status; the gaps between chunks go
//! to the layer (one `gen_ai.client.operation.time_per_output_chunk` point each); then the
//! span closes. Dropped before its end, the stream closes the span as an error
//! (`error.type = "cancelled"`), keeping the partial usage and count; a panic inside
//! `poll_next` closes it as `panic`.

use std::fmt::{self, Debug, Display};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;
use tracing::Span;

use super::capture::push_json_string;
use super::status::{record_cancelled, record_error, record_ok, record_panic, short_type_name};
use super::usage::record_usage_on;
use crate::config::capture::DEFAULT_CAPTURE_MAX_BYTES;
use crate::layer::lookups::{
    content_capture_max_bytes, mark_content_truncated, set_chunk_intervals,
};
use crate::model::content_bound::{bound_content, push_elements_marker, ELEMENTS_MARKER_MAX_LEN};
use crate::model::semconv::{OUTPUT_MESSAGES, STREAM_CHUNKS, TIME_TO_FIRST_CHUNK};
use crate::model::usage::Usage;

/// How the usage reported by a stream's items adds up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamUsage {
    /// Each counter keeps the last value an item reported (OpenAI and Ollama report the
    /// totals in the last chunk, Anthropic running totals). A counter reported as `0`
    /// keeps the earlier value: Anthropic's final `message_delta` carries output tokens
    /// only.
    Last,
    /// The items report deltas: each counter is the sum (`usage = sum`).
    Sum,
}

/// What the expansion's closure found in one item: the usage it reports, and the error
/// when the item is an `Err`.
#[derive(Debug, Default)]
pub struct ChunkReport {
    /// The token usage the item reports, if any.
    pub usage: Option<Usage>,
    /// The item is an `Err`: its short type name and message.
    pub error: Option<ChunkError>,
    /// The item's `Debug` text, when content capture is on.
    pub content: Option<String>,
}

/// An `Err` item: `error.type` and `otel.status_message`.
#[derive(Debug)]
pub struct ChunkError {
    /// The short name of the error type.
    pub error_type: &'static str,
    /// The error's `Display` (or `Debug`), when it has one.
    pub message: Option<String>,
}

/// Wrap `stream` so that `span` stays open until it ends or is dropped. `started` is
/// when the call began (the time to the first chunk counts from it); `on_item` reads
/// each item. On a disabled span the stream is passed through untouched.
pub fn instrument_stream<S, C>(
    stream: S,
    span: Span,
    started: Instant,
    usage: StreamUsage,
    on_item: C,
) -> InstrumentedStream<S, C>
where
    S: Stream,
    C: FnMut(&S::Item) -> ChunkReport,
{
    let state = if span.is_disabled() {
        None
    } else {
        Some(Box::new(StreamState {
            started,
            mode: usage,
            first_at: None,
            last_at: started,
            chunks: 0,
            intervals: Vec::new(),
            usage: None,
            failed: false,
            content: None,
            content_max: 0,
            content_dropped: None,
        }))
    };
    InstrumentedStream {
        stream,
        span,
        on_item,
        state,
    }
}

pin_project_lite::pin_project! {
    /// The stream returned by [`instrument_stream`]: the wrapped stream's items, unchanged.
    /// `Send`, `Sync` and `Unpin` exactly when the wrapped stream and the closure are.
    #[must_use = "streams do nothing unless polled"]
    pub struct InstrumentedStream<S, C> {
        #[pin]
        stream: S,
        span: Span,
        on_item: C,
        // `Some` while the span is open and enabled: taken when the stream finishes,
        // so `Drop` knows whether it ended early.
        state: Option<Box<StreamState>>,
    }

    impl<S, C> PinnedDrop for InstrumentedStream<S, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(state) = this.state.take() {
                finish(this.span, *state, End::Dropped);
            }
        }
    }
}

/// What the wrapper keeps of an open stream (boxed: a disabled span's wrapper stays one
/// pointer wide).
struct StreamState {
    started: Instant,
    mode: StreamUsage,
    first_at: Option<Instant>,
    last_at: Instant,
    chunks: u64,
    intervals: Vec<f32>,
    usage: Option<Usage>,
    failed: bool,
    // With content capture on: the items' `Debug` texts as a JSON array, unclosed.
    content: Option<String>,
    // The bound of the content (`TELEMETRY_CAPTURE_MAX_BYTES` of the layer serving the
    // span), looked up at the first captured item; 0 before.
    content_max: usize,
    // Once the content reached its bound: how many items were left out since.
    content_dropped: Option<u64>,
}

impl StreamState {
    fn item(&mut self, span: &Span, report: ChunkReport) {
        let now = Instant::now();
        if self.first_at.is_none() {
            self.first_at = Some(now);
        } else {
            self.intervals
                .push(now.saturating_duration_since(self.last_at).as_secs_f32());
        }
        self.last_at = now;
        self.chunks += 1;
        if let Some(reported) = report.usage {
            self.usage = Some(match (self.usage.take(), self.mode) {
                (None, _) => reported,
                (Some(acc), StreamUsage::Last) => last_reported(acc, reported),
                (Some(mut acc), StreamUsage::Sum) => {
                    acc.add(&reported);
                    acc
                }
            });
        }
        if let Some(text) = report.content {
            self.capture(span, &text);
        }
        if let Some(error) = report.error {
            if !self.failed {
                self.failed = true;
                match &error.message {
                    Some(m) => record_error(span, error.error_type, Some(format_args!("{m}"))),
                    None => record_error(span, error.error_type, None),
                }
            }
        }
    }
}

impl StreamState {
    /// Append one item's text to the captured content while the array, closed with a
    /// marker element, stays within the layer's `TELEMETRY_CAPTURE_MAX_BYTES`: whole items
    /// only (a first item longer than that is cut inside), so that no 10 MB array is ever
    /// built. The layer still redacts and bounds the finished array.
    fn capture(&mut self, span: &Span, text: &str) {
        if let Some(dropped) = &mut self.content_dropped {
            *dropped += 1;
            return;
        }
        if self.content_max == 0 {
            self.content_max = content_capture_max_bytes(span).unwrap_or(DEFAULT_CAPTURE_MAX_BYTES);
        }
        // Room for the items: `]` and a closing marker element (with its comma) stay free.
        let room = self.content_max.saturating_sub(2 + ELEMENTS_MARKER_MAX_LEN);
        let content = self.content.get_or_insert_with(|| String::from("["));
        let before = content.len();
        // An item takes at least its text, two quotes and a comma.
        if before + 3 + text.len() <= room {
            if before > 1 {
                content.push(',');
            }
            push_json_string(content, text);
            if content.len() <= room {
                return;
            }
            content.truncate(before);
        }
        if before == 1 {
            let mut item = String::with_capacity(text.len() + 2);
            push_json_string(&mut item, text);
            content.push_str(&bound_content(item, room.saturating_sub(1)).text);
            self.content_dropped = Some(0);
        } else {
            self.content_dropped = Some(1);
        }
    }
}

/// Each counter of `reported`, unless it is zero (or absent), replaces the one of `acc`.
fn last_reported(acc: Usage, reported: Usage) -> Usage {
    let keep = |new: u64, old: u64| if new == 0 { old } else { new };
    Usage {
        prompt_tokens: keep(reported.prompt_tokens, acc.prompt_tokens),
        completion_tokens: keep(reported.completion_tokens, acc.completion_tokens),
        cached_tokens: reported.cached_tokens.or(acc.cached_tokens),
        reasoning_tokens: reported.reasoning_tokens.or(acc.reasoning_tokens),
    }
}

/// How a stream's span ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// The stream yielded `None`.
    Finished,
    /// The stream was dropped before its end.
    Dropped,
    /// `poll_next` panicked.
    Panicked,
}

/// Record what the stream measured on `span`.
fn finish(span: &Span, state: StreamState, end: End) {
    span.record(STREAM_CHUNKS, state.chunks);
    if let Some(first) = state.first_at {
        span.record(
            TIME_TO_FIRST_CHUNK,
            first.saturating_duration_since(state.started).as_secs_f64(),
        );
    }
    record_usage_on(span, state.usage);
    if let Some(mut content) = state.content {
        if let Some(dropped) = state.content_dropped {
            if dropped > 0 {
                if content.len() > 1 {
                    content.push(',');
                }
                push_elements_marker(&mut content, dropped.try_into().unwrap_or(usize::MAX));
            }
            mark_content_truncated(span);
        }
        content.push(']');
        span.record(OUTPUT_MESSAGES, content.as_str());
    }
    if !state.failed {
        match end {
            End::Finished => record_ok(span),
            End::Dropped => record_cancelled(span),
            End::Panicked => record_panic(span),
        }
    }
    if !state.intervals.is_empty() {
        set_chunk_intervals(span, state.intervals);
    }
}

impl<S, C> Stream for InstrumentedStream<S, C>
where
    S: Stream,
    C: FnMut(&S::Item) -> ChunkReport,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if this.state.is_none() {
            // A disabled span, or a stream polled after its end.
            return this.stream.poll_next(cx);
        }
        let poll = {
            let _entered = this.span.enter();
            let guard = PanicGuard {
                span: this.span,
                state: &mut *this.state,
            };
            let poll = this.stream.as_mut().poll_next(cx);
            std::mem::forget(guard);
            poll
        };
        match &poll {
            Poll::Ready(Some(item)) => {
                let report = (this.on_item)(item);
                if let Some(state) = this.state.as_deref_mut() {
                    state.item(this.span, report);
                }
            }
            Poll::Ready(None) => {
                if let Some(state) = this.state.take() {
                    finish(this.span, *state, End::Finished);
                    // The stream may be kept (fused, or just not dropped) after its
                    // end: the span closes now, as this last handle to it goes.
                    drop(std::mem::replace(this.span, Span::none()));
                }
            }
            Poll::Pending => {}
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

/// Closes the span as `panic` when the wrapped stream's `poll_next` unwinds.
struct PanicGuard<'a> {
    span: &'a Span,
    state: &'a mut Option<Box<StreamState>>,
}

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            finish(self.span, *state, End::Panicked);
        }
    }
}

impl<S, C> Debug for InstrumentedStream<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentedStream")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

/// A stream item seen by the error dispatch. The expansion calls
/// `(&&&&ChunkItem(&item)).__llm_chunk_error()` with the four traits below in scope: an
/// `Err` item gives its error's type and text, any other item `None`.
pub struct ChunkItem<'a, T: ?Sized>(pub &'a T);

/// `Result<T, E>` items with `E: Display`: the message is the error's `Display`.
pub trait ChunkErrDisplay {
    /// The error of an `Err` item.
    fn __llm_chunk_error(&self) -> Option<ChunkError>;
}

impl<T, E: Display> ChunkErrDisplay for &&&ChunkItem<'_, Result<T, E>> {
    fn __llm_chunk_error(&self) -> Option<ChunkError> {
        chunk_error::<E>(self.0, |e| Some(e.to_string()))
    }
}

/// `Result<T, E>` items with `E: Debug` (not `Display`): the message is its `Debug`.
pub trait ChunkErrDebug {
    /// The error of an `Err` item.
    fn __llm_chunk_error(&self) -> Option<ChunkError>;
}

impl<T, E: Debug> ChunkErrDebug for &&ChunkItem<'_, Result<T, E>> {
    fn __llm_chunk_error(&self) -> Option<ChunkError> {
        chunk_error::<E>(self.0, |e| Some(format!("{e:?}")))
    }
}

/// `Result<T, E>` items with an error that cannot be formatted: the type only.
pub trait ChunkErr {
    /// The error of an `Err` item.
    fn __llm_chunk_error(&self) -> Option<ChunkError>;
}

impl<T, E> ChunkErr for &ChunkItem<'_, Result<T, E>> {
    fn __llm_chunk_error(&self) -> Option<ChunkError> {
        chunk_error::<E>(self.0, |_| None)
    }
}

/// Any other item: never an error.
pub trait ChunkValue {
    /// `None`.
    fn __llm_chunk_error(&self) -> Option<ChunkError>;
}

impl<T: ?Sized> ChunkValue for ChunkItem<'_, T> {
    fn __llm_chunk_error(&self) -> Option<ChunkError> {
        None
    }
}

fn chunk_error<E>(
    item: &Result<impl Sized, E>,
    message: impl FnOnce(&E) -> Option<String>,
) -> Option<ChunkError> {
    let e = item.as_ref().err()?;
    Some(ChunkError {
        error_type: short_type_name::<E>(),
        message: message(e),
    })
}

/// A boxed stream type a function may declare (`BoxStream<'a, T>`, `LocalBoxStream<'a, T>`,
/// `Pin<Box<dyn Stream<Item = T> + Send + 'a>>` or an alias of one): the expansion wraps
/// the returned stream and boxes the wrapper again, as the declared type.
#[diagnostic::on_unimplemented(
    message = "`#[instrument_inference]` cannot instrument `{Self}` as a stream",
    label = "not a boxed stream type",
    note = "a streamed inference returns `impl Stream<Item = T>`, `BoxStream<'_, T>`, `LocalBoxStream<'_, T>` or `Pin<Box<dyn Stream<Item = T> + Send + '_>>` (or an alias of one), possibly in a `Result`; remove `stream` for a function that returns one response"
)]
pub trait DeclaredStream: Sized {
    /// The stream's item.
    type Item;

    /// `self` wrapped by [`instrument_stream`], boxed again as `Self`.
    fn __llm_instrument<C>(
        self,
        span: Span,
        started: Instant,
        usage: StreamUsage,
        on_item: C,
    ) -> Self
    where
        C: FnMut(&Self::Item) -> ChunkReport + Send + Sync + 'static;
}

macro_rules! declared_stream {
    ($($bounds:tt)*) => {
        impl<'a, T: 'a> DeclaredStream for Pin<Box<dyn Stream<Item = T> $($bounds)* + 'a>> {
            type Item = T;

            fn __llm_instrument<C>(
                self,
                span: Span,
                started: Instant,
                usage: StreamUsage,
                on_item: C,
            ) -> Self
            where
                C: FnMut(&T) -> ChunkReport + Send + Sync + 'static,
            {
                Box::pin(instrument_stream(self, span, started, usage, on_item))
            }
        }
    };
}

declared_stream!();
declared_stream!(+ Send);
declared_stream!(+ Send + Sync);

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> StreamState {
        StreamState {
            started: Instant::now(),
            mode: StreamUsage::Last,
            first_at: None,
            last_at: Instant::now(),
            chunks: 0,
            intervals: Vec::new(),
            usage: None,
            failed: false,
            content: None,
            content_max: 0,
            content_dropped: None,
        }
    }

    /// The captured array as `finish` records it.
    fn finished(s: StreamState) -> String {
        let mut content = s.content.expect("content");
        if let Some(n) = s.content_dropped.filter(|n| *n > 0) {
            content.push(',');
            push_elements_marker(&mut content, n as usize);
        }
        content.push(']');
        content
    }

    #[test]
    fn captured_content_keeps_whole_chunks_up_to_its_bound_then_a_marker_and_stays_json() {
        let mut s = state();
        let span = Span::none();
        let chunk = "x".repeat(1000);
        for _ in 0..100 {
            s.capture(&span, &chunk);
        }
        // No layer serves the span: the documented default bound.
        assert_eq!(s.content_max, DEFAULT_CAPTURE_MAX_BYTES);
        let content = finished(s);
        assert!(
            content.len() <= DEFAULT_CAPTURE_MAX_BYTES,
            "{}",
            content.len()
        );
        let items: Vec<String> = serde_json::from_str(&content).expect("a JSON array");
        let kept = items.len() - 1;
        assert!(items[..kept].iter().all(|c| *c == chunk));
        assert_eq!(
            items.last().unwrap(),
            &format!("…[truncated {} elements]", 100 - kept)
        );
        assert!(kept >= 15, "{kept}");
    }

    #[test]
    fn a_first_chunk_longer_than_the_bound_is_cut_inside() {
        let mut s = state();
        let span = Span::none();
        s.capture(&span, &"é".repeat(20_000));
        s.capture(&span, "next");
        let content = finished(s);
        assert!(
            content.len() <= DEFAULT_CAPTURE_MAX_BYTES,
            "{}",
            content.len()
        );
        let items: Vec<String> = serde_json::from_str(&content).expect("a JSON array");
        assert_eq!(items.len(), 2);
        assert!(items[0].starts_with("éé") && items[0].ends_with(" bytes]"));
        assert_eq!(items[1], "…[truncated 1 element]");
    }

    #[test]
    fn last_reported_keeps_counters_reported_as_zero() {
        let acc = Usage::new(20, 1).with_cached_tokens(5);
        let next = last_reported(acc, Usage::new(0, 9));
        assert_eq!((next.prompt_tokens, next.completion_tokens), (20, 9));
        assert_eq!(next.cached_tokens, Some(5));
    }
}
