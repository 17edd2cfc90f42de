//! [`AppState`]: what every handler shares — the store's readers, its writer for
//! `log_event` and the OTLP receiver, the datasets directory and the server's own
//! telemetry — and [`AppState::read`], which runs a query on a blocking thread with a
//! pooled read handle.
//!
//! A [`TraceStore`] holds a SQLite connection, which is not `Sync`: handles are pooled
//! (opened on demand, at most [`MAX_IDLE`] kept) and each query has one to itself, so
//! queries run in parallel on the blocking pool without a global lock. A store that does
//! not exist yet reads as empty, and is looked for again on the next request.
//!
//! The store may be a PostgreSQL database (`--db postgres://...`): each pooled handle is
//! then a connection, whose synchronous client only ever runs on the blocking pool
//! ([`AppState::read`]), never on a tokio worker; one without the tables yet reads as
//! empty too.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llm_telemetry::ingest::StoreIngest;
use llm_telemetry::store::{self, StoreError, TraceStore};
use llm_telemetry::TelemetryGuard;

use super::api::error::ApiError;

/// Read handles kept open between requests.
const MAX_IDLE: usize = 8;

/// The server's shared state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: PathBuf,
    /// `db` for people: a PostgreSQL URL's password masked.
    shown: String,
    datasets_dir: PathBuf,
    idle: Mutex<Vec<TraceStore>>,
    /// Opened on first use; a failed open is tried again by the next request.
    ingest: Mutex<Option<Arc<StoreIngest>>>,
    ingest_queue: usize,
    telemetry: Option<Arc<TelemetryGuard>>,
}

impl AppState {
    /// State over the store at `db`, writing data sets into `datasets_dir`, received
    /// telemetry through a writer queue of `ingest_queue` items; `telemetry` is the
    /// server's own (its request metrics), if it measures itself.
    pub fn new(
        db: PathBuf,
        datasets_dir: PathBuf,
        ingest_queue: usize,
        telemetry: Option<Arc<TelemetryGuard>>,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                shown: store::display_db(&db),
                db,
                datasets_dir,
                idle: Mutex::new(Vec::new()),
                ingest: Mutex::new(None),
                ingest_queue: ingest_queue.max(1),
                telemetry,
            }),
        }
    }

    /// The store's path (or PostgreSQL URL).
    pub fn db(&self) -> &Path {
        &self.inner.db
    }

    /// The store's path, or its PostgreSQL URL with the password masked: what pages and
    /// messages show.
    pub fn db_shown(&self) -> &str {
        &self.inner.shown
    }

    /// Where `save_spans_to_dataset` writes.
    pub fn datasets_dir(&self) -> &Path {
        &self.inner.datasets_dir
    }

    /// The server's own telemetry (request metrics), if it measures itself.
    pub fn telemetry(&self) -> Option<&Arc<TelemetryGuard>> {
        self.inner.telemetry.as_ref()
    }

    /// Run `query` on a read handle, on a blocking thread. With no store yet, `query`
    /// gets `None`.
    pub async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(Option<&TraceStore>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = match state.take() {
                Ok(store) => Some(store),
                Err(StoreError::NotFound { .. }) => None,
                // A PostgreSQL database no writer has created the tables in yet.
                Err(StoreError::NotAStore { .. }) if store::is_postgres_url(state.db()) => None,
                Err(e) => return Err(ApiError::from(e)),
            };
            let out = query(store.as_ref());
            if let Some(store) = store {
                state.give_back(store);
            }
            out
        })
        .await
        .map_err(|e| ApiError::Store(format!("the query failed: {e}")))?
    }

    /// The writer of `log_event` and the OTLP receiver, opened (creating the store) on
    /// first use; when that fails (a store locked or unreadable for now), the next call
    /// tries again. Opening blocks: call it from a blocking thread until it has worked.
    pub fn ingest(&self) -> Result<Arc<StoreIngest>, ApiError> {
        let mut ingest = self.inner.ingest.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = ingest.as_ref() {
            return Ok(open.clone());
        }
        let opened = StoreIngest::open_with_queue(
            &self.inner.db,
            "llm-trace-serve",
            self.inner.ingest_queue,
        )
        .map_err(|e| ApiError::Store(format!("cannot write to the store: {e}")))?;
        Ok(ingest.insert(Arc::new(opened)).clone())
    }

    fn take(&self) -> Result<TraceStore, StoreError> {
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        match idle {
            Some(store) => Ok(store),
            None => TraceStore::open(&self.inner.db),
        }
    }

    /// Keep `store` for the next request, unless it lost its connection (a PostgreSQL
    /// server that restarted): then the next request opens a new one.
    fn give_back(&self, store: TraceStore) {
        if store.is_closed() {
            return;
        }
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(store);
        }
    }
}
