//! The layer's per-layer filter: `INFO` and above, except the exporters' own HTTP and gRPC
//! stacks. Static, so callsites are decided once and cached, and it filters for this layer
//! only: other layers still see everything they ask for.

use tracing::Metadata;
use tracing_core::subscriber::Interest;
use tracing_core::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};

/// Targets whose spans and logs never enter the pipeline: the exporters' own HTTP and
/// gRPC stacks would otherwise report on themselves without end.
const INTERNAL_TARGETS: [&str; 10] = [
    "hyper",
    "h2",
    "tonic",
    "tower",
    "reqwest",
    "rustls",
    "opentelemetry",
    "want",
    "mio",
    "llm_telemetry::internal",
];

/// The per-layer filter: static, so callsites are decided once and cached.
pub struct TelemetryFilter {
    pub(super) enabled: bool,
}

impl TelemetryFilter {
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        self.enabled
            && *metadata.level() <= tracing::Level::INFO
            && !INTERNAL_TARGETS.iter().any(|t| {
                let target = metadata.target();
                target.starts_with(t)
                    && matches!(
                        target.as_bytes().get(t.len()),
                        None | Some(b':' | b'_' | b'-')
                    )
            })
    }
}

impl<S> Filter<S> for TelemetryFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.wants(metadata)
    }
    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.wants(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(if self.enabled {
            LevelFilter::INFO
        } else {
            LevelFilter::OFF
        })
    }
}
