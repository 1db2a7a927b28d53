//! Payments: send, follow the status, SMS fallback, list.
//!
//! Each function's first line is its policy: the per-address bucket it spends and who may
//! call it (`server::http::request`).

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
    use crate::server::{
        domain::payments,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::SendPayment).await?;
    let (state, caller, user) = (&ctx.state, &ctx.caller, &ctx.user);
    let id = payments::create(
        state,
        caller,
        user,
        ctx.signed_in_at,
        &payee,
        &amount,
        &idempotency_key,
    )
    .await?;
    leptos_axum::redirect(&format!("/payments/{id}"));
    Ok(id)
}

/// The current state of one of the caller's payments (read from our database only).
#[server]
pub async fn get_payment(id: PaymentId) -> Result<PaymentView, AppError> {
    use crate::server::{
        domain::payments,
        http::request::{self, Limit},
    };
    // The page asks every 3 seconds on its own: not the person's activity. `poll` reads
    // the session and the payment in one query and says what is missing, if anything.
    let ctx = request::anyone(Limit::None)?;
    payments::poll(&ctx.state, &ctx.caller, &id).await
}

/// Sends an SMS code bound to this payment.
#[server]
pub async fn send_payment_sms(id: PaymentId) -> Result<(), AppError> {
    use crate::server::{
        domain::payments,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::PaymentAnswer).await?;
    payments::send_sms(&ctx.state, &ctx.caller, &ctx.user, &id).await
}

/// Checks the SMS code for this payment; a valid code approves it.
#[server]
pub async fn verify_payment_sms(id: PaymentId, code: String) -> Result<PaymentStatus, AppError> {
    use crate::server::{
        domain::payments,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::PaymentAnswer).await?;
    payments::verify_sms(&ctx.state, &ctx.caller, &ctx.user, &id, &code).await
}

/// Sends the push request for one of the caller's payments to their phone again; returns
/// how many more times it can be sent.
#[server]
pub async fn resend_push(id: PaymentId) -> Result<u32, AppError> {
    use crate::server::{
        domain::payments,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::PaymentAnswer).await?;
    payments::resend_push(&ctx.state, &ctx.caller, &ctx.user, &id).await
}

/// Cancels one of the caller's payments while it waits for an answer.
#[server]
pub async fn cancel_payment(id: PaymentId) -> Result<PaymentStatus, AppError> {
    use crate::server::{
        domain::payments,
        http::request::{self, Limit},
    };
    // It may reach the provider (withdrawing the SMS code): the payment-answer bucket.
    let ctx = request::verified(Limit::PaymentAnswer).await?;
    payments::cancel(&ctx.state, &ctx.caller, &ctx.user, &id).await
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
    use crate::server::{
        domain::payments,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::None).await?;
    payments::list(
        &ctx.state,
        &ctx.user,
        before.as_deref(),
        after.as_deref(),
        waiting,
    )
    .await
}

/// The audit timeline of one of the caller's payments, oldest first.
#[server]
pub async fn payment_timeline(id: PaymentId) -> Result<Vec<TimelineEntry>, AppError> {
    use crate::server::{
        domain::payments,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::None).await?;
    payments::timeline(&ctx.state, &ctx.user, &id).await
}
