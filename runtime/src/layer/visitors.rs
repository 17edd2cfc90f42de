//! The layer's field visitors: [`SpanVisitor`] sorts a span's fields into its state (the
//! `otel.*` conventions set name, kind and status; content only when capture is on,
//! redacted and bounded by the [`ContentPolicy`]; the rest become attributes),
//! [`CategoryVisitor`] reads only the category of a sampled-out span, [`EventVisitor`]
//! collects an event's message and fields.

use std::borrow::Cow;
use std::fmt;

use tracing::field::{Field, Visit};

use super::content::ContentPolicy;
use super::state::SpanState;
use crate::model::attr::{AttrStr, AttrValue, Attributes, Key};
use crate::model::semconv::{
    CONTENT_FIELDS, OPERATION_NAME, OTEL_KIND, OTEL_NAME, OTEL_STATUS_CODE, OTEL_STATUS_MESSAGE,
};
use crate::model::vocab::{SpanCategory, SpanKind, SpanStatus};

/// Sorts a span's fields into the record: the `otel.*` conventions set name, kind and
/// status; content goes through the policy, or nowhere; everything else becomes an
/// attribute.
pub struct SpanVisitor<'a> {
    pub state: &'a mut SpanState,
    /// `Some` when content capture is on.
    pub content: Option<&'a ContentPolicy>,
}

impl SpanVisitor<'_> {
    // Inlined into each `record_*`: the value is then built where it is stored, instead
    // of being passed through memory (a store-to-load forwarding stall per field).
    #[inline(always)]
    fn put(&mut self, field: &Field, mut value: AttrValue) {
        let name = field.name();
        // Most names are neither `otel.*` nor content: one byte tells, before any compare.
        if name.as_bytes().first() == Some(&b'o') {
            match name {
                OTEL_NAME => return self.state.name = Some(value.to_string()),
                OTEL_KIND => {
                    if let Some(kind) = SpanKind::parse(&value.to_string()) {
                        self.state.kind = kind;
                    }
                    return;
                }
                OTEL_STATUS_CODE => {
                    return self.state.status = status_code(&value.to_string());
                }
                OTEL_STATUS_MESSAGE => {
                    return self.state.status_message = Some(value.to_string());
                }
                _ => {}
            }
        }
        if CONTENT_FIELDS.contains(&name) {
            match self.content {
                None => return,
                Some(policy) => value = policy.prepare(name, value, &mut self.state.attributes),
            }
        }
        if name == OPERATION_NAME {
            if let AttrValue::Str(op) = &value {
                self.state.category = SpanCategory::from_operation(op);
            }
        }
        match self
            .state
            .attributes
            .iter_mut()
            .find(|(k, _)| same_key(k, name))
        {
            Some((_, v)) => *v = value,
            None => self.state.attributes.push((Cow::Borrowed(name), value)),
        }
    }
}

/// `key == name`, first by address: a field recorded again has the very same name.
#[inline]
fn same_key(key: &Key, name: &'static str) -> bool {
    let key: &str = key;
    (key.as_ptr() == name.as_ptr() && key.len() == name.len()) || key == name
}

/// `otel.status_code`, case-insensitively.
fn status_code(value: &str) -> SpanStatus {
    match SpanStatus::from_name_ignore_case(value) {
        Some(SpanStatus::Ok) => SpanStatus::Ok,
        Some(SpanStatus::Error) => SpanStatus::Error,
        _ => SpanStatus::Unset,
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        // The `otel.*` conventions straight from the `&str`: no intermediate `String`.
        let name = field.name();
        if name.as_bytes().first() == Some(&b'o') {
            match name {
                OTEL_NAME => return self.state.name = Some(value.to_owned()),
                OTEL_KIND => {
                    if let Some(kind) = SpanKind::parse(value) {
                        self.state.kind = kind;
                    }
                    return;
                }
                OTEL_STATUS_CODE => return self.state.status = status_code(value),
                _ => {}
            }
        }
        self.put(field, AttrValue::Str(value.into()))
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, AttrValue::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AttrValue::I64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AttrValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AttrValue::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(
            field,
            AttrValue::Str(AttrStr::format(format_args!("{value}"))),
        );
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(
            field,
            AttrValue::Str(AttrStr::format(format_args!("{value:?}"))),
        );
    }
}

/// Reads only `gen_ai.operation.name` into a category: all a sampled-out span needs to
/// know whether it yields metrics (and so whether to record anything at all).
pub struct CategoryVisitor<'a>(pub &'a mut SpanCategory);

impl Visit for CategoryVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == OPERATION_NAME {
            *self.0 = SpanCategory::from_operation(value);
        }
    }
    // Every other kind of value: not the operation name, and nothing is formatted.
    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// Collects an event's message and fields.
#[derive(Default)]
pub struct EventVisitor {
    pub message: Option<String>,
    pub attributes: Attributes,
}

impl EventVisitor {
    fn put(&mut self, field: &Field, value: AttrValue) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.attributes.push((Cow::Borrowed(field.name()), value));
        }
    }
}

impl Visit for EventVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, AttrValue::Str(value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, AttrValue::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AttrValue::I64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AttrValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AttrValue::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(
            field,
            AttrValue::Str(AttrStr::format(format_args!("{value:?}"))),
        );
    }
}
