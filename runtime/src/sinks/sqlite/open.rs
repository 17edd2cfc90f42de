//! Opening the store: the file and its directory, the connection's pragmas, the schema
//! (refusing a foreign or newer file before changing anything), and a real write, so that
//! an unusable path fails at start rather than on the first batch.
//!
//! Durability: WAL with `synchronous=NORMAL`: a committed batch survives a crash of the
//! application, the last batches may be lost on power loss. SQLite's own checkpoint runs
//! at 16,384 WAL pages, as the backstop that lets the WAL restart; the sink's checkpointer
//! thread does most of that copying while batches keep coming.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::config::ConfigError;
use crate::store::open::BUSY_TIMEOUT;
use crate::store::schema::{self, SchemaError};

/// WAL pages before SQLite checkpoints on commit (the default, 1,000, checkpoints, and so
/// syncs, almost every batch under load).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;
/// Truncate the WAL back to this size after a checkpoint.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;
/// Page size of a new store, in bytes.
const PAGE_SIZE: i64 = 16 * 1024;
/// Page cache of the writer's connection, in KiB.
const CACHE_KIB: i64 = 16 * 1024;

/// Open (creating if needed) the store at `path`: parent directories, WAL, busy timeout,
/// schema creation or migration, and a real write, so that an unusable path fails here
/// rather than on the first batch. `statements` are prepared into the connection's cache.
pub(super) fn open(path: &Path, statements: &[&str]) -> Result<Connection, ConfigError> {
    connect(path, statements).map_err(|reason| ConfigError::Sqlite {
        path: path.to_path_buf(),
        reason,
    })
}

fn connect(path: &Path, statements: &[&str]) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    }
    if path.is_dir() {
        return Err("it is a directory".into());
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let sqlite = |e: rusqlite::Error| SchemaError::from_sqlite(e).to_string();
    let mut conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    if conn.is_readonly(rusqlite::MAIN_DB).map_err(sqlite)? {
        return Err("the file is read-only".into());
    }
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
    // Refuse a foreign or newer file before changing anything in it.
    schema::inspect(&conn).map_err(|e| e.to_string())?;
    // Only takes effect on a new, empty file (before WAL and the schema): fewer, larger
    // pages mean fewer WAL frames (two writes each) per inserted byte.
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(sqlite)?;
    enable_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sqlite)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .map_err(sqlite)?;
    // These answer with a row; pragma_update (execute_batch) ignores it.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .map_err(sqlite)?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)
        .map_err(sqlite)?;
    schema::create_or_migrate(&mut conn).map_err(|e| e.to_string())?;
    conn.set_prepared_statement_cache_capacity(16);
    for sql in statements {
        conn.prepare_cached(sql).map_err(sqlite)?;
    }
    Ok(conn)
}

/// Switch the file to WAL mode (persistent: a no-op when it already is). The switch needs
/// an exclusive lock and SQLite answers "busy" at once rather than calling the busy handler
/// when another process holds the file, so retry until the busy timeout.
fn enable_wal(conn: &Connection) -> Result<(), String> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(format!(
                    "cannot switch it to WAL mode (journal mode stays `{mode}`); \
                     is it on a network or read-only file system?"
                ))
            }
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(SchemaError::from_sqlite(e).to_string()),
        }
    }
}
