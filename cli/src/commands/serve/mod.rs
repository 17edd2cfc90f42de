//! `llm-trace serve`: llama-stack's telemetry HTTP API over the trace store, on axum, and
//! the web viewer at `/` ([`ui`], unless `--no-ui`).
//!
//! One line on stdout says where it listens and which store it reads; Ctrl-C or SIGTERM
//! stops it after the requests in flight have finished. It listens on loopback unless
//! told otherwise, and then only with a token (or an explicit `--allow-unauthenticated`).
//! The routes are in [`api`], the access rules in [`access`], the shared state in
//! [`state`].

pub mod access;
pub mod api;
pub mod state;
pub mod ui;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::Router;
use llm_telemetry::http::RequestTelemetryLayer;
use llm_telemetry::{SinkKind, TelemetryConfig};

use crate::args::ServeArgs;
use crate::error::Error;
use crate::ui::Ui;
use access::Access;
use state::AppState;

/// The variable that gives the token when `--token` does not.
pub const TOKEN_VARIABLE: &str = "LLM_TRACE_TOKEN";

/// Run the server until Ctrl-C or SIGTERM.
pub fn run<W: Write>(db: &Path, args: ServeArgs, ui: &mut Ui<W>) -> Result<(), Error> {
    let token = match args.token.or_else(|| std::env::var(TOKEN_VARIABLE).ok()) {
        Some(t) if t.trim().is_empty() => {
            return Err(Error::Serve(format!(
                "the token (--token or {TOKEN_VARIABLE}) is empty; give a non-empty one or none"
            )))
        }
        other => other,
    };
    let addr = resolve(&args.addr)?;
    if !addr.ip().is_loopback() && token.is_none() && !args.allow_unauthenticated {
        return Err(Error::Serve(format!(
            "refusing to serve {addr} without a token: anyone who can reach it could read the \
             traces. Give --token TOKEN (or {TOKEN_VARIABLE}), or pass --allow-unauthenticated \
             to serve it without one"
        )));
    }
    let datasets_dir = args.datasets_dir.unwrap_or_else(|| {
        db.parent()
            .unwrap_or_else(|| Path::new("."))
            .join("datasets")
    });
    // The server measures itself (request metrics for `/metrics`) but traces nothing: its
    // own queries do not go into the store it serves.
    let telemetry = TelemetryConfig::builder()
        .sinks([SinkKind::Prometheus])
        .prometheus_addr("none")
        .service_name("llm-trace-serve")
        .build()
        .init()
        .map_err(|e| Error::Serve(format!("cannot start the request metrics: {e}")))?;
    let telemetry = Some(Arc::new(telemetry));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("llm-trace-serve")
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Serve(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener.local_addr()?;
        let access = Arc::new(Access::new(bound, token, &args.allow_hosts));
        let state = AppState::new(db.to_path_buf(), datasets_dir, telemetry);
        let app = app(state, access, !args.no_ui);
        writeln!(
            ui.out,
            "llm-trace serve: listening on http://{bound} (store: {})",
            db.display()
        )?;
        ui.out.flush()?;
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        Ok(())
    })
}

/// The whole application: the API (and, with `viewer`, the web viewer) behind the access
/// check, every request measured (those refused included).
pub fn app(state: AppState, access: Arc<Access>, viewer: bool) -> Router {
    let routes = api::routes();
    // The web viewer at `/` (`--no-ui`: none).
    let routes = if viewer {
        routes.merge(ui::routes())
    } else {
        routes
    };
    routes
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(access, access::check))
        .layer(
            RequestTelemetryLayer::new()
                .without_spans()
                .route_from(|parts| {
                    parts
                        .extensions
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str)
                }),
        )
}

fn resolve(addr: &str) -> Result<SocketAddr, Error> {
    let bad = |why: String| {
        Error::Serve(format!(
            "--addr {addr:?} is not an address to listen on ({why}); give HOST:PORT, e.g. 127.0.0.1:8321"
        ))
    };
    addr.to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("it resolves to nothing".into()))
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
