//! The `span_events` view (schema version 3): the token events it derives from an inference
//! span's row are the rows the writer stored up to version 2, and a version-2 store keeps
//! every event through its migration.

use crate::store::schema;

use super::super::rows::{insert_event, insert_span, INSERT_EVENT, INSERT_SPAN};
use super::*;

/// An inference span as the layer sends it, with its token events derived on read.
fn inference(trace: TraceId, attributes: Vec<(&'static str, AttrValue)>) -> Telemetry {
    let mut s = S::new(trace, None, "chat m");
    s.attributes = attributes;
    s.inference()
}

type EventRow = (
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<f64>,
    Option<String>,
    String,
);

fn event_rows(conn: &Connection, table: &str) -> Vec<EventRow> {
    select(
        conn,
        &format!(
            "SELECT trace_id, span_id, timestamp, event_type, severity, message, metric, value, \
             unit, attributes FROM {table} ORDER BY timestamp, id"
        ),
    )
}

#[test]
fn the_span_events_view_derives_exactly_the_token_events_the_writer_used_to_store() {
    let dir = tempfile::tempdir().unwrap();
    let model = || AttrValue::Str("m\"o\\d\tél\u{1}".into());
    let cases = [
        vec![
            ("gen_ai.request.model", model()),
            ("gen_ai.provider.name", AttrValue::Str("ollama".into())),
            ("gen_ai.usage.input_tokens", AttrValue::U64(12)),
            ("gen_ai.usage.output_tokens", AttrValue::U64(30)),
        ],
        // Output only, no provider: prompt 0, labels without provider_id.
        vec![
            ("gen_ai.request.model", model()),
            ("gen_ai.usage.output_tokens", AttrValue::U64(7)),
        ],
        vec![("gen_ai.usage.input_tokens", AttrValue::I64(3))],
        // No usage recorded: no events.
        vec![("gen_ai.request.model", model())],
    ];
    for (i, attributes) in cases.into_iter().enumerate() {
        let item = inference(TraceId::random(), attributes);
        let derived = item.derived_events(&inference_metrics());

        // Version 3: the span row only; the view derives its events.
        let path = dir.path().join(format!("v3-{i}.db"));
        let mut w = open(&path);
        w.write_batch(std::slice::from_ref(&item)).unwrap();
        let conn = reader(&path);
        assert_eq!(count(&conn, "SELECT count(*) FROM span_logs"), 0);
        let viewed = event_rows(&conn, "span_events");

        // Up to version 2 the writer stored `derived_events()` as rows.
        let path = dir.path().join(format!("v2-{i}.db"));
        let w = open(&path);
        {
            let mut stmt = w.conn.prepare_cached(INSERT_EVENT).unwrap();
            let mut json = Vec::new();
            let span = item.span().unwrap();
            for event in &derived {
                insert_event(
                    &mut stmt,
                    &mut json,
                    event,
                    Some(span.trace_id),
                    Some(span.span_id),
                )
                .unwrap();
            }
        }
        let stored = event_rows(&reader(&path), "span_logs");

        assert_eq!(viewed, stored, "case {i}");
        assert_eq!(viewed.len(), derived.len(), "case {i}");
    }
}

#[test]
fn a_version_2_store_is_migrated_with_the_same_span_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let trace = TraceId::random();
    let item = inference(
        trace,
        vec![
            ("gen_ai.request.model", AttrValue::Str("llama3.2:3b".into())),
            ("gen_ai.provider.name", AttrValue::Str("ollama".into())),
            ("gen_ai.usage.input_tokens", AttrValue::U64(12)),
            ("gen_ai.usage.output_tokens", AttrValue::U64(30)),
        ],
    );
    let span = item.span().unwrap().clone();
    let log = |metric: &str, value: f64| LogRecord {
        timestamp: span.end_time,
        trace_id: Some(trace),
        span_id: Some(span.span_id),
        body: LogBody::Metric {
            metric: metric.into(),
            value,
            unit: "tokens".into(),
        },
        attributes: Vec::new(),
    };
    let before = {
        // A version-2 store as that writer left it: the span, its three token events
        // and, logged by the application, a log and a metric event of the same name.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(schema::V1).unwrap();
        conn.execute_batch(schema::V2).unwrap();
        conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        let mut json = Vec::new();
        let mut spans = conn.prepare_cached(INSERT_SPAN).unwrap();
        assert!(insert_span(&mut spans, &mut json, &span).unwrap());
        let mut events = conn
            .prepare_cached(&INSERT_EVENT.replace("span_logs", "span_events"))
            .unwrap();
        let logged = [
            LogRecord {
                body: LogBody::Unstructured {
                    message: "calling the model".into(),
                    severity: Severity::Info,
                },
                ..log("", 0.0)
            },
            log("total_tokens", 99.0),
        ];
        for event in logged
            .iter()
            .chain(&item.derived_events(&inference_metrics()))
        {
            insert_event(
                &mut events,
                &mut json,
                event,
                Some(trace),
                Some(span.span_id),
            )
            .unwrap();
        }
        drop((spans, events));
        let rows = event_rows(&conn, "span_events");
        assert_eq!(rows.len(), 5);
        rows
    };
    let _w = open(&path);
    let conn = reader(&path);
    assert_eq!(
        count(&conn, "PRAGMA user_version"),
        i64::from(crate::store::schema::SCHEMA_VERSION)
    );
    // Only what was logged is still stored; the view shows every row as before.
    assert_eq!(count(&conn, "SELECT count(*) FROM span_logs"), 2);
    let mut after = event_rows(&conn, "span_events");
    let mut before = before;
    let key = |r: &EventRow| format!("{r:?}");
    before.sort_by_key(key);
    after.sort_by_key(key);
    assert_eq!(after, before);
    // SQL written for the old table still inserts and deletes.
    conn.execute(
        "INSERT INTO span_events (trace_id, span_id, timestamp, event_type, message) \
         VALUES (NULL, NULL, '2026-01-01 00:00:00.000000', 'unstructured_log', 'x')",
        [],
    )
    .unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM span_logs"), 3);
    conn.execute("DELETE FROM span_events WHERE message = 'x'", [])
        .unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM span_logs"), 2);
}
