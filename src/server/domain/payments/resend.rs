//! "Resend to my phone": a new push approval request for the same payment, at most
//! [`MAX_PUSH_REQUESTS`] in all. Only the newest request is kept, so an answer to an older
//! one no longer counts (the callback names a request the app does not know: 404).

use super::{
    create::{approval_request, push_budget_spent, push_limits},
    owned, still_waiting,
};
use crate::model::AuditOutcome;
use crate::server::OrInternal;
use crate::shared::clock;
use crate::{
    error::AppError,
    model::{AuditKind, PaymentId, MAX_PUSH_REQUESTS},
    server::{
        config::ProviderKind,
        db::{self, payments::ResendClaim},
        domain::audit,
        domain::sessions::Caller,
        entities::User,
        provider_error,
        providers::Person,
        AppState,
    },
};

/// Sends the caller's pending payment `id` to their phone again; returns how many more
/// times it can be sent.
pub async fn resend_push(
    state: &AppState,
    caller: &Caller,
    user: &User,
    id: &PaymentId,
) -> Result<u32, AppError> {
    let payment = owned(state, user, id).await?;
    still_waiting(payment.status)?;
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    let provider = state.providers.for_user(user)?;
    if provider.kind() == ProviderKind::Verify && user.push_factor().is_none() {
        return Err(AppError::NoPushDevice);
    }
    let now = clock::now();
    let claimed = db::payments::claim_push_resend(
        &state.db,
        id,
        &user.id,
        push_limits(state, now),
        i64::from(MAX_PUSH_REQUESTS),
        now,
    )
    .await
    .or_internal("claim push request")?;
    let count = match claimed {
        ResendClaim::Claimed(count) => count,
        ResendClaim::BudgetSpent { oldest } => return Err(push_budget_spent(oldest, now)),
        ResendClaim::NotClaimable => {
            // Decided or expired meanwhile, or else the limit: say which.
            still_waiting(owned(state, user, id).await?.status)?;
            return Err(AppError::PushLimit {
                max: MAX_PUSH_REQUESTS,
            });
        }
    };
    // The new request lives as long as the payment has left, not a fresh full window.
    let seconds = u64::try_from(payment.expires_at - now).unwrap_or(0).max(1);
    let request = approval_request(
        state,
        user,
        id,
        &payment.payee,
        &payment.amount,
        caller.client,
        seconds,
    );
    let sent = match provider
        .create_approval_request(Person::of(user), &request)
        .await
    {
        Ok(Some(uuid)) => Ok(uuid),
        // No phone of the person takes push requests (any more).
        Ok(None) => return Err(AppError::NoPushDevice),
        Err(e) => Err(e),
    };
    let (outcome, detail) = match &sent {
        Ok(_) => (
            AuditOutcome::Ok,
            format!("sent again ({count} of {MAX_PUSH_REQUESTS})"),
        ),
        // The earlier request still stands; the payment stays pending.
        Err(e) => (AuditOutcome::Failed, format!("sending again: {e}")),
    };
    if let Ok(uuid) = &sent {
        db::payments::set_approval_uuid(&state.db, id, uuid)
            .await
            .or_internal("store approval uuid")?;
    }
    audit::log(
        state,
        caller.client,
        Some(&user.id),
        Some(id),
        AuditKind::PushSent,
        outcome,
        detail,
    )
    .await;
    sent.map_err(|e| provider_error("send approval request again", e))?;
    Ok(MAX_PUSH_REQUESTS.saturating_sub(u32::try_from(count).unwrap_or(u32::MAX)))
}
