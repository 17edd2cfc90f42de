//! Who may use the server: [`Access`] checks each request's `Host` (so that a web page
//! cannot reach a loopback server through DNS rebinding) and, with a token, its
//! `Authorization: Bearer` header, compared in constant time. Both answer with the JSON
//! errors of the API (421, 401) before any route runs.
//!
//! A browser cannot send a bearer header when a person opens a link, so the web viewer
//! takes the token once in the URL (`/?token=TOKEN`): a right one is answered with a
//! redirect to the same URL without it and a `llm_trace_token` cookie (`HttpOnly`, so
//! scripts cannot read it; `SameSite=Strict`, so other sites' pages cannot send it), which
//! every later request then carries. A wrong one is a 401 like a wrong header.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::api::error::ApiError;

/// The access rules of one server.
#[derive(Debug)]
pub struct Access {
    token: Option<String>,
    /// Host names (lowercase, no port) requests may name; `None`: any.
    hosts: Option<Vec<String>>,
    port: u16,
}

impl Access {
    /// Rules for a server listening on `addr`: loopback names and the address itself are
    /// always accepted, plus `extra_hosts`; a server on an unspecified address (`0.0.0.0`,
    /// `::`) accepts any host (it needs a token, which a rebinding page does not have).
    pub fn new(addr: SocketAddr, token: Option<String>, extra_hosts: &[String]) -> Access {
        let hosts = (!addr.ip().is_unspecified()).then(|| {
            let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
                .into_iter()
                .map(String::from)
                .collect();
            hosts.push(addr.ip().to_string());
            hosts.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
            hosts
        });
        Access {
            token,
            hosts,
            port: addr.port(),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let Some(hosts) = &self.hosts else {
            return true;
        };
        let (name, port) = split_host(host);
        let port_ok = port.is_none_or(|p| p == self.port);
        port_ok && hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    fn token_ok(&self, request: &Request) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .unwrap_or("");
        bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))
            || cookie(request, TOKEN_COOKIE).is_some_and(|c| same(&c, token))
    }

    /// For a request whose URL carries `token=`: the redirect that drops it and sets the
    /// cookie (right token), or `Err` (wrong token). `None` without such a parameter or
    /// when the server has no token.
    fn token_in_url(&self, request: &Request) -> Option<Result<Response, ()>> {
        let token = self.token.as_ref()?;
        let query = request.uri().query()?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let given = pairs.iter().find(|(k, _)| k == "token")?.1.clone();
        if !same(&given, token) {
            return Some(Err(()));
        }
        let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "token").collect();
        let mut location = request.uri().path().to_owned();
        if !rest.is_empty() {
            location.push('?');
            location.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(rest)
                    .finish(),
            );
        }
        let cookie = format!(
            "{TOKEN_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
            cookie_value(token)
        );
        let mut response = StatusCode::SEE_OTHER.into_response();
        let h = response.headers_mut();
        h.insert(header::LOCATION, HeaderValue::from_str(&location).ok()?);
        h.insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).ok()?);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Some(Ok(response))
    }
}

/// The cookie that carries the token after `?token=`.
pub const TOKEN_COOKIE: &str = "llm_trace_token";

/// Constant-time comparison of a given token with the server's.
fn same(given: &str, token: &str) -> bool {
    bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers (percent-decoded).
fn cookie<'r>(request: &'r Request, name: &str) -> Option<std::borrow::Cow<'r, str>> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
}

/// What a token keeps as is in its cookie: letters, digits and `-._~`.
const COOKIE_SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A token as a cookie value: percent-encoded but for [`COOKIE_SAFE`].
fn cookie_value(token: &str) -> String {
    percent_encoding::utf8_percent_encode(token, COOKIE_SAFE).to_string()
}

fn percent_decode(v: &str) -> std::borrow::Cow<'_, str> {
    percent_encoding::percent_decode_str(v).decode_utf8_lossy()
}

/// `name[:port]`, `[v6]`, `[v6]:port` → (name, port).
fn split_host(host: &str) -> (&str, Option<u16>) {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((name, after)) = rest.split_once(']') {
            return (name, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, Some(port.parse().unwrap_or(0))),
        _ => (host, None),
    }
}

/// The middleware: refuse a foreign `Host` (421) and a missing or wrong token (401).
pub async fn check(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    if !access.host_allowed(&host) {
        return ApiError::WrongHost(host).into_response();
    }
    match access.token_in_url(&request) {
        Some(Ok(redirect)) => return redirect,
        Some(Err(())) => return ApiError::Unauthorized.into_response(),
        None => {}
    }
    if !access.token_ok(&request) {
        return ApiError::Unauthorized.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_a_loopback_server() {
        let a = Access::new(
            "127.0.0.1:8321".parse().unwrap(),
            None,
            &["traces.internal".into()],
        );
        for ok in [
            "127.0.0.1:8321",
            "localhost:8321",
            "LOCALHOST",
            "[::1]:8321",
            "traces.internal:8321",
        ] {
            assert!(a.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:8321",
            "127.0.0.1:9999",
            "",
            "localhost.evil.example",
            "127.0.0.1:x",
        ] {
            assert!(!a.host_allowed(bad), "{bad}");
        }
        let any = Access::new("0.0.0.0:8321".parse().unwrap(), Some("t".into()), &[]);
        assert!(any.host_allowed("my-box.lan:8321"));
    }
}
