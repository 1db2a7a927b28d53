//! Per-client-address limits (429 with Retry-After), forwarded addresses from trusted proxies only, and forged callbacks counted rather than written one by one.

use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::{LogIn, ResendCode, VerifyPhone},
    payments::SendPayment,
};
use payfriend::testing::clock;
use payfriend::testing::domain::webhook;

use crate::support::*;

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
