//! Cancelling a payment: the owner's decision, made once like the others, audited, and
//! final against a late answer from the phone. What the status poll tells the page: the
//! expiry, the server's clock, when it was decided, the code tries left.
use crate::support::*;
use leptos::server_fn::ServerFn;
use payfriend::api::payments::{CancelPayment, GetPayment};
use payfriend::model::{DecidedVia, PaymentId, PaymentStatus, PaymentView, MAX_SMS_ATTEMPTS};
use payfriend::testing::clock;

async fn cancel(app: &TestApp, cookie: &str, id: &PaymentId) -> reqwest::Response {
    app.client
        .post(app.url(CancelPayment::PATH))
        .header("Cookie", cookie)
        .form(&[("id", id.as_str())])
        .send()
        .await
        .expect("request")
}

async fn view(app: &TestApp, cookie: &str, id: &PaymentId) -> PaymentView {
    let response = app
        .client
        .post(app.url(GetPayment::PATH))
        .header("Cookie", cookie)
        .form(&[("id", id.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("a payment view")
}

#[tokio::test]
async fn the_owner_cancels_a_waiting_payment_and_a_late_approval_is_refused() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let cookie = log_in(&app, &p.email, PASSWORD).await;

    let response = cancel(&app, &cookie, &p.payment_id).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        status_of(&app, &p.payment_id).await,
        ("cancelled".into(), Some("owner".into()))
    );
    assert_eq!(
        audit_rows(&app, &p.payment_id, "decision").await,
        vec![("cancelled".to_string(), "by owner".to_string())]
    );
    let late = phone_answers(&app, &p, "approved", &clock::now().to_string()).await;
    assert_eq!(late.status(), 409);
    assert_eq!(status_of(&app, &p.payment_id).await.0, "cancelled");
    let seen = view(&app, &cookie, &p.payment_id).await;
    assert_eq!(seen.status, PaymentStatus::Cancelled);
    assert_eq!(seen.decided_via, Some(DecidedVia::Owner));
    assert!(seen.decided_at.is_some());
}

#[tokio::test]
async fn a_decided_payment_cannot_be_cancelled() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let cookie = log_in(&app, &p.email, PASSWORD).await;
    let approved = phone_answers(&app, &p, "approved", &clock::now().to_string()).await;
    assert_eq!(approved.status(), 200);

    let response = cancel(&app, &cookie, &p.payment_id).await;

    assert_eq!(response.status(), 409);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("AlreadyDecided"));
    assert_eq!(status_of(&app, &p.payment_id).await.0, "approved");
    assert_eq!(audit_rows(&app, &p.payment_id, "decision").await.len(), 1);
}

#[tokio::test]
async fn nobody_else_can_cancel_a_payment() {
    let app = spawn_app().await;
    let mine = pending_payment(&app).await;
    let theirs = pending_payment(&app).await;
    let cookie = log_in(&app, &mine.email, PASSWORD).await;

    let response = cancel(&app, &cookie, &theirs.payment_id).await;

    assert_eq!(response.status(), 404);
    assert_eq!(status_of(&app, &theirs.payment_id).await.0, "pending");
    let anonymous = app
        .client
        .post(app.url(CancelPayment::PATH))
        .form(&[("id", theirs.payment_id.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(status_of(&app, &theirs.payment_id).await.0, "pending");
}

// Cancel and the phone's approval race: one of them decides, the other is told it lost,
// and there is one decision row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_racing_approvals_ends_in_one_decision() {
    // Twelve cancels from one address: more than the payment-answer bucket's default.
    let app = std::sync::Arc::new(spawn_app_with(&[("LIMIT_PAYMENT_CODE", "100/60")]).await);
    let p = pending_payment(&app).await;
    let cookie = log_in(&app, &p.email, PASSWORD).await;
    let now = clock::now();

    let mut cancels = Vec::new();
    let mut approvals = Vec::new();
    for i in 0..12 {
        let (app_c, cookie, id) = (app.clone(), cookie.clone(), p.payment_id.clone());
        cancels.push(tokio::spawn(async move {
            cancel(&app_c, &cookie, &id).await.status().as_u16()
        }));
        let (app_a, p) = (app.clone(), p.clone());
        approvals.push(tokio::spawn(async move {
            let nonce = format!("{now}.{i:03}");
            phone_answers(&app_a, &p, "approved", &nonce)
                .await
                .status()
                .as_u16()
        }));
    }
    let mut cancel_codes = Vec::new();
    for t in cancels {
        cancel_codes.push(t.await.expect("task"));
    }
    let mut approval_codes = Vec::new();
    for t in approvals {
        approval_codes.push(t.await.expect("task"));
    }

    let (status, _) = status_of(&app, &p.payment_id).await;
    let (won, lost) = match status.as_str() {
        "cancelled" => (&cancel_codes, &approval_codes),
        "approved" => (&approval_codes, &cancel_codes),
        other => panic!("decided as {other}"),
    };
    assert!(won.iter().all(|&c| c == 200), "winners {won:?}");
    assert!(lost.iter().all(|&c| c == 409), "losers {lost:?}");
    assert_eq!(audit_rows(&app, &p.payment_id, "decision").await.len(), 1);
}

#[tokio::test]
async fn the_status_poll_carries_the_expiry_and_the_server_clock() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let cookie = log_in(&app, &p.email, PASSWORD).await;
    let before = clock::now();

    let seen = view(&app, &cookie, &p.payment_id).await;

    let after = clock::now();
    assert!((before..=after).contains(&seen.server_time));
    assert_eq!(seen.expires_at - seen.created_at, 300);
    assert!((296..=300).contains(&seen.seconds_left(seen.server_time)));
    assert_eq!(seen.decided_at, None);
    assert_eq!(seen.sms_tries_left, MAX_SMS_ATTEMPTS);
    assert_eq!(seen.amount_typed, "20.00");

    // Past its expiry it reads as expired, decided at its expiry.
    expire_payment(&app, p.payment_id.as_str(), 5).await;
    let expired = view(&app, &cookie, &p.payment_id).await;
    assert_eq!(expired.status, PaymentStatus::Expired);
    assert_eq!(expired.decided_at, Some(expired.expires_at));
    assert_eq!(expired.seconds_left(expired.server_time), 0);
}

// Cancelling can reach the provider (Verify: the SMS code is withdrawn), so it spends the
// payment-answer bucket like the other answers to a payment.
#[tokio::test]
async fn cancels_from_one_address_are_limited_with_the_payment_answers() {
    let app = spawn_app_with(&[("LIMIT_PAYMENT_CODE", "1/3600")]).await;
    let p = pending_payment(&app).await;
    let cookie = log_in(&app, &p.email, PASSWORD).await;

    let first = cancel(&app, &cookie, &p.payment_id).await;
    assert_eq!(first.status(), 200);
    let second = cancel(&app, &cookie, &p.payment_id).await;
    assert_eq!(second.status(), 429);
    assert!(second.headers().get("retry-after").is_some());
}
