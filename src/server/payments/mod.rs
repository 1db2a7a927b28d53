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
    model::{format_amount, PaymentList, PaymentView},
};

/// A payment's timeline for its owner, oldest first.
pub async fn timeline(
    state: &AppState,
    user: &UserRow,
    id: &str,
) -> Result<Vec<crate::model::TimelineEntry>, AppError> {
    let payment = owned(state, user, id).await?;
    let events = db::audit::payment_events(&state.db, &payment.id)
        .await
        .map_err(|e| internal("read timeline", e))?;
    Ok(events
        .into_iter()
        .map(|(at, event, outcome, detail)| crate::model::TimelineEntry {
            at,
            event,
            outcome,
            detail,
        })
        .collect())
}

/// Payments per page in the list.
pub const PAGE_SIZE: i64 = 20;

/// Checks a payee name: 1 to 100 characters, no control characters.
pub fn parse_payee(input: &str) -> Result<String, AppError> {
    let payee = input.trim();
    if payee.is_empty() {
        return Err(AppError::field("payee", "Enter who you are paying."));
    }
    if payee.chars().count() > 100 {
        return Err(AppError::field(
            "payee",
            "Keep the payee's name to 100 characters.",
        ));
    }
    if payee.chars().any(char::is_control) {
        return Err(AppError::field(
            "payee",
            "The payee's name has characters that cannot be shown.",
        ));
    }
    if payee.chars().any(is_format_char) {
        return Err(AppError::field(
            "payee",
            "The payee's name has invisible formatting characters (such as text-direction \
             overrides); type the name again without them.",
        ));
    }
    Ok(payee.to_string())
}

/// Unicode's format characters (general category Cf, Unicode 15): invisible, and some
/// (bidi overrides) reorder the text around them, so a name could read as another.
pub fn is_format_char(c: char) -> bool {
    const CF: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    let c = u32::from(c);
    CF.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// What the owner sees of a payment.
pub fn view(p: &PaymentRow) -> PaymentView {
    PaymentView {
        id: p.id.clone(),
        payee: p.payee.clone(),
        amount: format_amount(p.amount_cents, &p.currency),
        status: p.status(),
        created_at: p.created_at,
        decided_via: p.decided_via.clone(),
        failure_reason: p.failure_reason.clone(),
        sms_sent: p.sms_sent_at.is_some(),
    }
}

/// The owner's payment; anyone else gets the same `NotFound` as for an unknown id.
pub async fn owned(state: &AppState, user: &UserRow, id: &str) -> Result<PaymentRow, AppError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(AppError::NotFound);
    }
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
    fn payee_names_are_trimmed_and_limited() {
        assert_eq!(parse_payee("  Neville ").expect("valid"), "Neville");
        assert_eq!(
            parse_payee("<img src=x onerror=alert(1)>").expect("text is text"),
            "<img src=x onerror=alert(1)>"
        );
        assert!(parse_payee("   ").is_err());
        assert!(parse_payee(&"x".repeat(101)).is_err());
        assert!(parse_payee("line\nbreak").is_err());
    }

    #[test]
    fn payee_names_with_format_characters_are_refused() {
        for sneaky in [
            "Neville\u{202E}moc.live",
            "Nev\u{200B}ille",
            "\u{2066}Neville\u{2069}",
            "Neville\u{FEFF}",
            "tag\u{E0041}",
        ] {
            let error = parse_payee(sneaky).expect_err(sneaky);
            assert!(error.for_field("payee").is_some(), "{sneaky:?}");
        }
        assert_eq!(
            parse_payee("Zoë Łukasz 王").expect("letters"),
            "Zoë Łukasz 王"
        );
    }

    #[test]
    fn the_sms_action_names_the_payment_its_amount_and_payee() {
        let p = PaymentRow {
            id: "p-1".into(),
            user_id: "u".into(),
            payee: "Neville".into(),
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
        assert_eq!(sms_action(&p), "payfriend-payment:p-1:2000:USD:Neville");
        assert_ne!(sms_action(&p), sms_action(&other_amount));
    }
}
