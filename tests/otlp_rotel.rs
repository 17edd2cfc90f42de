//! The `otel_trace` and `otel_metric` sinks against a real OpenTelemetry collector
//! (rotel, see `support/rotel.rs`), over OTLP/HTTP and OTLP/gRPC: ids equal to the SQLite
//! rows, names, parents, kinds, statuses, attributes, events, resource and metric values;
//! then the faults: no collector, a hanging collector, shutdown under every kind of
//! runtime, the exporter's own logs, bad configuration; and outages: a collector that
//! starts late, stops and restarts, or is down when the application exits — every span
//! of the store reaches it exactly once.
//!
//! Every wait is bounded; everything listens on 127.0.0.1 only.

#[path = "../examples/agent/agent.rs"]
mod agent;
#[path = "support/rotel.rs"]
mod rotel;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llm_telemetry::{OtlpConfig, OtlpProtocol, SinkKind, TelemetryConfig};
use rotel::{free_port, latest_points, parse_spans, untag, OtlpPoint, OtlpSpan, Rotel};
use serde_json::Value;
use tracing::instrument::WithSubscriber;

const WAIT: Duration = Duration::from_secs(20);
/// Not a speed target: a drop that takes longer than this is hung. Each sink's drain is
/// itself bounded (the guard's 10 s flush timeout, the exporter timeout).
const DEADLOCK: Duration = Duration::from_secs(30);

/// The semantic-convention buckets, written out independently of the crate's constants.
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

// ---------------------------------------------------------------------------------------
// Helpers

/// One row of the SQLite `spans` table.
#[derive(Clone, Debug)]
struct Row {
    span_id: String,
    trace_id: String,
    parent_span_id: Option<String>,
    name: String,
    kind: String,
    status: String,
    status_message: Option<String>,
    attributes: BTreeMap<String, Value>,
}

fn sqlite_spans(path: &Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(path).expect("open the store");
    let mut stmt = conn
        .prepare(
            "SELECT span_id, trace_id, parent_span_id, name, kind, status, status_message, attributes \
             FROM spans ORDER BY start_time",
        )
        .expect("query spans");
    let rows = stmt
        .query_map([], |r| {
            let attrs: String = r.get(7)?;
            Ok(Row {
                span_id: r.get(0)?,
                trace_id: r.get(1)?,
                parent_span_id: r.get(2)?,
                name: r.get(3)?,
                kind: r.get(4)?,
                status: r.get(5)?,
                status_message: r.get(6)?,
                attributes: serde_json::from_str(&attrs).expect("attributes are JSON"),
            })
        })
        .expect("span rows");
    rows.map(|r| r.expect("span row")).collect()
}

/// How rotel prints a value that SQLite holds as JSON.
fn otlp_rendering(v: &Value) -> String {
    match v {
        Value::String(s) => format!("Str({s})"),
        Value::Bool(b) => format!("Bool({b})"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("Int({n})"),
        Value::Number(n) => format!("Double({n})"),
        other => format!("{other}"),
    }
}

/// Run the example agent's sessions to completion on a current-thread runtime (the
/// thread-local subscriber of `init_local` is in force throughout).
fn run_agent_sessions() -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let agent = agent::Agent::new("weather-assistant", "local-rules-1");
        let mut turns = 0;
        for (session, _user, inputs) in agent::SESSIONS {
            for input in inputs.iter() {
                agent.turn(session, input).await.expect("turn");
                turns += 1;
            }
        }
        turns
    })
}

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traces.db");
    (dir, path)
}

fn endpoint_for(rotel: &Rotel, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::Grpc => rotel.grpc_endpoint(),
        _ => rotel.http_endpoint(),
    }
}

fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |k| map.get(k).cloned()
}

fn points<'a>(all: &'a [OtlpPoint], metric: &str) -> Vec<&'a OtlpPoint> {
    all.iter().filter(|p| p.metric == metric).collect()
}

/// Re-run this test binary for one `child_*` test, with `envs`; return its output.
fn run_child(test: &str, envs: &[(&str, String)]) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("LLM_TELEMETRY_TEST_CHILD", test);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the child test");
    assert!(
        out.status.success(),
        "child test {test} failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn is_child(test: &str) -> bool {
    std::env::var("LLM_TELEMETRY_TEST_CHILD").is_ok_and(|v| v == test)
}

// ---------------------------------------------------------------------------------------
// The example agent, exported over HTTP/protobuf and over gRPC

/// Run the agent with sqlite + otel_trace + otel_metric and check, span by span, that the
/// collector received what SQLite stored, and that the metric values add up.
fn agent_export_matches_sqlite(protocol: OtlpProtocol) {
    let Some(rotel) = Rotel::start() else { return };
    let (_dir, db) = temp_db();
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::OtelTrace, SinkKind::OtelMetric])
        .sqlite_db_path(&db)
        .service_name("weather-agent-test")
        .otlp_endpoint(endpoint_for(&rotel, protocol))
        .otlp_protocol(protocol)
        .build()
        .init_local()
        .expect("init");
    let turns = run_agent_sessions();
    assert!(guard.flush(), "every sink confirms the flush");
    let stats = guard.stats();
    drop(guard);

    let rows = sqlite_spans(&db);
    let inferences: Vec<&Row> = rows
        .iter()
        .filter(|r| r.name.starts_with("chat "))
        .collect();
    assert!(
        rows.len() > turns && inferences.len() >= turns,
        "{} rows for {turns} turns",
        rows.len()
    );
    let trace_stats = stats.sink("otel_trace").expect("otel_trace stats");
    assert_eq!(trace_stats.stored, rows.len() as u64, "{stats:?}");
    assert_eq!(trace_stats.dropped + trace_stats.failed, 0, "{stats:?}");

    let out = rotel.wait_for(WAIT, "every span and the token counter", |out| {
        rows.iter().all(|r| out.contains(&r.span_id)) && out.contains("llama_stack.tokens")
    });
    let spans = parse_spans(&out);
    assert_eq!(
        spans.len(),
        rows.len(),
        "one OTLP span per SQLite row, no more"
    );

    for row in &rows {
        let s: &OtlpSpan = spans
            .iter()
            .find(|s| s.span_id == row.span_id)
            .unwrap_or_else(|| panic!("span {} ({}) not exported", row.span_id, row.name));
        assert_eq!(s.trace_id, row.trace_id, "trace id of {}", row.name);
        assert_eq!(
            s.parent_id,
            row.parent_span_id.clone().unwrap_or_default(),
            "parent of {}",
            row.name
        );
        assert_eq!(s.name, row.name);
        assert_eq!(
            s.kind,
            format!("SPAN_KIND_{}", row.kind.to_uppercase()),
            "kind of {}",
            row.name
        );
        assert_eq!(
            s.status_code,
            format!("STATUS_CODE_{}", row.status.to_uppercase()),
            "status of {}",
            row.name
        );
        if row.status == "error" {
            assert_eq!(
                Some(s.status_message.as_str()),
                row.status_message.as_deref(),
                "message of {}",
                row.name
            );
        }
        assert_eq!(s.resource_attr("service.name"), Some("weather-agent-test"));
        assert_eq!(s.resource_attr("telemetry.sdk.language"), Some("rust"));
        assert_eq!(
            s.scope,
            format!("llm-telemetry {}", env!("CARGO_PKG_VERSION"))
        );
        for (key, value) in &row.attributes {
            assert_eq!(
                s.attr(key),
                Some(otlp_rendering(value).as_str()),
                "attribute {key} of {}",
                row.name
            );
        }
    }

    // Kinds by category: CLIENT for inferences and retrievals, INTERNAL for the rest.
    for s in &spans {
        let op = s
            .attr("gen_ai.operation.name")
            .map(untag)
            .unwrap_or_default();
        let expected = if op == "chat" || op == "retrieval" {
            "SPAN_KIND_CLIENT"
        } else {
            "SPAN_KIND_INTERNAL"
        };
        assert_eq!(s.kind, expected, "{}", s.name);
    }
    // The tool that fails on purpose.
    let failed = spans
        .iter()
        .find(|s| s.name == "execute_tool get_weather" && s.status_code == "STATUS_CODE_ERROR")
        .expect("the failing weather lookup is exported as an error");
    assert!(
        failed.status_message.contains("Atlantis"),
        "{}",
        failed.status_message
    );
    // Logs become span events, on the span they were logged in.
    let requested = spans
        .iter()
        .flat_map(|s| s.events.iter().map(move |e| (s, e)))
        .filter(|(_, e)| e.name == "model requested a tool")
        .collect::<Vec<_>>();
    assert!(
        !requested.is_empty(),
        "the agent's tracing::info! is exported as a span event"
    );
    for (s, e) in requested {
        assert!(
            s.name.starts_with("invoke_agent"),
            "logged inside the turn, found on {}",
            s.name
        );
        assert_eq!(e.attr("level"), Some("Str(info)"));
        assert!(e.attr("tool").is_some());
    }

    // Metrics: the llama-stack counters add up to the tokens of the inference rows.
    let sum_of = |key: &str| -> u64 {
        inferences
            .iter()
            .map(|r| r.attributes.get(key).and_then(Value::as_u64).unwrap_or(0))
            .sum()
    };
    let (prompt, completion) = (
        sum_of("gen_ai.usage.input_tokens"),
        sum_of("gen_ai.usage.output_tokens"),
    );
    assert!(prompt > 0 && completion > 0);
    // A back-end summing `gen_ai.usage.*` over every span it received counts each token
    // once: turns carry their totals under `llm_telemetry.usage.*`.
    let received = |key: &str| -> u64 {
        spans
            .iter()
            .filter_map(|s| s.attr(key))
            .map(|v| untag(v).parse::<u64>().expect("an integer attribute"))
            .sum()
    };
    assert_eq!(received("gen_ai.usage.input_tokens"), prompt);
    assert_eq!(received("gen_ai.usage.output_tokens"), completion);
    let metrics = latest_points(&out);
    for (name, expected) in [
        ("llama_stack.prompt_tokens", prompt),
        ("llama_stack.completion_tokens", completion),
        ("llama_stack.tokens", prompt + completion),
    ] {
        let pts = points(&metrics, name);
        assert!(!pts.is_empty(), "{name} exported");
        let total: f64 = pts.iter().map(|p| p.value.unwrap_or(0.0)).sum();
        assert_eq!(total, expected as f64, "{name}");
        for p in pts {
            assert_eq!(p.unit, "{token}");
            assert_eq!(p.data_type, "Sum");
            assert_eq!(p.monotonic, "true");
            assert_eq!(p.attr("model_id"), Some("local-rules-1"));
            assert_eq!(p.attr("provider_id"), Some("local"));
            assert_eq!(p.resource_attr("service.name"), Some("weather-agent-test"));
        }
    }
    // The GenAI histograms, with the semantic-convention buckets.
    let usage = points(&metrics, "gen_ai.client.token.usage");
    assert_eq!(
        usage.iter().map(|p| p.count.unwrap()).sum::<u64>(),
        2 * inferences.len() as u64
    );
    assert_eq!(
        usage.iter().map(|p| p.sum.unwrap()).sum::<f64>(),
        (prompt + completion) as f64
    );
    for p in &usage {
        assert_eq!(p.bounds, TOKEN_BUCKETS);
        assert_eq!(p.data_type, "Histogram");
        assert_eq!(p.unit, "{token}");
        assert!(matches!(
            p.attr("gen_ai.token.type"),
            Some("input" | "output")
        ));
        assert_eq!(p.attr("gen_ai.request.model"), Some("local-rules-1"));
        assert_eq!(p.attr("gen_ai.operation.name"), Some("chat"));
    }
    let duration = points(&metrics, "gen_ai.client.operation.duration");
    assert_eq!(
        duration.iter().map(|p| p.count.unwrap()).sum::<u64>(),
        inferences.len() as u64
    );
    for p in &duration {
        assert_eq!(p.bounds, DURATION_BUCKETS);
        assert_eq!(p.unit, "s");
        assert_eq!(p.attr("gen_ai.provider.name"), Some("local"));
    }
}

#[test]
fn agent_over_http_protobuf_matches_sqlite() {
    agent_export_matches_sqlite(OtlpProtocol::HttpProtobuf);
}

#[test]
fn agent_over_grpc_matches_sqlite() {
    agent_export_matches_sqlite(OtlpProtocol::Grpc);
}

/// The OpenTelemetry variables, read the way `init()` reads them: signal-specific
/// endpoints used as given (the base endpoint points nowhere), one signal over HTTP/JSON
/// and the other over gRPC, the resource attributes, the namespace, and the periodic
/// export interval (no flush is called for the metrics).
#[test]
fn signal_variables_protocols_resource_and_export_interval() {
    let Some(rotel) = Rotel::start() else { return };
    let vars = [
        ("TELEMETRY_SINKS", "otel".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", free_port()),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", rotel.http_endpoint()),
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json".to_owned()),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", rotel.grpc_endpoint()),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc".to_owned()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=secret".to_owned()),
        ("OTEL_SERVICE_NAME", "env-configured".to_owned()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=ci,service.version=9.9%2E1".to_owned(),
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "300".to_owned()),
        ("TELEMETRY_METRIC_NAMESPACE", "acme".to_owned()),
    ];
    let config = TelemetryConfig::from_lookup(lookup(&vars)).expect("valid variables");
    let guard = config.init_local().expect("init");
    tracing::info_span!(
        "chat",
        otel.name = "chat model-x",
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = "model-x",
        gen_ai.provider.name = "prov",
        gen_ai.usage.input_tokens = 7u64,
        gen_ai.usage.output_tokens = 3u64,
        otel.status_code = "ok",
    )
    .in_scope(|| {});
    // No flush: the span goes out with its batch, the metrics with the periodic reader.
    let out = rotel.wait_for(WAIT, "the span and the periodic metric export", |out| {
        out.contains("chat model-x") && out.contains("acme.tokens")
    });
    drop(guard);
    let spans = parse_spans(&out);
    let span = spans.iter().find(|s| s.name == "chat model-x").unwrap();
    assert_eq!(span.kind, "SPAN_KIND_CLIENT");
    assert_eq!(span.attr("gen_ai.usage.input_tokens"), Some("Int(7)"));
    assert_eq!(span.resource_attr("service.name"), Some("env-configured"));
    assert_eq!(span.resource_attr("deployment.environment"), Some("ci"));
    assert_eq!(span.resource_attr("service.version"), Some("9.9.1"));
    let metrics = latest_points(&out);
    let tokens = points(&metrics, "acme.tokens");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].value, Some(10.0));
    assert_eq!(tokens[0].attr("model_id"), Some("model-x"));
    assert_eq!(tokens[0].attr("provider_id"), Some("prov"));
    assert_eq!(
        tokens[0].resource_attr("deployment.environment"),
        Some("ci")
    );
}

/// A trace continued from an incoming `traceparent`: the exported spans carry the remote
/// trace id and the remote span as their parent, exactly as SQLite does.
#[test]
fn remote_parent_from_traceparent_is_exported() {
    let Some(rotel) = Rotel::start() else { return };
    let (_dir, db) = temp_db();
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::OtelTrace])
        .sqlite_db_path(&db)
        .otlp_endpoint(rotel.grpc_endpoint())
        .otlp_protocol(OtlpProtocol::Grpc)
        .build()
        .init_local()
        .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            .parse()
            .unwrap(),
    );
    llm_telemetry::context::extract(&headers).in_scope(|| {
        let _ = agent::calculator("6 * 7");
    });
    assert!(guard.flush());
    drop(guard);
    let rows = sqlite_spans(&db);
    assert_eq!(rows.len(), 1, "the carrier span is not recorded: {rows:?}");
    let out = rotel.wait_for(WAIT, "the tool span", |out| out.contains(&rows[0].span_id));
    let spans = parse_spans(&out);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(spans[0].parent_id, "b7ad6b7169203331");
    assert_eq!(spans[0].span_id, rows[0].span_id);
    assert_eq!(rows[0].parent_span_id.as_deref(), Some("b7ad6b7169203331"));
}

// ---------------------------------------------------------------------------------------
// Faults

/// No collector listening: the application runs at its normal speed, one warning names
/// the endpoint (one per signal, not one per batch), the SQLite store is complete, and
/// export resumes when a collector comes up on that address. Run in a child process so
/// that its stderr can be read.
#[test]
fn no_collector_warns_once_and_export_resumes() {
    if !rotel::installed() {
        return; // rotel unavailable and skipping was asked for
    }
    let port = free_port();
    let out = run_child(
        "child_no_collector",
        &[("LLM_TELEMETRY_TEST_PORT", port.to_string())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("llm-telemetry: warning"))
        .collect();
    let traces_url = format!("http://127.0.0.1:{port}/v1/traces");
    let metrics_url = format!("http://127.0.0.1:{port}/v1/metrics");
    assert_eq!(
        warnings.len(),
        2,
        "one warning per signal, not one per batch:\n{stderr}"
    );
    assert_eq!(
        warnings.iter().filter(|w| w.contains(&traces_url)).count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        warnings.iter().filter(|w| w.contains(&metrics_url)).count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "metrics to the OTLP collector at {metrics_url} (http/protobuf) has resumed"
        )),
        "{stderr}"
    );
}

#[test]
fn child_no_collector() {
    if !is_child("child_no_collector") {
        return;
    }
    let port: u16 = std::env::var("LLM_TELEMETRY_TEST_PORT")
        .unwrap()
        .parse()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");

    // Baseline: the same work with the SQLite sink alone.
    let (_d1, base_db) = temp_db();
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&base_db)
        .build()
        .init_local()
        .unwrap();
    let t = Instant::now();
    run_agent_sessions();
    let baseline = t.elapsed();
    drop(guard);
    let expected = sqlite_spans(&base_db).len();

    let (_d2, db) = temp_db();
    let otlp = OtlpConfig {
        endpoint: Some(endpoint.clone()),
        timeout_ms: Some(1000),
        ..OtlpConfig::default()
    };
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::OtelTrace, SinkKind::OtelMetric])
        .sqlite_db_path(&db)
        .otlp(otlp)
        .build()
        .init_local()
        .unwrap();
    let t = Instant::now();
    run_agent_sessions();
    let with_dead_collector = t.elapsed();
    // Speed is a benchmark's business (benches/overhead.rs, case h); here it is only shown.
    eprintln!(
        "agent sessions: {baseline:?} sqlite only, {with_dead_collector:?} with no collector"
    );
    assert!(guard.flush());
    for _ in 0..3 {
        run_agent_sessions();
        assert!(guard.flush());
    }
    assert_eq!(
        sqlite_spans(&db).len(),
        4 * expected,
        "the SQLite sink is complete"
    );
    let stats = guard.stats();
    let traces = stats.sink("otel_trace").unwrap();
    assert_eq!(traces.stored, 0, "{stats:?}");
    assert_eq!(traces.failed, 0, "nothing is refused for good: {stats:?}");
    assert_eq!(
        traces.pending, traces.emitted,
        "every span waits: {stats:?}"
    );

    // A collector comes up where the exporter points: export resumes, and what waited is
    // sent (`collector_outages_lose_and_duplicate_nothing` checks it span by span).
    let rotel = Rotel::start_on(port, free_port()).expect("rotel");
    let t = Instant::now();
    let mut seen = false;
    while !seen && t.elapsed() < WAIT {
        tracing::info_span!("after the collector came up").in_scope(|| {});
        assert!(guard.flush());
        seen = rotel.output().contains("after the collector came up");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(seen, "export resumed: {}", rotel.output());
    // Metrics recorded during the outage are cumulative: the next export that goes through
    // carries them (a collector that has just started may still refuse the first ones; a
    // flush after a failed export tries again).
    run_agent_sessions();
    assert!(guard.flush());
    let total: u64 = sqlite_spans(&db)
        .iter()
        .filter(|r| r.name.starts_with("chat "))
        .map(|r| {
            r.attributes["gen_ai.usage.input_tokens"].as_u64().unwrap()
                + r.attributes["gen_ai.usage.output_tokens"].as_u64().unwrap()
        })
        .sum();
    let exported_tokens = || -> f64 {
        points(&latest_points(&rotel.output()), "llama_stack.tokens")
            .iter()
            .map(|p| p.value.unwrap())
            .sum()
    };
    let t = Instant::now();
    let mut tokens = exported_tokens();
    while t.elapsed() < WAIT && tokens != total as f64 {
        assert!(guard.flush());
        // Let a batch that is being printed finish.
        std::thread::sleep(Duration::from_millis(200));
        tokens = exported_tokens();
    }
    assert_eq!(
        tokens, total as f64,
        "every inference's tokens, including those of the outage"
    );
    drop(guard);
}

/// A fake collector that accepts connections and reads requests but never answers.
struct HangingCollector {
    port: u16,
    received: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HangingCollector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut open = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::Acquire) && Instant::now() < deadline {
                if let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true).unwrap();
                    open.push(stream);
                }
                let mut buf = [0u8; 4096];
                for stream in &mut open {
                    if let Ok(n) = stream.read(&mut buf) {
                        r.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        HangingCollector {
            port,
            received,
            stop,
            thread: Some(thread),
        }
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }
}

impl Drop for HangingCollector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A collector that never answers: the application thread never waits (bounded queue),
/// what does not fit is dropped and counted, and shutdown is bounded.
#[test]
fn hanging_collector_never_blocks_the_application() {
    let collector = HangingCollector::start();
    let (_dir, db) = temp_db();
    let vars = [
        ("TELEMETRY_SINKS", "sqlite,otel_trace".to_owned()),
        ("TELEMETRY_SQLITE_DB_PATH", db.display().to_string()),
        ("TELEMETRY_QUEUE_CAPACITY", "256".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", collector.port),
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "400".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=s3cret,x-tenant=acme%20corp".to_owned(),
        ),
    ];
    let guard = TelemetryConfig::from_lookup(lookup(&vars))
        .unwrap()
        .init_local()
        .unwrap();
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..20_000u64 {
        let t = Instant::now();
        tracing::info_span!("work", i).in_scope(|| {});
        slowest = slowest.max(t.elapsed());
    }
    // Not blocking shows in the counts below (a full queue drops instead of waiting);
    // the times are only shown: timing belongs in the benchmarks.
    eprintln!(
        "20k spans took {:?}, the slowest {slowest:?}",
        start.elapsed()
    );
    assert!(guard.flush());
    let stats = guard.stats();
    let traces = *stats.sink("otel_trace").unwrap();
    assert_eq!(traces.emitted, 20_000);
    assert!(
        traces.dropped > 0,
        "a full queue drops and counts: {traces:?}"
    );
    assert_eq!(traces.stored, 0, "{traces:?}");
    // What the queue took waits for the collector (within TELEMETRY_OTLP_BACKLOG).
    assert_eq!(
        traces.dropped + traces.failed + traces.pending,
        traces.emitted,
        "{traces:?}"
    );
    assert!(stats.dropped() >= traces.dropped);

    let t = Instant::now();
    drop(guard);
    assert!(t.elapsed() < DEADLOCK, "shutdown hung: {:?}", t.elapsed());

    // The exporter did try, with the configured headers.
    let request = collector.received().to_ascii_lowercase();
    assert!(request.contains("post /v1/traces"), "{request:.300}");
    assert!(request.contains("api-key: s3cret"), "{request:.300}");
    assert!(request.contains("x-tenant: acme corp"), "{request:.300}");
}

#[derive(Clone, Copy, Debug)]
enum Flavor {
    MultiThread,
    CurrentThread,
    NoRuntime,
}

/// Emit a few spans under `flavor`, then drop the guard from inside the application's
/// context (an async task for the tokio flavors) and return how long the drop took.
fn emit_and_shut_down(flavor: Flavor, config: &TelemetryConfig) -> Duration {
    use tracing_subscriber::prelude::*;
    let (layer, guard) = llm_telemetry::layer(config).expect("layer");
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let marker = format!("{flavor:?}");
    let work = {
        let marker = marker.clone();
        move |i: usize| {
            let marker = marker.clone();
            async move {
                let agent = agent::Agent::new("shutdown-agent", "local-rules-1");
                agent
                    .turn(&format!("{marker}-{i}"), "What is 2 + 2?")
                    .await
                    .unwrap();
            }
        }
    };
    match flavor {
        Flavor::MultiThread | Flavor::CurrentThread => {
            let rt = match flavor {
                Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build(),
                _ => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build(),
            }
            .unwrap();
            rt.block_on(async move {
                let tasks: Vec<_> = (0..8)
                    .map(|i| tokio::spawn(work(i).with_subscriber(dispatch.clone())))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                // Dropped on a runtime thread, inside async code.
                let t = Instant::now();
                drop(guard);
                t.elapsed()
            })
        }
        Flavor::NoRuntime => {
            let threads: Vec<_> = (0..4)
                .map(|i| {
                    let dispatch = dispatch.clone();
                    let marker = marker.clone();
                    std::thread::spawn(move || {
                        tracing::dispatcher::with_default(&dispatch, || {
                            let _turn = tracing::info_span!("invoke_agent plain", gen_ai.operation.name = "invoke_agent", session = %format!("{marker}-{i}")).entered();
                            agent::calculator("2 + 2").unwrap();
                        })
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            let t = Instant::now();
            drop(guard);
            t.elapsed()
        }
    }
}

/// Shutdown flushes within a bounded time under a multi-thread runtime, a current-thread
/// runtime and no runtime, with the guard dropped inside async code, without deadlock;
/// with a live collector everything arrives, with a hanging one the drop is still bounded.
#[test]
fn shutdown_is_bounded_under_every_runtime() {
    let Some(rotel) = Rotel::start() else { return };
    for flavor in [
        Flavor::MultiThread,
        Flavor::CurrentThread,
        Flavor::NoRuntime,
    ] {
        for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
            let (_dir, db) = temp_db();
            let config = TelemetryConfig::builder()
                .sinks([SinkKind::Sqlite, SinkKind::OtelTrace, SinkKind::OtelMetric])
                .sqlite_db_path(&db)
                .otlp_endpoint(endpoint_for(&rotel, protocol))
                .otlp_protocol(protocol)
                .build();
            let took = emit_and_shut_down(flavor, &config);
            assert!(
                took < DEADLOCK,
                "{flavor:?}/{protocol}: shutdown hung: {took:?}"
            );
            let rows = sqlite_spans(&db);
            assert!(!rows.is_empty());
            // Everything was flushed by the drop: the collector has every span.
            let out = rotel.wait_for(WAIT, "every span", |o| {
                rows.iter().all(|r| o.contains(&r.span_id))
            });
            assert!(out.contains("llama_stack.tokens") || matches!(flavor, Flavor::NoRuntime));
        }
        for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
            let hanging = HangingCollector::start();
            let (_dir, db) = temp_db();
            let config = TelemetryConfig::builder()
                .sinks([SinkKind::Sqlite, SinkKind::OtelTrace, SinkKind::OtelMetric])
                .sqlite_db_path(&db)
                .otlp(OtlpConfig {
                    endpoint: Some(format!("http://127.0.0.1:{}", hanging.port)),
                    protocol: Some(protocol),
                    timeout_ms: Some(500),
                    ..OtlpConfig::default()
                })
                .build();
            let took = emit_and_shut_down(flavor, &config);
            assert!(
                took < DEADLOCK,
                "{flavor:?}/{protocol} with a hanging collector: shutdown hung: {took:?}"
            );
            assert!(
                !sqlite_spans(&db).is_empty(),
                "the other sinks are complete"
            );
            assert!(!hanging.received().is_empty(), "the exporter did try");
        }
    }
}

/// The exporter's own HTTP/gRPC client logs never feed back into the pipeline, even
/// with a global subscriber that enables every level: run in a child process (a global
/// subscriber), configured by `init()`'s environment variables, exporting over gRPC.
#[test]
fn exporter_client_logs_never_feed_back() {
    let Some(rotel) = Rotel::start() else { return };
    let (_dir, db) = temp_db();
    let out = run_child(
        "child_global_subscriber",
        &[
            ("TELEMETRY_SINKS", "sqlite,otel".into()),
            ("TELEMETRY_SQLITE_DB_PATH", db.display().to_string()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.grpc_endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ("OTEL_SERVICE_NAME", "feedback-test".into()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows = sqlite_spans(&db);
    for r in &rows {
        assert!(
            r.name.starts_with("invoke_agent")
                || r.name.starts_with("chat ")
                || r.name.starts_with("execute_tool")
                || r.name.starts_with("apply_guardrail")
                || r.name.starts_with("retrieval"),
            "only the application's spans are stored, found `{}`",
            r.name
        );
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT COALESCE(message, '') || ' ' || attributes FROM span_events")
        .unwrap();
    let events: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for e in &events {
        for stack in ["h2", "hyper", "tonic", "tower", "reqwest", "opentelemetry"] {
            assert!(
                !e.contains(&format!("{stack}::")),
                "a client log was stored: {e}"
            );
        }
    }
    let logs = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM span_events WHERE span_id IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(logs, 0, "no free-standing logs came from the exporters");
    // The client stacks did log (the child saw their events) and the export worked.
    let seen: u64 = stdout
        .split("client stack events: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("child did not report: {stdout}"));
    assert!(
        seen > 0,
        "the gRPC client traced nothing, so this test proved nothing"
    );
    let out = rotel.wait_for(WAIT, "the spans", |o| {
        rows.iter().all(|r| o.contains(&r.span_id))
    });
    let spans = parse_spans(&out);
    assert_eq!(spans.len(), rows.len());
    assert!(spans
        .iter()
        .all(|s| s.resource_attr("service.name") == Some("feedback-test")));
}

#[test]
fn child_global_subscriber() {
    if !is_child("child_global_subscriber") {
        return;
    }
    use tracing_subscriber::prelude::*;

    /// Counts what the HTTP/gRPC client stacks trace, at every level.
    struct ClientStackCounter(Arc<AtomicU64>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ClientStackCounter {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let target = event.metadata().target();
            if ["h2", "hyper", "tonic", "tower", "reqwest"]
                .iter()
                .any(|t| target.starts_with(t))
            {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    let config = TelemetryConfig::from_env().expect("config from the environment");
    let (layer, guard) = llm_telemetry::layer(&config).unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    tracing_subscriber::registry()
        .with(layer)
        .with(ClientStackCounter(seen.clone()))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let agent = agent::Agent::new("weather-assistant", "local-rules-1");
        for (session, _user, inputs) in agent::SESSIONS {
            for input in inputs.iter() {
                agent.turn(session, input).await.unwrap();
            }
        }
    });
    assert!(guard.flush());
    drop(guard);
    println!("client stack events: {}", seen.load(Ordering::Relaxed));
}

// ---------------------------------------------------------------------------------------
// Outages: what the collector missed is delivered when it comes back, exactly once

/// The span ids of the store at `db`.
fn stored_ids(db: &Path) -> BTreeSet<String> {
    sqlite_spans(db).into_iter().map(|r| r.span_id).collect()
}

/// How many times the collector printed each span of the store's traces.
fn received_ids(db: &Path, output: &str) -> BTreeMap<String, usize> {
    let traces: BTreeSet<String> = sqlite_spans(db).into_iter().map(|r| r.trace_id).collect();
    let mut seen = BTreeMap::new();
    for span in parse_spans(output) {
        if traces.contains(&span.trace_id) {
            *seen.entry(span.span_id).or_insert(0) += 1;
        }
    }
    seen
}

/// Wait (bounded) until the collector has every span of the store, flushing the guard if
/// there is one; then the two sets are equal and no span came twice.
fn assert_exactly_once(
    what: &str,
    db: &Path,
    guard: Option<&llm_telemetry::TelemetryGuard>,
    output: impl Fn() -> String,
) -> usize {
    let stored = stored_ids(db);
    assert!(!stored.is_empty(), "{what}: the store has spans");
    let start = Instant::now();
    let deadline = start + WAIT;
    let mut received = received_ids(db, &output());
    while received.len() < stored.len() && Instant::now() < deadline {
        if let Some(g) = guard {
            assert!(g.flush());
        }
        std::thread::sleep(Duration::from_millis(200));
        received = received_ids(db, &output());
    }
    let received_set: BTreeSet<String> = received.keys().cloned().collect();
    let missing: Vec<_> = stored.difference(&received_set).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} stored spans never reached the collector, e.g. {:?}",
        missing.len(),
        stored.len(),
        &missing[..missing.len().min(5)]
    );
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: spans received more than once: {twice:?}"
    );
    assert_eq!(received_set, stored, "{what}: the same ids on both sides");
    // Shown, not asserted: timing is the benchmarks' business.
    eprintln!(
        "{what}: {} spans, each received once, the last {:?} after the check began",
        stored.len(),
        start.elapsed()
    );
    stored.len()
}

/// Emit a parent and a child span every 10 ms until `done()`.
fn emit_until(label: &str, done: impl Fn() -> bool) -> u64 {
    let mut n = 0;
    while !done() {
        tracing::info_span!("outage work", label, n).in_scope(|| {
            tracing::info_span!("outage step", n).in_scope(|| {});
        });
        n += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    n
}

fn outage_config(db: &Path, protocol: OtlpProtocol, endpoint: String) -> TelemetryConfig {
    TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::OtelTrace])
        .sqlite_db_path(db)
        .otlp(OtlpConfig {
            endpoint: Some(endpoint),
            protocol: Some(protocol),
            timeout_ms: Some(2000),
            ..OtlpConfig::default()
        })
        .build()
}

/// The `otel_trace` counters once nothing waits any more (bounded wait).
fn settled_stats(guard: &llm_telemetry::TelemetryGuard) -> llm_telemetry::SinkStats {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(guard.flush());
        let s = *guard.stats().sink("otel_trace").unwrap();
        if s.pending == 0 || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (a) the collector starts 3 s after the application began emitting, (b) it stops for
/// 5 s in the middle of a run (over gRPC) and comes back, (c) the application exits while
/// it is down and a second run on the same store starts once it is back. One collector
/// at a time on one pair of ports; each scenario has its own store, so its spans are
/// told apart by their trace ids.
#[test]
fn collector_outages_lose_and_duplicate_nothing() {
    if !rotel::installed() {
        return; // rotel unavailable and skipping was asked for
    }
    let (http_port, grpc_port) = (free_port(), free_port());
    let http = format!("http://127.0.0.1:{http_port}");
    let grpc = format!("http://127.0.0.1:{grpc_port}");

    // (a) Late collector.
    let (_da, db_a) = temp_db();
    let guard = outage_config(&db_a, OtlpProtocol::HttpProtobuf, http.clone())
        .init_local()
        .unwrap();
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        Rotel::start_on(http_port, grpc_port).expect("rotel")
    });
    let before = emit_until("late", || starter.is_finished());
    let rotel = starter.join().unwrap();
    let up = Instant::now();
    let after = emit_until("late", || up.elapsed() > Duration::from_secs(1));
    assert!(before > 0 && after > 0);
    let n = assert_exactly_once("(a) late collector", &db_a, Some(&guard), || rotel.output());
    let s = settled_stats(&guard);
    assert_eq!(
        (s.stored, s.failed, s.dropped, s.pending),
        (n as u64, 0, 0, 0),
        "(a) {s:?}"
    );
    drop(guard);

    // (b) The collector stops for 5 s in the middle of a run, then comes back (gRPC).
    let (_db, db_b) = temp_db();
    let guard = outage_config(&db_b, OtlpProtocol::Grpc, grpc.clone())
        .init_local()
        .unwrap();
    let t = Instant::now();
    emit_until("restart", || t.elapsed() > Duration::from_secs(1));
    let restarter = std::thread::spawn(move || {
        let first = rotel.stop();
        std::thread::sleep(Duration::from_secs(5));
        (first, Rotel::start_on(http_port, grpc_port).expect("rotel"))
    });
    emit_until("restart", || restarter.is_finished());
    let (first_output, rotel) = restarter.join().unwrap();
    let up = Instant::now();
    emit_until("restart", || up.elapsed() > Duration::from_secs(1));
    let n = assert_exactly_once("(b) collector restarted", &db_b, Some(&guard), || {
        first_output.clone() + &rotel.output()
    });
    let s = settled_stats(&guard);
    assert_eq!(
        (s.stored, s.failed, s.dropped, s.pending),
        (n as u64, 0, 0, 0),
        "(b) {s:?}"
    );
    drop(guard);

    // (c) The application exits while the collector is down; a second run on the same
    // store starts after it is back and sends what the first could not.
    let mut output = first_output + &rotel.stop();
    let (_dc, db_c) = temp_db();
    let child_env = |spans: &str| {
        vec![
            ("TELEMETRY_SINKS", "sqlite,otel_trace".to_owned()),
            ("TELEMETRY_SQLITE_DB_PATH", db_c.display().to_string()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", http.clone()),
            ("LLM_TELEMETRY_TEST_SPANS", spans.to_owned()),
        ]
    };
    let first = run_child("child_backlog_run", &child_env("300"));
    let first_err = String::from_utf8_lossy(&first.stderr);
    assert!(
        first_err.contains("they wait in the store"),
        "the first run says where the spans wait:\n{first_err}"
    );
    assert!(first_err.contains("pending: 600"), "{first_err}");
    let owed = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT count(*) FROM otlp_backlog", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(owed(&db_c), 600, "the store names every undelivered span");
    let rotel = Rotel::start_on(http_port, grpc_port).expect("rotel");
    let second = run_child("child_backlog_run", &child_env("50"));
    let second_err = String::from_utf8_lossy(&second.stderr);
    assert!(
        second_err.contains("600 spans that an earlier run could not export"),
        "{second_err}"
    );
    assert!(second_err.contains("pending: 0"), "{second_err}");
    output.push_str(&rotel.stop());
    let n = assert_exactly_once("(c) two runs", &db_c, None, || output.clone());
    assert_eq!(n, 700);
    assert_eq!(owed(&db_c), 0, "nothing is owed any more");
}

/// One application run of `collector_outages_lose_and_duplicate_nothing` (c): the
/// environment's configuration, `LLM_TELEMETRY_TEST_SPANS` parent/child pairs, then exit.
#[test]
fn child_backlog_run() {
    if !is_child("child_backlog_run") {
        return;
    }
    let pairs: u64 = std::env::var("LLM_TELEMETRY_TEST_SPANS")
        .unwrap()
        .parse()
        .unwrap();
    let guard = TelemetryConfig::from_env().unwrap().init_local().unwrap();
    for n in 0..pairs {
        tracing::info_span!("run work", n).in_scope(|| {
            tracing::info_span!("run step", n).in_scope(|| {});
        });
    }
    assert!(guard.flush());
    let stats = guard.stats();
    drop(guard);
    let s = stats.sink("otel_trace").unwrap();
    eprintln!(
        "otel_trace before exit: emitted: {}, stored: {}, pending: {}",
        s.emitted, s.stored, s.pending
    );
}

/// Bad values are errors at init, naming the variable and what it accepts.
#[test]
fn bad_otel_values_fail_init() {
    let cases: [(&str, &str, &str); 9] = [
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "grcp",
            "grpc, http/protobuf or http/json",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "http",
            "grpc, http/protobuf or http/json",
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "localhost:4318",
            "an absolute http:// or https:// URL",
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "not a url",
            "an absolute http:// or https:// URL",
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key",
            "comma-separated key=value pairs",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "api key=v",
            "comma-separated key=value pairs",
        ),
        (
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "10s",
            "a whole number of milliseconds",
        ),
        (
            "OTEL_METRIC_EXPORT_INTERVAL",
            "0",
            "a positive whole number of milliseconds",
        ),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "=x",
            "comma-separated key=value pairs",
        ),
    ];
    for (variable, value, accepted) in cases {
        let vars = [
            ("TELEMETRY_SINKS", "otel".to_owned()),
            (variable, value.to_owned()),
        ];
        let err = TelemetryConfig::from_lookup(lookup(&vars))
            .and_then(TelemetryConfig::init_local)
            .expect_err(variable)
            .to_string();
        assert!(err.contains(&format!("{variable}={value:?}")), "{err}");
        assert!(err.contains(accepted), "{err}");
    }
    // The same checks for values set in code.
    let err = TelemetryConfig::builder()
        .sinks([SinkKind::OtelTrace])
        .otlp_endpoint("collector:4318")
        .build()
        .init_local()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("OTEL_EXPORTER_OTLP_ENDPOINT") && err.contains("absolute"),
        "{err}"
    );
}

/// Collects what a user's own `tracing-opentelemetry` pipeline exports.
#[derive(Clone, Debug, Default)]
struct UserExporter(Arc<Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>);

impl opentelemetry_sdk::trace::SpanExporter for UserExporter {
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        self.0.lock().unwrap().extend(batch);
        std::future::ready(Ok(()))
    }
}

/// A user who also runs their own `tracing-opentelemetry` layer on the same registry is
/// not broken by ours: both pipelines see every span; ours still exports the SQLite ids.
#[test]
fn coexists_with_a_users_tracing_opentelemetry_layer() {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::prelude::*;
    let Some(rotel) = Rotel::start() else { return };
    let (_dir, db) = temp_db();
    let config = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::OtelTrace])
        .sqlite_db_path(&db)
        .otlp_endpoint(rotel.http_endpoint())
        .build();
    let (ours, guard) = llm_telemetry::layer(&config).unwrap();
    let user_exporter = UserExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(user_exporter.clone())
        .build();
    let theirs = tracing_opentelemetry::layer().with_tracer(provider.tracer("user-app"));
    let subscriber = tracing_subscriber::registry().with(ours).with(theirs);
    tracing::subscriber::with_default(subscriber, run_agent_sessions);
    assert!(guard.flush());
    drop(guard);
    let _ = provider.shutdown();

    let rows = sqlite_spans(&db);
    let out = rotel.wait_for(WAIT, "every span", |o| {
        rows.iter().all(|r| o.contains(&r.span_id))
    });
    let spans = parse_spans(&out);
    assert_eq!(spans.len(), rows.len());
    for row in &rows {
        let s = spans.iter().find(|s| s.span_id == row.span_id).unwrap();
        assert_eq!(s.trace_id, row.trace_id);
        assert_eq!(s.parent_id, row.parent_span_id.clone().unwrap_or_default());
    }
    let theirs = user_exporter.0.lock().unwrap();
    let mut their_names: Vec<String> = theirs.iter().map(|s| s.name.to_string()).collect();
    let mut our_names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    their_names.sort();
    our_names.sort();
    assert_eq!(
        their_names, our_names,
        "the user's pipeline saw every span too"
    );
}
