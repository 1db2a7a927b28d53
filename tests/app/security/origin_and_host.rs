//! Requests from elsewhere: other hosts and origins, security headers, caches, body size and time limits, and where the sandbox may run.

use leptos::server_fn::ServerFn;
use payfriend::api::accounts::{CurrentUser, LogIn};

use crate::support::*;

#[tokio::test]
async fn requests_for_another_host_are_refused() {
    let app = spawn_app().await;
    let port = app.base_url.rsplit(':').next().expect("port").to_string();
    let rebound = app
        .client
        .get(app.url("/sandbox/phone"))
        .header("Host", format!("rebound.example:{port}"))
        .send()
        .await
        .expect("request");
    let alias = app
        .client
        .get(app.url("/"))
        .header("Host", format!("localhost:{port}"))
        .send()
        .await
        .expect("request");
    let probe = app
        .client
        .get(app.url("/healthz"))
        .header("Host", "10.1.2.3:8080")
        .send()
        .await
        .expect("request");
    assert_eq!(rebound.status(), 421);
    assert_eq!(alias.status(), 200, "loopback aliases in development");
    assert_eq!(
        probe.status(),
        200,
        "health checks come by the instance's address"
    );
}

#[tokio::test]
async fn a_state_change_with_neither_origin_nor_referer_is_refused_but_the_webhook_is_not() {
    let app = spawn_app().await;
    let bare = reqwest::Client::new();
    let sign_in = bare
        .post(app.url(LogIn::PATH))
        .form(&[("email", "x@example.com"), ("password", "a password")])
        .send()
        .await
        .expect("request");
    let with_referer = bare
        .post(app.url(LogIn::PATH))
        .header("Referer", app.url("/login"))
        .form(&[("email", "x@example.com"), ("password", "a password")])
        .send()
        .await
        .expect("request");
    let webhook = bare
        .post(app.url("/payments/callback"))
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(sign_in.status(), 403);
    let referer_status = with_referer.status();
    assert_eq!(referer_status, 401, "{:?}", with_referer.text().await);
    assert_eq!(
        webhook.status(),
        401,
        "refused for its signature, not its origin"
    );
}

#[tokio::test]
async fn a_state_change_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "a password").await;

    let cross = app
        .client
        .post(app.url(LogIn::PATH))
        .header("Origin", "https://evil.example")
        .form(&[("email", email.as_str()), ("password", "a password")])
        .send()
        .await
        .expect("request");
    let same = app
        .client
        .post(app.url(LogIn::PATH))
        .header("Origin", &app.base_url)
        .form(&[("email", email.as_str()), ("password", "a password")])
        .send()
        .await
        .expect("request");

    assert_eq!(cross.status(), 403);
    assert!(cross.headers().get("set-cookie").is_none());
    assert_ne!(same.status(), 403);
    assert!(same.headers().get("set-cookie").is_some());
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_nonce_policy_that_matches_their_scripts() {
    let app = spawn_app().await;

    let page = app.client.get(app.url("/")).send().await.expect("request");
    let api = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");

    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let policy = header(&page, "content-security-policy");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "same-origin");
    assert!(policy.contains("frame-ancestors 'none'"));
    assert!(header(&api, "content-security-policy").contains("default-src 'none'"));
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy")
        .to_string();
    let html = page.text().await.expect("body");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "scripts carry the nonce"
    );
    assert!(header(&api, "strict-transport-security").is_empty());
}

#[tokio::test]
async fn personal_answers_are_never_stored_by_caches() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let page = app
        .client
        .get(app.url("/payments"))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    let api = app
        .client
        .post(app.url(CurrentUser::PATH))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    for r in [&page, &api] {
        assert_eq!(
            r.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{}",
            r.url()
        );
    }
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let app = spawn_app().await;
    let huge = "x".repeat(200 * 1024);

    let callback = app
        .client
        .post(app.url("/payments/callback"))
        .body(huge.clone())
        .send()
        .await
        .expect("request");
    let server_fn = app
        .client
        .post(app.url(LogIn::PATH))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("email={huge}&password=x"))
        .send()
        .await
        .expect("request");

    assert_eq!(callback.status(), 413);
    assert_eq!(server_fn.status(), 413);
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_cut_off_with_408() {
    // The sandbox, told to be slow, holds requests 2 s; requests may take 1 s.
    let app = spawn_app_with(&[
        ("REQUEST_TIMEOUT_SECS", "1"),
        ("AUTHY_TIMEOUT_SECS", "1"),
        ("SANDBOX_FAULT", "slow"),
    ])
    .await;

    let response = app
        .client
        .get(app.url("/sandbox/authy/protected/json/users/1/status"))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 408);
}

#[tokio::test]
async fn a_server_listening_on_every_address_does_not_serve_the_sandbox() {
    // A typical container: the public URL says localhost, the server listens on 0.0.0.0.
    let app = spawn_app_with(&[
        ("PUBLIC_URL", "http://localhost:3000"),
        ("LEPTOS_SITE_ADDR", "0.0.0.0:3000"),
    ])
    .await;
    assert!(app.sandbox.is_none());
    for path in [
        "/sandbox/phone?phone=%2B12015550123",
        "/sandbox/authy/protected/json/users/1/status",
        "/sandbox/verify/v2/Services/VA00000000000000000000000000000000/Verifications",
    ] {
        let answer = app
            .client
            .get(app.url(path))
            .header("Host", "localhost:3000")
            .send()
            .await
            .expect("request");
        assert_eq!(answer.status(), 404, "{path}");
    }

    // Asked for explicitly, it is there (and start-up warns about it).
    let explicit = spawn_app_with(&[
        ("PUBLIC_URL", "http://localhost:3000"),
        ("LEPTOS_SITE_ADDR", "0.0.0.0:3000"),
        ("PAYFRIEND_ENV", "development"),
    ])
    .await;
    let phone = explicit
        .client
        .get(explicit.url("/sandbox/phone?phone=%2B12015550123"))
        .header("Host", "localhost:3000")
        .send()
        .await
        .expect("request");
    assert_eq!(phone.status(), 200);
}

#[test]
fn the_sandbox_does_not_start_for_a_public_host_unless_development_is_explicit() {
    use payfriend::server::config::Config;
    let public = |extra: Option<(&str, &str)>| {
        Config::from_lookup(move |name| match (name, extra) {
            ("PUBLIC_URL", _) => Some("http://pay.example.org".to_string()),
            (n, Some((k, v))) if n == k => Some(v.to_string()),
            _ => None,
        })
    };
    let refused = public(None).expect_err("the sandbox on a public host");
    assert_eq!(refused.var, "AUTHY_API_URL");
    assert!(public(Some(("PAYFRIEND_ENV", "development"))).is_ok());
}
