//! Label matchers of [`TraceStore::query_metrics`](super::TraceStore::query_metrics):
//! PromQL's `=`, `!=`, `=~` and `!~` on metric labels. They are applied to the labels read
//! back from the store, never turned into SQL.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::model::named_enum::named_enum;

named_enum! {
/// The operator of a [`LabelMatcher`], as in PromQL.
///
/// ```
/// use llm_telemetry::store::MatchOp;
/// assert_eq!("=~".parse::<MatchOp>().unwrap(), MatchOp::Regex);
/// assert!("~".parse::<MatchOp>().is_err());
/// assert_eq!(MatchOp::NotRegex.as_str(), "!~");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchOp {
    /// `=`: the label equals the value (a missing label equals `""`).
    #[serde(rename = "=")]
    Equal = "=",
    /// `!=`: the label differs from the value.
    #[serde(rename = "!=")]
    NotEqual = "!=",
    /// `=~`: the whole label matches the regular expression.
    #[serde(rename = "=~")]
    Regex = "=~",
    /// `!~`: the whole label does not match the regular expression.
    #[serde(rename = "!~")]
    NotRegex = "!~",
}
}

impl FromStr for MatchOp {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        MatchOp::from_name(s).ok_or_else(|| StoreError::InvalidFilter {
            reason: format!("unknown label operator {s:?}: expected =, !=, =~ or !~"),
        })
    }
}

/// A label matcher of [`TraceStore::query_metrics`](super::TraceStore::query_metrics):
/// `name op value`, PromQL semantics (regular expressions are anchored at both ends and
/// use the `regex` crate's syntax; a missing label is the empty string).
///
/// ```
/// use llm_telemetry::store::{LabelMatcher, MatchOp};
///
/// let m = LabelMatcher::new("model_id", MatchOp::Regex, "llama.*");
/// assert!(m.matches(Some("llama3.2:3b")).unwrap());
/// assert!(!m.matches(Some("gpt-4o")).unwrap());
/// assert!(LabelMatcher::new("model_id", MatchOp::Regex, "(").matches(None).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelMatcher {
    /// The label (metric attribute) name.
    pub name: String,
    /// The operator.
    pub op: MatchOp,
    /// The value or the regular expression.
    pub value: String,
}

impl LabelMatcher {
    /// A matcher `name op value`.
    ///
    /// ```
    /// use llm_telemetry::store::{LabelMatcher, MatchOp};
    /// let m = LabelMatcher::new("provider_id", MatchOp::NotEqual, "openai");
    /// assert!(m.matches(Some("ollama")).unwrap());
    /// ```
    pub fn new(name: impl Into<String>, op: MatchOp, value: impl Into<String>) -> Self {
        LabelMatcher {
            name: name.into(),
            op,
            value: value.into(),
        }
    }

    /// Whether a label value (`None`: the label is missing) satisfies the matcher.
    /// Fails on an invalid regular expression.
    ///
    /// ```
    /// use llm_telemetry::store::{LabelMatcher, MatchOp};
    /// assert!(LabelMatcher::new("x", MatchOp::Equal, "").matches(None).unwrap());
    /// ```
    pub fn matches(&self, label: Option<&str>) -> Result<bool, StoreError> {
        Ok(self.compile()?.matches(label))
    }

    pub(crate) fn compile(&self) -> Result<CompiledMatcher, StoreError> {
        let regex = match self.op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::Regex::new(&format!("^(?:{})$", self.value)).map_err(|e| {
                    StoreError::InvalidFilter {
                        reason: format!(
                            "label matcher {}{}{:?}: invalid regular expression: {e}",
                            self.name,
                            self.op.as_str(),
                            self.value
                        ),
                    }
                })?,
            ),
            _ => None,
        };
        Ok(CompiledMatcher {
            name: self.name.clone(),
            op: self.op,
            value: self.value.clone(),
            regex,
        })
    }
}

/// A [`LabelMatcher`] with its regular expression compiled, once per query.
pub(crate) struct CompiledMatcher {
    pub(crate) name: String,
    op: MatchOp,
    value: String,
    regex: Option<regex::Regex>,
}

impl CompiledMatcher {
    pub(crate) fn matches(&self, label: Option<&str>) -> bool {
        let v = label.unwrap_or("");
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }
}
