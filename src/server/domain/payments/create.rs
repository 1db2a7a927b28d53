//! Creating a payment and sending its push approval request.

use crate::error::FormField;
use crate::model::AuditOutcome;
use crate::server::OrInternal;
use crate::shared::clock;
use std::{collections::BTreeMap, net::IpAddr};

use super::status_after;
use crate::{
    error::AppError,
    model::{AuditKind, Money, Payee, PaymentEvent, PaymentId},
    server::{
        config::ProviderKind,
        db::{self, payments::NewPaymentOutcome},
        domain::audit,
        domain::sessions::Caller,
        entities::User,
        provider_error,
        providers::{Logo, NewApprovalRequest, Person},
        AppState,
    },
};

/// Creates a payment and sends the push approval request. A repeated idempotency key
/// returns the payment already created for it; a provider failure fails the payment.
///
/// Against push bombing (a stolen password buying prompts until one is approved by
/// mistake): at most `MAX_PENDING_PAYMENTS` waiting at once and `PUSH_HOURLY_PER_USER`
/// push requests an hour per user, and after a denial on the phone a fresh sign-in
/// (`signed_in_at`: when the caller's session signed in).
pub async fn create(
    state: &AppState,
    caller: &Caller,
    user: &User,
    signed_in_at: i64,
    payee: &str,
    amount: &str,
    idempotency_key: &str,
) -> Result<PaymentId, AppError> {
    let client_ip = caller.client;
    let config = &state.config;
    let payee =
        Payee::parse(payee).map_err(|e| AppError::field(FormField::Payee, e.to_string()))?;
    let amount = Money::parse(amount, config.currency)
        .map_err(|e| AppError::field(FormField::Amount, e.to_string()))?;
    let key = uuid::Uuid::parse_str(idempotency_key.trim())
        .map_err(|_| {
            AppError::field(
                FormField::Payee,
                "The form has expired. Reload the page and try again.",
            )
        })?
        .to_string();
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    let provider = state.providers.for_user(user)?;

    if db::payments::denied_after(&state.db, &user.id, signed_in_at)
        .await
        .or_internal("look for denials")?
    {
        return Err(AppError::SignInAgain);
    }

    let now = clock::now();
    let new_id = PaymentId::random();
    let outcome = db::payments::insert_within_limits(
        &state.db,
        &db::payments::NewPayment {
            id: &new_id,
            user_id: &user.id,
            idempotency_key: &key,
            payee: &payee,
            amount_cents: amount.minor_units,
            currency: amount.currency,
            expires_at: now + config.approval_seconds_to_expire as i64,
        },
        push_limits(state, now),
        now,
    )
    .await
    .or_internal("insert payment")?;
    let id = match outcome {
        NewPaymentOutcome::Created(id) => id,
        // A retry of a request already made: same payment, no second push.
        NewPaymentOutcome::Existing(id) => return Ok(id),
        NewPaymentOutcome::TooManyPending => {
            return Err(AppError::TooManyPending {
                max: u32::try_from(config.max_pending_payments).unwrap_or(u32::MAX),
            })
        }
        NewPaymentOutcome::PushBudgetSpent { oldest } => {
            return Err(push_budget_spent(oldest, now));
        }
    };
    audit::log(
        state,
        client_ip,
        Some(&user.id),
        Some(&id),
        AuditKind::PaymentCreated,
        AuditOutcome::Ok,
        format!("{amount} to {payee}"),
    )
    .await;

    let request = approval_request(
        state,
        user,
        &id,
        &payee,
        &amount,
        client_ip,
        config.approval_seconds_to_expire,
    );
    match provider
        .create_approval_request(Person::of(user), &request)
        .await
    {
        // No phone takes push requests (a Verify account without a push factor): the
        // passkey and the SMS code remain.
        Ok(None) => Ok(id),
        Ok(Some(uuid)) => {
            db::payments::set_approval_uuid(&state.db, &id, &uuid)
                .await
                .or_internal("store approval uuid")?;
            audit::log(
                state,
                client_ip,
                Some(&user.id),
                Some(&id),
                AuditKind::PushSent,
                AuditOutcome::Ok,
                "",
            )
            .await;
            Ok(id)
        }
        Err(e) => {
            // The person reads a sentence; the provider's own words stay in the log and in
            // the audit row.
            db::payments::fail(
                &state.db,
                &id,
                status_after(PaymentEvent::Fail),
                PUSH_FAILED,
                clock::now(),
            )
            .await
            .or_internal("fail payment")?;
            audit::log(
                state,
                client_ip,
                Some(&user.id),
                Some(&id),
                AuditKind::PushSent,
                AuditOutcome::Failed,
                e.to_string(),
            )
            .await;
            Err(provider_error("create approval request", e))
        }
    }
}

/// Why a payment whose push request the provider did not take failed, as its owner reads
/// it.
pub const PUSH_FAILED: &str =
    "The approval request could not be sent to your phone. Please try again in a minute.";

/// The per-user push limits as configured, for a request at `now`.
pub(super) fn push_limits(state: &AppState, now: i64) -> db::payments::PushLimits {
    db::payments::PushLimits {
        max_pending: i64::try_from(state.config.max_pending_payments).unwrap_or(i64::MAX),
        hourly: i64::try_from(state.config.push_hourly_per_user).unwrap_or(i64::MAX),
        hour_start: now - PUSH_WINDOW_SECS,
    }
}

/// The window of `PUSH_HOURLY_PER_USER`.
pub const PUSH_WINDOW_SECS: i64 = 3600;

/// The refusal when the hour's push requests are spent: the wait until the oldest leaves
/// the window.
pub(super) fn push_budget_spent(oldest: i64, now: i64) -> AppError {
    AppError::PushBudgetSpent {
        retry_after_secs: u64::try_from(oldest + PUSH_WINDOW_SECS - now)
            .unwrap_or(1)
            .max(1),
    }
}

/// The push approval request for a payment: payee and amount shown on the phone (with
/// the labels each provider's app shows), the payment's id hidden in it, valid for
/// `seconds_to_expire`.
pub(super) fn approval_request(
    state: &AppState,
    user: &User,
    payment: &PaymentId,
    payee: &Payee,
    amount: &Money,
    client_ip: Option<IpAddr>,
    seconds_to_expire: u64,
) -> NewApprovalRequest {
    let config = &state.config;
    let details = match user.provider_kind() {
        ProviderKind::Authy => BTreeMap::from([
            ("Sending to".to_string(), payee.to_string()),
            ("Transaction amount".to_string(), amount.to_string()),
        ]),
        ProviderKind::Verify => BTreeMap::from([
            ("Payee".to_string(), payee.to_string()),
            ("Amount".to_string(), amount.to_string()),
            ("Reference".to_string(), payment.to_string()),
        ]),
    };
    NewApprovalRequest {
        message: format!("Please authorize payment to {payee}"),
        details,
        hidden_details: BTreeMap::from([
            (
                "user_ip_address".to_string(),
                client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            ),
            ("requester_user_id".to_string(), user.id.to_string()),
            ("payment_id".to_string(), payment.to_string()),
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
