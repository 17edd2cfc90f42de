//! Tests of the configuration: defaults, parsing, and the errors bad values give.

use std::path::Path;

use super::*;

use std::collections::HashMap;

fn from(vars: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TelemetryConfig::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults() {
    let c = from(&[("HOME", "/home/u")]).unwrap();
    assert_eq!(c.sinks(), &[SinkKind::Console, SinkKind::Sqlite]);
    assert_eq!(
        c.sqlite_db_path(),
        Path::new("/home/u/.local/state/llm-telemetry/trace_store.db")
    );
    assert!(!c.capture_content());
    assert_eq!(c.metric_namespace(), "llama_stack");
    let c = from(&[("XDG_STATE_HOME", "/state")]).unwrap();
    assert_eq!(
        c.sqlite_db_path(),
        Path::new("/state/llm-telemetry/trace_store.db")
    );
}

#[test]
fn sinks_parse_and_name_bad_values() {
    let c = from(&[("TELEMETRY_SINKS", " otel , sqlite,otel_trace")]).unwrap();
    assert_eq!(
        c.sinks(),
        &[SinkKind::OtelTrace, SinkKind::OtelMetric, SinkKind::Sqlite]
    );
    assert!(from(&[("TELEMETRY_SINKS", "")]).unwrap().sinks().is_empty());
    let e = from(&[("TELEMETRY_SINKS", "console,sqllite")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("TELEMETRY_SINKS"), "{e}");
    assert!(e.contains("sqllite"), "{e}");
    assert!(
        e.contains("console, sqlite, otel_trace, otel_metric"),
        "{e}"
    );
}

#[test]
fn booleans_and_namespaces() {
    assert!(from(&[("TELEMETRY_CAPTURE_CONTENT", "ON")])
        .unwrap()
        .capture_content());
    let e = from(&[("TELEMETRY_CAPTURE_CONTENT", "maybe")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("TELEMETRY_CAPTURE_CONTENT=\"maybe\"") && e.contains("true, false"),
        "{e}"
    );
    let e = from(&[("TELEMETRY_METRIC_NAMESPACE", "my-ns")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("TELEMETRY_METRIC_NAMESPACE"), "{e}");
}

#[test]
fn otlp_and_prometheus_settings() {
    let c = from(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("TELEMETRY_PROMETHEUS_ADDR", "0.0.0.0:9999"),
    ])
    .unwrap();
    assert_eq!(c.otlp().traces_protocol(), OtlpProtocol::Grpc);
    assert_eq!(c.prometheus_addr(), "0.0.0.0:9999");
    assert_eq!(from(&[]).unwrap().prometheus_addr(), "127.0.0.1:9464");
    let e = from(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grcp")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && e.contains("grpc, http/protobuf"),
        "{e}"
    );
    let e = from(&[("TELEMETRY_PROMETHEUS_ADDR", "9464")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("TELEMETRY_PROMETHEUS_ADDR") && e.contains("host:port"),
        "{e}"
    );
    // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
    let c = from(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs")]).unwrap();
    assert_eq!(c.service_name(), "from-attrs");
    let c = from(&[
        ("OTEL_RESOURCE_ATTRIBUTES", "service.name=a"),
        ("OTEL_SERVICE_NAME", "b"),
    ])
    .unwrap();
    assert_eq!(c.service_name(), "b");
    // Values set in code are checked at init, naming the variable.
    let c = TelemetryConfig::builder()
        .otlp_endpoint("collector:4318")
        .build();
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{e}");
}

mod prices;

#[test]
fn the_postgres_sink_its_url_retention_and_pg_variables() {
    let c = from(&[
        ("TELEMETRY_SINKS", "console,postgres"),
        ("TELEMETRY_POSTGRES_URL", "postgres://app@db/traces"),
        ("TELEMETRY_POSTGRES_RETENTION", "12h"),
        ("PGPASSWORD", "pw"),
        ("PGSSLMODE", "verify-full"),
    ])
    .unwrap();
    assert_eq!(c.sinks(), &[SinkKind::Console, SinkKind::Postgres]);
    assert_eq!(c.postgres_url(), Some("postgres://app@db/traces"));
    assert_eq!(
        c.postgres_retention(),
        Some(std::time::Duration::from_secs(12 * 3600))
    );
    let env = c.pg_env();
    assert_eq!(env.password.as_deref(), Some("pw"));
    assert_eq!(env.sslmode.as_deref(), Some("verify-full"));
    let err = from(&[("TELEMETRY_POSTGRES_RETENTION", "forever")]).unwrap_err();
    assert!(
        err.to_string().contains("TELEMETRY_POSTGRES_RETENTION"),
        "{err}"
    );
    // From a file: the same names.
    let c: TelemetryConfig = serde_json::from_str(
        r#"{ "sinks": ["postgres"], "postgres_url": "host=db", "postgres_retention": "7d" }"#,
    )
    .unwrap();
    assert_eq!(c.sinks(), &[SinkKind::Postgres]);
    assert_eq!(c.postgres_url(), Some("host=db"));
    assert_eq!(
        c.postgres_retention(),
        Some(std::time::Duration::from_secs(7 * 86_400))
    );
}
