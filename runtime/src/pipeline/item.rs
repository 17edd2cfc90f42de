//! [`Telemetry`]: the queue item, what flows from the layer to the sinks. An item is shared
//! by every sink that takes it (the records are behind `Arc`s); whatever a sink derives from
//! it (an inference's metric points and token events, a guardrail's violation count) it
//! derives on its own thread.

use std::borrow::Cow;
use std::sync::Arc;

use crate::metrics::InferenceMetrics;
use crate::model::log::LogRecord;
use crate::model::metric::MetricRecord;
use crate::model::span::SpanRecord;
use crate::model::vocab::SpanCategory;

/// What flows from the layer to the sinks.
#[derive(Clone, Debug)]
pub enum Telemetry {
    /// A finished span.
    Span(Arc<SpanRecord>),
    /// Metric measurements on their own: the HTTP middleware's request metrics and those
    /// received over OTLP (inferences send theirs with the span, as
    /// [`Telemetry::Inference`]).
    Metrics(Arc<[MetricRecord]>),
    /// A log outside any recorded span.
    Log(Arc<LogRecord>),
    /// A finished inference span: one queue item for the span and the metric points it
    /// yields, which the metric sinks derive from it with their own [`InferenceMetrics`]
    /// ([`Telemetry::metrics`]), not the application's thread.
    Inference(Arc<SpanRecord>),
    /// A finished guardrail span that recorded a violation: the span, and the
    /// `{ns}.guardrail_violations` point the metric sinks derive from it (a guardrail that
    /// found nothing travels as a plain [`Telemetry::Span`]).
    Guardrail(Arc<SpanRecord>),
    /// An inference, or a guardrail that recorded a violation, whose trace was sampled
    /// out (`OTEL_TRACES_SAMPLER`): only the metric sinks take it, for the points it
    /// yields, so that metrics stay exact; no sink stores or exports the span.
    SampledOut(Arc<SpanRecord>),
}

impl Telemetry {
    /// The span this item carries, if any.
    pub fn span(&self) -> Option<&Arc<SpanRecord>> {
        match self {
            Telemetry::Span(span) | Telemetry::Inference(span) | Telemetry::Guardrail(span) => {
                Some(span)
            }
            _ => None,
        }
    }

    /// Events of the span derived on the sink's thread, which follow `span.events`: an
    /// inference's llama-stack token `MetricEvent`s (prompt, completion, total).
    pub fn derived_events(&self, metrics: &InferenceMetrics) -> Vec<LogRecord> {
        match self {
            Telemetry::Inference(span) => metrics.token_events_of(span),
            _ => Vec::new(),
        }
    }

    /// The metric measurements this item carries, if any (an inference's and a guardrail's
    /// are computed from its span here, on the calling sink's thread).
    pub fn metrics(&self, metrics: &InferenceMetrics) -> Option<Cow<'_, [MetricRecord]>> {
        match self {
            Telemetry::Metrics(points) => Some(Cow::Borrowed(points)),
            Telemetry::Inference(span) => Some(Cow::Owned(metrics.measure_span(span))),
            Telemetry::Guardrail(span) => Some(Cow::Owned(metrics.measure_guardrail(span))),
            Telemetry::SampledOut(span) => Some(Cow::Owned(match span.category {
                SpanCategory::Guardrail => metrics.measure_guardrail(span),
                _ => metrics.measure_span(span),
            })),
            _ => None,
        }
    }
}
