//! The request metrics one middleware records, as llama-stack's RequestMetricsMiddleware
//! meant them: per finished request one `{ns}.requests` increment and one
//! `{ns}.request_duration` observation labelled `api` and `status`, and the
//! `{ns}.concurrent_requests` gauge labelled `api`, measured when a request starts (the
//! count including it) and when it ends (the count without it), so the last value is the
//! number in flight (0 when idle; llama-stack's only ever said ≥ 1).
//!
//! The points go to the sinks of the llm-telemetry layer on the current subscriber, through
//! its [`MetricsPort`]; without one they are not made. A gauge point is sent while the count
//! is locked, so the sinks receive each `api`'s values in the order they were counted and
//! the last one they keep is the true count.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::layer::lookups::{with_metrics_port, MetricsPort};
use crate::metrics::instruments::{REQUEST_UNIT, SECONDS_UNIT};
use crate::model::attr::{AttrStr, AttrValue, Attributes};
use crate::model::ids::{SpanId, TraceId};
use crate::model::metric::MetricRecord;
use crate::model::vocab::Instrument;

/// The label names.
const API: &str = "api";
const STATUS: &str = "status";

/// Requests in flight per `api`, shared by every clone of one middleware.
#[derive(Debug, Default)]
pub struct InFlight {
    counts: Mutex<HashMap<Box<str>, u64>>,
}

/// The span a measurement belongs to (an exemplar for the store).
pub type Exemplar = Option<(TraceId, SpanId)>;

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, u64>> {
        // A panic while the map was locked cannot leave a count half-written.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request to `api` starts.
    pub fn enter(&self, api: &AttrStr, exemplar: Exemplar) {
        let mut counts = self.lock();
        let n = match counts.get_mut(api.as_str()) {
            Some(n) => {
                *n += 1;
                *n
            }
            None => {
                counts.insert(api.as_str().into(), 1);
                1
            }
        };
        with_metrics_port(|port| port.send(vec![gauge(port, api, n, exemplar)]));
    }

    /// A request to `api` ended with `status` after `duration`.
    pub fn leave(&self, api: &AttrStr, status: AttrStr, duration: Duration, exemplar: Exemplar) {
        let mut counts = self.lock();
        let n = counts.get_mut(api.as_str()).map_or(0, |n| {
            *n = n.saturating_sub(1);
            *n
        });
        with_metrics_port(|port| {
            let labels: Attributes = vec![
                (Cow::Borrowed(API), AttrValue::Str(api.clone())),
                (Cow::Borrowed(STATUS), AttrValue::Str(status)),
            ];
            let now = SystemTime::now();
            let names = &port.request_names;
            let point = |name: &String, instrument, unit, value, attributes| MetricRecord {
                name: Cow::Owned(name.clone()),
                instrument,
                count: 1,
                unit: Cow::Borrowed(unit),
                value,
                attributes,
                timestamp: now,
                trace_id: exemplar.map(|e| e.0),
                span_id: exemplar.map(|e| e.1),
            };
            port.send(vec![
                point(
                    &names.requests,
                    Instrument::Counter,
                    REQUEST_UNIT,
                    1.0,
                    labels.clone(),
                ),
                point(
                    &names.duration,
                    Instrument::Histogram,
                    SECONDS_UNIT,
                    duration.as_secs_f64(),
                    labels,
                ),
                gauge(port, api, n, exemplar),
            ]);
        });
        drop(counts);
    }
}

/// The `{ns}.concurrent_requests{api}` point of value `n`.
fn gauge(port: &MetricsPort, api: &AttrStr, n: u64, exemplar: Exemplar) -> MetricRecord {
    MetricRecord {
        name: Cow::Owned(port.request_names.concurrent.clone()),
        instrument: Instrument::Gauge,
        count: 1,
        unit: Cow::Borrowed(REQUEST_UNIT),
        value: n as f64,
        attributes: vec![(Cow::Borrowed(API), AttrValue::Str(api.clone()))],
        timestamp: SystemTime::now(),
        trace_id: exemplar.map(|e| e.0),
        span_id: exemplar.map(|e| e.1),
    }
}
