//! Tests of the backlog in the store: spans read back as they were exported, rows of
//! exited processes adopted and those of live ones left alone, rows gone from the store
//! dropped and counted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::{KeyValue, Value};

use super::*;
use crate::config::TelemetryConfig;
use crate::metrics::InferenceMetrics;
use crate::model::ids::SpanId;
use crate::pipeline::{BatchWriter, Telemetry};
use crate::sinks::otlp::convert::scope;
use crate::sinks::sqlite::SqliteWriter;

const ENDPOINT: &str = "http://127.0.0.1:4318/v1/traces";

fn inference() -> Arc<SpanRecord> {
    let now = SystemTime::now();
    Arc::new(SpanRecord {
        category: SpanCategory::Inference,
        kind: SpanKind::Client,
        parent_span_id: Some(SpanId::random()),
        attributes: vec![
            ("gen_ai.request.model".into(), AttrValue::Str("m".into())),
            ("gen_ai.usage.input_tokens".into(), AttrValue::U64(10)),
            ("gen_ai.usage.output_tokens".into(), AttrValue::U64(4)),
            ("ratio".into(), AttrValue::F64(0.5)),
        ],
        events: vec![LogRecord {
            timestamp: now,
            trace_id: None,
            span_id: None,
            body: LogBody::Unstructured {
                message: "hello".into(),
                severity: Severity::Warn,
            },
            attributes: vec![("k".into(), AttrValue::Bool(true))],
        }],
        ..SpanRecord::test("chat m")
    })
}

/// A store at `path` holding `spans` (written by the sqlite sink).
fn store_with(path: &Path, spans: &[Arc<SpanRecord>]) {
    let config = TelemetryConfig::builder().sinks([]).build();
    let mut writer = SqliteWriter::open(path, &config).unwrap();
    let items: Vec<Telemetry> = spans.iter().cloned().map(Telemetry::Inference).collect();
    writer.write_batch(&items).unwrap();
    writer.shutdown();
}

fn open(path: &Path) -> StoreBacklog {
    StoreBacklog::open(path, ENDPOINT, "svc", OtlpBacklog::default(), scope()).unwrap()
}

fn live_form(span: &SpanRecord) -> SpanData {
    let derived = InferenceMetrics::new("llama_stack").token_events_of(span);
    span_data(span, &derived, &scope())
}

fn owed(path: &Path) -> Vec<(i64, i64)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT owner, inherited FROM otlp_backlog ORDER BY seq")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn owed_spans_are_read_back_as_they_were_exported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let span = inference();
    store_with(&path, std::slice::from_ref(&span));
    let mut backlog = open(&path);
    let mut report = Report::default();
    backlog.keep(&[Telemetry::Inference(span.clone())], &mut report);
    assert_eq!((backlog.len(), report), (1, Report::default()));

    let out = backlog.oldest(&mut report);
    assert_eq!(out.len(), 1);
    let (got, want) = (&out[0], live_form(&span));
    assert_eq!(got.span_context, want.span_context);
    assert_eq!(got.parent_span_id, want.parent_span_id);
    assert_eq!(
        (got.name.clone(), got.span_kind.clone()),
        (want.name, want.span_kind)
    );
    assert_eq!(got.status, want.status);
    let mut attrs = got.attributes.clone();
    attrs.sort_by(|a, b| a.key.cmp(&b.key));
    let mut wanted = want.attributes.clone();
    wanted.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(attrs, wanted, "typed as exported: integers stay integers");
    let names: Vec<&str> = got.events.iter().map(|e| &*e.name).collect();
    let wanted_names: Vec<&str> = want.events.iter().map(|e| &*e.name).collect();
    assert_eq!(names, wanted_names, "the log and the three token events");
    assert!(got.events.events[0]
        .attributes
        .contains(&KeyValue::new("level", "warn")));
    assert!(got.events.events[1]
        .attributes
        .contains(&KeyValue::new("metric.value", Value::F64(10.0))));

    backlog.sent(true, &mut report);
    assert_eq!((backlog.len(), report.stored), (0, 1));
    assert!(backlog.is_empty());
    assert!(owed(&path).is_empty());
}

#[test]
fn rows_of_exited_processes_are_adopted_and_those_of_live_ones_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let spans: Vec<_> = (0..3).map(|_| inference()).collect();
    store_with(&path, &spans);
    let mut exited = std::process::Command::new("true").spawn().unwrap();
    let dead = i64::from(exited.id()) << 20;
    exited.wait().unwrap();
    let alive = i64::from(std::os::unix::process::parent_id()) << 20;
    {
        let conn = Connection::open(&path).unwrap();
        let now = unix_seconds(SystemTime::now());
        for (span, owner, endpoint) in [
            (&spans[0], dead, ENDPOINT),
            (&spans[1], alive, ENDPOINT),
            (&spans[2], dead, "http://elsewhere:4318/v1/traces"),
        ] {
            conn.execute(
                "INSERT INTO otlp_backlog (endpoint, owner, trace_id, span_id, queued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    endpoint,
                    owner,
                    span.trace_id.to_string(),
                    span.span_id.to_string(),
                    now
                ],
            )
            .unwrap();
        }
    }
    let mut backlog = open(&path);
    let me = backlog.owner;
    assert_eq!(owed(&path), [(me, 1), (alive, 0), (dead, 0)]);
    assert!(!backlog.is_empty());
    assert_eq!(backlog.len(), 0, "adopted spans are not this process's own");
    let mut report = Report::default();
    let out = backlog.oldest(&mut report);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].span_context.span_id().to_string(),
        spans[0].span_id.to_string()
    );
    backlog.sent(true, &mut report);
    assert_eq!(
        report,
        Report::default(),
        "counted apart from this process's spans"
    );
    assert!(backlog.is_empty());
    let note = backlog.close("traces", 0).unwrap();
    assert!(note.contains("1 were exported and 0 dropped"), "{note}");
    // A second newcomer finds nothing more to take.
    drop(backlog);
    assert_eq!(owed(&path), [(alive, 0), (dead, 0)]);
}

#[test]
fn spans_gone_from_the_store_or_past_the_bound_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let kept = inference();
    store_with(&path, std::slice::from_ref(&kept));
    let bound = OtlpBacklog {
        max_spans: 2,
        max_age: Some(Duration::from_secs(600)),
    };
    let mut backlog = StoreBacklog::open(&path, ENDPOINT, "svc", bound, scope()).unwrap();
    let mut report = Report::default();
    // Never stored (the sqlite sink's queue was full, or retention deleted it).
    let never = Arc::new(SpanRecord::test("never stored"));
    backlog.keep(&[Telemetry::Span(never)], &mut report);
    backlog.keep(&[Telemetry::Inference(kept.clone())], &mut report);
    // Within the grace period a missing row may still come: it waits.
    assert_eq!(backlog.oldest(&mut report).len(), 1);
    assert_eq!((report.dropped, backlog.len()), (0, 2));
    // Past it, it is dropped.
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE otlp_backlog SET queued_at = queued_at - 60", [])
        .unwrap();
    assert_eq!(backlog.oldest(&mut report).len(), 1);
    assert_eq!((report.dropped, backlog.len()), (1, 1));
    // Past the age bound: dropped, not sent.
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE otlp_backlog SET queued_at = queued_at - 600", [])
        .unwrap();
    assert!(backlog.oldest(&mut report).is_empty());
    assert_eq!((report.dropped, backlog.len()), (2, 0));
    // Past the number: the oldest goes.
    let three: Vec<_> = (0..3).map(|_| Telemetry::Inference(inference())).collect();
    backlog.keep(&three, &mut report);
    assert_eq!((report.dropped, backlog.len()), (3, 2));
    assert_eq!(owed(&path).len(), 2);
}

#[test]
fn two_exporters_of_one_process_keep_apart_until_one_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let span = inference();
    store_with(&path, std::slice::from_ref(&span));
    let mut report = Report::default();
    let mut first = open(&path);
    first.keep(&[Telemetry::Inference(span.clone())], &mut report);
    let mut second = open(&path);
    assert!(
        second.is_empty(),
        "the first exporter still runs: its rows stay its own"
    );
    assert_eq!(second.oldest(&mut report).len(), 0);
    drop(first);
    let mut third = open(&path);
    assert!(
        !third.is_empty(),
        "a guard that is gone leaves its rows to the next"
    );
    assert_eq!(third.oldest(&mut report).len(), 1);
    third.sent(true, &mut report);
    assert!(owed(&path).is_empty());
    drop(second);
}
