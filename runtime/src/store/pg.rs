//! Opening the PostgreSQL store for reading (feature `postgres`): the connection through
//! the `postgres` sink's own connect code (URL + `PG*` variables + TLS, the password masked
//! in every message), a read-only session, and the schema version check.

use std::path::PathBuf;

use super::backend::{pg_time, Backend, Param, PgClient};
use super::{StoreError, TraceStore};
use crate::config::postgres::connect::{connect as pg_connect, describe, on_own_thread};
use crate::config::postgres::mask_password;
use crate::config::PgEnv;

/// The PostgreSQL schema version this build reads (the sink's `schema::SCHEMA_VERSION`).
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Connect to `url` and check that it holds an llm-telemetry store this build reads (on a
/// thread of its own: the caller may be inside a tokio runtime).
pub(super) fn connect(url: &str) -> Result<TraceStore, StoreError> {
    on_own_thread(|| connect_here(url))
}

fn connect_here(url: &str) -> Result<TraceStore, StoreError> {
    let shown = mask_password(url);
    let failed = |reason: String| StoreError::Postgres {
        url: shown.clone(),
        source: reason.into(),
    };
    let (_, mut client) = pg_connect(url, &PgEnv::from_env()).map_err(failed)?;
    client
        .batch_execute("SET default_transaction_read_only = on")
        .map_err(|e| failed(describe(&e)))?;
    let path = PathBuf::from(&shown);
    let meta: bool = client
        .query_one("SELECT to_regclass('store_meta') IS NOT NULL", &[])
        .map_err(|e| failed(describe(&e)))?
        .get(0);
    let version = if meta {
        client
            .query_opt(
                "SELECT value FROM store_meta WHERE key = 'schema_version'",
                &[],
            )
            .map_err(|e| failed(describe(&e)))?
            .and_then(|row| row.get::<_, Option<String>>(0))
            .and_then(|v| v.trim().parse::<u32>().ok())
    } else {
        None
    };
    let Some(version) = version else {
        return Err(StoreError::NotAStore {
            path,
            reason: "the database has no llm-telemetry tables (no schema_version in \
                     store_meta): point the `postgres` sink at it first"
                .into(),
        });
    };
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerVersion {
            path,
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < SCHEMA_VERSION {
        return Err(StoreError::OlderVersion {
            path,
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(TraceStore {
        backend: Backend::Postgres(PgClient::new(client)),
        path,
        version,
    })
}

/// `store_meta`'s `created_at`, as the store's UTC text.
pub(super) fn created_at(store: &TraceStore) -> Result<Option<String>, StoreError> {
    let sql = format!(
        "SELECT {} FROM store_meta WHERE key = $1::text",
        pg_time("value::timestamptz")
    );
    Ok(store
        .collect(&sql, vec![Param::Text("created_at".into())], |r| r.get(0))?
        .pop()
        .flatten())
}

/// The bytes the store's tables and their indexes take.
pub(super) fn size_bytes(store: &TraceStore) -> u64 {
    let sql = "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
               WHERE c.relkind = 'r' AND c.oid IN (to_regclass('traces'), to_regclass('spans'), \
                 to_regclass('span_logs'), to_regclass('metrics'), to_regclass('store_meta'))";
    store
        .collect(sql, Vec::new(), |r| r.get::<u64>(0))
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_schema_version_the_sink_writes() {
        assert_eq!(
            i64::from(super::SCHEMA_VERSION),
            crate::sinks::postgres::schema::SCHEMA_VERSION
        );
    }
}
