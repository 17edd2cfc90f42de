//! Tests of the content bound: the fast path, cuts at UTF-8 and escape boundaries, JSON
//! kept valid (strings longest first, then trailing elements and members), the markers,
//! and a generated corpus of JSON values under many bounds.

use serde_json::{json, Value};

use super::*;

fn bound(text: &str, max: usize) -> Bounded {
    bound_content(text.to_owned(), max)
}

/// Parses, or panics with the text.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `(kept, n)` of a string value cut by the bound: the text before its marker and the N of
/// `…[truncated N bytes]`; `None` when the string carries no marker.
fn split_marker(s: &str) -> Option<(&str, usize)> {
    let at = s.rfind(MARKER_PREFIX)?;
    let n = s[at + MARKER_PREFIX.len()..]
        .trim_end_matches(" bytes]")
        .trim_end_matches(" byte]");
    Some((&s[..at], n.parse().ok()?))
}

#[test]
fn a_value_within_the_bound_is_kept_as_it_is_up_to_exactly_the_bound() {
    for text in ["", "hello", "{\"a\":1}", "not json {"] {
        let b = bound(text, MIN_MAX_BYTES);
        assert_eq!((b.text.as_str(), b.truncated), (text, false));
    }
    let exact = "x".repeat(300);
    assert_eq!(bound(&exact, 300).text, exact);
    let over = bound(&exact, 299);
    assert!(over.truncated && over.text.len() <= 299, "{}", over.text);
    let json = format!("[\"{}\"]", "y".repeat(296));
    assert_eq!(json.len(), 300);
    assert!(!bound(&json, 300).truncated);
    let cut = bound(&json, 299);
    assert!(cut.truncated && cut.text.len() <= 299);
    parse(&cut.text);
}

#[test]
fn the_documented_example() {
    let text = format!("{{\"prompt\":\"{}\"}}", "a".repeat(20_000));
    let b = bound(&text, 16_384);
    assert!(b.truncated);
    assert_eq!(b.text.len(), 16_384);
    let expected = format!(
        "{{\"prompt\":\"{}…[truncated 3654 bytes]\"}}",
        "a".repeat(16_346)
    );
    assert_eq!(b.text, expected);
}

#[test]
fn text_is_cut_at_a_utf8_boundary_with_its_marker() {
    // 4-byte and 2-byte characters, at every offset against the bound.
    for pad in 0..4 {
        let text = format!("{}{}", "a".repeat(pad), "😀é".repeat(200));
        for max in MIN_MAX_BYTES..MIN_MAX_BYTES + 8 {
            let b = bound(&text, max);
            assert!(
                b.truncated && b.text.len() <= max,
                "{max}: {}",
                b.text.len()
            );
            let (kept, n) = split_marker(&b.text).expect("marker");
            assert!(text.starts_with(kept));
            assert_eq!(kept.len() + n, text.len());
            // No more was cut than the marker needs, give or take a character and a digit.
            assert!(b.text.len() + 5 > max, "{max}: {}", b.text.len());
        }
    }
    // A Rust `Debug` text is not JSON even when it has braces.
    let debug = format!("Reply {{ text: \"{}\" }}", "z".repeat(1000));
    let b = bound(&debug, 300);
    assert!(b.text.starts_with("Reply { text: \"zzz") && b.text.ends_with(" bytes]"));
    // Neither is something that starts like JSON and is not.
    let broken = format!("{{\"a\": {}", "1".repeat(1000));
    assert!(bound(&broken, 300).text.starts_with("{\"a\": 111"));
}

#[test]
fn json_strings_are_cut_between_characters_and_escapes_never_inside() {
    let content = "é😀\\n\\\"\\\\\\u00e9\\ud83d\\ude00\\t";
    let text = format!("\"{}\"", content.repeat(40));
    let original: String = serde_json::from_str(&text).unwrap();
    for max in MIN_MAX_BYTES..MIN_MAX_BYTES + 40 {
        let b = bound(&text, max);
        assert!(b.text.len() <= max);
        let cut: String =
            serde_json::from_str(&b.text).unwrap_or_else(|e| panic!("{max}: {e}: {}", b.text));
        let (kept, _) = split_marker(&cut).expect("marker");
        assert!(original.starts_with(kept), "{max}: {kept}");
        // The raw text before the marker is a prefix of the original raw content.
        let raw = &b.text[1..b.text.rfind(MARKER_PREFIX).unwrap()];
        assert!(text[1..].starts_with(raw));
        let (_, n) = split_marker(&b.text[..b.text.len() - 1]).unwrap();
        assert_eq!(
            raw.len() + n,
            text.len() - 2,
            "N counts the raw bytes left out"
        );
    }
}

#[test]
fn the_longest_strings_are_cut_first_and_the_structure_is_kept() {
    let messages = json!([
        {"role": "system", "content": "s".repeat(50_000)},
        {"role": "user", "content": "What is the weather in Paris?", "n": 1.5e3},
        {"role": "assistant", "content": [{"type": "text", "text": "t".repeat(30_000)}]},
        {"role": "tool", "content": null, "ok": true},
    ]);
    let text = messages.to_string();
    let b = bound(&text, 16_384);
    assert!(b.truncated && b.text.len() <= 16_384, "{}", b.text.len());
    // All but the last few bytes used: one common cap, not a wasteful cut.
    assert!(b.text.len() > 16_300, "{}", b.text.len());
    let v = parse(&b.text);
    assert_eq!(v[1]["content"], "What is the weather in Paris?");
    assert_eq!(v[1]["n"], json!(1.5e3));
    assert_eq!(v[3], json!({"role": "tool", "content": null, "ok": true}));
    let system = v[0]["content"].as_str().unwrap();
    let text_part = v[2]["content"][0]["text"].as_str().unwrap();
    let (s_kept, s_cut) = split_marker(system).unwrap();
    let (t_kept, t_cut) = split_marker(text_part).unwrap();
    // Both long strings cut to the same cap.
    assert_eq!(s_kept.len(), t_kept.len());
    assert_eq!(
        (s_kept.len() + s_cut, t_kept.len() + t_cut),
        (50_000, 30_000)
    );
    assert_eq!(v[2]["content"][0]["type"], "text");
}

#[test]
fn layout_is_kept_when_only_strings_are_cut() {
    let pretty =
        serde_json::to_string_pretty(&json!({"a": "x".repeat(1000), "b": [1, 2]})).unwrap();
    let b = bound(&pretty, 400);
    assert!(b.text.starts_with("{\n  \"a\": \"xxx"), "{}", b.text);
    assert!(
        b.text
            .ends_with("bytes]\",\n  \"b\": [\n    1,\n    2\n  ]\n}"),
        "{}",
        b.text
    );
}

#[test]
fn too_many_elements_drop_the_trailing_ones_for_a_marker_element() {
    let messages: Vec<Value> = (0..100_000)
        .map(|i| json!({"role": "user", "content": format!("hi {i}")}))
        .collect();
    let text = Value::Array(messages).to_string();
    let b = bound(&text, 16_384);
    assert!(b.truncated && b.text.len() <= 16_384, "{}", b.text.len());
    let items = parse(&b.text);
    let items = items.as_array().unwrap();
    let marker = items.last().unwrap().as_str().expect("a marker element");
    let n: usize = marker
        .strip_prefix(MARKER_PREFIX)
        .and_then(|m| m.strip_suffix(" elements]"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{marker}"));
    assert_eq!(items.len() - 1 + n, 100_000);
    assert_eq!(items[0], json!({"role": "user", "content": "hi 0"}));
    assert_eq!(
        items[items.len() - 2]["content"],
        format!("hi {}", items.len() - 2)
    );
    assert!(b.text.len() > 16_300, "the bound is used: {}", b.text.len());
}

#[test]
fn a_container_too_big_is_cut_inside_and_trailing_members_get_a_marker() {
    let many: Vec<Value> = (0..5_000).map(|i| json!([i, "ab"])).collect();
    let text = json!({"messages": many, "model": "m", "z": {"deep": [1, 2, 3]}}).to_string();
    // serde_json sorts keys: messages, model, z.
    let b = bound(&text, 2_000);
    assert!(b.truncated && b.text.len() <= 2_000, "{}", b.text.len());
    let v = parse(&b.text);
    let messages = v["messages"].as_array().unwrap();
    assert!(messages.len() > 10);
    assert_eq!(messages[0], json!([0, "ab"]));
    assert!(messages
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .ends_with(" elements]"));
    assert_eq!(v["…"], "…[truncated 2 members]", "{}", b.text);
}

#[test]
fn a_single_string_and_the_smallest_bounds() {
    // A top-level string (a return value's `Debug`) is cut inside.
    let text = format!("{:?}", "line\n".repeat(1000));
    let b = bound(&text, MIN_MAX_BYTES);
    let s: String = serde_json::from_str(&b.text).unwrap();
    assert!(
        s.starts_with("line\nline\n") && s.ends_with(" bytes]"),
        "{s}"
    );
    // Far below the accepted minimum the value becomes its marker.
    let arr = format!("[{}]", vec!["1"; 1000].join(","));
    let b = bound(&arr, 40);
    assert!(b.text.len() <= 40, "{}", b.text);
    parse(&b.text);
    let b = bound(&arr, 10);
    assert_eq!(b.text, format!("\"…[truncated {} bytes]\"", arr.len()));
}

#[test]
fn markers_are_as_long_as_computed() {
    for n in [0, 1, 2, 9, 10, 99, 100, 12_345, usize::MAX] {
        for unit in [Unit::Bytes, Unit::Elements, Unit::Members] {
            let mut s = String::new();
            push_marker(&mut s, n, unit);
            assert_eq!(s.len(), marker_len(n, unit), "{s}");
        }
        let mut s = String::new();
        push_members_marker(&mut s, n);
        assert_eq!(s.len(), members_marker_len(n), "{s}");
        let mut s = String::new();
        push_elements_marker(&mut s, n);
        assert!(s.len() <= ELEMENTS_MARKER_MAX_LEN, "{s}");
    }
    let mut s = String::new();
    push_bytes_marker(&mut s, 1);
    assert_eq!(s, "…[truncated 1 byte]");
}

/// A small deterministic generator (xorshift), so that the corpus is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn text(&mut self, max_len: u64) -> String {
        const PIECES: [&str; 10] = ["a", "é", "😀", "\n", "\"", "\\", "\u{1}", "語", " ", "z"];
        let len = self.below(max_len + 1);
        let long = self.below(8) == 0;
        let len = if long { len * 50 } else { len };
        (0..len)
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }
    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth > 4 { 4 } else { 7 }) {
            0 => Value::Null,
            1 => json!(self.below(1_000_000)),
            2 | 3 => Value::String(self.text(40)),
            4 => json!(self.below(2) == 0),
            5 => (0..self.below(30)).map(|_| self.value(depth + 1)).collect(),
            _ => Value::Object(
                (0..self.below(8))
                    .map(|_| (self.text(6), self.value(depth + 1)))
                    .collect(),
            ),
        }
    }
}

#[test]
fn generated_json_is_always_bounded_valid_and_marked() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut cut, mut dropped) = (0, 0);
    for case in 0..600 {
        let value = rng.value(0);
        let text = if case % 3 == 0 {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            value.to_string()
        };
        let max = MIN_MAX_BYTES + rng.below(2_000) as usize;
        let b = bound(&text, max);
        assert_eq!(b.truncated, text.len() > max, "case {case}");
        assert!(b.text.len() <= max, "case {case}: {} > {max}", b.text.len());
        let parsed = parse(&b.text);
        if b.truncated {
            cut += 1;
            assert!(b.text.contains(MARKER_PREFIX), "case {case}: {}", b.text);
            if b.text.contains(" elements]") || b.text.contains(" members]") {
                dropped += 1;
            }
        } else {
            assert_eq!(parsed, value);
        }
    }
    assert!(
        cut > 100 && dropped > 30,
        "the corpus exercises the cuts: {cut}, {dropped}"
    );
}

#[test]
fn generated_text_is_always_bounded_at_a_boundary() {
    let mut rng = Rng(42);
    for case in 0..300 {
        let text = rng.text(400);
        let max = MIN_MAX_BYTES + rng.below(300) as usize;
        let b = bound(&text, max);
        assert!(b.text.len() <= max, "case {case}");
        if let Some((kept, n)) = split_marker(&b.text).filter(|_| b.truncated) {
            assert!(
                text.starts_with(kept) && kept.len() + n == text.len(),
                "case {case}"
            );
        }
    }
}
