//! The SMS code that stands in for the push approval: bound to one payment, usable once,
//! only while the payment waits, and sent within limits.
use crate::common::{
    expire_payment, log_in, payment_codes, send_payment_id, spawn_app, spawn_app_with,
    verified_user, TestApp,
};
use leptos::server_fn::ServerFn;
use payfriend::api::payments::{SendPaymentSms, VerifyPaymentSms};
use payfriend::sandbox::model::SandboxFault;

struct Payer {
    cookie: String,
}

async fn payer(app: &TestApp) -> Payer {
    let (_, email) = verified_user(app, "a password").await;
    let cookie = log_in(app, &email, "a password").await;
    Payer { cookie }
}

async fn new_payment(app: &TestApp, payer: &Payer) -> String {
    send_payment_id(app, &payer.cookie).await
}

async fn ask_for_code(app: &TestApp, payer: &Payer, id: &str) -> reqwest::Response {
    app.client
        .post(app.url(SendPaymentSms::PATH))
        .header("Cookie", &payer.cookie)
        .form(&[("id", id)])
        .send()
        .await
        .expect("request")
}

async fn enter_code(app: &TestApp, payer: &Payer, id: &str, code: &str) -> reqwest::Response {
    app.client
        .post(app.url(VerifyPaymentSms::PATH))
        .header("Cookie", &payer.cookie)
        .form(&[("id", id), ("code", code)])
        .send()
        .await
        .expect("request")
}

async fn status(app: &TestApp, id: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, decided_via FROM payments WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db)
        .await
        .expect("payment")
}

async fn only_code(app: &TestApp, id: &str) -> String {
    let codes = payment_codes(app, id).await;
    assert_eq!(codes.len(), 1, "one code for {id}");
    codes[0].clone()
}

#[tokio::test]
async fn the_code_approves_its_own_payment_once() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = new_payment(&app, &payer).await;
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
    let code = only_code(&app, &id).await;

    let first = enter_code(&app, &payer, &id, &code).await;
    let again = enter_code(&app, &payer, &id, &code).await;

    assert_eq!(first.status(), 200);
    assert_eq!(
        status(&app, &id).await,
        ("approved".into(), Some("sms".into()))
    );
    assert_eq!(
        again.status(),
        400,
        "the payment no longer waits for a code"
    );
    assert!(again
        .text()
        .await
        .expect("body")
        .contains("already approved"));
}

#[tokio::test]
async fn a_code_for_another_payment_does_not_approve_this_one() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let first = new_payment(&app, &payer).await;
    let second = new_payment(&app, &payer).await;
    ask_for_code(&app, &payer, &first).await;
    ask_for_code(&app, &payer, &second).await;
    let code_of_first = only_code(&app, &first).await;

    let crossed = enter_code(&app, &payer, &second, &code_of_first).await;

    assert_eq!(crossed.status(), 400);
    assert!(crossed.text().await.expect("body").contains("InvalidCode"));
    assert_eq!(status(&app, &second).await.0, "pending");
    assert_eq!(status(&app, &first).await.0, "pending");
}

#[tokio::test]
async fn no_code_works_after_the_payment_was_decided_or_expired() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let denied = new_payment(&app, &payer).await;
    let expired = new_payment(&app, &payer).await;
    for id in [&denied, &expired] {
        ask_for_code(&app, &payer, id).await;
    }
    let uuid: String = sqlx::query_scalar("SELECT approval_uuid FROM payments WHERE id = $1")
        .bind(&denied)
        .fetch_one(&app.state.db)
        .await
        .expect("uuid");
    payfriend::sandbox::service::handset::decide(app.sandbox(), &uuid, false)
        .await
        .expect("deny on the phone");
    expire_payment(&app, &expired, 1).await;

    let after_denial = enter_code(&app, &payer, &denied, &only_code(&app, &denied).await).await;
    let after_expiry = enter_code(&app, &payer, &expired, &only_code(&app, &expired).await).await;

    assert_eq!(after_denial.status(), 400);
    assert_eq!(status(&app, &denied).await.0, "denied");
    assert_eq!(after_expiry.status(), 410);
    assert_ne!(status(&app, &expired).await.0, "approved");
}

#[tokio::test]
async fn payment_codes_are_sent_within_the_per_user_limit() {
    let app = spawn_app_with(&[("CODE_SEND_LIMIT", "3"), ("LIMIT_PAYMENT_CODE", "100/60")]).await;
    let payer = payer(&app).await;
    let mut statuses = Vec::new();
    let mut codes = 0;
    for _ in 0..5 {
        let id = new_payment(&app, &payer).await;
        statuses.push(ask_for_code(&app, &payer, &id).await.status().as_u16());
        codes += payment_codes(&app, &id).await.len();
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    assert_eq!(codes, 3);
}

/// Moves the payment's last code back in time by `seconds`.
async fn code_sent_earlier(app: &TestApp, id: &str, seconds: i64) {
    sqlx::query("UPDATE payments SET sms_sent_at = sms_sent_at - $1 WHERE id = $2")
        .bind(seconds)
        .bind(id)
        .execute(&app.state.db)
        .await
        .expect("move the send time");
}

#[tokio::test]
async fn a_new_code_is_sent_only_after_the_cooldown_and_it_works() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = new_payment(&app, &payer).await;
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);

    let too_soon = ask_for_code(&app, &payer, &id).await;

    assert_eq!(too_soon.status(), 429);
    let wait: u64 = too_soon.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&wait), "{wait}");
    assert_eq!(payment_codes(&app, &id).await.len(), 1);

    code_sent_earlier(&app, &id, 31).await;
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
    let codes = payment_codes(&app, &id).await;
    assert_eq!(codes.len(), 2);
    assert_eq!(enter_code(&app, &payer, &id, &codes[1]).await.status(), 200);
    assert_eq!(status(&app, &id).await.0, "approved");
}

#[tokio::test]
async fn asking_for_a_code_many_times_at_once_sends_one() {
    let app = std::sync::Arc::new(spawn_app_with(&[("LIMIT_PAYMENT_CODE", "100/60")]).await);
    let payer = std::sync::Arc::new(payer(&app).await);
    let id = new_payment(&app, &payer).await;

    let asks: Vec<_> = (0..8)
        .map(|_| {
            let (app, payer, id) = (app.clone(), payer.clone(), id.clone());
            tokio::spawn(async move { ask_for_code(&app, &payer, &id).await.status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for ask in asks {
        statuses.push(ask.await.expect("task"));
    }

    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 429, 429, 429, 429, 429, 429, 429]);
    assert_eq!(payment_codes(&app, &id).await.len(), 1);
}

#[tokio::test]
async fn a_code_that_could_not_be_sent_can_be_asked_for_again_at_once() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = new_payment(&app, &payer).await;
    app.sandbox().fault.set(SandboxFault::Error503);
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 503);
    app.sandbox().fault.set(SandboxFault::None);

    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
    assert_eq!(payment_codes(&app, &id).await.len(), 1);
}
