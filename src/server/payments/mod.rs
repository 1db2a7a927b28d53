//! Payments: the owner's view of them and the rules for payees. Creation with a push
//! request, the decision rule, the SMS fallback and the background jobs have files of
//! their own.

mod create;
mod decide;
mod jobs;
mod sms;

pub use create::create;
pub use decide::{decide, event_for, status_after, Decided};
pub use jobs::{expire_due, reconcile};
pub use sms::{send_sms, sms_action, verify_sms};

use super::{
    db::{self, payments::PaymentRow, users::UserRow},
    internal, AppState,
};
use crate::server::clock;
use crate::{
    error::AppError,
    model::{AuditKind, PaymentId, PaymentList, PaymentView, TimelineEntry},
};

/// A payment's timeline for its owner, oldest first.
pub async fn timeline(
    state: &AppState,
    user: &UserRow,
    id: &PaymentId,
) -> Result<Vec<TimelineEntry>, AppError> {
    let payment = owned(state, user, id).await?;
    let events = db::audit::payment_events(&state.db, &payment.id)
        .await
        .map_err(|e| internal("read timeline", e))?;
    Ok(events
        .into_iter()
        .filter_map(|(at, event, outcome, detail)| {
            let Some(event) = AuditKind::parse(&event) else {
                tracing::warn!(event, "an audit event of an unknown kind is not shown");
                return None;
            };
            Some(TimelineEntry {
                at,
                event,
                outcome,
                detail,
            })
        })
        .collect())
}

/// Payments per page in the list.
pub const PAGE_SIZE: i64 = 20;

/// What the owner sees of a payment.
pub fn view(p: &PaymentRow) -> PaymentView {
    PaymentView {
        id: p.id.clone(),
        payee: p.payee.clone(),
        amount: p.amount().to_string(),
        status: p.status(),
        created_at: p.created_at,
        decided_via: p.decided_via(),
        failure_reason: p.failure_reason.clone(),
        sms_sent: p.sms_sent_at.is_some(),
    }
}

/// A payment id from a URL or form; anything else names no payment.
pub fn parse_id(id: &str) -> Result<PaymentId, AppError> {
    PaymentId::parse(id).ok_or(AppError::NotFound)
}

/// The owner's payment; anyone else gets the same `NotFound` as for an unknown id.
pub async fn owned(
    state: &AppState,
    user: &UserRow,
    id: &PaymentId,
) -> Result<PaymentRow, AppError> {
    db::payments::owned(&state.db, &user.id, id, clock::now())
        .await
        .map_err(|e| internal("read payment", e))?
        .ok_or(AppError::NotFound)
}

/// A page (from 1) of the user's payments, newest first.
pub async fn list(state: &AppState, user: &UserRow, page: u32) -> Result<PaymentList, AppError> {
    let page = page.clamp(1, 100_000);
    let now = clock::now();
    let mut rows = db::payments::list(
        &state.db,
        &user.id,
        PAGE_SIZE + 1,
        i64::from(page - 1) * PAGE_SIZE,
        now,
    )
    .await
    .map_err(|e| internal("list payments", e))?;
    let has_more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    Ok(PaymentList {
        items: rows.iter().map(view).collect(),
        page,
        has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::payments::PaymentRow;

    #[test]
    fn the_sms_action_names_the_payment_its_amount_and_payee() {
        let p = PaymentRow {
            id: PaymentId::parse("936da01f-9abd-4d9d-80c7-02af85c822a8").expect("an id"),
            user_id: crate::model::UserId::random(),
            payee: crate::model::Payee::parse("Neville").expect("a payee"),
            amount_cents: 2000,
            currency: "USD".into(),
            status: "pending".into(),
            approval_uuid: None,
            failure_reason: None,
            decided_via: None,
            sms_sent_at: None,
            sms_failed_attempts: 0,
            expires_at: 0,
            created_at: 0,
        };
        let other_amount = PaymentRow {
            amount_cents: 2001,
            ..p.clone()
        };
        assert_eq!(
            sms_action(&p),
            "payfriend-payment:936da01f-9abd-4d9d-80c7-02af85c822a8:2000:USD:Neville"
        );
        assert_ne!(sms_action(&p), sms_action(&other_amount));
    }
}
