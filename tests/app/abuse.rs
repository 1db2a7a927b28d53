//! One client with a laptop must not hurt everyone: bounded work before authentication,
//! per-client limits, a sign-in lock that concurrency cannot race, no SMS pumping, no
//! guessing the phone code, and the smaller holes.
use payfriend::shared::clock;
use std::sync::Arc;

use crate::common::{
    log_in, messages_to, register, send_payment_id, session_cookie, spawn_app, spawn_app_with,
    verification_code, verified_user, TestApp,
};
use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::{CurrentUser, LogIn, ResendCode, VerifyPhone},
    payments::{GetPayment, SendPayment},
};
use payfriend::server::domain::webhook;

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url(LogIn::PATH))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("request")
}

fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn audit_count(app: &TestApp, event: &str, outcome: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = $1 AND outcome = $2")
        .bind(event)
        .bind(outcome)
        .fetch_one(&app.state.db)
        .await
        .expect("count")
}

// 2. Forged callbacks are counted, not written one by one.

#[tokio::test]
async fn forged_callbacks_leave_one_counted_audit_row_per_reason_and_minute() {
    let app = spawn_app().await;
    let forge = |signature: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/payments/callback"))
            .header("X-Authy-Signature-Nonce", clock::now().to_string())
            .body(r#"{"uuid": "x", "status": "approved"}"#);
        if let Some(s) = signature {
            request = request.header("X-Authy-Signature", s);
        }
        request.send()
    };
    let minute_before = clock::now() / 60;
    for _ in 0..30 {
        assert_eq!(
            forge(Some("Zm9yZ2Vk")).await.expect("request").status(),
            401
        );
    }
    for _ in 0..7 {
        assert_eq!(forge(None).await.expect("request").status(), 401);
    }
    let rows_now = audit_count(&app, "callback", "rejected").await;
    // Rows are written when a minute ends: none during a burst within one minute, at most
    // one per reason if the burst crossed into the next minute.
    let minutes_ended = clock::now() / 60 - minute_before;

    webhook::flush_refusals(&app.state, clock::now() + 60).await;

    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = 'callback' ORDER BY detail",
    )
    .fetch_all(&app.state.db)
    .await
    .expect("rows");
    assert!(
        rows_now <= 2 * minutes_ended,
        "nothing written per refusal: {rows_now} rows after {minutes_ended} minute ends"
    );
    // Both reasons in one minute, unless the 37 requests straddled a minute boundary.
    let total: u64 = rows
        .iter()
        .map(|d| {
            d.split(' ')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .expect(d)
        })
        .sum();
    assert_eq!(total, 37, "{rows:?}");
    assert!(rows.len() <= 4, "{rows:?}");
    assert!(
        rows.iter().any(|d| d.contains("signature does not match")),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|d| d.contains("header is missing")),
        "{rows:?}"
    );
}

// 3. Per-client limits.

#[tokio::test]
async fn sign_ins_from_one_address_are_limited_with_retry_after() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "3/60"), ("LOGIN_MAX_FAILURES", "100")]).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let response = sign_in(&app, &format!("nobody{i}@example.com"), "wrong password").await;
        statuses.push((response.status().as_u16(), retry_after(&response)));
    }
    assert_eq!(&statuses[..3], &[(401, None), (401, None), (401, None)]);
    assert_eq!(statuses[3].0, 429);
    let wait = statuses[3].1.expect("Retry-After");
    assert!((1..=20).contains(&wait), "{wait}");
}

#[tokio::test]
async fn every_limited_action_answers_429_once_its_bucket_is_empty() {
    let app = spawn_app_with(&[
        ("LIMIT_REGISTER", "1/3600"),
        ("LIMIT_CODE_RESEND", "1/3600"),
        ("LIMIT_PHONE_VERIFY", "1/3600"),
        ("LIMIT_SEND_PAYMENT", "1/3600"),
        ("LIMIT_PAYMENT_CODE", "1/3600"),
    ])
    .await;
    let key = uuid::Uuid::new_v4().to_string();
    // A well-formed id of no payment: a malformed one is refused before any bucket.
    let no_payment = uuid::Uuid::new_v4().to_string();
    let register_form = [
        ("email", "limits@example.com"),
        ("password", "a long password"),
        ("country", "US"),
        ("phone", "+1 201 555 0505"),
        ("via", "sms"),
    ];
    let payment_form = [
        ("payee", "Neville"),
        ("amount", "20"),
        ("idempotency_key", key.as_str()),
    ];
    let calls: [(&str, &[(&str, &str)]); 5] = [
        (payfriend::api::accounts::Register::PATH, &register_form),
        (ResendCode::PATH, &[]),
        (VerifyPhone::PATH, &[("code", "123456")]),
        (SendPayment::PATH, &payment_form),
        (
            payfriend::api::payments::SendPaymentSms::PATH,
            &[("id", no_payment.as_str())],
        ),
    ];
    for (path, form) in calls {
        let call = || app.client.post(app.url(path)).form(form).send();
        let first = call().await.expect("request");
        assert_ne!(first.status(), 429, "{path}: the first is let through");
        let second = call().await.expect("request");
        assert_eq!(second.status(), 429, "{path}");
        assert!(retry_after(&second).is_some(), "{path}: Retry-After");
    }
    // The SMS code check shares the payment-code bucket.
    let check = app
        .client
        .post(app.url(payfriend::api::payments::VerifyPaymentSms::PATH))
        .form(&[("id", no_payment.as_str()), ("code", "1234567")])
        .send()
        .await
        .expect("request");
    assert_eq!(check.status(), 429);
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let untrusted = spawn_app_with(&[("LIMIT_SIGN_IN", "1/3600")]).await;
    let trusted = spawn_app_with(&[
        ("LIMIT_SIGN_IN", "1/3600"),
        ("TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    let sign_in_from = |app: &TestApp, forwarded: &str| {
        app.client
            .post(app.url(LogIn::PATH))
            .header("X-Forwarded-For", forwarded.to_string())
            .form(&[("email", "x@example.com"), ("password", "wrong password")])
            .send()
    };

    // Without a trusted proxy the header is the client's own claim: one bucket.
    let a = sign_in_from(&untrusted, "203.0.113.1")
        .await
        .expect("request");
    let b = sign_in_from(&untrusted, "203.0.113.2")
        .await
        .expect("request");
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (401, 429));

    // Behind a trusted proxy, each forwarded client has its own bucket, and a client
    // cannot escape its bucket by writing addresses to the left of the proxy's entry.
    let a = sign_in_from(&trusted, "203.0.113.1")
        .await
        .expect("request");
    let b = sign_in_from(&trusted, "203.0.113.2")
        .await
        .expect("request");
    let a_again = sign_in_from(&trusted, "198.51.100.7, 203.0.113.1")
        .await
        .expect("request");
    assert_eq!(
        (
            a.status().as_u16(),
            b.status().as_u16(),
            a_again.status().as_u16()
        ),
        (401, 401, 429)
    );
}

// 4. The sign-in lock.

#[tokio::test]
async fn forty_parallel_wrong_guesses_evaluate_at_most_five_and_then_sign_in_is_locked() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "1000/60")]).await;
    let (_, email) = verified_user(&app, "the right password").await;
    let before = app.state.passwords.verifications();
    let app = Arc::new(app);

    let mut tasks = Vec::new();
    for i in 0..40 {
        let (app, email) = (app.clone(), email.clone());
        tasks.push(tokio::spawn(async move {
            sign_in(&app, &email, &format!("wrong guess {i}"))
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }

    let evaluated = app.state.passwords.verifications() - before;
    assert!(evaluated <= 5, "{evaluated} guesses evaluated");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 0);
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 35);
    let right = sign_in(&app, &email, "the right password").await;
    assert_eq!(right.status(), 429, "locked, the right password included");
    assert_eq!(app.state.passwords.verifications() - before, evaluated);
}

#[tokio::test]
async fn the_right_password_in_a_parallel_burst_gets_in_only_within_the_first_five() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "1000/60")]).await;
    let (_, email) = verified_user(&app, "the right password").await;
    let app = Arc::new(app);
    let before = app.state.passwords.verifications();

    let mut tasks = Vec::new();
    for i in 0..40 {
        let (app, email) = (app.clone(), email.clone());
        let password = if i == 20 {
            "the right password".to_string()
        } else {
            format!("wrong guess {i}")
        };
        tasks.push(tokio::spawn(async move {
            sign_in(&app, &email, &password).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }

    // Five wrong passwords in a row are checked at most; the right one is checked (and gets
    // in) only if it is among them. Its success clears the count, so at most five more
    // wrong ones are checked after it. Every other attempt is refused without a check.
    let checked = app.state.passwords.verifications() - before;
    let successes = statuses.iter().filter(|s| **s == 200).count();
    match successes {
        0 => assert_eq!(checked, 5, "{statuses:?}"),
        1 => assert!(checked <= 10, "{checked} passwords were checked"),
        _ => panic!("the right password got in twice: {statuses:?}"),
    }
    assert!(
        statuses.iter().all(|s| [200, 401, 429].contains(s)),
        "{statuses:?}"
    );
    let wrong_checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        wrong_checked + successes <= usize::try_from(checked).expect("small"),
        "an attempt was answered as checked without a check: {statuses:?}"
    );
}

#[tokio::test]
async fn the_lock_lasts_login_lock_secs_and_ends() {
    let app = spawn_app_with(&[("LOGIN_LOCK_SECS", "120"), ("LIMIT_SIGN_IN", "1000/60")]).await;
    let (_, email) = verified_user(&app, "the right password").await;
    for left in (1..=4).rev() {
        let wrong = sign_in(&app, &email, "wrong password").await;
        assert_eq!(wrong.status(), 401);
        let body = wrong.text().await.expect("body");
        assert!(
            body.contains(&format!("\"attempts_left\":{left}")),
            "{body}"
        );
    }
    let fifth = sign_in(&app, &email, "wrong password").await;
    assert_eq!(fifth.status(), 429);
    assert_eq!(retry_after(&fifth), Some(120));
    let locked = sign_in(&app, &email, "the right password").await;
    assert_eq!(locked.status(), 429);
    let wait = retry_after(&locked).expect("Retry-After");
    assert!((118..=120).contains(&wait), "{wait}");
    let (_, until): (i64, Option<i64>) =
        sqlx::query_as("SELECT failures, locked_until FROM login_throttle WHERE email = $1")
            .bind(&email)
            .fetch_one(&app.state.db)
            .await
            .expect("lock");
    let length = until.expect("locked") - clock::now();
    assert!((118..=120).contains(&length), "{length}");

    // Two minutes later (the clock moved by rewriting the lock's end into the past):
    sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE email = $2")
        .bind(clock::now() - 1)
        .bind(&email)
        .execute(&app.state.db)
        .await
        .expect("time passes");
    let after = sign_in(&app, &email, "the right password").await;
    assert_eq!(after.status(), 200);
}

#[tokio::test]
async fn an_email_without_an_account_locks_the_same_way() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "1000/60")]).await;
    let before = app.state.passwords.verifications();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            sign_in(&app, "nobody@example.com", "a password")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 429, 429]);
    assert_eq!(
        app.state.passwords.verifications() - before,
        5,
        "one verification per evaluated attempt, none while locked"
    );
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_count_so_only_five_in_a_row_lock() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "1000/60")]).await;
    let (_, email) = verified_user(&app, "the right password").await;
    for _ in 0..4 {
        assert_eq!(sign_in(&app, &email, "wrong").await.status(), 401);
    }
    assert_eq!(
        sign_in(&app, &email, "the right password").await.status(),
        200
    );
    for _ in 0..4 {
        assert_eq!(sign_in(&app, &email, "wrong").await.status(), 401);
    }
    assert_eq!(
        sign_in(&app, &email, "the right password").await.status(),
        200
    );
}

// 5. Password hashing is bounded and the same for known and unknown emails.

#[tokio::test]
async fn known_and_unknown_emails_cost_one_verification_each() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "the right password").await;
    let count = || app.state.passwords.verifications();

    let start = count();
    assert_eq!(
        sign_in(&app, "nobody@example.com", "x password")
            .await
            .status(),
        401
    );
    let unknown = count() - start;
    let start = count();
    assert_eq!(sign_in(&app, &email, "x password").await.status(), 401);
    let known = count() - start;

    assert_eq!((unknown, known), (1, 1));
}

// 6. SMS and call pumping.

#[tokio::test]
async fn twenty_parallel_registrations_to_one_number_send_at_most_the_limit() {
    let app = Arc::new(spawn_app_with(&[("LIMIT_REGISTER", "1000/60")]).await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            register(&app, &format!("pump{i}@example.com"), "+1 201 555 0199")
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    let sent = messages_to(&app, "+12015550199").await;
    assert!(sent <= 5, "{sent} codes sent to one number");
    // Refused by the limit (429), or, on a loaded machine, before hashing the password
    // because every hashing slot stayed busy (503): either way no code went out.
    let refused = statuses.iter().filter(|s| **s == 429 || **s == 503).count();
    assert!(refused >= 15, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s < 500 || *s == 503),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn thirty_registrations_from_one_address_are_held_by_the_client_limit() {
    let app = spawn_app().await; // LIMIT_REGISTER's default: 10 an hour
    let mut refused = Vec::new();
    for i in 0..30 {
        let response = register(
            &app,
            &format!("pump{i}@example.com"),
            &format!("+1 201 555 01{i:02}"),
        )
        .await;
        if response.status() == 429 {
            refused.push(retry_after(&response));
        }
    }
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_messages")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(sent, 10);
    assert_eq!(refused.len(), 20);
    assert!(refused.iter().all(Option::is_some), "Retry-After on each");
}

#[tokio::test]
async fn the_hourly_budget_stops_sends_with_a_clear_message_and_an_audit_row() {
    // Registration codes: the budget of sends to people without a verified phone.
    let app = spawn_app_with(&[("CODE_SEND_UNVERIFIED_HOURLY", "3")]).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let response = register(
            &app,
            &format!("budget{i}@example.com"),
            &format!("+1 201 555 02{i:02}"),
        )
        .await;
        statuses.push(response.status().as_u16());
        if i == 3 {
            let body = response.text().await.expect("body");
            assert!(body.contains("SendingPaused"), "{body}");
        }
    }
    assert!(
        statuses[..3].iter().all(|s| *s == 302 || *s == 200),
        "{statuses:?}"
    );
    assert_eq!(statuses[3], 429);
    assert_eq!(audit_count(&app, "verification_sent", "refused").await, 1);
    assert_eq!(messages_to(&app, "+12015550203").await, 0);
}

#[tokio::test]
async fn unverified_accounts_expire_after_a_day_and_free_email_and_phone() {
    let app = spawn_app().await;
    let first = register(&app, "late@example.com", "+1 201 555 0303").await;
    assert!(session_cookie(&first).is_some());
    let again = register(&app, "late@example.com", "+1 201 555 0303").await;
    assert_eq!(again.status(), 400, "taken while the account lives");

    sqlx::query("UPDATE users SET created_at = created_at - 86401")
        .execute(&app.state.db)
        .await
        .expect("a day passes");
    payfriend::server::sweep(&app.state).await;

    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(users, 0);
    let fresh = register(&app, "late@example.com", "+1 201 555 0303").await;
    assert!(
        session_cookie(&fresh).is_some(),
        "email and phone are free again"
    );
}

// 7. Phone verification guesses.

#[tokio::test]
async fn five_wrong_verification_codes_end_that_code() {
    let app = spawn_app().await;
    let registered = register(&app, "guess@example.com", "+1 201 555 0404").await;
    let cookie = session_cookie(&registered).expect("session");
    let code = verification_code(&app, "+12015550404").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = |code: String| {
        app.client
            .post(app.url(VerifyPhone::PATH))
            .header("Cookie", &cookie)
            .form(&[("code", code)])
            .send()
    };
    for _ in 0..5 {
        let response = verify(wrong.to_string()).await.expect("request");
        assert_eq!(response.status(), 400);
    }
    let right_but_too_late = verify(code.clone()).await.expect("request");
    assert_eq!(right_but_too_late.status(), 400);
    assert!(right_but_too_late
        .text()
        .await
        .expect("body")
        .contains("Send a new code"));

    let resent = app
        .client
        .post(app.url(ResendCode::PATH))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(resent.status(), 200);
    let new_code = verification_code(&app, "+12015550404").await;
    let verified = verify(new_code).await.expect("request");
    assert!(verified.status().is_redirection() || verified.status().is_success());
    let at: Option<i64> = sqlx::query_scalar("SELECT phone_verified_at FROM users")
        .fetch_one(&app.state.db)
        .await
        .expect("user");
    assert!(at.is_some());
}

// 8. The sandbox and the Host header.

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

// 9. Smaller things.

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
async fn a_payee_with_bidi_overrides_is_a_field_error() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let response = app
        .client
        .post(app.url(SendPayment::PATH))
        .header("Cookie", &cookie)
        .form(&[
            ("payee", "Neville\u{202E}gnol"),
            ("amount", "20"),
            ("idempotency_key", &uuid::Uuid::new_v4().to_string()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("body").contains("payee"));
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE user_id = $1")
        .bind(&user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(payments, 0);
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

#[tokio::test]
async fn the_domain_takes_the_caller_as_an_argument_and_audits_its_address() {
    use payfriend::server::{
        domain::accounts,
        domain::sessions::{Caller, CookieJar},
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
