//! Typed attribute values and the ordered attribute list every record carries.

use std::borrow::Cow;
use std::fmt;

pub use super::attr_str::AttrStr;

/// An attribute key: field names are `'static`, keys built at run time are owned.
pub type Key = Cow<'static, str>;

/// A typed attribute value, as OpenTelemetry and the SQLite JSON column both keep it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer (token counts).
    U64(u64),
    /// A float.
    F64(f64),
    /// A string (short ones are stored inline, without an allocation).
    Str(AttrStr),
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Bool(v) => v.fmt(f),
            AttrValue::I64(v) => v.fmt(f),
            AttrValue::U64(v) => v.fmt(f),
            AttrValue::F64(v) => v.fmt(f),
            AttrValue::Str(v) => v.fmt(f),
        }
    }
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::Str(AttrStr::from(s))
    }
}

impl AttrValue {
    /// The value as an unsigned integer, when it is a non-negative number.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            AttrValue::U64(v) => Some(v),
            AttrValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    /// The value as a float, when it is a number (seconds and the like).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            AttrValue::F64(v) => Some(v),
            AttrValue::U64(v) => Some(v as f64),
            AttrValue::I64(v) => Some(v as f64),
            _ => None,
        }
    }
    /// The value as a boolean, when it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            AttrValue::Bool(v) => Some(v),
            _ => None,
        }
    }
    /// The value as a string slice, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// An ordered list of attributes. Few enough per span that a `Vec` beats a map.
pub type Attributes = Vec<(Key, AttrValue)>;

/// Look an attribute up by key.
pub fn attr<'a>(attrs: &'a Attributes, key: &str) -> Option<&'a AttrValue> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Set `key` to `value`, replacing the first attribute of that key or appending one.
pub fn set_attr(attrs: &mut Attributes, key: &'static str, value: AttrValue) {
    match attrs.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value,
        None => attrs.push((Cow::Borrowed(key), value)),
    }
}
