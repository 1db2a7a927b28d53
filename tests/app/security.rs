//! Holding up under attack and failure: origin checks, headers, limits, session expiry,
//! rate limits, the audit trail, provider faults and restarts.
use crate::common::{
    answer_on_phone, log_in, send_payment, session_cookie, spawn_app, spawn_app_with,
    verified_user, TestApp,
};
use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::{CurrentUser, LogIn, Register, ResendCode},
    payments::PaymentTimeline,
};
use payfriend::sandbox::model::SandboxFault;
use payfriend::server::{db, domain::payments};
use payfriend::shared::authy_signature as signature;
use payfriend::shared::clock;

async fn payment_statuses(app: &TestApp, user_id: &payfriend::model::UserId) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM payments WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&app.state.db)
        .await
        .expect("statuses")
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
async fn sending_codes_is_rate_limited_per_phone() {
    let app = spawn_app_with(&[("CODE_SEND_LIMIT", "2")]).await;
    let register = app
        .client
        .post(app.url(Register::PATH))
        .form(&[
            ("email", "limited@example.com"),
            ("password", "a long password"),
            ("country", "US"),
            ("phone", "+1 201 555 0142"),
            ("via", "sms"),
        ])
        .send()
        .await
        .expect("request");
    let cookie = session_cookie(&register).expect("session");
    let resend = || {
        app.client
            .post(app.url(ResendCode::PATH))
            .header("Cookie", &cookie)
            .send()
    };

    let second = resend().await.expect("request");
    let third = resend().await.expect("request");

    assert_eq!(second.status(), 200);
    assert_eq!(third.status(), 429);
    assert!(third.text().await.expect("body").contains("RateLimited"));
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_messages")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(sent, 2);
}

#[tokio::test]
async fn every_step_of_a_payment_is_in_its_timeline_for_its_owner_only() {
    let app = spawn_app().await;
    let (owner_id, email) = verified_user(&app, "a password").await;
    let (_, other_email) = verified_user(&app, "other password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let other = log_in(&app, &other_email, "other password").await;
    send_payment(&app, &cookie).await;
    let (id, uuid): (String, String) =
        sqlx::query_as("SELECT id, approval_uuid FROM payments WHERE user_id = $1")
            .bind(&owner_id)
            .fetch_one(&app.state.db)
            .await
            .expect("payment");
    answer_on_phone(&app, &uuid, true).await;
    let timeline = |cookie: String| {
        app.client
            .post(app.url(PaymentTimeline::PATH))
            .header("Cookie", cookie)
            .form(&[("id", id.as_str())])
            .send()
    };

    let mine = timeline(cookie.clone()).await.expect("request");
    let theirs = timeline(other).await.expect("request");

    assert_eq!(mine.status(), 200);
    let body = mine.text().await.expect("body");
    let positions: Vec<usize> = ["payment_created", "push_sent", "\"callback\"", "decision"]
        .iter()
        .map(|event| {
            body.find(event)
                .unwrap_or_else(|| panic!("{event} missing from {body}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "events out of order: {body}"
    );
    assert_eq!(theirs.status(), 404);
    let sign_ins: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE event = 'sign_in' AND outcome = 'success' AND user_id = $1",
    )
    .bind(&owner_id)
    .fetch_one(&app.state.db)
    .await
    .expect("count");
    assert_eq!(sign_ins, 1);
}

#[tokio::test]
async fn provider_faults_fail_the_payment_with_a_clear_error_and_never_leave_it_pending() {
    let app = spawn_app_with(&[("AUTHY_TIMEOUT_SECS", "1")]).await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;

    for fault in [
        SandboxFault::Error500,
        SandboxFault::Error503,
        SandboxFault::NotJson,
        SandboxFault::Slow,
    ] {
        app.sandbox().fault.set(fault);
        let response = send_payment(&app, &cookie).await;
        assert_eq!(response.status(), 503, "{fault:?}");
        assert!(response
            .text()
            .await
            .expect("body")
            .contains("ProviderUnavailable"));
    }

    let statuses = payment_statuses(&app, &user_id).await;
    assert_eq!(statuses, vec!["failed"; 4]);
}

/// The payment of `user_id` (the only one) as the provider's request names it.
async fn only_approval_uuid(app: &TestApp, user_id: &payfriend::model::UserId) -> String {
    sqlx::query_scalar("SELECT approval_uuid FROM payments WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("uuid")
}

/// A user's payment answered on the phone (`approve` or deny) while the sandbox drops its
/// callbacks, so it is still pending here, and made old enough to be reconciled.
async fn decided_with_the_callback_lost(app: &TestApp, approve: bool) -> payfriend::model::UserId {
    let (user_id, email) = verified_user(app, "a password").await;
    let cookie = log_in(app, &email, "a password").await;
    send_payment(app, &cookie).await;
    let uuid = only_approval_uuid(app, &user_id).await;
    app.sandbox().fault.set(SandboxFault::DropCallbacks);
    answer_on_phone(app, &uuid, approve).await;
    assert_eq!(payment_statuses(app, &user_id).await, vec!["pending"]);
    sqlx::query("UPDATE payments SET created_at = created_at - 60")
        .execute(&app.state.db)
        .await
        .expect("age");
    user_id
}

#[tokio::test]
async fn a_dropped_callback_is_recovered_from_the_provider() {
    let app = spawn_app().await;
    let user_id = decided_with_the_callback_lost(&app, true).await;

    payments::reconcile(&app.state).await;

    assert_eq!(payment_statuses(&app, &user_id).await, vec!["approved"]);
}

#[tokio::test]
async fn a_callback_arriving_after_a_restart_still_decides_the_payment() {
    let app = spawn_app_with(&[("AUTHY_API_KEY", "stable-key-across-restarts")]).await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    send_payment(&app, &cookie).await;
    let uuid = only_approval_uuid(&app, &user_id).await;

    let restarted = spawn_app_with(&[
        ("AUTHY_API_KEY", "stable-key-across-restarts"),
        ("DATABASE_URL", &app.state.config.database_url),
    ])
    .await;
    let body = format!(r#"{{"uuid": "{uuid}", "status": "approved", "authy_id": 1}}"#);
    let url = restarted.state.config.authy_callback_url.to_string();
    let nonce = clock::now().to_string();
    let sig =
        signature::sign("stable-key-across-restarts", &nonce, "POST", &url, &body).expect("sign");
    let response = restarted
        .client
        .post(&url)
        .header("X-Authy-Signature", sig)
        .header("X-Authy-Signature-Nonce", nonce)
        .body(body)
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 200);
    assert_eq!(
        payment_statuses(&restarted, &user_id).await,
        vec!["approved"]
    );
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
async fn the_sweep_forgets_what_can_no_longer_matter_and_keeps_the_rest() {
    let app = spawn_app().await;
    let now = clock::now();
    for (at, phone) in [(now - 10_000, "+12015550101"), (now, "+12015550102")] {
        sqlx::query(
            "INSERT INTO code_sends (id, user_id, phone_e164, at) VALUES ($1, NULL, $2, $3)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(phone)
        .bind(at)
        .execute(&app.state.db)
        .await
        .expect("code sent");
    }
    for (nonce, at) in [("old", now - 10_000), ("new", now)] {
        db::payments::remember_nonce(&app.state.db, nonce, "sig", at)
            .await
            .expect("nonce");
    }

    // Sign-in attempts: an email tried once long ago (never signed in), one tried just
    // now, one locked until later, and one whose lock ended long ago.
    let lock = app.state.config.login_lock_secs as i64;
    for (email, failures, locked_until, last_at) in [
        ("long-ago@example.com", 1, None, now - lock - 10),
        ("just-now@example.com", 2, None, now),
        ("locked@example.com", 5, Some(now + 100), now - lock - 10),
        ("lock-over@example.com", 5, Some(now - 10), now - lock - 10),
    ] {
        sqlx::query(
            "INSERT INTO login_throttle (email, failures, locked_until, last_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(email)
        .bind(failures)
        .bind(locked_until)
        .bind(last_at)
        .execute(&app.state.db)
        .await
        .expect("sign-in attempts");
    }

    payfriend::server::sweep(&app.state).await;

    let mut throttled: Vec<String> = sqlx::query_scalar("SELECT email FROM login_throttle")
        .fetch_all(&app.state.db)
        .await
        .expect("attempts");
    throttled.sort();
    assert_eq!(
        throttled,
        vec!["just-now@example.com", "locked@example.com"]
    );
    let phones: Vec<String> = sqlx::query_scalar("SELECT phone_e164 FROM code_sends")
        .fetch_all(&app.state.db)
        .await
        .expect("codes");
    let nonces: Vec<String> = sqlx::query_scalar("SELECT nonce FROM callback_nonces")
        .fetch_all(&app.state.db)
        .await
        .expect("nonces");
    assert_eq!(phones, vec!["+12015550102"]);
    assert_eq!(nonces, vec!["new"]);
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

/// The sweep forgets quiet sign-in rows while sign-ins count attempts: a first attempt must
/// never read as a lock because its row was forgotten halfway (it once was: an insert, then
/// an update that found nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgetting_sign_in_rows_never_locks_a_first_attempt() {
    let app = spawn_app().await;
    let db = app.state.db.clone();
    let now = clock::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Everything unlocked counts as quiet here.
                db::throttle::forget_login_attempts(&db, now, now + 3600)
                    .await
                    .expect("forget");
            }
        })
    };
    let attempts: Vec<_> = (0..200)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let email = payfriend::model::Email::parse(&format!("first{i}@example.com"))
                    .expect("an address");
                db::throttle::take_login_attempt(&db, &email, 5, now, now + 900)
                    .await
                    .expect("count")
            })
        })
        .collect();
    for attempt in attempts {
        assert_eq!(attempt.await.expect("task"), Some(1));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sweeper.await.expect("sweeper");
}

#[tokio::test]
async fn a_denial_whose_callback_was_lost_is_recovered_from_the_provider() {
    let app = spawn_app().await;
    let user_id = decided_with_the_callback_lost(&app, false).await;

    payments::reconcile(&app.state).await;

    assert_eq!(payment_statuses(&app, &user_id).await, vec!["denied"]);
}

#[tokio::test]
async fn reconciliation_that_cannot_reach_the_provider_changes_nothing_and_tries_again() {
    let app = spawn_app().await;
    let user_id = decided_with_the_callback_lost(&app, true).await;

    app.sandbox().fault.set(SandboxFault::Error503);
    payments::reconcile(&app.state).await;
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, failure_reason FROM payments WHERE user_id = $1")
            .bind(&user_id)
            .fetch_one(&app.state.db)
            .await
            .expect("payment");
    assert_eq!(
        (status.as_str(), reason),
        ("pending", None),
        "an outage decides nothing"
    );

    // Its next turn (the claim has passed) finds the provider answering.
    app.sandbox().fault.set(SandboxFault::None);
    sqlx::query("UPDATE payments SET reconcile_after = 0")
        .execute(&app.state.db)
        .await
        .expect("next turn");
    payments::reconcile(&app.state).await;
    assert_eq!(payment_statuses(&app, &user_id).await, vec!["approved"]);
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
