//! The Rust query API (`llm_telemetry::store::TraceStore`) over a hand-built store with
//! known contents, a store written by the real sink, and retention.

#[path = "../cli/tests/fixture/mod.rs"]
mod fixture;

use std::time::{Duration, SystemTime};

use fixture::*;
use llm_telemetry::store::{
    prune, AttributeFilter, FilterOp, LabelMatcher, MatchOp, StoreError, TraceOrder, TraceQuery,
    TraceStatusFilter, TraceStore,
};
use serde_json::json;

fn ids(traces: &[llm_telemetry::store::Trace]) -> Vec<&str> {
    traces.iter().map(|t| t.trace_id.as_str()).collect()
}

fn traces_with(store: &TraceStore, f: AttributeFilter) -> Vec<String> {
    let mut v: Vec<String> = store
        .query_traces(&[f], 100, 0, TraceOrder::Newest)
        .unwrap()
        .into_iter()
        .map(|t| t.trace_id)
        .collect();
    v.sort();
    v
}

#[test]
fn query_traces_orders_pages_and_reports_figures() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    let all = store.query_traces(&[], 100, 0, TraceOrder::Newest).unwrap();
    assert_eq!(ids(&all), [D, A, E, B, C]);
    let oldest = store.query_traces(&[], 2, 1, TraceOrder::Oldest).unwrap();
    assert_eq!(ids(&oldest), [B, E]);
    let longest = store.query_traces(&[], 1, 0, TraceOrder::Longest).unwrap();
    assert_eq!(ids(&longest), [B]);

    let a = &all[1];
    assert_eq!(a.root_span_id.as_deref(), Some(A_ROOT));
    assert_eq!(a.root_span_name.as_deref(), Some("invoke_agent planner"));
    assert_eq!((a.span_count, a.error_count), (3, 0));
    assert_eq!(
        (a.input_tokens, a.output_tokens, a.total_tokens),
        (100, 20, 120)
    );
    assert_eq!(a.status, "ok");
    assert!((a.duration_ms - 900.0).abs() < 0.01, "{}", a.duration_ms);
    assert_eq!(a.service_name.as_deref(), Some("svc-a"));

    // The open trace is listed, named after its earliest stored span.
    let d = &all[0];
    assert_eq!(
        (d.root_span_id.as_deref(), d.status.as_str()),
        (None, "open")
    );
    assert_eq!(d.root_span_name.as_deref(), Some("chat llama3.2:3b"));
    assert_eq!(all[3].status, "error");
}

#[test]
fn attribute_and_column_filters_with_every_op() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    let model = "gen_ai.request.model";
    assert_eq!(
        traces_with(&store, AttributeFilter::eq(model, "llama3.2:3b")),
        [A, D]
    );
    assert_eq!(
        traces_with(
            &store,
            AttributeFilter::new(model, FilterOp::Ne, "llama3.2:3b")
        ),
        [B, C]
    );
    let input = "gen_ai.usage.input_tokens";
    assert_eq!(
        traces_with(&store, AttributeFilter::new(input, FilterOp::Gt, 99)),
        [A, B]
    );
    assert_eq!(
        traces_with(&store, AttributeFilter::new(input, FilterOp::Lt, 10)),
        [C, D]
    );
    assert_eq!(
        traces_with(&store, AttributeFilter::new(input, FilterOp::Gt, 100.5)),
        [B]
    );
    // Columns.
    assert_eq!(
        traces_with(&store, AttributeFilter::eq("status", "error")),
        [B]
    );
    assert_eq!(
        traces_with(&store, AttributeFilter::eq("service_name", "svc-b")),
        [B]
    );
    assert_eq!(traces_with(&store, AttributeFilter::eq("trace_id", C)), [C]);
    assert_eq!(
        traces_with(&store, AttributeFilter::eq("name", "step three")),
        [E]
    );
    assert_eq!(
        traces_with(
            &store,
            AttributeFilter::new("duration_ms", FilterOp::Gt, 2000)
        ),
        [B]
    );
    // Text comparison, and a key with a dash.
    assert_eq!(
        traces_with(&store, AttributeFilter::new("city", FilterOp::Gt, "R")),
        [A]
    );
    assert!(traces_with(&store, AttributeFilter::eq("no-such.key", "x")).is_empty());
    // All filters must hold on one span.
    let both = store
        .query_traces(
            &[
                AttributeFilter::eq(model, "gpt-4o"),
                AttributeFilter::eq("status", "error"),
            ],
            10,
            0,
            TraceOrder::Newest,
        )
        .unwrap();
    assert_eq!(ids(&both), [B]);
    let none = store
        .query_traces(
            &[
                AttributeFilter::eq(model, "gpt-4o"),
                AttributeFilter::eq("status", "ok"),
            ],
            10,
            0,
            TraceOrder::Newest,
        )
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn invalid_filters_are_typed_errors_naming_the_culprit() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    for key in ["x') OR 1=1 --", "a b", "", "$.x", "k\"ey"] {
        let e = store
            .query_traces(&[AttributeFilter::eq(key, 1)], 10, 0, TraceOrder::Newest)
            .unwrap_err();
        assert!(matches!(e, StoreError::InvalidFilter { .. }), "{e:?}");
        assert!(e.to_string().contains(&format!("{key:?}")), "{e}");
    }
    let e = "like".parse::<FilterOp>().unwrap_err();
    assert!(e.to_string().contains("\"like\"") && e.to_string().contains("eq, ne, gt, lt"));
    let e = "name:contains:x".parse::<AttributeFilter>().unwrap_err();
    assert!(e.to_string().contains("contains"), "{e}");
    let e = store
        .query_traces(
            &[AttributeFilter::eq("name", json!({"a": 1}))],
            1,
            0,
            TraceOrder::Newest,
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("not a string, number or boolean"),
        "{e}"
    );
    // The tables are intact.
    assert_eq!(fx.count("SELECT COUNT(*) FROM spans"), 11);
}

#[test]
fn list_traces_by_time_service_and_status() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    let hour = SystemTime::now() - Duration::from_secs(3600);
    let q = |q: TraceQuery| {
        ids(&store.list_traces(&q).unwrap())
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q(TraceQuery {
            since: Some(hour),
            ..Default::default()
        }),
        [D, A, E]
    );
    assert_eq!(
        q(TraceQuery {
            until: Some(hour),
            ..Default::default()
        }),
        [B, C]
    );
    assert_eq!(
        q(TraceQuery {
            service: Some("svc-b".into()),
            ..Default::default()
        }),
        [B]
    );
    assert_eq!(
        q(TraceQuery {
            status: Some(TraceStatusFilter::Error),
            ..Default::default()
        }),
        [B]
    );
    assert_eq!(
        q(TraceQuery {
            status: Some(TraceStatusFilter::Open),
            ..Default::default()
        }),
        [D]
    );
    assert_eq!(
        q(TraceQuery {
            status: Some(TraceStatusFilter::Ok),
            limit: 2,
            ..Default::default()
        }),
        [A, E]
    );
}

#[test]
fn get_trace_span_and_not_found() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    assert_eq!(store.get_trace(B).unwrap().error_count, 2);
    let span = store.get_span(A, A_CHAT).unwrap();
    assert_eq!(span.trace_id, A);
    assert_eq!(span.parent_span_id.as_deref(), Some(A_ROOT));
    assert_eq!(span.attr_str("gen_ai.request.model"), Some("llama3.2:3b"));
    assert_eq!(span.attr_u64("gen_ai.usage.input_tokens"), Some(100));
    assert_eq!(
        store.get_span(B, B_CHAT).unwrap().status_message.as_deref(),
        Some("rate limited by provider")
    );
    assert!(matches!(
        store.get_trace("ffff").unwrap_err(),
        StoreError::TraceNotFound { .. }
    ));
    // A span asked for in the wrong trace is not found.
    assert!(matches!(
        store.get_span(B, A_CHAT).unwrap_err(),
        StoreError::SpanNotFound { .. }
    ));
    assert!(matches!(
        store
            .get_span_tree("ffffffffffffffff", None, None)
            .unwrap_err(),
        StoreError::SpanNotFound { .. }
    ));
    // Prefixes, and ends (as `llm-trace list` prints them).
    assert_eq!(store.resolve_trace_id("b200").unwrap(), B);
    assert_eq!(store.resolve_trace_id(&B[20..]).unwrap(), B);
    assert_eq!(
        store.resolve_trace_id(&format!("…{}", &B[21..])).unwrap(),
        B
    );
    assert_eq!(
        store.resolve_trace_id(&format!("...{}", &B[21..])).unwrap(),
        B
    );
    assert_eq!(store.resolve_trace_id(A).unwrap(), A);
    let e = store.resolve_trace_id("a100").unwrap_err();
    assert!(
        matches!(e, StoreError::AmbiguousTraceId { ref candidates, .. } if candidates.len() == 2)
    );
    assert!(
        e.to_string().contains(A) && e.to_string().contains(E),
        "{e}"
    );
    assert!(matches!(
        store.resolve_trace_id("9999").unwrap_err(),
        StoreError::TraceNotFound { .. }
    ));
    assert!(matches!(
        store.resolve_trace_id("xyz!").unwrap_err(),
        StoreError::InvalidFilter { .. }
    ));
    // The chat's three llama-stack token events (derived from its row) at its end, then
    // the tool's log.
    let events = store.get_trace_events(A).unwrap();
    type Seen<'a> = (&'a str, Option<&'a str>, Option<f64>, Option<&'a str>);
    let seen: Vec<Seen> = events
        .iter()
        .map(|e| {
            (
                e.event_type.as_str(),
                e.metric.as_deref(),
                e.value,
                e.message.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("metric", Some("prompt_tokens"), Some(100.0), None),
            ("metric", Some("completion_tokens"), Some(20.0), None),
            ("metric", Some("total_tokens"), Some(120.0), None),
            (
                "unstructured_log",
                None,
                None,
                Some("calling the weather api for Reykjavik")
            ),
        ]
    );
    assert_eq!(events[0].span_id.as_deref(), Some(A_CHAT));
    assert_eq!(
        events[0].attributes,
        *json!({"model_id": "llama3.2:3b", "provider_id": "ollama"})
            .as_object()
            .unwrap()
    );
}

#[test]
fn span_tree_max_depth_counts_levels_below_the_span() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    let names = |t: &llm_telemetry::store::SpanWithChildren| {
        t.iter()
            .map(|n| (n.span.name.clone(), n.depth))
            .collect::<Vec<_>>()
    };
    let t0 = store.get_span_tree(E_ROOT, None, Some(0)).unwrap();
    assert_eq!(names(&t0), [("workflow".to_string(), 0)]);
    let t1 = store.get_span_tree(E_ROOT, None, Some(1)).unwrap();
    assert_eq!(t1.len(), 2);
    let t2 = store.get_span_tree(E_ROOT, None, Some(2)).unwrap();
    assert_eq!(t2.len(), 3);
    let all = store.get_span_tree(E_ROOT, None, None).unwrap();
    assert_eq!(
        names(&all),
        [
            ("workflow".into(), 0),
            ("step one".into(), 1),
            ("step two".into(), 2),
            ("step three".into(), 3)
        ]
    );
    // From the middle: depth is relative to the span asked for.
    let mid = store.get_span_tree(E_2, None, Some(1)).unwrap();
    assert_eq!(
        names(&mid),
        [("step two".into(), 0), ("step three".into(), 1)]
    );
    // Siblings in start order; attributes projected.
    let a = store
        .get_span_tree(A_ROOT, Some(&["gen_ai.request.model"]), None)
        .unwrap();
    let kids: Vec<&str> = a.children.iter().map(|c| c.span.name.as_str()).collect();
    assert_eq!(kids, ["chat llama3.2:3b", "execute_tool get_weather"]);
    assert_eq!(a.children[0].span.attributes.len(), 1);
    assert!(a.children[1].span.attributes.is_empty());
    assert!(a.span.attributes.is_empty());
}

#[test]
fn query_spans_has_real_trace_ids_open_roots_and_depth() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    let model = ["gen_ai.request.model"];
    let spans = store
        .query_spans(
            &[AttributeFilter::eq("gen_ai.provider.name", "ollama")],
            Some(&model),
            None,
        )
        .unwrap();
    let got: Vec<(&str, &str)> = spans
        .iter()
        .map(|s| (s.trace_id.as_str(), s.span_id.as_str()))
        .collect();
    // C (oldest), A, D (root still open): each with its own trace id, not a span id.
    assert_eq!(got, [(C, C_ROOT), (A, A_CHAT), (D, D_CHAT)]);
    assert!(spans.iter().all(|s| s.attributes.len() == 1));
    // max_depth from the trace's top: 0 = the root only.
    let roots = store
        .query_spans(&[AttributeFilter::eq("trace_id", E)], None, Some(0))
        .unwrap();
    assert_eq!(
        roots.iter().map(|s| s.span_id.as_str()).collect::<Vec<_>>(),
        [E_ROOT]
    );
    let two = store
        .query_spans(&[AttributeFilter::eq("trace_id", E)], None, Some(2))
        .unwrap();
    assert_eq!(two.len(), 3);
    let open = store
        .query_spans(&[AttributeFilter::eq("trace_id", D)], None, Some(0))
        .unwrap();
    assert_eq!(open.len(), 1, "a span whose parent is not stored is a top");
    assert_eq!(store.query_spans(&[], None, None).unwrap().len(), 11);
}

#[test]
fn export_spans_filters_each_span() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    let rows = store
        .export_spans(
            &[AttributeFilter::eq("gen_ai.operation.name", "chat")],
            Some(&["gen_ai.request.model", "gen_ai.usage.output_tokens"]),
        )
        .unwrap();
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.trace_id.as_str(), r.name.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (C, "chat old-model"),
            (B, "chat gpt-4o"),
            (A, "chat llama3.2:3b"),
            (D, "chat llama3.2:3b")
        ]
    );
    assert_eq!(rows[1].attributes["gen_ai.usage.output_tokens"], json!(50));
    assert_eq!(rows[1].attributes.len(), 2);
    assert_eq!(rows[1].status, "error");
    assert_eq!(store.export_spans(&[], None).unwrap().len(), 11);
}

#[test]
fn query_metrics_range_instant_names_and_label_matchers() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    let day_ago = SystemTime::now() - Duration::from_secs(86_400);
    // Instant query, both spellings of the name.
    for name in ["llama_stack.tokens", "llama_stack_tokens_total"] {
        let series = store.query_metrics(name, day_ago, None, None, &[]).unwrap();
        assert_eq!(series.len(), 2, "{name}");
        let llama = series
            .iter()
            .find(|s| s.labels["model_id"] == "llama3.2:3b")
            .unwrap();
        assert_eq!(llama.metric, "llama_stack.tokens");
        assert_eq!(llama.values.len(), 1);
        assert_eq!((llama.values[0].value, llama.values[0].count), (130.0, 2));
    }
    // Range query: 5-minute buckets put the two llama points apart.
    let range = store
        .query_metrics(
            "llama_stack.tokens",
            day_ago,
            None,
            Some(Duration::from_secs(300)),
            &[LabelMatcher::new("model_id", MatchOp::Equal, "llama3.2:3b")],
        )
        .unwrap();
    assert_eq!(range.len(), 1);
    assert_eq!(
        range[0].values.iter().map(|p| p.value).collect::<Vec<_>>(),
        [120.0, 10.0]
    );
    assert!(range[0].values[0].timestamp < range[0].values[1].timestamp);
    // Matchers.
    let m = |op, v: &str| {
        store
            .query_metrics(
                "llama_stack_tokens_total",
                day_ago,
                None,
                None,
                &[LabelMatcher::new("model_id", op, v)],
            )
            .unwrap()
            .into_iter()
            .map(|s| s.labels["model_id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(m(MatchOp::NotEqual, "gpt-4o"), ["llama3.2:3b"]);
    assert_eq!(m(MatchOp::Regex, "gpt-.*"), ["gpt-4o"]);
    assert_eq!(m(MatchOp::Regex, "gpt"), Vec::<String>::new(), "anchored");
    assert_eq!(m(MatchOp::NotRegex, "llama.*|old.*"), ["gpt-4o"]);
    // The old point is only in a longer range; end bounds it too.
    let ten_days = SystemTime::now() - Duration::from_secs(11 * 86_400);
    assert_eq!(
        store
            .query_metrics("llama_stack.tokens", ten_days, None, None, &[])
            .unwrap()
            .len(),
        3
    );
    assert!(store
        .query_metrics(
            "llama_stack.tokens",
            ten_days,
            Some(ten_days + Duration::from_secs(3600)),
            None,
            &[]
        )
        .unwrap()
        .is_empty());
    // Units and histograms; unknown names are empty; bad regexes are errors.
    let h = store
        .query_metrics(
            "gen_ai_client_operation_duration_seconds",
            day_ago,
            None,
            None,
            &[],
        )
        .unwrap();
    assert_eq!(h.len(), 1);
    assert!(store
        .query_metrics("nope", day_ago, None, None, &[])
        .unwrap()
        .is_empty());
    let e = store
        .query_metrics(
            "llama_stack.tokens",
            day_ago,
            None,
            None,
            &[LabelMatcher::new("model_id", MatchOp::Regex, "(")],
        )
        .unwrap_err();
    assert!(
        matches!(e, StoreError::InvalidFilter { .. }) && e.to_string().contains("model_id"),
        "{e}"
    );
}

#[test]
fn search_and_stats() {
    let fx = Fixture::new();
    let store = TraceStore::open(&fx.path).unwrap();
    let hits = store.search("reykjavik", 10).unwrap();
    let fields: Vec<&str> = hits.iter().map(|h| h.field.as_str()).collect();
    assert!(
        fields.contains(&"attribute:city") && fields.contains(&"log"),
        "{hits:?}"
    );
    assert!(hits.iter().all(|h| h.trace_id == A));
    assert_eq!(store.search("STEP T", 10).unwrap().len(), 2);
    assert!(store.search("100%", 10).unwrap().is_empty(), "% is literal");
    let s = store.stats(None).unwrap();
    assert_eq!(
        (s.traces, s.spans, s.error_spans, s.error_traces),
        (5, 11, 2, 1)
    );
    assert!((s.error_rate - 0.2).abs() < 1e-9);
    let gpt = s
        .tokens
        .iter()
        .find(|t| t.model.as_deref() == Some("gpt-4o"))
        .unwrap();
    assert_eq!(
        (gpt.provider.as_deref(), gpt.input_tokens, gpt.output_tokens),
        (Some("openai"), 500, 50)
    );
    assert_eq!(
        s.tokens[0].model.as_deref(),
        Some("gpt-4o"),
        "most tokens first"
    );
    let llama = s
        .tokens
        .iter()
        .find(|t| t.model.as_deref() == Some("llama3.2:3b"))
        .unwrap();
    assert_eq!((llama.calls, llama.input_tokens), (2, 107));
    assert_eq!(s.latency[0].name, "invoke_agent planner");
    assert_eq!(
        (s.latency[0].count, s.latency[0].p50_ms, s.latency[0].p95_ms),
        (2, 900.0, 3000.0)
    );
    assert!(s.size_bytes > 0);
    let recent = store
        .stats(Some(SystemTime::now() - Duration::from_secs(3600)))
        .unwrap();
    assert_eq!((recent.traces, recent.error_traces), (3, 0));
}

#[test]
fn prune_deletes_old_traces_spans_events_and_metrics() {
    let fx = Fixture::new();
    let report = prune(&fx.path, Duration::from_secs(86_400)).unwrap();
    // Trace C: one inference span, its log and its three (derived) token metric events.
    assert_eq!(
        (report.traces, report.spans, report.events, report.metrics),
        (1, 1, 4, 1)
    );
    assert_eq!(
        fx.count(&format!(
            "SELECT COUNT(*) FROM span_events WHERE trace_id = '{C}'"
        )),
        0
    );
    assert_eq!(
        fx.count(&format!(
            "SELECT COUNT(*) FROM traces WHERE trace_id = '{C}'"
        )),
        0
    );
    assert_eq!(
        fx.count(&format!(
            "SELECT COUNT(*) FROM spans WHERE trace_id = '{C}'"
        )),
        0
    );
    assert_eq!(fx.count("SELECT COUNT(*) FROM spans"), 10);
    assert_eq!(fx.count("SELECT COUNT(*) FROM metrics"), 5);
    let report = prune(&fx.path, Duration::from_secs(3600)).unwrap();
    assert_eq!((report.traces, report.spans, report.metrics), (1, 2, 1));
    let store = TraceStore::open(&fx.path).unwrap();
    assert_eq!(
        store
            .query_traces(&[], 10, 0, TraceOrder::Newest)
            .unwrap()
            .len(),
        3
    );
    assert!(matches!(
        prune(fx.dir.path().join("missing.db"), Duration::from_secs(1)),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn reads_while_the_sink_writes_and_retention_runs_in_the_background() {
    let fx = Fixture::new();
    // A real writer with a one-hour retention on the same file: its first tick prunes
    // B (2 h) and C (10 days) while this process reads.
    let guard = llm_telemetry::TelemetryConfig::builder()
        .sinks([llm_telemetry::SinkKind::Sqlite])
        .sqlite_db_path(&fx.path)
        .sqlite_retention(Some(Duration::from_secs(3600)))
        .build()
        .init_local()
        .unwrap();
    let store = TraceStore::open(&fx.path).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let n = store
            .query_traces(&[], 100, 0, TraceOrder::Newest)
            .unwrap()
            .len();
        if n == 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "retention did not run: {n} traces"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(guard);
    assert_eq!(fx.count("SELECT COUNT(*) FROM spans"), 8);
    assert_eq!(fx.count("SELECT COUNT(*) FROM metrics"), 4);
}

#[test]
fn retention_config_is_validated() {
    let lookup =
        |v: &'static str| move |k: &str| (k == "TELEMETRY_SQLITE_RETENTION").then(|| v.to_string());
    let ok = llm_telemetry::TelemetryConfig::from_lookup(lookup("12h")).unwrap();
    assert_eq!(ok.sqlite_retention(), Some(Duration::from_secs(12 * 3600)));
    assert_eq!(
        llm_telemetry::TelemetryConfig::from_lookup(lookup(""))
            .unwrap()
            .sqlite_retention(),
        None
    );
    for bad in ["7", "seven days", "-1d", "0d", "7y"] {
        let e = llm_telemetry::TelemetryConfig::from_lookup(lookup(bad))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("TELEMETRY_SQLITE_RETENTION") && e.contains("7d"),
            "{e}"
        );
    }
}

#[test]
fn prune_works_through_many_chunks() {
    let fx = Fixture::new();
    let conn = rusqlite::Connection::open(&fx.path).unwrap();
    let old = ts(&conn, 30.0 * 86_400.0);
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..1_000 {
        let trace = format!("{i:032x}");
        let span = format!("{i:016x}");
        tx.execute(
            "INSERT INTO spans (span_id, trace_id, name, start_time, end_time, duration_ms, status, kind) \
             VALUES (?1, ?2, 'old', ?3, ?3, 0, 'ok', 'internal')",
            rusqlite::params![span, trace, old],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO traces (trace_id, root_span_id, start_time, end_time, timestamp, span_count) \
             VALUES (?1, ?2, ?3, ?3, ?3, 1)",
            rusqlite::params![trace, span, old],
        )
        .unwrap();
    }
    for _ in 0..10_000 {
        tx.execute(
            "INSERT INTO metrics (name, instrument, value, timestamp) VALUES ('old.metric', 'counter', 1, ?1)",
            [&old],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(conn);
    let report = prune(&fx.path, Duration::from_secs(7 * 86_400)).unwrap();
    assert_eq!(
        (report.traces, report.spans, report.metrics),
        (1_001, 1_001, 10_001)
    );
    assert_eq!(fx.count("SELECT COUNT(*) FROM traces"), 4);
    assert_eq!(
        fx.count("SELECT COUNT(*) FROM metrics WHERE name = 'old.metric'"),
        0
    );
}

/// The web viewer's queries: free text on the trace list, a page's costs and models, the
/// values to filter by, activity over time and the slowest spans.
#[test]
fn the_viewers_queries() {
    let f = Fixture::new();
    let store = TraceStore::open(&f.path).unwrap();
    let text = |t: &str, status: Option<TraceStatusFilter>| -> Vec<String> {
        let q = TraceQuery {
            text: Some(t.into()),
            status,
            ..TraceQuery::default()
        };
        ids(&store.list_traces(&q).unwrap())
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(text("weather api", None), [A], "a log message");
    assert_eq!(text("REYKJAVIK", None), [A], "an attribute value, any case");
    assert_eq!(text("rate limited", None), [B], "an error message");
    assert_eq!(text("old-model", None), [C], "a span name");
    assert_eq!(
        text("rate limited", Some(TraceStatusFilter::Ok)),
        Vec::<String>::new()
    );
    assert!(text("%", None).is_empty(), "LIKE wildcards are literal");
    assert!(text("' OR 1=1 --", None).is_empty());

    let mut costs = store
        .trace_costs(&[A, B, C, "f000000000000000000000000000000f"])
        .unwrap();
    costs.sort_by(|a, b| a.trace_id.cmp(&b.trace_id));
    let got: Vec<(&str, Vec<String>, u64)> = costs
        .iter()
        .map(|c| (c.trace_id.as_str(), c.models.clone(), c.inference_calls))
        .collect();
    assert_eq!(
        got,
        [
            (A, vec!["llama3.2:3b".to_owned()], 1),
            (B, vec!["gpt-4o".to_owned()], 1),
            (C, vec!["old-model".to_owned()], 1)
        ]
    );
    assert!(
        costs.iter().all(|c| c.cost.is_none()),
        "no prices in the fixture"
    );
    assert!(store.trace_costs(&[] as &[&str]).unwrap().is_empty());

    let all = store.trace_facets(None).unwrap();
    assert_eq!(all.services, ["svc-a", "svc-b"]);
    assert_eq!(all.models, ["gpt-4o", "llama3.2:3b", "old-model"]);
    let hour = store
        .trace_facets(Some(SystemTime::now() - Duration::from_secs(3600)))
        .unwrap();
    assert_eq!(hour.services, ["svc-a"], "B is two hours old");

    let since = SystemTime::now() - Duration::from_secs(3 * 3600);
    let t = store.timeline(since, Duration::from_secs(3600)).unwrap();
    assert_eq!(t.bucket_secs, 3600);
    let recent = store
        .list_traces(&TraceQuery {
            since: Some(since),
            ..TraceQuery::default()
        })
        .unwrap();
    assert_eq!(
        t.traces.iter().map(|b| b.traces).sum::<u64>(),
        recent.len() as u64
    );
    assert_eq!(t.traces.iter().map(|b| b.error_traces).sum::<u64>(), 1, "B");
    let gpt: Vec<_> = t
        .models
        .iter()
        .filter(|m| m.model.as_deref() == Some("gpt-4o"))
        .collect();
    assert_eq!(gpt.len(), 1);
    assert_eq!(
        (gpt[0].calls, gpt[0].input_tokens, gpt[0].output_tokens),
        (1, 500, 50)
    );
    assert!(
        t.traces.windows(2).all(|w| w[0].start < w[1].start),
        "oldest first"
    );

    let slow = store.slowest_spans(None, 3).unwrap();
    assert_eq!(slow.len(), 3);
    assert!(slow
        .windows(2)
        .all(|w| w[0].duration_ms >= w[1].duration_ms));
    let longest = f.count("SELECT CAST(MAX(duration_ms) AS INTEGER) FROM spans");
    assert_eq!(slow[0].duration_ms as i64, longest);
    let recent_slow = store
        .slowest_spans(Some(SystemTime::now() - Duration::from_secs(3600)), 10)
        .unwrap();
    assert!(recent_slow
        .iter()
        .all(|s| s.trace_id != B && s.trace_id != C));

    // The traces of a page of conversations, each conversation's oldest first.
    let f = Fixture::sessions();
    let store = TraceStore::open(&f.path).unwrap();
    let pairs = store
        .conversation_traces(&["conv-2", "conv-1", "nobody"], None)
        .unwrap();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(c, t)| (c.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("conv-1", S1),
            ("conv-1", S2),
            ("conv-2", S3),
            ("conv-2", S4)
        ]
    );
    let day = store
        .conversation_traces(
            &["conv-2"],
            Some(SystemTime::now() - Duration::from_secs(86400)),
        )
        .unwrap();
    assert_eq!(
        day,
        [("conv-2".to_owned(), S4.to_owned())],
        "S3 is three days old"
    );
}
