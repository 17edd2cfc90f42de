//! The PostgreSQL store's schema, its version and its migrations (the SQL is in `sql/`).
//! The version is the `schema_version` row of `store_meta`; [`MIGRATIONS`]`[i]` takes a
//! database from version `i` to `i + 1`. Every process that starts runs [`migrate`]: one
//! transaction that first takes a transaction-scoped advisory lock, so that when several
//! start at once one creates the tables and the others, waiting on the lock, then find
//! them there.

use postgres::Client;

/// `MIGRATIONS[i]` migrates a database from version `i` to `i + 1`. Append only.
const MIGRATIONS: &[&str] = &[include_str!("sql/v1.sql")];

/// The newest schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key of migrations: "LLMT" in ASCII, as the SQLite store's
/// application id.
const MIGRATION_LOCK: i64 = 0x4C4C_4D54;

/// Create or migrate the schema; an error says why in one line (no URL: the caller adds it).
pub(super) fn migrate(client: &mut Client) -> Result<(), String> {
    let sql = |e: postgres::Error| super::describe(&e);
    let mut tx = client.transaction().map_err(sql)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(sql)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS store_meta (key text PRIMARY KEY, value text)")
        .map_err(sql)?;
    let found: i64 = tx
        .query_opt(
            "SELECT value FROM store_meta WHERE key = 'schema_version'",
            &[],
        )
        .map_err(sql)?
        .map(|row| row.get::<_, Option<String>>(0))
        .and_then(|v| v.and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(format!(
            "its schema version {found} is newer than this build of llm-telemetry supports \
             (version {SCHEMA_VERSION}); upgrade llm-telemetry or use another database"
        ));
    }
    if found == 0 {
        // Not ours if it already has a `spans` table of its own.
        let taken: bool = tx
            .query_one("SELECT to_regclass('spans') IS NOT NULL", &[])
            .map_err(sql)?
            .get(0);
        if taken {
            return Err(
                "the database has a `spans` table but no llm-telemetry schema \
                        version in store_meta: it is not an llm-telemetry store"
                    .into(),
            );
        }
        tx.execute(
            "INSERT INTO store_meta (key, value) VALUES ('created_at', now()::text) \
             ON CONFLICT (key) DO NOTHING",
            &[],
        )
        .map_err(sql)?;
    }
    for (from, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(migration)
            .map_err(|e| format!("migration to schema version {}: {}", from + 1, sql(e)))?;
    }
    if found < SCHEMA_VERSION {
        tx.execute(
            "INSERT INTO store_meta (key, value) VALUES ('schema_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&SCHEMA_VERSION.to_string()],
        )
        .map_err(sql)?;
    }
    tx.execute(
        "INSERT INTO store_meta (key, value) VALUES ('writer_version', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&env!("CARGO_PKG_VERSION")],
    )
    .map_err(sql)?;
    tx.commit().map_err(sql)
}
