//! The SQLite sink: writes spans, span events (logs, metric events) and metric points into
//! the trace store (schema: [`crate::store`]'s `schema` module).
//!
//! It runs on the sink's own worker thread and writes each batch in one immediate
//! transaction with cached prepared statements. Ids and timestamps are rendered into stack
//! buffers and attributes into one reused JSON buffer, so a span costs no allocation here.
//! The `traces` row is upserted once per trace per batch (earliest start, latest end, span
//! and error counts, root span once it has closed), so a trace is listed as soon as its
//! first span is stored and several processes may write one file.
//!
//! Durability: WAL with `synchronous=NORMAL` (a committed batch survives a crash of the
//! application; the last batches may be lost on power loss), `busy_timeout` 5 s. While
//! batches keep coming, a second connection on its own thread copies the WAL into the file
//! (see the `checkpointer` module), so neither the writer nor the guard's drop waits for
//! that copy; SQLite's own checkpoint at 16,384 WAL pages stays as the backstop that lets
//! the WAL restart, and an idle store is checkpointed every 10 s from `tick()`.
//!
//! Write rate (this writer, 500,000 GenAI spans with 7-8 attributes, 10 spans per trace,
//! batches of 1,024, on a shared 2-core VM; spans/s overall, and over the last 100,000):
//!
//! | ids | schema indexes | spans/s | last 100k |
//! |---|---|---|---|
//! | random (W3C default) | chosen: `spans(trace_id, parent_span_id)` + the rest | 56,000 | 44,000 |
//! | random | chosen minus the trace index | 74,000 | 62,000 |
//! | random | primary keys only | 83,000 | 64,000 |
//! | random | separate `spans(trace_id)`, `spans(parent_span_id)`, `span_events(span_id)` | 41,000 | 26,000 |
//! | time-prefixed | chosen | 172,000 | 168,000 |
//! | time-prefixed | chosen minus the trace index | 245,000 | 250,000 |
//!
//! "Time-prefixed" simulates ids whose first bytes are the time in seconds (4 bytes of the
//! trace id, 2 of the span id), the rest random. The random `span_id` primary key dominates and worsens as the file grows (one dirty page
//! per span per commit); an index keyed by trace id first costs per trace, not per span.
//!
//! Later, measured end to end (`THROUGHPUT_ONLY=inference|tool cargo bench --bench
//! throughput`, two emitting threads): with "seconds + random" ids a burst still inserted
//! at random *within* its second, splitting pages and missing the cache; ids sequenced
//! after the time prefix (see [`crate::ids`]) took inference spans from ~33,000/s to
//! ~65,000/s and plain spans from ~60,000/s to ~150,000/s. Sequencing only the span ids
//! gave ~21,000-29,000/s: the `trace_id`-keyed tree and indexes matter as much. Metric points are
//! summed per series and second within a batch ([`MetricSeriesAgg`], schema version 2),
//! which had taken inference spans from ~20,000/s to ~33,000/s. Multi-row `INSERT`s for
//! `span_events` (32 rows per statement) made no measurable difference and were dropped.
//! Since schema version 3 an inference's three token metric events are not written at all
//! (the `span_events` view derives them from the span row): 100,000 queued inferences drain
//! in ~0.64 s instead of ~1.39 s. Alike consecutive inferences add to the previous one's
//! metric rows without re-encoding ([`MetricSeriesAgg::add_inference`]), and trace rows are
//! upserted in id order: ~0.54 s.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OpenFlags, ToSql, TransactionBehavior};
use rustc_hash::FxHashMap;

use crate::config::{ConfigError, TelemetryConfig};
use crate::ids::{SpanId, TraceId};
use crate::metrics::InferenceMetrics;
use crate::pipeline::{BatchWriter, WriteError};
use crate::record::{
    AttrValue, Instrument, LogBody, LogRecord, MetricRecord, SpanCategory, SpanRecord, SpanStatus,
    Telemetry,
};
use crate::store::schema::{self, SchemaError};

mod checkpointer;

use checkpointer::WalCheckpointer;

/// How long a write waits for another writer's lock before the batch fails.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// WAL pages before SQLite checkpoints on commit (the default, 1,000, checkpoints, and so
/// syncs, almost every batch under load).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;
/// Truncate the WAL back to this size after a checkpoint.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;
/// Page size of a new store, in bytes.
const PAGE_SIZE: i64 = 16 * 1024;
/// Page cache of the writer's connection, in KiB.
const CACHE_KIB: i64 = 16 * 1024;
/// Checkpoint from `tick()` when something was written and this long has passed.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

const INSERT_SPAN: &str =
    "INSERT INTO spans (span_id, trace_id, parent_span_id, name, start_time, \
     end_time, duration_ms, attributes, status, kind, status_message, category, service_name) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
     ON CONFLICT(span_id) DO NOTHING";

const INSERT_EVENT: &str = "INSERT INTO span_logs (trace_id, span_id, timestamp, event_type, \
     severity, message, metric, value, unit, attributes) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const INSERT_METRIC: &str = "INSERT INTO metrics (name, instrument, unit, value, timestamp, \
     attributes, trace_id, span_id, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

// ?8: the batch carries a true root (no parent), which replaces a remote-parented one.
const UPSERT_TRACE: &str = "INSERT INTO traces (trace_id, service_name, root_span_id, \
     start_time, end_time, timestamp, span_count, error_count) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6, ?7) \
     ON CONFLICT(trace_id) DO UPDATE SET \
       start_time = min(start_time, excluded.start_time), \
       timestamp = min(timestamp, excluded.timestamp), \
       end_time = max(end_time, excluded.end_time), \
       root_span_id = CASE WHEN ?8 THEN excluded.root_span_id \
                           ELSE coalesce(root_span_id, excluded.root_span_id) END, \
       service_name = CASE WHEN ?8 OR (root_span_id IS NULL AND excluded.root_span_id IS NOT NULL) \
                           THEN excluded.service_name ELSE service_name END, \
       span_count = span_count + excluded.span_count, \
       error_count = error_count + excluded.error_count";

/// Writes batches of telemetry into one SQLite file.
pub(crate) struct SqliteWriter {
    conn: Connection,
    path: PathBuf,
    // Per-batch aggregation of the `traces` rows, reused across batches.
    traces: FxHashMap<TraceId, TraceAgg>,
    // Per-batch aggregation of the metric points, reused across batches.
    series: MetricSeriesAgg,
    // Reused JSON buffer.
    json: Vec<u8>,
    written_since_checkpoint: bool,
    last_checkpoint: Instant,
    /// `TELEMETRY_SQLITE_RETENTION`, enforced from `tick()`.
    retention: Option<crate::store::retention::RetentionTask>,
    /// Keeps the WAL copied into the file while batches keep coming.
    checkpointer: WalCheckpointer,
}

/// What one batch says about one trace.
struct TraceAgg {
    start: SystemTime,
    end: SystemTime,
    // Service of the first span seen; replaced by the root's.
    service: Arc<str>,
    root: Option<SpanId>,
    // The root has no parent at all (a remote-parented root can be superseded).
    true_root: bool,
    spans: u32,
    errors: u32,
}

impl SqliteWriter {
    /// Open (creating if needed) the store at `path`: parent directories, WAL, busy
    /// timeout, schema creation or migration, and a real write, so that an unusable path
    /// fails here rather than on the first batch.
    pub(crate) fn open(path: &Path, config: &TelemetryConfig) -> Result<SqliteWriter, ConfigError> {
        let mut writer = Self::open_path(path).map_err(|reason| ConfigError::Sqlite {
            path: path.to_path_buf(),
            reason,
        })?;
        writer.retention = crate::store::retention::RetentionTask::new(config.sqlite_retention());
        Ok(writer)
    }

    fn open_path(path: &Path) -> Result<SqliteWriter, String> {
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
        for sql in [INSERT_SPAN, INSERT_EVENT, INSERT_METRIC, UPSERT_TRACE] {
            conn.prepare_cached(sql).map_err(sqlite)?;
        }
        Ok(SqliteWriter {
            conn,
            path: path.to_path_buf(),
            traces: FxHashMap::default(),
            series: MetricSeriesAgg::default(),
            json: Vec::with_capacity(1024),
            written_since_checkpoint: false,
            last_checkpoint: Instant::now(),
            retention: None,
            checkpointer: WalCheckpointer::new(path),
        })
    }

    fn write(&mut self, batch: &[Telemetry]) -> Result<(), BatchError> {
        let SqliteWriter {
            conn,
            traces,
            series,
            json,
            ..
        } = self;
        traces.clear();
        series.clear();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut spans = tx.prepare_cached(INSERT_SPAN)?;
            let mut events = tx.prepare_cached(INSERT_EVENT)?;
            let mut metrics = tx.prepare_cached(INSERT_METRIC)?;
            for item in batch {
                if let Telemetry::Log(log) = item {
                    insert_event(&mut events, json, log, log.trace_id, log.span_id)?;
                    continue;
                }
                // A span, a metric batch, or an inference carrying both.
                if let Some(span) = item.span() {
                    if insert_span(&mut spans, json, span)? {
                        let trace = Some(span.trace_id);
                        let span_id = Some(span.span_id);
                        // Not `item.derived_events()`: the `span_events` view derives an
                        // inference's token events from its row (schema version 3).
                        for event in &span.events {
                            insert_event(&mut events, json, event, trace, span_id)?;
                        }
                        aggregate(traces, span);
                    }
                }
                match item {
                    Telemetry::Inference(span, metrics) => series.add_inference(metrics, span)?,
                    Telemetry::Metrics(points) => {
                        for point in points.iter() {
                            series.add(point)?;
                        }
                    }
                    _ => {}
                }
            }
            series.insert_all(&mut metrics)?;
            if !traces.is_empty() {
                let mut upsert = tx.prepare_cached(UPSERT_TRACE)?;
                // In id order: ids are sequenced, so the rows append to the `traces` tree
                // (the map's own order scattered them over the batch's key range).
                let mut ordered: Vec<_> = traces.iter().collect();
                ordered.sort_unstable_by_key(|(trace_id, _)| **trace_id);
                for (trace_id, t) in ordered {
                    let root = t.root.map(|s| span_hex(&s));
                    upsert.execute(params![
                        Text(&trace_hex(trace_id)),
                        &*t.service,
                        root.as_ref().map(|r| Text(r)),
                        Text(&timestamp(t.start)),
                        Text(&timestamp(t.end)),
                        t.spans,
                        t.errors,
                        t.true_root,
                    ])?;
                }
            }
        }
        tx.commit()?;
        self.written_since_checkpoint = true;
        self.checkpointer.committed(batch.len());
        Ok(())
    }

    fn checkpoint(&mut self) {
        // PASSIVE: never waits for readers or other writers. Failures are harmless (the
        // next commit past the threshold checkpoints anyway).
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        self.written_since_checkpoint = false;
        self.last_checkpoint = Instant::now();
    }
}

impl BatchWriter for SqliteWriter {
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        self.write(batch).map_err(|e| {
            format!(
                "cannot write {} item(s) to the SQLite trace store {}: {e}",
                batch.len(),
                self.path.display()
            )
            .into()
        })
    }

    fn tick(&mut self) {
        if let Some(retention) = &mut self.retention {
            retention.tick(&self.conn);
        }
        if self.written_since_checkpoint && self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            self.checkpoint();
        }
    }

    fn shutdown(&mut self) {
        self.checkpointer.stop();
        if self.written_since_checkpoint {
            self.checkpoint();
        }
        // Keeps the query planner's statistics fresh; cheap, and a no-op when nothing changed.
        let _ = self.conn.execute_batch("PRAGMA optimize");
    }
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

/// Why a batch failed: SQLite, or (never in practice) JSON encoding.
#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot encode attributes as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Insert one span; false when a span with this id is already stored (then nothing else of
/// it is written).
fn insert_span(
    stmt: &mut rusqlite::CachedStatement<'_>,
    json: &mut Vec<u8>,
    span: &SpanRecord,
) -> Result<bool, BatchError> {
    let mut obj = JsonObject::new(json);
    for (k, v) in &span.attributes {
        obj.attr(k, v)?;
    }
    let attributes = obj.finish();
    let parent = span.parent_span_id.map(|p| span_hex(&p));
    let inserted = stmt.execute(params![
        Text(&span_hex(&span.span_id)),
        Text(&trace_hex(&span.trace_id)),
        parent.as_ref().map(|p| Text(p)),
        span.name,
        Text(&timestamp(span.start_time)),
        Text(&timestamp(span.end_time)),
        span.duration_ms(),
        Text(attributes),
        span.status.as_str(),
        span.kind.as_str(),
        span.status_message,
        category(span.category),
        &*span.service_name,
    ])?;
    Ok(inserted > 0)
}

fn insert_event(
    stmt: &mut rusqlite::CachedStatement<'_>,
    json: &mut Vec<u8>,
    event: &LogRecord,
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
) -> Result<(), BatchError> {
    let mut obj = JsonObject::new(json);
    let mut severity = None;
    let mut message = None;
    let (mut metric, mut value, mut unit) = (None, None, None);
    let own_keys: &[&str] = match &event.body {
        LogBody::Unstructured {
            message: m,
            severity: s,
        } => {
            severity = Some(s.as_str());
            message = Some(m.as_str());
            &[]
        }
        LogBody::Metric {
            metric: m,
            value: v,
            unit: u,
        } => {
            metric = Some(m.as_str());
            value = Some(*v);
            unit = Some(u.as_str());
            &[]
        }
        LogBody::SpanStart {
            name,
            parent_span_id,
        } => {
            message = Some("span_start");
            obj.str("name", name)?;
            match parent_span_id {
                Some(p) => obj.str_bytes("parent_span_id", &span_hex(p))?,
                None => obj.null("parent_span_id")?,
            }
            &["name", "parent_span_id"]
        }
        LogBody::SpanEnd { status } => {
            message = Some("span_end");
            obj.str("status", status.as_str())?;
            &["status"]
        }
    };
    for (k, v) in &event.attributes {
        if !own_keys.contains(&k.as_ref()) {
            obj.attr(k, v)?;
        }
    }
    let attributes = obj.finish();
    let trace = trace_id.map(|t| trace_hex(&t));
    let span = span_id.map(|s| span_hex(&s));
    stmt.execute(params![
        trace.as_ref().map(|t| Text(t)),
        span.as_ref().map(|s| Text(s)),
        Text(&timestamp(event.timestamp)),
        event.body.event_type(),
        severity,
        message,
        metric,
        value,
        unit,
        Text(attributes),
    ])?;
    Ok(())
}

/// The metric points of one batch, summed per series and wall-clock second (schema version
/// 2): one row per key instead of one per measurement. Rows keep the order in which their
/// series first appeared in the batch.
#[derive(Default)]
struct MetricSeriesAgg {
    // Key bytes (second, name, unit, instrument, labels JSON) -> index into `rows`.
    index: FxHashMap<Vec<u8>, usize>,
    rows: Vec<MetricRow>,
    // Reused key buffer.
    key: Vec<u8>,
    last: Option<LastInference>,
}

/// The series the previous inference of the batch went to. Consecutive inferences mostly
/// share them (same model, provider, operation, second): the next one then adds its
/// values to those rows directly, without building, encoding and hashing six points —
/// a third of the writer's time per inference before.
struct LastInference {
    second: i64,
    usage: bool,
    sources: [Option<AttrValue>; 5],
    rows: [usize; 6],
}

/// One aggregated `metrics` row.
struct MetricRow {
    name: std::borrow::Cow<'static, str>,
    instrument: Instrument,
    unit: &'static str,
    // Where the labels' JSON starts in the row's key.
    labels_at: usize,
    key: Vec<u8>,
    sum: f64,
    count: u64,
    latest: SystemTime,
    // The first contributing span: an exemplar.
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
}

impl MetricSeriesAgg {
    fn clear(&mut self) {
        self.index.clear();
        self.rows.clear();
        self.last = None;
    }

    /// The points of an inference: as `add` of each of `metrics.measure_span(span)`.
    fn add_inference(
        &mut self,
        metrics: &InferenceMetrics,
        span: &SpanRecord,
    ) -> Result<(), serde_json::Error> {
        let usage = crate::layer::usage_of(&span.attributes);
        let (values, n) = crate::metrics::point_values(usage, crate::metrics::duration_of(span));
        let second = unix_second(span.end_time);
        let sources = crate::metrics::label_sources(&span.attributes);
        if let Some(last) = &self.last {
            let same = last.second == second
                && last.usage == usage.is_some()
                && last
                    .sources
                    .iter()
                    .zip(&sources)
                    .all(|(a, b)| a.as_ref() == *b);
            if same {
                for (&row, value) in last.rows.iter().zip(values).take(n) {
                    let row = &mut self.rows[row];
                    row.sum += value;
                    row.count += 1;
                    row.latest = row.latest.max(span.end_time);
                }
                return Ok(());
            }
        }
        let mut rows = [0; 6];
        for (i, point) in metrics.measure_span(span).iter().enumerate() {
            rows[i] = self.add(point)?;
        }
        self.last = Some(LastInference {
            second,
            usage: usage.is_some(),
            sources: sources.map(|v| v.cloned()),
            rows,
        });
        Ok(())
    }

    /// Add one point to its series' row; returns the row's index.
    fn add(&mut self, point: &MetricRecord) -> Result<usize, serde_json::Error> {
        let second = unix_second(point.timestamp);
        let key = &mut self.key;
        key.clear();
        key.extend_from_slice(&second.to_le_bytes());
        key.extend_from_slice(point.name.as_bytes());
        key.push(0);
        key.extend_from_slice(point.unit.as_bytes());
        key.push(0);
        key.push(point.instrument as u8);
        let labels_at = key.len();
        let mut obj = JsonObject::append(key);
        for (k, v) in &point.attributes {
            obj.attr(k, v)?;
        }
        obj.finish();
        match self.index.get(key.as_slice()) {
            Some(&i) => {
                let row = &mut self.rows[i];
                row.sum += point.value;
                row.count += 1;
                row.latest = row.latest.max(point.timestamp);
                Ok(i)
            }
            None => {
                let i = self.rows.len();
                self.index.insert(key.clone(), i);
                self.rows.push(MetricRow {
                    name: point.name.clone(),
                    instrument: point.instrument,
                    unit: point.unit,
                    labels_at,
                    key: key.clone(),
                    sum: point.value,
                    count: 1,
                    latest: point.timestamp,
                    trace_id: point.trace_id,
                    span_id: point.span_id,
                });
                Ok(i)
            }
        }
    }

    fn insert_all(&self, stmt: &mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<()> {
        for row in &self.rows {
            let trace = row.trace_id.map(|t| trace_hex(&t));
            let span = row.span_id.map(|s| span_hex(&s));
            stmt.execute(params![
                &*row.name,
                instrument(row.instrument),
                row.unit,
                // A non-finite sum is stored as NULL (SQLite's own rule for NaN).
                row.sum.is_finite().then_some(row.sum),
                Text(&timestamp(row.latest)),
                Text(&row.key[row.labels_at..]),
                trace.as_ref().map(|t| Text(t)),
                span.as_ref().map(|s| Text(s)),
                row.count,
            ])?;
        }
        Ok(())
    }
}

/// The whole seconds since the Unix epoch (-1 before it): a metric row's time bucket.
fn unix_second(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(-1, |d| d.as_secs() as i64)
}

fn aggregate(traces: &mut FxHashMap<TraceId, TraceAgg>, span: &SpanRecord) {
    let is_root = span.parent_span_id.is_none() || span.parent_is_remote;
    let true_root = span.parent_span_id.is_none();
    let error = u32::from(span.status == SpanStatus::Error);
    let t = traces.entry(span.trace_id).or_insert_with(|| TraceAgg {
        start: span.start_time,
        end: span.end_time,
        service: span.service_name.clone(),
        root: None,
        true_root: false,
        spans: 0,
        errors: 0,
    });
    t.start = t.start.min(span.start_time);
    t.end = t.end.max(span.end_time);
    t.spans += 1;
    t.errors += error;
    // A true root wins over a remote-parented one; otherwise the first root seen.
    if is_root && (t.root.is_none() || (true_root && !t.true_root)) {
        t.root = Some(span.span_id);
        t.true_root = true_root;
        t.service = span.service_name.clone();
    }
}

fn category(c: SpanCategory) -> &'static str {
    match c {
        SpanCategory::Inference => "inference",
        SpanCategory::AgentTurn => "agent_turn",
        SpanCategory::Tool => "tool",
        SpanCategory::Other => "other",
    }
}

fn instrument(i: Instrument) -> &'static str {
    match i {
        Instrument::Counter => "counter",
        Instrument::Histogram => "histogram",
        Instrument::Gauge => "gauge",
    }
}

/// Borrowed UTF-8 bytes bound as SQLite TEXT (ids, timestamps, JSON built in buffers).
struct Text<'a>(&'a [u8]);

impl ToSql for Text<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0)))
    }
}

fn hex_into(out: &mut [u8], bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
}

fn trace_hex(id: &TraceId) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex_into(&mut out, &id.0);
    out
}

fn span_hex(id: &SpanId) -> [u8; 16] {
    let mut out = [0u8; 16];
    hex_into(&mut out, &id.0);
    out
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC), as [`crate::record::sqlite_timestamp`], without
/// allocating. Years outside 0..=9999 are clamped to that range.
fn timestamp(t: SystemTime) -> [u8; 26] {
    let micros: i64 = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    };
    // 0000-01-01 and 9999-12-31 23:59:59.999999, in microseconds since the epoch.
    let micros = micros.clamp(-62_167_219_200_000_000, 253_402_300_799_999_999);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut out = *b"0000-00-00 00:00:00.000000";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, i64::from(m));
    put(8, 2, i64::from(d));
    put(11, 2, sod / 3600);
    put(14, 2, sod % 3600 / 60);
    put(17, 2, sod % 60);
    put(20, 6, frac);
    out
}

// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `value` as a JSON string. Attribute names and most values need no escaping: those are
/// copied as they are (serde_json's escaper, per string, was ~5 % of the writer's time).
fn json_str(buf: &mut Vec<u8>, value: &str) -> Result<(), serde_json::Error> {
    // Without short-circuit, so that the check is vectorised.
    let needs_escape = value.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        buf.reserve(value.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(value.as_bytes());
        buf.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *buf, value)
    }
}

/// Builds one JSON object in a reused buffer.
struct JsonObject<'a> {
    buf: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.clear();
        Self::append(buf)
    }

    /// Start the object at the end of what `buf` already holds.
    fn append(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        JsonObject { buf, empty: true }
    }

    fn key(&mut self, key: &str) -> Result<(), serde_json::Error> {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        json_str(self.buf, key)?;
        self.buf.push(b':');
        Ok(())
    }

    fn attr(&mut self, key: &str, value: &AttrValue) -> Result<(), serde_json::Error> {
        self.key(key)?;
        match value {
            AttrValue::Str(s) => json_str(self.buf, s),
            // Numbers stay numbers (a non-finite float becomes null).
            _ => serde_json::to_writer(&mut *self.buf, value),
        }
    }

    fn str(&mut self, key: &str, value: &str) -> Result<(), serde_json::Error> {
        self.key(key)?;
        json_str(self.buf, value)
    }

    /// A value that is already plain ASCII (hex ids): no escaping needed.
    fn str_bytes(&mut self, key: &str, value: &[u8]) -> Result<(), serde_json::Error> {
        self.key(key)?;
        self.buf.push(b'"');
        self.buf.extend_from_slice(value);
        self.buf.push(b'"');
        Ok(())
    }

    fn null(&mut self, key: &str) -> Result<(), serde_json::Error> {
        self.key(key)?;
        self.buf.extend_from_slice(b"null");
        Ok(())
    }

    fn finish(self) -> &'a [u8] {
        self.buf.push(b'}');
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{sqlite_timestamp, Severity, SpanKind};
    use std::borrow::Cow;

    fn config() -> TelemetryConfig {
        TelemetryConfig::builder().sinks([]).build()
    }

    fn open(path: &Path) -> SqliteWriter {
        SqliteWriter::open(path, &config()).unwrap()
    }

    fn reader(path: &Path) -> Connection {
        Connection::open(path).unwrap()
    }

    fn at(secs_ago: f64) -> SystemTime {
        SystemTime::now() - Duration::from_secs_f64(secs_ago)
    }

    struct S {
        trace: TraceId,
        span: SpanId,
        parent: Option<SpanId>,
        remote: bool,
        name: &'static str,
        start: SystemTime,
        ms: u64,
        status: SpanStatus,
        attributes: Vec<(&'static str, AttrValue)>,
        events: Vec<LogRecord>,
        service: &'static str,
    }

    impl S {
        fn new(trace: TraceId, parent: Option<SpanId>, name: &'static str) -> Self {
            S {
                trace,
                span: SpanId::random(),
                parent,
                remote: false,
                name,
                start: at(10.0),
                ms: 5,
                status: SpanStatus::Ok,
                attributes: Vec::new(),
                events: Vec::new(),
                service: "test-service",
            }
        }
        fn record(&self) -> Arc<SpanRecord> {
            Arc::new(SpanRecord {
                trace_id: self.trace,
                span_id: self.span,
                parent_span_id: self.parent,
                parent_is_remote: self.remote,
                name: self.name.to_owned(),
                kind: SpanKind::Internal,
                category: SpanCategory::Other,
                start_time: self.start,
                end_time: self.start + Duration::from_millis(self.ms),
                status: self.status,
                status_message: (self.status == SpanStatus::Error).then(|| "boom".to_owned()),
                attributes: self
                    .attributes
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
                    .collect(),
                events: self.events.clone(),
                service_name: Arc::from(self.service),
                target: "tests",
            })
        }
        fn item(&self) -> Telemetry {
            Telemetry::Span(self.record())
        }
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn trace_row(
        conn: &Connection,
        trace: TraceId,
    ) -> (
        Option<String>,
        Option<String>,
        String,
        String,
        String,
        i64,
        i64,
    ) {
        conn.query_row(
            "SELECT root_span_id, service_name, start_time, end_time, timestamp, span_count, error_count
             FROM traces WHERE trace_id = ?1",
            [trace.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap()
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_does() {
        for value in [
            "",
            "gen_ai.request.model",
            "llama3.2:3b",
            "caf\u{e9} \u{1F600} \u{7f}",
            "a\"quote",
            "back\\slash",
            "tab\tnewline\n\u{1}\u{1f}",
        ] {
            let mut buf = Vec::new();
            json_str(&mut buf, value).unwrap();
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                serde_json::to_string(value).unwrap()
            );
        }
    }

    #[test]
    fn inference_points_summed_per_series_as_the_general_path_sums_them() {
        // Consecutive inferences that share their series (the fast path) and ones that
        // do not: another second, model, error, no usage, a number where text was.
        let metrics = Arc::new(crate::metrics::InferenceMetrics::new("llama_stack"));
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut items = Vec::new();
        for i in 0..40u64 {
            let mut attributes = vec![
                ("gen_ai.operation.name", AttrValue::Str("chat".into())),
                ("gen_ai.provider.name", AttrValue::Str("ollama".into())),
                (
                    "gen_ai.request.model",
                    AttrValue::Str(if i % 7 < 5 { "a" } else { "b" }.into()),
                ),
            ];
            if i % 9 != 4 {
                attributes.push(("gen_ai.usage.input_tokens", AttrValue::U64(i)));
                attributes.push(("gen_ai.usage.output_tokens", AttrValue::U64(2 * i + 1)));
            }
            if i % 11 == 3 {
                attributes.push(("error.type", AttrValue::Str("Timeout".into())));
            }
            if i == 20 {
                attributes[2].1 = AttrValue::U64(7);
            }
            let mut s = S::new(TraceId::random(), None, "chat a");
            s.attributes = attributes;
            s.start = base + Duration::from_millis(i * 150);
            s.ms = 40 + i;
            let mut record = s.record();
            Arc::get_mut(&mut record).unwrap().category = SpanCategory::Inference;
            items.push(Telemetry::Inference(record, metrics.clone()));
        }
        let general: Vec<Telemetry> = items
            .iter()
            .map(|item| Telemetry::Metrics(item.metrics().unwrap().into_owned().into()))
            .collect();
        let rows = |items: &[Telemetry], name: &str| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            open(&path).write_batch(items).unwrap();
            reader(&path)
                .prepare(
                    "SELECT name, instrument, unit, value, count, timestamp, attributes, \
                     trace_id, span_id FROM metrics ORDER BY id",
                )
                .unwrap()
                .query_map([], |r| {
                    Ok(format!(
                        "{:?}",
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, f64>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, String>(6)?,
                            r.get::<_, String>(7)?,
                            r.get::<_, String>(8)?,
                        )
                    ))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        };
        let fast = rows(&items, "fast.db");
        assert_eq!(fast, rows(&general, "general.db"));
        // Several series and seconds, and fewer rows than points.
        assert!(fast.len() > 12 && fast.len() < 200, "{}", fast.len());
    }

    #[test]
    fn timestamps_match_the_record_formatter() {
        let mut t = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400 * 365 * 3 + 17);
        for step in [1u64, 999_999, 86_399_000_001, 7_777_777_777_777] {
            for _ in 0..200 {
                let ours = timestamp(t);
                assert_eq!(std::str::from_utf8(&ours).unwrap(), sqlite_timestamp(t));
                t += Duration::from_micros(step);
            }
        }
        let now = SystemTime::now();
        assert_eq!(
            std::str::from_utf8(&timestamp(now)).unwrap(),
            sqlite_timestamp(now)
        );
    }

    #[test]
    fn open_creates_the_schema_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dirs/trace_store.db");
        let _w = open(&path);
        let conn = reader(&path);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, schema::SCHEMA_VERSION);
        for (kind, name) in [
            ("table", "traces"),
            ("table", "spans"),
            ("table", "span_logs"),
            ("table", "metrics"),
            ("view", "span_events"),
            ("view", "span_token_events"),
        ] {
            let n = count(
                &conn,
                &format!(
                    "SELECT count(*) FROM sqlite_schema WHERE type = '{kind}' AND name = '{name}'"
                ),
            );
            assert_eq!(n, 1, "{kind} {name}");
        }
        // Opening again (a restart, or a second process) keeps the store.
        drop(_w);
        let _again = open(&path);
    }

    #[test]
    fn a_span_tree_and_its_trace_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        let trace = TraceId::random();
        let mut root = S::new(trace, None, "invoke_agent weather");
        root.start = at(20.0);
        root.ms = 3_000;
        root.service = "root-service";
        let mut child = S::new(trace, Some(root.span), "chat llama3.2:3b");
        child.start = at(19.5);
        child.service = "child-service";
        let mut grandchild = S::new(trace, Some(child.span), "execute_tool get_weather");
        grandchild.start = at(19.4);
        grandchild.status = SpanStatus::Error;

        // Children close first: the trace is findable before its root arrives.
        w.write_batch(&[grandchild.item(), child.item()]).unwrap();
        let conn = reader(&path);
        let (root_id, service, start, _, ts, spans, errors) = trace_row(&conn, trace);
        assert_eq!(root_id, None);
        assert_eq!(service.as_deref(), Some("test-service"));
        assert_eq!(start, sqlite_timestamp(child.start));
        assert_eq!(ts, start);
        assert_eq!((spans, errors), (2, 1));

        w.write_batch(&[root.item()]).unwrap();
        let (root_id, service, start, end, ts, spans, errors) = trace_row(&conn, trace);
        assert_eq!(root_id, Some(root.span.to_string()));
        assert_eq!(service.as_deref(), Some("root-service"));
        assert_eq!(start, sqlite_timestamp(root.start));
        assert_eq!(ts, start);
        assert_eq!(
            end,
            sqlite_timestamp(root.start + Duration::from_millis(3_000))
        );
        assert_eq!((spans, errors), (3, 1));

        let parent_of = |s: &S| -> Option<String> {
            conn.query_row(
                "SELECT parent_span_id FROM spans WHERE span_id = ?1",
                [s.span.to_string()],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(parent_of(&root), None);
        assert_eq!(parent_of(&child), Some(root.span.to_string()));
        assert_eq!(parent_of(&grandchild), Some(child.span.to_string()));
        let (status, message, kind, duration): (String, Option<String>, String, f64) = conn
            .query_row(
                "SELECT status, status_message, kind, duration_ms FROM spans WHERE span_id = ?1",
                [grandchild.span.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            (status.as_str(), message.as_deref(), kind.as_str()),
            ("error", Some("boom"), "internal")
        );
        assert!((duration - 5.0).abs() < 1e-9, "{duration}");

        // The same tree written in one batch, root last, in a fresh trace.
        let trace2 = TraceId::random();
        let r2 = S::new(trace2, None, "root");
        let c2 = S::new(trace2, Some(r2.span), "child");
        w.write_batch(&[c2.item(), r2.item()]).unwrap();
        assert_eq!(trace_row(&conn, trace2).0, Some(r2.span.to_string()));
        // Children of a span, through the (trace_id, parent_span_id) index.
        let children = count(
            &conn,
            &format!(
                "SELECT count(*) FROM spans WHERE trace_id = '{trace}' AND parent_span_id = '{}'",
                root.span
            ),
        );
        assert_eq!(children, 1);
    }

    #[test]
    fn a_remote_parent_makes_a_root_until_the_true_root_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        let trace = TraceId::random();
        let client_root = S::new(trace, None, "client");
        let mut server = S::new(trace, Some(client_root.span), "server");
        server.remote = true;
        w.write_batch(&[server.item()]).unwrap();
        let conn = reader(&path);
        assert_eq!(trace_row(&conn, trace).0, Some(server.span.to_string()));
        // Another process writes the caller's root into the same file later.
        w.write_batch(&[client_root.item()]).unwrap();
        assert_eq!(
            trace_row(&conn, trace).0,
            Some(client_root.span.to_string())
        );
        // A later remote-parented span does not displace it.
        let mut other = S::new(trace, Some(client_root.span), "server again");
        other.remote = true;
        w.write_batch(&[other.item()]).unwrap();
        assert_eq!(
            trace_row(&conn, trace).0,
            Some(client_root.span.to_string())
        );
        assert_eq!(trace_row(&conn, trace).5, 3);
    }

    #[test]
    fn attributes_are_one_typed_json_object() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        let mut s = S::new(TraceId::random(), None, "chat llama3.2:3b");
        s.attributes = vec![
            ("gen_ai.request.model", AttrValue::Str("llama3.2:3b".into())),
            ("gen_ai.usage.input_tokens", AttrValue::U64(42)),
            ("offset", AttrValue::I64(-3)),
            ("temperature", AttrValue::F64(0.25)),
            ("gen_ai.is_stream", AttrValue::Bool(true)),
            (
                "quote\"d",
                AttrValue::Str("line\nbreak \"and\" \\ unicode é".into()),
            ),
            ("nan", AttrValue::F64(f64::NAN)),
        ];
        w.write_batch(&[s.item()]).unwrap();
        let conn = reader(&path);
        let get = |path: &str| -> (String, String) {
            conn.query_row(
                "SELECT json_type(attributes, ?1), CAST(json_extract(attributes, ?1) AS TEXT) FROM spans",
                [path],
                |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())),
            )
            .unwrap()
        };
        assert_eq!(
            get(r#"$."gen_ai.request.model""#),
            ("text".into(), "llama3.2:3b".into())
        );
        assert_eq!(
            get(r#"$."gen_ai.usage.input_tokens""#),
            ("integer".into(), "42".into())
        );
        assert_eq!(get(r#"$."offset""#), ("integer".into(), "-3".into()));
        assert_eq!(get(r#"$."temperature""#), ("real".into(), "0.25".into()));
        assert_eq!(get(r#"$."gen_ai.is_stream""#).0, "true");
        assert_eq!(get(r#"$."quote\"d""#).1, "line\nbreak \"and\" \\ unicode é");
        assert_eq!(get(r#"$."nan""#).0, "null");
        let tokens: i64 = conn
            .query_row(r#"SELECT json_extract(attributes, '$."gen_ai.usage.input_tokens"') + 1 FROM spans"#, [], |r| r.get(0))
            .unwrap();
        assert_eq!(tokens, 43);
        assert_eq!(count(&conn, "SELECT json_valid(attributes) FROM spans"), 1);
        // No attributes: an empty object, not NULL.
        let bare = S::new(TraceId::random(), None, "bare");
        w.write_batch(&[bare.item()]).unwrap();
        let attrs: String = conn
            .query_row(
                "SELECT attributes FROM spans WHERE name = 'bare'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(attrs, "{}");
    }

    #[test]
    fn span_events_free_logs_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        let trace = TraceId::random();
        let mut s = S::new(trace, None, "chat m");
        let log = |body: LogBody| LogRecord {
            timestamp: at(9.0),
            trace_id: Some(trace),
            span_id: Some(s.span),
            body,
            attributes: vec![(Cow::Borrowed("k"), AttrValue::U64(1))],
        };
        s.events = vec![
            log(LogBody::SpanStart {
                name: "chat m".into(),
                parent_span_id: None,
            }),
            log(LogBody::Unstructured {
                message: "calling the model".into(),
                severity: Severity::Info,
            }),
            log(LogBody::Metric {
                metric: "prompt_tokens".into(),
                value: 12.0,
                unit: "tokens".into(),
            }),
            log(LogBody::SpanEnd {
                status: SpanStatus::Ok,
            }),
        ];
        let free = LogRecord {
            timestamp: at(1.0),
            trace_id: None,
            span_id: None,
            body: LogBody::Unstructured {
                message: "outside".into(),
                severity: Severity::Warn,
            },
            attributes: Vec::new(),
        };
        let points: Arc<[MetricRecord]> = vec![
            MetricRecord {
                name: Cow::Borrowed("llama_stack.prompt_tokens"),
                instrument: Instrument::Counter,
                unit: "{token}",
                value: 12.0,
                attributes: vec![
                    (Cow::Borrowed("model_id"), AttrValue::Str("m".into())),
                    (
                        Cow::Borrowed("provider_id"),
                        AttrValue::Str("ollama".into()),
                    ),
                ],
                timestamp: at(9.0),
                trace_id: Some(trace),
                span_id: Some(s.span),
            },
            MetricRecord {
                name: Cow::Borrowed("gen_ai.client.operation.duration"),
                instrument: Instrument::Histogram,
                unit: "s",
                value: 0.005,
                attributes: Vec::new(),
                timestamp: at(9.0),
                trace_id: None,
                span_id: None,
            },
        ]
        .into();
        w.write_batch(&[
            s.item(),
            Telemetry::Log(Arc::new(free)),
            Telemetry::Metrics(points),
        ])
        .unwrap();
        let conn = reader(&path);
        type Row = (
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<f64>,
            String,
        );
        let rows: Vec<Row> = conn
            .prepare("SELECT span_id, event_type, severity, message, metric, value, attributes FROM span_events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let sid = Some(s.span.to_string());
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].0, sid);
        assert_eq!(
            (rows[0].1.as_str(), rows[0].3.as_deref()),
            ("structured_log", Some("span_start"))
        );
        assert_eq!(
            rows[0].6,
            r#"{"name":"chat m","parent_span_id":null,"k":1}"#
        );
        assert_eq!(
            (
                rows[1].1.as_str(),
                rows[1].2.as_deref(),
                rows[1].3.as_deref()
            ),
            ("unstructured_log", Some("info"), Some("calling the model"))
        );
        assert_eq!(
            (rows[2].1.as_str(), rows[2].4.as_deref(), rows[2].5),
            ("metric", Some("prompt_tokens"), Some(12.0))
        );
        assert_eq!(rows[3].6, r#"{"status":"ok","k":1}"#);
        assert_eq!(
            (
                rows[4].0.as_deref(),
                rows[4].2.as_deref(),
                rows[4].3.as_deref()
            ),
            (None, Some("warn"), Some("outside"))
        );
        let trace_of_events = count(
            &conn,
            &format!("SELECT count(*) FROM span_events WHERE trace_id = '{trace}'"),
        );
        assert_eq!(trace_of_events, 4);

        let metrics: Vec<(String, String, String, f64, String, Option<String>)> = conn
            .prepare("SELECT name, instrument, unit, value, attributes, span_id FROM metrics ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(metrics.len(), 2);
        assert_eq!(
            metrics[0],
            (
                "llama_stack.prompt_tokens".into(),
                "counter".into(),
                "{token}".into(),
                12.0,
                r#"{"model_id":"m","provider_id":"ollama"}"#.into(),
                sid
            )
        );
        assert_eq!(
            (metrics[1].1.as_str(), metrics[1].3, metrics[1].5.as_deref()),
            ("histogram", 0.005, None)
        );
    }

    fn point(name: &'static str, value: f64, model: &str, when: SystemTime) -> MetricRecord {
        MetricRecord {
            name: Cow::Borrowed(name),
            instrument: Instrument::Counter,
            unit: "{token}",
            value,
            attributes: vec![(Cow::Borrowed("model_id"), AttrValue::Str(model.into()))],
            timestamp: when,
            trace_id: None,
            span_id: None,
        }
    }

    #[test]
    fn metric_points_are_summed_per_series_and_second_within_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        // A whole second, so that "the same second" below cannot straddle two.
        let second = SystemTime::UNIX_EPOCH
            + Duration::from_secs(
                at(60.0)
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_secs(),
            );
        let ms = |n: u64| second + Duration::from_millis(n);
        let mut first = point("llama_stack.tokens", 10.0, "a", ms(100));
        first.trace_id = Some(TraceId::random());
        first.span_id = Some(SpanId::random());
        let batch: Arc<[MetricRecord]> = vec![
            first.clone(),
            point("llama_stack.tokens", 20.0, "b", ms(200)),
            point("llama_stack.tokens", 5.0, "a", ms(900)),
            point("llama_stack.tokens", 1.0, "a", ms(1_100)), // the next second
            point("llama_stack.prompt_tokens", 7.0, "a", ms(300)),
        ]
        .into();
        w.write_batch(&[Telemetry::Metrics(batch.clone())]).unwrap();
        // A second batch with the same points: rows of its own, never merged into stored ones.
        w.write_batch(&[Telemetry::Metrics(batch)]).unwrap();
        let conn = reader(&path);
        type Row = (String, f64, i64, String, String, Option<String>);
        let rows: Vec<Row> = conn
            .prepare(
                "SELECT name, value, count, timestamp, attributes, span_id FROM metrics ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 8, "{rows:#?}");
        let a = r#"{"model_id":"a"}"#.to_string();
        let b = r#"{"model_id":"b"}"#.to_string();
        let first_span = first.span_id.map(|s| s.to_string());
        let expected: Vec<Row> = vec![
            // The latest measurement's time; the first contributing span as exemplar.
            (
                "llama_stack.tokens".into(),
                15.0,
                2,
                sqlite_timestamp(ms(900)),
                a.clone(),
                first_span,
            ),
            (
                "llama_stack.tokens".into(),
                20.0,
                1,
                sqlite_timestamp(ms(200)),
                b,
                None,
            ),
            (
                "llama_stack.tokens".into(),
                1.0,
                1,
                sqlite_timestamp(ms(1_100)),
                a.clone(),
                None,
            ),
            (
                "llama_stack.prompt_tokens".into(),
                7.0,
                1,
                sqlite_timestamp(ms(300)),
                a,
                None,
            ),
        ];
        assert_eq!(rows[..4], expected[..]);
        assert_eq!(rows[4..], expected[..]);
        // What a reader sums is what was measured.
        assert_eq!(
            count(
                &conn,
                "SELECT SUM(count) FROM metrics WHERE name = 'llama_stack.tokens'"
            ),
            8
        );
        assert_eq!(
            count(
                &conn,
                "SELECT CAST(SUM(value) AS INTEGER) FROM metrics WHERE name = 'llama_stack.tokens'"
            ),
            72
        );
    }

    /// An inference span as the layer sends it, with its token events derived on read.
    fn inference(trace: TraceId, attributes: Vec<(&'static str, AttrValue)>) -> Telemetry {
        let mut s = S::new(trace, None, "chat m");
        s.attributes = attributes;
        let mut record = s.record();
        Arc::get_mut(&mut record).unwrap().category = SpanCategory::Inference;
        Telemetry::Inference(
            record,
            Arc::new(crate::metrics::InferenceMetrics::new("llama_stack")),
        )
    }

    type EventRow = (
        Option<String>,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<String>,
        String,
    );

    fn event_rows(conn: &Connection, table: &str) -> Vec<EventRow> {
        conn.prepare(&format!(
            "SELECT trace_id, span_id, timestamp, event_type, severity, message, metric, value, \
             unit, attributes FROM {table} ORDER BY timestamp, id"
        ))
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn the_span_events_view_derives_exactly_the_token_events_the_writer_used_to_store() {
        let dir = tempfile::tempdir().unwrap();
        let model = || AttrValue::Str("m\"o\\d\tél\u{1}".into());
        let cases = [
            vec![
                ("gen_ai.request.model", model()),
                ("gen_ai.provider.name", AttrValue::Str("ollama".into())),
                ("gen_ai.usage.input_tokens", AttrValue::U64(12)),
                ("gen_ai.usage.output_tokens", AttrValue::U64(30)),
            ],
            // Output only, no provider: prompt 0, labels without provider_id.
            vec![
                ("gen_ai.request.model", model()),
                ("gen_ai.usage.output_tokens", AttrValue::U64(7)),
            ],
            vec![("gen_ai.usage.input_tokens", AttrValue::I64(3))],
            // No usage recorded: no events.
            vec![("gen_ai.request.model", model())],
        ];
        for (i, attributes) in cases.into_iter().enumerate() {
            let item = inference(TraceId::random(), attributes);
            let derived = item.derived_events();

            // Version 3: the span row only; the view derives its events.
            let path = dir.path().join(format!("v3-{i}.db"));
            let mut w = open(&path);
            w.write_batch(std::slice::from_ref(&item)).unwrap();
            let conn = reader(&path);
            assert_eq!(count(&conn, "SELECT count(*) FROM span_logs"), 0);
            let viewed = event_rows(&conn, "span_events");

            // Up to version 2 the writer stored `derived_events()` as rows.
            let path = dir.path().join(format!("v2-{i}.db"));
            let w = open(&path);
            {
                let mut stmt = w.conn.prepare_cached(INSERT_EVENT).unwrap();
                let mut json = Vec::new();
                let span = item.span().unwrap();
                for event in &derived {
                    insert_event(
                        &mut stmt,
                        &mut json,
                        event,
                        Some(span.trace_id),
                        Some(span.span_id),
                    )
                    .unwrap();
                }
            }
            let stored = event_rows(&reader(&path), "span_logs");

            assert_eq!(viewed, stored, "case {i}");
            assert_eq!(viewed.len(), derived.len(), "case {i}");
        }
    }

    #[test]
    fn a_version_2_store_is_migrated_with_the_same_span_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        let trace = TraceId::random();
        let item = inference(
            trace,
            vec![
                ("gen_ai.request.model", AttrValue::Str("llama3.2:3b".into())),
                ("gen_ai.provider.name", AttrValue::Str("ollama".into())),
                ("gen_ai.usage.input_tokens", AttrValue::U64(12)),
                ("gen_ai.usage.output_tokens", AttrValue::U64(30)),
            ],
        );
        let span = item.span().unwrap().clone();
        let log = |metric: &str, value: f64| LogRecord {
            timestamp: span.end_time,
            trace_id: Some(trace),
            span_id: Some(span.span_id),
            body: LogBody::Metric {
                metric: metric.into(),
                value,
                unit: "tokens".into(),
            },
            attributes: Vec::new(),
        };
        let before = {
            // A version-2 store as that writer left it: the span, its three token events
            // and, logged by the application, a log and a metric event of the same name.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(schema::V1).unwrap();
            conn.execute_batch(schema::V2).unwrap();
            conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
                .unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            let mut json = Vec::new();
            let mut spans = conn.prepare_cached(INSERT_SPAN).unwrap();
            assert!(insert_span(&mut spans, &mut json, &span).unwrap());
            let mut events = conn
                .prepare_cached(&INSERT_EVENT.replace("span_logs", "span_events"))
                .unwrap();
            let logged = [
                LogRecord {
                    body: LogBody::Unstructured {
                        message: "calling the model".into(),
                        severity: Severity::Info,
                    },
                    ..log("", 0.0)
                },
                log("total_tokens", 99.0),
            ];
            for event in logged.iter().chain(&item.derived_events()) {
                insert_event(
                    &mut events,
                    &mut json,
                    event,
                    Some(trace),
                    Some(span.span_id),
                )
                .unwrap();
            }
            drop((spans, events));
            let rows = event_rows(&conn, "span_events");
            assert_eq!(rows.len(), 5);
            rows
        };
        let _w = open(&path);
        let conn = reader(&path);
        assert_eq!(count(&conn, "PRAGMA user_version"), 3);
        // Only what was logged is still stored; the view shows every row as before.
        assert_eq!(count(&conn, "SELECT count(*) FROM span_logs"), 2);
        let mut after = event_rows(&conn, "span_events");
        let mut before = before;
        let key = |r: &EventRow| format!("{r:?}");
        before.sort_by_key(key);
        after.sort_by_key(key);
        assert_eq!(after, before);
        // SQL written for the old table still inserts and deletes.
        conn.execute(
            "INSERT INTO span_events (trace_id, span_id, timestamp, event_type, message) \
             VALUES (NULL, NULL, '2026-01-01 00:00:00.000000', 'unstructured_log', 'x')",
            [],
        )
        .unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM span_logs"), 3);
        conn.execute("DELETE FROM span_events WHERE message = 'x'", [])
            .unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM span_logs"), 2);
    }

    #[test]
    fn a_version_1_store_is_migrated_and_keeps_its_metric_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(schema::V1).unwrap();
            conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
                .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO metrics (name, instrument, value, timestamp) \
                 VALUES ('llama_stack.tokens', 'counter', 41, '2026-01-01 00:00:00.000000')",
                [],
            )
            .unwrap();
        }
        let mut w = open(&path);
        let now = SystemTime::now();
        w.write_batch(&[Telemetry::Metrics(
            vec![point("llama_stack.tokens", 1.0, "a", now)].into(),
        )])
        .unwrap();
        let conn = reader(&path);
        assert_eq!(
            count(&conn, "PRAGMA user_version"),
            i64::from(schema::SCHEMA_VERSION)
        );
        assert_eq!(count(&conn, "SELECT SUM(count) FROM metrics"), 2);
        assert_eq!(
            count(&conn, "SELECT CAST(SUM(value) AS INTEGER) FROM metrics"),
            42
        );
    }

    #[test]
    fn the_llama_stack_documentation_queries_run_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        // An old trace (2 hours ago) and a recent one.
        let old_trace = TraceId::random();
        let mut old = S::new(old_trace, None, "old turn");
        old.start = at(7_200.0);
        old.ms = 200;
        let recent = TraceId::random();
        let mut turn = S::new(recent, None, "turn");
        turn.start = at(30.0);
        turn.ms = 4_000;
        let mut items = vec![old.item()];
        // chat: 1500 and 2500 ms (avg 2000); tool: 100 and 300 (avg 200); turn: 4000.
        for (name, ms) in [
            ("chat", 1_500),
            ("chat", 2_500),
            ("tool", 100),
            ("tool", 300),
        ] {
            let mut s = S::new(recent, Some(turn.span), name);
            s.start = at(29.0);
            s.ms = ms;
            items.push(s.item());
        }
        items.push(turn.item());
        w.write_batch(&items).unwrap();
        let conn = reader(&path);

        let ids: Vec<String> = conn
            .prepare("SELECT * FROM traces WHERE timestamp > datetime('now', '-1 hour')")
            .unwrap()
            .query_map([], |r| r.get::<_, String>("trace_id"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids, vec![recent.to_string()]);

        let avg: Vec<(String, f64)> = conn
            .prepare("SELECT name, AVG(duration_ms) as avg_duration FROM spans GROUP BY name ORDER BY avg_duration DESC")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expect = [
            ("turn", 4_000.0),
            ("chat", 2_000.0),
            ("tool", 200.0),
            ("old turn", 200.0),
        ];
        assert_eq!(avg.len(), 4);
        for ((name, v), (en, ev)) in avg.iter().zip(expect) {
            if en != "tool" && en != "old turn" {
                assert_eq!(name, en);
            }
            assert!((v - ev).abs() < 1e-6, "{name}: {v} vs {ev}");
        }

        let slow: Vec<(String, f64)> = conn
            .prepare("SELECT * FROM spans WHERE duration_ms > 1000 ORDER BY duration_ms DESC")
            .unwrap()
            .query_map([], |r| Ok((r.get("name")?, r.get("duration_ms")?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            slow,
            vec![
                ("turn".to_owned(), 4_000.0),
                ("chat".to_owned(), 2_500.0),
                ("chat".to_owned(), 1_500.0)
            ]
        );

        let julian: Vec<(String, f64)> = conn
            .prepare(
                "SELECT name, AVG((julianday(end_time) - julianday(start_time)) * 86400000) as avg_duration_ms \
                 FROM spans WHERE end_time IS NOT NULL GROUP BY name ORDER BY avg_duration_ms DESC",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(julian.len(), 4);
        assert_eq!(julian[0].0, "turn");
        assert_eq!(julian[1].0, "chat");
        for ((name, v), (_, ev)) in julian.iter().zip(expect) {
            // julianday() is a double of days: ~1 ms of precision at today's dates.
            assert!((v - ev).abs() < 1.0, "{name}: {v} vs {ev}");
        }
    }

    #[test]
    fn two_writers_on_one_file_both_land_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.db");
        let shared = TraceId::random();
        let shared_root = SpanId::random();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut w = open(&path);
                    let mut own = Vec::new();
                    for _ in 0..50 {
                        let trace = TraceId::random();
                        let root = S::new(trace, None, "root");
                        let batch: Vec<Telemetry> = (0..19)
                            .map(|_| S::new(trace, Some(root.span), "child").item())
                            .chain([
                                S::new(shared, Some(shared_root), "shared child").item(),
                                root.item(),
                            ])
                            .collect();
                        w.write_batch(&batch).unwrap();
                        own.push(trace);
                    }
                    own
                })
            })
            .collect();
        let traces: Vec<TraceId> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let conn = reader(&path);
        assert_eq!(count(&conn, "SELECT count(*) FROM spans"), 2 * 50 * 21);
        assert_eq!(count(&conn, "SELECT count(*) FROM traces"), 101);
        for t in traces {
            let (root, _, _, _, _, spans, _) = trace_row(&conn, t);
            assert!(root.is_some());
            assert_eq!(spans, 20);
        }
        let (root, ..) = trace_row(&conn, shared);
        assert_eq!(root, None);
        assert_eq!(trace_row(&conn, shared).5, 100);
    }

    #[test]
    fn a_busy_writer_has_its_wal_copied_into_the_file_as_it_goes() {
        // Far below the auto-checkpoint threshold: only the background checkpointer moves
        // pages from the WAL into the database file before shutdown.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        let empty = std::fs::metadata(&path).unwrap().len();
        let batch = || -> Vec<Telemetry> {
            (0..super::checkpointer::NUDGE_EVERY_ITEMS)
                .map(|_| S::new(TraceId::random(), None, "busy").item())
                .collect()
        };
        w.write_batch(&batch()).unwrap();
        w.write_batch(&batch()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() == empty && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            std::fs::metadata(&path).unwrap().len() > empty,
            "nothing was checkpointed into the database file while the writer was running"
        );
        // Writing goes on while (and after) the checkpointer works; shutdown stops it first.
        w.write_batch(&batch()).unwrap();
        w.shutdown();
        drop(w);
        let conn = reader(&path);
        assert_eq!(
            count(&conn, "SELECT count(*) FROM spans"),
            3 * super::checkpointer::NUDGE_EVERY_ITEMS as i64
        );
    }

    #[test]
    fn a_span_written_twice_is_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        let mut s = S::new(TraceId::random(), None, "once");
        s.events = vec![LogRecord {
            timestamp: at(1.0),
            trace_id: None,
            span_id: None,
            body: LogBody::Unstructured {
                message: "m".into(),
                severity: Severity::Info,
            },
            attributes: Vec::new(),
        }];
        w.write_batch(&[s.item()]).unwrap();
        w.write_batch(&[s.item(), s.item()]).unwrap();
        let conn = reader(&path);
        assert_eq!(count(&conn, "SELECT count(*) FROM spans"), 1);
        assert_eq!(count(&conn, "SELECT count(*) FROM span_events"), 1);
        assert_eq!(count(&conn, "SELECT span_count FROM traces"), 1);
    }

    #[test]
    fn a_locked_store_fails_the_batch_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut w = open(&path);
        w.conn.busy_timeout(Duration::from_millis(50)).unwrap();
        let blocker = reader(&path);
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let s = S::new(TraceId::random(), None, "blocked");
        let e = w.write_batch(&[s.item()]).unwrap_err().to_string();
        assert!(e.contains("t.db") && e.contains("locked"), "{e}");
        blocker.execute_batch("ROLLBACK").unwrap();
        w.write_batch(&[s.item()]).unwrap();
        assert_eq!(count(&reader(&path), "SELECT count(*) FROM spans"), 1);
    }

    #[test]
    fn a_newer_schema_is_refused_naming_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(open(&path));
        let newer = schema::SCHEMA_VERSION + 1;
        reader(&path)
            .pragma_update(None, "user_version", newer)
            .unwrap();
        let e = SqliteWriter::open(&path, &config()).err().unwrap();
        assert!(
            matches!(&e, ConfigError::Sqlite { path: p, .. } if p == &path),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("schema version {newer}")), "{msg}");
        assert!(
            msg.contains(&format!("version {})", schema::SCHEMA_VERSION)),
            "{msg}"
        );
    }

    #[test]
    fn unwritable_or_foreign_paths_fail_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("regular-file");
        std::fs::write(&file, "x").unwrap();
        for path in [
            PathBuf::from("/proc/nope/x.db"),
            file.join("x.db"),
            dir.path().to_path_buf(),
        ] {
            let e = SqliteWriter::open(&path, &config()).err().unwrap();
            assert!(
                matches!(&e, ConfigError::Sqlite { path: p, .. } if p == &path),
                "{e:?}"
            );
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        }

        let text = dir.path().join("notes.db");
        let content = "not a database\n".repeat(200);
        std::fs::write(&text, &content).unwrap();
        let e = SqliteWriter::open(&text, &config())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not a SQLite database"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&text).unwrap(),
            content,
            "the file must be left alone"
        );

        let foreign = dir.path().join("app.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE users (id INTEGER)")
            .unwrap();
        let e = SqliteWriter::open(&foreign, &config())
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("not an llm-telemetry trace store") && e.contains("users"),
            "{e}"
        );
        let mode: String = reader(&foreign)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            mode, "delete",
            "a foreign database must not be switched to WAL"
        );
    }

    #[test]
    fn concurrent_opens_of_a_new_file_create_it_once() {
        for _ in 0..30 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("new.db");
            let opens: Vec<_> = (0..3)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        SqliteWriter::open(&path, &config())
                            .map(drop)
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            for open in opens {
                open.join().unwrap().unwrap();
            }
        }
    }
}
