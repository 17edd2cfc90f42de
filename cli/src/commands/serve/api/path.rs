//! [`IdPath`]: the rest of a route's path, percent-decoded, as one string — llama-stack's
//! `{id:path}` parameter. A path that does not decode (invalid UTF-8) is a JSON 400, not
//! axum's plain-text rejection.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::error::ApiError;

/// The matched path parameter.
pub struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| IdPath(p))
            .map_err(|e| ApiError::Invalid(format!("the path cannot be read: {e}")))
    }
}
