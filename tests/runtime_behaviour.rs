//! The runtime through the real SQLite store: flush on drop, errors and panics as span
//! status, manual usage, logs and events, configuration errors.

mod common;

use common::{count, TempStore};
use llm_telemetry::{
    instrument_inference, instrument_tool, log_event, record_usage, MetricEvent, Severity,
    SinkKind, TelemetryConfig, TokenUsage, UnstructuredLogEvent, Usage,
};

struct Reply(u64, u64);
impl TokenUsage for Reply {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(self.0, self.1))
    }
}

#[derive(Debug)]
struct Overloaded;
impl std::fmt::Display for Overloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("provider overloaded")
    }
}

#[instrument_inference(model = model, provider = "test")]
fn infer(model: &str, fail: bool) -> Result<Reply, Overloaded> {
    if fail {
        Err(Overloaded)
    } else {
        Ok(Reply(10, 4))
    }
}

#[instrument_inference(model = "streamer", provider = "test", usage = manual)]
fn stream() -> String {
    record_usage(Usage::new(7, 2));
    "streamed".into()
}

#[instrument_tool]
fn explode(n: u32) -> u32 {
    if n > 0 {
        panic!("tool exploded");
    }
    n
}

#[test]
fn dropping_the_guard_writes_everything_emitted_before_it() {
    let store = TempStore::new();
    let guard = store.config().init_local().unwrap();
    for i in 0..20_000u64 {
        tracing::info_span!("burst", i).in_scope(|| {});
    }
    drop(guard);
    assert_eq!(
        count(
            &store.path,
            "SELECT COUNT(*) FROM spans WHERE name = 'burst'"
        ),
        20_000
    );
}

#[test]
fn stats_reconcile_after_flush() {
    let store = TempStore::new();
    let guard = store.config().init_local().unwrap();
    for _ in 0..1000 {
        let _ = infer("m", false);
    }
    assert!(guard.flush());
    let s = *guard.stats().sink("sqlite").unwrap();
    // 1000 inference spans, each one queue item carrying its metric batch.
    assert_eq!(s.emitted, 1000, "{s:?}");
    assert_eq!(s.stored + s.dropped + s.failed, s.emitted, "{s:?}");
    assert_eq!(s.dropped, 0);
}

#[test]
fn err_results_and_panics_close_spans_as_errors() {
    let store = TempStore::new();
    let guard = store.config().init_local().unwrap();
    assert!(infer("m", true).is_err());
    let caught = std::panic::catch_unwind(|| explode(1));
    assert!(caught.is_err(), "the panic keeps unwinding to the caller");
    assert_eq!(explode(0), 0);
    drop(guard);

    let spans = store.spans();
    let failed = spans.iter().find(|s| s.name == "chat m").unwrap();
    assert_eq!(failed.status, "error");
    assert_eq!(failed.attr_str("error.type"), Some("Overloaded"));
    assert!(failed.attr("gen_ai.usage.input_tokens").is_none());
    let msg: String = store
        .open()
        .query_row(
            "SELECT status_message FROM spans WHERE name = 'chat m'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(msg, "provider overloaded");

    let tools: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "execute_tool explode")
        .collect();
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0].status, "error");
    assert_eq!(tools[0].attr_str("error.type"), Some("panic"));
    assert_eq!(tools[1].status, "ok");
}

#[test]
fn manual_usage_is_recorded_and_counted() {
    let store = TempStore::new();
    let guard = store.config().init_local().unwrap();
    assert_eq!(stream(), "streamed");
    drop(guard);
    let spans = store.spans();
    let s = spans.iter().find(|s| s.name == "chat streamer").unwrap();
    assert_eq!(s.attr_u64("gen_ai.usage.input_tokens"), Some(7));
    assert_eq!(s.attr_u64("gen_ai.usage.output_tokens"), Some(2));
    assert_eq!(
        count(
            &store.path,
            "SELECT CAST(value AS INTEGER) FROM metrics WHERE name = 'llama_stack.tokens'"
        ),
        9
    );
}

/// event_type, severity, message, metric, value
type EventRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<f64>,
);

#[test]
fn logs_and_events_belong_to_their_span() {
    let store = TempStore::new();
    let guard = store.config().init_local().unwrap();
    tracing::info_span!("retrieval").in_scope(|| {
        tracing::info!(chunks = 3, "searched the index");
        tracing::debug!("below the recorded level");
        log_event(UnstructuredLogEvent::new("cache miss", Severity::Warn).attribute("key", "u:1"));
        log_event(MetricEvent::new("retrieved_chunks", 3.0, "chunks"));
    });
    log_event(UnstructuredLogEvent::new(
        "outside any span",
        Severity::Info,
    ));
    drop(guard);

    let conn = store.open();
    let span_id: String = conn
        .query_row(
            "SELECT span_id FROM spans WHERE name = 'retrieval'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT event_type, severity, message, metric, value FROM span_events WHERE trace_id = (SELECT trace_id FROM spans WHERE span_id = ?1) AND span_id = ?1 ORDER BY timestamp, id")
        .unwrap();
    let rows: Vec<EventRow> = stmt
        .query_map([&span_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0].2.as_deref(), Some("searched the index"));
    assert_eq!(rows[1].1.as_deref(), Some("warn"));
    assert_eq!(rows[1].2.as_deref(), Some("cache miss"));
    assert_eq!(rows[2].0, "metric");
    assert_eq!(rows[2].3.as_deref(), Some("retrieved_chunks"));
    assert_eq!(rows[2].4, Some(3.0));
    assert_eq!(
        count(&store.path, "SELECT COUNT(*) FROM span_events WHERE span_id IS NULL AND message = 'outside any span'"),
        1
    );
}

#[test]
fn an_unwritable_store_fails_at_init_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let path = file.join("trace_store.db");
    let err = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&path)
        .build()
        .init_local()
        .unwrap_err()
        .to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("TELEMETRY_SQLITE_DB_PATH"), "{err}");
}

#[test]
fn no_sinks_means_nothing_is_started() {
    let guard = TelemetryConfig::builder()
        .sinks([])
        .build()
        .init_local()
        .unwrap();
    assert!(
        infer("m", false).is_ok(),
        "instrumented code runs unchanged"
    );
    assert!(guard.stats().sinks.is_empty());
    assert!(guard.sqlite_path().is_none());
}
