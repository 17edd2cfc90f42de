//! OTLP's common pieces as the store's: `AnyValue`s as typed attributes, ids, times,
//! resource and scope attributes.
//!
//! Scalars keep their type; arrays and maps (which the store's attribute JSON has no typed
//! column for) are kept as their JSON text, bytes as hex. Ids must have their OTLP length
//! and not be all zero, as the OTLP specification requires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llm_telemetry::ingest::{AttrValue, Attributes};
use llm_telemetry::{SpanId, TraceId};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// The store's name for the scope (instrumentation library) that recorded a span or log.
pub const SCOPE_NAME: &str = "otel.scope.name";
/// The scope's version.
pub const SCOPE_VERSION: &str = "otel.scope.version";

/// `value` as a typed attribute; `None` for an empty value.
pub fn attr_value(value: &AnyValue) -> Option<AttrValue> {
    Some(match value.value.as_ref()? {
        Value::StringValue(s) => AttrValue::from(s.as_str()),
        Value::BoolValue(b) => AttrValue::Bool(*b),
        Value::IntValue(i) => AttrValue::I64(*i),
        Value::DoubleValue(f) => AttrValue::F64(*f),
        Value::BytesValue(b) => AttrValue::from(hex(b).as_str()),
        other @ (Value::ArrayValue(_) | Value::KvlistValue(_)) => {
            AttrValue::from(json(Some(other)).to_string().as_str())
        }
        // An index into a profile's string table: no text outside profiles.
        Value::StringValueStrindex(_) => return None,
    })
}

/// `value` as plain JSON (arrays as arrays, maps as objects).
fn json(value: Option<&Value>) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        None | Some(Value::StringValueStrindex(_)) => J::Null,
        Some(Value::StringValue(s)) => J::from(s.as_str()),
        Some(Value::BoolValue(b)) => J::from(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(f)) => J::from(*f),
        Some(Value::BytesValue(b)) => J::from(hex(b)),
        Some(Value::ArrayValue(a)) => {
            J::Array(a.values.iter().map(|v| json(v.value.as_ref())).collect())
        }
        Some(Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|kv| {
                    let v = kv.value.as_ref().and_then(|v| v.value.as_ref());
                    (kv.key.clone(), json(v))
                })
                .collect(),
        ),
    }
}

/// Append `kvs` to `into` (empty values and empty keys left out).
pub fn push_attributes(kvs: &[KeyValue], into: &mut Attributes) {
    into.reserve(kvs.len());
    for kv in kvs {
        if kv.key.is_empty() {
            continue;
        }
        if let Some(v) = kv.value.as_ref().and_then(attr_value) {
            into.push((kv.key.clone().into(), v));
        }
    }
}

/// [`push_attributes`] taking `kvs` by value: keys and strings are moved, not copied
/// (the spans' attributes, the bulk of an export).
pub fn take_attributes(kvs: Vec<KeyValue>, into: &mut Attributes) {
    into.reserve(kvs.len());
    for kv in kvs {
        if kv.key.is_empty() {
            continue;
        }
        let value = match kv.value.and_then(|v| v.value) {
            Some(Value::StringValue(s)) => Some(AttrValue::Str(s.into())),
            Some(other) => attr_value(&AnyValue { value: Some(other) }),
            None => None,
        };
        if let Some(v) = value {
            into.push((kv.key.into(), v));
        }
    }
}

/// A string attribute of `kvs`.
pub fn string_attr<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

/// A resource's `service.name` (`unknown_service` when it has none, as the OpenTelemetry
/// SDKs name it).
pub fn service_name(resource: Option<&Resource>) -> &str {
    resource
        .and_then(|r| string_attr(&r.attributes, "service.name"))
        .unwrap_or("unknown_service")
}

/// A trace id of 16 bytes, not all zero.
pub fn trace_id(bytes: &[u8]) -> Option<TraceId> {
    let id: [u8; 16] = bytes.try_into().ok()?;
    (id != [0; 16]).then_some(TraceId(id))
}

/// A span id of 8 bytes, not all zero.
pub fn span_id(bytes: &[u8]) -> Option<SpanId> {
    let id: [u8; 8] = bytes.try_into().ok()?;
    (id != [0; 8]).then_some(SpanId(id))
}

/// Nanoseconds since the Unix epoch as a time (0, "unknown", as `fallback`).
pub fn time(nanos: u64, fallback: SystemTime) -> SystemTime {
    if nanos == 0 {
        fallback
    } else {
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn any(v: Value) -> AnyValue {
        AnyValue { value: Some(v) }
    }

    #[test]
    fn scalars_keep_their_type_and_containers_become_json() {
        assert_eq!(
            attr_value(&any(Value::IntValue(-3))),
            Some(AttrValue::I64(-3))
        );
        assert_eq!(
            attr_value(&any(Value::BoolValue(true))),
            Some(AttrValue::Bool(true))
        );
        let array = Value::ArrayValue(ArrayValue {
            values: vec![any(Value::StringValue("a".into())), any(Value::IntValue(1))],
        });
        assert_eq!(attr_value(&any(array)), Some(AttrValue::from(r#"["a",1]"#)));
        let map = Value::KvlistValue(KeyValueList {
            values: vec![KeyValue {
                key: "role".into(),
                key_strindex: 0,
                value: Some(any(Value::StringValue("user".into()))),
            }],
        });
        assert_eq!(
            attr_value(&any(map)),
            Some(AttrValue::from(r#"{"role":"user"}"#))
        );
        assert_eq!(attr_value(&AnyValue { value: None }), None);
    }

    #[test]
    fn ids_need_their_length_and_a_non_zero_byte() {
        assert!(trace_id(&[0; 16]).is_none());
        assert!(trace_id(&[1; 15]).is_none());
        assert!(trace_id(&[1; 16]).is_some());
        assert!(span_id(&[0; 8]).is_none());
        assert!(span_id(&[7; 8]).is_some());
    }
}
