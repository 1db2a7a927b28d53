//! Seeding the database directly: verified users, push devices, pending and expired payments.

use crate::shared::clock;

use crate::model::{Email, Payee, PaymentId, UserId};
use crate::server::{config::ProviderKind, db, domain::passwords, providers::Phone, AppState};

use super::*;

/// Creates a verified user directly in the database; returns (user id, email).
pub async fn verified_user(app: &TestApp, password: &str) -> (UserId, String) {
    let id = UserId::random();
    let email = Email::parse(&format!("{id}@example.com")).expect("an address");
    // Exchange 200-999 and a line number: 8 million numbers, so that the dozens of users a
    // test makes do not share one (10,000 did, now and then).
    let random = uuid::Uuid::new_v4().as_u128();
    let digits = format!("201{}{:04}", 200 + random % 800, (random >> 16) % 10_000);
    let e164 = format!("+1{digits}");
    let phone = Phone {
        e164: &e164,
        country_code: "1",
        national: &digits,
    };
    let provider = app.state.providers.for_new().expect("a provider");
    let authy_id = provider
        .register_user(email.as_str(), phone)
        .await
        .expect("provider user");
    let hash = passwords::hash_password(password.to_string())
        .await
        .expect("hash");
    db::users::insert(
        &app.state.db,
        &db::users::NewUser {
            id: &id,
            email: &email,
            password_hash: &hash,
            phone_e164: &e164,
            country_code: "1",
            national_number: &digits,
            verify_via: "sms",
            provider: provider.kind(),
            verification_sid: None,
        },
        clock::now(),
    )
    .await
    .expect("user");
    db::users::mark_verified(&app.state.db, &id, provider.kind(), authy_id, clock::now())
        .await
        .expect("verified");
    if provider.kind() == ProviderKind::Verify {
        // As every Authy sandbox user has the Authy app, this one adds its phone for push.
        add_push_device(app, &id, &e164).await;
    }
    (id, email.to_string())
}

/// Adds the sandbox phone `e164` as the user's Verify Push device, as the account page and
/// the phone app do it: an access token, the factor made and verified with it, and the
/// `factor.verified` event recorded by the app.
pub async fn add_push_device(app: &TestApp, user_id: &UserId, e164: &str) -> String {
    use crate::sandbox::service::verify_handset::{self, Pairing};
    let client = app.state.verify.as_ref().expect("Verify configured");
    let token = client
        .access_token(user_id.as_str(), "Test phone")
        .await
        .expect("an access token");
    let Pairing::Paired { factor_sid, event } = verify_handset::pair(app.sandbox(), e164, &token)
        .await
        .expect("paired")
    else {
        panic!("the token was refused");
    };
    assert_eq!(
        event, "event answered HTTP 200",
        "factor.verified delivered"
    );
    factor_sid
}

/// Stores a pending payment of `amount_cents` for `user_id` whose push request has the
/// provider id `approval_uuid`, without asking the provider; returns its id.
pub async fn insert_pending_payment(
    state: &AppState,
    user_id: &UserId,
    amount_cents: i64,
    approval_uuid: &str,
) -> PaymentId {
    let id = PaymentId::random();
    let now = clock::now();
    db::payments::insert_once(
        &state.db,
        &db::payments::NewPayment {
            id: &id,
            user_id,
            idempotency_key: &uuid::Uuid::new_v4().to_string(),
            payee: &Payee::parse("Neville").expect("a payee"),
            amount_cents,
            currency: crate::model::Currency::parse("USD").expect("USD"),
            expires_at: now + 300,
        },
        now,
    )
    .await
    .expect("payment");
    db::payments::set_approval_uuid(&state.db, &id, approval_uuid)
        .await
        .expect("store uuid");
    id
}

/// Moves a payment's expiry to `seconds_ago` seconds in the past (it reads as expired).
pub async fn expire_payment(app: &TestApp, id: &str, seconds_ago: i64) {
    sqlx::query("UPDATE payments SET expires_at = $1 WHERE id = $2")
        .bind(clock::now() - seconds_ago)
        .bind(id)
        .execute(&app.state.db)
        .await
        .expect("move the expiry");
}

pub async fn payment_statuses(app: &TestApp, user_id: &crate::model::UserId) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM payments WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&app.state.db)
        .await
        .expect("statuses")
}
