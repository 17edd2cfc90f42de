//! Tests of the model types.

use super::attr::{AttrStr, AttrValue};
use super::vocab::{Instrument, Severity, SpanCategory, SpanKind, SpanStatus};

#[test]
fn attr_str_keeps_every_length() {
    let text = "abcdefghijklmnopqrstuvwxyzé0123456789";
    for end in 0..=text.len() {
        let Some(s) = text.get(..end) else { continue };
        let mid = (0..=s.len() / 2)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        for value in [
            AttrStr::from(s),
            AttrStr::from(s.to_owned()),
            AttrStr::format(format_args!("{s}")),
            AttrStr::format(format_args!("{}{}", &s[..mid], &s[mid..])),
        ] {
            assert_eq!(value, s);
            assert_eq!(value.len(), s.len());
            assert_eq!(String::from(value.clone()), s);
            assert_eq!(
                serde_json::to_string(&value).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }
    assert_eq!(
        serde_json::to_string(&AttrValue::Str("x".into())).unwrap(),
        r#""x""#
    );
    assert!(std::mem::size_of::<AttrValue>() <= 32);
}

#[test]
fn attr_str_behaves_as_a_string() {
    let value = AttrValue::Str("llama3.2:3b".into());
    if let AttrValue::Str(text) = &value {
        assert_eq!(text, "llama3.2:3b");
        assert_eq!(text.len(), 11);
        let s: &str = text;
        assert_eq!(s.to_uppercase(), "LLAMA3.2:3B");
    }
    assert_eq!(value.as_str(), Some("llama3.2:3b"));
    assert_eq!(value.to_string(), "llama3.2:3b");
    assert_eq!(serde_json::to_string(&value).unwrap(), r#""llama3.2:3b""#);

    let long = AttrValue::Str(String::from("a value longer than twenty-two bytes").into());
    assert_eq!(long.as_str(), Some("a value longer than twenty-two bytes"));
}

#[test]
fn named_enums_parse_back_their_names_and_aliases() {
    for kind in [SpanKind::Internal, SpanKind::Client, SpanKind::Server] {
        assert_eq!(SpanKind::from_name(kind.as_str()), Some(kind));
        assert_eq!(SpanKind::parse(&kind.as_str().to_uppercase()), Some(kind));
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(SpanCategory::AgentTurn.as_str(), "agent_turn");
    for op in ["retrieval", "apply_guardrail", "invoke_workflow"] {
        assert_eq!(
            SpanCategory::from_operation(op),
            SpanCategory::Other,
            "{op}"
        );
    }
    assert_eq!(Instrument::Histogram.as_str(), "histogram");
    assert_eq!(Instrument::Gauge.as_str(), "gauge");
    // Exact by default, ASCII case ignored on request; aliases parse, names print.
    assert_eq!(SpanStatus::from_name("OK"), None);
    assert_eq!(
        SpanStatus::from_name_ignore_case("OK"),
        Some(SpanStatus::Ok)
    );
    assert_eq!(Severity::parse("warning"), Some(Severity::Warn));
    assert_eq!(Severity::parse("trace"), Some(Severity::Verbose));
    assert_eq!(Severity::Warn.as_str(), "warn");
    assert_eq!(Severity::parse("WARN"), None);
}
