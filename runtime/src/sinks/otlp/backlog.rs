//! The `otel_trace` sink's backlog: the spans a collector did not take, kept until it
//! answers again and then sent oldest first, within the bound of `TELEMETRY_OTLP_BACKLOG`
//! ([`OtlpBacklog`]). What falls outside the bound is dropped and counted.
//!
//! Two homes, one interface ([`Backlog`]):
//! - in memory (no `sqlite` sink): the queue items themselves (shared records, converted
//!   to OTLP only when they are sent), lost with the process;
//! - in the store (`sqlite` sink on, [`super::backlog_store`]): only their ids, in the
//!   `otlp_backlog` table, since the store already holds every span; the rows survive the
//!   process and the next one that exports to the same endpoint sends them.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use opentelemetry_sdk::trace::SpanData;

use crate::pipeline::Telemetry;

use crate::config::OtlpBacklog;
use crate::pipeline::Report;

use super::BACKLOG_CHUNK as CHUNK;

/// Where the spans a collector did not take wait.
pub(crate) enum Backlog {
    /// `TELEMETRY_OTLP_BACKLOG=off`: nothing waits, a refused batch is dropped.
    Off,
    /// The spans themselves, in memory.
    Memory(MemoryBacklog),
    /// Their ids, in the store.
    #[cfg(feature = "sqlite")]
    Store(Box<super::backlog_store::StoreBacklog>),
}

impl Backlog {
    /// Keep the spans of `items` (refused just now) behind what waits already; count what
    /// the bound drops.
    pub(crate) fn keep(&mut self, items: &[Telemetry], report: &mut Report) {
        match self {
            Backlog::Off => {
                report.dropped += items.iter().filter(|i| i.span().is_some()).count() as u64
            }
            Backlog::Memory(m) => m.keep(items, report),
            #[cfg(feature = "sqlite")]
            Backlog::Store(s) => s.keep(items, report),
        }
    }

    /// Up to [`CHUNK`] of the oldest waiting spans in OTLP form (`convert` turns a queue
    /// item into it); they stay until [`Backlog::sent`]. What is past the age bound, or
    /// gone from the store, is dropped and counted first.
    pub(crate) fn oldest(
        &mut self,
        convert: &dyn Fn(&Telemetry) -> Option<SpanData>,
        report: &mut Report,
    ) -> Vec<SpanData> {
        match self {
            Backlog::Off => Vec::new(),
            Backlog::Memory(m) => m.oldest(convert, report),
            #[cfg(feature = "sqlite")]
            Backlog::Store(s) => s.oldest(report),
        }
    }

    /// The spans [`Backlog::oldest`] returned were delivered (`ok`) or refused for good:
    /// they no longer wait.
    pub(crate) fn sent(&mut self, ok: bool, report: &mut Report) {
        match self {
            Backlog::Off => {}
            Backlog::Memory(m) => m.sent(ok, report),
            #[cfg(feature = "sqlite")]
            Backlog::Store(s) => s.sent(ok, report),
        }
    }

    /// Spans of this process waiting now.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Backlog::Off => 0,
            Backlog::Memory(m) => m.spans.len() as u64,
            #[cfg(feature = "sqlite")]
            Backlog::Store(s) => s.len(),
        }
    }

    /// Whether nothing waits (this process's spans or, in the store, adopted ones).
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Backlog::Off => true,
            Backlog::Memory(m) => m.spans.is_empty(),
            #[cfg(feature = "sqlite")]
            Backlog::Store(s) => s.is_empty(),
        }
    }

    /// Periodic upkeep (the store adopts what exited processes left).
    pub(crate) fn tick(&mut self) {
        #[cfg(feature = "sqlite")]
        if let Backlog::Store(s) = self {
            s.tick();
        }
    }

    /// The sink stops: what waits in memory is dropped (counted); the store keeps its rows
    /// for the next process. Returns a message for stderr when something is left.
    pub(crate) fn close(&mut self, what: &str, report: &mut Report) -> Option<String> {
        let left = self.len();
        match self {
            Backlog::Memory(m) if left > 0 => {
                report.dropped += left;
                m.spans.clear();
                Some(format!(
                    "{left} spans could not be exported ({what} did not answer) and are \
                     dropped; with the sqlite sink on they would wait in the store for the \
                     next run"
                ))
            }
            #[cfg(feature = "sqlite")]
            Backlog::Store(s) => s.close(what, left),
            _ => None,
        }
    }
}

/// A span waiting in memory, and when it was first refused.
struct Waiting {
    item: Telemetry,
    since: SystemTime,
}

/// The in-memory backlog: at most `max_spans` spans, none older than `max_age`.
pub(crate) struct MemoryBacklog {
    bound: OtlpBacklog,
    spans: VecDeque<Waiting>,
    // How many of the oldest were handed out by `oldest`.
    out: usize,
}

impl MemoryBacklog {
    pub(crate) fn new(bound: OtlpBacklog) -> Self {
        MemoryBacklog {
            bound,
            spans: VecDeque::new(),
            out: 0,
        }
    }

    /// The bound it keeps to.
    pub(crate) fn bound(&self) -> OtlpBacklog {
        self.bound
    }

    fn keep(&mut self, items: &[Telemetry], report: &mut Report) {
        let since = SystemTime::now();
        self.spans.extend(
            items
                .iter()
                .filter(|i| i.span().is_some())
                .map(|item| Waiting {
                    item: item.clone(),
                    since,
                }),
        );
        let excess = self.spans.len().saturating_sub(self.bound.max_spans);
        self.spans.drain(..excess);
        report.dropped += excess as u64;
    }

    fn oldest(
        &mut self,
        convert: &dyn Fn(&Telemetry) -> Option<SpanData>,
        report: &mut Report,
    ) -> Vec<SpanData> {
        if let Some(max_age) = self.bound.max_age {
            let now = SystemTime::now();
            let expired = self
                .spans
                .iter()
                .take_while(|w| older_than(w.since, max_age, now))
                .count();
            self.spans.drain(..expired);
            report.dropped += expired as u64;
        }
        self.out = self.spans.len().min(CHUNK);
        self.spans
            .iter()
            .take(self.out)
            .filter_map(|w| convert(&w.item))
            .collect()
    }

    fn sent(&mut self, ok: bool, report: &mut Report) {
        let n = std::mem::take(&mut self.out);
        self.spans.drain(..n);
        if ok {
            report.stored += n as u64;
        } else {
            report.failed += n as u64;
        }
    }
}

/// Whether `since` is more than `max_age` before `now`.
pub(crate) fn older_than(since: SystemTime, max_age: Duration, now: SystemTime) -> bool {
    now.duration_since(since)
        .is_ok_and(|waited| waited > max_age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::span::SpanRecord;
    use std::sync::Arc;

    fn spans(n: usize) -> Vec<Telemetry> {
        (0..n)
            .map(|i| Telemetry::Span(Arc::new(SpanRecord::test(&format!("s{i}")))))
            .collect()
    }

    fn convert(item: &Telemetry) -> Option<SpanData> {
        let scope = super::super::convert::scope();
        Some(super::super::convert::span_data(item.span()?, &[], &scope))
    }

    #[test]
    fn the_bound_drops_the_oldest_and_counts_them() {
        let mut b = Backlog::Memory(MemoryBacklog::new(OtlpBacklog {
            max_spans: 3,
            max_age: None,
        }));
        let mut report = Report::default();
        b.keep(&spans(2), &mut report);
        b.keep(&spans(3), &mut report);
        assert_eq!((b.len(), report.dropped), (3, 2));
        let out = b.oldest(&convert, &mut report);
        assert_eq!(
            out.iter().map(|s| &*s.name).collect::<Vec<_>>(),
            ["s0", "s1", "s2"]
        );
        b.sent(true, &mut report);
        assert_eq!((b.len(), report.stored), (0, 3));
    }

    #[test]
    fn spans_past_the_age_bound_are_dropped_not_sent() {
        let mut m = MemoryBacklog::new(OtlpBacklog {
            max_spans: 10,
            max_age: Some(Duration::from_secs(60)),
        });
        let mut report = Report::default();
        m.keep(&spans(2), &mut report);
        m.spans[0].since -= Duration::from_secs(61);
        let mut b = Backlog::Memory(m);
        assert_eq!(b.oldest(&convert, &mut report).len(), 1);
        assert_eq!(report.dropped, 1);
        b.sent(false, &mut report);
        assert_eq!((b.len(), report.failed), (0, 1));
        let mut off = Backlog::Off;
        off.keep(&spans(4), &mut report);
        assert_eq!((off.len(), report.dropped), (0, 5));
    }

    #[test]
    fn closing_drops_what_waits_in_memory() {
        let mut b = Backlog::Memory(MemoryBacklog::new(OtlpBacklog::default()));
        let mut report = Report::default();
        b.keep(&spans(4), &mut report);
        let msg = b.close("traces to x", &mut report).unwrap();
        assert!(msg.contains("4 spans"), "{msg}");
        assert_eq!((b.len(), report.dropped), (0, 4));
    }
}
