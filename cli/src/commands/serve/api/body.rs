//! [`JsonBody`]: a request body read as JSON the way llama-stack's FastAPI read it — an
//! empty body is `{}`, `null` is accepted for optional fields — and rejected with its
//! validation envelope naming the field (`["body", "attribute_filters", 0, "op"]`), never
//! with a plain-text axum rejection. The body is bounded ([`BODY_LIMIT`], 413 beyond).

use axum::body::{to_bytes, Body};
use axum::extract::FromRequest;
use axum::http::Request;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1 << 20;

/// A JSON body of type `T`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, _state: &S) -> Result<Self, ApiError> {
        let bytes = to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|e| {
            // `to_bytes` fails for a body over the limit or a broken connection.
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                ApiError::TooLarge(BODY_LIMIT)
            } else {
                ApiError::body(&[], format!("cannot read the body: {e}"), "body_read")
            }
        })?;
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        parse(text).map(JsonBody)
    }
}

/// `bytes` as a `T`, or the error naming where it fails.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::body(
            &[],
            format!("the body is not valid JSON: {e}"),
            "json_invalid",
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::body(
            &[],
            "the body must be a JSON object",
            "model_attributes_type",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path: Vec<String> = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let msg = e.inner().to_string();
        let kind = if msg.starts_with("missing field") {
            "missing"
        } else if msg.starts_with("unknown variant") {
            "enum"
        } else if msg.starts_with("invalid type") {
            "type_error"
        } else {
            "value_error"
        };
        let missing = (kind == "missing")
            .then(|| msg.split('`').nth(1).map(str::to_owned))
            .flatten();
        let mut field: Vec<&str> = path.iter().map(String::as_str).collect();
        field.extend(missing.as_deref());
        ApiError::body(&field, msg, kind)
    })
}
