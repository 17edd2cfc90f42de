//! Tests of the content capture settings: `TELEMETRY_CAPTURE_MAX_BYTES` from the
//! environment, the builder and a config file, its errors, and the redaction hook's place
//! in the configuration.

use std::collections::HashMap;

use super::super::{ConfigError, TelemetryConfig};
use super::DEFAULT_CAPTURE_MAX_BYTES;

fn with_max(value: &str) -> Result<TelemetryConfig, ConfigError> {
    let map: HashMap<&str, &str> = [("TELEMETRY_CAPTURE_MAX_BYTES", value)].into();
    TelemetryConfig::from_lookup(|k| map.get(k).map(|v| v.to_string()))
}

#[test]
fn the_default_is_16_kib_and_an_empty_value_keeps_it() {
    assert_eq!(DEFAULT_CAPTURE_MAX_BYTES, 16_384);
    let c = TelemetryConfig::from_lookup(|_| None).unwrap();
    assert_eq!(c.capture_max_bytes(), 16_384);
    assert_eq!(with_max(" ").unwrap().capture_max_bytes(), 16_384);
}

#[test]
fn bytes_kib_and_mib_are_accepted() {
    for (value, bytes) in [
        ("16384", 16_384),
        (" 2048 ", 2_048),
        ("256", 256),
        ("16KiB", 16_384),
        ("64 kib", 65_536),
        ("1MiB", 1 << 20),
        ("10MIB", 10 << 20),
    ] {
        let c = with_max(value).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(c.capture_max_bytes(), bytes, "{value}");
    }
}

#[test]
fn bad_values_name_the_variable_the_value_and_what_is_accepted() {
    for value in [
        "0",
        "255",
        "abc",
        "16KB",
        "-5",
        "+300",
        "1.5MiB",
        "KiB",
        "99999999999999999999999MiB",
    ] {
        let e = with_max(value).unwrap_err().to_string();
        assert!(
            e.starts_with("TELEMETRY_CAPTURE_MAX_BYTES="),
            "{value}: {e}"
        );
        assert!(e.contains(&format!("{value:?}")), "{value}: {e}");
        assert!(e.contains("16KiB or 1MiB"), "{value}: {e}");
    }
    let e = with_max("100").unwrap_err().to_string();
    assert!(e.contains("below the minimum of 256 bytes"), "{e}");
}

#[test]
fn the_builder_value_is_checked_when_telemetry_starts() {
    let c = TelemetryConfig::builder().capture_max_bytes(100).build();
    assert_eq!(c.capture_max_bytes(), 100);
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("capture_max_bytes=\"100\""), "{e}");
    assert!(TelemetryConfig::builder()
        .capture_max_bytes(4096)
        .build()
        .validate()
        .is_ok());
}

#[test]
fn a_config_file_takes_a_number_or_the_text_forms() {
    let from = |json: &str| serde_json::from_str::<TelemetryConfig>(json);
    assert_eq!(
        from(r#"{"capture_max_bytes": 4096}"#)
            .unwrap()
            .capture_max_bytes(),
        4096
    );
    assert_eq!(
        from(r#"{"capture_max_bytes": "32KiB"}"#)
            .unwrap()
            .capture_max_bytes(),
        32_768
    );
    assert_eq!(from("{}").unwrap().capture_max_bytes(), 16_384);
    let e = from(r#"{"capture_max_bytes": 10}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("capture_max_bytes=\"10\" is invalid"), "{e}");
    let e = from(r#"{"capture_max_bytes": "lots"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a number of bytes"), "{e}");
    // The hook is code, not configuration text.
    assert!(from(r#"{"redact": "x"}"#).is_err());
}

#[test]
fn the_hook_is_shown_as_set_or_not_and_shared_by_clones() {
    let plain = TelemetryConfig::builder().build();
    assert!(format!("{plain:?}").contains("redact: None"));
    let config = TelemetryConfig::builder()
        .redact(|key, value| format!("{key}:{value}"))
        .build();
    let clone = config.clone();
    assert!(format!("{clone:?}").contains("redact: Some(<redaction hook>)"));
    let hook = clone.redact.as_ref().expect("the clone has the hook");
    assert_eq!(hook.call("k", "v".into()), "k:v");
}
