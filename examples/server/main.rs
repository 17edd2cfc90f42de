//! `cargo run --example server`: an axum agent service, observed with llm-telemetry. Each
//! request to `POST /v1/agents/{agent_id}/sessions/{session_id}/turn` (the body is the
//! user's message) runs an agent turn on the deterministic local model of
//! `examples/agent/`, with its inferences and tool calls; the tower middleware
//! ([`RequestTelemetryLayer`]) records the request metrics and opens the request's server
//! span above the turn, and answers with `x-trace-id`, the id to look up in the store.
//! `GET /metrics` serves the request and token metrics in the Prometheus text format.
//!
//! ```text
//! cargo run --example server                       # serves on 127.0.0.1:8080 (SERVER_ADDR)
//! curl -i -d 'What is the weather in Paris?' \
//!     http://127.0.0.1:8080/v1/agents/weather/sessions/s1/turn
//! curl http://127.0.0.1:8080/metrics
//! cargo run --example server -- --once             # self-test: a few requests, then exit
//! ```
//!
//! `--once` binds 127.0.0.1:0, sends itself the example's conversations, prints each
//! answer's `x-trace-id` and where the traces are stored, and exits.

#[path = "../agent/agent.rs"]
mod agent;

use std::net::SocketAddr;
use std::sync::Arc;

use agent::{Agent, SESSIONS};
use axum::extract::{MatchedPath, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use llm_telemetry::http::RequestTelemetryLayer;
use llm_telemetry::TelemetryGuard;

struct App {
    agent: Agent,
    telemetry: TelemetryGuard,
}

async fn turn(
    State(app): State<Arc<App>>,
    Path((agent_id, session_id)): Path<(String, String)>,
    input: String,
) -> Response {
    if agent_id != app.agent.name {
        let error = serde_json::json!({ "detail": format!("no agent {agent_id}") });
        return (StatusCode::NOT_FOUND, Json(error)).into_response();
    }
    match app.agent.turn(&session_id, &input).await {
        Ok(answer) => Json(serde_json::json!({ "answer": answer })).into_response(),
        Err(e) => {
            let error = serde_json::json!({ "detail": e.to_string() });
            (StatusCode::INTERNAL_SERVER_ERROR, Json(error)).into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    match app.telemetry.prometheus_text() {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "the prometheus sink is off\n").into_response(),
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/v1/agents/{agent_id}/sessions/{session_id}/turn",
            post(turn),
        )
        .route(
            "/v1/health",
            get(|| async { Json(serde_json::json!({ "status": "OK" })) }),
        )
        .route("/metrics", get(metrics))
        .with_state(app)
        // Added with `Router::layer`, the middleware sees the matched route template.
        .layer(RequestTelemetryLayer::new().route_from(|parts| {
            parts
                .extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
        }))
}

/// Unless the environment says otherwise, the prometheus sink is on and serves through
/// this server's own `/metrics` rather than a listener of its own
/// (`TELEMETRY_PROMETHEUS_ADDR=none`). Called before any thread starts.
fn default_telemetry_env() {
    if std::env::var_os("TELEMETRY_SINKS").is_none() {
        std::env::set_var("TELEMETRY_SINKS", "console,sqlite,prometheus");
    }
    if std::env::var_os("TELEMETRY_PROMETHEUS_ADDR").is_none() {
        std::env::set_var("TELEMETRY_PROMETHEUS_ADDR", "none");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    default_telemetry_env();
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let once = std::env::args().any(|a| a == "--once");
    let telemetry = llm_telemetry::init().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    });
    let store = telemetry.sqlite_path().map(|p| p.to_path_buf());
    let app = Arc::new(App {
        agent: Agent::new("weather", "local-rules-1"),
        telemetry,
    });

    let addr = if once {
        "127.0.0.1:0".to_owned()
    } else {
        std::env::var("SERVER_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into())
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let server = axum::serve(listener, router(app.clone()));
    if !once {
        println!("serving on http://{addr}");
        println!("  curl -i -d 'What is the weather in Paris?' http://{addr}/v1/agents/weather/sessions/s1/turn");
        println!("  curl http://{addr}/metrics");
        server.await?;
        return Ok(());
    }

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        server
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let trace_ids = self_test(addr).await?;
    let _ = stop.send(());
    serving.await??;

    // Everything the requests emitted is written before the store is pointed at (the guard
    // itself drops, flushing again, with the last `App`).
    app.telemetry.flush();
    match store {
        Some(path) => {
            let path = path.display();
            println!("\nTraces stored in {path}; look one up by its x-trace-id:");
            println!(
                "  cargo run -p llm-telemetry-cli -- --db {path} show {}",
                trace_ids[0]
            );
        }
        None => println!("\nThe sqlite sink is off (TELEMETRY_SINKS); nothing was stored."),
    }
    Ok(())
}

/// Send the example's conversations to the server at `addr`; the `x-trace-id` of each turn.
async fn self_test(addr: SocketAddr) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let client = reqwest::Client::new();
    let mut trace_ids = Vec::new();
    for (session, _user, inputs) in SESSIONS {
        for input in inputs.iter() {
            let url = format!("http://{addr}/v1/agents/weather/sessions/{session}/turn");
            let response = client.post(url).body(input.to_string()).send().await?;
            let status = response.status();
            let trace_id = response
                .headers()
                .get("x-trace-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = response.text().await?;
            println!(
                "[{session}] > {input}\n[{session}] < {status} {body}\nx-trace-id: {trace_id}"
            );
            trace_ids.push(trace_id);
        }
    }
    let missing = client
        .post(format!("http://{addr}/v1/agents/nobody/sessions/s/turn"))
        .send()
        .await?;
    println!("unknown agent: {}", missing.status());
    let metrics = client.get(format!("http://{addr}/metrics")).send().await?;
    let text = metrics.text().await?;
    println!("\nRequest metrics from /metrics:");
    let request_metric = |l: &&str| {
        l.starts_with("llama_stack_request") || l.starts_with("llama_stack_concurrent_requests")
    };
    for line in text.lines().filter(request_metric) {
        if !line.contains("_bucket") {
            println!("  {line}");
        }
    }
    Ok(trace_ids)
}
