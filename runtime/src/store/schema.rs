//! The SQLite store's schema, its version and its migrations. Shared by the writer
//! (`sinks::sqlite`, which creates and migrates) and the read side ([`super::TraceStore`],
//! which only checks).
//!
//! A store is recognised by `PRAGMA application_id` = [`APPLICATION_ID`]; its schema version
//! is `PRAGMA user_version`. [`MIGRATIONS`]`[i]` takes a store from version `i` to `i + 1`,
//! so version 0 is an empty file and [`SCHEMA_VERSION`] is `MIGRATIONS.len()`.
//!
//! # Index design
//!
//! Every dirty page is written to the WAL at commit, so an index costs what its inserts
//! scatter. The runtime's ids start with their creation time and go on with a per-process
//! sequence (`model::ids`), so an index keyed on an id appends; ids from other processes or
//! other OpenTelemetry SDKs (random W3C ids) insert at random places, which costs one page
//! per row for a span-id key but only one per trace for a key that starts with the trace
//! id (the spans of a trace arrive together and share the leaf page). Hence:
//!
//! - `spans(span_id)` is the primary key (llama-stack's schema; lookups by span id), the one
//!   per-row id index;
//! - `spans(trace_id, parent_span_id)` serves "all spans of a trace" *and* "children of a
//!   span" (join on both columns: a child has its parent's trace id), instead of two
//!   separate indexes on `trace_id` and `parent_span_id`;
//! - `span_logs(trace_id, span_id)` (named `span_events_trace_span`, the table's name up to
//!   version 2): a span's logs are looked up with its trace id too; an inference's token
//!   metric events are not stored at all since version 3 (the `span_events` view derives
//!   them from the span row);
//! - `traces(timestamp)` (= start time, so it also orders by start), append-mostly;
//! - `metrics(name, timestamp)`, append-mostly within each metric name (and since
//!   version 2 a row per series per second per batch, not per measurement).

use rusqlite::{Connection, OptionalExtension};

/// `PRAGMA application_id` of an llm-telemetry store: "LLMT" in ASCII.
pub(crate) const APPLICATION_ID: i32 = 0x4C4C_4D54;

/// The newest schema version this build reads and writes.
pub(crate) const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// `MIGRATIONS[i]` migrates a store from version `i` to `i + 1`. Append only: never edit
/// a migration that has shipped.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

/// Version 1: llama-stack's tables and columns, plus what its documentation's queries use
/// (`spans.duration_ms`, `traces.timestamp`) and a few extras. Every timestamp is UTC text
/// in SQLite's own `YYYY-MM-DD HH:MM:SS.ffffff` form; ids are lowercase hex (32 characters
/// for traces, 16 for spans); `attributes` columns hold one JSON object whose keys are the
/// dotted attribute names and whose values keep their JSON types.
pub(crate) const V1: &str = r#"
-- One row per trace, upserted as its spans arrive (children close before their parents),
-- so a trace whose root is still open is already listed.
CREATE TABLE traces (
    trace_id     TEXT PRIMARY KEY NOT NULL,
    service_name TEXT,                       -- from the root span (else the first span seen)
    root_span_id TEXT,                       -- NULL until the root span has closed
    start_time   TEXT NOT NULL,              -- earliest span start
    end_time     TEXT NOT NULL,              -- latest span end
    timestamp    TEXT NOT NULL,              -- = start_time (llama-stack's docs query it)
    span_count   INTEGER NOT NULL DEFAULT 0, -- spans stored so far
    error_count  INTEGER NOT NULL DEFAULT 0  -- of which status = 'error'
) WITHOUT ROWID;
CREATE INDEX traces_timestamp ON traces(timestamp);

CREATE TABLE spans (
    span_id        TEXT PRIMARY KEY NOT NULL,
    trace_id       TEXT NOT NULL,
    parent_span_id TEXT,                     -- NULL for a root; may name a remote span
    name           TEXT NOT NULL,
    start_time     TEXT NOT NULL,
    end_time       TEXT,
    duration_ms    REAL,
    attributes     TEXT NOT NULL DEFAULT '{}', -- JSON object
    status         TEXT NOT NULL,            -- 'ok' | 'error' | 'unset'
    kind           TEXT NOT NULL,            -- 'internal' | 'client' | 'server' | 'producer' | 'consumer'
    status_message TEXT,                     -- the error message when status = 'error'
    category       TEXT,                     -- 'inference' | 'agent_turn' | 'tool' | 'other'
    service_name   TEXT
);
CREATE INDEX spans_trace_parent ON spans(trace_id, parent_span_id);

-- Logs and metric events of a span (span_id NULL: a log outside any span).
CREATE TABLE span_events (
    id         INTEGER PRIMARY KEY,
    trace_id   TEXT,
    span_id    TEXT,
    timestamp  TEXT NOT NULL,
    event_type TEXT NOT NULL,                -- 'unstructured_log' | 'metric' | 'structured_log'
    severity   TEXT,                         -- unstructured_log: verbose .. critical
    message    TEXT,                         -- unstructured_log: the text;
                                             -- structured_log: 'span_start' | 'span_end'
    metric     TEXT,                         -- metric: name
    value      REAL,                         -- metric: value
    unit       TEXT,                         -- metric: unit
    attributes TEXT NOT NULL DEFAULT '{}'    -- JSON object; structured_log adds "name" and
                                             -- "parent_span_id" (span_start) or "status" (span_end)
);
CREATE INDEX span_events_trace_span ON span_events(trace_id, span_id);

-- Metric measurements (one row per counter add / histogram record).
CREATE TABLE metrics (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,                -- e.g. 'llama_stack.prompt_tokens', 'gen_ai.client.token.usage'
    instrument TEXT NOT NULL,                -- 'counter' | 'histogram' | 'gauge'
    unit       TEXT,                         -- UCUM: '{token}', 's'
    value      REAL NOT NULL,
    timestamp  TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',   -- JSON object of the labels
    trace_id   TEXT,
    span_id    TEXT
);
CREATE INDEX metrics_name_timestamp ON metrics(name, timestamp);

-- Facts about the store itself (created_at, last writer's version).
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT
) WITHOUT ROWID;
"#;

/// Version 2: `metrics` rows become aggregates. The writer sums the measurements of one
/// series (name, instrument, unit, labels) that arrive in one batch within one wall-clock
/// second into one row: `value` is their sum and `count` how many there were (a version-1
/// row is one measurement, hence the default). `timestamp` is the latest measurement's,
/// and `trace_id` / `span_id` name one span that contributed (an exemplar). Under load an
/// inference's six metric points were six of its eleven rows and 56 % of its bytes; as
/// aggregates they cost a few rows per batch, and every sum and count a query can ask for
/// is unchanged.
pub(crate) const V2: &str = r#"
ALTER TABLE metrics ADD COLUMN count INTEGER NOT NULL DEFAULT 1;  -- measurements summed in `value`
"#;

/// Version 3: an inference's three llama-stack token `MetricEvent`s (`prompt_tokens`,
/// `completion_tokens`, `total_tokens`, unit `tokens`, labels `model_id` / `provider_id`)
/// are no longer stored: they are a function of the inference span's row (its token
/// attributes, model, provider and end time), so `span_events` becomes a view that derives
/// them (`span_token_events`) next to the stored logs and other events (`span_logs`, the
/// old table renamed; its index keeps the name it had). Those three rows and their index
/// entries were about half of an inference's bytes and b-tree inserts: without them the
/// writer drains 100,000 queued inferences in ~0.64 s instead of ~1.39 s. Every query that
/// reads `span_events` sees the same rows as before (ids of derived rows are above 2^52, so
/// they still sort after a span's stored events); `INSERT` and `DELETE` on `span_events`
/// go to `span_logs` through `INSTEAD OF` triggers, so SQL written for the table keeps
/// working (a derived token event is deleted with its span, not on its own). The
/// migration deletes exactly the stored rows the view now derives.
pub(crate) const V3: &str = r#"
-- Logs and events of spans as logged (span_id NULL: a log outside any span).
ALTER TABLE span_events RENAME TO span_logs;

-- An inference's token metric events, as the writer stored them up to version 2: at the
-- span's end, values REAL, labels only when the span has them. Tokens are the non-negative
-- integers the macros record; a span with neither count has no events.
CREATE VIEW span_token_events AS
SELECT 4503599627370496 + s.rowid * 4 + t.k AS id,
       s.trace_id AS trace_id,
       s.span_id AS span_id,
       s.end_time AS timestamp,
       'metric' AS event_type,
       NULL AS severity,
       NULL AS message,
       t.metric AS metric,
       CAST(CASE t.k
            WHEN 0 THEN ifnull(json_extract(s.attributes, '$."gen_ai.usage.input_tokens"'), 0)
            WHEN 1 THEN ifnull(json_extract(s.attributes, '$."gen_ai.usage.output_tokens"'), 0)
            ELSE ifnull(json_extract(s.attributes, '$."gen_ai.usage.input_tokens"'), 0)
               + ifnull(json_extract(s.attributes, '$."gen_ai.usage.output_tokens"'), 0)
            END AS REAL) AS value,
       'tokens' AS unit,
       json_patch('{}', json_object(
           'model_id', CAST(json_extract(s.attributes, '$."gen_ai.request.model"') AS TEXT),
           'provider_id', CAST(json_extract(s.attributes, '$."gen_ai.provider.name"') AS TEXT))) AS attributes
FROM spans AS s
JOIN (SELECT 0 AS k, 'prompt_tokens' AS metric
      UNION ALL SELECT 1, 'completion_tokens'
      UNION ALL SELECT 2, 'total_tokens') AS t
WHERE s.category = 'inference'
  AND (json_type(s.attributes, '$."gen_ai.usage.input_tokens"') = 'integer'
       OR json_type(s.attributes, '$."gen_ai.usage.output_tokens"') = 'integer');

-- Stored copies of derived events: the view now yields them.
DELETE FROM span_logs
WHERE event_type = 'metric' AND unit = 'tokens'
  AND metric IN ('prompt_tokens', 'completion_tokens', 'total_tokens')
  AND EXISTS (SELECT 1 FROM span_token_events AS d
              WHERE d.span_id = span_logs.span_id AND d.metric = span_logs.metric
                AND d.value = span_logs.value AND d.timestamp = span_logs.timestamp
                AND d.attributes = span_logs.attributes);

-- What llama-stack's `span_events` table held: logs, metric events, structured events.
CREATE VIEW span_events AS
SELECT id, trace_id, span_id, timestamp, event_type, severity, message, metric, value, unit, attributes
FROM span_logs
UNION ALL
SELECT id, trace_id, span_id, timestamp, event_type, severity, message, metric, value, unit, attributes
FROM span_token_events;

-- SQL written for the version-1 table still writes and deletes.
CREATE TRIGGER span_events_insert INSTEAD OF INSERT ON span_events
BEGIN
    INSERT INTO span_logs (id, trace_id, span_id, timestamp, event_type, severity, message, metric, value, unit, attributes)
    VALUES (NEW.id, NEW.trace_id, NEW.span_id, NEW.timestamp, NEW.event_type, NEW.severity, NEW.message, NEW.metric, NEW.value, NEW.unit, ifnull(NEW.attributes, '{}'));
END;
CREATE TRIGGER span_events_delete INSTEAD OF DELETE ON span_events
BEGIN
    DELETE FROM span_logs WHERE id = OLD.id;
END;
"#;

/// Version 4: `otlp_backlog`, the spans the `otel_trace` sink of a process that also
/// writes this store owes its collector: ids only (the span itself is its `spans` row),
/// in the order the collector refused them. A row is added when an export fails in a
/// retryable way, deleted when the span is delivered or given up (the backlog's bound,
/// or the span row gone), and survives the process: the next process that exports to the
/// same endpoint adopts the rows of processes that have exited. Keyed by the process and
/// the endpoint, so several processes writing one store never send each other's spans.
pub(crate) const V4: &str = r#"
CREATE TABLE otlp_backlog (
    seq       INTEGER PRIMARY KEY,        -- refusal order: oldest first
    endpoint  TEXT NOT NULL,              -- the traces endpoint the span is owed to
    owner     INTEGER NOT NULL,           -- the exporter that sends it: pid * 2^20 + its number in the process
    inherited INTEGER NOT NULL DEFAULT 0, -- 1: adopted from a process that had exited
    trace_id  TEXT NOT NULL,
    span_id   TEXT NOT NULL,
    queued_at REAL NOT NULL               -- unix seconds when first refused
);
CREATE INDEX otlp_backlog_owner ON otlp_backlog(endpoint, owner, seq);
"#;

/// What an opened file turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// A new or empty SQLite file: no tables, no application id.
    Empty,
    /// An llm-telemetry store at this schema version (possibly newer than ours).
    Store(u32),
}

/// Why a file cannot be used as a store. Messages name no path: callers add it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    /// Not a SQLite database at all.
    #[error("it is not a SQLite database")]
    NotSqlite,
    /// A SQLite database of another application.
    #[error("it is not an llm-telemetry trace store ({0})")]
    Foreign(String),
    /// Written by a newer llm-telemetry.
    #[error(
        "its schema version {found} is newer than this build of llm-telemetry supports \
         (version {supported}); upgrade llm-telemetry or use another file"
    )]
    Newer {
        /// `user_version` of the file.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
    /// Any other SQLite failure.
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl SchemaError {
    /// Turn "file is not a database" into [`SchemaError::NotSqlite`].
    pub(crate) fn from_sqlite(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => SchemaError::NotSqlite,
            _ => SchemaError::Sqlite(e),
        }
    }
}

/// Identify the file behind `conn` without writing to it.
pub(crate) fn inspect(conn: &Connection) -> Result<Found, SchemaError> {
    if conn.is_autocommit() {
        // One read transaction, so that the header fields and the table list come from
        // one snapshot even while another process is creating the schema.
        let tx = conn
            .unchecked_transaction()
            .map_err(SchemaError::from_sqlite)?;
        inspect_snapshot(&tx)
    } else {
        inspect_snapshot(conn)
    }
}

fn inspect_snapshot(conn: &Connection) -> Result<Found, SchemaError> {
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(SchemaError::from_sqlite)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(SchemaError::from_sqlite)?;
    if app_id == APPLICATION_ID {
        let version = u32::try_from(version).map_err(|_| {
            SchemaError::Foreign(format!("its schema version {version} is invalid"))
        })?;
        if version > SCHEMA_VERSION {
            return Err(SchemaError::Newer {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version == 0 {
            return Err(SchemaError::Foreign(
                "it carries llm-telemetry's application id but no schema version".into(),
            ));
        }
        return Ok(Found::Store(version));
    }
    if app_id != 0 {
        return Err(SchemaError::Foreign(format!(
            "it belongs to another application: application_id {app_id:#010x}"
        )));
    }
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 6",
        )
        .map_err(SchemaError::from_sqlite)?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if names.is_empty() && version == 0 {
        return Ok(Found::Empty);
    }
    let mut listed = names
        .iter()
        .take(5)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 5 {
        listed.push_str(", ...");
    }
    Err(SchemaError::Foreign(if listed.is_empty() {
        format!("user_version {version} but no tables")
    } else {
        format!("it has other tables: {listed}")
    }))
}

/// Create or migrate the schema, in one immediate (write-locked) transaction so that
/// several processes opening a new file at once create it exactly once. Also records the
/// writer in `store_meta`, which proves the file is writable. Returns the version found
/// before migrating (0 for a new file).
pub(crate) fn create_or_migrate(conn: &mut Connection) -> Result<u32, SchemaError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(SchemaError::from_sqlite)?;
    // Re-read under the write lock: another process may have just created it.
    let before = match inspect(&tx)? {
        Found::Empty => 0,
        Found::Store(v) => v,
    };
    for migration in &MIGRATIONS[before as usize..] {
        tx.execute_batch(migration)?;
    }
    if before < SCHEMA_VERSION {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    let now = crate::model::time::sqlite_timestamp(std::time::SystemTime::now());
    tx.execute(
        "INSERT INTO store_meta (key, value) VALUES ('created_at', ?1) ON CONFLICT(key) DO NOTHING",
        [&now],
    )?;
    tx.execute(
        "INSERT INTO store_meta (key, value) VALUES ('last_writer', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [concat!("llm-telemetry ", env!("CARGO_PKG_VERSION"))],
    )?;
    tx.commit()?;
    Ok(before)
}

/// The store's `created_at` fact, if recorded.
pub(crate) fn created_at(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM store_meta WHERE key = 'created_at'",
        [],
        |r| r.get(0),
    )
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_file_is_created_then_recognised() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(inspect(&conn).unwrap(), Found::Empty);
        assert_eq!(create_or_migrate(&mut conn).unwrap(), 0);
        assert_eq!(inspect(&conn).unwrap(), Found::Store(SCHEMA_VERSION));
        // Idempotent.
        assert_eq!(create_or_migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        assert!(created_at(&conn).unwrap().is_some());
    }

    #[test]
    fn foreign_and_newer_files_are_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE customers (id INTEGER)")
            .unwrap();
        let e = inspect(&conn).unwrap_err().to_string();
        assert!(
            e.contains("not an llm-telemetry trace store") && e.contains("customers"),
            "{e}"
        );

        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", 42).unwrap();
        assert!(matches!(inspect(&conn), Err(SchemaError::Foreign(_))));

        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let e = inspect(&conn).unwrap_err();
        assert!(
            matches!(e, SchemaError::Newer { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
        );
    }
}
