//! L7, installing llm-telemetry: build the layer, start the sinks the configuration names
//! and make the guard that flushes them ([`layer`]); [`TelemetryConfig::init`] and
//! `init_local` put that layer on a `tracing` registry, as `tracing_subscriber::fmt::init`
//! does for its own layer. Configuration itself only describes; this is where it acts.

use std::sync::Arc;

use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{ConfigError, TelemetryConfig};
use crate::guard::TelemetryGuard;
use crate::layer::{LayerSettings, TelemetryLayer};
use crate::model::price::PriceTable;
use crate::pipeline::Pipeline;

/// Check `config`, start its sinks, and build the layer that feeds them and the guard that
/// flushes them. Fails before starting anything that cannot work.
pub fn layer<S>(
    config: &TelemetryConfig,
) -> Result<(TelemetryLayer<S>, TelemetryGuard), ConfigError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    config.validate()?;
    let started = crate::sinks::start(config)?;
    let pipeline = Arc::new(Pipeline::new(started.sinks));
    let settings = LayerSettings {
        service_name: Arc::from(config.service_name()),
        capture_content: config.capture_content(),
        capture_max_bytes: config.capture_max_bytes(),
        redact: config.redact.clone(),
        metric_namespace: Arc::from(config.metric_namespace()),
        sampler: config.sampler(),
        prices: Arc::new(PriceTable::new(config.prices().rules())),
    };
    let layer = TelemetryLayer::new(settings, pipeline.clone());
    let guard = TelemetryGuard {
        pipeline,
        _default: None,
        db_path: started.db_path,
        #[cfg(feature = "prometheus")]
        prometheus: started.prometheus,
    };
    Ok((layer, guard))
}

impl TelemetryConfig {
    /// Install llm-telemetry as the global `tracing` subscriber.
    ///
    /// Fails if the configuration cannot be honoured (an unwritable store, say) or a
    /// global subscriber is already set.
    pub fn init(self) -> Result<TelemetryGuard, ConfigError> {
        use tracing_subscriber::prelude::*;
        let (layer, guard) = layer(&self)?;
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .map_err(|_| ConfigError::AlreadyInitialized)?;
        Ok(guard)
    }

    /// Install llm-telemetry as this thread's default subscriber until the guard drops:
    /// for tests, which must not share global state.
    pub fn init_local(self) -> Result<TelemetryGuard, ConfigError> {
        use tracing_subscriber::prelude::*;
        let (layer, mut guard) = layer(&self)?;
        let subscriber = tracing_subscriber::registry().with(layer);
        guard._default = Some(tracing::subscriber::set_default(subscriber));
        Ok(guard)
    }
}
