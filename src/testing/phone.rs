//! What the sandbox phone received: codes, push requests, and the person's answers on it.

use crate::model::{PaymentId, UserId};
use crate::sandbox::service::store;
use crate::server::config::ProviderKind;

use super::*;

/// Messages the sandbox sent to `phone_e164`.
pub async fn messages_to(app: &TestApp, phone_e164: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_messages WHERE phone_e164 = $1")
        .bind(phone_e164)
        .fetch_one(&app.state.db)
        .await
        .expect("count")
}

/// The phone verification code the sandbox holds for `phone_e164` now (on the app's
/// provider's wire).
pub async fn verification_code(app: &TestApp, phone_e164: &str) -> String {
    match app.provider() {
        ProviderKind::Authy => {
            store::verification(&app.state.db, phone_e164)
                .await
                .expect("read")
                .expect("a pending verification")
                .0
        }
        ProviderKind::Verify => sqlx::query_scalar(
            "SELECT code FROM sandbox_verify_verifications WHERE to_e164 = $1 \
             AND status = 'pending' ORDER BY created_at DESC LIMIT 1",
        )
        .bind(phone_e164)
        .fetch_optional(&app.state.db)
        .await
        .expect("read")
        .expect("a pending verification"),
    }
}

/// The SMS codes the sandbox issued for a payment, oldest first: Authy's tokens name it in
/// their action; Verify's verification is stored with the payment (and sends one code
/// again while it is pending).
pub async fn payment_codes(app: &TestApp, payment_id: &str) -> Vec<String> {
    match app.provider() {
        ProviderKind::Authy => sqlx::query_scalar(
            "SELECT code FROM sandbox_tokens WHERE action LIKE $1 ORDER BY created_at",
        )
        .bind(format!(
            "{}%",
            crate::server::domain::payments::sms_action_of(
                &PaymentId::parse(payment_id).expect("a payment id")
            )
        ))
        .fetch_all(&app.state.db)
        .await
        .expect("tokens"),
        ProviderKind::Verify => {
            let sent: Vec<(String, i64)> = sqlx::query_as(
                "SELECT v.code, v.sends FROM sandbox_verify_verifications v \
                 JOIN payments p ON p.verification_sid = v.sid WHERE p.id = $1",
            )
            .bind(payment_id)
            .fetch_all(&app.state.db)
            .await
            .expect("verifications");
            // One entry per SMS: Verify sends a pending verification's code again.
            sent.into_iter()
                .flat_map(|(code, sends)| {
                    std::iter::repeat_n(code, usize::try_from(sends).unwrap_or(0))
                })
                .collect()
        }
    }
}

/// Another code of the same length: `code` with its first digit changed.
pub fn wrong_code(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

/// The person presses Approve (`true`) or Deny on the sandbox phone for this push request
/// (an Authy approval request or a Verify challenge); what the sandbox says happened.
pub async fn answer_on_phone(app: &TestApp, request_id: &str, approve: bool) -> String {
    use crate::sandbox::service::{handset, verify_handset};
    match app.provider() {
        ProviderKind::Authy => format!(
            "{:?}",
            handset::decide(app.sandbox(), request_id, approve)
                .await
                .expect("answer on the phone")
        ),
        ProviderKind::Verify => format!(
            "{:?}",
            verify_handset::answer(app.sandbox(), request_id, approve)
                .await
                .expect("answer on the phone")
        ),
    }
}

/// Push requests the sandbox received for this user (Authy approval requests, or Verify
/// challenges).
pub async fn pushes_to(app: &TestApp, user_id: &UserId) -> i64 {
    let sql = match app.provider() {
        ProviderKind::Authy => {
            "SELECT COUNT(*) FROM sandbox_approvals a JOIN users u ON u.authy_id = a.authy_id \
             WHERE u.id = $1"
        }
        ProviderKind::Verify => {
            "SELECT COUNT(*) FROM sandbox_verify_challenges WHERE identity = $1"
        }
    };
    sqlx::query_scalar(sql)
        .bind(user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("count")
}

/// The newest code sent to confirm the phone before a change of the account (adding a
/// passkey, whose Authy action starts with `action_prefix`, or a push device).
pub async fn step_up_code(app: &TestApp, user_id: &UserId, action_prefix: &str) -> String {
    match app.provider() {
        ProviderKind::Authy => sqlx::query_scalar(
            "SELECT code FROM sandbox_tokens WHERE action = $1 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(format!("{action_prefix}:{user_id}"))
        .fetch_one(&app.state.db)
        .await
        .expect("a step-up code"),
        ProviderKind::Verify => sqlx::query_scalar(
            "SELECT v.code FROM sandbox_verify_verifications v \
             JOIN users u ON u.verification_sid = v.sid WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("a step-up code"),
    }
}

/// The provider's id of a payment's current push request.
pub async fn approval_uuid_of(app: &TestApp, payment_id: &str) -> String {
    sqlx::query_scalar("SELECT approval_uuid FROM payments WHERE id = $1")
        .bind(payment_id)
        .fetch_one(&app.state.db)
        .await
        .expect("a push request")
}
