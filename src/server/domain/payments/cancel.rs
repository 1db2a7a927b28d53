//! Cancelling: the owner withdraws a payment that is still waiting. It is a decision like
//! the others (once, through the same conditional update, audited). At the provider: its
//! SMS code is withdrawn where the provider can (Verify's verification is cancelled; an
//! Authy token cannot be); a push request cannot be withdrawn by either API, so it is left
//! to expire, and an answer to it that arrives later changes nothing.

use super::{decide, owned, Decided};
use crate::{
    error::AppError,
    model::{DecidedVia, PaymentEvent, PaymentId, PaymentStatus},
    server::{db, domain::sessions::Caller, entities::User, AppState},
};

/// Cancels the caller's pending payment `id`; a decided one stays as it is (409).
pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    user: &User,
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
        Decided::Now => {
            withdraw_code(state, user, id).await;
            Ok(PaymentStatus::Cancelled)
        }
        Decided::Already => Ok(PaymentStatus::Cancelled),
        Decided::Conflict(status) => Err(AppError::AlreadyDecided { status }),
    }
}

/// Withdraws the cancelled payment's SMS code at the provider, if it has one (best effort:
/// the payment is cancelled whatever the provider says, and a code checked later is refused
/// by the payment's status).
async fn withdraw_code(state: &AppState, user: &User, id: &PaymentId) {
    let handle = match db::payments::verification_sid(&state.db, id).await {
        Ok(Some(handle)) => handle,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cancel: cannot read the payment's code");
            return;
        }
    };
    let Ok(provider) = state.providers.for_user(user) else {
        return;
    };
    if let Err(e) = provider.cancel_code(&handle).await {
        tracing::warn!(error = %e, "cancel: the provider kept the payment's code");
    }
}
