//! [`StoreIngest`]: telemetry that arrives from outside the process — llama-stack
//! `log_event` calls received by `llm-trace serve` — written into a trace store.
//!
//! It is the sqlite sink without the tracing layer: its own bounded queue and writer
//! thread, so a caller never waits on SQLite, and a full queue is *refused*
//! ([`IngestError::Busy`]) rather than dropped, so that a server can answer "retry later"
//! instead of losing what it was sent. llama-stack's structured events become spans: a
//! `span_start` is held (in memory, bounded) until its `span_end` arrives, and the pair is
//! stored as one span row, so the trace appears in `query_traces`, `get_trace` and
//! `llm-trace show`. Every event is also stored as a span log, as llama-stack stored it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::event::{Event, StructuredLogEvent};
use crate::model::attr::{AttrStr, AttrValue, Attributes};
use crate::model::ids::{SpanId, TraceId};
use crate::model::log::{LogBody, LogRecord};
use crate::model::span::SpanRecord;
use crate::model::vocab::{SpanCategory, SpanKind};
use crate::pipeline::{Pipeline, Telemetry};

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
        let config = TelemetryConfig::builder()
            .sinks([SinkKind::Sqlite])
            .sqlite_db_path(path.as_ref())
            .service_name(service_name)
            .build();
        let sinks = crate::sinks::start(&config)?.sinks;
        Ok(StoreIngest {
            pipeline: Pipeline::new(sinks),
            service_name: Arc::from(service_name),
            pending: Mutex::new(HashMap::new()),
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
        let ingest = StoreIngest {
            pipeline: Pipeline::new(vec![SinkHandle::spawn(
                "gate",
                Accepts::ALL,
                options,
                Gate { go, seen },
            )]),
            service_name: Arc::from("svc"),
            pending: Mutex::new(HashMap::new()),
        };
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
