//! One batch, one transaction, a handful of statements: each table's rows of the batch go
//! in one multi-row statement whose columns are bound as arrays (`INSERT ... SELECT FROM
//! unnest($1::text[], ...)`), so a batch of 8192 spans is five round trips, not 8192 — and
//! statements can say `ON CONFLICT`, which `COPY` cannot:
//!
//! - `spans`: `ON CONFLICT (span_id) DO NOTHING RETURNING span_id`: a span stored before (a
//!   batch written again after a lost connection) is not written twice, and its events and
//!   its share of the `traces` row are left out with it;
//! - `span_logs`, `metrics`: plain inserts (the metric rows summed per series and second by
//!   the sinks' shared [`MetricSeriesAgg`]);
//! - `traces`: one upsert per trace, in id order (the lock order every writer takes),
//!   adding counts and widening the time range (`LEAST` / `GREATEST`), as several processes
//!   share trace rows.
//!
//! The transaction's id is read first: when the connection drops during `COMMIT`, the
//! writer asks the server later whether it committed ([`BatchOutcome::Unknown`]).

use std::collections::HashSet;
use std::time::SystemTime;

use postgres::types::ToSql;
use postgres::{Client, Statement};

use crate::metrics::InferenceMetrics;
use crate::model::ids::{SpanId, TraceId};
use crate::model::log::LogRecord;
use crate::model::span::SpanRecord;
use crate::model::vocab::SpanCategory;
use crate::pipeline::Telemetry;
use crate::sinks::aggregate::events::EventColumns;
use crate::sinks::aggregate::json::{span_hex, trace_hex, JsonObject};
use crate::sinks::aggregate::metrics::MetricSeriesAgg;
use crate::sinks::aggregate::traces::TraceAggs;

const INSERT_SPANS: &str = "INSERT INTO spans (span_id, trace_id, parent_span_id, name, \
     start_time, end_time, duration_ms, attributes, status, kind, status_message, category, \
     service_name) \
     SELECT s, t, p, n, st, et, d, a::jsonb, stat, k, sm, c, svc FROM unnest($1::text[], \
     $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], \
     $7::float8[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
     $13::text[]) AS u (s, t, p, n, st, et, d, a, stat, k, sm, c, svc) \
     ON CONFLICT (span_id) DO NOTHING RETURNING span_id";

const INSERT_EVENTS: &str = "INSERT INTO span_logs (trace_id, span_id, timestamp, \
     event_type, severity, message, metric, value, unit, attributes) \
     SELECT t, s, ts, et, sev, m, me, v, un, a::jsonb FROM unnest($1::text[], $2::text[], \
     $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], \
     $9::text[], $10::text[]) WITH ORDINALITY AS u (t, s, ts, et, sev, m, me, v, un, a, o) \
     ORDER BY o";

const INSERT_METRICS: &str = "INSERT INTO metrics (name, instrument, unit, value, \
     timestamp, attributes, trace_id, span_id, count) \
     SELECT n, i, un, v, ts, a::jsonb, t, s, c FROM unnest($1::text[], $2::text[], \
     $3::text[], $4::float8[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], \
     $9::int8[]) WITH ORDINALITY AS u (n, i, un, v, ts, a, t, s, c, o) ORDER BY o";

// `root_is_true`: the stored root has no parent at all; such a root replaces a
// remote-parented one (a span whose parent is in another service), not the reverse.
const UPSERT_TRACES: &str = "INSERT INTO traces AS tr (trace_id, service_name, \
     root_span_id, root_is_true, start_time, end_time, timestamp, span_count, error_count) \
     SELECT id, svc, root, true_root, st, et, st, n, e FROM unnest($1::text[], $2::text[], \
     $3::text[], $4::timestamptz[], $5::timestamptz[], $6::int8[], $7::int8[], $8::bool[]) \
     AS u (id, svc, root, st, et, n, e, true_root) \
     ORDER BY id \
     ON CONFLICT (trace_id) DO UPDATE SET \
       start_time = LEAST(tr.start_time, excluded.start_time), \
       timestamp = LEAST(tr.timestamp, excluded.timestamp), \
       end_time = GREATEST(tr.end_time, excluded.end_time), \
       root_span_id = CASE WHEN excluded.root_span_id IS NOT NULL AND (tr.root_span_id IS NULL \
                                OR (excluded.root_is_true AND NOT tr.root_is_true)) \
                           THEN excluded.root_span_id ELSE tr.root_span_id END, \
       service_name = CASE WHEN excluded.root_span_id IS NOT NULL AND (tr.root_span_id IS NULL \
                                OR (excluded.root_is_true AND NOT tr.root_is_true)) \
                           THEN excluded.service_name ELSE tr.service_name END, \
       root_is_true = tr.root_is_true OR excluded.root_is_true, \
       span_count = tr.span_count + excluded.span_count, \
       error_count = tr.error_count + excluded.error_count";

/// The statements of a batch, prepared once per connection.
pub(super) struct Statements {
    spans: Statement,
    events: Statement,
    metrics: Statement,
    traces: Statement,
}

impl Statements {
    pub(super) fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
        Ok(Statements {
            spans: client.prepare(INSERT_SPANS)?,
            events: client.prepare(INSERT_EVENTS)?,
            metrics: client.prepare(INSERT_METRICS)?,
            traces: client.prepare(UPSERT_TRACES)?,
        })
    }
}

/// How writing a batch ended.
pub(super) enum BatchOutcome {
    /// Committed.
    Stored,
    /// Not committed: nothing of it is stored.
    Failed(postgres::Error),
    /// The connection dropped during `COMMIT`: the transaction with this id may or may not
    /// have committed.
    Unknown(i64, postgres::Error),
}

/// What a batch aggregates and encodes before writing it, reused from one batch to the next.
pub(super) struct Batch {
    traces: TraceAggs,
    series: MetricSeriesAgg,
    json: Vec<u8>,
    inference_metrics: InferenceMetrics,
    spans: SpanColumns,
    events: EventColumnsVec,
}

impl Batch {
    pub(super) fn new(inference_metrics: InferenceMetrics) -> Batch {
        Batch {
            traces: TraceAggs::default(),
            series: MetricSeriesAgg::default(),
            json: Vec::with_capacity(1024),
            inference_metrics,
            spans: SpanColumns::default(),
            events: EventColumnsVec::default(),
        }
    }

    /// Write `batch` in one transaction; nothing of it is stored unless it returns
    /// [`BatchOutcome::Stored`] (or `Unknown` turns out committed).
    pub(super) fn write(
        &mut self,
        client: &mut Client,
        statements: &Statements,
        batch: &[Telemetry],
    ) -> BatchOutcome {
        let mut tx = match client.transaction() {
            Ok(tx) => tx,
            Err(e) => return BatchOutcome::Failed(e),
        };
        let xid = match tx.query_one("SELECT txid_current()", &[]) {
            Ok(row) => row.get::<_, i64>(0),
            Err(e) => return BatchOutcome::Failed(e),
        };
        if let Err(e) = self.write_in(&mut tx, statements, batch) {
            return BatchOutcome::Failed(e);
        }
        match tx.commit() {
            Ok(()) => BatchOutcome::Stored,
            Err(e) if e.as_db_error().is_none() => BatchOutcome::Unknown(xid, e),
            Err(e) => BatchOutcome::Failed(e),
        }
    }

    fn write_in(
        &mut self,
        tx: &mut postgres::Transaction<'_>,
        statements: &Statements,
        batch: &[Telemetry],
    ) -> Result<(), postgres::Error> {
        let Batch {
            traces,
            series,
            json,
            inference_metrics,
            spans,
            events,
        } = self;
        traces.clear();
        series.clear();
        spans.clear();
        events.clear();
        for span in batch.iter().filter_map(Telemetry::span) {
            spans.push(json, span);
        }
        let mut new: HashSet<String> = if spans.ids.is_empty() {
            HashSet::new()
        } else {
            tx.query(&statements.spans, &spans.params())?
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect()
        };
        for item in batch {
            if let Telemetry::Log(log) = item {
                events.push(json, log, log.trace_id, log.span_id);
                continue;
            }
            if let Some(span) = item.span() {
                // Only spans this batch stored (once each, should a batch repeat an id).
                if new.remove(hex_str(&span_hex(&span.span_id))) {
                    for event in &span.events {
                        events.push(json, event, Some(span.trace_id), Some(span.span_id));
                    }
                    traces.aggregate(span);
                }
            }
            let added = match item {
                Telemetry::Inference(span) => series.add_inference(inference_metrics, span),
                Telemetry::SampledOut(span) if span.category == SpanCategory::Inference => {
                    series.add_inference(inference_metrics, span)
                }
                Telemetry::Guardrail(span) => inference_metrics
                    .measure_guardrail(span)
                    .iter()
                    .try_for_each(|p| series.add(p).map(drop)),
                Telemetry::Metrics(_) | Telemetry::SampledOut(_) => {
                    match item.metrics(inference_metrics) {
                        Some(points) => points.iter().try_for_each(|p| series.add(p).map(drop)),
                        None => Ok(()),
                    }
                }
                _ => Ok(()),
            };
            // Labels that cannot be encoded (never in practice) lose their point, not the batch.
            let _ = added;
        }
        if !events.trace.is_empty() {
            tx.execute(&statements.events, &events.params())?;
        }
        if !series.rows().is_empty() {
            let m = MetricColumns::of(series);
            tx.execute(&statements.metrics, &m.params())?;
        }
        if !traces.is_empty() {
            let t = TraceColumns::of(traces);
            tx.execute(&statements.traces, &t.params())?;
        }
        Ok(())
    }
}

fn hex_str(bytes: &[u8]) -> &str {
    // Hex digits are ASCII.
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Text PostgreSQL accepts: it has no NUL character in `text`; U+FFFD stands for it.
fn pg_text(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_owned()
    }
}

/// JSON text `jsonb` accepts: it has no `\u0000` in strings; `\ufffd` stands for it.
fn pg_json(json: &[u8]) -> String {
    let s = String::from_utf8_lossy(json);
    if !s.contains("\\u0000") {
        return s.into_owned();
    }
    // Replace only escapes that are escapes (an odd number of backslashes before `u0000`).
    let mut out = String::with_capacity(s.len());
    let mut backslashes = 0usize;
    let mut rest = &*s;
    while let Some(c) = rest.chars().next() {
        if c == '\\' && backslashes.is_multiple_of(2) && rest.starts_with("\\u0000") {
            out.push_str("\\ufffd");
            rest = &rest[6..];
            backslashes = 0;
            continue;
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[derive(Default)]
struct SpanColumns {
    ids: Vec<String>,
    trace: Vec<String>,
    parent: Vec<Option<String>>,
    name: Vec<String>,
    start: Vec<SystemTime>,
    end: Vec<SystemTime>,
    duration: Vec<f64>,
    attributes: Vec<String>,
    status: Vec<&'static str>,
    kind: Vec<&'static str>,
    message: Vec<Option<String>>,
    category: Vec<&'static str>,
    service: Vec<String>,
}

impl SpanColumns {
    fn clear(&mut self) {
        *self = SpanColumns::default();
    }

    fn push(&mut self, json: &mut Vec<u8>, span: &SpanRecord) {
        let mut obj = JsonObject::new(json);
        let encoded = span.attributes.iter().try_for_each(|(k, v)| obj.attr(k, v));
        let attributes = match encoded {
            Ok(()) => pg_json(obj.finish()),
            Err(_) => "{}".to_owned(),
        };
        self.ids.push(hex_str(&span_hex(&span.span_id)).to_owned());
        self.trace
            .push(hex_str(&trace_hex(&span.trace_id)).to_owned());
        self.parent.push(
            span.parent_span_id
                .map(|p| hex_str(&span_hex(&p)).to_owned()),
        );
        self.name.push(pg_text(&span.name));
        self.start.push(span.start_time);
        self.end.push(span.end_time);
        self.duration.push(span.duration_ms());
        self.attributes.push(attributes);
        self.status.push(span.status.as_str());
        self.kind.push(span.kind.as_str());
        self.message
            .push(span.status_message.as_deref().map(pg_text));
        self.category.push(span.category.as_str());
        self.service.push(pg_text(&span.service_name));
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 13] {
        [
            &self.ids,
            &self.trace,
            &self.parent,
            &self.name,
            &self.start,
            &self.end,
            &self.duration,
            &self.attributes,
            &self.status,
            &self.kind,
            &self.message,
            &self.category,
            &self.service,
        ]
    }
}

#[derive(Default)]
struct EventColumnsVec {
    trace: Vec<Option<String>>,
    span: Vec<Option<String>>,
    timestamp: Vec<SystemTime>,
    event_type: Vec<&'static str>,
    severity: Vec<Option<&'static str>>,
    message: Vec<Option<String>>,
    metric: Vec<Option<String>>,
    value: Vec<Option<f64>>,
    unit: Vec<Option<String>>,
    attributes: Vec<String>,
}

impl EventColumnsVec {
    fn clear(&mut self) {
        *self = EventColumnsVec::default();
    }

    fn push(
        &mut self,
        json: &mut Vec<u8>,
        event: &LogRecord,
        trace_id: Option<TraceId>,
        span_id: Option<SpanId>,
    ) {
        let (c, attributes) = match EventColumns::encode(json, event) {
            Ok(c) => (c, pg_json(json)),
            // Attributes that cannot be encoded (never in practice): the event without them.
            Err(_) => (EventColumns::bare(event), "{}".to_owned()),
        };
        self.trace
            .push(trace_id.map(|t| hex_str(&trace_hex(&t)).to_owned()));
        self.span
            .push(span_id.map(|s| hex_str(&span_hex(&s)).to_owned()));
        self.timestamp.push(event.timestamp);
        self.event_type.push(c.event_type);
        self.severity.push(c.severity);
        self.message.push(c.message.map(pg_text));
        self.metric.push(c.metric.map(pg_text));
        self.value.push(c.value);
        self.unit.push(c.unit.map(pg_text));
        self.attributes.push(attributes);
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 10] {
        [
            &self.trace,
            &self.span,
            &self.timestamp,
            &self.event_type,
            &self.severity,
            &self.message,
            &self.metric,
            &self.value,
            &self.unit,
            &self.attributes,
        ]
    }
}

struct MetricColumns {
    name: Vec<String>,
    instrument: Vec<&'static str>,
    unit: Vec<String>,
    value: Vec<Option<f64>>,
    timestamp: Vec<SystemTime>,
    attributes: Vec<String>,
    trace: Vec<Option<String>>,
    span: Vec<Option<String>>,
    count: Vec<i64>,
}

impl MetricColumns {
    fn of(series: &MetricSeriesAgg) -> MetricColumns {
        let rows = series.rows();
        let mut m = MetricColumns {
            name: Vec::with_capacity(rows.len()),
            instrument: Vec::with_capacity(rows.len()),
            unit: Vec::with_capacity(rows.len()),
            value: Vec::with_capacity(rows.len()),
            timestamp: Vec::with_capacity(rows.len()),
            attributes: Vec::with_capacity(rows.len()),
            trace: Vec::with_capacity(rows.len()),
            span: Vec::with_capacity(rows.len()),
            count: Vec::with_capacity(rows.len()),
        };
        for row in rows {
            m.name.push(pg_text(&row.name));
            m.instrument.push(row.instrument.as_str());
            m.unit.push(row.unit.to_string());
            // A non-finite sum is stored as NULL, as in the SQLite store.
            m.value.push(row.sum.is_finite().then_some(row.sum));
            m.timestamp.push(row.latest);
            m.attributes.push(pg_json(row.labels()));
            m.trace
                .push(row.trace_id.map(|t| hex_str(&trace_hex(&t)).to_owned()));
            m.span
                .push(row.span_id.map(|s| hex_str(&span_hex(&s)).to_owned()));
            m.count.push(i64::try_from(row.count).unwrap_or(i64::MAX));
        }
        m
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 9] {
        [
            &self.name,
            &self.instrument,
            &self.unit,
            &self.value,
            &self.timestamp,
            &self.attributes,
            &self.trace,
            &self.span,
            &self.count,
        ]
    }
}

struct TraceColumns {
    id: Vec<String>,
    service: Vec<String>,
    root: Vec<Option<String>>,
    start: Vec<SystemTime>,
    end: Vec<SystemTime>,
    spans: Vec<i64>,
    errors: Vec<i64>,
    true_root: Vec<bool>,
}

impl TraceColumns {
    fn of(traces: &TraceAggs) -> TraceColumns {
        let sorted = traces.sorted();
        let mut t = TraceColumns {
            id: Vec::with_capacity(sorted.len()),
            service: Vec::with_capacity(sorted.len()),
            root: Vec::with_capacity(sorted.len()),
            start: Vec::with_capacity(sorted.len()),
            end: Vec::with_capacity(sorted.len()),
            spans: Vec::with_capacity(sorted.len()),
            errors: Vec::with_capacity(sorted.len()),
            true_root: Vec::with_capacity(sorted.len()),
        };
        for (id, agg) in sorted {
            t.id.push(hex_str(&trace_hex(id)).to_owned());
            t.service.push(pg_text(&agg.service));
            t.root
                .push(agg.root.map(|r| hex_str(&span_hex(&r)).to_owned()));
            t.start.push(agg.start);
            t.end.push(agg.end);
            t.spans.push(i64::from(agg.spans));
            t.errors.push(i64::from(agg.errors));
            t.true_root.push(agg.true_root);
        }
        t
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 8] {
        [
            &self.id,
            &self.service,
            &self.root,
            &self.start,
            &self.end,
            &self.spans,
            &self.errors,
            &self.true_root,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::{pg_json, pg_text};

    #[test]
    fn nul_characters_become_replacement_characters() {
        assert_eq!(pg_text("a\0b"), "a\u{FFFD}b");
        assert_eq!(pg_json(br#"{"k":"a\u0000b"}"#), r#"{"k":"a\ufffdb"}"#);
        // An escaped backslash followed by the text u0000 is not an escape.
        assert_eq!(pg_json(br#"{"k":"\\u0000"}"#), r#"{"k":"\\u0000"}"#);
        assert_eq!(pg_json(br#"{"k":"x"}"#), r#"{"k":"x"}"#);
    }
}
