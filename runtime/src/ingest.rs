//! [`StoreIngest`]: telemetry that arrives from outside the process — llama-stack
//! `log_event` calls and OTLP exports received by `llm-trace serve` — written into a trace
//! store.
//!
//! It is the sqlite sink without the tracing layer: its own bounded queue and writer
//! thread, so a caller never waits on SQLite, and a full queue is *refused*
//! ([`IngestError::Busy`]) rather than dropped, so that a server can answer "retry later"
//! instead of losing what it was sent. A batch ([`StoreIngest::write_spans`],
//! [`write_logs`](StoreIngest::write_logs), [`write_metrics`](StoreIngest::write_metrics))
//! is taken whole or not at all, so that a sender told to retry sends no duplicates; spans
//! written that way are read as ours whichever GenAI convention they follow
//! ([`recognise_genai`]). The record types are re-exported here for those callers.
//!
//! llama-stack's structured events become spans: a
//! `span_start` is held (in memory, bounded) until its `span_end` arrives, and the pair is
//! stored as one span row, so the trace appears in `query_traces`, `get_trace` and
//! `llm-trace show`. Every event is also stored as a span log, as llama-stack stored it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::event::{Event, StructuredLogEvent};
use crate::model::ids::{SpanId, TraceId};
use crate::pipeline::{Pipeline, Telemetry};

pub use crate::model::attr::{AttrStr, AttrValue, Attributes};
pub use crate::model::conventions::recognise_genai;
pub use crate::model::log::{LogBody, LogRecord};
pub use crate::model::metric::MetricRecord;
pub use crate::model::span::SpanRecord;
pub use crate::model::vocab::{Instrument, SpanCategory, SpanKind};

/// How many `span_start` events may wait for their `span_end` at once.
const PENDING_SPANS: usize = 100_000;

/// Why [`StoreIngest`] did not take an event.
///
/// ```
/// use llm_telemetry::ingest::IngestError;
/// assert!(IngestError::Busy.to_string().contains("retry"));
/// ```
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IngestError {
    /// The writer's queue is full: nothing was stored; send it again later.
    #[error("the store's writer is busy (its queue is full); retry later")]
    Busy,
    /// Too many spans have started and not ended.
    #[error("{PENDING_SPANS} spans have started without ending; end some before starting more")]
    TooManyOpenSpans,
    /// The batch holds more items than the writer's queue: it can never be taken whole.
    #[error("a batch of {items} items is larger than the writer's queue ({capacity}); send smaller batches")]
    TooLarge {
        /// Items in the batch.
        items: usize,
        /// The queue's capacity.
        capacity: usize,
    },
}

/// A span that has started and not ended yet.
struct Pending {
    name: String,
    parent: Option<SpanId>,
    start: SystemTime,
    attributes: Attributes,
}

/// Writes events received from outside the process into a trace store.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::time::{Duration, SystemTime};
/// use llm_telemetry::ingest::StoreIngest;
/// use llm_telemetry::{SpanStatus, StructuredLogEvent};
///
/// # let dir = tempfile::tempdir().unwrap();
/// let ingest = StoreIngest::open(dir.path().join("traces.db"), "my-service").unwrap();
/// let (trace, span) = ("4bf92f3577b34da6a3ce929d0e0e4736".parse()?, "00f067aa0ba902b7".parse()?);
/// let t0 = SystemTime::now();
/// let start = StructuredLogEvent::SpanStart { name: "retrieve".into(), parent_span_id: None };
/// ingest.log_event(trace, span, t0, start.into(), BTreeMap::new()).unwrap();
/// let end = StructuredLogEvent::SpanEnd { status: SpanStatus::Ok };
/// ingest.log_event(trace, span, t0 + Duration::from_millis(5), end.into(), BTreeMap::new()).unwrap();
/// assert!(ingest.flush(Duration::from_secs(5)));
/// # Ok::<(), llm_telemetry::InvalidId>(())
/// ```
pub struct StoreIngest {
    pipeline: Pipeline,
    service_name: Arc<str>,
    pending: Mutex<HashMap<(TraceId, SpanId), Pending>>,
    /// Held around every send, so that a batch's room check stays true while it is sent.
    sending: Mutex<()>,
}

impl StoreIngest {
    /// Open (creating or migrating) the store at `path` for writing. `service_name` is
    /// recorded on the spans built from `span_start`/`span_end` pairs that do not carry a
    /// `service.name` attribute.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let ingest = llm_telemetry::ingest::StoreIngest::open(dir.path().join("t.db"), "svc")?;
    /// # Ok::<(), llm_telemetry::ConfigError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, service_name: &str) -> Result<StoreIngest, ConfigError> {
        StoreIngest::open_with_queue(path, service_name, crate::config::DEFAULT_QUEUE_CAPACITY)
    }

    /// [`StoreIngest::open`] with a writer queue of `capacity` items (at least 1; the
    /// default is `TELEMETRY_QUEUE_CAPACITY`'s, 131072): the most that waits for SQLite
    /// before a batch is refused as [`IngestError::Busy`].
    ///
    /// A `postgres://` or `postgresql://` URL instead of a path writes the PostgreSQL store
    /// through the `postgres` sink (feature `postgres`; without it, a [`ConfigError`] that
    /// names the feature), creating or migrating its schema.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let ingest = llm_telemetry::ingest::StoreIngest::open_with_queue(dir.path().join("t.db"), "svc", 4096)?;
    /// # Ok::<(), llm_telemetry::ConfigError>(())
    /// ```
    pub fn open_with_queue(
        path: impl AsRef<Path>,
        service_name: &str,
        capacity: usize,
    ) -> Result<StoreIngest, ConfigError> {
        let path = path.as_ref();
        let builder = TelemetryConfig::builder()
            .service_name(service_name)
            .queue_capacity(capacity.max(1));
        // A `postgres://` URL: the PostgreSQL store, through the `postgres` sink.
        let config = match path.to_str() {
            Some(url) if crate::store::is_postgres_url(path) => {
                builder.sinks([SinkKind::Postgres]).postgres_url(url)
            }
            _ => builder.sinks([SinkKind::Sqlite]).sqlite_db_path(path),
        }
        .build();
        let sinks = crate::sinks::start(&config)?.sinks;
        Ok(StoreIngest::with_pipeline(
            Pipeline::new(sinks),
            service_name,
        ))
    }

    fn with_pipeline(pipeline: Pipeline, service_name: &str) -> StoreIngest {
        StoreIngest {
            pipeline,
            service_name: Arc::from(service_name),
            pending: Mutex::new(HashMap::new()),
            sending: Mutex::new(()),
        }
    }

    /// Store finished spans, all of them or none: [`IngestError::Busy`] when the queue has
    /// no room for the whole batch now (send it again later), [`IngestError::TooLarge`]
    /// when it never will. A span of category [`SpanCategory::Other`] has its GenAI
    /// attributes recognised ([`recognise_genai`]: older and OpenInference names gain the
    /// current ones) and is classified by them; give a category to skip that. Never blocks.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use llm_telemetry::ingest::{AttrValue, SpanCategory, SpanKind, SpanRecord, StoreIngest};
    /// use llm_telemetry::SpanStatus;
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// let ingest = StoreIngest::open(dir.path().join("t.db"), "svc").unwrap();
    /// let t0 = SystemTime::now();
    /// let span = SpanRecord {
    ///     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".parse()?,
    ///     span_id: "00f067aa0ba902b7".parse()?,
    ///     parent_span_id: None,
    ///     parent_is_remote: false,
    ///     name: "chat gpt-4o".into(),
    ///     kind: SpanKind::Client,
    ///     category: SpanCategory::Other,
    ///     start_time: t0,
    ///     end_time: t0 + Duration::from_millis(800),
    ///     status: SpanStatus::Ok,
    ///     status_message: None,
    ///     attributes: vec![("gen_ai.system".into(), AttrValue::from("openai"))],
    ///     events: Vec::new(),
    ///     chunk_intervals: Vec::new(),
    ///     service_name: "python-agent".into(),
    /// };
    /// ingest.write_spans(vec![span]).unwrap();
    /// assert!(ingest.flush(Duration::from_secs(5)));
    /// # Ok::<(), llm_telemetry::InvalidId>(())
    /// ```
    pub fn write_spans(&self, spans: Vec<SpanRecord>) -> Result<(), IngestError> {
        let items: Vec<Telemetry> = spans
            .into_iter()
            .map(|mut span| {
                if span.category == SpanCategory::Other {
                    span.category = recognise_genai(&mut span.attributes);
                }
                Telemetry::Span(Arc::new(span))
            })
            .collect();
        self.send_all(&items)
    }

    /// Store logs (in a span when they name one, else free), all of them or none, as
    /// [`StoreIngest::write_spans`] does.
    ///
    /// ```
    /// use llm_telemetry::ingest::{LogBody, LogRecord, StoreIngest};
    /// use llm_telemetry::Severity;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let ingest = StoreIngest::open(dir.path().join("t.db"), "svc").unwrap();
    /// let log = LogRecord {
    ///     timestamp: std::time::SystemTime::now(),
    ///     trace_id: None,
    ///     span_id: None,
    ///     body: LogBody::Unstructured { message: "index rebuilt".into(), severity: Severity::Info },
    ///     attributes: Vec::new(),
    /// };
    /// ingest.write_logs(vec![log]).unwrap();
    /// ```
    pub fn write_logs(&self, logs: Vec<LogRecord>) -> Result<(), IngestError> {
        let items: Vec<Telemetry> = logs
            .into_iter()
            .map(|log| Telemetry::Log(Arc::new(log)))
            .collect();
        self.send_all(&items)
    }

    /// Store metric measurements (counter increments, histogram sums with their count,
    /// gauge levels) into the `metrics` table, all of them or none. The store sums them per
    /// series and second, so a caller with cumulative totals sends their deltas.
    ///
    /// ```
    /// use llm_telemetry::ingest::{Instrument, MetricRecord, StoreIngest};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let ingest = StoreIngest::open(dir.path().join("t.db"), "svc").unwrap();
    /// let point = MetricRecord {
    ///     name: "app.requests".into(),
    ///     instrument: Instrument::Counter,
    ///     unit: "{request}".into(),
    ///     value: 3.0,
    ///     count: 1,
    ///     attributes: Vec::new(),
    ///     timestamp: std::time::SystemTime::now(),
    ///     trace_id: None,
    ///     span_id: None,
    /// };
    /// ingest.write_metrics(vec![point]).unwrap();
    /// ```
    pub fn write_metrics(&self, points: Vec<MetricRecord>) -> Result<(), IngestError> {
        if points.is_empty() {
            return Ok(());
        }
        self.send_all(&[Telemetry::Metrics(points.into())])
    }

    fn send_all(&self, items: &[Telemetry]) -> Result<(), IngestError> {
        if items.is_empty() {
            return Ok(());
        }
        let _sending = self.sending.lock().unwrap_or_else(|p| p.into_inner());
        self.pipeline.try_send_all(items).map_err(|capacity| {
            if items.len() > capacity {
                IngestError::TooLarge {
                    items: items.len(),
                    capacity,
                }
            } else {
                IngestError::Busy
            }
        })
    }

    /// Store one llama-stack event of span `span_id` in trace `trace_id` at `timestamp`.
    /// `attributes` are the event's own (strings, numbers, booleans; other JSON values are
    /// stored as their JSON text). Never blocks; a full queue is [`IngestError::Busy`] and
    /// stores nothing.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use llm_telemetry::{ingest::StoreIngest, MetricEvent};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let ingest = StoreIngest::open(dir.path().join("t.db"), "svc").unwrap();
    /// let event = MetricEvent::new("retrieved_chunks", 5.0, "chunks");
    /// let attrs = BTreeMap::from([("index".to_string(), serde_json::json!("docs"))]);
    /// ingest.log_event(
    ///     "4bf92f3577b34da6a3ce929d0e0e4736".parse()?,
    ///     "00f067aa0ba902b7".parse()?,
    ///     std::time::SystemTime::now(),
    ///     event.into(),
    ///     attrs,
    /// ).unwrap();
    /// # Ok::<(), llm_telemetry::InvalidId>(())
    /// ```
    pub fn log_event(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
        timestamp: SystemTime,
        event: Event,
        attributes: BTreeMap<String, serde_json::Value>,
    ) -> Result<(), IngestError> {
        let mut attrs: Attributes = attributes
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.into(), attr_value(v)))
            .collect();
        let body = match event {
            Event::Unstructured(e) => {
                attrs.extend(e.attributes.into_iter().map(|(k, v)| (k.into(), text(v))));
                LogBody::Unstructured {
                    message: e.message,
                    severity: e.severity,
                }
            }
            Event::Metric(e) => {
                attrs.extend(e.attributes.into_iter().map(|(k, v)| (k.into(), text(v))));
                LogBody::Metric {
                    metric: e.metric,
                    value: e.value,
                    unit: e.unit,
                }
            }
            Event::Structured(StructuredLogEvent::SpanStart {
                name,
                parent_span_id,
            }) => LogBody::SpanStart {
                name,
                parent_span_id: parent_span_id.and_then(|p| p.parse().ok()),
            },
            Event::Structured(StructuredLogEvent::SpanEnd { status }) => {
                LogBody::SpanEnd { status }
            }
        };
        let log = LogRecord {
            timestamp,
            trace_id: Some(trace_id),
            span_id: Some(span_id),
            body,
            attributes: attrs,
        };
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match &log.body {
            LogBody::SpanStart {
                name,
                parent_span_id,
            } => {
                if pending.len() >= PENDING_SPANS && !pending.contains_key(&(trace_id, span_id)) {
                    return Err(IngestError::TooManyOpenSpans);
                }
                self.send(Telemetry::Log(Arc::new(log.clone())))?;
                pending.insert(
                    (trace_id, span_id),
                    Pending {
                        name: name.clone(),
                        parent: *parent_span_id,
                        start: timestamp,
                        attributes: log.attributes,
                    },
                );
                Ok(())
            }
            LogBody::SpanEnd { status } => {
                let status = *status;
                let Some(start) = pending.get(&(trace_id, span_id)) else {
                    // Its start came before this server started: keep the marker.
                    return self.send(Telemetry::Log(Arc::new(log)));
                };
                let service_name = match crate::model::attr::attr(&start.attributes, "service.name")
                {
                    Some(AttrValue::Str(s)) => Arc::from(s.as_str()),
                    _ => self.service_name.clone(),
                };
                let mut attributes = start.attributes.clone();
                attributes.extend(log.attributes.iter().cloned());
                let span = SpanRecord {
                    trace_id,
                    span_id,
                    parent_span_id: start.parent,
                    parent_is_remote: false,
                    name: start.name.clone(),
                    kind: SpanKind::Internal,
                    category: SpanCategory::Other,
                    start_time: start.start,
                    end_time: timestamp.max(start.start),
                    status,
                    status_message: None,
                    attributes,
                    events: Vec::new(),
                    chunk_intervals: Vec::new(),
                    service_name,
                };
                // Refused: the start stays pending for the end sent again.
                self.send(Telemetry::Span(Arc::new(span)))?;
                pending.remove(&(trace_id, span_id));
                // The span is stored; its end marker is a courtesy copy.
                let _ = self.send(Telemetry::Log(Arc::new(log)));
                Ok(())
            }
            _ => self.send(Telemetry::Log(Arc::new(log))),
        }
    }

    /// Wait until everything taken so far is written, up to `timeout`; false if it was not.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let ingest = llm_telemetry::ingest::StoreIngest::open(dir.path().join("t.db"), "svc").unwrap();
    /// assert!(ingest.flush(std::time::Duration::from_secs(1)));
    /// ```
    pub fn flush(&self, timeout: Duration) -> bool {
        self.pipeline.flush(timeout)
    }

    fn send(&self, item: Telemetry) -> Result<(), IngestError> {
        let _sending = self.sending.lock().unwrap_or_else(|p| p.into_inner());
        if self.pipeline.try_send(&item) {
            Ok(())
        } else {
            Err(IngestError::Busy)
        }
    }
}

impl Drop for StoreIngest {
    /// Writes what is queued (up to 5 s), then stops the writer.
    fn drop(&mut self) {
        self.pipeline.shutdown(Duration::from_secs(5));
    }
}

impl std::fmt::Debug for StoreIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreIngest")
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

fn text(s: String) -> AttrValue {
    AttrValue::Str(AttrStr::from(s))
}

/// A JSON attribute value as a typed attribute (objects and arrays as their JSON text;
/// `null`s are left out before this).
fn attr_value(v: serde_json::Value) -> AttrValue {
    use serde_json::Value;
    match v {
        Value::Bool(b) => AttrValue::Bool(b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                AttrValue::U64(u)
            } else if let Some(i) = n.as_i64() {
                AttrValue::I64(i)
            } else {
                AttrValue::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => text(s),
        other => text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::pipeline::{Accepts, BatchWriter, QueueOptions, SinkHandle, WriteError};
    use crate::SpanStatus;

    /// A writer that holds its first batch until told to go on, and reports what it got.
    struct Gate {
        go: mpsc::Receiver<()>,
        seen: mpsc::Sender<Telemetry>,
    }

    impl BatchWriter for Gate {
        fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
            let _ = self.go.recv();
            for item in batch {
                let _ = self.seen.send(item.clone());
            }
            Ok(())
        }
    }

    #[test]
    fn a_full_queue_refuses_and_loses_nothing() {
        let (go_tx, go) = mpsc::channel();
        let (seen, seen_rx) = mpsc::channel();
        let options = QueueOptions {
            capacity: 1,
            max_batch: 1,
        };
        let ingest = StoreIngest::with_pipeline(
            Pipeline::new(vec![SinkHandle::spawn(
                "gate",
                Accepts::ALL,
                options,
                Gate { go, seen },
            )]),
            "svc",
        );
        let trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
        let span: SpanId = "00f067aa0ba902b7".parse().unwrap();
        let t0 = SystemTime::now();
        let start = StructuredLogEvent::SpanStart {
            name: "work".into(),
            parent_span_id: None,
        };
        let end = || StructuredLogEvent::SpanEnd {
            status: SpanStatus::Ok,
        };
        let log = |ingest: &StoreIngest| {
            ingest.log_event(trace, span, t0, start.clone().into(), BTreeMap::new())
        };
        // The worker holds one item; the queue holds one more; then it is full.
        let mut taken = 0;
        while log(&ingest).is_ok() {
            taken += 1;
            assert!(taken < 10, "the queue never filled");
        }
        assert_eq!(log(&ingest), Err(IngestError::Busy));
        // A refused span_end keeps its start: sent again later, it makes the span.
        assert_eq!(
            ingest.log_event(trace, span, t0, end().into(), BTreeMap::new()),
            Err(IngestError::Busy)
        );
        for _ in 0..taken + 2 {
            let _ = go_tx.send(());
        }
        assert!(ingest.flush(Duration::from_secs(5)));
        for _ in 0..3 {
            let _ = go_tx.send(());
        }
        ingest
            .log_event(trace, span, t0, end().into(), BTreeMap::new())
            .unwrap();
        for _ in 0..3 {
            let _ = go_tx.send(());
        }
        assert!(ingest.flush(Duration::from_secs(5)));
        drop(go_tx);
        let items: Vec<Telemetry> = seen_rx.try_iter().collect();
        let spans = items.iter().filter(|i| i.span().is_some()).count();
        assert_eq!(spans, 1, "the span, once");
        let logs = items.len() - spans;
        assert!(
            logs >= taken,
            "every start taken is written ({logs} of {taken})"
        );
        assert!(ingest.pipeline.stats().iter().all(|s| s.dropped == 0));
    }
}
