//! W3C trace-context propagation (`llm_telemetry::context`), checked against the SQLite
//! store: `inject` writes the ids SQLite records; `extract` makes the next spans children
//! of the remote span, with `tracestate` passed on; bad headers start a new trace;
//! concurrent requests never mix their remote parents.

#[path = "../examples/agent/agent.rs"]
mod agent;

use std::path::{Path, PathBuf};

use http::HeaderMap;
use llm_telemetry::{context, SinkKind, TelemetryConfig};
use tracing::instrument::WithSubscriber;
use tracing::Instrument;

const REMOTE_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const REMOTE_SPAN: &str = "00f067aa0ba902b7";

#[derive(Debug, Clone)]
struct Row {
    span_id: String,
    trace_id: String,
    parent_span_id: Option<String>,
    name: String,
}

fn rows(db: &Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT span_id, trace_id, parent_span_id, name FROM spans ORDER BY start_time")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(Row {
                span_id: r.get(0)?,
                trace_id: r.get(1)?,
                parent_span_id: r.get(2)?,
                name: r.get(3)?,
            })
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn store() -> (tempfile::TempDir, PathBuf, TelemetryConfig) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("traces.db");
    let config = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&db)
        .build();
    (dir, db, config)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

#[test]
fn inject_writes_the_ids_sqlite_records() {
    let (_dir, db, config) = store();
    let guard = config.init_local().unwrap();
    let mut outgoing = HeaderMap::new();
    outgoing.insert("tracestate", "stale=1".parse().unwrap());
    tracing::info_span!(
        "invoke_agent planner",
        gen_ai.operation.name = "invoke_agent"
    )
    .in_scope(|| {
        tracing::info_span!(
            "execute_tool search",
            gen_ai.operation.name = "execute_tool"
        )
        .in_scope(|| context::inject(&mut outgoing));
    });
    assert!(guard.flush());
    drop(guard);
    let rows = rows(&db);
    let tool = rows
        .iter()
        .find(|r| r.name == "execute_tool search")
        .unwrap();
    assert_eq!(
        outgoing["traceparent"].to_str().unwrap(),
        format!("00-{}-{}-01", tool.trace_id, tool.span_id)
    );
    assert!(
        !outgoing.contains_key("tracestate"),
        "a local trace has no tracestate to pass on"
    );
}

#[test]
fn inject_outside_any_span_or_without_the_layer_writes_nothing() {
    let mut h = HeaderMap::new();
    // No subscriber at all.
    tracing::info_span!("unrecorded").in_scope(|| context::inject(&mut h));
    assert!(h.is_empty());
    assert!(context::traceparent().is_none());
    context::extract(&headers(&[(
        "traceparent",
        &format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}-01"),
    )]))
    .in_scope(|| context::inject(&mut h));
    assert!(h.is_empty());
    // The layer, but no current span.
    let (_dir, _db, config) = store();
    let _guard = config.init_local().unwrap();
    context::inject(&mut h);
    assert!(h.is_empty());
}

#[test]
fn extract_continues_the_remote_trace_in_async_code() {
    let (_dir, db, config) = store();
    let guard = config.init_local().unwrap();
    let incoming = headers(&[
        (
            "traceparent",
            &format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}-01"),
        ),
        ("tracestate", "vendor=abc"),
        ("tracestate", "other=1"),
    ]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let onward = rt.block_on(
        async {
            let agent = agent::Agent::new("planner", "local-rules-1");
            agent
                .turn("remote-session", "What is the weather in Paris?")
                .await
                .unwrap();
            // Called inside the handler, after the turn closed: the carrier is current.
            let mut onward = HeaderMap::new();
            tracing::info_span!("call downstream").in_scope(|| context::inject(&mut onward));
            onward
        }
        .instrument(context::extract(&incoming)),
    );
    assert!(guard.flush());
    drop(guard);
    let rows = rows(&db);
    assert!(rows.len() >= 4, "{rows:?}");
    assert!(
        rows.iter().all(|r| r.trace_id == REMOTE_TRACE),
        "every span joins the remote trace: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.name != "remote_parent"),
        "the carrier is never recorded"
    );
    let turn = rows
        .iter()
        .find(|r| r.name.starts_with("invoke_agent"))
        .unwrap();
    assert_eq!(
        turn.parent_span_id.as_deref(),
        Some(REMOTE_SPAN),
        "the turn's parent is the remote span"
    );
    for r in rows
        .iter()
        .filter(|r| r.name.starts_with("chat") || r.name.starts_with("execute_tool"))
    {
        assert_eq!(
            r.parent_span_id.as_deref(),
            Some(turn.span_id.as_str()),
            "{r:?}"
        );
    }
    let downstream = rows.iter().find(|r| r.name == "call downstream").unwrap();
    assert_eq!(
        onward["traceparent"].to_str().unwrap(),
        format!("00-{REMOTE_TRACE}-{}-01", downstream.span_id)
    );
    assert_eq!(
        onward["tracestate"].to_str().unwrap(),
        "vendor=abc,other=1",
        "tracestate is passed on"
    );
}

#[test]
fn a_bad_or_missing_traceparent_starts_a_new_trace() {
    let bad = [
        format!("00-{}-{REMOTE_SPAN}-01", REMOTE_TRACE.to_uppercase()),
        format!("00-00000000000000000000000000000000-{REMOTE_SPAN}-01"),
        format!("00-{REMOTE_TRACE}-0000000000000000-01"),
        format!("ff-{REMOTE_TRACE}-{REMOTE_SPAN}-01"),
        format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}"),
        format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}-01-extra"),
        "garbage".to_owned(),
    ];
    let (_dir, db, config) = store();
    let guard = config.init_local().unwrap();
    for (i, value) in bad.iter().enumerate() {
        let span = context::extract(&headers(&[("traceparent", value)]));
        assert!(span.is_none(), "{value} is rejected");
        span.in_scope(|| tracing::info_span!("request", i).in_scope(|| {}));
    }
    // Two traceparent headers: ignored, as the specification says.
    let twice = headers(&[
        (
            "traceparent",
            &format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}-01"),
        ),
        (
            "traceparent",
            &format!("00-{REMOTE_TRACE}-{REMOTE_SPAN}-01"),
        ),
    ]);
    context::extract(&twice).in_scope(|| tracing::info_span!("request twice").in_scope(|| {}));
    context::extract(&HeaderMap::new())
        .in_scope(|| tracing::info_span!("request bare").in_scope(|| {}));
    assert!(guard.flush());
    drop(guard);
    let rows = rows(&db);
    assert_eq!(rows.len(), bad.len() + 2);
    for r in &rows {
        assert_eq!(r.parent_span_id, None, "{r:?}");
        assert_ne!(r.trace_id, REMOTE_TRACE, "{r:?}");
    }
}

#[test]
fn concurrent_requests_keep_their_own_remote_parents() {
    use tracing_subscriber::prelude::*;
    let (_dir, db, config) = store();
    let (layer, guard) = llm_telemetry::layer(&config).unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let requests: Vec<(String, String)> = (1..=40u64)
        .map(|i| {
            (
                format!("{:032x}", 0xabc0_0000_0000 + i),
                format!("{:016x}", 0x5100 + i),
            )
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = requests
            .iter()
            .cloned()
            .map(|(trace, span)| {
                tokio::spawn(
                    async move {
                        let incoming =
                            headers(&[("traceparent", &format!("00-{trace}-{span}-01"))]);
                        let carrier = context::extract(&incoming);
                        async {
                            let agent = agent::Agent::new("server", "local-rules-1");
                            agent.turn(&trace, "What is 3 * 4?").await.unwrap();
                        }
                        .instrument(carrier)
                        .await
                    }
                    .with_subscriber(dispatch.clone()),
                )
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert!(guard.flush());
    drop(guard);
    let rows = rows(&db);
    for (trace, span) in &requests {
        let trace_rows: Vec<&Row> = rows.iter().filter(|r| &r.trace_id == trace).collect();
        assert!(trace_rows.len() >= 3, "request {trace}: {trace_rows:?}");
        let turn = trace_rows
            .iter()
            .find(|r| r.name.starts_with("invoke_agent"))
            .unwrap();
        assert_eq!(turn.parent_span_id.as_deref(), Some(span.as_str()));
        for r in trace_rows
            .iter()
            .filter(|r| !r.name.starts_with("invoke_agent"))
        {
            assert_eq!(
                r.parent_span_id.as_deref(),
                Some(turn.span_id.as_str()),
                "{r:?}"
            );
        }
    }
    assert_eq!(
        rows.iter()
            .filter(|r| r.name.starts_with("invoke_agent"))
            .count(),
        requests.len()
    );
}
