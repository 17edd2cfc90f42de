//! The web viewer: plain ES modules and CSS compiled into the binary (no build step, no
//! CDN, nothing fetched at run time), served at `/` of `llm-trace serve`.
//!
//! The pages (`/`, `/traces/{id}`, `/sessions`, `/stats`) are one HTML document that
//! routes in the browser and reads the store through the JSON routes of
//! [`api::viewer`](super::api::viewer). Every answer carries a strict
//! `Content-Security-Policy` (scripts and styles from this origin only, no inline script,
//! no framing), `X-Content-Type-Options: nosniff` and an `ETag` (the content's hash) with
//! `Cache-Control: no-cache`, so a browser revalidates with `If-None-Match` and gets a 304
//! until the binary changes. `--no-ui` leaves these routes out.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::api::path::IdPath;
use super::state::AppState;

/// What every viewer answer may load: only this origin's scripts, styles, images and JSON.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// One embedded file: where it is served, its type and its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $file:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!($file),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The viewer's files. `index.html` is every page's document.
static ASSETS: &[Asset] = &[
    asset!("/", "index.html", "text/html; charset=utf-8"),
    asset!("/ui/app.js", "app.js", JS),
    asset!("/ui/api.js", "api.js", JS),
    asset!("/ui/format.js", "format.js", JS),
    asset!("/ui/traces.js", "traces.js", JS),
    asset!("/ui/trace.js", "trace.js", JS),
    asset!("/ui/sessions.js", "sessions.js", JS),
    asset!("/ui/stats.js", "stats.js", JS),
    asset!("/ui/style.css", "style.css", CSS),
    asset!("/ui/favicon.svg", "favicon.svg", "image/svg+xml"),
    asset!("/ui/vendor/uPlot.esm.js", "vendor/uPlot.esm.js", JS),
    asset!("/ui/vendor/uPlot.min.css", "vendor/uPlot.min.css", CSS),
];

/// The viewer's routes: the pages and the files.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/traces", get(page))
        .route("/traces/{*id}", get(trace_page))
        .route("/sessions", get(page))
        .route("/stats", get(page));
    for asset in ASSETS {
        let path = asset.path;
        router = router.route(path, get(move |headers: HeaderMap| file(path, headers)));
    }
    router
}

async fn page(headers: HeaderMap) -> Response {
    file("/", headers).await
}

async fn trace_page(_id: IdPath, headers: HeaderMap) -> Response {
    file("/", headers).await
}

/// An embedded file, or 304 when the browser has this version.
async fn file(path: &'static str, headers: HeaderMap) -> Response {
    let (i, asset) = ASSETS
        .iter()
        .enumerate()
        .find(|(_, a)| a.path == path)
        .expect("every routed asset is embedded");
    let etag = &etags()[i];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(etag).expect("hex is a header value"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(h);
    response
}

/// The headers every viewer answer carries.
pub fn secure(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// `"<FNV-1a 64 of the bytes>"` per asset, computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let hash = a.body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
                });
                format!("\"{hash:016x}\"")
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_pages_import_is_served() {
        // Each `import ... from "./x.js"` / "./vendor/..." of an embedded module is embedded.
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(asset.body).unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(spec) = line.split('"').nth(1) else {
                    continue;
                };
                let Some(rel) = spec.strip_prefix("./") else {
                    continue;
                };
                let path = format!("/ui/{rel}");
                assert!(
                    ASSETS.iter().any(|a| a.path == path),
                    "{} imports {spec}, which is not embedded",
                    asset.path
                );
            }
        }
        let tags = etags();
        assert_eq!(tags.len(), ASSETS.len());
        assert!(tags.iter().all(|t| t.len() == 18 && t.starts_with('"')));
    }
}
