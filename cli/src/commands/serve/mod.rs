//! `llm-trace serve`: llama-stack's telemetry HTTP API over the trace store, on axum, and
//! an OTLP receiver that writes into it, and the web viewer at `/` ([`ui`], unless
//! `--no-ui`).
//!
//! The first line on stdout says where the API listens and which store it reads; the
//! second, where OTLP is received (unless `--no-otlp`). Ctrl-C or SIGTERM stops all of it
//! after the requests in flight have finished. It listens on loopback unless told
//! otherwise, and then only with a token (or an explicit `--allow-unauthenticated`), which
//! the OTLP endpoints require too. The routes are in [`api`], the receiver in [`otlp`],
//! the access rules in [`access`], the shared state in [`state`].

pub mod access;
pub mod api;
pub mod otlp;
pub mod state;
pub mod ui;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::Router;
use llm_telemetry::http::RequestTelemetryLayer;
use llm_telemetry::store;
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
    let addr = resolve("--addr", &args.addr, "127.0.0.1:8321")?;
    let otlp_addrs = if args.no_otlp {
        None
    } else {
        Some((
            resolve("--otlp-http-addr", &args.otlp_http_addr, "127.0.0.1:4318")?,
            resolve("--otlp-grpc-addr", &args.otlp_grpc_addr, "127.0.0.1:4317")?,
        ))
    };
    let exposed = std::iter::once(addr)
        .chain(otlp_addrs.iter().flat_map(|(h, g)| [*h, *g]))
        .find(|a| !a.ip().is_loopback());
    if let Some(exposed) = exposed {
        if token.is_none() && !args.allow_unauthenticated {
            return Err(Error::Serve(format!(
                "refusing to serve {exposed} without a token: anyone who can reach it could \
                 read or write the traces. Give --token TOKEN (or {TOKEN_VARIABLE}), or pass \
                 --allow-unauthenticated to serve it without one"
            )));
        }
    }
    // Next to the store; a PostgreSQL store's, next to the default SQLite store.
    let datasets_dir = args.datasets_dir.unwrap_or_else(|| {
        let beside = if store::is_postgres_url(db) {
            store::default_db_path()
        } else {
            db.to_path_buf()
        };
        beside
            .parent()
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
        let listener = bind("--addr", addr).await?;
        let otlp_listeners = match otlp_addrs {
            Some((http, grpc)) => Some((
                bind("--otlp-http-addr", http).await?,
                bind("--otlp-grpc-addr", grpc).await?,
            )),
            None => None,
        };
        let bound = listener.local_addr()?;
        let access = Arc::new(Access::new(bound, token.clone(), &args.allow_hosts));
        let ingest_queue = usize::try_from(args.ingest_queue).unwrap_or(usize::MAX);
        let state = AppState::new(db.to_path_buf(), datasets_dir, ingest_queue, telemetry);
        let receiver = Arc::new(otlp::Receiver::new(state.clone()));
        let app = app(state, access, !args.no_ui);
        writeln!(
            ui.out,
            "llm-trace serve: listening on http://{bound} (store: {})",
            store::display_db(db)
        )?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let mut otlp_servers = tokio::task::JoinSet::new();
        if let Some((http, grpc)) = otlp_listeners {
            let (http_bound, grpc_bound) = (http.local_addr()?, grpc.local_addr()?);
            writeln!(
                ui.out,
                "llm-trace serve: receiving OTLP on http://{http_bound} (HTTP) and \
                 http://{grpc_bound} (gRPC)"
            )?;
            let access = Arc::new(Access::new(http_bound, token.clone(), &args.allow_hosts));
            let otlp_app = otlp::http::routes(receiver.clone())
                .layer(axum::middleware::from_fn_with_state(access, access::check));
            let stop = stopped();
            otlp_servers.spawn(async move {
                axum::serve(http, otlp_app)
                    .with_graceful_shutdown(stop)
                    .await
                    .map_err(|e| Error::Serve(format!("the OTLP/HTTP receiver failed: {e}")))
            });
            let stop = stopped();
            otlp_servers.spawn(async move {
                otlp::grpc::serve(grpc, receiver, token, stop)
                    .await
                    .map_err(|e| Error::Serve(format!("the OTLP/gRPC receiver failed: {e}")))
            });
        }
        ui.out.flush()?;
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped())
            .await?;
        while let Some(done) = otlp_servers.join_next().await {
            done.map_err(|e| Error::Serve(format!("an OTLP receiver stopped: {e}")))??;
        }
        Ok(())
    })
}

async fn bind(flag: &str, addr: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let hint = if flag.starts_with("--otlp") {
            " (another collector may hold it: give another address, or --no-otlp)"
        } else {
            ""
        };
        Error::Serve(format!("cannot listen on {addr} ({flag}): {e}{hint}"))
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

fn resolve(flag: &str, addr: &str, example: &str) -> Result<SocketAddr, Error> {
    let bad = |why: String| {
        Error::Serve(format!(
            "{flag} {addr:?} is not an address to listen on ({why}); give HOST:PORT, e.g. {example}"
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
