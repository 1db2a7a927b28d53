//! Payments: the owner's view of them and the rules for payees. Creation with a push
//! request, the decision rule, the SMS fallback and the background jobs have files of
//! their own.

mod cancel;
mod create;
mod decide;
mod jobs;
mod resend;
mod sms;

pub use cancel::cancel;
pub use create::{create, PUSH_WINDOW_SECS};
pub use decide::{decide, event_for, status_after, Decided};
pub use jobs::{expire_due, reconcile};
pub use resend::resend_push;
pub use sms::{send_sms, sms_code, verify_sms};
#[cfg(any(test, feature = "testing"))]
pub use sms::{sms_action, sms_action_of};

use crate::model::AuditOutcome;
use crate::server::OrInternal;
use crate::server::{
    db,
    domain::sessions::{self, Caller},
    entities::{Payment, User},
    AppState,
};
use crate::shared::clock;
use crate::{
    error::AppError,
    model::{
        list_cursor, parse_list_cursor, AuditKind, PaymentId, PaymentList, PaymentListItem,
        PaymentStatus, PaymentView, TimelineEntry, MAX_PUSH_REQUESTS, MAX_SMS_ATTEMPTS,
    },
};

/// A payment's timeline for its owner, oldest first.
pub async fn timeline(
    state: &AppState,
    user: &User,
    id: &PaymentId,
) -> Result<Vec<TimelineEntry>, AppError> {
    let payment = owned(state, user, id).await?;
    let events = db::audit::payment_events(&state.db, &payment.id)
        .await
        .or_internal("read timeline")?;
    Ok(events
        .into_iter()
        .filter_map(|(at, event, outcome, detail)| {
            let Some(event) = AuditKind::parse(&event) else {
                tracing::warn!(event, "an audit event of an unknown kind is not shown");
                return None;
            };
            // Only the details its sentence uses leave the server: a failure's detail is the
            // provider's own words, for the log and the audit row only.
            let shown = match event {
                AuditKind::PaymentCreated | AuditKind::Decision | AuditKind::Passkey => detail,
                AuditKind::PushSent if outcome == AuditOutcome::Ok => detail,
                _ => String::new(),
            };
            Some(TimelineEntry {
                at,
                event,
                outcome,
                detail: shown,
            })
        })
        .collect())
}

/// Why a payment can no longer be answered, if it cannot.
pub fn still_waiting(status: PaymentStatus) -> Result<(), AppError> {
    match status {
        PaymentStatus::Pending => Ok(()),
        PaymentStatus::Expired => Err(AppError::ApprovalExpired),
        status => Err(AppError::AlreadyDecided { status }),
    }
}

/// Payments per page in the list.
pub const PAGE_SIZE: i64 = 20;

/// What the owner sees of a payment, read at `now`.
pub fn view(p: &Payment, now: i64) -> PaymentView {
    let amount = p.amount;
    let tries_left = i64::from(MAX_SMS_ATTEMPTS) - p.sms_failed_attempts;
    PaymentView {
        id: p.id.clone(),
        payee: p.payee.clone(),
        amount: amount.to_string(),
        amount_typed: amount.typed(),
        status: p.status,
        created_at: p.created_at,
        expires_at: p.expires_at,
        decided_at: p.decided_at,
        decided_via: p.decided_via,
        failure_reason: p.failure_reason.clone(),
        sms_sent_at: p.sms_sent_at,
        sms_tries_left: u32::try_from(tries_left).unwrap_or(0),
        resends_left: u32::try_from(i64::from(MAX_PUSH_REQUESTS) - p.push_requests).unwrap_or(0),
        server_time: now,
    }
}

/// The status poll: the caller's payment as they see it, in one read when all is well
/// (a live session of its verified owner). Otherwise the usual checks say what is wrong:
/// not signed in, session over, phone not verified, or no such payment of theirs. It does
/// not count as the person's activity.
pub async fn poll(
    state: &AppState,
    caller: &Caller,
    id: &PaymentId,
) -> Result<PaymentView, AppError> {
    let now = clock::now();
    if let Some(session_id) = sessions::caller_session_id(state, caller) {
        let mut reader = state.readers.get().await.or_internal("poll payment")?;
        let read = db::payments::polled(reader.conn(), &session_id, id, now).await;
        let polled = reader.give_back(read).or_internal("poll payment")?;
        if let Some(p) = polled {
            sessions::check_session_times(
                state,
                p.session_created_at,
                p.session_last_seen_at,
                now,
            )?;
            return Ok(view(&p.payment, now));
        }
    }
    let user = sessions::require_verified_user_polling(state, caller).await?;
    Ok(view(&owned(state, &user, id).await?, now))
}

/// The owner's payment; anyone else gets the same `NotFound` as for an unknown id.
pub async fn owned(state: &AppState, user: &User, id: &PaymentId) -> Result<Payment, AppError> {
    db::payments::owned(&state.db, &user.id, id, clock::now())
        .await
        .or_internal("read payment")?
        .ok_or(AppError::NotFound)
}

/// A page of the user's payments, newest first: the newest, or those `before` (older
/// than) or `after` (newer than) a cursor from an earlier page; with `waiting_only`, only
/// those still waiting for an answer. A cursor that does not parse reads as the newest
/// page.
pub async fn list(
    state: &AppState,
    user: &User,
    before: Option<&str>,
    after: Option<&str>,
    waiting_only: bool,
) -> Result<PaymentList, AppError> {
    use db::payments::Position;
    let before = before.and_then(parse_list_cursor);
    let after = after.and_then(parse_list_cursor);
    let position = match (&before, &after) {
        (Some((at, id)), _) => Position::Before(*at, id),
        (None, Some((at, id))) => Position::After(*at, id),
        (None, None) => Position::Newest,
    };
    let now = clock::now();
    let mut reader = state.readers.get().await.or_internal("list payments")?;
    let read = db::payments::list(
        reader.conn(),
        &user.id,
        position,
        waiting_only,
        PAGE_SIZE + 1,
        now,
    )
    .await;
    let mut rows = reader.give_back(read).or_internal("list payments")?;
    let more = rows.len() as i64 > PAGE_SIZE;
    // The extra row tells whether there is more in the direction read.
    match position {
        Position::After(..) => {
            if more {
                rows.remove(0);
            }
        }
        _ => rows.truncate(PAGE_SIZE as usize),
    }
    let items: Vec<PaymentListItem> = rows
        .into_iter()
        .map(|p| PaymentListItem {
            id: p.id,
            payee: p.payee,
            amount: p.amount.to_string(),
            status: p.status,
            created_at: p.created_at,
        })
        .collect();
    let (newer, older) = match position {
        Position::Newest => (false, more),
        Position::Before(..) => (true, more),
        Position::After(..) => (more, true),
    };
    Ok(PaymentList {
        newer: items.first().filter(|_| newer).map(list_cursor),
        older: items.last().filter(|_| older).map(list_cursor),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Money;
    use crate::server::entities::Payment;

    #[test]
    fn the_sms_action_names_the_payment_its_amount_and_payee() {
        let p = Payment {
            id: PaymentId::parse("936da01f-9abd-4d9d-80c7-02af85c822a8").expect("an id"),
            user_id: crate::model::UserId::random(),
            payee: crate::model::Payee::parse("Neville").expect("a payee"),
            amount: Money {
                minor_units: 2000,
                currency: crate::model::Currency::parse("USD").expect("USD"),
            },
            status: PaymentStatus::Pending,
            approval_uuid: None,
            failure_reason: None,
            decided_via: None,
            sms_sent_at: None,
            sms_failed_attempts: 0,
            expires_at: 0,
            created_at: 0,
            decided_at: None,
            push_requests: 1,
        };
        let other_amount = Payment {
            amount: Money {
                minor_units: 2001,
                ..p.amount
            },
            ..p.clone()
        };
        assert_eq!(
            sms_action(&p),
            "payfriend-payment:936da01f-9abd-4d9d-80c7-02af85c822a8:2000:USD:Neville"
        );
        assert_ne!(sms_action(&p), sms_action(&other_amount));
    }
}
