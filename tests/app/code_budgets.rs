//! Codes cost money: anonymous registrations have a budget of their own, so they cannot use
//! up the one verified people's payment codes draw from, and numbers that cannot receive a
//! code (premium-rate, shared-cost, landlines by SMS, countries not served) are refused.
use crate::support::{
    log_in, register, register_with, send_payment_id, spawn_app_with, verified_user, TestApp,
};
use leptos::server_fn::ServerFn;
use payfriend::api::payments::SendPaymentSms;

/// A registration that went through: 200 (or a redirect, for a plain form post).
fn sent_ok(response: &reqwest::Response) -> bool {
    response.status().is_success() || response.status().is_redirection()
}

async fn register_as(app: &TestApp, country: &str, phone: &str, via: &str) -> reqwest::Response {
    let email = format!("{}@example.com", uuid::Uuid::new_v4());
    register_with(app, &email, country, phone, via).await
}

#[tokio::test]
async fn strangers_registering_cannot_use_up_the_budget_of_payment_codes() {
    let app = spawn_app_with(&[
        ("CODE_SEND_GLOBAL_HOURLY", "3"),
        ("CODE_SEND_UNVERIFIED_HOURLY", "3"),
        ("LIMIT_REGISTER", "1000/60"),
        ("LIMIT_PAYMENT_CODE", "1000/60"),
    ])
    .await;
    // Registrations from strangers use up their budget...
    for n in 0..3 {
        let phone = format!("+1201555{:04}", 100 + n);
        let registered = register(&app, &format!("stranger{n}@example.com"), &phone).await;
        assert!(sent_ok(&registered), "{}", registered.status());
    }
    let refused = register(&app, "stranger9@example.com", "+12015550199").await;
    assert_eq!(refused.status(), 429);
    assert!(refused
        .text()
        .await
        .expect("body")
        .contains("SendingPaused"));

    // ...and a verified person's payment code still goes out.
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let id = send_payment_id(&app, &cookie).await;
    let code = app
        .client
        .post(app.url(SendPaymentSms::PATH))
        .header("Cookie", &cookie)
        .form(&[("id", id.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(code.status(), 200, "{:?}", code.text().await);
}

#[tokio::test]
async fn a_voice_call_weighs_two_codes_in_the_budget() {
    let app = spawn_app_with(&[
        ("CODE_SEND_UNVERIFIED_HOURLY", "3"),
        ("LIMIT_REGISTER", "1000/60"),
    ])
    .await;
    let called = register_as(&app, "US", "+12015550111", "call").await;
    assert!(sent_ok(&called), "{}", called.status());
    // Two of three used: another call does not fit, an SMS does.
    let second_call = register_as(&app, "US", "+12015550112", "call").await;
    assert_eq!(second_call.status(), 429);
    let sms = register_as(&app, "US", "+12015550113", "sms").await;
    assert!(sent_ok(&sms), "{}", sms.status());
}

#[tokio::test]
async fn numbers_that_cannot_receive_a_code_are_refused_at_registration() {
    let app = spawn_app_with(&[("LIMIT_REGISTER", "1000/60"), ("SMS_COUNTRIES", "US, CA")]).await;
    for (country, phone, via, says) in [
        ("US", "+1 900 234 5678", "sms", "premium-rate"),
        ("US", "+1 900 234 5678", "call", "premium-rate"),
        ("GB", "0845 464 0000", "sms", "country"),
        ("US", "+44 7911 123456", "sms", "country"),
    ] {
        let refused = register_as(&app, country, phone, via).await;
        assert_eq!(refused.status(), 400, "{phone}");
        let body = refused.text().await.expect("body");
        assert!(
            body.contains("\"phone\"") && body.contains(says),
            "{phone}: {body}"
        );
    }
    let sends: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM code_sends")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(sends, 0, "no code was sent for any of them");

    let everywhere = spawn_app_with(&[("LIMIT_REGISTER", "1000/60")]).await;
    let landline_sms = register_as(&everywhere, "DE", "030 12345678", "sms").await;
    assert_eq!(landline_sms.status(), 400);
    assert!(landline_sms
        .text()
        .await
        .expect("body")
        .contains("landline"));
    let landline_call = register_as(&everywhere, "DE", "030 12345678", "call").await;
    assert!(sent_ok(&landline_call), "{}", landline_call.status());
}

#[tokio::test]
async fn registering_an_existing_email_counts_toward_the_per_client_limit() {
    // "Does this email have an account?" cannot be asked at volume: each answer, the
    // existing-email one included, takes a token from the address's registration bucket.
    let app = spawn_app_with(&[("LIMIT_REGISTER", "3/3600")]).await;
    let (_, email) = crate::support::verified_user(&app, "a password").await;
    for _ in 0..3 {
        let taken = register(&app, &email, "+12015550142").await;
        assert_eq!(taken.status(), 400);
        assert!(taken.text().await.expect("body").contains("already exists"));
    }
    let limited = register(&app, &email, "+12015550142").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}
