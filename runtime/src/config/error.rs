//! [`ConfigError`]: why llm-telemetry could not start.

use std::path::PathBuf;

use super::SinkKind;

/// Why llm-telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable (or config field) has a value that is not accepted.
    #[error("{variable}={value:?} is invalid: {problem}; expected {expected}")]
    Invalid {
        /// The environment variable (or config field) name.
        variable: &'static str,
        /// The value found.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// A sink was requested that this build of llm-telemetry was compiled without.
    #[error(
        "sink `{sink}` (from {variable}) is not compiled into this build: enable the \
         `{feature}` cargo feature of llm-telemetry"
    )]
    SinkUnavailable {
        /// The sink.
        sink: SinkKind,
        /// Where it was requested.
        variable: &'static str,
        /// The cargo feature that provides it.
        feature: &'static str,
    },
    /// The SQLite store cannot be opened or written.
    #[error("cannot open the SQLite trace store {path} (TELEMETRY_SQLITE_DB_PATH): {reason}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        reason: String,
    },
    /// The PostgreSQL store cannot be used: a bad `TELEMETRY_POSTGRES_URL`, a server that
    /// refuses the connection or the credentials, a schema it cannot migrate.
    #[error("cannot use the PostgreSQL store TELEMETRY_POSTGRES_URL={value}: {reason}")]
    Postgres {
        /// The URL as configured, its password masked.
        value: String,
        /// Why.
        reason: String,
    },
    /// An OpenTelemetry or Prometheus sink could not be started.
    #[error("cannot start the `{sink}` sink: {reason}")]
    SinkStart {
        /// The sink.
        sink: SinkKind,
        /// Why.
        reason: String,
    },
    /// A global `tracing` subscriber is already installed.
    #[error(
        "a global tracing subscriber is already set; use llm_telemetry::layer() to add \
         llm-telemetry to it, or TelemetryConfig::init_local() in tests"
    )]
    AlreadyInitialized,
}
