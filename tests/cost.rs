//! Cost per call end to end: a `TELEMETRY_PRICES` file over the built-in table, an agent
//! turn with two priced inferences (one built-in price with cached tokens, one from the
//! file with reasoning tokens) and one unpriced, under a real layer writing a real SQLite
//! file and a Prometheus registry: each priced inference's exact `gen_ai.usage.cost`, none
//! on the unpriced one, the turn's `llm_telemetry.cost` and `cost_unknown_calls`, the
//! `{ns}.cost` counter in the metrics table and the `{ns}_cost_usd_total` scrape.

mod common;

use common::TempStore;
use llm_telemetry::{
    instrument_agent_turn, instrument_inference, instrument_workflow, ModelPrice, TelemetryConfig,
    Usage,
};

#[instrument_inference(model = model, provider = provider)]
fn chat(model: &str, provider: &str, usage: Usage) -> Usage {
    usage
}

#[instrument_agent_turn(agent = "planner", session = "s-1")]
fn turn() {
    // gpt-4o: the built-in price (2.5 / 10 / cached 1.25 USD per 1M).
    chat(
        "gpt-4o",
        "openai",
        Usage::new(1_000, 200).with_cached_tokens(400),
    );
    // From the file: input 1, output 4, reasoning 2.
    chat(
        "my-reasoner",
        "acme",
        Usage::new(100, 1_000).with_reasoning_tokens(600),
    );
    // No price anywhere.
    chat("local-rules-1", "local", Usage::new(50, 5));
}

const GPT_4O: f64 = (600.0 * 2.5 + 400.0 * 1.25 + 200.0 * 10.0) / 1e6;
const REASONER: f64 = (100.0 * 1.0 + 400.0 * 4.0 + 600.0 * 2.0) / 1e6;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn priced_inferences_get_their_cost_the_turn_its_total_the_metrics_a_counter() {
    let store = TempStore::new();
    let prices = store.dir.path().join("prices.toml");
    std::fs::write(
        &prices,
        "[models.\"my-reasoner\"]\ninput = 1\noutput = 4\nreasoning = 2\n",
    )
    .unwrap();
    let db = store.path.display().to_string();
    let prices = prices.display().to_string();
    let config = TelemetryConfig::from_lookup(|k| match k {
        "TELEMETRY_SINKS" => Some("sqlite,prometheus".into()),
        "TELEMETRY_SQLITE_DB_PATH" => Some(db.clone()),
        "TELEMETRY_PROMETHEUS_ADDR" => Some("none".into()),
        "TELEMETRY_PRICES" => Some(prices.clone()),
        _ => None,
    })
    .unwrap();
    let guard = config.init_local().unwrap();
    turn();
    let scrape = guard.prometheus_text().unwrap();
    drop(guard);

    let spans = store.spans();
    let cost = |name: &str| {
        let s = spans.iter().find(|s| s.name == name).unwrap();
        s.attr("gen_ai.usage.cost").map(|v| v.as_f64().unwrap())
    };
    assert!(close(cost("chat gpt-4o").unwrap(), GPT_4O));
    assert!(close(cost("chat my-reasoner").unwrap(), REASONER));
    assert_eq!(
        cost("chat local-rules-1"),
        None,
        "no price: no attribute, not 0"
    );

    let turn = spans
        .iter()
        .find(|s| s.name == "invoke_agent planner")
        .unwrap();
    let total = turn.attr("llm_telemetry.cost").unwrap().as_f64().unwrap();
    assert!(close(total, GPT_4O + REASONER), "{total}");
    assert_eq!(turn.attr_u64("llm_telemetry.cost_unknown_calls"), Some(1));
    assert!(
        turn.attr("gen_ai.usage.cost").is_none(),
        "totals never under gen_ai.usage"
    );

    // The metrics table: one `llama_stack.cost` series per priced model, in USD.
    let conn = store.open();
    let mut stmt = conn
        .prepare(
            "SELECT json_extract(attributes, '$.model_id'), SUM(value), instrument, unit \
             FROM metrics WHERE name = 'llama_stack.cost' GROUP BY 1, 3, 4 ORDER BY 1",
        )
        .unwrap();
    let rows: Vec<(String, f64, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].0, "gpt-4o");
    assert!(close(rows[0].1, GPT_4O));
    assert_eq!(rows[1].0, "my-reasoner");
    assert!(close(rows[1].1, REASONER));
    assert!(rows.iter().all(|r| r.2 == "counter" && r.3 == "USD"));

    // The Prometheus scrape: `{ns}_cost_usd_total`, labelled as the token counters.
    let sample = |model: &str| {
        scrape
            .lines()
            .find(|l| {
                l.starts_with("llama_stack_cost_usd_total{")
                    && l.contains(&format!("model_id=\"{model}\""))
            })
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
    };
    assert!(close(sample("gpt-4o").unwrap(), GPT_4O), "{scrape}");
    assert!(close(sample("my-reasoner").unwrap(), REASONER), "{scrape}");
    assert_eq!(sample("local-rules-1"), None, "{scrape}");
    assert!(scrape.contains("provider_id=\"openai\""), "{scrape}");
}

#[test]
fn a_bad_prices_file_stops_init_with_the_variable_and_the_path() {
    let store = TempStore::new();
    let prices = store.dir.path().join("prices.json");
    std::fs::write(&prices, r#"{"models": {"m": {"input": 1, "ouput": 2}}}"#).unwrap();
    let path = prices.display().to_string();
    let err = TelemetryConfig::from_lookup(|k| (k == "TELEMETRY_PRICES").then(|| path.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TELEMETRY_PRICES") && err.contains(&path) && err.contains("ouput"),
        "{err}"
    );
}

#[instrument_workflow(name = "trip")]
fn workflow() {
    turn();
    chat("gpt-4o", "openai", Usage::new(1_000_000, 0));
}

#[test]
fn a_workflow_sums_the_costs_of_its_turns_and_its_own_inferences() {
    let store = TempStore::new();
    let config = TelemetryConfig::builder()
        .sinks([llm_telemetry::SinkKind::Sqlite])
        .sqlite_db_path(&store.path)
        .price("my-reasoner", ModelPrice::new(1.0, 4.0).with_reasoning(2.0))
        .build();
    let guard = config.init_local().unwrap();
    workflow();
    drop(guard);
    let spans = store.spans();
    let wf = spans
        .iter()
        .find(|s| s.name == "invoke_workflow trip")
        .unwrap();
    let total = wf.attr("llm_telemetry.cost").unwrap().as_f64().unwrap();
    assert!(close(total, GPT_4O + REASONER + 2.5), "{total}");
    assert_eq!(wf.attr_u64("llm_telemetry.cost_unknown_calls"), Some(1));
    assert_eq!(wf.attr_u64("llm_telemetry.inference_calls"), Some(4));
}
