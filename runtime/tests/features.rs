//! Each sink is behind a cargo feature: a sink compiled out is a `ConfigError` naming the
//! feature to enable, one compiled in starts. Meaningful in every feature set; CI runs it
//! with the defaults and with `--no-default-features --features sqlite`.

use llm_telemetry::{ConfigError, SinkKind, TelemetryConfig};

/// The sinks of this build's features, and the feature each needs.
fn sinks() -> [(SinkKind, bool, &'static str); 4] {
    [
        (SinkKind::Sqlite, cfg!(feature = "sqlite"), "sqlite"),
        (
            SinkKind::OtelTrace,
            cfg!(feature = "otlp"),
            "otlp-http` or `otlp-grpc",
        ),
        (
            SinkKind::OtelMetric,
            cfg!(feature = "otlp"),
            "otlp-http` or `otlp-grpc",
        ),
        (
            SinkKind::Prometheus,
            cfg!(feature = "prometheus"),
            "prometheus",
        ),
    ]
}

#[test]
fn a_sink_compiled_out_names_its_feature_and_one_compiled_in_starts() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, built, feature) in sinks() {
        let config = TelemetryConfig::builder()
            .sinks([kind])
            .sqlite_db_path(dir.path().join("t.db"))
            .prometheus_addr("127.0.0.1:0")
            .otlp_endpoint("http://127.0.0.1:9")
            .build();
        let result = config.init_local();
        if built {
            assert!(result.is_ok(), "{kind}: {:?}", result.err());
            continue;
        }
        let err = result.unwrap_err();
        assert!(
            matches!(err, ConfigError::SinkUnavailable { sink, .. } if sink == kind),
            "{kind}: {err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("TELEMETRY_SINKS") && text.contains(&format!("`{feature}`")),
            "{text}"
        );
    }
}

#[test]
fn the_default_sinks_are_the_ones_this_build_has() {
    let config = TelemetryConfig::from_lookup(|_| None).unwrap();
    let expected: &[SinkKind] = if cfg!(feature = "sqlite") {
        &[SinkKind::Console, SinkKind::Sqlite]
    } else {
        &[SinkKind::Console]
    };
    assert_eq!(config.sinks(), expected);
}
