//! JSON strings and timestamps as the writer encodes them.

use std::time::{Duration, SystemTime};

use crate::model::time::sqlite_timestamp;

use super::super::encode::{json_str, timestamp};

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

#[test]
fn timestamps_match_the_record_formatter() {
    let mut t = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400 * 365 * 3 + 17);
    for step in [1u64, 999_999, 86_399_000_001, 7_777_777_777_777] {
        for _ in 0..200 {
            let ours = timestamp(t);
            assert_eq!(std::str::from_utf8(&ours).unwrap(), sqlite_timestamp(t));
            t += Duration::from_micros(step);
        }
    }
    let now = SystemTime::now();
    assert_eq!(
        std::str::from_utf8(&timestamp(now)).unwrap(),
        sqlite_timestamp(now)
    );
}
