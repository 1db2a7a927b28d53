//! Payments: creation with a push approval request, the owner's view, the SMS fallback
//! bound to one payment, and the decision rules.

use std::{collections::BTreeMap, net::IpAddr};

use super::{
    audit,
    authy::client::{Logo, NewApprovalRequest},
    db::{self, payments::PaymentRow, users::UserRow},
    internal,
    limits::{self, CodeSend},
    provider_error, AppState,
};
use crate::{
    error::AppError,
    model::{
        format_amount, parse_amount, PaymentEvent, PaymentList, PaymentStatus, PaymentView,
        MAX_SMS_ATTEMPTS,
    },
};

/// A payment's timeline for its owner, oldest first.
pub async fn timeline(
    state: &AppState,
    user: &UserRow,
    id: &str,
) -> Result<Vec<crate::model::TimelineEntry>, AppError> {
    let payment = owned(state, user, id).await?;
    let events = db::security::payment_events(&state.db, &payment.id)
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

/// Stores the expiry of payments nobody answered in time.
pub async fn expire_due(state: &AppState) {
    match db::payments::expire_due(&state.db, db::now()).await {
        Ok(expired) => {
            for (id, user_id) in expired {
                audit::log(
                    state,
                    Some(&user_id),
                    Some(&id),
                    "expiry",
                    "expired",
                    "no answer in time",
                )
                .await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
    }
}

/// Asks the provider about pending payments whose callback has not come (a dropped or
/// lost callback must not leave a decision unrecorded).
pub async fn reconcile(state: &AppState) {
    let now = db::now();
    let waiting = match db::payments::pending_with_approval(&state.db, now - 10, 20, now).await {
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
        let decision = match state.authy.approval_request_status(uuid).await {
            Ok(s) => match event_for(&s.status) {
                Some(event) => event,
                None => continue,
            },
            Err(e) => {
                tracing::debug!(error = %e, "reconciliation: provider status unavailable");
                continue;
            }
        };
        if let Err(e) = decide(state, &payment, decision, "push").await {
            tracing::warn!(error = %e, payment = %payment.id, "reconciliation: cannot decide");
        }
    }
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

/// The SMS `action` that binds a code to exactly this payment: its id, payee and amount.
pub fn sms_action(p: &PaymentRow) -> String {
    format!(
        "payfriend-payment:{}:{}:{}:{}",
        p.id, p.amount_cents, p.currency, p.payee
    )
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

/// Creates a payment and sends the push approval request. A repeated idempotency key
/// returns the payment already created for it; a provider failure fails the payment.
pub async fn create(
    state: &AppState,
    user: &UserRow,
    payee: &str,
    amount: &str,
    idempotency_key: &str,
    client_ip: Option<IpAddr>,
) -> Result<String, AppError> {
    let payee = parse_payee(payee)?;
    let amount_cents =
        parse_amount(amount).map_err(|e| AppError::field("amount", e.to_string()))?;
    let key = uuid::Uuid::parse_str(idempotency_key.trim())
        .map_err(|_| {
            AppError::field(
                "payee",
                "The form has expired. Reload the page and try again.",
            )
        })?
        .to_string();
    let authy_id = user.authy_id.ok_or(AppError::PhoneNotVerified)?;

    let now = db::now();
    let config = &state.config;
    let new_id = uuid::Uuid::new_v4().to_string();
    let (id, created) = db::payments::insert_once(
        &state.db,
        &db::payments::NewPayment {
            id: &new_id,
            user_id: &user.id,
            idempotency_key: &key,
            payee: &payee,
            amount_cents,
            currency: &config.currency,
            expires_at: now + config.approval_seconds_to_expire as i64,
        },
        now,
    )
    .await
    .map_err(|e| internal("insert payment", e))?;
    if !created {
        // A retry of a request already made: same payment, no second push.
        return Ok(id);
    }
    audit::log(
        state,
        Some(&user.id),
        Some(&id),
        "payment_created",
        "ok",
        format!(
            "{} to {payee}",
            format_amount(amount_cents, &config.currency)
        ),
    )
    .await;

    let amount_text = format_amount(amount_cents, &config.currency);
    let request = NewApprovalRequest {
        message: format!("Please authorize payment to {payee}"),
        details: BTreeMap::from([
            ("Sending to".to_string(), payee.clone()),
            ("Transaction amount".to_string(), amount_text),
        ]),
        hidden_details: BTreeMap::from([
            (
                "user_ip_address".to_string(),
                client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            ),
            ("requester_user_id".to_string(), user.id.clone()),
        ]),
        logos: vec![Logo {
            res: "default".to_string(),
            url: config
                .public_url
                .join("logo.svg")
                .map(|u| u.to_string())
                .unwrap_or_default(),
        }],
        seconds_to_expire: config.approval_seconds_to_expire,
    };
    match state
        .authy
        .create_approval_request(authy_id, &request)
        .await
    {
        Ok(uuid) => {
            db::payments::set_approval_uuid(&state.db, &id, &uuid)
                .await
                .map_err(|e| internal("store approval uuid", e))?;
            audit::log(state, Some(&user.id), Some(&id), "push_sent", "ok", "").await;
            Ok(id)
        }
        Err(e) => {
            let reason = format!("The approval request could not be sent to your phone ({e}).");
            db::payments::fail(&state.db, &id, &reason, db::now())
                .await
                .map_err(|e| internal("fail payment", e))?;
            audit::log(
                state,
                Some(&user.id),
                Some(&id),
                "push_sent",
                "failed",
                reason,
            )
            .await;
            Err(provider_error("create approval request", e))
        }
    }
}

/// The owner's payment; anyone else gets the same `NotFound` as for an unknown id.
pub async fn owned(state: &AppState, user: &UserRow, id: &str) -> Result<PaymentRow, AppError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(AppError::NotFound);
    }
    db::payments::owned(&state.db, &user.id, id, db::now())
        .await
        .map_err(|e| internal("read payment", e))?
        .ok_or(AppError::NotFound)
}

/// A page (from 1) of the user's payments, newest first.
pub async fn list(state: &AppState, user: &UserRow, page: u32) -> Result<PaymentList, AppError> {
    let page = page.clamp(1, 100_000);
    let now = db::now();
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

fn still_pending(p: &PaymentRow) -> Result<(), AppError> {
    match p.status() {
        PaymentStatus::Pending => Ok(()),
        PaymentStatus::Expired => Err(AppError::ApprovalExpired),
        decided => Err(AppError::field(
            "code",
            format!("This payment is already {}.", decided.as_str()),
        )),
    }
}

/// Sends an SMS code bound to this payment (the fallback when the push does not arrive).
pub async fn send_sms(state: &AppState, user: &UserRow, id: &str) -> Result<(), AppError> {
    let payment = owned(state, user, id).await?;
    still_pending(&payment)?;
    let authy_id = user.authy_id.ok_or(AppError::PhoneNotVerified)?;
    let message = format!(
        "Verify payment to {} for {}",
        payment.payee,
        format_amount(payment.amount_cents, &payment.currency)
    );
    let action = sms_action(&payment);
    limits::send_code(
        state,
        CodeSend {
            user_id: Some(&user.id),
            phone_e164: &user.phone_e164,
            payment_id: Some(&payment.id),
            event: "sms_sent",
            detail: String::new(),
        },
        state.authy.send_sms_token(authy_id, &action, &message),
        |e| provider_error("send payment SMS", e),
    )
    .await?;
    db::payments::mark_sms_sent(&state.db, &payment.id, db::now())
        .await
        .map_err(|e| internal("mark SMS sent", e))
}

/// Checks an SMS code for this payment: a valid one approves it; the 5th wrong one
/// fails it for good.
pub async fn verify_sms(
    state: &AppState,
    user: &UserRow,
    id: &str,
    code: &str,
) -> Result<PaymentStatus, AppError> {
    let payment = owned(state, user, id).await?;
    still_pending(&payment)?;
    if payment.sms_sent_at.is_none() {
        return Err(AppError::field("code", "Ask for a code by SMS first."));
    }
    let code = code.trim();
    if !(6..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::field(
            "code",
            "Enter the 6 to 10 digits of the code from the SMS.",
        ));
    }
    let authy_id = user.authy_id.ok_or(AppError::PhoneNotVerified)?;
    match state
        .authy
        .verify_token(authy_id, code, &sms_action(&payment))
        .await
    {
        Ok(()) => {
            audit::log(
                state,
                Some(&user.id),
                Some(&payment.id),
                "code",
                "accepted",
                "",
            )
            .await;
            let decided = decide(state, &payment, PaymentEvent::Approve, "sms").await?;
            decided
                .status(PaymentEvent::Approve)
                .ok_or(AppError::Internal)
        }
        Err(e) if matches!(e.code(), Some("60019" | "60020")) => {
            audit::log(
                state,
                Some(&user.id),
                Some(&payment.id),
                "code",
                "rejected",
                "",
            )
            .await;
            wrong_code(state, &payment.id).await
        }
        Err(e) => Err(provider_error("verify payment SMS", e)),
    }
}

async fn wrong_code(state: &AppState, id: &str) -> Result<PaymentStatus, AppError> {
    let Some(failures) = db::payments::count_wrong_code(&state.db, id)
        .await
        .map_err(|e| internal("count wrong code", e))?
    else {
        return Err(AppError::field(
            "code",
            "This payment is no longer waiting for a code.",
        ));
    };
    let left = i64::from(MAX_SMS_ATTEMPTS) - failures;
    if left <= 0 {
        let failed = db::payments::fail(&state.db, id, "Too many wrong SMS codes.", db::now())
            .await
            .map_err(|e| internal("fail payment", e))?;
        if failed {
            audit::log(
                state,
                None,
                Some(id),
                "decision",
                "failed",
                "too many wrong SMS codes",
            )
            .await;
        }
        return Err(AppError::TooManyAttempts);
    }
    Err(AppError::InvalidCode {
        attempts_left: Some(u32::try_from(left).unwrap_or(0)),
    })
}

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
    payment: &PaymentRow,
    event: PaymentEvent,
    via: &str,
) -> Result<Decided, AppError> {
    let current = payment.status();
    // What the event means for a payment still waiting; the same rule for every caller.
    let Some(status) = PaymentStatus::Pending.apply(event) else {
        return Ok(Decided::Conflict(current));
    };
    if current.apply(event).is_some()
        && db::payments::decide(&state.db, &payment.id, status, via, db::now())
            .await
            .map_err(|e| internal("decide payment", e))?
    {
        audit::log(
            state,
            Some(&payment.user_id),
            Some(&payment.id),
            "decision",
            status.as_str(),
            format!("by {via}"),
        )
        .await;
        return Ok(Decided::Now);
    }
    // Lost a race or already decided: look at what it is now.
    let now = db::now();
    let fresh = db::payments::owned(&state.db, &payment.user_id, &payment.id, now)
        .await
        .map_err(|e| internal("re-read payment", e))?
        .map(|p| p.status())
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

/// The decision a provider status means (`approved` / `denied`); anything else is none.
pub fn event_for(provider_status: &str) -> Option<PaymentEvent> {
    match provider_status {
        "approved" => Some(PaymentEvent::Approve),
        "denied" => Some(PaymentEvent::Deny),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
