//! Creating a payment and sending its push approval request.

use crate::server::clock;
use std::{collections::BTreeMap, net::IpAddr};

use super::status_after;
use crate::{
    error::AppError,
    model::{AuditKind, Money, Payee, PaymentEvent, PaymentId},
    server::{
        audit,
        db::{self, users::UserRow},
        internal,
        provider::{Logo, NewApprovalRequest},
        provider_error, AppState,
    },
};

/// Creates a payment and sends the push approval request. A repeated idempotency key
/// returns the payment already created for it; a provider failure fails the payment.
pub async fn create(
    state: &AppState,
    user: &UserRow,
    payee: &str,
    amount: &str,
    idempotency_key: &str,
    client_ip: Option<IpAddr>,
) -> Result<PaymentId, AppError> {
    let config = &state.config;
    let payee = Payee::parse(payee).map_err(|e| AppError::field("payee", e.to_string()))?;
    let amount = Money::parse(amount, &config.currency)
        .map_err(|e| AppError::field("amount", e.to_string()))?;
    let key = uuid::Uuid::parse_str(idempotency_key.trim())
        .map_err(|_| {
            AppError::field(
                "payee",
                "The form has expired. Reload the page and try again.",
            )
        })?
        .to_string();
    let authy_id = user.authy_id.ok_or(AppError::PhoneNotVerified)?;

    let now = clock::now();
    let new_id = PaymentId::random();
    let (id, created) = db::payments::insert_once(
        &state.db,
        &db::payments::NewPayment {
            id: &new_id,
            user_id: &user.id,
            idempotency_key: &key,
            payee: &payee,
            amount_cents: amount.minor_units,
            currency: &amount.currency,
            expires_at: now + config.approval_seconds_to_expire as i64,
        },
        now,
    )
    .await
    .map_err(|e| internal("insert payment", e))?;
    if !created {
        // A retry of a request already made: same payment, no second push.
        return Ok(id);
    }
    audit::log(
        state,
        client_ip,
        Some(&user.id),
        Some(&id),
        AuditKind::PaymentCreated,
        "ok",
        format!("{amount} to {payee}"),
    )
    .await;

    let request = approval_request(
        state,
        user,
        &payee,
        &amount,
        client_ip,
        config.approval_seconds_to_expire,
    );
    match state
        .provider
        .create_approval_request(authy_id, &request)
        .await
    {
        Ok(uuid) => {
            db::payments::set_approval_uuid(&state.db, &id, &uuid)
                .await
                .map_err(|e| internal("store approval uuid", e))?;
            audit::log(
                state,
                client_ip,
                Some(&user.id),
                Some(&id),
                AuditKind::PushSent,
                "ok",
                "",
            )
            .await;
            Ok(id)
        }
        Err(e) => {
            let reason = format!("The approval request could not be sent to your phone ({e}).");
            db::payments::fail(
                &state.db,
                &id,
                status_after(PaymentEvent::Fail),
                &reason,
                clock::now(),
            )
            .await
            .map_err(|e| internal("fail payment", e))?;
            audit::log(
                state,
                client_ip,
                Some(&user.id),
                Some(&id),
                AuditKind::PushSent,
                "failed",
                reason,
            )
            .await;
            Err(provider_error("create approval request", e))
        }
    }
}

/// The push approval request for a payment: payee and amount shown on the phone, valid
/// for `seconds_to_expire`.
pub(super) fn approval_request(
    state: &AppState,
    user: &UserRow,
    payee: &Payee,
    amount: &Money,
    client_ip: Option<IpAddr>,
    seconds_to_expire: u64,
) -> NewApprovalRequest {
    let config = &state.config;
    NewApprovalRequest {
        message: format!("Please authorize payment to {payee}"),
        details: BTreeMap::from([
            ("Sending to".to_string(), payee.to_string()),
            ("Transaction amount".to_string(), amount.to_string()),
        ]),
        hidden_details: BTreeMap::from([
            (
                "user_ip_address".to_string(),
                client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            ),
            ("requester_user_id".to_string(), user.id.to_string()),
        ]),
        logos: vec![Logo {
            res: "default".to_string(),
            url: config
                .public_url
                .join("logo.svg")
                .map(|u| u.to_string())
                .unwrap_or_default(),
        }],
        seconds_to_expire,
    }
}
