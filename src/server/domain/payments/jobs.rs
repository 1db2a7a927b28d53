//! Background jobs over payments: storing expiries, asking the provider about lost
//! callbacks.

use super::{decide, event_for, status_after};
use crate::model::AuditOutcome;
use crate::model::{AuditKind, DecidedVia, PaymentEvent};
use crate::server::{db, domain::audit, AppState};
use crate::shared::clock;

/// Stores the expiry of payments nobody answered in time.
pub async fn expire_due(state: &AppState) {
    match db::payments::expire_due(&state.db, status_after(PaymentEvent::Expire), clock::now())
        .await
    {
        Ok(expired) => {
            for (id, user_id) in expired {
                audit::log(
                    state,
                    None,
                    Some(&user_id),
                    Some(&id),
                    AuditKind::Expiry,
                    AuditOutcome::Expired,
                    "no answer in time",
                )
                .await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
    }
}

/// How long a payment claimed for reconciliation is left to the instance that claimed it.
pub const RECONCILE_EVERY_SECS: i64 = 15;

/// Asks the provider about pending payments whose callback has not come (a dropped or
/// lost callback must not leave a decision unrecorded). Each payment is claimed first, so
/// with several instances on one database one of them asks, once per
/// [`RECONCILE_EVERY_SECS`].
pub async fn reconcile(state: &AppState) {
    let now = clock::now();
    let claimed =
        db::payments::claim_for_reconcile(&state.db, now - 10, 20, now, now + RECONCILE_EVERY_SECS)
            .await;
    let waiting = match claimed {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "reconciliation: cannot list pending payments");
            return;
        }
    };
    for payment in waiting {
        let Some(uuid) = payment.approval_uuid.as_deref() else {
            continue;
        };
        let Some(provider) = user_provider(state, &payment.user_id).await else {
            continue;
        };
        let decision = match provider.approval(&payment.user_id, uuid).await {
            // Only an answer about this payment counts.
            Ok(approval)
                if approval
                    .payment_id
                    .as_deref()
                    .is_some_and(|p| p != payment.id.as_str()) =>
            {
                tracing::warn!(payment = %payment.id, "reconciliation: the request names another payment");
                continue;
            }
            Ok(approval) => match event_for(approval.status) {
                Some(event) => event,
                None => continue,
            },
            Err(e) => {
                tracing::debug!(error = %e, "reconciliation: provider status unavailable");
                continue;
            }
        };
        if let Err(e) = decide(state, None, &payment, decision, DecidedVia::Push).await {
            tracing::warn!(error = %e, payment = %payment.id, "reconciliation: cannot decide");
        }
    }
}

/// The provider client of a payment's owner (by the account's provider).
async fn user_provider(
    state: &AppState,
    user_id: &crate::model::UserId,
) -> Option<std::sync::Arc<dyn crate::server::providers::Provider>> {
    match db::users::by_id(&state.db, user_id.as_str()).await {
        Ok(Some(user)) => state.providers.for_user(&user).ok().cloned(),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "reconciliation: cannot read the payment's owner");
            None
        }
    }
}
