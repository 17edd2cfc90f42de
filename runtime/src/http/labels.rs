//! What a request is measured as: its `api` label (llama-stack's `_extract_api_from_path`),
//! its `status` label, and the paths that are not measured at all (documentation and
//! static assets, as llama-stack's RequestMetricsMiddleware excluded them).

use crate::model::attr::AttrStr;

/// Path prefixes that are neither measured nor traced: `/docs`, `/redoc`, `/openapi.json`,
/// `/favicon.ico`, `/static…` (matched as prefixes, so `/static/css/site.css` too).
///
/// ```
/// use llm_telemetry::http::EXCLUDED_PREFIXES;
///
/// assert!(EXCLUDED_PREFIXES.iter().any(|p| "/static/css/site.css".starts_with(p)));
/// assert!(!EXCLUDED_PREFIXES.iter().any(|p| "/v1/models".starts_with(p)));
/// ```
pub const EXCLUDED_PREFIXES: [&str; 5] = [
    "/docs",
    "/redoc",
    "/openapi.json",
    "/favicon.ico",
    "/static",
];

/// Whether requests to `path` pass through unmeasured and untraced.
pub fn is_excluded(path: &str) -> bool {
    EXCLUDED_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// The `api` label of a request to `path` (or to the route template it matched): the
/// first segment after a leading `/v1/`, else the first segment; `unknown` when empty.
/// `/v1/inference/chat/completions` is `inference`, `/v1/agents/{id}/turn` is `agents`,
/// `/health` is `health`, `/` is `unknown`.
pub fn api_of(path: &str) -> &str {
    let rest = path.strip_prefix("/v1/").unwrap_or(path);
    let first = rest.trim_matches('/').split('/').next().unwrap_or_default();
    if first.is_empty() {
        "unknown"
    } else {
        first
    }
}

/// The `status` label of a response: the code as text (`"200"`, `"404"`). Three
/// characters: stored inline in the attribute, no allocation.
pub fn status_label(code: http::StatusCode) -> AttrStr {
    AttrStr::from(code.as_str())
}

/// The status label of a request that failed, panicked or was dropped before it answered.
pub const FAILED_STATUS: &str = "500";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_is_the_first_segment_after_v1_as_llama_stack_derived_it() {
        assert_eq!(api_of("/v1/inference/chat/completions"), "inference");
        assert_eq!(api_of("/v1/models/list"), "models");
        assert_eq!(api_of("/v1/providers"), "providers");
        assert_eq!(api_of("/v1/agents/{agent_id}/turn"), "agents");
        assert_eq!(api_of("/v1alpha/telemetry/traces"), "v1alpha");
        assert_eq!(api_of("/health"), "health");
        assert_eq!(api_of("/"), "unknown");
        assert_eq!(api_of(""), "unknown");
    }

    #[test]
    fn documentation_and_static_paths_are_excluded() {
        for path in [
            "/docs",
            "/redoc",
            "/openapi.json",
            "/favicon.ico",
            "/static/css/style.css",
        ] {
            assert!(is_excluded(path), "{path}");
        }
        for path in [
            "/v1/inference/chat/completions",
            "/v1/models/list",
            "/health",
        ] {
            assert!(!is_excluded(path), "{path}");
        }
    }

    #[test]
    fn status_is_the_code_as_text() {
        for code in [200, 404, 500, 418, 599] {
            let code = http::StatusCode::from_u16(code).unwrap();
            assert_eq!(status_label(code).as_str(), code.as_str());
        }
    }
}
