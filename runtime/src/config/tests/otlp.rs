//! Tests of the OTLP settings: the OpenTelemetry variables, per signal, and their errors.

use super::*;
use crate::config::otlp_values::PROTOCOL_ACCEPTED;
use std::collections::HashMap;

fn from(vars: &[(&str, &str)]) -> Result<OtlpConfig, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    OtlpConfig::from_lookup(|k| map.get(k).cloned())
}

fn err(vars: &[(&str, &str)]) -> String {
    from(vars).unwrap_err().to_string()
}

#[test]
fn defaults_follow_the_specification() {
    let c = from(&[]).unwrap();
    let t = c.target(Signal::Traces).unwrap();
    assert_eq!(t.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(t.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(t.timeout, Duration::from_secs(10));
    assert_eq!(
        c.metrics_endpoint().unwrap(),
        "http://localhost:4318/v1/metrics"
    );
    assert_eq!(c.metric_export_interval_ms, 60_000);
    let g = from(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
    assert_eq!(g.traces_endpoint().unwrap(), "http://localhost:4317");
    assert_eq!(g.metrics_protocol(), OtlpProtocol::Grpc);
}

#[test]
fn base_endpoint_gets_signal_paths_and_signal_endpoints_are_used_as_given() {
    let c = from(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/otlp/"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://metrics:9000/custom",
        ),
    ])
    .unwrap();
    assert_eq!(
        c.traces_endpoint().unwrap(),
        "http://collector:4318/otlp/v1/traces"
    );
    assert_eq!(c.metrics_endpoint().unwrap(), "http://metrics:9000/custom");
    let c = from(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
    ])
    .unwrap();
    assert_eq!(c.traces_endpoint().unwrap(), "http://collector:4317");
    assert_eq!(
        c.metrics_endpoint().unwrap(),
        "http://collector:4317/v1/metrics"
    );
    assert_eq!(c.traces_protocol(), OtlpProtocol::Grpc);
    assert_eq!(c.metrics_protocol(), OtlpProtocol::HttpProtobuf);
}

#[test]
fn headers_timeouts_and_resource_attributes() {
    let c = from(&[
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=s%20ecret, x-tenant=acme",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "authorization=Bearer%20t",
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=prod,service.version=1.2",
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
    ])
    .unwrap();
    let t = c.target(Signal::Traces).unwrap();
    assert_eq!(t.headers.get("authorization").unwrap(), "Bearer t");
    assert!(!t.headers.contains_key("api-key"));
    assert_eq!(t.timeout, Duration::from_millis(2500));
    let m = c.target(Signal::Metrics).unwrap();
    assert_eq!(m.headers.get("api-key").unwrap(), "s ecret");
    assert_eq!(m.headers.get("x-tenant").unwrap(), "acme");
    assert_eq!(m.timeout, Duration::from_millis(700));
    assert_eq!(
        c.resource_attributes.get("deployment.environment").unwrap(),
        "prod"
    );
    assert_eq!(c.metric_export_interval_ms, 1500);
}

#[test]
fn bad_values_name_the_variable_and_what_is_accepted() {
    let e = err(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grcp")]);
    assert!(
        e.contains("OTEL_EXPORTER_OTLP_PROTOCOL=\"grcp\"") && e.contains(PROTOCOL_ACCEPTED),
        "{e}"
    );
    let e = err(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http")]);
    assert!(e.contains("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), "{e}");
    let e = err(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")]);
    assert!(
        e.contains("OTEL_EXPORTER_OTLP_ENDPOINT") && e.contains("absolute http://"),
        "{e}"
    );
    let e = err(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "not a url")]);
    assert!(
        e.contains("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") && e.contains("not a URL"),
        "{e}"
    );
    let e = err(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector:4318")]);
    assert!(e.contains("scheme"), "{e}");
    let e = err(&[("OTEL_EXPORTER_OTLP_HEADERS", "api-key")]);
    assert!(
        e.contains("OTEL_EXPORTER_OTLP_HEADERS") && e.contains("key=value"),
        "{e}"
    );
    let e = err(&[("OTEL_EXPORTER_OTLP_HEADERS", "bad name=v")]);
    assert!(e.contains("not a valid header name"), "{e}");
    let e = err(&[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "k=%zz")]);
    assert!(
        e.contains("OTEL_EXPORTER_OTLP_TRACES_HEADERS") && e.contains("percent"),
        "{e}"
    );
    let e = err(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")]);
    assert!(
        e.contains("OTEL_EXPORTER_OTLP_TIMEOUT") && e.contains("milliseconds"),
        "{e}"
    );
    let e = err(&[("OTEL_METRIC_EXPORT_INTERVAL", "0")]);
    assert!(e.contains("OTEL_METRIC_EXPORT_INTERVAL"), "{e}");
    let e = err(&[("OTEL_RESOURCE_ATTRIBUTES", "novalue")]);
    assert!(e.contains("OTEL_RESOURCE_ATTRIBUTES"), "{e}");
    // Empty values count as unset.
    assert!(from(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", " "),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    ])
    .is_ok());
}

#[test]
fn config_files_use_the_spec_names() {
    let c: OtlpConfig = serde_json::from_str(
        r#"{ "endpoint": "http://c:4317", "protocol": "grpc", "headers": { "api-key": "k" },
             "metrics": { "protocol": "http/json", "endpoint": "http://c:4318/v1/metrics" } }"#,
    )
    .unwrap();
    assert_eq!(c.traces_protocol(), OtlpProtocol::Grpc);
    assert_eq!(c.metrics_protocol(), OtlpProtocol::HttpJson);
    assert!(c.validate().is_ok());
}
