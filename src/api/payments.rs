//! Payments: send, follow the status, SMS fallback, list.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{PaymentId, PaymentList, PaymentStatus, PaymentView, TimelineEntry};

/// Creates a payment and sends the push request, then goes to its waiting page.
/// `idempotency_key` comes from the form, so a double submit makes one payment.
#[server]
pub async fn send_payment(
    payee: String,
    amount: String,
    idempotency_key: String,
) -> Result<PaymentId, AppError> {
    use crate::server::{auth, client_limits::Action, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::SendPayment)?;
    let session = auth::require_verified_session(&state, &caller).await?;
    let id = payments::create(&state, &caller, &session, &payee, &amount, &idempotency_key).await?;
    leptos_axum::redirect(&format!("/payments/{id}"));
    Ok(id)
}

/// The current state of one of the caller's payments (read from our database only).
#[server]
pub async fn get_payment(id: String) -> Result<PaymentView, AppError> {
    use crate::server::{payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    // The page asks every 3 seconds on its own: not the person's activity.
    payments::poll(&state, &caller, &payments::parse_id(&id)?).await
}

/// Sends an SMS code bound to this payment.
#[server]
pub async fn send_payment_sms(id: String) -> Result<(), AppError> {
    use crate::server::{auth, client_limits::Action, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::PaymentCode)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    payments::send_sms(&state, &caller, &user, &payments::parse_id(&id)?).await
}

/// Checks the SMS code for this payment; a valid code approves it.
#[server]
pub async fn verify_payment_sms(id: String, code: String) -> Result<PaymentStatus, AppError> {
    use crate::server::{auth, client_limits::Action, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::PaymentCode)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    payments::verify_sms(&state, &caller, &user, &payments::parse_id(&id)?, &code).await
}

/// Sends the push request for one of the caller's payments to their phone again; returns
/// how many more times it can be sent.
#[server]
pub async fn resend_push(id: String) -> Result<u32, AppError> {
    use crate::server::{auth, client_limits::Action, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::PaymentCode)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    payments::resend_push(&state, &caller, &user, &payments::parse_id(&id)?).await
}

/// Cancels one of the caller's payments while it waits for an answer.
#[server]
pub async fn cancel_payment(id: String) -> Result<PaymentStatus, AppError> {
    use crate::server::{auth, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let user = auth::require_verified_user(&state, &caller).await?;
    payments::cancel(&state, &caller, &user, &payments::parse_id(&id)?).await
}

/// A page of the caller's payments, newest first: the newest, or those older (`before`)
/// or newer (`after`) than a cursor the previous page gave; `waiting` keeps only those
/// still waiting for an answer.
#[server]
pub async fn list_payments(
    before: Option<String>,
    after: Option<String>,
    #[server(default)] waiting: bool,
) -> Result<PaymentList, AppError> {
    use crate::server::{auth, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let user = auth::require_verified_user(&state, &caller).await?;
    payments::list(&state, &user, before.as_deref(), after.as_deref(), waiting).await
}

/// The audit timeline of one of the caller's payments, oldest first.
#[server]
pub async fn payment_timeline(id: String) -> Result<Vec<TimelineEntry>, AppError> {
    use crate::server::{auth, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let user = auth::require_verified_user(&state, &caller).await?;
    payments::timeline(&state, &user, &payments::parse_id(&id)?).await
}
