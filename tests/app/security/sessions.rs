//! Sessions: how long they last (idle and absolute), what keeps them alive, sign-out, a new sign-in, the cookie over https, and the caller the domain is given.

use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::{CurrentUser, LogIn},
    payments::GetPayment,
};

use crate::support::*;

#[tokio::test]
async fn a_session_ends_twelve_hours_after_sign_in_whatever_the_activity() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    sqlx::query("UPDATE sessions SET created_at = created_at - 43201")
        .execute(&app.state.db)
        .await
        .expect("twelve hours pass, busily");
    let response = app
        .client
        .post(app.url(CurrentUser::PATH))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("SessionExpired"));
}

#[tokio::test]
async fn status_polls_do_not_keep_the_session_alive() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let id = send_payment_id(&app, &cookie).await;
    let poll = || {
        app.client
            .post(app.url(GetPayment::PATH))
            .header("Cookie", &cookie)
            .form(&[("id", id.as_str())])
            .send()
    };
    let last_seen = || async {
        sqlx::query_scalar::<_, i64>("SELECT last_seen_at FROM sessions")
            .fetch_one(&app.state.db)
            .await
            .expect("session")
    };
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 200")
        .execute(&app.state.db)
        .await
        .expect("idle for a while");
    let before = last_seen().await;
    assert_eq!(poll().await.expect("request").status(), 200);
    assert_eq!(
        last_seen().await,
        before,
        "a poll is not the person's activity"
    );

    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 101")
        .execute(&app.state.db)
        .await
        .expect("idle past the limit");
    let expired = poll().await.expect("request");
    assert_eq!(expired.status(), 401);
}

#[tokio::test]
async fn an_idle_session_ends_and_says_so_until_the_next_sign_in() {
    let app = spawn_app_with(&[("SESSION_IDLE_SECS", "60")]).await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let current = |cookie: String| {
        app.client
            .post(app.url(CurrentUser::PATH))
            .header("Cookie", cookie)
            .send()
    };
    assert_eq!(
        current(cookie.clone()).await.expect("request").status(),
        200
    );

    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 61")
        .execute(&app.state.db)
        .await
        .expect("idle");
    let expired = current(cookie.clone()).await.expect("request");
    let still_expired = current(cookie.clone()).await.expect("request");
    let fresh = log_in(&app, &email, "a password").await;
    let after_sign_in = current(fresh).await.expect("request");

    assert_eq!(expired.status(), 401);
    assert!(expired
        .text()
        .await
        .expect("body")
        .contains("SessionExpired"));
    assert_eq!(still_expired.status(), 401);
    assert_eq!(after_sign_in.status(), 200);
    assert!(after_sign_in.text().await.expect("body").contains(&email));
}

#[tokio::test]
async fn log_out_ends_the_session_and_its_cookie_no_longer_works() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let me = |cookie: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url(payfriend::api::payments::ListPayments::PATH))
                .header("Cookie", cookie)
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    assert_eq!(me(cookie.clone()).await, 200);
    let out = app
        .client
        .post(app.url(payfriend::api::accounts::LogOut::PATH))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("log out");
    assert!(out.status().is_success() || out.status().is_redirection());
    // The same cookie, replayed: the session is gone from the database.
    assert_eq!(me(cookie).await, 401);
}

#[tokio::test]
async fn a_new_sign_in_replaces_the_browsers_earlier_session() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let first = log_in(&app, &email, "a password").await;
    let again = app
        .client
        .post(app.url(LogIn::PATH))
        .header("Cookie", &first)
        .form(&[("email", email.as_str()), ("password", "a password")])
        .send()
        .await
        .expect("request");
    let second = session_cookie(&again).expect("a new session");
    assert_ne!(first, second);
    let list = |cookie: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url(payfriend::api::payments::ListPayments::PATH))
                .header("Cookie", cookie)
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    assert_eq!(list(first).await, 401, "the earlier session ended");
    assert_eq!(list(second).await, 200);
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(&user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(sessions, 1);
}

#[tokio::test]
async fn over_https_the_session_cookie_is_host_prefixed_and_secure() {
    // The provider is another app's sandbox: production mode needs a real-looking one.
    let provider = spawn_app().await;
    let app = spawn_app_with(&[
        ("PAYFRIEND_PROVIDER", "authy"),
        ("PUBLIC_URL", "https://pay.example.test"),
        ("AUTHY_API_URL", &provider.url("/sandbox/authy")),
        (
            "AUTHY_API_KEY",
            provider.state.config.authy_api_key.expose(),
        ),
        (
            "SESSION_SECRET",
            "an https test session secret of some length",
        ),
    ])
    .await;
    let (_, email) = verified_user(&app, "a password").await;
    let as_browser = |request: reqwest::RequestBuilder| {
        request
            .header("Host", "pay.example.test")
            .header("Origin", "https://pay.example.test")
    };

    let signed_in = as_browser(app.client.post(app.url(LogIn::PATH)))
        .form(&[("email", email.as_str()), ("password", "a password")])
        .send()
        .await
        .expect("request");
    let set_cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-payfriend_session="))
        .expect("a __Host- session cookie")
        .to_string();
    assert!(
        set_cookie.contains("; Secure") && set_cookie.contains("Path=/"),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().expect("pair").to_string();
    let me = as_browser(app.client.post(app.url(CurrentUser::PATH)))
        .header("Cookie", cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    assert!(me.text().await.expect("body").contains(&email));
}

#[tokio::test]
async fn the_domain_takes_the_caller_as_an_argument_and_audits_its_address() {
    use payfriend::testing::domain::{
        accounts,
        sessions::{Caller, CookieJar},
    };
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let caller = Caller {
        client: Some("203.0.113.9".parse().expect("ip")),
        ..Caller::default()
    };
    let mut jar = CookieJar::default();

    let verified = accounts::log_in(&app.state, &caller, &mut jar, &email, "a password")
        .await
        .expect("signed in outside any server function");

    assert!(verified);
    let cookies = jar.into_values();
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0]
        .to_str()
        .expect("ascii")
        .starts_with("payfriend_session="));
    let ip: Option<String> =
        sqlx::query_scalar("SELECT ip FROM audit_events WHERE event = 'sign_in' AND user_id = $1")
            .bind(&user_id)
            .fetch_one(&app.state.db)
            .await
            .expect("audit row");
    assert_eq!(ip.as_deref(), Some("203.0.113.9"));
}
