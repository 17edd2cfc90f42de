//! The backlog in the store: when the `sqlite` sink is on, the spans the collector did not
//! take are not kept in memory but named in the store's `otlp_backlog` table (trace and
//! span id), since the store already holds every span. Sending one reads its `spans` row
//! and its events back (`span_events`: logs and the derived token events) into the same
//! OTLP span the live path builds, with the same ids.
//!
//! Why ids rather than a cursor: the sqlite sink writes on its own worker, in batches, and
//! other processes may write the same file, so rows arrive out of order and interleaved;
//! only the exporter knows which of them it failed to deliver. A row is keyed by its
//! exporter (`owner`: the pid, and the exporter's number within the process) and the
//! traces endpoint, so processes (and two guards of one process) never send each other's
//! spans; the rows of an exporter that is gone (its process has exited, or in this process
//! its guard was dropped) are adopted by the next one exporting to the same endpoint for
//! the same service (an atomic `UPDATE`, so two newcomers never both take them), which is
//! how a restarted application catches up.
//!
//! Whatever no longer has a span row when its turn comes (retention deleted it, or the
//! sqlite sink never stored it: its own queue was full) is dropped and counted, after a
//! grace period that covers the sqlite sink's write delay. A sampled-out span is in neither
//! sink, so it is never owed.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::SpanData;
use rusqlite::{params, Connection};
use serde_json::{Map, Value};

use super::convert::span_data;
use super::BACKLOG_CHUNK as CHUNK;
use crate::config::OtlpBacklog;
use crate::model::attr::{AttrValue, Attributes};
use crate::model::diag::warn_stderr;
use crate::model::log::{LogBody, LogRecord};
use crate::model::span::SpanRecord;
use crate::model::time::parse_sqlite_timestamp;
use crate::model::vocab::{Severity, SpanCategory, SpanKind, SpanStatus};
use crate::pipeline::{Report, Telemetry};
use crate::store::open::BUSY_TIMEOUT;

/// How long an owed span may lack its row before it counts as gone: the sqlite sink
/// writes what it is given within a second or so, and drains its queue at shutdown.
const ROW_GRACE: Duration = Duration::from_secs(30);

/// How often the rows of exited processes are looked for.
const ADOPT_EVERY: Duration = Duration::from_secs(30);

/// The backlog of one exporter in the store.
pub(crate) struct StoreBacklog {
    conn: Connection,
    endpoint: String,
    service: String,
    owner: i64,
    bound: OtlpBacklog,
    scope: InstrumentationScope,
    // `seq` (and whether it was adopted) of what `oldest` handed out.
    out: Vec<(i64, bool)>,
    own: u64,
    last_adopt: std::time::Instant,
    // Spans adopted from exited processes: sent, dropped (they are not this process's
    // emitted spans, so they are reported on stderr, not in its counters).
    inherited_sent: u64,
    inherited_dropped: u64,
    // Adopted spans still waiting.
    inherited_waiting: u64,
}

impl StoreBacklog {
    /// Open the backlog of `endpoint` in the store at `path` (the sqlite sink has created
    /// or migrated it), and adopt what exited processes left.
    pub(crate) fn open(
        path: &Path,
        endpoint: &str,
        service: &str,
        bound: OtlpBacklog,
        scope: InstrumentationScope,
    ) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let owner = Owner::register();
        let mut backlog = StoreBacklog {
            conn,
            endpoint: endpoint.to_owned(),
            service: service.to_owned(),
            owner,
            bound,
            scope,
            out: Vec::new(),
            own: 0,
            last_adopt: std::time::Instant::now(),
            inherited_sent: 0,
            inherited_dropped: 0,
            inherited_waiting: 0,
        };
        backlog.adopt()?;
        Ok(backlog)
    }

    /// Take over the rows of processes that have exited (same endpoint, same service).
    fn adopt(&mut self) -> rusqlite::Result<usize> {
        self.last_adopt = std::time::Instant::now();
        let owners: Vec<i64> = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT owner FROM otlp_backlog WHERE endpoint = ?1 AND owner != ?2",
            )?
            .query_map(params![self.endpoint, self.owner], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut adopted = 0;
        for dead in owners.into_iter().filter(|o| !Owner::alive(*o)) {
            adopted += self.conn.execute(
                "UPDATE otlp_backlog SET owner = ?1, inherited = 1
                 WHERE endpoint = ?2 AND owner = ?3
                   AND COALESCE((SELECT s.service_name FROM spans s
                                 WHERE s.span_id = otlp_backlog.span_id), ?4) = ?4",
                params![self.owner, self.endpoint, dead, self.service],
            )?;
        }
        if adopted > 0 {
            self.inherited_waiting += adopted as u64;
            eprintln!(
                "llm-telemetry: {adopted} spans that an earlier run could not export to {} \
                 are sent now",
                self.endpoint
            );
        }
        Ok(adopted)
    }

    pub(super) fn tick(&mut self) {
        if self.last_adopt.elapsed() >= ADOPT_EVERY {
            if let Err(e) = self.adopt() {
                warn_stderr(&format!("the OTLP backlog in the store: {e}"));
            }
        }
    }

    pub(super) fn len(&self) -> u64 {
        self.own
    }

    /// Whether nothing waits, this process's or adopted.
    pub(super) fn is_empty(&self) -> bool {
        self.own == 0 && self.inherited_waiting == 0
    }

    pub(super) fn keep(&mut self, items: &[Telemetry], report: &mut Report) {
        let spans: Vec<&SpanRecord> = items
            .iter()
            .filter_map(|i| i.span().map(|s| &**s))
            .collect();
        let n = spans.len() as u64;
        if let Err(e) = self.insert(&spans) {
            warn_stderr(&format!(
                "cannot keep {n} spans for a later export in the store: {e}; they are dropped"
            ));
            report.dropped += n;
            return;
        }
        self.own += n;
        let waiting: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM otlp_backlog WHERE endpoint = ?1 AND owner = ?2",
                params![self.endpoint, self.owner],
                |r| r.get(0),
            )
            .unwrap_or(0);
        let excess = (waiting as u64).saturating_sub(self.bound.max_spans as u64);
        if excess > 0 {
            let oldest = self.select_seqs(
                "SELECT seq, inherited FROM otlp_backlog WHERE endpoint = ?1 AND owner = ?2
                 ORDER BY seq LIMIT ?3",
                excess as i64,
            );
            self.delete(&oldest, report, Fate::Dropped);
        }
    }

    fn insert(&mut self, spans: &[&SpanRecord]) -> rusqlite::Result<()> {
        let now = unix_seconds(SystemTime::now());
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO otlp_backlog (endpoint, owner, trace_id, span_id, queued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for s in spans {
                stmt.execute(params![
                    self.endpoint,
                    self.owner,
                    s.trace_id.to_string(),
                    s.span_id.to_string(),
                    now
                ])?;
            }
        }
        tx.commit()
    }

    fn select_seqs(&self, sql: &str, arg: impl rusqlite::ToSql) -> Vec<(i64, bool)> {
        let run = || -> rusqlite::Result<Vec<(i64, bool)>> {
            self.conn
                .prepare_cached(sql)?
                .query_map(params![self.endpoint, self.owner, arg], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
        };
        run().unwrap_or_else(|e| {
            warn_stderr(&format!("the OTLP backlog in the store: {e}"));
            Vec::new()
        })
    }

    /// Delete `seqs` and count them as `fate` (this process's in `report`, adopted ones
    /// on the side).
    fn delete(&mut self, seqs: &[(i64, bool)], report: &mut Report, fate: Fate) {
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached("DELETE FROM otlp_backlog WHERE seq = ?1")?;
                for (seq, _) in seqs {
                    stmt.execute([seq])?;
                }
            }
            tx.commit()
        };
        if let Err(e) = run(&mut self.conn) {
            // Left in place, they are sent (or dropped) again: a possible duplicate, not a loss.
            warn_stderr(&format!("the OTLP backlog in the store: {e}"));
            return;
        }
        for (_, inherited) in seqs {
            if *inherited {
                self.inherited_waiting = self.inherited_waiting.saturating_sub(1);
                match fate {
                    Fate::Stored => self.inherited_sent += 1,
                    Fate::Dropped | Fate::Failed => self.inherited_dropped += 1,
                }
            } else {
                self.own = self.own.saturating_sub(1);
                match fate {
                    Fate::Stored => report.stored += 1,
                    Fate::Failed => report.failed += 1,
                    Fate::Dropped => report.dropped += 1,
                }
            }
        }
    }

    pub(super) fn oldest(&mut self, report: &mut Report) -> Vec<SpanData> {
        self.out.clear();
        if let Some(max_age) = self.bound.max_age {
            let cutoff = unix_seconds(SystemTime::now()) - max_age.as_secs_f64();
            let expired = self.select_seqs(
                "SELECT seq, inherited FROM otlp_backlog
                 WHERE endpoint = ?1 AND owner = ?2 AND queued_at < ?3",
                cutoff,
            );
            self.delete(&expired, report, Fate::Dropped);
        }
        let rows = match self.owed_rows() {
            Ok(rows) => rows,
            Err(e) => {
                warn_stderr(&format!("cannot read the OTLP backlog in the store: {e}"));
                return Vec::new();
            }
        };
        let now = unix_seconds(SystemTime::now());
        let mut gone = Vec::new();
        let mut spans = Vec::with_capacity(rows.len());
        for (seq, inherited, queued_at, record) in rows {
            match record {
                Some(mut record) => {
                    record.events = self.events_of(&record).unwrap_or_default();
                    spans.push(span_data(&record, &[], &self.scope));
                    self.out.push((seq, inherited));
                }
                None if now - queued_at > ROW_GRACE.as_secs_f64() => gone.push((seq, inherited)),
                None => {} // the sqlite sink has not written it yet
            }
        }
        self.delete(&gone, report, Fate::Dropped);
        spans
    }

    /// The oldest owed spans, with their rows (`None`: no row).
    #[allow(clippy::type_complexity)]
    fn owed_rows(&self) -> rusqlite::Result<Vec<(i64, bool, f64, Option<SpanRecord>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.seq, b.inherited, b.queued_at, s.span_id, s.trace_id, s.parent_span_id,
                    s.name, s.kind, s.category, s.status, s.status_message, s.start_time,
                    s.end_time, s.attributes, s.service_name
             FROM otlp_backlog b
             LEFT JOIN spans s ON s.span_id = b.span_id AND s.trace_id = b.trace_id
             WHERE b.endpoint = ?1 AND b.owner = ?2
             ORDER BY b.seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![self.endpoint, self.owner, CHUNK as i64], |r| {
            let record = match r.get::<_, Option<String>>(3)? {
                None => None,
                Some(span_id) => record_from_row(r, &span_id)?,
            };
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, record))
        })?;
        rows.collect()
    }

    fn events_of(&self, span: &SpanRecord) -> rusqlite::Result<Vec<LogRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT timestamp, event_type, severity, message, metric, value, unit, attributes
             FROM span_events WHERE trace_id = ?1 AND span_id = ?2 ORDER BY timestamp, id",
        )?;
        let rows = stmt.query_map(
            params![span.trace_id.to_string(), span.span_id.to_string()],
            |r| {
                Ok(event_from_row(
                    span,
                    &r.get::<_, String>(0)?,
                    &r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    &r.get::<_, String>(7)?,
                ))
            },
        )?;
        Ok(rows.filter_map(|r| r.ok().flatten()).collect())
    }

    pub(super) fn sent(&mut self, ok: bool, report: &mut Report) {
        let out = std::mem::take(&mut self.out);
        self.delete(&out, report, if ok { Fate::Stored } else { Fate::Failed });
    }

    pub(super) fn close(&mut self, what: &str, left: u64) -> Option<String> {
        let mut notes = Vec::new();
        if self.inherited_sent > 0 || self.inherited_dropped > 0 {
            notes.push(format!(
                "of the spans an earlier run left, {} were exported and {} dropped (outside \
                 TELEMETRY_OTLP_BACKLOG or gone from the store)",
                self.inherited_sent, self.inherited_dropped
            ));
        }
        if left > 0 {
            notes.push(format!(
                "{left} spans could not be exported ({what} did not answer); they wait in the \
                 store, and the next run that exports there sends them"
            ));
        }
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}

impl Drop for StoreBacklog {
    fn drop(&mut self) {
        Owner::unregister(self.owner);
    }
}

/// The `owner` of an exporter's rows: its pid times 2^20 plus its number in the process.
struct Owner;

/// The owners of this process's open backlogs, and the next number to give.
static LIVE: std::sync::Mutex<Vec<i64>> = std::sync::Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

impl Owner {
    const SHIFT: u32 = 20;

    fn register() -> i64 {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & ((1 << Self::SHIFT) - 1);
        let owner = (i64::from(std::process::id()) << Self::SHIFT) | n;
        LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(owner);
        owner
    }

    fn unregister(owner: i64) {
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|o| *o != owner);
    }

    /// Whether the exporter `owner` still runs: in this process, whether its backlog is
    /// open; in another, whether that process runs.
    fn alive(owner: i64) -> bool {
        let pid = owner >> Self::SHIFT;
        if pid == i64::from(std::process::id()) {
            LIVE.lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&owner)
        } else {
            process_alive(pid)
        }
    }
}

#[derive(Clone, Copy)]
enum Fate {
    Stored,
    Failed,
    Dropped,
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whether the process `pid` is running (on this machine: the store is a local file).
fn process_alive(pid: i64) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // Signal 0 checks existence; EPERM means it exists under another user.
        // SAFETY: kill with signal 0 sends nothing.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// A `spans` row (columns 3..=14 of [`StoreBacklog::owed_rows`]) as the record it was
/// written from; `None` when a column does not parse (the row is then left alone).
fn record_from_row(r: &rusqlite::Row<'_>, span_id: &str) -> rusqlite::Result<Option<SpanRecord>> {
    let text = |i: usize| r.get::<_, Option<String>>(i);
    let (Ok(span_id), Some(Ok(trace_id))) = (
        span_id.parse(),
        text(4)?.map(|t| t.parse::<crate::model::ids::TraceId>()),
    ) else {
        return Ok(None);
    };
    let parent_span_id = text(5)?.and_then(|p| p.parse().ok());
    let start = text(11)?.as_deref().and_then(parse_sqlite_timestamp);
    let Some(start_time) = start else {
        return Ok(None);
    };
    let end_time = text(12)?
        .as_deref()
        .and_then(parse_sqlite_timestamp)
        .unwrap_or(start_time);
    Ok(Some(SpanRecord {
        trace_id,
        span_id,
        parent_span_id,
        // Not stored: a remote parent is exported as a local one.
        parent_is_remote: false,
        name: text(6)?.unwrap_or_default(),
        kind: text(7)?
            .as_deref()
            .and_then(SpanKind::from_name)
            .unwrap_or(SpanKind::Internal),
        category: text(8)?
            .as_deref()
            .and_then(SpanCategory::from_name)
            .unwrap_or(SpanCategory::Other),
        status: text(9)?
            .as_deref()
            .and_then(SpanStatus::from_name)
            .unwrap_or(SpanStatus::Unset),
        status_message: text(10)?,
        start_time,
        end_time,
        attributes: typed(&object(&text(13)?.unwrap_or_default())),
        events: Vec::new(),
        chunk_intervals: Vec::new(),
        service_name: Arc::from(text(14)?.unwrap_or_default()),
    }))
}

/// A stored attributes object (JSON text; anything else reads as empty).
fn object(json: &str) -> Map<String, Value> {
    serde_json::from_str(json).unwrap_or_default()
}

/// A stored attributes object as typed attributes (integers stay integers).
fn typed(map: &Map<String, Value>) -> Attributes {
    map.iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Bool(b) => AttrValue::Bool(*b),
                Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                    (Some(i), _, _) => AttrValue::I64(i),
                    (None, Some(u), _) => AttrValue::U64(u),
                    (_, _, f) => AttrValue::F64(f.unwrap_or(f64::NAN)),
                },
                Value::String(s) => AttrValue::Str(s.as_str().into()),
                other => AttrValue::Str(other.to_string().into()),
            };
            (k.clone().into(), value)
        })
        .collect()
}

/// A `span_events` row as the log record it was written from.
#[allow(clippy::too_many_arguments)]
fn event_from_row(
    span: &SpanRecord,
    timestamp: &str,
    event_type: &str,
    severity: Option<String>,
    message: Option<String>,
    metric: Option<String>,
    value: Option<f64>,
    unit: Option<String>,
    attrs: &str,
) -> Option<LogRecord> {
    let mut map = object(attrs);
    let mut take = |k: &str| map.remove(k);
    let body = match event_type {
        "metric" => LogBody::Metric {
            metric: metric.unwrap_or_default(),
            value: value.unwrap_or(0.0),
            unit: unit.unwrap_or_default(),
        },
        "structured_log" if message.as_deref() == Some("span_start") => LogBody::SpanStart {
            name: take("name")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            parent_span_id: take("parent_span_id").and_then(|v| v.as_str()?.parse().ok()),
        },
        "structured_log" => LogBody::SpanEnd {
            status: take("status")
                .and_then(|v| v.as_str().and_then(SpanStatus::from_name))
                .unwrap_or(SpanStatus::Unset),
        },
        _ => LogBody::Unstructured {
            message: message.unwrap_or_default(),
            severity: severity
                .as_deref()
                .and_then(Severity::from_name)
                .unwrap_or(Severity::Info),
        },
    };
    let attributes = typed(&map);
    Some(LogRecord {
        timestamp: parse_sqlite_timestamp(timestamp)?,
        trace_id: Some(span.trace_id),
        span_id: Some(span.span_id),
        body,
        attributes,
    })
}

#[cfg(test)]
mod tests;
