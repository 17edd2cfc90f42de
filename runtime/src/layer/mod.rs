//! L6, the `tracing` layer: it gives every span a W3C id when it opens, collects its
//! fields, logs and children's token usage while it runs, and when it closes turns it into
//! one immutable [`SpanRecord`](crate::model::span::SpanRecord) for the pipeline.
//!
//! [`TelemetryLayer`] is the public face: a per-layer [`filter`] (so other layers see what
//! they ask for) around the [`collector`], which keeps each open span's [`state`] in the
//! registry's extensions. [`lookups`] answer the questions instrumented code and
//! `context` ask of a span (capture on? its W3C ids?); [`content`] redacts and bounds
//! captured content. The layer takes a small [`LayerSettings`] and the pipeline; starting
//! sinks is `install`'s job, above it.

pub mod clock;
pub mod collector;
pub mod content;
pub mod filter;
pub mod lookups;
pub mod state;
pub mod visitors;

#[cfg(all(test, feature = "sqlite", feature = "prometheus"))]
mod tests;

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use tracing::span::{Attributes as SpanAttributes, Id, Record};
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_core::subscriber::Interest;
use tracing_core::LevelFilter;
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::config::capture::Redactor;
use crate::metrics::instruments::RequestMetricNames;
use crate::model::price::PriceTable;
use crate::model::sampler::Sampler;
use crate::pipeline::Pipeline;
use collector::SpanCollector;
use content::ContentPolicy;
use filter::TelemetryFilter;
use lookups::{ContentCapture, MetricsPort};

/// What the layer needs to know: the little of the configuration that shapes records.
#[derive(Clone, Debug)]
pub struct LayerSettings {
    /// `service.name` of every record.
    pub service_name: Arc<str>,
    /// Whether prompts, completions, tool arguments and results are recorded.
    pub capture_content: bool,
    /// `TELEMETRY_CAPTURE_MAX_BYTES`: the longest content attribute, when captured.
    pub capture_max_bytes: usize,
    /// The redaction hook of captured content, if any.
    pub redact: Option<Redactor>,
    /// `TELEMETRY_METRIC_NAMESPACE`, for metrics measured outside the layer (the HTTP
    /// middleware's) that reach the pipeline through [`lookups::MetricsPort`].
    pub metric_namespace: Arc<str>,
    /// Which traces the trace sinks receive, decided at each trace's local root.
    pub sampler: Sampler,
    /// The model prices an inference's `gen_ai.usage.cost` is computed with.
    pub prices: Arc<PriceTable>,
}

/// The llm-telemetry `tracing` layer. Build it with `llm_telemetry::layer` to compose it
/// with your own layers, or let `llm_telemetry::init` install it.
///
/// It records spans and events at `INFO` and above, except the HTTP/gRPC stacks'
/// own, and only for itself: other layers still see everything they ask for.
pub struct TelemetryLayer<S> {
    inner: Filtered<SpanCollector, TelemetryFilter, S>,
    capture: ContentCapture,
    metrics: MetricsPort,
}

impl<S> fmt::Debug for TelemetryLayer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryLayer")
            .field("capture_content", &self.capture.enabled)
            .finish_non_exhaustive()
    }
}

impl<S> TelemetryLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// A layer that hands every finished span and free log to `pipeline` (none at all when
    /// the pipeline has no sink).
    pub(crate) fn new(settings: LayerSettings, pipeline: Arc<Pipeline>) -> Self {
        let enabled = !pipeline.is_empty();
        let metrics = MetricsPort {
            pipeline: pipeline.clone(),
            request_names: RequestMetricNames::new(&settings.metric_namespace),
        };
        let collector = SpanCollector {
            enabled,
            pipeline,
            service_name: settings.service_name,
            content: settings
                .capture_content
                .then(|| ContentPolicy::new(settings.capture_max_bytes, settings.redact)),
            sampler: settings.sampler,
            prices: settings.prices,
        };
        TelemetryLayer {
            inner: collector.with_filter(TelemetryFilter { enabled }),
            capture: ContentCapture {
                enabled: settings.capture_content,
                max_bytes: settings.capture_max_bytes,
            },
            metrics,
        }
    }
}

// Every method forwards to the filtered collector; only `downcast_raw` adds the
// content-capture settings that instrumented code looks up and the metrics port of the
// HTTP middleware.
impl<S> Layer<S> for TelemetryLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber)
    }
    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber)
    }
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }
    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }
    fn on_new_span(&self, attrs: &SpanAttributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx)
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }
    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        // Straight to the collector, without the filter's own look-up of the span: a
        // span the filter did not enable has no `SpanState`, so the collector ignores it.
        let collector = self.inner.inner();
        if collector.enabled {
            collector.on_record(span, values, ctx)
        }
    }
    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx)
    }
    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.inner.on_event(event, ctx)
    }
    // Entering and leaving a span mean nothing to the collector nor to the (static)
    // filter: not forwarded, which saves the filter two look-ups of the span per call.
    fn on_enter(&self, _id: &Id, _ctx: Context<'_, S>) {}
    fn on_exit(&self, _id: &Id, _ctx: Context<'_, S>) {}
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        // As `on_record`: a span without `SpanState` is not the collector's. The
        // collector's walk up to the nearest agent turn or workflow also passes spans the
        // filter left out, but they have no `SpanState` either, so it finds the same one.
        let collector = self.inner.inner();
        if collector.enabled {
            collector.on_close(id, ctx)
        }
    }
    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx)
    }
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == TypeId::of::<ContentCapture>() {
            Some(&self.capture as *const ContentCapture as *const ())
        } else if id == TypeId::of::<MetricsPort>() {
            Some(&self.metrics as *const MetricsPort as *const ())
        } else {
            // SAFETY: forwarded unchanged to the wrapped layer, which upholds the contract.
            unsafe { self.inner.downcast_raw(id) }
        }
    }
}
