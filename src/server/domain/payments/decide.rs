//! The one rule by which a payment leaves `pending`: decided once, in one conditional
//! update, whoever asks (push callback, SMS code, reconciliation).

use crate::model::AuditOutcome;
use crate::server::OrInternal;
use crate::shared::clock;
use std::net::IpAddr;

use crate::{
    error::AppError,
    model::{AuditKind, DecidedVia, PaymentEvent, PaymentStatus},
    server::{db, domain::audit, entities::Payment, providers::ApprovalStatus, AppState},
};

/// Outcome of applying a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// This call decided it.
    Now,
    /// It already had exactly this status.
    Already,
    /// It already has another final status; nothing changed.
    Conflict(PaymentStatus),
}

/// Applies approve/deny once, in one conditional update; anything else changes nothing.
pub async fn decide(
    state: &AppState,
    client: Option<IpAddr>,
    payment: &Payment,
    event: PaymentEvent,
    via: DecidedVia,
) -> Result<Decided, AppError> {
    let current = payment.status;
    // What the event means for a payment still waiting; the same rule for every caller.
    let Some(status) = PaymentStatus::Pending.apply(event) else {
        return Ok(Decided::Conflict(current));
    };
    if current.apply(event).is_some()
        && db::payments::decide(&state.writer, &payment.id, status, via, clock::now())
            .await
            .or_internal("decide payment")?
            .is_some()
    {
        audit::log(
            state,
            client,
            Some(&payment.user_id),
            Some(&payment.id),
            AuditKind::Decision,
            AuditOutcome::decided(status),
            format!("by {}", via.as_str()),
        )
        .await;
        return Ok(Decided::Now);
    }
    // Lost a race or already decided: look at what it is now.
    let now = clock::now();
    let fresh = db::payments::owned(&state.db, &payment.user_id, &payment.id, now)
        .await
        .or_internal("re-read payment")?
        .map(|p| p.status)
        .unwrap_or(current);
    Ok(if fresh == status {
        Decided::Already
    } else {
        Decided::Conflict(fresh)
    })
}

impl Decided {
    /// The payment's status after the decision was applied (or refused).
    pub fn status(self, event: PaymentEvent) -> Option<PaymentStatus> {
        match self {
            Decided::Now | Decided::Already => PaymentStatus::Pending.apply(event),
            Decided::Conflict(current) => Some(current),
        }
    }
}

/// The status an event gives a payment that is still pending: the one transition rule
/// ([`PaymentStatus::apply`]), for the updates that only ever touch pending payments
/// (failure, expiry).
pub fn status_after(event: PaymentEvent) -> PaymentStatus {
    PaymentStatus::Pending
        .apply(event)
        .unwrap_or(PaymentStatus::Pending)
}

/// The decision a push request's status means; pending and expired decide nothing.
pub fn event_for(status: ApprovalStatus) -> Option<PaymentEvent> {
    match status {
        ApprovalStatus::Approved => Some(PaymentEvent::Approve),
        ApprovalStatus::Denied => Some(PaymentEvent::Deny),
        ApprovalStatus::Pending | ApprovalStatus::Expired => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_and_expiry_take_the_status_the_transition_rule_gives() {
        assert_eq!(status_after(PaymentEvent::Fail), PaymentStatus::Failed);
        assert_eq!(status_after(PaymentEvent::Expire), PaymentStatus::Expired);
        assert_eq!(status_after(PaymentEvent::Approve), PaymentStatus::Approved);
        assert_eq!(status_after(PaymentEvent::Deny), PaymentStatus::Denied);
    }

    #[test]
    fn decided_via_round_trips_through_its_stored_name() {
        for via in [
            DecidedVia::Push,
            DecidedVia::Sms,
            DecidedVia::Owner,
            DecidedVia::Passkey,
        ] {
            assert_eq!(DecidedVia::parse(via.as_str()), Some(via));
        }
        assert_eq!(DecidedVia::parse("carrier pigeon"), None);
    }
}
