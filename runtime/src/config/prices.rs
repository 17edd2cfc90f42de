//! [`Prices`]: the model prices the application adds to (or overrides in) the built-in
//! table, from `TELEMETRY_PRICES` (a TOML or JSON file), the `prices` field of a serde
//! configuration, or the builder.
//!
//! The file, in TOML (USD per 1M tokens; `cached_input`, `reasoning` and `provider` are
//! optional; a name with `*` is a pattern):
//!
//! ```toml
//! [models."gpt-4o"]
//! input = 2.5
//! output = 10
//! cached_input = 1.25
//!
//! [models."llama3*"]
//! provider = "ollama"
//! input = 0
//! output = 0
//! ```
//!
//! or the same in JSON: `{"models": {"gpt-4o": {"input": 2.5, "output": 10}}}`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::model::price::{ModelPrice, PriceRule};

/// What a prices file may hold, for error messages.
pub(crate) const PRICES_ACCEPTED: &str =
    "a .toml or .json file with a `models` table: per model name (or `*` pattern) `input` and \
     `output` prices in USD per 1M tokens (non-negative numbers), optionally `cached_input`, \
     `reasoning` and `provider`, e.g. [models.\"gpt-4o\"] input = 2.5 output = 10";

/// Model prices that add to or override the built-in table (USD per 1M tokens).
///
/// ```
/// use llm_telemetry::{ModelPrice, Prices, TelemetryConfig};
///
/// let prices = Prices::new()
///     .price("my-fine-tune", ModelPrice::new(0.3, 1.2))
///     .price("llama3*", ModelPrice::new(0.0, 0.0));
/// let config = TelemetryConfig::builder().prices(prices).build();
/// assert_eq!(config.prices().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PricesFile", into = "PricesFile")]
pub struct Prices {
    models: BTreeMap<String, PriceEntry>,
}

/// One entry of a prices file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceEntry {
    input: f64,
    output: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cached_input: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
}

impl PriceEntry {
    fn price(&self) -> ModelPrice {
        ModelPrice {
            input: self.input,
            output: self.output,
            cached_input: self.cached_input,
            reasoning: self.reasoning,
        }
    }
}

/// The file's shape, before its entries are checked.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricesFile {
    #[serde(default)]
    models: BTreeMap<String, PriceEntry>,
}

impl TryFrom<PricesFile> for Prices {
    type Error = String;
    fn try_from(file: PricesFile) -> Result<Self, String> {
        for (name, entry) in &file.models {
            if name.trim().is_empty() {
                return Err("entry models.\"\": the model name is empty".into());
            }
            if !entry.price().is_valid() {
                return Err(format!(
                    "entry models.{name:?}: a price is negative or not a number"
                ));
            }
        }
        Ok(Prices {
            models: file.models,
        })
    }
}

impl From<Prices> for PricesFile {
    fn from(p: Prices) -> Self {
        PricesFile { models: p.models }
    }
}

impl Prices {
    /// No prices: the built-in table alone.
    pub fn new() -> Self {
        Prices::default()
    }

    /// Read a prices file: TOML (`.toml`) or JSON (`.json`). An error names the file, the
    /// line or entry at fault and what is accepted.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("prices.toml");
    /// std::fs::write(&path, "[models.\"gpt-4o\"]\ninput = 2.0\noutput = 8.0\n").unwrap();
    /// let prices = llm_telemetry::Prices::from_file(&path).unwrap();
    /// assert_eq!(prices.len(), 1);
    ///
    /// std::fs::write(&path, "[models.\"gpt-4o\"]\ninput = -1\noutput = 8.0\n").unwrap();
    /// let err = llm_telemetry::Prices::from_file(&path).unwrap_err().to_string();
    /// assert!(err.contains("prices.toml") && err.contains("models.\"gpt-4o\""), "{err}");
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::read("prices file", path.as_ref())
    }

    /// [`Prices::from_file`] with `variable` named in errors (`TELEMETRY_PRICES`).
    pub(crate) fn read(variable: &'static str, path: &Path) -> Result<Self, ConfigError> {
        let err = |problem: String| ConfigError::Invalid {
            variable,
            value: path.display().to_string(),
            problem,
            expected: PRICES_ACCEPTED,
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("toml" | "json")) {
            return Err(err(
                "the file name ends neither in .toml nor in .json".into()
            ));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
        if ext.as_deref() == Some("json") {
            serde_json::from_str(&text).map_err(|e| err(e.to_string()))
        } else {
            toml::from_str(&text).map_err(|e| err(one_line(&e.to_string())))
        }
    }

    /// Add (or replace) the price of `model`: an exact name, a name with a routing prefix
    /// (`openai/gpt-4o`: that provider's calls only), or a `*` pattern.
    pub fn price(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        self.models.insert(
            model.into(),
            PriceEntry {
                input: price.input,
                output: price.output,
                cached_input: price.cached_input,
                reasoning: price.reasoning,
                provider: None,
            },
        );
        self
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Every entry with its model (or pattern) and provider, for the lookup table.
    pub(crate) fn rules(&self) -> impl Iterator<Item = PriceRule> + '_ {
        self.models
            .iter()
            .map(|(name, e)| PriceRule::new(name, e.provider.as_deref(), e.price()))
    }

    /// Every entry valid (for prices given in code, which no parser checked).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self.models.iter().find(|(_, e)| !e.price().is_valid()) {
            Some((name, e)) => Err(ConfigError::Invalid {
                variable: "prices",
                value: format!("{name}: {:?}", e.price()),
                problem: "a price is negative or not a number".into(),
                expected: PRICES_ACCEPTED,
            }),
            None => Ok(()),
        }
    }
}

/// TOML's multi-line message on one line: its location and explanation, without the
/// quoted source lines (`3 | outptu = 2`, `  | ^^^^^^`).
fn one_line(s: &str) -> String {
    let quoted = |l: &str| {
        l.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
            .starts_with('|')
    };
    let parts: Vec<&str> = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !quoted(l))
        .collect();
    match parts.split_first() {
        Some((at, rest)) if !rest.is_empty() => format!("{at}: {}", rest.join(" ")),
        _ => parts.join(" "),
    }
}
