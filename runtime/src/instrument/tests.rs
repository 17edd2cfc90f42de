//! Tests of the dispatch helpers generated code calls.

use tracing::Span;

use super::capture::{ArgsJson, Capture, CaptureDebug as _, CaptureNone as _};
use super::outcome::{Outcome, OutcomeErr as _, OutcomeErrDisplay as _, OutcomeValue as _};
use super::status::short_type_name;
use crate::model::usage::Usage;

mod errors {
    pub struct ApiError<T>(pub T);
}

#[test]
fn short_type_names() {
    assert_eq!(short_type_name::<std::io::Error>(), "Error");
    assert_eq!(short_type_name::<errors::ApiError<String>>(), "ApiError");
    assert_eq!(short_type_name::<&str>(), "&str");
    assert_eq!(short_type_name::<(u8, u8)>(), "(u8, u8)");
    assert_eq!(short_type_name::<String>(), "String");
}

#[test]
fn args_json_is_valid_json() {
    #[derive(Debug)]
    struct Query {
        #[allow(dead_code)]
        top_k: u32,
    }
    let mut args = ArgsJson::new();
    args.arg("city", Some(&"Pa\"ris"));
    args.arg("days", Some(&3));
    args.arg("query", Some(&Query { top_k: 3 }));
    args.arg("secret", None);
    let v: serde_json::Value = serde_json::from_str(&args.into_json()).unwrap();
    assert_eq!(v["city"], "Pa\"ris");
    assert_eq!(v["days"], 3);
    assert_eq!(v["query"], "Query { top_k: 3 }");
    assert!(v.get("secret").is_none());
}

#[test]
#[allow(clippy::needless_borrow)] // the borrows select the implementation
fn outcome_dispatch() {
    struct Opaque;
    let span = Span::none();
    let ok: Result<u8, Opaque> = Ok(1);
    (&&&&Outcome(&ok)).__llm_outcome(&span, None);
    let err: Result<u8, std::io::Error> = Err(std::io::Error::other("x"));
    (&&&&Outcome(&err)).__llm_outcome(&span, Some(Usage::new(1, 2)));
    (&&&&Outcome(&5u8)).__llm_outcome(&span, None);
    assert!((&&Capture(&Opaque)).__llm_debug().is_none());
    assert!((&&Capture(&5u8)).__llm_debug().is_some());
}
