//! Span filters of the query API: `{key, op, value}` on span attributes and span columns,
//! and the SQL conditions they become.
//!
//! No SQL is ever built from user text: keys are validated against a fixed character set
//! and passed to `json_extract` (SQLite) or `->` (PostgreSQL) as a bound parameter, column
//! names come from a fixed list, and values are always bound parameters.
//!
//! PostgreSQL's spelling compares as SQLite does: numbers (and booleans, as 1 and 0)
//! numerically, text bytewise, and across the two a number is less than any text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::backend::{Dialect, Param};
use super::StoreError;
use crate::model::named_enum::named_enum;

named_enum! {
/// The comparison of an [`AttributeFilter`]: llama-stack's `eq`, `ne`, `gt`, `lt`.
///
/// ```
/// use llm_telemetry::store::FilterOp;
///
/// assert_eq!("gt".parse::<FilterOp>().unwrap(), FilterOp::Gt);
/// assert_eq!(FilterOp::Ne.as_str(), "ne");
/// let err = "like".parse::<FilterOp>().unwrap_err();
/// assert!(err.to_string().contains("\"like\""));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterOp {
    /// Equal.
    Eq = "eq",
    /// Not equal. Like SQL `!=`: a span without the attribute does not match.
    Ne = "ne",
    /// Greater than (numbers numerically, text lexically).
    Gt = "gt",
    /// Less than (numbers numerically, text lexically).
    Lt = "lt",
}
}

impl FilterOp {
    fn sql(self) -> &'static str {
        match self {
            FilterOp::Eq => "=",
            FilterOp::Ne => "!=",
            FilterOp::Gt => ">",
            FilterOp::Lt => "<",
        }
    }
}

impl FromStr for FilterOp {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        FilterOp::from_name(s).ok_or_else(|| StoreError::InvalidFilter {
            reason: format!("unknown op {s:?}: expected one of eq, ne, gt, lt"),
        })
    }
}

/// Span columns a filter key may name instead of an attribute.
pub const COLUMN_KEYS: &[&str] = &[
    "name",
    "status",
    "service_name",
    "trace_id",
    "span_id",
    "parent_span_id",
    "kind",
    "category",
    "duration_ms",
];

/// One filter of the query API: `key op value`.
///
/// `key` is a span column from [`COLUMN_KEYS`] (`name`, `status`, `service_name`,
/// `trace_id`, ...) or else an attribute name such as `gen_ai.request.model` (letters,
/// digits, `_`, `.`, `-`; at most 200 characters). `value` is compared with its JSON type:
/// a number compares numerically with numeric attributes, a string with text. A span
/// lacking the attribute matches no op.
///
/// ```
/// use llm_telemetry::store::{AttributeFilter, FilterOp};
///
/// let f = AttributeFilter::new("gen_ai.usage.input_tokens", FilterOp::Gt, 100);
/// assert_eq!(f.to_string(), "gen_ai.usage.input_tokens gt 100");
/// let g: AttributeFilter = "gen_ai.request.model:eq:llama3.2:3b".parse().unwrap();
/// assert_eq!(g, AttributeFilter::eq("gen_ai.request.model", "llama3.2:3b"));
/// assert!("bad key!:eq:1".parse::<AttributeFilter>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeFilter {
    /// A column name or an attribute name.
    pub key: String,
    /// The comparison.
    pub op: FilterOp,
    /// The value compared with.
    pub value: Value,
}

impl AttributeFilter {
    /// A filter `key op value`.
    ///
    /// ```
    /// use llm_telemetry::store::{AttributeFilter, FilterOp};
    /// let f = AttributeFilter::new("status", FilterOp::Eq, "error");
    /// assert_eq!(f.value, serde_json::json!("error"));
    /// ```
    pub fn new(key: impl Into<String>, op: FilterOp, value: impl Into<Value>) -> Self {
        AttributeFilter {
            key: key.into(),
            op,
            value: value.into(),
        }
    }

    /// `key eq value`.
    ///
    /// ```
    /// let f = llm_telemetry::store::AttributeFilter::eq("name", "chat llama3");
    /// assert_eq!(f.to_string(), "name eq \"chat llama3\"");
    /// ```
    pub fn eq(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(key, FilterOp::Eq, value)
    }

    /// Check the key (and that the value is a string, number or boolean) without running
    /// a query.
    ///
    /// ```
    /// use llm_telemetry::store::AttributeFilter;
    /// assert!(AttributeFilter::eq("gen_ai.request.model", "m").validate().is_ok());
    /// let e = AttributeFilter::eq("x') OR 1=1 --", "m").validate().unwrap_err();
    /// assert!(e.to_string().contains("x') OR 1=1 --"));
    /// ```
    pub fn validate(&self) -> Result<(), StoreError> {
        validate_key(&self.key)?;
        match &self.value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(()),
            other => Err(StoreError::InvalidFilter {
                reason: format!(
                    "filter {:?}: the value {other} is not a string, number or boolean",
                    self.key
                ),
            }),
        }
    }

    /// The SQL condition on spans aliased `alias` in `dialect`, pushing its parameters.
    pub(crate) fn to_sql(
        &self,
        dialect: Dialect,
        alias: &str,
        params: &mut Vec<Param>,
    ) -> Result<String, StoreError> {
        self.validate()?;
        let value = match &self.value {
            Value::String(s) => Param::Text(s.clone()),
            Value::Bool(b) => Param::Integer(*b as i64),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Param::Integer(i),
                None => Param::Real(n.as_f64().unwrap_or(f64::NAN)),
            },
            _ => unreachable!("validated"),
        };
        let op = self.op.sql();
        let column = COLUMN_KEYS.iter().find(|c| **c == self.key);
        if dialect == Dialect::Sqlite {
            return Ok(if let Some(col) = column {
                let v = dialect.push(params, value);
                format!("{alias}.{col} {op} {v}")
            } else {
                let path = dialect.push(params, Param::Text(format!("$.\"{}\"", self.key)));
                let v = dialect.push(params, value);
                format!("json_extract({alias}.attributes, {path}) {op} {v}")
            });
        }
        // PostgreSQL: compare within a class (numbers, text) as SQLite does, and across
        // classes as SQLite orders them (every number before every text).
        let number_vs_text = match self.op {
            FilterOp::Ne | FilterOp::Lt => "true",
            FilterOp::Eq | FilterOp::Gt => "false",
        };
        let text_vs_number = match self.op {
            FilterOp::Ne | FilterOp::Gt => "true",
            FilterOp::Eq | FilterOp::Lt => "false",
        };
        let numeric = |p: &str| format!("CAST({p} AS numeric)");
        Ok(match (column, value) {
            (Some(&"duration_ms"), Param::Text(t)) => {
                // SQLite reads numeric-looking text as a number for a REAL column.
                match t.trim().parse::<f64>().ok().filter(|f| f.is_finite()) {
                    Some(_) => {
                        let v = dialect.push(params, Param::Text(t.trim().to_owned()));
                        format!("{alias}.duration_ms::numeric {op} {}", numeric(&v))
                    }
                    None => format!("({alias}.duration_ms IS NOT NULL AND {number_vs_text})"),
                }
            }
            (Some(&"duration_ms"), v) => {
                let v = dialect.push(params, Param::Text(number_text(&v)));
                format!("{alias}.duration_ms::numeric {op} {}", numeric(&v))
            }
            (Some(col), Param::Text(t)) => {
                let v = dialect.push(params, Param::Text(t));
                format!("{alias}.{col} COLLATE \"C\" {op} {v}")
            }
            (Some(col), v) => {
                // A TEXT column compares a number as its text.
                let v = dialect.push(params, Param::Text(number_text(&v)));
                format!("{alias}.{col} COLLATE \"C\" {op} {v}")
            }
            (None, value) => {
                let key = dialect.push(params, Param::Text(self.key.clone()));
                let a = format!("{alias}.attributes -> {key}");
                let number = format!(
                    "(CASE jsonb_typeof({a}) WHEN 'number' THEN ({a})::text::numeric \
                     WHEN 'boolean' THEN (CASE WHEN ({a})::text = 'true' THEN 1 ELSE 0 END)::numeric END)"
                );
                // SQLite's json_extract gives objects and arrays as their JSON text.
                let text = format!(
                    "(CASE WHEN jsonb_typeof({a}) IN ('string', 'object', 'array') \
                     THEN (CASE jsonb_typeof({a}) WHEN 'string' THEN {alias}.attributes ->> {key} \
                     ELSE ({a})::text END) END)"
                );
                match value {
                    Param::Text(t) => {
                        let v = dialect.push(params, Param::Text(t));
                        format!(
                            "(CASE WHEN {text} IS NOT NULL THEN {text} COLLATE \"C\" {op} {v} \
                             WHEN {number} IS NOT NULL THEN {number_vs_text} END)"
                        )
                    }
                    v => {
                        let v = dialect.push(params, Param::Text(number_text(&v)));
                        format!(
                            "(CASE WHEN {number} IS NOT NULL THEN {number} {op} {} \
                             WHEN {text} IS NOT NULL THEN {text_vs_number} END)",
                            numeric(&v)
                        )
                    }
                }
            }
        })
    }
}

/// A number parameter as text, for PostgreSQL's exact `numeric` comparison.
fn number_text(p: &Param) -> String {
    match p {
        Param::Text(t) => t.clone(),
        Param::Integer(i) => i.to_string(),
        Param::Real(f) => format!("{f:?}"),
    }
}

impl fmt::Display for AttributeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.key, self.op, self.value)
    }
}

/// Parses `KEY:OP:VALUE` (the command line's form). The value is a number when it parses
/// as one, `true`/`false` a boolean, anything else text; everything after the second `:`
/// is the value.
impl FromStr for AttributeFilter {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        let mut parts = s.splitn(3, ':');
        let (Some(key), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(StoreError::InvalidFilter {
                reason: format!("filter {s:?} is not of the form KEY:OP:VALUE (e.g. gen_ai.request.model:eq:llama3)"),
            });
        };
        let value = if let Ok(i) = value.parse::<i64>() {
            Value::from(i)
        } else if let Some(n) = value
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(serde_json::Number::from_f64)
        {
            Value::Number(n)
        } else if value == "true" || value == "false" {
            Value::Bool(value == "true")
        } else {
            Value::String(value.to_string())
        };
        let f = AttributeFilter::new(key, op.parse()?, value);
        f.validate()?;
        Ok(f)
    }
}

/// Check an attribute or column name.
pub(crate) fn validate_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && key.len() <= 200
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidFilter {
            reason: format!(
                "invalid key {key:?}: keys are span columns or attribute names made of \
                 letters, digits, '_', '.' and '-'"
            ),
        })
    }
}

/// The SQL `AND` of `filters` on spans aliased `alias` (true when there are none).
pub(crate) fn where_clause(
    dialect: Dialect,
    filters: &[AttributeFilter],
    alias: &str,
    params: &mut Vec<Param>,
) -> Result<String, StoreError> {
    if filters.is_empty() {
        return Ok(true_sql(dialect).into());
    }
    let parts = filters
        .iter()
        .map(|f| f.to_sql(dialect, alias, params))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(" AND "))
}

/// The condition that always holds: `1` (SQLite), `true` (PostgreSQL).
pub(crate) fn true_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "1",
        Dialect::Postgres => "true",
    }
}
