//! The price table: the formula, the lookup order, the built-in data.

use super::*;
use crate::model::attr::AttrValue;

fn rule(name: &str, provider: Option<&str>, input: f64, output: f64) -> PriceRule {
    PriceRule::new(name, provider, ModelPrice::new(input, output))
}

fn attrs(pairs: &[(&'static str, &str)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| (std::borrow::Cow::Borrowed(*k), AttrValue::Str((*v).into())))
        .collect()
}

#[test]
fn formula_counts_cached_and_reasoning_tokens_as_subsets() {
    let p = ModelPrice::new(2.0, 8.0)
        .with_cached_input(0.5)
        .with_reasoning(4.0);
    let u = Usage::new(1_000, 500)
        .with_cached_tokens(600)
        .with_reasoning_tokens(300);
    let expected = (400.0 * 2.0 + 600.0 * 0.5 + 200.0 * 8.0 + 300.0 * 4.0) / 1e6;
    assert_eq!(p.cost(&u), expected);
    // Defaults: cached at the input price, reasoning at the output price.
    let plain = ModelPrice::new(2.0, 8.0);
    assert_eq!(plain.cost(&u), (1_000.0 * 2.0 + 500.0 * 8.0) / 1e6);
    // A subset larger than its whole counts as the whole.
    let odd = Usage::new(10, 10)
        .with_cached_tokens(50)
        .with_reasoning_tokens(50);
    assert_eq!(p.cost(&odd), (10.0 * 0.5 + 10.0 * 4.0) / 1e6);
    assert_eq!(p.cost(&Usage::new(0, 0)), 0.0);
}

#[test]
fn builtin_table_has_the_common_models_at_their_list_prices() {
    let t = PriceTable::default();
    let get = |m: &str, p: Option<&str>| t.lookup(m, p).copied();
    let gpt_4o = get("gpt-4o", Some("openai")).unwrap();
    assert_eq!((gpt_4o.input, gpt_4o.output), (2.5, 10.0));
    assert_eq!(gpt_4o.cached_input, Some(1.25));
    // Dated names LiteLLM lists are their own entries (this one is priced differently).
    let may = get("gpt-4o-2024-05-13", None).unwrap();
    assert_eq!((may.input, may.output), (5.0, 15.0));
    assert_eq!(get("gpt-4o-mini", None).unwrap().input, 0.15);
    assert_eq!(get("claude-sonnet-4-5", None).unwrap().output, 15.0);
    assert_eq!(get("gemini-2.5-pro", None).unwrap().input, 1.25);
    assert!(get("mistral-large-latest", None).is_some());
    assert!(get("meta.llama3-3-70b-instruct-v1:0", Some("aws.bedrock")).is_some());
    assert!(get(
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        Some("together_ai")
    )
    .is_some());
    assert!(builtin().len() > 150 && builtin().len() < 400);
    assert!(builtin().source.contains("LiteLLM"));
    assert!(get("local-rules-1", Some("local")).is_none());
}

#[test]
fn lookup_is_case_insensitive_and_strips_prefixes_and_dates() {
    let t = PriceTable::default();
    let base = t.lookup("gpt-4o", None).copied();
    assert_eq!(t.lookup("GPT-4o", None).copied(), base);
    assert_eq!(t.lookup("openai/gpt-4o", None).copied(), base);
    // A date LiteLLM does not list: the undated entry.
    assert_eq!(t.lookup("gpt-4o-2031-01-01", None).copied(), base);
    assert_eq!(t.lookup("gpt-4o-20310101", None).copied(), base);
    let gemini = t.lookup("gemini-2.5-pro", None).copied();
    assert_eq!(t.lookup("gemini/gemini-2.5-pro", None).copied(), gemini);
    assert!(t.lookup("gpt-4o-x", None).is_none());
    assert_eq!(
        strip_date("claude-3-5-sonnet@20240620"),
        Some("claude-3-5-sonnet")
    );
    assert_eq!(strip_date("gpt-4o-2024-08-06"), Some("gpt-4o"));
    assert_eq!(strip_date("gpt-4o"), None);
}

#[test]
fn provider_chooses_among_entries_of_one_name() {
    let t = PriceTable::new([
        rule("m", Some("openai"), 1.0, 1.0),
        rule("bedrock/m", None, 2.0, 2.0),
        rule("shared", None, 3.0, 3.0),
    ]);
    assert_eq!(t.lookup("m", Some("openai")).unwrap().input, 1.0);
    assert_eq!(t.lookup("m", Some("aws.bedrock")).unwrap().input, 2.0);
    assert_eq!(
        t.lookup("m", Some("bedrock")).unwrap().input,
        2.0,
        "an alias"
    );
    assert_eq!(t.lookup("bedrock/m", None).unwrap().input, 2.0);
    // A user rule restricted to a provider does not price another provider's calls.
    assert!(t.lookup("m", Some("ollama")).is_none());
    assert!(t.lookup("m", None).is_none());
    assert_eq!(t.lookup("shared", Some("anyone")).unwrap().input, 3.0);
}

#[test]
fn user_rules_win_over_builtins_and_patterns_by_specificity() {
    let t = PriceTable::new([
        rule("gpt-4o", None, 1.0, 2.0),
        rule("llama3*", None, 0.1, 0.1),
        rule("llama3.2*", None, 0.2, 0.2),
        rule("*-mini", None, 9.0, 9.0),
    ]);
    assert_eq!(t.lookup("gpt-4o", Some("openai")).unwrap().input, 1.0);
    assert_eq!(t.lookup("openai/gpt-4o", None).unwrap().input, 1.0);
    assert_eq!(t.lookup("llama3.1:8b", None).unwrap().input, 0.1);
    assert_eq!(t.lookup("LLAMA3.2:3b", None).unwrap().input, 0.2);
    // A user pattern beats a built-in exact name.
    assert_eq!(t.lookup("gpt-4o-mini", None).unwrap().input, 9.0);
    // Built-ins still answer the rest.
    assert_eq!(t.lookup("gpt-4.1", None).unwrap().input, 2.0);
    assert!(glob("a*b*c", "aXXbYc") && glob("*", "") && !glob("a*c", "ab"));
}

#[test]
fn cost_of_prefers_the_response_model_and_keeps_an_existing_cost() {
    let t = PriceTable::new([rule("req", None, 1.0, 1.0), rule("resp", None, 2.0, 2.0)]);
    let u = Usage::new(1_000_000, 0);
    let a = attrs(&[(REQUEST_MODEL, "req"), (RESPONSE_MODEL, "resp")]);
    assert_eq!(t.cost_of(&a, &u), Some(2.0));
    let a = attrs(&[
        (REQUEST_MODEL, "req"),
        (RESPONSE_MODEL, "unpriced-snapshot"),
    ]);
    assert_eq!(t.cost_of(&a, &u), Some(1.0));
    let a = attrs(&[(REQUEST_MODEL, "nothing")]);
    assert_eq!(t.cost_of(&a, &u), None);
    let mut a = attrs(&[(REQUEST_MODEL, "req")]);
    a.push((std::borrow::Cow::Borrowed(USAGE_COST), AttrValue::F64(0.25)));
    assert_eq!(t.cost_of(&a, &u), Some(0.25));
}

#[test]
fn totals_sum_known_costs_and_count_unknown_calls() {
    let mut t = CostTotals::default();
    t.add_call(Some(0.5));
    t.add_call(None);
    let mut outer = CostTotals::default();
    outer.add_call(Some(0.25));
    outer.add(&t);
    assert_eq!(
        outer,
        CostTotals {
            usd: 0.75,
            priced: 2,
            unknown: 1
        }
    );
}
