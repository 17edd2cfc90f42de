//! The `tracing` layer: it gives every span a W3C id when it opens, collects its
//! fields, logs and children's token usage while it runs, and when it closes turns it
//! into one immutable [`SpanRecord`] for the sinks.

use std::any::TypeId;
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes as SpanAttributes, Id, Record};
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_core::subscriber::Interest;
use tracing_core::LevelFilter;
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{ConfigError, TelemetryConfig};
use crate::event::EVENT_TARGET;
use crate::guard::TelemetryGuard;
use crate::ids::{SpanId, TraceId};
use crate::metrics::InferenceMetrics;
use crate::pipeline::Pipeline;
use crate::record::{
    AttrStr, AttrValue, Attributes, LogBody, LogRecord, Severity, SpanCategory, SpanKind,
    SpanRecord, SpanStatus, Telemetry,
};
use crate::usage::Usage;

/// Target of the carrier span that `context::extract` creates for a remote parent.
pub(crate) const REMOTE_PARENT_TARGET: &str = "llm_telemetry::remote_parent";

/// Attributes that hold prompts, completions, tool arguments or results: recorded
/// only when content capture is on.
pub(crate) const CONTENT_FIELDS: [&str; 4] = [
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
];

/// Targets whose spans and logs never enter the pipeline: the exporters' own HTTP and
/// gRPC stacks would otherwise report on themselves without end.
const INTERNAL_TARGETS: [&str; 10] = [
    "hyper",
    "h2",
    "tonic",
    "tower",
    "reqwest",
    "rustls",
    "opentelemetry",
    "want",
    "mio",
    "llm_telemetry::internal",
];

/// The llm-telemetry `tracing` layer. Build it with [`crate::layer`] to compose it
/// with your own layers, or let [`crate::init`] install it.
///
/// It records spans and events at `INFO` and above, except the HTTP/gRPC stacks'
/// own, and only for itself: other layers still see everything they ask for.
pub struct TelemetryLayer<S> {
    inner: Filtered<SpanCollector, TelemetryFilter, S>,
    capture: ContentCapture,
}

impl<S> fmt::Debug for TelemetryLayer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryLayer")
            .field("capture_content", &self.capture.0)
            .finish_non_exhaustive()
    }
}

/// Found by downcasting the subscriber: whether the layer serving a span records
/// content. No global state, so two subscribers in one process can disagree.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ContentCapture(pub bool);

/// Whether the llm-telemetry layer that serves `span` records content.
pub(crate) fn content_capture_enabled(span: &tracing::Span) -> bool {
    span.with_subscriber(|(_, dispatch)| {
        dispatch
            .downcast_ref::<ContentCapture>()
            .is_some_and(|c| c.0)
    })
    .unwrap_or(false)
}

pub(crate) fn build<S>(
    config: &TelemetryConfig,
) -> Result<(TelemetryLayer<S>, TelemetryGuard), ConfigError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    config.validate()?;
    let (sinks, db_path) = crate::sinks::start(config)?;
    let pipeline = Arc::new(Pipeline::new(sinks));
    let collector = SpanCollector {
        enabled: !pipeline.is_empty(),
        pipeline: pipeline.clone(),
        service_name: Arc::from(config.service_name()),
        capture_content: config.capture_content(),
        metrics: Arc::new(InferenceMetrics::new(config.metric_namespace())),
    };
    let filter = TelemetryFilter {
        enabled: collector.enabled,
    };
    let layer = TelemetryLayer {
        inner: collector.with_filter(filter),
        capture: ContentCapture(config.capture_content()),
    };
    let guard = TelemetryGuard {
        pipeline,
        _default: None,
        db_path,
    };
    Ok((layer, guard))
}

// Every method forwards to the filtered collector; only `downcast_raw` adds the
// content-capture flag that instrumented code looks up.
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
        // collector's walk up to the nearest agent turn also passes spans the filter
        // left out, but they have no `SpanState` either, so it finds the same turn.
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
        } else {
            // SAFETY: forwarded unchanged to the wrapped layer, which upholds the contract.
            unsafe { self.inner.downcast_raw(id) }
        }
    }
}

/// The per-layer filter: static, so callsites are decided once and cached.
struct TelemetryFilter {
    enabled: bool,
}

impl TelemetryFilter {
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        self.enabled
            && *metadata.level() <= tracing::Level::INFO
            && !INTERNAL_TARGETS.iter().any(|t| {
                let target = metadata.target();
                target.starts_with(t)
                    && matches!(
                        target.as_bytes().get(t.len()),
                        None | Some(b':' | b'_' | b'-')
                    )
            })
    }
}

impl<S> Filter<S> for TelemetryFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.wants(metadata)
    }
    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.wants(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(if self.enabled {
            LevelFilter::INFO
        } else {
            LevelFilter::OFF
        })
    }
}

thread_local! {
    // Set on the sinks' own threads: what they do must never come back as telemetry.
    static SUPPRESSED: Cell<bool> = const { Cell::new(false) };
}

/// Ignore telemetry from the current thread until the returned value drops.
pub(crate) fn suppress_on_this_thread() -> impl Drop {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SUPPRESSED.with(|s| s.set(self.0));
        }
    }
    Restore(SUPPRESSED.with(|s| s.replace(true)))
}

fn suppressed() -> bool {
    SUPPRESSED.with(Cell::get)
}

/// How long a thread derives wall-clock times from one reading of the system clock.
const CLOCK_RESYNC: std::time::Duration = std::time::Duration::from_secs(1);

thread_local! {
    // A reading of the monotonic clock and, just after it, of the system clock (as the
    // time since the Unix epoch).
    static CLOCK_ANCHOR: Cell<Option<(Instant, std::time::Duration)>> = const { Cell::new(None) };
}

/// The current wall-clock time (and as whole Unix seconds) and monotonic instant, from
/// one clock read: the wall clock is the thread's anchor plus the monotonic time since
/// it, and is read again at most once per [`CLOCK_RESYNC`] (so a step of the system
/// clock shows within a second).
fn now() -> (SystemTime, u64, Instant) {
    let instant = Instant::now();
    let since_epoch = CLOCK_ANCHOR.with(|anchor| match anchor.get() {
        Some((at, wall)) if instant.saturating_duration_since(at) < CLOCK_RESYNC => {
            Ok(wall + instant.saturating_duration_since(at))
        }
        _ => match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            Ok(wall) => {
                anchor.set(Some((instant, wall)));
                Ok(wall)
            }
            // A clock before 1970: not worth an anchor.
            Err(e) => Err(SystemTime::UNIX_EPOCH - e.duration()),
        },
    });
    match since_epoch {
        Ok(d) => (SystemTime::UNIX_EPOCH + d, d.as_secs(), instant),
        Err(wall) => (wall, 0, instant),
    }
}

/// The state of an open span, kept in the registry's extensions.
struct SpanState {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    parent_is_remote: bool,
    // A carrier for a remote parent: gives ids to children, is never recorded itself.
    remote_carrier: bool,
    start: SystemTime,
    started: Instant,
    name: Option<String>,
    kind: SpanKind,
    category: SpanCategory,
    status: SpanStatus,
    status_message: Option<String>,
    attributes: Attributes,
    events: Vec<LogRecord>,
    // Agent turns: what their inferences and tools reported.
    children_usage: Usage,
    inference_calls: u64,
    tool_calls: u64,
}

/// Collects spans and events into records and hands them to the pipeline.
struct SpanCollector {
    enabled: bool,
    pipeline: Arc<Pipeline>,
    service_name: Arc<str>,
    capture_content: bool,
    metrics: Arc<InferenceMetrics>,
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
                .map(|s| (s.trace_id, s.span_id, s.remote_carrier))
        });
        let metadata = attrs.metadata();
        let (start, start_secs, started) = now();
        let mut state = SpanState {
            trace_id: TraceId([0; 16]),
            span_id: SpanId::new_at(start_secs),
            parent_span_id: None,
            parent_is_remote: false,
            remote_carrier: metadata.target() == REMOTE_PARENT_TARGET,
            start,
            started,
            name: None,
            kind: SpanKind::Internal,
            category: SpanCategory::Other,
            status: SpanStatus::Unset,
            status_message: None,
            attributes: Vec::with_capacity(metadata.fields().len().min(8)),
            events: Vec::new(),
            children_usage: Usage::default(),
            inference_calls: 0,
            tool_calls: 0,
        };
        attrs.record(&mut SpanVisitor {
            state: &mut state,
            capture_content: self.capture_content,
        });
        if state.remote_carrier {
            // `context::extract` recorded the remote ids as `trace_id` / `span_id`.
            let ids = remote_ids(&state.attributes);
            match ids {
                Some((trace_id, span_id)) => {
                    state.trace_id = trace_id;
                    state.span_id = span_id;
                }
                None => state.trace_id = TraceId::new_at(start_secs),
            }
        } else {
            match parent {
                Some((trace_id, parent_id, parent_is_carrier)) => {
                    state.trace_id = trace_id;
                    state.parent_span_id = Some(parent_id);
                    state.parent_is_remote = parent_is_carrier;
                }
                None => state.trace_id = TraceId::new_at(start_secs),
            }
        }
        span.extensions_mut().insert(state);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(state) = ext.get_mut::<SpanState>() {
            values.record(&mut SpanVisitor {
                state,
                capture_content: self.capture_content,
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
            match visitor.structured_body() {
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
        let end = state.start + state.started.elapsed();
        if state.status == SpanStatus::Unset
            && state.attributes.iter().any(|(k, _)| k == "error.type")
        {
            state.status = SpanStatus::Error;
        }
        let mut inference = false;
        match state.category {
            SpanCategory::AgentTurn => {
                let u = state.children_usage;
                set_attr(
                    &mut state.attributes,
                    "gen_ai.usage.input_tokens",
                    AttrValue::U64(u.prompt_tokens),
                );
                set_attr(
                    &mut state.attributes,
                    "gen_ai.usage.output_tokens",
                    AttrValue::U64(u.completion_tokens),
                );
                set_attr(
                    &mut state.attributes,
                    "llm_telemetry.inference_calls",
                    AttrValue::U64(state.inference_calls),
                );
                set_attr(
                    &mut state.attributes,
                    "llm_telemetry.tool_calls",
                    AttrValue::U64(state.tool_calls),
                );
            }
            SpanCategory::Inference => {
                // The metric points and the token `MetricEvent`s are derived from the
                // record on the sinks' threads (`Telemetry::metrics`, `derived_events`).
                inference = true;
                if let Some(turn) = nearest_agent_turn(&span) {
                    let mut ext = turn.extensions_mut();
                    if let Some(t) = ext.get_mut::<SpanState>() {
                        if let Some(u) = usage_of(&state.attributes) {
                            add_usage(&mut t.children_usage, &u);
                        }
                        t.inference_calls += 1;
                    }
                }
            }
            SpanCategory::Tool => {
                if let Some(turn) = nearest_agent_turn(&span) {
                    if let Some(t) = turn.extensions_mut().get_mut::<SpanState>() {
                        t.tool_calls += 1;
                    }
                }
            }
            SpanCategory::Other => {}
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
            service_name: self.service_name.clone(),
            target: span.metadata().target(),
        };
        let record = Arc::new(record);
        self.pipeline.send(if inference {
            Telemetry::Inference(record, self.metrics.clone())
        } else {
            Telemetry::Span(record)
        });
    }
}

fn nearest_agent_turn<'a, S>(
    span: &tracing_subscriber::registry::SpanRef<'a, S>,
) -> Option<tracing_subscriber::registry::SpanRef<'a, S>>
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    // The ancestors, nearest first, as `span.scope().skip(1)` (which would look `span`
    // itself up again).
    let mut next = span.parent();
    while let Some(s) = next {
        let is_turn = s
            .extensions()
            .get::<SpanState>()
            .is_some_and(|st| st.category == SpanCategory::AgentTurn);
        if is_turn {
            return Some(s);
        }
        next = s.parent();
    }
    None
}

fn add_usage(total: &mut Usage, u: &Usage) {
    total.prompt_tokens += u.prompt_tokens;
    total.completion_tokens += u.completion_tokens;
    if let Some(c) = u.cached_tokens {
        *total.cached_tokens.get_or_insert(0) += c;
    }
    if let Some(r) = u.reasoning_tokens {
        *total.reasoning_tokens.get_or_insert(0) += r;
    }
}

/// The usage recorded on an inference span, if any.
pub(crate) fn usage_of(attrs: &Attributes) -> Option<Usage> {
    // One pass; as `record::attr`, the first attribute of a key counts.
    let mut found: [Option<&AttrValue>; 4] = [None; 4];
    for (k, v) in attrs {
        let slot = match &**k {
            "gen_ai.usage.input_tokens" => 0,
            "gen_ai.usage.output_tokens" => 1,
            "gen_ai.usage.cache_read.input_tokens" => 2,
            "gen_ai.usage.reasoning.output_tokens" => 3,
            _ => continue,
        };
        if found[slot].is_none() {
            found[slot] = Some(v);
        }
    }
    let get = |i: usize| found[i].and_then(AttrValue::as_u64);
    let input = get(0);
    let output = get(1);
    if input.is_none() && output.is_none() {
        return None;
    }
    Some(Usage {
        prompt_tokens: input.unwrap_or(0),
        completion_tokens: output.unwrap_or(0),
        cached_tokens: get(2),
        reasoning_tokens: get(3),
    })
}

fn remote_ids(attrs: &Attributes) -> Option<(TraceId, SpanId)> {
    let t = crate::record::attr(attrs, "trace_id")?
        .as_str()?
        .parse()
        .ok()?;
    let s = crate::record::attr(attrs, "span_id")?
        .as_str()?
        .parse()
        .ok()?;
    Some((t, s))
}

fn set_attr(attrs: &mut Attributes, key: &'static str, value: AttrValue) {
    match attrs.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value,
        None => attrs.push((Cow::Borrowed(key), value)),
    }
}

/// Sorts a span's fields into the record: the `otel.*` conventions set name, kind and
/// status; everything else becomes an attribute.
struct SpanVisitor<'a> {
    state: &'a mut SpanState,
    capture_content: bool,
}

impl SpanVisitor<'_> {
    // Inlined into each `record_*`: the value is then built where it is stored, instead
    // of being passed through memory (a store-to-load forwarding stall per field).
    #[inline(always)]
    fn put(&mut self, field: &Field, value: AttrValue) {
        let name = field.name();
        // Most names are neither `otel.*` nor content: one byte tells, before any compare.
        if name.as_bytes().first() == Some(&b'o') {
            match name {
                "otel.name" => return self.state.name = Some(value.to_string()),
                "otel.kind" => {
                    if let Some(kind) = SpanKind::parse(&value.to_string()) {
                        self.state.kind = kind;
                    }
                    return;
                }
                "otel.status_code" => {
                    return self.state.status = status_code(&value.to_string());
                }
                "otel.status_message" => {
                    return self.state.status_message = Some(value.to_string());
                }
                _ => {}
            }
        }
        if !self.capture_content && CONTENT_FIELDS.contains(&name) {
            return;
        }
        if name == "gen_ai.operation.name" {
            if let AttrValue::Str(op) = &value {
                self.state.category = SpanCategory::from_operation(op);
            }
        }
        match self
            .state
            .attributes
            .iter_mut()
            .find(|(k, _)| same_key(k, name))
        {
            Some((_, v)) => *v = value,
            None => self.state.attributes.push((Cow::Borrowed(name), value)),
        }
    }
}

/// `key == name`, first by address: a field recorded again has the very same name.
#[inline]
fn same_key(key: &crate::record::Key, name: &'static str) -> bool {
    let key: &str = key;
    (key.as_ptr() == name.as_ptr() && key.len() == name.len()) || key == name
}

/// `otel.status_code`, case-insensitively.
fn status_code(value: &str) -> SpanStatus {
    if value.eq_ignore_ascii_case("ok") {
        SpanStatus::Ok
    } else if value.eq_ignore_ascii_case("error") {
        SpanStatus::Error
    } else {
        SpanStatus::Unset
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        // The `otel.*` conventions straight from the `&str`: no intermediate `String`.
        let name = field.name();
        if name.as_bytes().first() == Some(&b'o') {
            match name {
                "otel.name" => return self.state.name = Some(value.to_owned()),
                "otel.kind" => {
                    if let Some(kind) = SpanKind::parse(value) {
                        self.state.kind = kind;
                    }
                    return;
                }
                "otel.status_code" => return self.state.status = status_code(value),
                _ => {}
            }
        }
        self.put(field, AttrValue::Str(value.into()))
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, AttrValue::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AttrValue::I64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AttrValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AttrValue::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(
            field,
            AttrValue::Str(AttrStr::format(format_args!("{value}"))),
        );
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(
            field,
            AttrValue::Str(AttrStr::format(format_args!("{value:?}"))),
        );
    }
}

/// Collects an event's message and fields.
#[derive(Default)]
struct EventVisitor {
    message: Option<String>,
    attributes: Attributes,
}

impl EventVisitor {
    fn put(&mut self, field: &Field, value: AttrValue) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.attributes.push((Cow::Borrowed(field.name()), value));
        }
    }

    fn take(&mut self, key: &str) -> Option<AttrValue> {
        let i = self.attributes.iter().position(|(k, _)| k == key)?;
        Some(self.attributes.remove(i).1)
    }

    /// The body of an event sent by [`crate::log_event`].
    fn structured_body(&mut self) -> Option<LogBody> {
        let kind = self.take("llm_telemetry.event")?.to_string();
        if let Some(AttrValue::Str(json)) = self.take("attributes") {
            if let Ok(map) =
                serde_json::from_str::<std::collections::BTreeMap<String, String>>(&json)
            {
                self.attributes.extend(
                    map.into_iter()
                        .map(|(k, v)| (Cow::Owned(k), AttrValue::Str(v.into()))),
                );
            }
        }
        Some(match kind.as_str() {
            "metric" => LogBody::Metric {
                metric: self
                    .take("metric")
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                value: match self.take("value") {
                    Some(AttrValue::F64(v)) => v,
                    Some(AttrValue::U64(v)) => v as f64,
                    Some(AttrValue::I64(v)) => v as f64,
                    _ => f64::NAN,
                },
                unit: self.take("unit").map(|v| v.to_string()).unwrap_or_default(),
            },
            "span_start" => LogBody::SpanStart {
                name: self.take("name").map(|v| v.to_string()).unwrap_or_default(),
                parent_span_id: self
                    .take("parent_span_id")
                    .and_then(|v| v.to_string().parse().ok()),
            },
            "span_end" => LogBody::SpanEnd {
                status: match self.take("status").map(|v| v.to_string()).as_deref() {
                    Some("ok") => SpanStatus::Ok,
                    Some("error") => SpanStatus::Error,
                    _ => SpanStatus::Unset,
                },
            },
            _ => LogBody::Unstructured {
                message: self.message.take().unwrap_or_default(),
                severity: self
                    .take("severity")
                    .and_then(|v| Severity::parse(&v.to_string()))
                    .unwrap_or(Severity::Info),
            },
        })
    }
}

impl Visit for EventVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, AttrValue::Str(value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, AttrValue::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AttrValue::I64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AttrValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AttrValue::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(
            field,
            AttrValue::Str(AttrStr::format(format_args!("{value:?}"))),
        );
    }
}

/// The W3C ids this layer gave `span`, and the `tracestate` of the remote parent it
/// descends from (set by `context::extract`), when an llm-telemetry layer records it.
/// For `context::inject`.
pub(crate) fn span_context(span: &tracing::Span) -> Option<(TraceId, SpanId, Option<String>)> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(id)?;
        let ids = span
            .extensions()
            .get::<SpanState>()
            .map(|s| (s.trace_id, s.span_id))?;
        let tracestate = span.scope().find_map(|s| {
            let ext = s.extensions();
            let state = ext.get::<SpanState>().filter(|st| st.remote_carrier)?;
            Some(
                crate::record::attr(&state.attributes, "tracestate")
                    .and_then(AttrValue::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            )
        });
        Some((ids.0, ids.1, tracestate.flatten()))
    })
    .flatten()
}
