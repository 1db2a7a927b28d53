//! The SMS code that stands in for a push approval, bound to exactly one payment.

use super::{decide, owned, status_after};
use crate::error::FormField;
use crate::model::AuditOutcome;
use crate::server::OrInternal;
use crate::shared::clock;
use crate::{
    error::AppError,
    model::{
        AuditKind, DecidedVia, PaymentEvent, PaymentId, PaymentStatus, Via, MAX_SMS_ATTEMPTS,
        SMS_RESEND_AFTER_SECS,
    },
    server::{
        db,
        domain::audit,
        domain::sessions::Caller,
        entities::{Payment, User},
        limits::code_limits::{self, CodeSend},
        provider_error,
        providers::{BoundCode, Person, ProviderError},
        AppState,
    },
};

/// The SMS `action` that binds a code to exactly this payment: its id, payee and amount.
pub fn sms_action(p: &Payment) -> String {
    format!(
        "{}{}:{}:{}",
        sms_action_of(&p.id),
        p.amount.minor_units,
        p.amount.currency,
        p.payee
    )
}

/// How every SMS action of payment `id` begins (its amount, currency and payee follow):
/// what the sandbox's messages for one payment are found by.
pub fn sms_action_of(id: &PaymentId) -> String {
    format!("payfriend-payment:{id}:")
}

/// A code from an SMS as typed: 6 to 10 digits, spaces around it ignored.
pub fn sms_code(code: &str) -> Result<&str, AppError> {
    let code = code.trim();
    if (6..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(AppError::field(
            FormField::Code,
            "Enter the 6 to 10 digits of the code from the SMS.",
        ))
    }
}

fn still_pending(p: &Payment) -> Result<(), AppError> {
    match p.status {
        PaymentStatus::Pending => Ok(()),
        PaymentStatus::Expired => Err(AppError::ApprovalExpired),
        decided => Err(AppError::field(
            FormField::Code,
            format!("This payment is already {}.", decided.as_str()),
        )),
    }
}

/// Sends an SMS code bound to this payment (the fallback when the push does not arrive).
pub async fn send_sms(
    state: &AppState,
    caller: &Caller,
    user: &User,
    id: &PaymentId,
) -> Result<(), AppError> {
    let payment = owned(state, user, id).await?;
    still_pending(&payment)?;
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    let provider = state.providers.for_user(user)?;
    // One code per payment every SMS_RESEND_AFTER_SECS, taken in the database so that two
    // requests at once (or on two instances) send one.
    let now = clock::now();
    let claimed = db::payments::claim_sms_send(&state.db, &payment.id, now, SMS_RESEND_AFTER_SECS)
        .await
        .or_internal("claim SMS send")?;
    if !claimed {
        let fresh = owned(state, user, id).await?;
        still_pending(&fresh)?;
        let wait = fresh
            .sms_sent_at
            .map_or(1, |sent| (sent + SMS_RESEND_AFTER_SECS - now).max(1));
        return Err(AppError::RateLimited {
            retry_after_secs: u64::try_from(wait).unwrap_or(1),
        });
    }
    let message = format!("Verify payment to {} for {}", payment.payee, payment.amount);
    let action = sms_action(&payment);
    let (amount, payee) = (payment.amount.to_string(), payment.payee.to_string());
    let own = db::payments::verification_sid(&state.db, &payment.id)
        .await
        .or_internal("read payment verification")?;
    // The person's newest code is for something else: withdrawn first (Verify would send
    // that code again, for this payment).
    let previous = user
        .verification_sid()
        .filter(|sid| own.as_ref() != Some(*sid));
    let sent = code_limits::send_code(
        state,
        CodeSend {
            client: caller.client,
            user_id: Some(&user.id),
            phone_e164: &user.phone.e164,
            payment_id: Some(&payment.id),
            via: Via::Sms,
            verified: true,
            event: AuditKind::SmsSent,
            detail: String::new(),
        },
        provider.send_sms_token(
            Person::of(user),
            BoundCode {
                action: &action,
                message: &message,
                amount: &amount,
                payee: &payee,
            },
            previous,
        ),
        |e| provider_error("send payment SMS", e),
    )
    .await;
    match sent {
        Ok(handle) => {
            if let Some(sid) = handle {
                db::payments::set_verification_sid(&state.db, &payment.id, &sid)
                    .await
                    .or_internal("store payment verification")?;
                db::users::set_verification_sid(&state.db, &user.id, Some(&sid))
                    .await
                    .or_internal("store verification")?;
            }
            Ok(())
        }
        Err(e) => {
            // No code went out: the person may ask again at once.
            db::payments::release_sms_send(&state.db, &payment.id, now, payment.sms_sent_at)
                .await
                .or_internal("release SMS send")?;
            Err(e)
        }
    }
}

/// Checks an SMS code for this payment: a valid one approves it; the 5th wrong one
/// fails it for good. The attempt is taken before the provider is asked (one conditional
/// update), so parallel guesses reach the provider at most `MAX_SMS_ATTEMPTS` times.
pub async fn verify_sms(
    state: &AppState,
    caller: &Caller,
    user: &User,
    id: &PaymentId,
    code: &str,
) -> Result<PaymentStatus, AppError> {
    let payment = owned(state, user, id).await?;
    still_pending(&payment)?;
    if payment.sms_sent_at.is_none() {
        return Err(AppError::field(
            FormField::Code,
            "Ask for a code by SMS first.",
        ));
    }
    let code = sms_code(code)?;
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    let provider = state.providers.for_user(user)?;
    let handle = db::payments::verification_sid(&state.db, &payment.id)
        .await
        .or_internal("read payment verification")?;
    let max = i64::from(MAX_SMS_ATTEMPTS);
    let Some(taken) = db::payments::reserve_code_attempt(&state.db, &payment.id, max)
        .await
        .or_internal("reserve SMS code attempt")?
    else {
        // Decided meanwhile, or every attempt is taken (by checks still under way, or by
        // wrong codes whose last one fails the payment).
        still_pending(&owned(state, user, id).await?)?;
        return Err(AppError::TooManyAttempts);
    };
    let (action, amount, payee) = (
        sms_action(&payment),
        payment.amount.to_string(),
        payment.payee.to_string(),
    );
    let bound = BoundCode {
        action: &action,
        message: "",
        amount: &amount,
        payee: &payee,
    };
    match provider
        .verify_token(Person::of(user), code, bound, handle.as_ref())
        .await
    {
        Ok(()) => {
            audit::log(
                state,
                caller.client,
                Some(&user.id),
                Some(&payment.id),
                AuditKind::Code,
                AuditOutcome::Accepted,
                "",
            )
            .await;
            let decided = decide(
                state,
                caller.client,
                &payment,
                PaymentEvent::Approve,
                DecidedVia::Sms,
            )
            .await?;
            decided
                .status(PaymentEvent::Approve)
                .ok_or(AppError::Internal)
        }
        // Verify counts its own checks: with all five taken, the code is as good as wrong.
        Err(ProviderError::WrongCode | ProviderError::TooManyChecks) => {
            audit::log(
                state,
                caller.client,
                Some(&user.id),
                Some(&payment.id),
                AuditKind::Code,
                AuditOutcome::Rejected,
                "",
            )
            .await;
            wrong_code(state, caller, &payment.id, max - taken).await
        }
        // The provider looked and found no such code (expired, withdrawn for a newer one,
        // or just used by a parallel check): a check made, so the attempt stays taken.
        Err(ProviderError::CodeExpired) => Err(AppError::field(
            FormField::Code,
            "This code is no longer valid (it expired, or a newer code was sent to your \
             phone). Ask for a new code by SMS.",
        )),
        Err(e) => {
            // The code was not checked: the attempt is the person's again.
            db::payments::give_back_code_attempt(&state.db, &payment.id)
                .await
                .or_internal("give back SMS code attempt")?;
            Err(provider_error("verify payment SMS", e))
        }
    }
}

/// A wrong code, with `left` checks not yet taken: the fifth wrong one fails the payment
/// (a right code among the five checked approves it, however they interleave).
async fn wrong_code(
    state: &AppState,
    caller: &Caller,
    id: &PaymentId,
    left: i64,
) -> Result<PaymentStatus, AppError> {
    let Some(wrong) = db::payments::count_wrong_code(&state.db, id)
        .await
        .or_internal("count wrong code")?
    else {
        return Err(AppError::field(
            FormField::Code,
            "This payment is no longer waiting for a code.",
        ));
    };
    if wrong >= i64::from(MAX_SMS_ATTEMPTS) {
        let failed = db::payments::fail(
            &state.db,
            id,
            status_after(PaymentEvent::Fail),
            "Too many wrong SMS codes.",
            clock::now(),
        )
        .await
        .or_internal("fail payment")?;
        if failed {
            audit::log(
                state,
                caller.client,
                None,
                Some(id),
                AuditKind::Decision,
                AuditOutcome::Failed,
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
