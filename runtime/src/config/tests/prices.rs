//! `TELEMETRY_PRICES`: TOML and JSON files, and the errors bad ones give.

use super::from;
use crate::model::price::{ModelPrice, PriceTable};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn table(path: &str) -> PriceTable {
    let c = from(&[("TELEMETRY_PRICES", path)]).unwrap();
    PriceTable::new(c.prices().rules())
}

#[test]
fn toml_and_json_files_add_and_override_prices() {
    let dir = tempfile::tempdir().unwrap();
    let toml = write(
        &dir,
        "p.toml",
        "[models.\"gpt-4o\"]\ninput = 1\noutput = 2\ncached_input = 0.5\nreasoning = 3\n\n\
         [models.\"llama3*\"]\nprovider = \"ollama\"\ninput = 0\noutput = 0\n",
    );
    let t = table(&toml);
    assert_eq!(
        t.lookup("gpt-4o", Some("openai")).copied(),
        Some(
            ModelPrice::new(1.0, 2.0)
                .with_cached_input(0.5)
                .with_reasoning(3.0)
        )
    );
    assert_eq!(
        t.lookup("llama3.2:3b", Some("ollama")).copied(),
        Some(ModelPrice::new(0.0, 0.0))
    );
    assert!(t.lookup("llama3.2:3b", Some("vllm")).is_none());
    let json = write(
        &dir,
        "p.JSON",
        r#"{"models": {"openai/gpt-4o": {"input": 4, "output": 5}}}"#,
    );
    let t = table(&json);
    assert_eq!(t.lookup("gpt-4o", Some("openai")).unwrap().input, 4.0);
    // Restricted to OpenAI by its prefix: Azure's gpt-4o keeps the built-in price.
    assert_eq!(
        t.lookup("gpt-4o", Some("azure.ai.openai")).unwrap().input,
        2.5
    );
    // Empty: the built-in table alone.
    assert!(from(&[("TELEMETRY_PRICES", "")])
        .unwrap()
        .prices()
        .is_empty());
}

#[test]
fn bad_files_name_the_variable_the_path_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let check = |path: &str, wanted: &[&str]| {
        let e = from(&[("TELEMETRY_PRICES", path)]).unwrap_err().to_string();
        assert!(e.starts_with("TELEMETRY_PRICES="), "{e}");
        assert!(e.contains(path) && e.contains("USD per 1M tokens"), "{e}");
        for w in wanted {
            assert!(e.contains(w), "{w:?} not in {e}");
        }
    };
    check(
        &dir.path().join("missing.toml").display().to_string(),
        &["cannot read it"],
    );
    check(&write(&dir, "p.yaml", "models: {}"), &[".toml", ".json"]);
    let negative = write(
        &dir,
        "n.toml",
        "[models.\"gpt-4o\"]\ninput = -1\noutput = 2\n",
    );
    check(&negative, &["models.\"gpt-4o\"", "negative"]);
    let typo = write(&dir, "t.toml", "[models.\"m\"]\ninput = 1\noutptu = 2\n");
    check(&typo, &["line 3", "outptu"]);
    let missing = write(&dir, "m.json", "{\"models\": {\"m\": {\"input\": 1}}}");
    check(&missing, &["output", "line 1"]);
    let text = write(
        &dir,
        "s.toml",
        "[models.m]\ninput = \"cheap\"\noutput = 1\n",
    );
    check(&text, &["line 2"]);
}

#[test]
fn serde_field_and_code_prices_are_checked_too() {
    let c: crate::TelemetryConfig = serde_json::from_str(
        r#"{"sinks": [], "prices": {"models": {"m": {"input": 1, "output": 2}}}}"#,
    )
    .unwrap();
    assert_eq!(c.prices().len(), 1);
    let e = serde_json::from_str::<crate::TelemetryConfig>(
        r#"{"prices": {"models": {"m": {"input": -1, "output": 2}}}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("models.\"m\""), "{e}");
    let bad = crate::TelemetryConfig::builder()
        .price("m", ModelPrice::new(f64::NAN, 1.0))
        .build();
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.starts_with("prices=") && e.contains("not a number"),
        "{e}"
    );
}
