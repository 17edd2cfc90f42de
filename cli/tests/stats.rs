//! `llm-trace stats`: the cost line, the calls whose cost is unknown and the models without
//! a price, the COST column — run as the real binary over `Fixture::sessions` (nine
//! inferences of model `m`, three of them priced: $0.001 + $0.0005 + $0.002) and
//! `Fixture::new` (no inference priced).

mod fixture;
mod support {
    pub mod run;
}

use fixture::*;
use support::run::*;

#[test]
fn stats_shows_cost_and_the_calls_whose_cost_is_unknown() {
    let fx = Fixture::sessions();
    let out = ok(&fx.path, &["stats"]);
    fits_80(&out);
    assert!(out.contains("\nCost        $0.0035\n"), "{out}");
    assert!(
        out.contains("\n            cost unknown for 6 of 9 calls (no price for: m)\n"),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let heading = lines.iter().position(|l| l.starts_with("MODEL")).unwrap();
    assert_eq!(
        lines[heading].split_whitespace().collect::<Vec<_>>(),
        ["MODEL", "PROVIDER", "CALLS", "INPUT", "OUTPUT", "TOTAL", "COST"]
    );
    // Some of the row's calls unpriced: the priced ones' sum, marked with `+`.
    assert_eq!(
        lines[heading + 1].split_whitespace().collect::<Vec<_>>(),
        ["m", "p", "9", "215", "58", "273", "$0.0035+"]
    );

    let s = json(&fx.path, &["stats"]);
    assert!(
        (s["cost_usd"].as_f64().unwrap() - 0.0035).abs() < 1e-12,
        "{s}"
    );
    assert_eq!(s["inference_calls"], 9);
    assert_eq!(s["cost_unknown_calls"], 6);
    assert_eq!(s["unpriced_models"], serde_json::json!(["m"]));
    assert_eq!(s["tokens"][0]["cost_unknown_calls"], 6);
    assert!((s["tokens"][0]["cost_usd"].as_f64().unwrap() - 0.0035).abs() < 1e-12);
}

#[test]
fn stats_without_any_price_says_unknown_and_names_the_models() {
    let fx = Fixture::new();
    let out = ok(&fx.path, &["stats"]);
    fits_80(&out);
    assert!(out.contains("\nCost        unknown\n"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("cost unknown for"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("no price for: ") && line.contains("gpt-4o") && line.contains("llama3.2:3b"),
        "{line}"
    );
    let s = json(&fx.path, &["stats"]);
    assert!(s["cost_usd"].is_null());
    assert_eq!(s["cost_unknown_calls"], s["inference_calls"]);
    let row = out.lines().find(|l| l.starts_with("gpt-4o")).unwrap();
    assert!(row.ends_with(" -"), "{row}");
}
