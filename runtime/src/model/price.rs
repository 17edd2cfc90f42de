//! Model prices and the cost of a call: [`ModelPrice`] (USD per 1M tokens) and its
//! [`cost`](ModelPrice::cost) formula, the built-in table (`prices/prices.json`, taken from
//! LiteLLM's maintained price list, embedded and parsed once on first use) and
//! [`PriceTable`], which looks up the price of an inference span: the user's entries
//! (`TELEMETRY_PRICES`) before the built-in ones.
//!
//! Lookup of a span's model (its `gen_ai.response.model` if that has a price, else its
//! `gen_ai.request.model`), names compared ASCII case-insensitively:
//!
//! 1. the user's entries: the exact name, then the name without a routing prefix
//!    (`openai/gpt-4o` → `gpt-4o`), then `*` patterns (the most literal characters win);
//!    an entry with a `provider` matches spans of that provider only;
//! 2. the built-in entries: the exact name, then without a routing prefix, then without a
//!    date suffix (`-2025-04-14`, `-20250929`, `@20240620`). Where several providers price
//!    one name, the span's `gen_ai.provider.name` chooses; otherwise the model maker's own.

use std::cmp::Ordering;
use std::sync::OnceLock;

use super::attr::{attr, AttrValue, Attributes};
use super::semconv::{PROVIDER_NAME, REQUEST_MODEL, RESPONSE_MODEL, USAGE_COST};
use super::usage::Usage;

/// The price of a model, in USD per 1M tokens.
///
/// ```
/// use llm_telemetry::{ModelPrice, Usage};
///
/// let gpt_4o = ModelPrice::new(2.5, 10.0).with_cached_input(1.25);
/// // 1000 prompt tokens of which 400 cached, 200 completion tokens:
/// let cost = gpt_4o.cost(&Usage::new(1000, 200).with_cached_tokens(400));
/// assert!((cost - (600.0 * 2.5 + 400.0 * 1.25 + 200.0 * 10.0) / 1e6).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelPrice {
    /// Input (prompt) tokens.
    pub input: f64,
    /// Output (completion) tokens.
    pub output: f64,
    /// Cached input tokens (`None`: the input price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    /// Reasoning tokens (`None`: the output price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<f64>,
}

impl ModelPrice {
    /// Input and output prices, USD per 1M tokens; cached input and reasoning tokens at
    /// those prices.
    pub const fn new(input: f64, output: f64) -> Self {
        ModelPrice {
            input,
            output,
            cached_input: None,
            reasoning: None,
        }
    }

    /// The price of cached input tokens, USD per 1M.
    pub const fn with_cached_input(mut self, price: f64) -> Self {
        self.cached_input = Some(price);
        self
    }

    /// The price of reasoning tokens, USD per 1M.
    pub const fn with_reasoning(mut self, price: f64) -> Self {
        self.reasoning = Some(price);
        self
    }

    /// The cost of `usage` in USD. Cached tokens are part of the prompt tokens and reasoning
    /// tokens part of the completion tokens (as OpenAI reports them and the GenAI
    /// conventions define `gen_ai.usage.*`):
    ///
    /// `((prompt − cached)·input + cached·cached_input + (completion − reasoning)·output +
    /// reasoning·reasoning) / 1e6`
    ///
    /// A subset larger than its whole counts as the whole.
    ///
    /// ```
    /// use llm_telemetry::{ModelPrice, Usage};
    ///
    /// let o3 = ModelPrice::new(2.0, 8.0).with_reasoning(8.0);
    /// let usage = Usage::new(100, 1_000).with_reasoning_tokens(900);
    /// assert_eq!(o3.cost(&usage), (100.0 * 2.0 + 1_000.0 * 8.0) / 1e6);
    /// ```
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage.cached_tokens.unwrap_or(0).min(usage.prompt_tokens);
        let reasoning = usage
            .reasoning_tokens
            .unwrap_or(0)
            .min(usage.completion_tokens);
        let per_million = (usage.prompt_tokens - cached) as f64 * self.input
            + cached as f64 * self.cached_input.unwrap_or(self.input)
            + (usage.completion_tokens - reasoning) as f64 * self.output
            + reasoning as f64 * self.reasoning.unwrap_or(self.output);
        per_million / 1e6
    }

    /// Whether every price is a finite, non-negative number.
    pub(crate) fn is_valid(&self) -> bool {
        let ok = |p: f64| p.is_finite() && p >= 0.0;
        ok(self.input)
            && ok(self.output)
            && self.cached_input.is_none_or(ok)
            && self.reasoning.is_none_or(ok)
    }
}

/// One priced model: its name (lowercase; with `*` a pattern), the provider it applies to
/// (a `gen_ai.provider.name`, lowercase) and its price.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceRule {
    pub name: Box<str>,
    pub provider: Option<Box<str>>,
    pub price: ModelPrice,
}

impl PriceRule {
    /// A rule for `name` (a `routing/` prefix becomes the provider when none is given).
    pub fn new(name: &str, provider: Option<&str>, price: ModelPrice) -> Self {
        let name = name.trim().to_ascii_lowercase();
        let (name, prefixed) = match split_routing_prefix(&name) {
            Some((p, rest)) => (rest.to_owned(), Some(p)),
            None => (name, None),
        };
        let provider = provider
            .map(|p| canonical_provider(p.trim()).to_ascii_lowercase())
            .or(prefixed.map(str::to_owned));
        PriceRule {
            name: name.into(),
            provider: provider.map(Into::into),
            price,
        }
    }

    fn is_pattern(&self) -> bool {
        self.name.contains('*')
    }

    fn applies_to(&self, provider: Option<&str>) -> bool {
        match (&self.provider, provider) {
            (None, _) => true,
            (Some(p), Some(q)) => p.eq_ignore_ascii_case(q),
            (Some(_), None) => false,
        }
    }
}

/// LiteLLM's routing prefixes and the `gen_ai.provider.name` each stands for; also the
/// other spellings of a provider a span may carry.
const PROVIDER_ALIASES: [(&str, &str); 16] = [
    ("openai", "openai"),
    ("anthropic", "anthropic"),
    ("gemini", "gcp.gemini"),
    ("google", "gcp.gemini"),
    ("vertex_ai", "gcp.vertex_ai"),
    ("bedrock", "aws.bedrock"),
    ("mistral", "mistral_ai"),
    ("groq", "groq"),
    ("together_ai", "together_ai"),
    ("together", "together_ai"),
    ("fireworks_ai", "fireworks_ai"),
    ("fireworks", "fireworks_ai"),
    ("azure", "azure.ai.openai"),
    ("deepseek", "deepseek"),
    ("xai", "x_ai"),
    ("cohere", "cohere"),
];

/// The `gen_ai.provider.name` a provider spelling stands for (`gemini` → `gcp.gemini`).
fn canonical_provider(p: &str) -> &str {
    PROVIDER_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(p))
        .map_or(p, |(_, name)| name)
}

/// `openai/gpt-4o` → (`openai`, `gpt-4o`); `None` for a name without a known prefix.
fn split_routing_prefix(name: &str) -> Option<(&'static str, &str)> {
    let (prefix, rest) = name.split_once('/')?;
    let (_, provider) = PROVIDER_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(prefix))?;
    (!rest.is_empty()).then_some((*provider, rest))
}

/// `name` without a trailing date: `-YYYY-MM-DD`, `-YYYYMMDD` or `@YYYYMMDD`.
fn strip_date(name: &str) -> Option<&str> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let b = name.as_bytes();
    let n = b.len();
    if n > 11 && b[n - 11] == b'-' && b[n - 6] == b'-' && b[n - 3] == b'-' {
        let (y, m, d) = (&name[n - 10..n - 6], &name[n - 5..n - 3], &name[n - 2..]);
        if digits(y) && digits(m) && digits(d) {
            return Some(&name[..n - 11]);
        }
    }
    if n > 9 && matches!(b[n - 9], b'-' | b'@') && digits(&name[n - 8..]) {
        return Some(&name[..n - 9]);
    }
    None
}

/// ASCII case-insensitive order of two names, without lowercasing a copy.
fn cmp_ci(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Whether `name` matches the `*` glob `pattern` (ASCII case-insensitively).
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi].eq_ignore_ascii_case(&n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The source of the built-in table: what, which version, when (`prices/prices.json`).
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // the provenance fields and `len`: read by the tests, kept with the data
pub struct BuiltinPrices {
    pub source: String,
    pub source_version: String,
    pub retrieved: String,
    models: Vec<BuiltinEntry>,
    #[serde(skip)]
    rules: Vec<PriceRule>,
}

#[derive(Debug, serde::Deserialize)]
struct BuiltinEntry {
    model: String,
    provider: String,
    #[serde(flatten)]
    price: ModelPrice,
}

/// The built-in table, parsed on first use, its rules sorted by name (stable: the file's
/// order among entries of one name, the model maker's own first).
pub fn builtin() -> &'static BuiltinPrices {
    static TABLE: OnceLock<BuiltinPrices> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: BuiltinPrices = serde_json::from_str(include_str!("prices/prices.json"))
            .expect("prices/prices.json is valid");
        let mut rules: Vec<PriceRule> = table
            .models
            .drain(..)
            .map(|e| PriceRule::new(&e.model, Some(&e.provider), e.price))
            .collect();
        rules.sort_by(|a, b| a.name.cmp(&b.name));
        table.rules = rules;
        table
    })
}

#[allow(dead_code)]
impl BuiltinPrices {
    /// The number of priced models.
    pub fn len(&self) -> usize {
        self.rules.len()
    }
}

/// The prices an inference's cost is computed with: the user's rules, then the built-in
/// table (see the module docs for the order).
#[derive(Debug, Default)]
pub struct PriceTable {
    // The user's exact names, sorted; then patterns, most literal characters first.
    exact: Vec<PriceRule>,
    patterns: Vec<PriceRule>,
}

impl PriceTable {
    /// A table of `rules` (the user's) over the built-in one.
    pub fn new(rules: impl IntoIterator<Item = PriceRule>) -> Self {
        let (mut patterns, mut exact): (Vec<_>, Vec<_>) =
            rules.into_iter().partition(PriceRule::is_pattern);
        exact.sort_by(|a, b| a.name.cmp(&b.name));
        let literal = |r: &PriceRule| r.name.bytes().filter(|&c| c != b'*').count();
        patterns.sort_by(|a, b| literal(b).cmp(&literal(a)).then(a.name.cmp(&b.name)));
        // Parse the built-in table now rather than on the first inference's thread.
        builtin();
        PriceTable { exact, patterns }
    }

    /// The price of `model` served by `provider` (a `gen_ai.provider.name`), if known.
    pub fn lookup(&self, model: &str, provider: Option<&str>) -> Option<&ModelPrice> {
        let provider = provider.map(canonical_provider);
        let stripped = split_routing_prefix(model);
        let (bare, bare_provider) = match stripped {
            Some((p, rest)) => (Some(rest), Some(p)),
            None => (None, provider),
        };
        // The user's entries.
        let user = |name: &str, provider: Option<&str>| {
            exact_rules(&self.exact, name).find(|r| r.applies_to(provider))
        };
        let found = user(model, provider)
            .or_else(|| bare.and_then(|b| user(b, bare_provider)))
            .or_else(|| {
                self.patterns.iter().find(|r| {
                    r.applies_to(provider) && glob(&r.name, model)
                        || bare.is_some_and(|b| r.applies_to(bare_provider) && glob(&r.name, b))
                })
            });
        if let Some(r) = found {
            return Some(&r.price);
        }
        // The built-in table.
        let rules = &builtin().rules;
        let pick = |name: &str, provider: Option<&str>| {
            let mut all = exact_rules(rules, name);
            let first = all.next()?;
            let same = |r: &&PriceRule| r.provider.as_deref() == provider;
            Some(if same(&first) {
                first
            } else {
                all.find(same).unwrap_or(first)
            })
        };
        let name = bare.unwrap_or(model);
        let p = bare_provider;
        pick(model, provider)
            .or_else(|| bare.and_then(|b| pick(b, p)))
            .or_else(|| strip_date(name).and_then(|n| pick(n, p)))
            .map(|r| &r.price)
    }

    /// The cost in USD of an inference span with `usage`: a `gen_ai.usage.cost` the span
    /// already carries (the application's own), else its model's price applied; `None`
    /// when the model has no price.
    pub fn cost_of(&self, attrs: &Attributes, usage: &Usage) -> Option<f64> {
        if let Some(cost) = attr(attrs, USAGE_COST).and_then(AttrValue::as_f64) {
            return Some(cost);
        }
        let provider = attr(attrs, PROVIDER_NAME).and_then(AttrValue::as_str);
        let model = |key| attr(attrs, key).and_then(AttrValue::as_str);
        let price = model(RESPONSE_MODEL)
            .and_then(|m| self.lookup(m, provider))
            .or_else(|| model(REQUEST_MODEL).and_then(|m| self.lookup(m, provider)))?;
        Some(price.cost(usage))
    }
}

/// The rules of `name` in a name-sorted slice, in their order.
fn exact_rules<'a>(rules: &'a [PriceRule], name: &str) -> std::slice::Iter<'a, PriceRule> {
    let start = rules.partition_point(|r| cmp_ci(&r.name, name) == Ordering::Less);
    let len = rules[start..].partition_point(|r| cmp_ci(&r.name, name) == Ordering::Equal);
    rules[start..start + len].iter()
}

/// What an agent turn or workflow knows of its inferences' cost: the sum of the known
/// costs (USD), how many inferences had one, how many had none.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostTotals {
    pub usd: f64,
    pub priced: u64,
    pub unknown: u64,
}

impl CostTotals {
    /// One inference, with its cost or none.
    pub fn add_call(&mut self, cost: Option<f64>) {
        match cost {
            Some(c) => {
                self.usd += c;
                self.priced += 1;
            }
            None => self.unknown += 1,
        }
    }

    /// A nested aggregate's totals.
    pub fn add(&mut self, other: &CostTotals) {
        self.usd += other.usd;
        self.priced += other.priced;
        self.unknown += other.unknown;
    }
}

#[cfg(test)]
#[path = "price_tests.rs"]
mod tests;
