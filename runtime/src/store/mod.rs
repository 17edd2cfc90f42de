//! The SQLite trace store: what the `sqlite` sink writes and what you can read back.
//!
//! The store is one SQLite file (default [`default_db_path`], or
//! `TELEMETRY_SQLITE_DB_PATH`) with llama-stack's tables: `traces`, `spans`, `span_events`
//! (logs and metric events of a span; a view over the logged rows in `span_logs` and the
//! token metric events it derives from each inference's span row) and `metrics`. Timestamps are UTC text in SQLite's
//! own `YYYY-MM-DD HH:MM:SS.ffffff` form, so `datetime()` and `julianday()` work on them;
//! ids are lowercase hex; `attributes` columns are JSON objects keyed by the dotted
//! attribute names, numbers kept as numbers. The file is in WAL mode, so you can query it
//! with `sqlite3` (or [`TraceStore`]) while applications write to it:
//!
//! ```sql
//! SELECT * FROM traces WHERE timestamp > datetime('now', '-1 hour');
//! SELECT name, AVG(duration_ms) AS avg_duration FROM spans GROUP BY name ORDER BY avg_duration DESC;
//! SELECT json_extract(attributes, '$."gen_ai.request.model"') AS model,
//!        SUM(json_extract(attributes, '$."gen_ai.usage.input_tokens"')) AS input_tokens
//!   FROM spans WHERE category = 'inference' GROUP BY model;
//! ```
//!
//! The schema carries a version (`PRAGMA user_version`, with `PRAGMA application_id`
//! marking the file as an llm-telemetry store); the sink migrates older stores when it
//! opens them, and everything refuses a store written by a newer version.
//!
//! With the `postgres` feature, [`TraceStore`] also reads the PostgreSQL database the
//! `postgres` sink writes (the same tables, `timestamptz` and `jsonb`):
//! [`TraceStore::connect`], or [`TraceStore::open`] with a `postgres://` URL. Every query
//! method answers the same over both; the store holds one backend (`backend`: the SQLite
//! connection or the PostgreSQL client), and each query family keeps its SQL per dialect
//! side by side, decoding rows once for both.

mod backend;
mod filter;
mod label_matcher;
pub(crate) mod open;
#[cfg(feature = "postgres")]
mod pg;
#[cfg(feature = "postgres")]
mod pg_retention;
mod prune;
mod query;
pub(crate) mod retention;
pub(crate) mod schema;
mod types;

pub use crate::config::parse::{parse_age, AGE_FORMS};
/// Read a timestamp as the store writes it (`2026-12-02 04:00:10.228143`, UTC; `T` accepted).
///
/// ```
/// let t = llm_telemetry::store::parse_timestamp("1970-01-01 00:00:01.5").unwrap();
/// assert_eq!(t, std::time::UNIX_EPOCH + std::time::Duration::from_millis(1500));
/// ```
pub use crate::model::time::parse_sqlite_timestamp as parse_timestamp;
pub use filter::{AttributeFilter, FilterOp, COLUMN_KEYS};
pub use label_matcher::{LabelMatcher, MatchOp};
pub use prune::{prune, prune_before};
pub use retention::PruneReport;
pub use types::{
    ExportRow, LatencyStats, MetricPoint, MetricSeries, SearchHit, SessionQuery, SessionSummary,
    Span, SpanEvent, SpanWithChildren, StoreStats, TokenStats, Trace, TraceColumn, TraceOrder,
    TraceQuery, TraceStatusFilter,
};
pub use types::{ModelBucket, SlowSpan, Timeline, TimelineBucket, TraceCost, TraceFacets};

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags};

use backend::Backend;

use schema::{Found, SchemaError, SCHEMA_VERSION};

/// The store's default location, the same the runtime writes to:
/// `$TELEMETRY_SQLITE_DB_PATH` if set, else `$XDG_STATE_HOME/llm-telemetry/trace_store.db`,
/// else `~/.local/state/llm-telemetry/trace_store.db`.
///
/// ```
/// let path = llm_telemetry::store::default_db_path();
/// if std::env::var_os("TELEMETRY_SQLITE_DB_PATH").is_none() {
///     assert!(path.ends_with("llm-telemetry/trace_store.db"));
/// }
/// ```
pub fn default_db_path() -> PathBuf {
    match std::env::var("TELEMETRY_SQLITE_DB_PATH") {
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        _ => crate::config::env::default_db_path_from(&|name: &str| std::env::var(name).ok()),
    }
}

/// Why a store could not be opened or read.
///
/// ```
/// use llm_telemetry::store::{StoreError, TraceStore};
///
/// match TraceStore::open("/nonexistent/trace_store.db") {
///     Err(StoreError::NotFound { path }) => assert!(path.ends_with("trace_store.db")),
///     other => panic!("expected NotFound, got {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// There is no file at the path.
    #[error("no trace store at {}: the file does not exist", path.display())]
    NotFound {
        /// The path looked at.
        path: PathBuf,
    },
    /// The file exists but is not an llm-telemetry store (not SQLite, empty, or another
    /// application's database).
    #[error("{} is not an llm-telemetry trace store: {reason}", path.display())]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        reason: String,
    },
    /// The store was written by a newer llm-telemetry.
    #[error(
        "the trace store {} has schema version {found}, newer than this build of llm-telemetry \
         supports (version {supported}); upgrade llm-telemetry",
        path.display()
    )]
    NewerVersion {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },
    /// The store has an older schema, which only a writer may migrate.
    #[error(
        "the trace store {} has schema version {found}, older than this build reads \
         (version {supported}); run an application with the sqlite sink on it once to upgrade it",
        path.display()
    )]
    OlderVersion {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// No trace has this id (or starts or ends with these digits).
    #[error("no trace {trace_id} in the store")]
    TraceNotFound {
        /// The id (or its start or end) looked for.
        trace_id: String,
    },
    /// No span has this id (in the trace given).
    #[error("no span {span_id} in the store")]
    SpanNotFound {
        /// The id looked for.
        span_id: String,
    },
    /// The start or end of a trace id matches several traces.
    #[error(
        "the short trace id {prefix} is ambiguous: it matches {}{}; give more digits",
        candidates.join(", "),
        if candidates.len() > 5 { ", ..." } else { "" }
    )]
    AmbiguousTraceId {
        /// The digits given (the start or the end of an id).
        prefix: String,
        /// Some of the ids it matches.
        candidates: Vec<String>,
    },
    /// A filter, operator, label matcher or order is invalid; the message names it.
    #[error("invalid query: {reason}")]
    InvalidFilter {
        /// What is wrong, naming the offending key, op or value.
        reason: String,
    },
    /// PostgreSQL failed (connection refused or lost, authentication, permissions, ...).
    #[error("cannot read the PostgreSQL trace store {url}: {source}")]
    Postgres {
        /// The connection string, its password masked.
        url: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// What was asked is not available on this store (a PostgreSQL store, or a build
    /// without the `postgres` feature); the message says what.
    #[error("{what}")]
    Unsupported {
        /// What is not supported, and where.
        what: String,
    },
    /// SQLite failed (I/O error, locked past the busy timeout, corrupt file, ...).
    #[error("cannot read the trace store {}: {source}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    fn from_schema(path: &Path, e: SchemaError) -> Self {
        let path = path.to_path_buf();
        match e {
            SchemaError::NotSqlite => StoreError::NotAStore {
                path,
                reason: "it is not a SQLite database".into(),
            },
            SchemaError::Foreign(reason) => StoreError::NotAStore { path, reason },
            SchemaError::Newer { found, supported } => StoreError::NewerVersion {
                path,
                found,
                supported,
            },
            SchemaError::Sqlite(e) => StoreError::sqlite(path, e),
        }
    }

    fn sqlite(path: PathBuf, e: rusqlite::Error) -> Self {
        StoreError::Sqlite {
            path,
            source: Box::new(e),
        }
    }
}

/// A read-only handle on a trace store, usable while applications write to it: a SQLite
/// file ([`TraceStore::open`]) or, with the `postgres` feature, the PostgreSQL database of
/// the `postgres` sink ([`TraceStore::connect`], or `open` with a `postgres://` URL). Every
/// query method gives the same answers over either.
///
/// ```no_run
/// use llm_telemetry::store::{default_db_path, TraceStore};
///
/// let store = TraceStore::open(default_db_path())?;
/// println!("{} (schema v{})", store.path().display(), store.schema_version());
/// # Ok::<(), llm_telemetry::store::StoreError>(())
/// ```
pub struct TraceStore {
    backend: Backend,
    /// The file, or the PostgreSQL connection string with its password masked.
    path: PathBuf,
    version: u32,
}

/// How messages name the store `db`: a path as it is, a PostgreSQL URL (or any text with a
/// `password=`) with its password masked.
///
/// ```
/// use llm_telemetry::store::display_db;
///
/// assert_eq!(display_db("postgres://app:s3cret@db/traces"), "postgres://app:****@db/traces");
/// assert_eq!(display_db("/var/lib/traces.db"), "/var/lib/traces.db");
/// ```
pub fn display_db(db: impl AsRef<Path>) -> String {
    let db = db.as_ref();
    match db.to_str() {
        Some(text) if is_postgres_url(db) || text.contains("password") => {
            crate::config::postgres::mask_password(text)
        }
        _ => db.display().to_string(),
    }
}

/// Whether `db` names a PostgreSQL database (`postgres://` or `postgresql://`) rather
/// than a file.
///
/// ```
/// use llm_telemetry::store::is_postgres_url;
///
/// assert!(is_postgres_url("postgres://app@db:5432/traces"));
/// assert!(is_postgres_url("postgresql://"));
/// assert!(!is_postgres_url("/var/lib/traces.db"));
/// ```
pub fn is_postgres_url(db: impl AsRef<Path>) -> bool {
    db.as_ref()
        .to_str()
        .map(str::trim_start)
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

impl TraceStore {
    /// Open an existing store for reading. Fails with a clear [`StoreError`] when the file
    /// is missing, is not an llm-telemetry store, or has a schema version this build does
    /// not read. Never creates or modifies the file.
    ///
    /// ```
    /// use llm_telemetry::store::{StoreError, TraceStore};
    ///
    /// let err = TraceStore::open("/nonexistent/trace_store.db").unwrap_err();
    /// assert!(matches!(err, StoreError::NotFound { .. }));
    /// assert!(err.to_string().contains("/nonexistent/trace_store.db"));
    /// ```
    ///
    /// A `postgres://` or `postgresql://` URL instead of a path opens that PostgreSQL
    /// store, as [`TraceStore::connect`] does.
    pub fn open(path: impl AsRef<Path>) -> Result<TraceStore, StoreError> {
        let path = path.as_ref();
        if is_postgres_url(path) {
            return TraceStore::connect(path.to_str().unwrap_or_default());
        }
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => {
                return Err(StoreError::Sqlite {
                    path: path.to_path_buf(),
                    source: Box::new(e),
                })
            }
            Ok(m) if m.is_dir() => {
                return Err(StoreError::NotAStore {
                    path: path.to_path_buf(),
                    reason: "it is a directory".into(),
                })
            }
            Ok(_) => {}
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::from_schema(path, SchemaError::from_sqlite(e)))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| StoreError::sqlite(path.to_path_buf(), e))?;
        let version = match schema::inspect(&conn) {
            Ok(Found::Store(v)) => v,
            Ok(Found::Empty) => {
                return Err(StoreError::NotAStore {
                    path: path.to_path_buf(),
                    reason: "it is empty (no llm-telemetry tables)".into(),
                })
            }
            Err(e) => return Err(StoreError::from_schema(path, e)),
        };
        if version < SCHEMA_VERSION {
            return Err(StoreError::OlderVersion {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(TraceStore {
            backend: Backend::Sqlite(conn),
            path: path.to_path_buf(),
            version,
        })
    }

    /// Open the PostgreSQL store that the `postgres` sink writes, for reading: `url` is a
    /// `postgres://` / `postgresql://` URL or a libpq `key=value` string, read as
    /// `TELEMETRY_POSTGRES_URL` is (the `PG*` variables fill in what it leaves out;
    /// `sslmode` as libpq's). Fails with a clear [`StoreError`], its password masked, when
    /// the server cannot be reached, refuses the credentials, has no llm-telemetry schema or
    /// one this build does not read. The session is read-only.
    ///
    /// Without the `postgres` feature this is [`StoreError::Unsupported`]. The client is
    /// synchronous: inside a tokio runtime, call the store from `spawn_blocking` or a
    /// thread of its own.
    ///
    /// ```no_run
    /// use llm_telemetry::store::{TraceQuery, TraceStore};
    ///
    /// let store = TraceStore::connect("postgres://reader:secret@db.internal:5432/traces?sslmode=verify-full")?;
    /// for t in store.list_traces(&TraceQuery::default())? {
    ///     println!("{} {:?}", t.trace_id, t.root_span_name);
    /// }
    /// // the same as
    /// let store = TraceStore::open("postgres://reader:secret@db.internal:5432/traces")?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn connect(url: &str) -> Result<TraceStore, StoreError> {
        #[cfg(feature = "postgres")]
        {
            pg::connect(url)
        }
        #[cfg(not(feature = "postgres"))]
        {
            Err(StoreError::Unsupported {
                what: format!(
                    "cannot open {}: this build of llm-telemetry reads no PostgreSQL store \
                     (enable the `postgres` feature)",
                    crate::config::postgres::mask_password(url)
                ),
            })
        }
    }

    /// Whether this store is a PostgreSQL database (else a SQLite file).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// assert!(!store.is_postgres());
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn is_postgres(&self) -> bool {
        self.backend.dialect() == backend::Dialect::Postgres
    }

    /// Whether this handle lost its connection to a PostgreSQL store (a server restart, a
    /// network failure): every query on it fails, so drop it and open a new one. A SQLite
    /// store's handle never is.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// assert!(!store.is_closed());
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            #[cfg(feature = "postgres")]
            Backend::Postgres(client) => client.is_closed(),
        }
    }

    /// The file this store reads (a PostgreSQL store: its connection string, the password
    /// masked).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// assert_eq!(store.path(), std::path::Path::new("traces.db"));
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's schema version (`PRAGMA user_version`).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// assert!(store.schema_version() >= 1);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn schema_version(&self) -> u32 {
        self.version
    }

    /// When the store was created (by the first sink that opened it).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// if let Some(t) = store.created_at()? {
    ///     println!("collecting since {:?}", t);
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn created_at(&self) -> Result<Option<SystemTime>, StoreError> {
        let text = match &self.backend {
            Backend::Sqlite(conn) => {
                schema::created_at(conn).map_err(|e| StoreError::sqlite(self.path.clone(), e))?
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => pg::created_at(self)?,
        };
        Ok(text
            .as_deref()
            .and_then(crate::model::time::parse_sqlite_timestamp))
    }
}

impl fmt::Debug for TraceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceStore")
            .field("path", &self.path)
            .field("schema_version", &self.version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(path: &Path) {
        let config = crate::TelemetryConfig::builder().sinks([]).build();
        crate::sinks::sqlite::SqliteWriter::open(path, &config).unwrap();
    }

    #[test]
    fn opens_a_store_the_sink_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        writer(&path);
        let store = TraceStore::open(&path).unwrap();
        assert_eq!(store.schema_version(), SCHEMA_VERSION);
        assert_eq!(store.path(), path);
        assert!(format!("{store:?}").contains("schema_version"));
        let created = store.created_at().unwrap().expect("created_at is recorded");
        let age = SystemTime::now().duration_since(created).unwrap();
        assert!(age < Duration::from_secs(60), "{age:?}");
    }

    #[test]
    fn refuses_what_is_not_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.db");
        assert!(matches!(
            TraceStore::open(&missing),
            Err(StoreError::NotFound { .. })
        ));
        assert!(!missing.exists(), "open must not create the file");

        let text = dir.path().join("notes.txt");
        std::fs::write(
            &text,
            "these are not the traces you are looking for\n".repeat(100),
        )
        .unwrap();
        let e = TraceStore::open(&text).unwrap_err();
        assert!(matches!(e, StoreError::NotAStore { .. }), "{e:?}");
        assert!(e.to_string().contains("not a SQLite database"), "{e}");
        assert!(e.to_string().contains("notes.txt"), "{e}");

        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, "").unwrap();
        let e = TraceStore::open(&empty).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");

        let foreign = dir.path().join("app.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY)")
            .unwrap();
        let e = TraceStore::open(&foreign).unwrap_err().to_string();
        assert!(
            e.contains("not an llm-telemetry trace store") && e.contains("users"),
            "{e}"
        );

        let e = TraceStore::open(dir.path()).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        writer(&path);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 7)
            .unwrap();
        let e = TraceStore::open(&path).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, StoreError::NewerVersion { found, .. } if found == SCHEMA_VERSION + 7));
        assert!(
            msg.contains(&format!("version {}", SCHEMA_VERSION + 7)),
            "{msg}"
        );
        assert!(msg.contains(&format!("version {SCHEMA_VERSION}")), "{msg}");
    }

    #[test]
    fn default_path_ends_in_the_state_dir() {
        let p = default_db_path();
        if std::env::var_os("TELEMETRY_SQLITE_DB_PATH").is_none() {
            assert!(
                p.ends_with("llm-telemetry/trace_store.db"),
                "{}",
                p.display()
            );
        }
    }
}
