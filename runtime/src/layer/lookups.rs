//! What code outside the layer asks of a span through the subscriber: whether the layer
//! serving it captures content and how much (instrumented code), the W3C ids it gave it
//! (`context`), and where metrics measured outside any span go ([`MetricsPort`], the HTTP
//! middleware's). No global state: each answer comes from the subscriber that serves the
//! span.

use std::sync::Arc;

use tracing_subscriber::registry::LookupSpan;

use super::state::SpanState;
use crate::metrics::instruments::RequestMetricNames;
use crate::model::attr::set_attr;
use crate::model::attr::{attr, AttrValue};
use crate::model::ids::{SpanId, TraceId};
use crate::model::metric::MetricRecord;
use crate::model::semconv::CONTENT_TRUNCATED;
use crate::pipeline::{Pipeline, Telemetry};

/// Target of the carrier span that `context::extract` creates for a remote parent.
pub const REMOTE_PARENT_TARGET: &str = "llm_telemetry::remote_parent";

/// Found by downcasting the subscriber: whether the layer serving a span records
/// content, and its longest content attribute. No global state, so two subscribers in one
/// process can disagree.
#[derive(Clone, Copy, Debug)]
pub struct ContentCapture {
    /// Content capture is on.
    pub enabled: bool,
    /// `TELEMETRY_CAPTURE_MAX_BYTES`.
    pub max_bytes: usize,
}

/// Whether the llm-telemetry layer that serves `span` records content: capture is on and
/// the span's trace is sampled (a sampled-out span reaches no trace sink, so its content
/// is not even formatted).
pub fn content_capture_enabled(span: &tracing::Span) -> bool {
    content_capture_max_bytes(span).is_some()
}

/// The longest content attribute the llm-telemetry layer that serves `span` records;
/// `None` when it records no content: capture is off, no such layer serves the span, or
/// the span's trace is sampled out.
pub fn content_capture_max_bytes(span: &tracing::Span) -> Option<usize> {
    span.with_subscriber(|(id, dispatch)| {
        let capture = dispatch
            .downcast_ref::<ContentCapture>()
            .filter(|c| c.enabled)?;
        let sampled = state_of(dispatch, id, |state| state.sampled).unwrap_or(true);
        sampled.then_some(capture.max_bytes)
    })
    .flatten()
}

/// Mark `span` as having had content cut ([`CONTENT_TRUNCATED`]), for content bounded
/// before it reaches the layer (a stream's chunks). Nothing when no llm-telemetry layer
/// records the span.
pub fn mark_content_truncated(span: &tracing::Span) {
    with_span_state(span, |state| {
        set_attr(
            &mut state.attributes,
            CONTENT_TRUNCATED,
            AttrValue::Bool(true),
        );
    });
}

/// What `context::inject` propagates of a span: the W3C ids the layer gave it, whether its
/// trace is sampled, and the `tracestate` of the remote parent it descends from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropagatedContext {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub sampled: bool,
    pub tracestate: Option<String>,
}

/// The W3C context this layer gave `span` (set by `context::extract` for a remote parent),
/// when an llm-telemetry layer records it. For `context::inject`.
pub fn span_context(span: &tracing::Span) -> Option<PropagatedContext> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(id)?;
        let (trace_id, span_id, sampled) = span
            .extensions()
            .get::<SpanState>()
            .map(|s| (s.trace_id, s.span_id, s.sampled))?;
        let tracestate = span.scope().find_map(|s| {
            let ext = s.extensions();
            let state = ext.get::<SpanState>().filter(|st| st.remote_carrier)?;
            Some(
                attr(&state.attributes, "tracestate")
                    .and_then(AttrValue::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            )
        });
        Some(PropagatedContext {
            trace_id,
            span_id,
            sampled,
            tracestate: tracestate.flatten(),
        })
    })
    .flatten()
}

/// Hand a finished stream's chunk intervals (seconds between consecutive items, from the
/// second on) to the llm-telemetry layer that records `span`: they become the span
/// record's [`chunk_intervals`](crate::model::span::SpanRecord::chunk_intervals), one
/// `gen_ai.client.operation.time_per_output_chunk` point each. Dropped when no such layer
/// serves the span (a foreign subscriber still gets the span's attributes).
pub fn set_chunk_intervals(span: &tracing::Span, intervals: Vec<f32>) {
    with_span_state(span, |state| state.chunk_intervals = intervals);
}

/// Run `f` on the [`SpanState`] the llm-telemetry layer keeps for `span`; `None` when no
/// such layer records it.
fn with_span_state<R>(span: &tracing::Span, f: impl FnOnce(&mut SpanState) -> R) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| state_of(dispatch, id, f))
        .flatten()
}

/// Run `f` on the [`SpanState`] of span `id` in `dispatch`'s registry, if it has one.
fn state_of<R>(
    dispatch: &tracing::Dispatch,
    id: &tracing::span::Id,
    f: impl FnOnce(&mut SpanState) -> R,
) -> Option<R> {
    let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
    let span = registry.span(id)?;
    let mut ext = span.extensions_mut();
    ext.get_mut::<SpanState>().map(f)
}

/// Found by downcasting the subscriber: the pipeline of the llm-telemetry layer, for metric
/// points measured outside any span (the HTTP middleware's request metrics). They go
/// straight to the sinks as one [`Telemetry::Metrics`] item: no `tracing` event to encode
/// and decode, and, like every send, never blocking (a full queue drops and counts).
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub struct MetricsPort {
    pub(super) pipeline: Arc<Pipeline>,
    /// The request metric names in the layer's `TELEMETRY_METRIC_NAMESPACE`.
    pub request_names: RequestMetricNames,
}

#[cfg_attr(not(feature = "tower"), allow(dead_code))]
impl MetricsPort {
    /// Hand `points` to every metric sink.
    pub fn send(&self, points: Vec<MetricRecord>) {
        if !self.pipeline.is_empty() {
            self.pipeline.send(Telemetry::Metrics(points.into()));
        }
    }
}

/// Run `f` with the [`MetricsPort`] of the llm-telemetry layer on the current default
/// subscriber; `None` (and `f` not run) when there is no such layer.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub fn with_metrics_port<R>(f: impl FnOnce(&MetricsPort) -> R) -> Option<R> {
    let mut f = Some(f);
    tracing::dispatcher::get_default(|dispatch| {
        let port = dispatch.downcast_ref::<MetricsPort>()?;
        f.take().map(|f| f(port))
    })
}
