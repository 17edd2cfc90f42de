//! JSON strings as the writer encodes them (its timestamps are the model's one writer,
//! tested in `model::time`).

use super::super::encode::json_str;

#[test]
fn json_strings_are_escaped_as_serde_json_does() {
    for value in [
        "",
        "gen_ai.request.model",
        "llama3.2:3b",
        "caf\u{e9} \u{1F600} \u{7f}",
        "a\"quote",
        "back\\slash",
        "tab\tnewline\n\u{1}\u{1f}",
    ] {
        let mut buf = Vec::new();
        json_str(&mut buf, value).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            serde_json::to_string(value).unwrap()
        );
    }
}
