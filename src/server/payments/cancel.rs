//! Cancelling: the owner withdraws a payment that is still waiting. It is a decision like
//! the others (once, through the same conditional update, audited); the provider's request
//! is left to expire, and an answer to it that arrives later changes nothing.

use super::{decide, owned, Decided};
use crate::{
    error::AppError,
    model::{DecidedVia, PaymentEvent, PaymentId, PaymentStatus},
    server::{auth::Caller, db::users::UserRow, AppState},
};

/// Cancels the caller's pending payment `id`; a decided one stays as it is (409).
pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    user: &UserRow,
    id: &PaymentId,
) -> Result<PaymentStatus, AppError> {
    let payment = owned(state, user, id).await?;
    match decide(
        state,
        caller.client,
        &payment,
        PaymentEvent::Cancel,
        DecidedVia::Owner,
    )
    .await?
    {
        Decided::Now | Decided::Already => Ok(PaymentStatus::Cancelled),
        Decided::Conflict(status) => Err(AppError::AlreadyDecided { status }),
    }
}
