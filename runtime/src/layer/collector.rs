//! [`SpanCollector`]: the layer's callbacks. A span opening gets its W3C ids (from its
//! parent, a remote parent carrier, or fresh) and its [`SpanState`]; field records and
//! events fill the state; a span closing becomes one [`SpanRecord`] sent to the pipeline —
//! an inference's tokens and a tool's call added to the nearest aggregate (agent turn or
//! workflow) first, and an aggregate's totals to the nearest aggregate above it.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::span::{Attributes as SpanAttributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::clock::now;
use super::content::ContentPolicy;
use super::lookups::REMOTE_PARENT_TARGET;
use super::state::SpanState;
use super::visitors::{CategoryVisitor, EventVisitor, SpanVisitor};
use crate::event::wire::{self, EVENT_TARGET};
use crate::model::attr::{attr, set_attr, AttrValue, Attributes};
use crate::model::ids::{SpanId, TraceId};
use crate::model::log::{LogBody, LogRecord};
use crate::model::price::{CostTotals, PriceTable};
use crate::model::sampler::Sampler;
use crate::model::semconv::{
    guardrail_violated, usage_of, COST_UNKNOWN_CALLS, ERROR_TYPE, INFERENCE_CALLS, TOOL_CALLS,
    TOTAL_CACHED_TOKENS, TOTAL_COST, TOTAL_INPUT_TOKENS, TOTAL_OUTPUT_TOKENS,
    TOTAL_REASONING_TOKENS, USAGE_COST,
};
use crate::model::span::SpanRecord;
use crate::model::suppress::suppressed;
use crate::model::usage::Usage;
use crate::model::vocab::{Severity, SpanCategory, SpanKind, SpanStatus};
use crate::pipeline::{Pipeline, Telemetry};

/// Collects spans and events into records and hands them to the pipeline.
pub struct SpanCollector {
    pub(super) enabled: bool,
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) service_name: Arc<str>,
    /// `Some` when content capture is on.
    pub(super) content: Option<ContentPolicy>,
    pub(super) sampler: Sampler,
    pub(super) prices: Arc<PriceTable>,
}

impl<S> Layer<S> for SpanCollector
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &SpanAttributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if suppressed() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let parent = span.parent().and_then(|p| {
            p.extensions()
                .get::<SpanState>()
                .map(|s| (s.trace_id, s.span_id, s.remote_carrier, s.sampled))
        });
        let metadata = attrs.metadata();
        let (start, start_secs, started) = now();
        let mut state = SpanState {
            trace_id: TraceId([0; 16]),
            span_id: SpanId::new_at(start_secs),
            parent_span_id: None,
            parent_is_remote: false,
            remote_carrier: metadata.target() == REMOTE_PARENT_TARGET,
            // Decided below, once the trace id is known; content is recorded only then.
            sampled: true,
            start,
            started,
            name: None,
            kind: SpanKind::Internal,
            category: SpanCategory::Other,
            status: SpanStatus::Unset,
            status_message: None,
            attributes: Vec::new(),
            events: Vec::new(),
            children_usage: Usage::default(),
            children_cost: CostTotals::default(),
            inference_calls: 0,
            tool_calls: 0,
            chunk_intervals: Vec::new(),
        };
        if metadata.target() == REMOTE_PARENT_TARGET {
            // `context::extract` recorded the remote ids as `trace_id` / `span_id` and
            // the remote sampled flag as `sampled`.
            attrs.record(&mut SpanVisitor {
                state: &mut state,
                content: None,
            });
            match remote_ids(&state.attributes) {
                Some((trace_id, span_id)) => {
                    state.trace_id = trace_id;
                    state.span_id = span_id;
                }
                None => state.trace_id = TraceId::new_at(start_secs),
            }
            state.sampled = attr(&state.attributes, "sampled")
                .and_then(AttrValue::as_bool)
                .unwrap_or(true);
            span.extensions_mut().insert(state);
            return;
        }
        state.sampled = match parent {
            Some((trace_id, parent_id, parent_is_carrier, parent_sampled)) => {
                state.trace_id = trace_id;
                state.parent_span_id = Some(parent_id);
                state.parent_is_remote = parent_is_carrier;
                if parent_is_carrier {
                    // The local root of a trace continued from another process.
                    self.sampler.samples_root(trace_id, Some(parent_sampled))
                } else {
                    parent_sampled
                }
            }
            None => {
                state.trace_id = TraceId::new_at(start_secs);
                self.sampler.samples_root(state.trace_id, None)
            }
        };
        if !state.sampled {
            // A sampled-out span is recorded only if it yields metrics (an inference, a
            // guardrail): the rest keep their ids, for their children and propagation, and
            // nothing else. The macros set `gen_ai.operation.name` when the span opens.
            attrs.record(&mut CategoryVisitor(&mut state.category));
            if !state.category.yields_metrics() {
                span.extensions_mut().insert(state);
                return;
            }
        }
        state.attributes.reserve(metadata.fields().len().min(8));
        attrs.record(&mut SpanVisitor {
            content: self.content.as_ref().filter(|_| state.sampled),
            state: &mut state,
        });
        span.extensions_mut().insert(state);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(state) = ext.get_mut::<SpanState>() {
            if !state.sampled && !state.category.yields_metrics() {
                return;
            }
            values.record(&mut SpanVisitor {
                content: self.content.as_ref().filter(|_| state.sampled),
                state,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if suppressed() {
            return;
        }
        let mut visitor = EventVisitor::default();
        event.record(&mut visitor);
        let body = if event.metadata().target() == EVENT_TARGET {
            match wire::decode(&mut visitor.message, &mut visitor.attributes) {
                Some(body) => body,
                None => return,
            }
        } else {
            LogBody::Unstructured {
                message: visitor.message.take().unwrap_or_default(),
                severity: Severity::from_level(event.metadata().level()),
            }
        };
        let mut record = LogRecord {
            timestamp: SystemTime::now(),
            trace_id: None,
            span_id: None,
            body,
            attributes: visitor.attributes,
        };
        if let Some(span) = ctx.event_span(event) {
            let mut ext = span.extensions_mut();
            if let Some(state) = ext.get_mut::<SpanState>() {
                if !state.sampled {
                    // A log of a sampled-out trace goes where its trace goes: nowhere.
                    return;
                }
                if !state.remote_carrier {
                    record.trace_id = Some(state.trace_id);
                    record.span_id = Some(state.span_id);
                    state.events.push(record);
                    return;
                }
                record.trace_id = Some(state.trace_id);
            }
        }
        self.pipeline.send(Telemetry::Log(Arc::new(record)));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut state) = span.extensions_mut().remove::<SpanState>() else {
            return;
        };
        if state.remote_carrier {
            return;
        }
        // A sampled-out span reaches no trace sink: only inferences and guardrails, whose
        // metric points stay exact, go on (to the metric sinks).
        let sampled = state.sampled;
        if !sampled && !state.category.yields_metrics() {
            return;
        }
        let end = state.start + state.started.elapsed();
        if state.status == SpanStatus::Unset
            && state.attributes.iter().any(|(k, _)| k == ERROR_TYPE)
        {
            state.status = SpanStatus::Error;
        }
        // An inference's cost, when its model has a price (no attribute otherwise, never 0):
        // a sampled-out one's too, for the cost counter.
        let inference = (state.category == SpanCategory::Inference).then(|| {
            let usage = usage_of(&state.attributes);
            let cost = usage.and_then(|u| self.prices.cost_of(&state.attributes, &u));
            if let Some(c) = cost {
                set_attr(&mut state.attributes, USAGE_COST, AttrValue::F64(c));
            }
            (usage, cost)
        });
        match state.category {
            // Everything in a sampled-out trace is sampled out: no aggregate to add to.
            _ if !sampled => {}
            SpanCategory::AgentTurn | SpanCategory::Workflow => {
                write_totals(&mut state);
                // Everything below this aggregate counts in the next one up too: added once,
                // as a whole, so that each inference counts once per aggregate above it.
                let (usage, cost, inferences, tools) = (
                    state.children_usage,
                    state.children_cost,
                    state.inference_calls,
                    state.tool_calls,
                );
                with_nearest_aggregate(&span, |a| {
                    a.children_usage.add(&usage);
                    a.children_cost.add(&cost);
                    a.inference_calls += inferences;
                    a.tool_calls += tools;
                });
            }
            SpanCategory::Inference => {
                // The metric points and the token `MetricEvent`s are derived from the
                // record by the sinks that want them, on their own threads.
                let (usage, cost) = inference.unwrap_or_default();
                with_nearest_aggregate(&span, |a| {
                    if let Some(u) = usage {
                        a.children_usage.add(&u);
                    }
                    a.children_cost.add_call(cost);
                    a.inference_calls += 1;
                });
            }
            SpanCategory::Tool => with_nearest_aggregate(&span, |a| a.tool_calls += 1),
            SpanCategory::Retrieval | SpanCategory::Guardrail | SpanCategory::Other => {}
        }
        let record = SpanRecord {
            trace_id: state.trace_id,
            span_id: state.span_id,
            parent_span_id: state.parent_span_id,
            parent_is_remote: state.parent_is_remote,
            name: state
                .name
                .unwrap_or_else(|| span.metadata().name().to_owned()),
            kind: state.kind,
            category: state.category,
            start_time: state.start,
            end_time: end,
            status: state.status,
            status_message: state.status_message,
            attributes: state.attributes,
            events: state.events,
            chunk_intervals: state.chunk_intervals,
            service_name: self.service_name.clone(),
        };
        let record = Arc::new(record);
        // Spans that yield metric points go to the metric sinks too.
        let item = match record.category {
            SpanCategory::Inference if sampled => Telemetry::Inference(record),
            SpanCategory::Guardrail if guardrail_violated(&record.attributes) => {
                if sampled {
                    Telemetry::Guardrail(record)
                } else {
                    Telemetry::SampledOut(record)
                }
            }
            SpanCategory::Inference => Telemetry::SampledOut(record),
            _ if !sampled => return,
            _ => Telemetry::Span(record),
        };
        self.pipeline.send(item);
    }
}

/// An aggregate's totals, written on it as it closes: `llm_telemetry.usage.*` (never
/// `gen_ai.usage.*`, which only inferences carry, so that summing it over every span counts
/// each token once), `llm_telemetry.cost` (when an inference below had a price) and
/// `llm_telemetry.cost_unknown_calls` (when some had none), `llm_telemetry.inference_calls` /
/// `tool_calls`.
fn write_totals(state: &mut SpanState) {
    let u = state.children_usage;
    let attrs = &mut state.attributes;
    set_attr(attrs, TOTAL_INPUT_TOKENS, AttrValue::U64(u.prompt_tokens));
    set_attr(
        attrs,
        TOTAL_OUTPUT_TOKENS,
        AttrValue::U64(u.completion_tokens),
    );
    if let Some(cached) = u.cached_tokens {
        set_attr(attrs, TOTAL_CACHED_TOKENS, AttrValue::U64(cached));
    }
    if let Some(reasoning) = u.reasoning_tokens {
        set_attr(attrs, TOTAL_REASONING_TOKENS, AttrValue::U64(reasoning));
    }
    let cost = state.children_cost;
    if cost.priced > 0 {
        set_attr(attrs, TOTAL_COST, AttrValue::F64(cost.usd));
    }
    if cost.unknown > 0 {
        set_attr(attrs, COST_UNKNOWN_CALLS, AttrValue::U64(cost.unknown));
    }
    set_attr(
        attrs,
        INFERENCE_CALLS,
        AttrValue::U64(state.inference_calls),
    );
    set_attr(attrs, TOOL_CALLS, AttrValue::U64(state.tool_calls));
}

/// Run `add` on the state of the nearest open agent turn or workflow above `span`, if any.
fn with_nearest_aggregate<'a, S>(span: &SpanRef<'a, S>, add: impl FnOnce(&mut SpanState))
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    // The ancestors, nearest first, as `span.scope().skip(1)` (which would look `span`
    // itself up again).
    let mut next = span.parent();
    while let Some(s) = next {
        // Looked at under the read lock; only the aggregate found is locked for writing.
        let is_aggregate = s
            .extensions()
            .get::<SpanState>()
            .is_some_and(|st| st.category.is_aggregate());
        if is_aggregate {
            if let Some(state) = s.extensions_mut().get_mut::<SpanState>() {
                add(state);
            }
            return;
        }
        next = s.parent();
    }
}

fn remote_ids(attrs: &Attributes) -> Option<(TraceId, SpanId)> {
    let t = attr(attrs, "trace_id")?.as_str()?.parse().ok()?;
    let s = attr(attrs, "span_id")?.as_str()?.parse().ok()?;
    Some((t, s))
}
