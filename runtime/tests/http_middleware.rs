//! The tower middleware (`llm_telemetry::http`) on a real axum server on a loopback port,
//! hit by concurrent real HTTP requests: the request metrics scraped from the Prometheus
//! text and read from the SQLite store equal what was sent; `x-trace-id` names a stored
//! trace with the handler's spans under the request's server span; an incoming
//! `traceparent` is honoured; excluded paths are not measured; without spans (or without
//! any telemetry layer) requests pass through.
//!
//! Each test installs its own subscriber on its thread (`init_local`) and runs server and
//! client on one current-thread runtime, so every task sees that subscriber. Loops are
//! bounded; nothing is timed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::MatchedPath;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use llm_telemetry::http::RequestTelemetryLayer;
use llm_telemetry::store::TraceStore;
use llm_telemetry::{instrument_agent_turn, instrument_tool, SinkKind, TelemetryConfig};
use tokio::sync::Semaphore;

#[instrument_tool(tool = "search")]
fn search(query: &str) -> Result<String, std::io::Error> {
    Ok(format!("results for {query}"))
}

#[instrument_agent_turn(agent = "planner", session = session)]
async fn turn(session: &str) -> Result<String, std::io::Error> {
    tokio::task::yield_now().await;
    search(session)
}

/// What the slow route's handlers wait for, and how many are waiting.
#[derive(Clone)]
struct Gate {
    open: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            open: Arc::new(Semaphore::new(0)),
            waiting: Arc::default(),
        }
    }
}

fn app(layer: RequestTelemetryLayer, gate: Gate) -> Router {
    Router::new()
        .route(
            "/v1/agents/{agent_id}/turn",
            post(|| async {
                turn("s1")
                    .await
                    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
            }),
        )
        .route("/v1/models", get(|| async { "[]" }))
        .route(
            "/v1/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "failed") }),
        )
        .route(
            "/v1/panic",
            get(|| async {
                if true {
                    panic!("the handler panicked (on purpose, in a test)");
                }
                "unreachable"
            }),
        )
        .route(
            "/v1/slow",
            get(move || async move {
                gate.waiting.fetch_add(1, Ordering::SeqCst);
                let _permit = gate.open.acquire().await;
                "done"
            }),
        )
        .route("/docs", get(|| async { "documentation" }))
        .layer(layer.route_from(|parts| {
            parts
                .extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
        }))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn telemetry(db: &Path) -> llm_telemetry::TelemetryGuard {
    TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::Prometheus])
        .sqlite_db_path(db)
        .prometheus_addr("none")
        .service_name("http-test")
        .build()
        .init_local()
        .unwrap()
}

/// The value of the sample `name{labels}` in Prometheus text, labels in their order.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let prefix = format!("{name}{{{}}} ", labels.join(","));
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|v| v.split_whitespace().next().unwrap().parse().unwrap())
}

/// Sum and count per label set of `metric` in the store, since `start`.
fn stored(
    store: &TraceStore,
    metric: &str,
    start: SystemTime,
) -> BTreeMap<Vec<(String, String)>, (f64, u64)> {
    store
        .query_metrics(metric, start, None, None, &[])
        .unwrap()
        .into_iter()
        .map(|s| {
            let point = &s.values[0];
            (s.labels.into_iter().collect(), (point.value, point.count))
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// (span_id, parent_span_id, name, kind, status) of every span of `trace_id`.
type SpanRow = (String, Option<String>, String, String, String);

fn spans_of(db: &Path, trace_id: &str) -> Vec<SpanRow> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT span_id, parent_span_id, name, kind, status FROM spans \
             WHERE trace_id = ?1 ORDER BY start_time",
        )
        .unwrap();
    let rows = stmt
        .query_map([trace_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn request_metrics_and_spans_match_what_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("traces.db");
    let guard = telemetry(&db);
    let start = SystemTime::now() - Duration::from_secs(1);
    let gate = Gate::default();
    runtime().block_on(async {
        let addr = serve(app(RequestTelemetryLayer::new(), gate.clone())).await;
        let client = reqwest::Client::new();
        let url = |path: &str| format!("http://{addr}{path}");

        // (method, path, how many): all sent at once.
        let plan: [(&str, &str, usize); 6] = [
            ("POST", "/v1/agents/a1/turn", 8),
            ("GET", "/v1/models", 5),
            ("GET", "/v1/fail", 3),
            ("GET", "/v1/nope", 3),
            ("GET", "/v1/panic", 2),
            ("GET", "/docs", 4),
        ];
        let mut requests = tokio::task::JoinSet::new();
        for (method, path, n) in plan {
            for _ in 0..n {
                let request = client.request(method.parse().unwrap(), url(path));
                requests.spawn(async move { (path, request.send().await) });
            }
        }
        let mut turn_headers = Vec::new();
        while let Some(done) = requests.join_next().await {
            let (path, response) = done.unwrap();
            match path {
                // The connection of a panicking handler is dropped: no response.
                "/v1/panic" => assert!(response.is_err()),
                _ => {
                    let response = response.unwrap();
                    if path == "/docs" {
                        assert!(!response.headers().contains_key("x-trace-id"));
                    }
                    if path.ends_with("/turn") {
                        assert_eq!(response.status(), 200);
                        turn_headers.push(response.headers().clone());
                    }
                }
            }
        }

        // Three requests held in the slow handler: the gauge says 3, then 0.
        let mut slow = tokio::task::JoinSet::new();
        for _ in 0..3 {
            slow.spawn(client.get(url("/v1/slow")).send());
        }
        for _ in 0..1000 {
            if gate.waiting.load(Ordering::SeqCst) == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 3);
        let text = guard.prometheus_text().unwrap();
        let in_flight = sample(&text, "llama_stack_concurrent_requests", &[("api", "slow")]);
        assert_eq!(in_flight, Some(3.0), "{text}");
        gate.open.add_permits(3);
        while let Some(done) = slow.join_next().await {
            assert_eq!(done.unwrap().unwrap().status(), 200);
        }

        // Prometheus: what was sent, per api and status.
        let text = guard.prometheus_text().unwrap();
        let expected = [
            ("agents", "200", 8.0),
            ("models", "200", 5.0),
            ("fail", "500", 3.0),
            ("nope", "404", 3.0),
            ("panic", "500", 2.0),
            ("slow", "200", 3.0),
        ];
        for (api, status, n) in expected {
            let l = [("api", api), ("status", status)];
            assert_eq!(
                sample(&text, "llama_stack_requests_total", &l),
                Some(n),
                "{api} {status}\n{text}"
            );
            assert_eq!(
                sample(&text, "llama_stack_request_duration_seconds_count", &l),
                Some(n),
                "{api} {status}\n{text}"
            );
            let sum = sample(&text, "llama_stack_request_duration_seconds_sum", &l).unwrap();
            assert!(sum > 0.0, "{api} {status}: {sum}");
            assert_eq!(
                sample(&text, "llama_stack_concurrent_requests", &[("api", api)]),
                Some(0.0),
                "{api}\n{text}"
            );
        }
        assert!(!text.contains("api=\"docs\""), "{text}");

        // SQLite: the same, by either name.
        assert!(guard.flush());
        let store = TraceStore::open(&db).unwrap();
        let requests = stored(&store, "llama_stack_requests_total", start);
        let durations = stored(&store, "llama_stack_request_duration_seconds", start);
        assert_eq!(
            requests,
            stored(&store, "llama_stack.requests", start),
            "either name"
        );
        assert_eq!(requests.len(), expected.len(), "{requests:?}");
        for (api, status, n) in expected {
            let l = labels(&[("api", api), ("status", status)]);
            assert_eq!(requests[&l], (n, n as u64), "{l:?}");
            assert_eq!(durations[&l].1, n as u64, "{l:?}");
            assert!(durations[&l].0 > 0.0, "{l:?}");
        }
        let gauges = stored(&store, "llama_stack_concurrent_requests", start);
        for (api, _, n) in expected {
            let gauge = gauges[&labels(&[("api", api)])];
            // Measured as each request started and ended; the last value is 0.
            assert_eq!(gauge, (0.0, 2 * n as u64), "{api}");
        }

        // x-trace-id: the stored trace, the handler's spans under the server span.
        assert_eq!(turn_headers.len(), 8);
        for headers in &turn_headers {
            let trace_id = headers["x-trace-id"].to_str().unwrap();
            let traceparent = headers["traceparent"].to_str().unwrap();
            let spans = spans_of(&db, trace_id);
            let [server, turn, tool] = &spans[..] else {
                panic!("three spans in {trace_id}: {spans:?}")
            };
            assert_eq!(
                (server.2.as_str(), server.3.as_str(), server.4.as_str()),
                ("POST /v1/agents/{agent_id}/turn", "server", "ok")
            );
            assert_eq!(server.1, None, "the server span is the root");
            assert_eq!(traceparent, format!("00-{trace_id}-{}-01", server.0));
            assert_eq!(turn.2, "invoke_agent planner");
            assert_eq!(turn.1.as_deref(), Some(server.0.as_str()));
            assert_eq!(tool.2, "execute_tool search");
            assert_eq!(tool.1.as_deref(), Some(turn.0.as_str()));
            let trace = store.get_trace(trace_id).unwrap();
            assert_eq!(trace.root_span_id.as_deref(), Some(server.0.as_str()));
        }

        // The failures' spans are errors; the 404's is not; excluded paths have none.
        let conn = rusqlite::Connection::open(&db).unwrap();
        let status_of = |path: &str| -> Vec<(String, String, Option<String>)> {
            let mut stmt = conn
                .prepare(
                    "SELECT name, status, json_extract(attributes, '$.\"error.type\"') \
                     FROM spans WHERE json_extract(attributes, '$.\"url.path\"') = ?1",
                )
                .unwrap();
            let rows = stmt
                .query_map([path], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap();
            rows.map(Result::unwrap).collect()
        };
        let fail = ("GET /v1/fail".into(), "error".into(), Some("500".into()));
        assert_eq!(status_of("/v1/fail"), vec![fail; 3]);
        let panic = ("GET /v1/panic".into(), "error".into(), Some("panic".into()));
        assert_eq!(status_of("/v1/panic"), vec![panic; 2]);
        let nope = ("GET".into(), "ok".into(), None);
        assert_eq!(status_of("/v1/nope"), vec![nope; 3]);
        assert_eq!(status_of("/docs"), vec![]);
    });
}

#[test]
fn an_incoming_traceparent_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("traces.db");
    let guard = telemetry(&db);
    runtime().block_on(async {
        let addr = serve(app(RequestTelemetryLayer::new(), Gate::default())).await;
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/v1/agents/a1/turn"))
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["x-trace-id"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(guard.flush());
        let spans = spans_of(&db, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(spans.len(), 3, "{spans:?}");
        let server = &spans[0];
        assert_eq!(server.2, "POST /v1/agents/{agent_id}/turn");
        assert_eq!(
            server.1.as_deref(),
            Some("00f067aa0ba902b7"),
            "remote parent"
        );
        let traceparent = response.headers()["traceparent"].to_str().unwrap();
        assert_eq!(
            traceparent,
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", server.0)
        );
    });
}

#[test]
fn without_spans_only_metrics_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("traces.db");
    let guard = telemetry(&db);
    runtime().block_on(async {
        let layer = RequestTelemetryLayer::new().without_spans();
        let addr = serve(app(layer, Gate::default())).await;
        let client = reqwest::Client::new();
        for _ in 0..4 {
            let response = client
                .get(format!("http://{addr}/v1/models"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert!(!response.headers().contains_key("x-trace-id"));
            assert!(!response.headers().contains_key("traceparent"));
        }
        let text = guard.prometheus_text().unwrap();
        let l = [("api", "models"), ("status", "200")];
        assert_eq!(
            sample(&text, "llama_stack_requests_total", &l),
            Some(4.0),
            "{text}"
        );
        assert!(guard.flush());
        let conn = rusqlite::Connection::open(&db).unwrap();
        let spans: i64 = conn
            .query_row("SELECT count(*) FROM spans", [], |r| r.get(0))
            .unwrap();
        assert_eq!(spans, 0);
    });
}

#[test]
fn without_a_telemetry_layer_requests_pass_through() {
    runtime().block_on(async {
        let addr = serve(app(RequestTelemetryLayer::new(), Gate::default())).await;
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/v1/agents/a1/turn"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key("x-trace-id"));
        assert_eq!(response.text().await.unwrap(), "results for s1");
    });
}
