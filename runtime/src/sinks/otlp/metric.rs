//! The `otel_metric` sink: the metric points of every inference are recorded into the
//! instruments of an SDK `MeterProvider` (llama-stack's `{ns}.prompt_tokens`,
//! `{ns}.completion_tokens`, `{ns}.tokens` counters in `{token}`, and the GenAI
//! histograms with their semantic-convention buckets; the HTTP middleware's request
//! counter, histogram and requests-in-flight gauge), which a periodic reader exports
//! over OTLP every `OTEL_METRIC_EXPORT_INTERVAL`. `flush()` forces an export; shutdown
//! exports what is left.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

use super::{build_exporter, resource, ExportHealth, ExportRuntime};
use crate::config::otlp::{ExportTarget, Signal};
use crate::config::{ConfigError, SinkKind, TelemetryConfig};
use crate::metrics::instruments::{description, histogram_buckets, is_whole_count};
use crate::metrics::InferenceMetrics;
use crate::model::metric::MetricRecord;
use crate::model::vocab::Instrument;
use crate::pipeline::{BatchWriter, Telemetry, WriteError};

/// Records metric points into SDK instruments on the sink's worker thread.
pub(crate) struct MetricWriter {
    // Declared before the runtime: its final export runs while the I/O thread still does.
    provider: SdkMeterProvider,
    meter: Meter,
    instruments: HashMap<String, Instr>,
    rt: ExportRuntime,
    // Something was recorded since the last forced export.
    dirty: bool,
    shut_down: bool,
    metrics: InferenceMetrics,
}

enum Instr {
    U64Counter(Counter<u64>),
    F64Counter(Counter<f64>),
    Histogram(Histogram<f64>),
    Gauge(Gauge<f64>),
}

impl MetricWriter {
    /// Build the exporter and provider now, so a configuration they reject fails `init()`.
    pub(crate) fn new(config: &TelemetryConfig) -> Result<Self, ConfigError> {
        let target = config.otlp().target(Signal::Metrics)?;
        let rt = ExportRuntime::new(SinkKind::OtelMetric)?;
        let inner = metric_exporter(&target, &rt).map_err(|reason| ConfigError::SinkStart {
            sink: SinkKind::OtelMetric,
            reason,
        })?;
        let handle = rt.handle().cloned().ok_or_else(|| ConfigError::SinkStart {
            sink: SinkKind::OtelMetric,
            reason: "its I/O thread is not running".into(),
        })?;
        let exporter = RuntimeExporter {
            inner,
            handle,
            limit: target.timeout + Duration::from_millis(500),
            health: Arc::new(ExportHealth::new(&target)),
        };
        let interval = Duration::from_millis(config.otlp().metric_export_interval_ms.max(1));
        let reader = PeriodicReader::builder(exporter)
            .with_interval(interval)
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource(config))
            .with_reader(reader)
            .build();
        let meter = provider.meter_with_scope(super::convert::scope());
        Ok(MetricWriter {
            provider,
            meter,
            instruments: HashMap::new(),
            rt,
            dirty: false,
            shut_down: false,
            metrics: InferenceMetrics::new(config.metric_namespace()),
        })
    }

    fn record(&mut self, point: &MetricRecord) {
        let attributes: Vec<KeyValue> = super::convert::key_values(&point.attributes);
        let meter = &self.meter;
        let instrument = self
            .instruments
            .entry(point.name.to_string())
            .or_insert_with(|| create_instrument(meter, point));
        match instrument {
            Instr::U64Counter(c) => {
                if point.value >= 0.0 {
                    c.add(point.value.round() as u64, &attributes)
                }
            }
            Instr::F64Counter(c) => c.add(point.value, &attributes),
            Instr::Histogram(h) => h.record(point.value, &attributes),
            Instr::Gauge(g) => g.record(point.value, &attributes),
        }
    }
}

fn create_instrument(meter: &Meter, point: &MetricRecord) -> Instr {
    let name = point.name.to_string();
    match point.instrument {
        // Token and request counts are whole numbers: an integer counter exports them as such.
        Instrument::Counter if is_whole_count(&point.unit) => Instr::U64Counter(
            meter
                .u64_counter(name)
                .with_unit(point.unit.clone())
                .with_description(description(&point.name))
                .build(),
        ),
        Instrument::Counter => Instr::F64Counter(
            meter
                .f64_counter(name)
                .with_unit(point.unit.clone())
                .with_description(description(&point.name))
                .build(),
        ),
        Instrument::Histogram => {
            let builder = meter
                .f64_histogram(name)
                .with_unit(point.unit.clone())
                .with_description(description(&point.name));
            let builder = match histogram_buckets(&point.name, &point.unit) {
                Some(b) => builder.with_boundaries(b.to_vec()),
                None => builder,
            };
            Instr::Histogram(builder.build())
        }
        Instrument::Gauge => Instr::Gauge(
            meter
                .f64_gauge(name)
                .with_unit(point.unit.clone())
                .with_description(description(&point.name))
                .build(),
        ),
    }
}

fn metric_exporter(
    target: &ExportTarget,
    rt: &ExportRuntime,
) -> Result<opentelemetry_otlp::MetricExporter, String> {
    // tonic's lazy channel spawns its worker on the runtime current at build time.
    let _enter = rt.handle().map(|h| h.enter());
    // Exports are rare (each interval, or a flush) and cumulative: the SDK's recommended
    // retries cost little here (unlike the span exporter's, see `RetryUnlessDown`).
    let retry = opentelemetry_otlp::RetryPolicy::recommended();
    build_exporter!(
        opentelemetry_otlp::MetricExporter::builder(),
        target,
        retry,
        .with_temporality(Temporality::Cumulative),
    )
}

impl BatchWriter for MetricWriter {
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        for item in batch {
            if let Some(points) = item.metrics(&self.metrics) {
                for point in points.iter() {
                    self.record(point);
                    self.dirty = true;
                }
            }
        }
        Ok(())
    }

    /// Export now, if anything was recorded since the last export that went through. A
    /// failed export is reported by the exporter (once per outage), and the next flush
    /// tries again.
    fn flush(&mut self) -> Result<(), WriteError> {
        if self.dirty && !self.shut_down {
            self.dirty = self.provider.force_flush().is_err();
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        if !self.shut_down {
            self.shut_down = true;
            // Collects and exports what is left, then stops the reader's thread.
            let _ = self.provider.shutdown();
        }
        self.rt.shutdown();
    }
}

/// The OTLP exporter, run on the sink's own runtime. The periodic reader calls it from
/// its own thread, outside any runtime: the future is driven here, bounded in time, and
/// the outcome reported through [`ExportHealth`].
struct RuntimeExporter {
    inner: opentelemetry_otlp::MetricExporter,
    handle: tokio::runtime::Handle,
    limit: Duration,
    health: Arc<ExportHealth>,
}

impl PushMetricExporter for RuntimeExporter {
    fn export(
        &self,
        metrics: &ResourceMetrics,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // The reader's thread: whatever the HTTP/gRPC stacks trace here is ignored.
        super::mark_thread_internal();
        let limit = self.limit;
        let outcome = self
            .handle
            .block_on(async { tokio::time::timeout(limit, self.inner.export(metrics)).await });
        let result = match outcome {
            Ok(r) => r,
            Err(_) => Err(OTelSdkError::Timeout(limit)),
        };
        self.health
            .record(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        std::future::ready(result)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::time::SystemTime;

    #[test]
    fn a_flush_after_a_failed_export_tries_again() {
        let (port, seen) = super::super::test_support::hang_up_collector();
        let mut writer = MetricWriter::new(&super::super::test_support::config_for(port)).unwrap();
        let point = MetricRecord {
            name: Cow::Borrowed("llama_stack.tokens"),
            instrument: Instrument::Counter,
            count: 1,
            unit: "{token}".into(),
            value: 7.0,
            attributes: Vec::new(),
            timestamp: SystemTime::now(),
            trace_id: None,
            span_id: None,
        };
        writer
            .write_batch(&[Telemetry::Metrics(vec![point].into())])
            .unwrap();
        writer.flush().unwrap();
        let after_first = seen();
        assert!(after_first >= 1);
        // Nothing recorded since, but nothing went through either: export again.
        writer.flush().unwrap();
        assert!(seen() > after_first, "{} attempts", seen());
        writer.shutdown();
    }
}
