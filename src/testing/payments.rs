//! A pending payment whose push request went to the sandbox, and the phone's answer to it.

use crate::model::{PaymentId, UserId};
use crate::server::{
    config::ProviderKind,
    providers::{Logo, NewApprovalRequest},
};
use crate::shared::clock;
use serde_json::json;

use super::*;

/// A verified user (password [`PASSWORD`]) with one pending payment whose push request
/// went to the sandbox.
#[derive(Clone)]
pub struct Pending {
    pub payment_id: PaymentId,
    pub approval_uuid: String,
    /// Authy's id of the user (0 with Verify, which has none).
    pub authy_id: i64,
    pub email: String,
    pub user_id: UserId,
}

/// The password of the user [`pending_payment`] makes.
pub const PASSWORD: &str = "a password";

pub async fn pending_payment(app: &TestApp) -> Pending {
    let (user_id, email) = verified_user(app, PASSWORD).await;
    let request = |payment: &PaymentId| NewApprovalRequest {
        message: "Please authorize payment to Neville".into(),
        details: [("Payee".to_string(), "Neville".to_string())].into(),
        hidden_details: [("payment_id".to_string(), payment.to_string())].into(),
        logos: vec![Logo {
            res: "default".into(),
            url: "http://127.0.0.1/logo.svg".into(),
        }],
        seconds_to_expire: 300,
    };
    match app.provider() {
        ProviderKind::Authy => {
            let authy = app.authy_client();
            let authy_id: i64 = sqlx::query_scalar("SELECT authy_id FROM users WHERE id = $1")
                .bind(&user_id)
                .fetch_one(&app.state.db)
                .await
                .expect("authy id");
            let approval_uuid = authy
                .create_approval_request(
                    crate::server::providers::authy::AuthyId(authy_id),
                    &request(&PaymentId::random()),
                )
                .await
                .expect("approval request");
            let payment_id =
                insert_pending_payment(&app.state, &user_id, 2000, &approval_uuid).await;
            Pending {
                payment_id,
                approval_uuid,
                authy_id,
                email,
                user_id,
            }
        }
        ProviderKind::Verify => {
            let payment_id = insert_pending_payment(&app.state, &user_id, 2000, "none yet").await;
            let factor: crate::shared::sid::FactorSid =
                sqlx::query_scalar("SELECT push_factor_sid FROM users WHERE id = $1")
                    .bind(&user_id)
                    .fetch_one(&app.state.db)
                    .await
                    .expect("a push factor");
            let verify = app.state.verify.as_ref().expect("Verify configured");
            let approval_uuid = verify
                .create_challenge(
                    user_id.as_str(),
                    &factor,
                    &request(&payment_id),
                    clock::now() + 300,
                )
                .await
                .expect("a challenge")
                .to_string();
            crate::server::db::payments::set_approval_uuid(
                &app.state.db,
                &payment_id,
                &approval_uuid,
            )
            .await
            .expect("store the challenge");
            Pending {
                payment_id,
                approval_uuid,
                authy_id: 0,
                email,
                user_id,
            }
        }
    }
}

/// The phone's answer to the payment's push request (`approved` or `denied`), as the app
/// receives it: Authy's signed callback (with `nonce`), or Verify's challenge answered and
/// its signed event (with `nonce` as its idempotency token). The app's answer.
pub async fn phone_answers(
    app: &TestApp,
    p: &Pending,
    status: &str,
    nonce: &str,
) -> reqwest::Response {
    match app.provider() {
        ProviderKind::Authy => app.send_signed_callback(&body(p, status), nonce).await,
        ProviderKind::Verify => {
            // The first answer at Twilio stands; each event makes the app look.
            let _ = crate::sandbox::service::verify_store::respond(
                &app.state.db,
                &p.approval_uuid,
                status,
                clock::now(),
            )
            .await
            .expect("answer the challenge");
            let kind = format!("challenge.{status}");
            let settings = app.state.config.verify.as_ref().expect("Verify configured");
            send_verify_event(
                app,
                &[
                    ("uuid", &uuid::Uuid::new_v4().to_string()),
                    ("type", &kind),
                    ("account_sid", settings.account_sid.as_str()),
                    ("service_sid", settings.service_sid.as_str()),
                    ("entity_identity", p.user_id.as_str()),
                    ("challenge_sid", &p.approval_uuid),
                ],
                nonce,
            )
            .await
        }
    }
}

/// The provider's callback answering the payment's push request with `status`.
pub fn body(p: &Pending, status: &str) -> String {
    json!({
        "authy_id": p.authy_id,
        "device_uuid": 1,
        "callback_action": "approval_request_status",
        "uuid": p.approval_uuid,
        "status": status,
        "approval_request": {"transaction": {"status": status, "details": {"Sending to": "Neville"}}},
        "signature": "device-signature",
    })
    .to_string()
}

pub async fn status_of(app: &TestApp, payment_id: &PaymentId) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, decided_via FROM payments WHERE id = $1")
        .bind(payment_id)
        .fetch_one(&app.state.db)
        .await
        .expect("payment row")
}
