//! The `prometheus` sink, scraped over HTTP: names, labels and values, checked against
//! the SQLite store of the same run, and the llama-stack documentation's PromQL
//! (`sum(llama_stack_tokens_total)`, `sum by (model_id) (...)`, `sum by (provider_id)
//! (...)`, `rate(llama_stack_tokens_total[5m])`) evaluated over the scraped samples.

#[path = "../examples/agent/agent.rs"]
mod agent;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use llm_telemetry::{SinkKind, TelemetryConfig};

const TOKEN_BUCKETS: [&str; 15] = [
    "1.0",
    "4.0",
    "16.0",
    "64.0",
    "256.0",
    "1024.0",
    "4096.0",
    "16384.0",
    "65536.0",
    "262144.0",
    "1048576.0",
    "4194304.0",
    "16777216.0",
    "67108864.0",
    "+Inf",
];
const DURATION_BUCKETS: [&str; 15] = [
    "0.01", "0.02", "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12", "10.24",
    "20.48", "40.96", "81.92", "+Inf",
];

fn free_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

/// `GET path` over a plain TCP connection: (status line, headers, body).
fn get(addr: &str, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the scrape endpoint");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_owned(), body.to_owned())
}

/// One sample line: name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse(body: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut map = BTreeMap::new();
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
            map.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
        }
        out.push(Sample {
            name: name.to_owned(),
            labels: map,
            value: value.parse().expect("a number"),
        });
    }
    out
}

/// `sum by (label) (metric)`; with `label` empty, `sum(metric)`.
fn sum_by(samples: &[Sample], metric: &str, label: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for s in samples.iter().filter(|s| s.name == metric) {
        let key = s.labels.get(label).cloned().unwrap_or_default();
        *out.entry(key).or_insert(0.0) += s.value;
    }
    out
}

/// Token sums of the inference spans in SQLite: (by model, by provider).
fn sqlite_tokens(db: &Path, column: &str) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let sql = format!(
        "SELECT json_extract(attributes, '$.\"gen_ai.request.model\"'), \
                json_extract(attributes, '$.\"gen_ai.provider.name\"'), {column} \
         FROM (SELECT attributes, \
                 json_extract(attributes, '$.\"gen_ai.usage.input_tokens\"') AS input, \
                 json_extract(attributes, '$.\"gen_ai.usage.output_tokens\"') AS output \
               FROM spans WHERE category = 'inference')"
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })
        .unwrap();
    let (mut by_model, mut by_provider) = (BTreeMap::new(), BTreeMap::new());
    for row in rows {
        let (model, provider, n) = row.unwrap();
        *by_model.entry(model).or_insert(0.0) += n;
        *by_provider.entry(provider).or_insert(0.0) += n;
    }
    (by_model, by_provider)
}

fn inference(model: &str, provider: &str, input: u64, output: u64) {
    tracing::info_span!(
        "chat",
        otel.name = %format!("chat {model}"),
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = model,
        gen_ai.provider.name = provider,
        gen_ai.usage.input_tokens = input,
        gen_ai.usage.output_tokens = output,
        otel.status_code = "ok",
    )
    .in_scope(|| {});
}

#[test]
fn scrape_matches_sqlite_and_the_llama_stack_promql_works() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("traces.db");
    let addr = free_addr();
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::Prometheus])
        .sqlite_db_path(&db)
        .prometheus_addr(addr.clone())
        .build()
        .init_local()
        .expect("init");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
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
    inference("gpt-x", "openai", 100, 20);
    inference("gpt-x", "openai", 50, 5);
    inference("llama3.2:3b", "ollama", 7, 3);
    assert!(guard.flush());

    let (status, headers, body) = get(&addr, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{headers}"
    );
    assert!(body.trim_end().ends_with("# EOF"), "{body}");
    // Counters: `rate()` needs counter-typed `_total` series.
    for name in [
        "llama_stack_prompt_tokens",
        "llama_stack_completion_tokens",
        "llama_stack_tokens",
    ] {
        assert!(body.contains(&format!("# TYPE {name} counter")), "{body}");
    }
    let samples = parse(&body);

    // Values equal what SQLite recorded, per model and per provider.
    for (metric, column) in [
        ("llama_stack_prompt_tokens_total", "input"),
        ("llama_stack_completion_tokens_total", "output"),
        ("llama_stack_tokens_total", "input + output"),
    ] {
        let (by_model, by_provider) = sqlite_tokens(&db, column);
        // sum by (model_id) (llama_stack_tokens_total)
        assert_eq!(
            sum_by(&samples, metric, "model_id"),
            by_model,
            "{metric} by model_id"
        );
        // sum by (provider_id) (llama_stack_tokens_total)
        assert_eq!(
            sum_by(&samples, metric, "provider_id"),
            by_provider,
            "{metric} by provider_id"
        );
        // sum(llama_stack_tokens_total)
        let total: f64 = by_model.values().sum();
        assert_eq!(sum_by(&samples, metric, "")[""], total, "sum({metric})");
        for s in samples.iter().filter(|s| s.name == metric) {
            assert_eq!(
                s.labels.keys().collect::<Vec<_>>(),
                ["model_id", "provider_id"],
                "{s:?}"
            );
        }
    }
    let by_model = sum_by(&samples, "llama_stack_tokens_total", "model_id");
    assert_eq!(by_model["gpt-x"], 175.0);
    assert_eq!(by_model["llama3.2:3b"], 10.0);

    // The GenAI histograms, Prometheus-style names, semantic-convention buckets.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let inferences: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM spans WHERE category = 'inference'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let all_tokens: f64 = sum_by(&samples, "llama_stack_tokens_total", "")[""];
    let usage_buckets: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == "gen_ai_client_token_usage_bucket"
                && s.labels.get("gen_ai_request_model").map(String::as_str) == Some("gpt-x")
                && s.labels.get("gen_ai_token_type").map(String::as_str) == Some("input")
        })
        .collect();
    let les: Vec<&str> = usage_buckets
        .iter()
        .map(|s| s.labels["le"].as_str())
        .collect();
    assert_eq!(les, TOKEN_BUCKETS);
    let counts: Vec<f64> = usage_buckets.iter().map(|s| s.value).collect();
    // 50 input tokens fall in (16, 64], 100 in (64, 256]; Prometheus buckets are cumulative.
    assert_eq!(
        counts,
        [0., 0., 0., 1., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2.]
    );
    assert_eq!(usage_buckets[0].labels["gen_ai_operation_name"], "chat");
    assert_eq!(usage_buckets[0].labels["gen_ai_provider_name"], "openai");
    assert_eq!(
        sum_by(&samples, "gen_ai_client_token_usage_count", "")[""],
        2.0 * inferences as f64
    );
    assert_eq!(
        sum_by(&samples, "gen_ai_client_token_usage_sum", "")[""],
        all_tokens
    );
    assert!(
        body.contains("# TYPE gen_ai_client_token_usage histogram"),
        "{body}"
    );

    assert!(
        body.contains("# TYPE gen_ai_client_operation_duration_seconds histogram"),
        "{body}"
    );
    assert!(
        body.contains("# UNIT gen_ai_client_operation_duration_seconds seconds"),
        "{body}"
    );
    let duration_les: Vec<&str> = samples
        .iter()
        .filter(|s| {
            s.name == "gen_ai_client_operation_duration_seconds_bucket"
                && s.labels.get("gen_ai_request_model").map(String::as_str) == Some("local-rules-1")
        })
        .map(|s| s.labels["le"].as_str())
        .collect();
    assert_eq!(duration_les, DURATION_BUCKETS);
    assert_eq!(
        sum_by(
            &samples,
            "gen_ai_client_operation_duration_seconds_count",
            ""
        )[""],
        inferences as f64
    );

    // Counters only go up between scrapes (what `rate()` relies on).
    inference("gpt-x", "openai", 1, 1);
    assert!(guard.flush());
    let (_, _, later) = get(&addr, "/metrics");
    let later = sum_by(&parse(&later), "llama_stack_tokens_total", "model_id");
    assert_eq!(later["gpt-x"], by_model["gpt-x"] + 2.0);
    drop(guard);
}

#[test]
fn the_endpoint_answers_before_any_inference_and_other_paths_are_404() {
    let addr = free_addr();
    let vars = [
        ("TELEMETRY_SINKS", "prometheus".to_owned()),
        ("TELEMETRY_PROMETHEUS_ADDR", addr.clone()),
        ("TELEMETRY_METRIC_NAMESPACE", "acme".to_owned()),
    ];
    let config = TelemetryConfig::from_lookup(|k| {
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })
    .unwrap();
    let guard = config.init_local().unwrap();
    let (status, _, body) = get(&addr, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(parse(&body).is_empty(), "no samples yet: {body}");
    assert_eq!(body.trim(), "# EOF");

    inference("m", "p", 3, 4);
    assert!(guard.flush());
    let (_, _, body) = get(&addr, "/metrics");
    assert!(body.contains("# TYPE acme_tokens counter"), "{body}");
    assert!(
        body.contains("acme_tokens_total{model_id=\"m\",provider_id=\"p\"} 7"),
        "{body}"
    );
    assert!(
        body.contains("acme_prompt_tokens_total{model_id=\"m\",provider_id=\"p\"} 3"),
        "{body}"
    );

    let (status, _, _) = get(&addr, "/");
    assert!(status.contains("404"), "{status}");
    let (status, _, _) = get(&addr, "/metrics/extra");
    assert!(status.contains("404"), "{status}");

    // Shutdown releases the address.
    drop(guard);
    TcpListener::bind(&addr).expect("the scrape address is free again after shutdown");
}

#[test]
fn an_address_that_cannot_be_bound_fails_init_naming_the_variable() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = TelemetryConfig::builder()
        .sinks([SinkKind::Prometheus])
        .prometheus_addr(addr.clone())
        .build()
        .init_local()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TELEMETRY_PROMETHEUS_ADDR") && err.contains(&addr),
        "{err}"
    );
    assert!(err.contains("cannot serve /metrics there"), "{err}");

    let err =
        TelemetryConfig::from_lookup(|k| (k == "TELEMETRY_PROMETHEUS_ADDR").then(|| "9464".into()))
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("TELEMETRY_PROMETHEUS_ADDR=\"9464\"") && err.contains("host:port"),
        "{err}"
    );
}
