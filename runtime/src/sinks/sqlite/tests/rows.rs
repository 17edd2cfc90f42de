//! What a batch stores of spans and events: a span tree and its `traces` row, attributes as
//! one typed JSON object, span events, free logs and metric points, and a span written twice.

use crate::model::time::sqlite_timestamp;

use super::*;

#[test]
fn a_span_tree_and_its_trace_row() {
    let (_dir, path, mut w) = temp_store();
    let trace = TraceId::random();
    let mut root = S::new(trace, None, "invoke_agent weather");
    root.start = at(20.0);
    root.ms = 3_000;
    root.service = "root-service";
    let mut child = S::new(trace, Some(root.span), "chat llama3.2:3b");
    child.start = at(19.5);
    child.service = "child-service";
    let mut grandchild = S::new(trace, Some(child.span), "execute_tool get_weather");
    grandchild.start = at(19.4);
    grandchild.status = SpanStatus::Error;

    // Children close first: the trace is findable before its root arrives.
    w.write_batch(&[grandchild.item(), child.item()]).unwrap();
    let conn = reader(&path);
    let (root_id, service, start, _, ts, spans, errors) = trace_row(&conn, trace);
    assert_eq!(root_id, None);
    assert_eq!(service.as_deref(), Some("test-service"));
    assert_eq!(start, sqlite_timestamp(child.start));
    assert_eq!(ts, start);
    assert_eq!((spans, errors), (2, 1));

    w.write_batch(&[root.item()]).unwrap();
    let (root_id, service, start, end, ts, spans, errors) = trace_row(&conn, trace);
    assert_eq!(root_id, Some(root.span.to_string()));
    assert_eq!(service.as_deref(), Some("root-service"));
    assert_eq!(start, sqlite_timestamp(root.start));
    assert_eq!(ts, start);
    assert_eq!(
        end,
        sqlite_timestamp(root.start + Duration::from_millis(3_000))
    );
    assert_eq!((spans, errors), (3, 1));

    let parent_of = |s: &S| -> Option<String> {
        conn.query_row(
            "SELECT parent_span_id FROM spans WHERE span_id = ?1",
            [s.span.to_string()],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(parent_of(&root), None);
    assert_eq!(parent_of(&child), Some(root.span.to_string()));
    assert_eq!(parent_of(&grandchild), Some(child.span.to_string()));
    let (status, message, kind, duration): (String, Option<String>, String, f64) = conn
        .query_row(
            "SELECT status, status_message, kind, duration_ms FROM spans WHERE span_id = ?1",
            [grandchild.span.to_string()],
            |r| r.try_into(),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), message.as_deref(), kind.as_str()),
        ("error", Some("boom"), "internal")
    );
    assert!((duration - 5.0).abs() < 1e-9, "{duration}");

    // The same tree written in one batch, root last, in a fresh trace.
    let trace2 = TraceId::random();
    let r2 = S::new(trace2, None, "root");
    let c2 = S::new(trace2, Some(r2.span), "child");
    w.write_batch(&[c2.item(), r2.item()]).unwrap();
    assert_eq!(trace_row(&conn, trace2).0, Some(r2.span.to_string()));
    // Children of a span, through the (trace_id, parent_span_id) index.
    let children = count(
        &conn,
        &format!(
            "SELECT count(*) FROM spans WHERE trace_id = '{trace}' AND parent_span_id = '{}'",
            root.span
        ),
    );
    assert_eq!(children, 1);
}

#[test]
fn a_remote_parent_makes_a_root_until_the_true_root_arrives() {
    let (_dir, path, mut w) = temp_store();
    let trace = TraceId::random();
    let client_root = S::new(trace, None, "client");
    let mut server = S::new(trace, Some(client_root.span), "server");
    server.remote = true;
    w.write_batch(&[server.item()]).unwrap();
    let conn = reader(&path);
    assert_eq!(trace_row(&conn, trace).0, Some(server.span.to_string()));
    // Another process writes the caller's root into the same file later.
    w.write_batch(&[client_root.item()]).unwrap();
    assert_eq!(
        trace_row(&conn, trace).0,
        Some(client_root.span.to_string())
    );
    // A later remote-parented span does not displace it.
    let mut other = S::new(trace, Some(client_root.span), "server again");
    other.remote = true;
    w.write_batch(&[other.item()]).unwrap();
    assert_eq!(
        trace_row(&conn, trace).0,
        Some(client_root.span.to_string())
    );
    assert_eq!(trace_row(&conn, trace).5, 3);
}

#[test]
fn attributes_are_one_typed_json_object() {
    let (_dir, path, mut w) = temp_store();
    let mut s = S::new(TraceId::random(), None, "chat llama3.2:3b");
    s.attributes = vec![
        ("gen_ai.request.model", AttrValue::Str("llama3.2:3b".into())),
        ("gen_ai.usage.input_tokens", AttrValue::U64(42)),
        ("offset", AttrValue::I64(-3)),
        ("temperature", AttrValue::F64(0.25)),
        ("gen_ai.is_stream", AttrValue::Bool(true)),
        (
            "quote\"d",
            AttrValue::Str("line\nbreak \"and\" \\ unicode é".into()),
        ),
        ("nan", AttrValue::F64(f64::NAN)),
    ];
    w.write_batch(&[s.item()]).unwrap();
    let conn = reader(&path);
    let get = |path: &str| -> (String, String) {
        conn.query_row(
            "SELECT json_type(attributes, ?1), CAST(json_extract(attributes, ?1) AS TEXT) FROM spans",
            [path],
            |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())),
        )
        .unwrap()
    };
    assert_eq!(
        get(r#"$."gen_ai.request.model""#),
        ("text".into(), "llama3.2:3b".into())
    );
    assert_eq!(
        get(r#"$."gen_ai.usage.input_tokens""#),
        ("integer".into(), "42".into())
    );
    assert_eq!(get(r#"$."offset""#), ("integer".into(), "-3".into()));
    assert_eq!(get(r#"$."temperature""#), ("real".into(), "0.25".into()));
    assert_eq!(get(r#"$."gen_ai.is_stream""#).0, "true");
    assert_eq!(get(r#"$."quote\"d""#).1, "line\nbreak \"and\" \\ unicode é");
    assert_eq!(get(r#"$."nan""#).0, "null");
    let tokens: i64 = conn
        .query_row(
            r#"SELECT json_extract(attributes, '$."gen_ai.usage.input_tokens"') + 1 FROM spans"#,
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tokens, 43);
    assert_eq!(count(&conn, "SELECT json_valid(attributes) FROM spans"), 1);
    // No attributes: an empty object, not NULL.
    let bare = S::new(TraceId::random(), None, "bare");
    w.write_batch(&[bare.item()]).unwrap();
    let attrs: String = conn
        .query_row(
            "SELECT attributes FROM spans WHERE name = 'bare'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attrs, "{}");
}

#[test]
fn span_events_free_logs_and_metrics() {
    let (_dir, path, mut w) = temp_store();
    let trace = TraceId::random();
    let mut s = S::new(trace, None, "chat m");
    let log = |body: LogBody| LogRecord {
        timestamp: at(9.0),
        trace_id: Some(trace),
        span_id: Some(s.span),
        body,
        attributes: vec![(Cow::Borrowed("k"), AttrValue::U64(1))],
    };
    s.events = vec![
        log(LogBody::SpanStart {
            name: "chat m".into(),
            parent_span_id: None,
        }),
        log(LogBody::Unstructured {
            message: "calling the model".into(),
            severity: Severity::Info,
        }),
        log(LogBody::Metric {
            metric: "prompt_tokens".into(),
            value: 12.0,
            unit: "tokens".into(),
        }),
        log(LogBody::SpanEnd {
            status: SpanStatus::Ok,
        }),
    ];
    let free = free_log("outside", Severity::Warn);
    let mut tokens = point("llama_stack.prompt_tokens", 12.0, "m", at(9.0));
    tokens.attributes.push((
        Cow::Borrowed("provider_id"),
        AttrValue::Str("ollama".into()),
    ));
    tokens.trace_id = Some(trace);
    tokens.span_id = Some(s.span);
    let points: Arc<[MetricRecord]> = vec![
        tokens,
        MetricRecord {
            name: Cow::Borrowed("gen_ai.client.operation.duration"),
            instrument: Instrument::Histogram,
            count: 1,
            unit: "s".into(),
            value: 0.005,
            attributes: Vec::new(),
            timestamp: at(9.0),
            trace_id: None,
            span_id: None,
        },
    ]
    .into();
    w.write_batch(&[
        s.item(),
        Telemetry::Log(Arc::new(free)),
        Telemetry::Metrics(points),
    ])
    .unwrap();
    let conn = reader(&path);
    type Row = (
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<f64>,
        String,
    );
    let rows: Vec<Row> = select(
        &conn,
        "SELECT span_id, event_type, severity, message, metric, value, attributes FROM span_events ORDER BY id");
    let sid = Some(s.span.to_string());
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].0, sid);
    assert_eq!(
        (rows[0].1.as_str(), rows[0].3.as_deref()),
        ("structured_log", Some("span_start"))
    );
    assert_eq!(
        rows[0].6,
        r#"{"name":"chat m","parent_span_id":null,"k":1}"#
    );
    assert_eq!(
        (
            rows[1].1.as_str(),
            rows[1].2.as_deref(),
            rows[1].3.as_deref()
        ),
        ("unstructured_log", Some("info"), Some("calling the model"))
    );
    assert_eq!(
        (rows[2].1.as_str(), rows[2].4.as_deref(), rows[2].5),
        ("metric", Some("prompt_tokens"), Some(12.0))
    );
    assert_eq!(rows[3].6, r#"{"status":"ok","k":1}"#);
    assert_eq!(
        (
            rows[4].0.as_deref(),
            rows[4].2.as_deref(),
            rows[4].3.as_deref()
        ),
        (None, Some("warn"), Some("outside"))
    );
    let trace_of_events = count(
        &conn,
        &format!("SELECT count(*) FROM span_events WHERE trace_id = '{trace}'"),
    );
    assert_eq!(trace_of_events, 4);

    let metrics: Vec<(String, String, String, f64, String, Option<String>)> = select(
        &conn,
        "SELECT name, instrument, unit, value, attributes, span_id FROM metrics ORDER BY id",
    );
    assert_eq!(metrics.len(), 2);
    assert_eq!(
        metrics[0],
        (
            "llama_stack.prompt_tokens".into(),
            "counter".into(),
            "{token}".into(),
            12.0,
            r#"{"model_id":"m","provider_id":"ollama"}"#.into(),
            sid
        )
    );
    assert_eq!(
        (metrics[1].1.as_str(), metrics[1].3, metrics[1].5.as_deref()),
        ("histogram", 0.005, None)
    );
}

#[test]
fn a_span_written_twice_is_stored_once() {
    let (_dir, path, mut w) = temp_store();
    let mut s = S::new(TraceId::random(), None, "once");
    s.events = vec![free_log("m", Severity::Info)];
    w.write_batch(&[s.item()]).unwrap();
    w.write_batch(&[s.item(), s.item()]).unwrap();
    let conn = reader(&path);
    assert_eq!(count(&conn, "SELECT count(*) FROM spans"), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM span_events"), 1);
    assert_eq!(count(&conn, "SELECT span_count FROM traces"), 1);
}
