//! `llm-trace serve`'s OTLP receiver against real senders: the OpenTelemetry Python SDK
//! over OTLP/HTTP and OTLP/gRPC (in a venv under `target/`), rotel forwarding to it, our
//! own `otel_trace` / `otel_metric` sinks (the example agent), and a plain HTTP client
//! sending JSON, gzip, garbage, too much, without its token and while the writer is full.
//! Each check reads what a user would: the store's rows, `llm-trace stats`, and
//! `query_metrics` over the llama-stack API.

mod support {
    pub mod python_venv;
    pub mod serve;
}
// It includes `run_command.rs`, as `python_venv` does: two copies of one small helper.
#[path = "../../tests/support/rotel.rs"]
#[allow(clippy::duplicate_mod)]
mod rotel;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};
use support::python_venv::otel_sdk_python;
use support::serve::{curl_otlp_span, Server};

const SENDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/otel_sender.py");

fn store(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("traces.db")
}

/// Poll `query` on the store until `done` holds (bounded), returning its last answer.
fn wait_for<T: std::fmt::Debug>(
    db: &Path,
    what: &str,
    query: impl Fn(&rusqlite::Connection) -> rusqlite::Result<T>,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    while Instant::now() < deadline {
        if let Ok(conn) = rusqlite::Connection::open(db) {
            if let Ok(v) = query(&conn) {
                if done(&v) {
                    return v;
                }
                last = Some(v);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not in the store within 20 s (last seen: {last:?})");
}

/// Span rows of one trace: span id -> (parent, name, category, status, status message,
/// attributes, service).
type SpanRows = BTreeMap<
    String,
    (
        Option<String>,
        String,
        String,
        String,
        Option<String>,
        Value,
    ),
>;

fn spans_of(db: &Path, trace: &str, expected: usize) -> SpanRows {
    wait_for(
        db,
        &format!("{expected} spans of trace {trace}"),
        |c| {
            let mut stmt = c.prepare(
                "SELECT span_id, parent_span_id, name, category, status, status_message, attributes \
                 FROM spans WHERE trace_id = ?1",
            )?;
            let rows = stmt.query_map([trace], |r| {
                let attrs: String = r.get(6)?;
                Ok((
                    r.get::<_, String>(0)?,
                    (
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        serde_json::from_str(&attrs).unwrap_or(Value::Null),
                    ),
                ))
            })?;
            rows.collect::<rusqlite::Result<SpanRows>>()
        },
        |rows| rows.len() >= expected,
    )
}

fn run_sender(endpoint: &str, protocol: &str, token: Option<&str>) -> Value {
    let mut cmd = Command::new(otel_sdk_python());
    cmd.arg(SENDER).arg(endpoint).arg(protocol);
    if let Some(t) = token {
        cmd.arg(t);
    }
    support::serve::clean_env(&mut cmd);
    let out = cmd.output().expect("run the Python sender");
    assert!(
        out.status.success(),
        "otel_sender.py {protocol} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("sender output {stdout:?}: {e}"))
}

/// What the Python SDK sent arrived: ids, parents, kinds of span, status, tokens in the
/// current GenAI names whichever convention the sender used, links, scope, events.
fn check_python_trace(db: &Path, sent: &Value) {
    let trace = sent["trace_id"].as_str().unwrap();
    let ids: BTreeMap<String, String> = serde_json::from_value(sent["spans"].clone()).unwrap();
    let rows = spans_of(db, trace, ids.len());
    assert_eq!(
        rows.keys().cloned().collect::<BTreeSet<_>>(),
        ids.values().cloned().collect::<BTreeSet<_>>(),
        "the stored span ids are the sent ones"
    );
    let turn = &ids["invoke_agent weather"];
    let by_name = |name: &str| &rows[&ids[name]];
    assert_eq!(rows[turn].0, None, "the turn is the root");
    assert_eq!(rows[turn].2, "agent_turn");
    for (name, category, input, output) in [
        ("chat gpt-4o", "inference", 12, 5),
        ("chat llama-3", "inference", 3, 2),
        ("ChatCompletion", "inference", 20, 7),
    ] {
        let (parent, stored_name, cat, _, _, attrs) = by_name(name);
        assert_eq!(parent.as_deref(), Some(turn.as_str()), "{name}'s parent");
        assert_eq!((stored_name.as_str(), cat.as_str()), (name, category));
        assert_eq!(attrs["gen_ai.usage.input_tokens"], json!(input), "{name}");
        assert_eq!(attrs["gen_ai.usage.output_tokens"], json!(output), "{name}");
        assert_eq!(attrs["otel.scope.name"], json!("py-agent.instrumentation"));
    }
    let (_, _, _, _, _, chat) = by_name("chat gpt-4o");
    assert_eq!(chat["temperature"], json!(0.25), "a float stays a float");
    assert_eq!(chat["stream"], json!(false), "a bool stays a bool");
    let links: Value = serde_json::from_str(chat["otel.links"].as_str().unwrap()).unwrap();
    assert_eq!(links[0]["span_id"], json!(turn), "the link is kept");
    assert_eq!(
        by_name("chat llama-3").5["gen_ai.provider.name"],
        json!("ollama")
    );
    assert_eq!(
        by_name("ChatCompletion").5["gen_ai.request.model"],
        json!("gpt-4o-mini")
    );
    let (_, _, cat, status, message, _) = by_name("execute_tool get_weather");
    assert_eq!(
        (cat.as_str(), status.as_str(), message.as_deref()),
        ("tool", "error", Some("city not found"))
    );
    let service: String = rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT service_name FROM traces WHERE trace_id = ?1",
            [trace],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        service, "py-agent",
        "the resource's service.name names the trace"
    );
    // The span event, the exception and the log inside the tool span are span logs; the log
    // outside any span is a free one.
    let tool = &ids["execute_tool get_weather"];
    let logs = wait_for(
        db,
        "the tool span's logs",
        |c| {
            let mut stmt = c.prepare(
                "SELECT severity, message FROM span_logs WHERE span_id = ?1 ORDER BY message",
            )?;
            let rows = stmt.query_map([tool], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<(String, String)>>>()
        },
        |l| l.len() >= 2,
    );
    assert_eq!(
        logs,
        [
            ("error".to_string(), "city not found".to_string()),
            (
                "warn".to_string(),
                "weather service answered 404".to_string()
            )
        ]
    );
}

fn query_metrics(server: &Server, metric: &str, body: Value) -> Value {
    let r = reqwest::blocking::Client::new()
        .post(server.url(&format!("/v1/telemetry/metrics/{metric}")))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "query_metrics {metric}");
    r.json().unwrap()
}

fn instant_sum(server: &Server, metric: &str, matchers: Value) -> Vec<(Value, f64)> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 600;
    let out = query_metrics(
        server,
        metric,
        json!({"start_time": since, "query_type": "instant", "label_matchers": matchers}),
    );
    out["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["labels"].clone(),
                s["values"][0]["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_python_sdk_over_http_and_grpc_lands_in_the_store_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let server = Server::start(&db, &[]);
    let over_http = run_sender(server.otlp_http.as_deref().unwrap(), "http", None);
    check_python_trace(&db, &over_http);
    let over_grpc = run_sender(server.otlp_grpc.as_deref().unwrap(), "grpc", None);
    check_python_trace(&db, &over_grpc);

    // Tokens of all three conventions count as inferences in `llm-trace stats`.
    let stats = support_run_json(&db, &["stats", "--json"]);
    let models = stats["tokens"]
        .as_array()
        .expect("stats --json has tokens by model");
    let tokens = |model: &str| {
        models
            .iter()
            .find(|m| m["model"] == model)
            .map(|m| (m["input_tokens"].clone(), m["output_tokens"].clone()))
    };
    assert_eq!(tokens("gpt-4o"), Some((json!(24), json!(10))), "{stats}");
    assert_eq!(tokens("llama-3"), Some((json!(6), json!(4))), "{stats}");
    assert_eq!(
        tokens("gpt-4o-mini"),
        Some((json!(40), json!(14))),
        "{stats}"
    );

    // Each run sent a cumulative counter at 3, then 5, then 5 again at shutdown: the store
    // holds increases, so two runs sum to 10, not 26.
    let chat = json!([{"name": "route", "value": "/chat"}]);
    let sums = wait_for(
        &db,
        "the counter's increases",
        |c| {
            c.query_row(
                "SELECT COALESCE(SUM(value), 0) FROM metrics WHERE name = 'app.requests'",
                [],
                |r| r.get::<_, f64>(0),
            )
        },
        |v| *v >= 10.0,
    );
    assert_eq!(sums, 10.0);
    let requests = instant_sum(&server, "app.requests", chat.clone());
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].1, 10.0);
    // The histogram: 3 observations per run summing 2.4; its buckets as `le` counters.
    let latency = instant_sum(&server, "app.latency", chat.clone());
    assert!((latency[0].1 - 4.8).abs() < 1e-9, "{latency:?}");
    let mut buckets: Vec<(String, f64)> = instant_sum(&server, "app.latency.bucket", chat)
        .into_iter()
        .map(|(labels, v)| {
            let le = labels
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["name"] == "le")
                .map(|l| l["value"].as_str().unwrap().to_owned())
                .unwrap();
            (le, v)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        buckets,
        [
            ("+Inf".to_string(), 6.0),
            ("0.25".to_string(), 2.0),
            ("1".to_string(), 4.0)
        ]
    );
    // The gauge is a level: its last value, not a sum.
    let depth = instant_sum(&server, "app.queue_depth", json!([]));
    assert_eq!(depth[0].1, 42.0, "{depth:?}");
    // The log outside any span is a free log of the store, twice (one per run).
    let free: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM span_logs WHERE trace_id IS NULL AND message = 'agent finished'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(free, 2);
    server.stop();
}

fn support_run_json(db: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_llm-trace"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        key_strindex: 0,
        value: Some(AnyValue { value: Some(value) }),
    }
}

/// An export of `n` spans of one trace, ids from `seed`.
fn export(seed: u8, n: usize) -> ExportTraceServiceRequest {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let spans = (0..n)
        .map(|i| Span {
            trace_id: vec![seed; 16],
            span_id: {
                let mut id = [seed; 8];
                id[6] = (i >> 8) as u8;
                id[7] = i as u8;
                id.to_vec()
            },
            name: format!("step {i}"),
            start_time_unix_nano: now,
            end_time_unix_nano: now + 1_000_000,
            attributes: vec![kv("i", any_value::Value::IntValue(i as i64))],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("plain-client".into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn count_spans(db: &Path, trace: &str) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM spans WHERE trace_id = ?1",
                [trace],
                |r| r.get(0),
            )
        })
        .unwrap_or(0)
}

fn post(url: &str, content_type: &str, encoding: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
    let mut req = reqwest::blocking::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    let r = req.send().unwrap();
    (r.status().as_u16(), r.bytes().unwrap().to_vec())
}

#[test]
fn json_gzip_and_bad_requests_from_a_plain_http_client() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let server = Server::start(&db, &[]);
    let traces = format!("{}/v1/traces", server.otlp_http.as_deref().unwrap());

    // OTLP/JSON, as curl would send it: hex ids, a string int64, enums as numbers.
    let body = curl_otlp_span();
    let (status, answer) = post(
        &traces,
        "application/json",
        None,
        body.to_string().into_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let answer: Value = serde_json::from_slice(&answer).expect("a JSON answer to JSON");
    assert!(answer.get("partialSuccess").is_none(), "{answer}");
    let rows = spans_of(&db, "5b8efff798038103d269b633813fc60c", 1);
    let (_, name, category, status, _, attrs) = &rows["eee19b7ec3c1b174"];
    assert_eq!(
        (name.as_str(), category.as_str(), status.as_str()),
        ("chat gpt-4o", "inference", "ok")
    );
    assert_eq!(attrs["gen_ai.usage.input_tokens"], json!(9));

    // Protobuf, gzip-compressed.
    let request = export(0x11, 3);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&request.encode_to_vec()).unwrap();
    let (status, _) = post(
        &traces,
        "application/x-protobuf",
        Some("gzip"),
        gz.finish().unwrap(),
    );
    assert_eq!(status, 200);
    wait_for(
        &db,
        "the gzip export",
        |_| Ok(count_spans(&db, &hex(&[0x11; 16]))),
        |n| *n == 3,
    );

    // A span with an all-zero trace id is rejected, the others stored: partial success.
    let mut request = export(0x22, 2);
    request.resource_spans[0].scope_spans[0].spans[1].trace_id = vec![0; 16];
    let (status, answer) = post(
        &traces,
        "application/json",
        None,
        serde_json::to_vec(&request).unwrap(),
    );
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    let rejected = &answer["partialSuccess"]["rejectedSpans"];
    assert!(rejected == &json!(1) || rejected == &json!("1"), "{answer}");
    assert!(
        answer["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("trace_id"),
        "{answer}"
    );
    wait_for(
        &db,
        "the accepted span",
        |_| Ok(count_spans(&db, &hex(&[0x22; 16]))),
        |n| *n == 1,
    );

    // Garbage is a 400 with a google.rpc.Status saying why, in the request's format.
    let (status, answer) = post(&traces, "application/x-protobuf", None, vec![0xff; 64]);
    assert_eq!(status, 400);
    let rpc = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
        &answer[..],
    );
    assert!(rpc.is_ok() || !answer.is_empty());
    let (status, answer) = post(
        &traces,
        "application/json",
        None,
        b"{\"resourceSpans\": 7}".to_vec(),
    );
    assert_eq!(status, 400);
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["code"], json!(3), "INVALID_ARGUMENT: {answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("JSON"),
        "{answer}"
    );
    let (status, _) = post(
        &traces,
        "application/json",
        Some("gzip"),
        b"not gzip".to_vec(),
    );
    assert_eq!(status, 400);
    // Another encoding or content type: 415, naming what is accepted.
    let (status, answer) = post(&traces, "text/plain", None, b"hello".to_vec());
    assert_eq!(status, 415);
    assert!(String::from_utf8_lossy(&answer).contains("application/x-protobuf"));
    let (status, _) = post(&traces, "application/json", Some("br"), b"{}".to_vec());
    assert_eq!(status, 415);
    // Larger than 20 MiB: 413, compressed or once decompressed.
    let (status, _) = post(
        &traces,
        "application/x-protobuf",
        None,
        vec![0; 21 * 1024 * 1024],
    );
    assert_eq!(status, 413);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&vec![0u8; 21 * 1024 * 1024]).unwrap();
    let (status, _) = post(
        &traces,
        "application/x-protobuf",
        Some("gzip"),
        gz.finish().unwrap(),
    );
    assert_eq!(status, 413);
    // The other signals' routes exist; an unknown one is a 404.
    let metrics = traces.replace("/v1/traces", "/v1/metrics");
    assert_eq!(
        post(&metrics, "application/json", None, b"{}".to_vec()).0,
        200
    );
    let logs = traces.replace("/v1/traces", "/v1/logs");
    assert_eq!(post(&logs, "application/json", None, b"{}".to_vec()).0, 200);
    let other = traces.replace("/v1/traces", "/v1/profiles");
    assert_eq!(
        post(&other, "application/json", None, b"{}".to_vec()).0,
        404
    );
    // Over gRPC, bytes that are not an export are INVALID_ARGUMENT (grpcio, from the SDK's
    // venv, sends them raw).
    let grpc = server
        .otlp_grpc
        .as_deref()
        .unwrap()
        .trim_start_matches("http://");
    let script = format!(
        "import grpc\n\
         call = grpc.insecure_channel('{grpc}').unary_unary(\n\
             '/opentelemetry.proto.collector.trace.v1.TraceService/Export')\n\
         for body in (b'\\xff\\xff\\xff', bytes(21 * 1024 * 1024)):\n\
         \x20   try:\n        call(body, timeout=30)\n        print('OK')\n\
         \x20   except grpc.RpcError as e:\n        print(e.code().name, e.details())\n"
    );
    let out = Command::new(otel_sdk_python())
        .args(["-c", &script])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let codes: Vec<&str> = said.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(
        codes,
        ["INVALID_ARGUMENT", "INVALID_ARGUMENT"],
        "garbage, then 21 MiB: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    server.stop();
}

#[test]
fn the_token_protects_the_receiver_on_both_transports() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let server = Server::start(&db, &["--token", "s3cret"]);
    let traces = format!("{}/v1/traces", server.otlp_http.as_deref().unwrap());
    let body = export(0x33, 1).encode_to_vec();
    let (status, _) = post(&traces, "application/x-protobuf", None, body.clone());
    assert_eq!(status, 401, "no token");
    let r = reqwest::blocking::Client::new()
        .post(&traces)
        .header("content-type", "application/x-protobuf")
        .bearer_auth("s3cret")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // The SDK's exporters send it as a header (OTEL_EXPORTER_OTLP_HEADERS does the same).
    let sent = run_sender(server.otlp_grpc.as_deref().unwrap(), "grpc", Some("s3cret"));
    check_python_trace(&db, &sent);
    server.stop();
}

#[test]
fn a_full_writer_answers_429_or_resource_exhausted_and_the_retry_is_stored_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let server = Server::start(&db, &["--ingest-queue", "4"]);
    let traces = format!("{}/v1/traces", server.otlp_http.as_deref().unwrap());
    let send = |seed: u8| {
        let r = reqwest::blocking::Client::new()
            .post(&traces)
            .header("content-type", "application/x-protobuf")
            .body(export(seed, 4).encode_to_vec())
            .send()
            .unwrap();
        let retry_after = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), retry_after)
    };
    // The first export opens the store's writer.
    assert_eq!(send(1).0, 200);
    wait_for(
        &db,
        "the first export",
        |_| Ok(count_spans(&db, &hex(&[1; 16]))),
        |n| *n == 4,
    );
    // Another process holds the store's write lock: the writer waits on it, its queue
    // fills, and the receiver refuses rather than drops.
    let locker = rusqlite::Connection::open(&db).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut accepted = vec![1u8];
    let mut refused = None;
    for seed in 2..20u8 {
        match send(seed) {
            (200, _) => accepted.push(seed),
            (429, retry_after) => {
                assert_eq!(retry_after.as_deref(), Some("1"), "a retry hint");
                refused = Some(seed);
                break;
            }
            other => panic!("export {seed}: {other:?}"),
        }
    }
    let refused = refused.expect("a writer queue of 4 items fills within 18 exports of 4 spans");
    assert!(
        accepted.len() <= 4,
        "at most the writer's batch and its queue: {accepted:?}"
    );
    locker.execute_batch("COMMIT").unwrap();
    // The sender retries, as the OTLP exporters do on 429, until it is taken.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match send(refused) {
            (200, _) => break,
            (429, _) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("the retry: {other:?}"),
        }
    }
    accepted.push(refused);
    for seed in &accepted {
        wait_for(
            &db,
            &format!("export {seed}"),
            |_| Ok(count_spans(&db, &hex(&[*seed; 16]))),
            |n| *n == 4,
        );
    }
    let total: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM spans", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        total,
        4 * accepted.len() as i64,
        "every accepted span once, the refused none twice"
    );

    // The same over gRPC (grpcio sends the encoded exports): RESOURCE_EXHAUSTED with a
    // RetryInfo trailer, which the OpenTelemetry exporters read, then the retry taken.
    let grpc = server
        .otlp_grpc
        .as_deref()
        .unwrap()
        .trim_start_matches("http://");
    let files: Vec<PathBuf> = (40..58u8)
        .map(|seed| {
            let path = dir.path().join(format!("export-{seed}.bin"));
            std::fs::write(&path, export(seed, 4).encode_to_vec()).unwrap();
            path
        })
        .collect();
    let script = |paths: &[PathBuf], until: &str| {
        let list: Vec<String> = paths
            .iter()
            .map(|p| format!("{:?}", p.display().to_string()))
            .collect();
        format!(
            "import grpc, time\n\
             call = grpc.insecure_channel('{grpc}').unary_unary(\n\
                 '/opentelemetry.proto.collector.trace.v1.TraceService/Export')\n\
             for path in [{}]:\n\
             \x20   for attempt in range(200):\n\
             \x20       try:\n\
             \x20           call(open(path, 'rb').read(), timeout=10)\n\
             \x20           print('OK', path)\n\
             \x20           break\n\
             \x20       except grpc.RpcError as e:\n\
             \x20           trailers = dict(e.trailing_metadata() or ())\n\
             \x20           print(e.code().name, path, 'google.rpc.retryinfo-bin' in trailers)\n\
             \x20           if '{until}' == 'refused':\n\
             \x20               raise SystemExit(0)\n\
             \x20           time.sleep(0.1)\n",
            list.join(", ")
        )
    };
    let python = |code: String| {
        let out = Command::new(otel_sdk_python())
            .args(["-c", &code])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let said = python(script(&files, "refused"));
    let last = said.lines().last().unwrap_or_default().to_owned();
    let refused_path = last.split(' ').nth(1).map(|p| p.to_owned());
    locker.execute_batch("COMMIT").unwrap();
    assert!(
        last.starts_with("RESOURCE_EXHAUSTED") && last.ends_with("True"),
        "{said}"
    );
    let refused_path = PathBuf::from(refused_path.unwrap());
    let sent_ok = said.lines().filter(|l| l.starts_with("OK")).count();
    let retried = python(script(std::slice::from_ref(&refused_path), "taken"));
    assert!(
        retried.lines().last().unwrap_or_default().starts_with("OK"),
        "{retried}"
    );
    let expected = total + 4 * (sent_ok as i64 + 1);
    wait_for(
        &db,
        "the gRPC exports",
        |c| c.query_row("SELECT COUNT(*) FROM spans", [], |r| r.get::<_, i64>(0)),
        |n| *n >= expected,
    );
    std::thread::sleep(Duration::from_millis(300));
    let after: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM spans", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, expected, "each gRPC export once: {said}{retried}");
    server.stop();
}

#[test]
fn rotel_forwards_to_the_receiver_and_our_own_sinks_export_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(&dir);
    let server = Server::start(&db, &[]);
    // A collector in front: the Python SDK sends to rotel, rotel forwards over gRPC.
    let Some(rotel) = rotel::Rotel::start_forwarding_to(server.otlp_grpc.as_deref().unwrap())
    else {
        return;
    };
    let sent = run_sender(&rotel.grpc_endpoint(), "grpc", None);
    check_python_trace(&db, &sent);
    drop(rotel);

    // Our own otel_trace and otel_metric sinks: the example agent writes its own SQLite
    // store and exports the same spans to the receiver.
    let own = dir.path().join("own.db");
    let mut cmd = Command::new(example_binary("agent"));
    support::serve::clean_env(&mut cmd);
    let out = cmd
        .env("TELEMETRY_SINKS", "sqlite,otel_trace,otel_metric")
        .env("TELEMETRY_SQLITE_DB_PATH", &own)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            server.otlp_http.as_deref().unwrap(),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "trace/span" -> (parent, name, status, input tokens, output tokens)
    type Row = (Option<String>, String, String, Option<i64>, Option<i64>);
    let read = |db: &Path| -> rusqlite::Result<BTreeMap<String, Row>> {
        let c = rusqlite::Connection::open(db)?;
        let mut stmt = c.prepare(
            "SELECT trace_id || '/' || span_id, parent_span_id, name, status, \
                    json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"'), \
                    json_extract(attributes, '$.\"gen_ai.usage.output_tokens\"') \
             FROM spans WHERE service_name != 'py-agent'",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
            ))
        })?;
        rows.collect()
    };
    let mine = read(&own).unwrap();
    assert!(mine.len() > 10, "the example agent traced: {}", mine.len());
    let received = wait_for(
        &db,
        "the example's spans",
        |_| read(&db),
        |r| r.len() >= mine.len(),
    );
    assert_eq!(
        received, mine,
        "ids, parents, names, status and tokens equal what was sent"
    );
    // And its metrics: the token counter's total equals the sum over its inference spans.
    let tokens: f64 = mine.values().filter_map(|v| v.3).sum::<i64>() as f64
        + mine.values().filter_map(|v| v.4).sum::<i64>() as f64;
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 600;
    let counted = wait_for(
        &db,
        "the example's token metrics",
        |_| {
            let out = query_metrics(
                &server,
                "llama_stack.tokens",
                json!({"start_time": since, "query_type": "instant"}),
            );
            Ok(out["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["values"][0]["value"].as_f64().unwrap())
                .sum::<f64>())
        },
        |v| *v >= tokens,
    );
    assert_eq!(counted, tokens);
    server.stop();
}

/// The root package's example binary (built by `cargo test --workspace`; else built here).
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = profile_dir.join("examples").join(name);
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "llm-telemetry-dev", "--example", name])
            .status()
            .expect("cargo build --example");
        assert!(status.success(), "building the example {name} failed");
    }
    bin
}
