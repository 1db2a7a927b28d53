//! Web security around every response: same-origin checks for state-changing requests,
//! security headers and the Content-Security-Policy (with Leptos' per-request nonce).

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use reqwest::Url;

use crate::server::AppState;

/// The policy for HTML pages: the app's own scripts and Wasm, inline scripts only with
/// this request's nonce, nothing from elsewhere, never framed.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: https:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy for everything that is not a page (JSON, files, errors).
const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Paths called by other machines rather than by the app's pages.
fn machine_route(path: &str) -> bool {
    path == "/payments/callback"
        || path == "/payments/verify-events"
        || path.starts_with("/sandbox/authy/")
        || path.starts_with("/sandbox/verify/")
}

fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// Whether a state-changing request cannot be shown to come from one of our pages: it
/// names another origin, or (since browsers send `Origin` with every POST and `Referer`
/// otherwise) it names none at all.
pub fn from_another_origin(headers: &HeaderMap, public_url: &Url, production: bool) -> bool {
    let expected = origin_of(public_url);
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(claimed) = claimed else {
        return true;
    };
    // What browsers send with every POST of ours (the status poll's included): the public
    // origin as it serializes, found without parsing a URL.
    if claimed == expected {
        return false;
    }
    let Ok(url) = Url::parse(claimed) else {
        return true; // includes the opaque origin "null"
    };
    if origin_of(&url) == expected {
        return false;
    }
    // In development, localhost and 127.0.0.1 on the same port are the same app.
    production
        || !is_loopback(public_url)
        || !is_loopback(&url)
        || url.port_or_known_default() != public_url.port_or_known_default()
        || url.scheme() != public_url.scheme()
}

/// Whether the `Host` a request was sent to is the public URL's (DNS rebinding: a page
/// of another site whose name now points at us sends its own host name). In development
/// the loopback names on the same port count as one, as for origins.
pub fn host_allowed(host: Option<&str>, public_url: &Url, production: bool) -> bool {
    let Some(host) = host else {
        return false;
    };
    // Every request passes here (the status poll and the callback included): the usual
    // answer, the public host itself, is a string comparison, not a URL parse.
    if is_public_authority(host, public_url) {
        return true;
    }
    let Ok(url) = Url::parse(&format!("{}://{host}/", public_url.scheme())) else {
        return false;
    };
    if url.host_str().is_none() || url.path() != "/" || !url.username().is_empty() {
        return false;
    }
    let same_port = url.port_or_known_default() == public_url.port_or_known_default();
    let same_host = url
        .host_str()
        .zip(public_url.host_str())
        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
    same_port && (same_host || (!production && is_loopback(public_url) && is_loopback(&url)))
}

/// Whether `host` (a `Host` header) names exactly the public URL's host and port.
fn is_public_authority(host: &str, public_url: &Url) -> bool {
    let Some(name) = public_url.host_str() else {
        return false;
    };
    let (Some(head), Some(rest)) = (host.get(..name.len()), host.get(name.len()..)) else {
        return false;
    };
    if !head.eq_ignore_ascii_case(name) {
        return false;
    }
    match rest.strip_prefix(':') {
        None => rest.is_empty() && public_url.port().is_none(),
        Some(port) => port.parse::<u16>().ok() == public_url.port_or_known_default(),
    }
}

/// Paths a load balancer or orchestrator calls by the instance's own address.
fn probe_route(path: &str) -> bool {
    path == "/healthz" || path == "/readyz"
}

/// A path as it may be logged: runs of four or more digits (codes, tokens, ids that
/// could be either) are masked.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let secret_like = |segment: &str| {
        segment.bytes().filter(u8::is_ascii_digit).count() >= 4
            && segment.bytes().all(|b| b.is_ascii_digit())
    };
    if !path.split('/').any(secret_like) {
        return path.into();
    }
    path.split('/')
        .map(|segment| {
            if secret_like(segment) {
                "{digits}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
        .into()
}

fn refusal(status: StatusCode, message: &'static str, https: bool) -> Response {
    let mut response = (status, message).into_response();
    add_headers(response.headers_mut(), https);
    response
}

/// Refuses requests for another host and cross-origin state changes, then adds the
/// security headers to the answer.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let https = state.config.secure_cookies();
    let path = request.uri().path();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    if !probe_route(path) && !host_allowed(host, &state.config.public_url, state.config.production)
    {
        tracing::warn!(path = %loggable_path(path), "refused a request for another host");
        return refusal(
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer for that host name.",
            https,
        );
    }
    let safe_method = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe_method
        && !machine_route(request.uri().path())
        && from_another_origin(
            request.headers(),
            &state.config.public_url,
            state.config.production,
        )
    {
        tracing::warn!(
            path = %loggable_path(request.uri().path()),
            "refused a cross-origin request"
        );
        return refusal(
            StatusCode::FORBIDDEN,
            "Cross-origin requests are not allowed.",
            https,
        );
    }
    let personal = request.uri().path().starts_with("/api/")
        || request
            .headers()
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains(crate::server::domain::sessions::SESSION_COOKIE));
    let built_asset = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    add_headers(response.headers_mut(), https);
    if built_asset && response.status() == StatusCode::OK {
        // Hashed names change with the content: keep them for good. Plain names: ask
        // each time (answered 304 when unchanged).
        let policy = if state.leptos_options.hash_files {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    if personal || is_html(response.headers()) {
        // Signed-in pages and server-function answers are for this person only: no copy
        // in the browser's cache or a shared one.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

fn add_headers(headers: &mut HeaderMap, https: bool) {
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(OTHER_POLICY));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn same_origin_requests_pass_and_header_less_ones_do_not() {
        let public = Url::parse("https://pay.example.org/").expect("url");
        assert!(from_another_origin(&HeaderMap::new(), &public, true));
        assert!(from_another_origin(&HeaderMap::new(), &public, false));
        assert!(!from_another_origin(
            &headers(header::ORIGIN, "https://pay.example.org"),
            &public,
            true
        ));
        assert!(!from_another_origin(
            &headers(header::REFERER, "https://pay.example.org/payments/new"),
            &public,
            true
        ));
    }

    #[test]
    fn other_origins_are_refused() {
        let public = Url::parse("https://pay.example.org/").expect("url");
        for (name, value) in [
            (header::ORIGIN, "https://evil.example"),
            (header::ORIGIN, "null"),
            (header::ORIGIN, "http://pay.example.org"),
            (header::REFERER, "https://evil.example/pay"),
        ] {
            assert!(
                from_another_origin(&headers(name, value), &public, true),
                "{value}"
            );
        }
    }

    #[test]
    fn localhost_is_127_0_0_1_in_development_only() {
        let public = Url::parse("http://127.0.0.1:3000/").expect("url");
        let h = headers(header::ORIGIN, "http://localhost:3000");
        assert!(!from_another_origin(&h, &public, false));
        assert!(from_another_origin(&h, &public, true));
        let other_port = headers(header::ORIGIN, "http://localhost:4000");
        assert!(from_another_origin(&other_port, &public, false));
    }

    #[test]
    fn only_the_public_host_is_served() {
        let public = Url::parse("https://pay.example.org/").expect("url");
        assert!(host_allowed(Some("pay.example.org"), &public, true));
        assert!(host_allowed(Some("PAY.example.org:443"), &public, true));
        assert!(is_public_authority("pay.example.org", &public));
        assert!(!is_public_authority("pay.example.org.evil", &public));
        assert!(!is_public_authority("pay.example.org:80", &public));
        for other in [
            None,
            Some("evil.example"),
            Some("pay.example.org:8443"),
            Some("a@pay.example.org"),
            Some("pay.example.org/x"),
        ] {
            assert!(!host_allowed(other, &public, true), "{other:?}");
        }
        let dev = Url::parse("http://127.0.0.1:3000/").expect("url");
        assert!(host_allowed(Some("localhost:3000"), &dev, false));
        assert!(host_allowed(Some("[::1]:3000"), &dev, false));
        assert!(!host_allowed(Some("localhost:3001"), &dev, false));
        assert!(!host_allowed(Some("rebound.example:3000"), &dev, false));
        assert!(!host_allowed(Some("localhost:3000"), &dev, true));
    }

    #[test]
    fn digit_runs_are_masked_in_logged_paths() {
        assert_eq!(
            loggable_path("/sandbox/authy/protected/json/verify/0123456/42"),
            "/sandbox/authy/protected/json/verify/{digits}/42"
        );
        assert_eq!(loggable_path("/payments/new"), "/payments/new");
    }

    #[test]
    fn hsts_is_sent_only_over_https() {
        let mut plain = HeaderMap::new();
        add_headers(&mut plain, false);
        let mut https = HeaderMap::new();
        add_headers(&mut https, true);
        assert!(plain.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        assert!(https.get(header::STRICT_TRANSPORT_SECURITY).is_some());
        assert_eq!(https[header::X_FRAME_OPTIONS], "DENY");
    }

    #[test]
    fn the_page_policy_allows_only_own_scripts_and_the_nonce() {
        let policy = page_policy("abc123");
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
