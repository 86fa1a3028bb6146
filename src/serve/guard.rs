//! Who may talk to the daemon: every request carries the token (a bearer header, or the cookie
//! the page gets once through `/auth?token=...`, or through `/auth?once=CODE`, the one-time
//! address `viva open` hands the browser), names a loopback `Host` (a DNS-rebinding page
//! cannot), and, when it changes state, comes from no other `Origin` than the daemon's own.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::api::ApiError;
use super::AppState;

pub const COOKIE: &str = "viva_token";
/// How long the browser keeps the cookie: 30 days. Without a lifetime it is a session cookie,
/// gone when the browser restarts, and the bookmarked page meets a 401. The token inside is
/// worthless once the daemon that issued it stops (every start makes a new one), so the
/// lifetime only bounds how long a browser holds a token for a daemon that keeps running:
/// a month of browser restarts, then `viva open` again.
pub const COOKIE_MAX_AGE_SECONDS: u64 = 30 * 24 * 60 * 60;
/// How long a one-time sign-in address works: long enough for a browser to start.
pub const SIGN_IN_CODE_SECONDS: u64 = 60;

/// Checks Host, then the token, then Origin for state-changing requests.
pub async fn check(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if !host_is_loopback(headers, state.port) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "requests must name 127.0.0.1 or localhost as their Host",
        )
        .into_response();
    }
    if request.uri().path() == "/auth" {
        return next.run(request).await;
    }
    if !has_token(headers, &state.token) {
        if request.uri().path() == "/" {
            return signed_out_page();
        }
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token: open the address `viva serve` printed, or send Authorization: Bearer TOKEN from serve.json",
        )
        .into_response();
    }
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && !origin_is_ours(headers, state.port) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-origin requests may not change anything",
        )
        .into_response();
    }
    next.run(request).await
}

fn host_is_loopback(headers: &HeaderMap, port: u16) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let allowed = ["127.0.0.1", "localhost", "[::1]"];
    allowed
        .iter()
        .any(|name| host == *name || host == format!("{name}:{port}"))
}

fn has_token(headers: &HeaderMap, token: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| {
            pair.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
        .next();
    bearer.is_some_and(|b| same(b, token)) || cookie.is_some_and(|c| same(&c, token))
}

/// No Origin (the CLI, curl) is fine: those requests carry the token themselves. A browser
/// always sends Origin on a POST, and it must be the daemon's own page.
fn origin_is_ours(headers: &HeaderMap, port: u16) -> bool {
    match headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()) {
        None => true,
        Some(origin) => ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|name| origin == format!("http://{name}:{port}")),
    }
}

/// Compares without stopping at the first difference, so timing tells nothing about the token.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Deserialize)]
pub struct AuthQuery {
    token: Option<String>,
    once: Option<String>,
}

/// `/auth?token=...` or `/auth?once=CODE`: the page's way in. Sets the cookie and sends the
/// browser to `/`. A one-time code works once, within [`SIGN_IN_CODE_SECONDS`].
pub async fn auth(State(state): State<Arc<AppState>>, Query(query): Query<AuthQuery>) -> Response {
    let signed_in = match (&query.token, &query.once) {
        (Some(token), _) => same(token, &state.token),
        (None, Some(code)) => redeem(&state, code),
        (None, None) => false,
    };
    if !signed_in {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong, used or expired sign-in address: run `viva open` again",
        )
        .into_response();
    }
    (
        [(header::SET_COOKIE, cookie(&state.token))],
        Redirect::to("/"),
    )
        .into_response()
}

/// Takes `code` out of the unexpired codes, if it is one of them.
fn redeem(state: &AppState, code: &str) -> bool {
    let Ok(mut codes) = state.sign_in_codes.lock() else {
        return false;
    };
    let now = std::time::Instant::now();
    codes.retain(|(_, until)| *until > now);
    match codes.iter().position(|(c, _)| same(c, code)) {
        Some(i) => {
            codes.swap_remove(i);
            true
        }
        None => false,
    }
}

/// `POST /api/sign-in-links` (token required): a one-time address that signs a browser in.
pub async fn sign_in_link(State(state): State<Arc<AppState>>) -> Response {
    let code = match super::discovery::new_token() {
        Ok(code) => code,
        Err(e) => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
                .into_response()
        }
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(SIGN_IN_CODE_SECONDS);
    match state.sign_in_codes.lock() {
        Ok(mut codes) => {
            let now = std::time::Instant::now();
            codes.retain(|(_, until)| *until > now);
            codes.push((code.clone(), until));
        }
        Err(_) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "sign-in codes unavailable",
            )
            .into_response()
        }
    }
    axum::Json(serde_json::json!({
        "url": format!("http://127.0.0.1:{}/auth?once={code}", state.port),
        "expires_in_seconds": SIGN_IN_CODE_SECONDS,
    }))
    .into_response()
}

/// The cookie `/auth` sets: the token for every path, kept [`COOKIE_MAX_AGE_SECONDS`], never
/// readable by scripts, never sent by another site's page.
fn cookie(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/; Max-Age={COOKIE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict")
}

/// The page's answer to a browser without the token (a bookmark from before the daemon
/// restarted): still a 401, but one a person can act on.
fn signed_out_page() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Html(
            "<!doctype html><meta charset=\"utf-8\"><title>viva: signed out</title>\n\
             <p>This page needs the token of the running <code>viva serve</code>. \
             Run <code>viva open</code> to open it signed in.</p>\n",
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_loopback_hosts_are_let_in() {
        assert!(host_is_loopback(
            &headers(&[(header::HOST, "127.0.0.1:8080")]),
            8080
        ));
        assert!(host_is_loopback(
            &headers(&[(header::HOST, "localhost:8080")]),
            8080
        ));
        assert!(!host_is_loopback(
            &headers(&[(header::HOST, "evil.example:8080")]),
            8080
        ));
        assert!(!host_is_loopback(
            &headers(&[(header::HOST, "localhost:9999")]),
            8080
        ));
        assert!(!host_is_loopback(&headers(&[]), 8080));
    }

    #[test]
    fn the_token_comes_as_a_bearer_or_a_cookie() {
        assert!(has_token(
            &headers(&[(header::AUTHORIZATION, "Bearer abc")]),
            "abc"
        ));
        assert!(has_token(
            &headers(&[(header::COOKIE, "x=1; viva_token=abc")]),
            "abc"
        ));
        assert!(!has_token(
            &headers(&[(header::AUTHORIZATION, "Bearer abd")]),
            "abc"
        ));
        assert!(!has_token(
            &headers(&[(header::COOKIE, "viva_token=ab")]),
            "abc"
        ));
        assert!(!has_token(&headers(&[]), "abc"));
    }

    #[test]
    fn the_cookie_outlives_a_browser_restart_and_stays_out_of_reach_of_scripts() {
        let cookie = cookie("abc");
        assert!(cookie.starts_with("viva_token=abc; Path=/;"), "{cookie}");
        assert!(cookie.contains("; Max-Age=2592000;"), "{cookie}");
        assert!(cookie.contains("; HttpOnly;"), "{cookie}");
        assert!(cookie.ends_with("; SameSite=Strict"), "{cookie}");
    }

    #[test]
    fn state_changes_from_another_origin_are_refused() {
        assert!(origin_is_ours(&headers(&[]), 8080));
        assert!(origin_is_ours(
            &headers(&[(header::ORIGIN, "http://127.0.0.1:8080")]),
            8080
        ));
        assert!(!origin_is_ours(
            &headers(&[(header::ORIGIN, "http://evil.example")]),
            8080
        ));
        assert!(!origin_is_ours(
            &headers(&[(header::ORIGIN, "http://127.0.0.1:1")]),
            8080
        ));
    }
}
