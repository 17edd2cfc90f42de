//! `llm-trace serve` over real HTTP: the llama-stack wire shapes and error envelopes, the
//! bugs of the original done right, the access rules (token, Host, non-loopback refusal),
//! the body limit, a clean SIGTERM, the OpenAPI description, and a property-based fuzz of
//! every route that must never see a 5xx.

#![cfg(unix)] // the server runs under a `sh` watchdog (support/serve.rs)

mod fixture;
mod support {
    pub mod serve;
}

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fixture::*;
use proptest::prelude::*;
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::serve::Server;

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn post(s: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    let r = client().post(s.url(path)).json(&body).send().unwrap();
    let status = r.status();
    (status, r.json().unwrap_or(Value::Null))
}

fn get(s: &Server, path: &str) -> (StatusCode, Value) {
    let r = client().get(s.url(path)).send().unwrap();
    let status = r.status();
    (status, r.json().unwrap_or(Value::Null))
}

/// The fixture plus one span whose status is unset (as foreign OTel spans are).
fn fixture_with_unset_span() -> Fixture {
    let fx = Fixture::new();
    let conn = rusqlite::Connection::open(&fx.path).unwrap();
    conn.execute(
        "INSERT INTO spans (span_id, trace_id, parent_span_id, name, start_time, end_time, \
         duration_ms, attributes, status, kind) SELECT 'a0000000000000ff', ?1, ?2, 'foreign', \
         start_time, end_time, 1.0, '{\"x\": 1}', 'unset', 'internal' FROM spans WHERE span_id = ?2",
        rusqlite::params![A, A_ROOT],
    )
    .unwrap();
    fx
}

#[test]
fn answers_in_llama_stack_shapes() {
    let fx = fixture_with_unset_span();
    let s = Server::start(&fx.path, &[]);

    // query_traces: the envelope, llama-stack's fields in order with nulls present, Z times.
    let (status, body) = post(&s, "/v1/telemetry/traces", json!({}));
    assert_eq!(status, 200);
    let traces = body["data"].as_array().unwrap();
    assert_eq!(traces.len(), 5);
    let open = traces.iter().find(|t| t["trace_id"] == D).unwrap();
    assert!(open.as_object().unwrap().contains_key("root_span_id"));
    assert_eq!(open["root_span_id"], Value::Null);
    // llama-stack's field order (serde_json's Map here sorts keys: look at the text).
    let text = client()
        .post(s.url("/v1/telemetry/traces"))
        .json(&json!({"limit": 1}))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(
        at("trace_id") < at("root_span_id")
            && at("root_span_id") < at("start_time")
            && at("start_time") < at("end_time"),
        "{text}"
    );
    for t in traces {
        let start = t["start_time"].as_str().unwrap();
        assert!(start.ends_with('Z') && start.contains('T'), "{start}");
    }
    // Empty body = defaults; limit/offset; order_by with '-'.
    let r = client().post(s.url("/v1/telemetry/traces")).send().unwrap();
    assert_eq!(r.status(), 200);
    let (_, body) = post(
        &s,
        "/v1/telemetry/traces",
        json!({"limit": 2, "offset": 1, "order_by": ["start_time"]}),
    );
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [B, E], "oldest first, skipping C");
    let (_, body) = post(
        &s,
        "/v1/telemetry/traces",
        json!({"order_by": ["-trace_id"], "limit": null}),
    );
    assert_eq!(body["data"][0]["trace_id"], D);
    // Filters: a trace matches when one span matches all conditions.
    let (_, body) = post(
        &s,
        "/v1/telemetry/traces",
        json!({"attribute_filters": [
        {"key": "gen_ai.usage.input_tokens", "op": "gt", "value": 50},
        {"key": "gen_ai.request.model", "op": "eq", "value": "llama3.2:3b"}]}),
    );
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["trace_id"] == A));

    // get_trace and get_span (bare, with attributes: the original always failed here).
    let (status, trace) = get(&s, &format!("/v1/telemetry/traces/{A}"));
    assert_eq!(
        (status, trace["root_span_id"].as_str()),
        (StatusCode::OK, Some(A_ROOT))
    );
    let (status, span) = get(&s, &format!("/v1/telemetry/traces/{A}/spans/{A_CHAT}"));
    assert_eq!(status, 200);
    assert_eq!(span["trace_id"], A);
    assert_eq!(span["attributes"]["gen_ai.request.model"], "llama3.2:3b");
    assert_eq!(span["attributes"]["gen_ai.usage.input_tokens"], 100);

    // get_span_tree: depth counted from 1, requested attributes present (null if absent),
    // an unset status does not fail the call.
    let (status, tree) = post(
        &s,
        &format!("/v1/telemetry/spans/{A_ROOT}/tree"),
        json!({"attributes_to_return": ["gen_ai.request.model", "missing"], "max_depth": 2}),
    );
    assert_eq!(status, 200, "{tree}");
    let tree = tree["data"].as_object().unwrap();
    assert_eq!(tree.len(), 4, "root, chat, tool, the unset span");
    assert_eq!(
        tree.keys().next().unwrap(),
        A_ROOT,
        "depth order: the root first"
    );
    assert_eq!(
        tree[A_CHAT]["attributes"],
        json!({"gen_ai.request.model": "llama3.2:3b", "missing": null})
    );
    assert_eq!(tree[A_ROOT]["status"], "ok");
    assert_eq!(tree["a0000000000000ff"]["status"], Value::Null);
    let (_, only_root) = post(
        &s,
        &format!("/v1/telemetry/spans/{A_ROOT}/tree"),
        json!({"max_depth": 1}),
    );
    assert_eq!(only_root["data"].as_object().unwrap().len(), 1);
    let (_, deep) = post(&s, &format!("/v1/telemetry/spans/{E_ROOT}/tree"), json!({}));
    assert_eq!(
        deep["data"].as_object().unwrap().len(),
        4,
        "the whole chain of E"
    );

    // query_spans: each span's own trace id (the original returned the root span id).
    let (status, spans) = post(
        &s,
        "/v1/telemetry/spans",
        json!({
        "attribute_filters": [{"key": "gen_ai.agent.name", "op": "eq", "value": "planner"}],
        "attributes_to_return": ["gen_ai.usage.input_tokens"]}),
    );
    assert_eq!(status, 200, "{spans}");
    let spans = spans["data"].as_array().unwrap();
    assert!(!spans.is_empty());
    for sp in spans {
        assert_eq!(sp["trace_id"].as_str().unwrap().len(), 32, "{sp}");
        assert_ne!(sp["trace_id"], sp["span_id"]);
        assert!(sp["attributes"]["gen_ai.usage.input_tokens"].is_u64());
    }
    assert!(spans
        .iter()
        .any(|sp| sp["span_id"] == A_CHAT && sp["trace_id"] == A));
}

#[test]
fn errors_are_json_4xx_in_llama_stacks_envelopes() {
    let fx = Fixture::new();
    let s = Server::start(&fx.path, &[]);
    let (status, body) = get(&s, "/v1/telemetry/traces/doesnotexist");
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"detail": "Invalid value: Trace doesnotexist not found"})
    );
    // Ids with '/' and percent-encoding reach the handler (400 not found, not 404).
    for path in [
        "/v1/telemetry/traces/a/b%20c",
        "/v1/telemetry/traces/a%2Fb",
        "/v1alpha/telemetry/traces/x/y",
    ] {
        let (status, body) = get(&s, path);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("not found"),
            "{body}"
        );
    }
    let (status, body) = post(&s, "/v1/telemetry/spans/ffffffffffffffff/tree", json!({}));
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Invalid value: Span ffffffffffffffff not found"})
        )
    );
    // A malformed body names the field.
    let (status, body) = post(&s, "/v1/telemetry/traces", json!({"limit": "x"}));
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["detail"]["errors"][0]["loc"],
        json!(["body", "limit"])
    );
    let (status, body) = post(
        &s,
        "/v1/telemetry/spans",
        json!({"attributes_to_return": []}),
    );
    assert_eq!(status, 400);
    let err = &body["error"]["detail"]["errors"][0];
    assert_eq!(
        (err["loc"].clone(), err["type"].clone()),
        (json!(["body", "attribute_filters"]), json!("missing"))
    );
    let (status, body) = post(
        &s,
        "/v1/telemetry/traces",
        json!({"attribute_filters": [{"key": "k", "op": "like", "value": 1}]}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["detail"]["errors"][0]["loc"],
        json!(["body", "attribute_filters", 0, "op"])
    );
    // order_by: only trace columns, and the error says which.
    let (status, body) = post(&s, "/v1/telemetry/traces", json!({"order_by": ["nope"]}));
    assert_eq!(status, 400);
    let msg = body["error"]["detail"]["errors"][0]["msg"]
        .as_str()
        .unwrap();
    for column in [
        "trace_id",
        "service_name",
        "root_span_id",
        "start_time",
        "end_time",
    ] {
        assert!(msg.contains(column), "{msg}");
    }
    // A filter value that is not a scalar, a SQL-looking key: 400, nothing built from them.
    let (status, _) = post(
        &s,
        "/v1/telemetry/traces",
        json!({"attribute_filters": [{"key": "k", "op": "eq", "value": [1]}]}),
    );
    assert_eq!(status, 400);
    let (status, _) = post(
        &s,
        "/v1/telemetry/traces",
        json!({"attribute_filters": [{"key": "x') OR 1=1 --", "op": "eq", "value": 1}]}),
    );
    assert_eq!(status, 400);
    // Unknown routes and methods: JSON too.
    assert_eq!(
        get(&s, "/v1/nothing"),
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );
    assert_eq!(
        get(&s, "/v1/telemetry/spans").0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    // A body over the limit.
    let big = json!({"attribute_filters": [], "attributes_to_return": ["x".repeat(2 << 20)]});
    let (status, body) = post(&s, "/v1/telemetry/spans", big);
    assert_eq!(status, 413, "{body}");
    // The client's version header is ignored.
    let r = client()
        .post(s.url("/v1/telemetry/traces"))
        .header("X-LlamaStack-Client-Version", "0.3.5")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn query_metrics_honours_matchers_and_answers_for_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_inferences(&db);
    let s = Server::start(&db, &[]);
    let hour_ago = now() - 3600;
    let q = |name: &str, body: Value| {
        let mut body = body;
        body["start_time"] = json!(hour_ago);
        let (status, r) = post(&s, &format!("/v1/telemetry/metrics/{name}"), body);
        assert_eq!(status, 200, "{name}: {r}");
        r["data"].as_array().unwrap().clone()
    };
    let sum = |series: &[Value]| -> f64 {
        series
            .iter()
            .flat_map(|s| s["values"].as_array().unwrap().iter())
            .map(|p| p["value"].as_f64().unwrap())
            .sum()
    };
    // One series per label set: two models.
    let prompt = q("prompt_tokens", json!({"query_type": "instant"}));
    assert_eq!(prompt.len(), 2, "{prompt:?}");
    assert_eq!(sum(&prompt), 3.0 * 10.0 + 2.0 * 100.0);
    assert!(prompt
        .iter()
        .all(|s| s["values"][0]["unit"] == "tokens" && s["values"][0]["timestamp"].is_i64()));
    let only = |op: &str, value: &str| {
        q(
            "prompt_tokens",
            json!({"query_type": "instant",
        "label_matchers": [{"name": "model_id", "operator": op, "value": value}]}),
        )
    };
    assert_eq!(sum(&only("=", "small")), 30.0);
    assert_eq!(sum(&only("!=", "small")), 200.0);
    assert_eq!(sum(&only("=~", "sm.*")), 30.0);
    assert_eq!(sum(&only("!~", "sm.*")), 200.0);
    assert_eq!(sum(&only("=", "DOES-NOT-MATCH")), 0.0);
    let hourly = q("completion_tokens", json!({"granularity": "1h"}));
    assert_eq!(sum(&hourly), 3.0 * 5.0 + 2.0 * 50.0);
    for p in hourly.iter().flat_map(|s| s["values"].as_array().unwrap()) {
        assert_eq!(
            p["timestamp"].as_i64().unwrap() % 3600,
            0,
            "buckets start at the hour: {p}"
        );
    }
    // A range query without granularity: one point per MetricEvent.
    let each = q("prompt_tokens", json!({}));
    let points: usize = each
        .iter()
        .map(|s| s["values"].as_array().unwrap().len())
        .sum();
    assert_eq!(points, 5, "{each:?}");
    assert_eq!(
        sum(&q("total_tokens", json!({}))),
        30.0 + 200.0 + 15.0 + 100.0
    );
    // The counters by OTel and Prometheus name agree with the events.
    for name in [
        "llama_stack.prompt_tokens",
        "llama_stack_prompt_tokens_total",
    ] {
        assert_eq!(
            sum(&q(name, json!({"query_type": "instant"}))),
            230.0,
            "{name}"
        );
    }
    assert!(q("nonexistent", json!({})).is_empty());
    let (status, body) = post(
        &s,
        "/v1/telemetry/metrics/prompt_tokens",
        json!({"start_time": hour_ago,
        "label_matchers": [{"name": "model_id", "operator": "~", "value": "x"}]}),
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = post(
        &s,
        "/v1/telemetry/metrics/prompt_tokens",
        json!({"start_time": hour_ago, "granularity": "soon"}),
    );
    assert_eq!(status, 400);
    let (status, _) = post(&s, "/v1/telemetry/metrics/prompt_tokens", json!({}));
    assert_eq!(status, 400, "start_time is required");
}

#[test]
fn log_event_stores_all_three_types_and_datasets_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let s = Server::start(&db, &[]); // no store yet: reads are empty, the first event creates it
    assert_eq!(
        post(&s, "/v1/telemetry/traces", json!({})).1,
        json!({"data": []})
    );
    let (t, sp) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let ev = |event: Value| {
        post(
            &s,
            "/v1/telemetry/events",
            json!({"event": event, "ttl_seconds": 60}),
        )
    };
    let base =
        |ty: &str, ts: &str| json!({"type": ty, "trace_id": t, "span_id": sp, "timestamp": ts});
    let mut start = base("structured_log", "2026-01-01T12:00:00+00:00");
    start["payload"] = json!({"type": "span_start", "name": "evaluate"});
    start["attributes"] = json!({"session_id": "s-1"});
    assert_eq!(ev(start), (StatusCode::OK, Value::Null));
    let mut log = base("unstructured_log", "2026-01-01T12:00:00.250");
    log["message"] = json!("scoring 3 answers");
    log["severity"] = json!("warn");
    assert_eq!(ev(log).0, 200);
    let mut metric = base("metric", "2026-01-01T12:00:00.5Z");
    metric["metric"] = json!("eval_score");
    metric["value"] = json!(0.75);
    metric["unit"] = json!("ratio");
    metric["attributes"] = json!({"model_id": "judge"});
    assert_eq!(ev(metric).0, 200);
    let mut end = base("structured_log", "2026-01-01T12:00:01Z");
    end["payload"] = json!({"type": "span_end", "status": "error"});
    assert_eq!(ev(end).0, 200);
    // Bad events: 400 naming the field.
    let mut bad = base("unstructured_log", "2026-01-01T12:00:00Z");
    bad["trace_id"] = json!("t1");
    bad["message"] = json!("m");
    bad["severity"] = json!("info");
    let (status, body) = ev(bad);
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["detail"]["errors"][0]["loc"],
        json!(["body", "event", "trace_id"])
    );

    // The span is stored (the writer is asynchronous: bounded wait).
    let mut trace = Value::Null;
    for _ in 0..100 {
        let (status, body) = get(&s, &format!("/v1/telemetry/traces/{t}"));
        if status == 200 {
            trace = body;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(trace["root_span_id"], sp, "{trace}");
    assert_eq!(trace["start_time"], "2026-01-01T12:00:00Z");
    assert_eq!(trace["status"], "error");
    let (_, tree) = post(&s, &format!("/v1/telemetry/spans/{sp}/tree"), json!({}));
    assert_eq!(tree["data"][sp]["name"], "evaluate");
    assert_eq!(tree["data"][sp]["attributes"]["session_id"], "s-1");
    let jan1 = 1_767_268_800; // 2026-01-01T12:00:00Z
    let (_, m) = post(
        &s,
        "/v1/telemetry/metrics/eval_score",
        json!({"start_time": jan1 - 60, "end_time": jan1 + 60}),
    );
    assert_eq!(m["data"][0]["values"][0]["value"], 0.75, "{m}");
    assert_eq!(
        m["data"][0]["labels"],
        json!([{"name": "model_id", "value": "judge"}])
    );
    let shown = Command::new(env!("CARGO_BIN_EXE_llm-trace"))
        .args(["show", t, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("evaluate")
            && shown.contains("[warn] scoring 3 answers")
            && shown.contains("eval_score = 0.75 ratio"),
        "{shown}"
    );

    // save_spans_to_dataset: JSON Lines in datasets/ next to the store.
    let (status, body) = post(
        &s,
        "/v1/telemetry/spans/export",
        json!({"attribute_filters": [],
        "attributes_to_save": ["session_id"], "dataset_id": "evals-1"}),
    );
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    let rows = std::fs::read_to_string(dir.path().join("datasets/evals-1.jsonl")).unwrap();
    let row: Value = serde_json::from_str(rows.lines().next().unwrap()).unwrap();
    assert_eq!(row["trace_id"], t);
    assert_eq!(row["session_id"], "s-1");
    assert_eq!(rows.lines().count(), 1);
    // Only spans that have every attribute to save are written (as llama-stack did).
    let (status, _) = post(
        &s,
        "/v1/telemetry/spans/export",
        json!({"attribute_filters": [],
        "attributes_to_save": ["session_id", "absent"], "dataset_id": "evals-2"}),
    );
    assert_eq!(status, 200);
    let rows =
        std::fs::read_to_string(dir.path().join("datasets/evals-2.jsonl")).unwrap_or_default();
    assert_eq!(rows.lines().count(), 0, "{rows}");
    for bad in ["../escape", ".hidden", "a/b", ""] {
        let (status, _) = post(
            &s,
            "/v1/telemetry/spans/export",
            json!({"attribute_filters": [],
            "attributes_to_save": [], "dataset_id": bad}),
        );
        assert_eq!(status, 400, "{bad:?}");
    }
}

#[test]
fn token_host_and_public_address_rules() {
    let fx = Fixture::new();
    let s = Server::start(&fx.path, &["--token", "s3cret"]);
    for path in ["/v1/health", "/openapi.json", "/v1/telemetry/traces/x"] {
        let r = client().get(s.url(path)).send().unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let r = client()
            .get(s.url(path))
            .bearer_auth("wrong")
            .send()
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let r = client()
            .get(s.url(path))
            .bearer_auth("s3cret")
            .send()
            .unwrap();
        assert!(
            r.status() == 200 || r.status() == 400,
            "{path}: {}",
            r.status()
        );
    }
    // DNS rebinding: a Host that is not this server is refused.
    let r = client()
        .get(s.url("/v1/health"))
        .header("Host", "attacker.example:8321")
        .bearer_auth("s3cret")
        .send()
        .unwrap();
    assert_eq!(r.status(), 421);
    let r = client()
        .get(s.url("/v1/health").replace("127.0.0.1", "localhost"))
        .bearer_auth("s3cret")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(s);
    // A non-loopback address needs a token or an explicit opt-out.
    let out = Command::new(env!("CARGO_BIN_EXE_llm-trace"))
        .args(["serve", "--addr", "0.0.0.0:0", "--db"])
        .arg(&fx.path)
        .env_remove("LLM_TRACE_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--token") && err.contains("--allow-unauthenticated"),
        "{err}"
    );
}

#[test]
fn sigterm_finishes_and_exits_zero() {
    let fx = Fixture::new();
    let s = Server::start(&fx.path, &[]);
    assert_eq!(
        get(&s, "/v1/health"),
        (StatusCode::OK, json!({"status": "OK"}))
    );
    // SIGTERM (sent by the watchdog `Server::stop` closes), then a bounded wait.
    assert!(s.stop().success());
}

#[test]
fn openapi_describes_every_route() {
    let fx = Fixture::new();
    let s = Server::start(&fx.path, &[]);
    let (status, doc) = get(&s, "/openapi.json");
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method, op) in [
        ("/v1/telemetry/traces", "post", "query_traces"),
        ("/v1/telemetry/traces/{trace_id}", "get", "get_trace"),
        (
            "/v1/telemetry/traces/{trace_id}/spans/{span_id}",
            "get",
            "get_span",
        ),
        (
            "/v1/telemetry/spans/{span_id}/tree",
            "post",
            "get_span_tree",
        ),
        ("/v1/telemetry/spans", "post", "query_spans"),
        (
            "/v1/telemetry/spans/export",
            "post",
            "save_spans_to_dataset",
        ),
        ("/v1/telemetry/events", "post", "log_event"),
        (
            "/v1/telemetry/metrics/{metric_name}",
            "post",
            "query_metrics",
        ),
        ("/v1/health", "get", "health"),
    ] {
        assert_eq!(paths[path][method]["operationId"], op, "{path}");
    }
}

/// Every route, with ids and bodies made up by proptest: never a 5xx, always JSON.
#[test]
fn fuzzed_requests_never_get_a_5xx() {
    let fx = Fixture::new();
    let s = Server::start(&fx.path, &[]);
    let http = client();
    let config = ProptestConfig {
        cases: 600,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(req in request())| {
        let (method, path, body) = req;
        let url = s.url(&path);
        let builder = if method == "GET" { http.get(&url) } else { http.post(&url) };
        let builder = match &body {
            Some(b) => builder.header("content-type", "application/json").body(b.clone()),
            None => builder,
        };
        let r = builder.send().unwrap();
        let status = r.status();
        let text = r.text().unwrap();
        prop_assert!(status.as_u16() < 500, "{method} {path} {body:?} -> {status} {text}");
        prop_assert!(text.is_empty() || serde_json::from_str::<Value>(&text).is_ok(), "{method} {path} -> {text}");
    });
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z_.]{0,12}".prop_map(Value::from),
        Just(json!("x') OR 1=1 --")),
        Just(json!("-start_time")),
        Just(json!("eq")),
        Just(json!("=~")),
        Just(json!("(")),
        Just(json!(A)),
        Just(json!(A_ROOT)),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(field_name(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("attribute_filters".to_string()),
        Just("limit".to_string()),
        Just("offset".to_string()),
        Just("order_by".to_string()),
        Just("attributes_to_return".to_string()),
        Just("max_depth".to_string()),
        Just("key".to_string()),
        Just("op".to_string()),
        Just("value".to_string()),
        Just("event".to_string()),
        Just("type".to_string()),
        Just("trace_id".to_string()),
        Just("span_id".to_string()),
        Just("timestamp".to_string()),
        Just("start_time".to_string()),
        Just("end_time".to_string()),
        Just("granularity".to_string()),
        Just("query_type".to_string()),
        Just("label_matchers".to_string()),
        Just("name".to_string()),
        Just("operator".to_string()),
        Just("dataset_id".to_string()),
        Just("attributes_to_save".to_string()),
        Just("payload".to_string()),
        Just("metric".to_string()),
        "[a-z]{1,6}",
    ]
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(A.to_string()),
        Just(A_ROOT.to_string()),
        Just("a/b".to_string()),
        Just("%2F..%2F".to_string()),
        Just("%FF%FE".to_string()),
        Just("..".to_string()),
        "[0-9a-f]{16,32}",
        "[a-zA-Z0-9%._~-]{1,20}",
    ]
}

fn request() -> impl Strategy<Value = (&'static str, String, Option<String>)> {
    let prefix = prop_oneof![Just("/v1/telemetry"), Just("/v1alpha/telemetry")];
    let route = (prefix, id(), id()).prop_flat_map(|(p, a, b)| {
        prop_oneof![
            Just(("POST", format!("{p}/traces"))),
            Just(("GET", format!("{p}/traces/{a}"))),
            Just(("GET", format!("{p}/traces/{a}/spans/{b}"))),
            Just(("POST", format!("{p}/spans/{a}/tree"))),
            Just(("POST", format!("{p}/spans"))),
            Just(("POST", format!("{p}/spans/export"))),
            Just(("POST", format!("{p}/events"))),
            Just(("POST", format!("{p}/metrics/{a}"))),
            Just(("GET", format!("{p}/spans/{a}"))),
            Just(("POST", "/v1/health".to_string())),
        ]
    });
    let body = prop_oneof![
        1 => Just(None),
        1 => "\\PC{0,16}".prop_map(Some),
        6 => json_value().prop_map(|v| Some(v.to_string())),
    ];
    (route, body).prop_map(|((m, p), b)| (m, p, b))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Three inferences of model `small` (10 in, 5 out) and two of `large` (100 in, 50 out),
/// through the real runtime and sqlite sink.
fn write_inferences(db: &Path) {
    use llm_telemetry::{instrument_inference, SinkKind, TelemetryConfig, Usage};
    #[instrument_inference(model = model, provider = "test")]
    fn call(model: &str, input: u64, output: u64) -> Usage {
        Usage::new(input, output)
    }
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(db)
        .build()
        .init_local()
        .unwrap();
    for _ in 0..3 {
        call("small", 10, 5);
    }
    for _ in 0..2 {
        call("large", 100, 50);
    }
    drop(guard);
}

#[test]
fn metrics_count_the_servers_own_requests() {
    let fx = Fixture::new();
    let s = Server::start(&fx.path, &[]);
    for _ in 0..7 {
        assert_eq!(post(&s, "/v1/telemetry/traces", json!({})).0, 200);
    }
    for _ in 0..2 {
        assert_eq!(get(&s, "/v1/telemetry/traces/nope").0, 400);
    }
    assert_eq!(get(&s, "/openapi.json").0, 200); // not measured
    let text = client()
        .get(s.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let value = |series: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    assert_eq!(
        value("llama_stack_requests_total{api=\"telemetry\",status=\"200\"}"),
        Some(7.0),
        "{text}"
    );
    assert_eq!(
        value("llama_stack_requests_total{api=\"telemetry\",status=\"400\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value("llama_stack_request_duration_seconds_count{api=\"telemetry\",status=\"200\"}"),
        Some(7.0)
    );
    assert_eq!(
        value("llama_stack_concurrent_requests{api=\"telemetry\"}"),
        Some(0.0)
    );
    assert!(!text.contains("openapi"), "{text}");
    // The server traces nothing into the store it serves.
    let conn = rusqlite::Connection::open(&fx.path).unwrap();
    let spans: i64 = conn
        .query_row(
            "SELECT count(*) FROM spans WHERE name LIKE '%/v1/%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(spans, 0);
}
