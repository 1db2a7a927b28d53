//! Limits on sending codes: per user, per phone and for the whole app (SMS pumping).

use crate::error::FormField;
use crate::model::AuditOutcome;
use crate::server::OrInternal;
use crate::shared::clock;
use std::future::Future;

use crate::server::db::users::CodePurpose;
use crate::server::{
    db::{
        self,
        throttle::{CodeSendLimits, CodeSendRefused},
    },
    domain::audit,
    providers::ProviderError,
    AppState,
};
use crate::{
    error::AppError,
    model::{AuditKind, PaymentId, UserId, Via},
};

/// A code about to be sent: to whom, and how the audit trail should call it.
pub struct CodeSend<'a> {
    /// Who asked for it (for the audit trail).
    pub client: Option<std::net::IpAddr>,
    pub user_id: Option<&'a UserId>,
    pub phone_e164: &'a str,
    pub payment_id: Option<&'a PaymentId>,
    /// How it goes out: a voice call weighs two SMS in every budget.
    pub via: Via,
    /// For someone whose phone is verified (payment and passkey codes): drawn from the
    /// app's hourly budget. Registration codes draw from a budget of their own
    /// (`CODE_SEND_UNVERIFIED_HOURLY`), so strangers cannot use that one up.
    pub verified: bool,
    /// The audit event (`VerificationSent`, `SmsSent`).
    pub event: AuditKind,
    pub detail: String,
}

/// Sends one code within the limits: the send is recorded before it is made, in the same
/// transaction as the checks (per phone, per user, and the app's hourly budget), so the
/// limits hold however many requests arrive at once. Every attempt goes in the audit
/// trail; a refusal by the hourly budget too.
pub async fn send_code<T>(
    state: &AppState,
    code: CodeSend<'_>,
    send: impl Future<Output = Result<T, ProviderError>>,
    refused: impl FnOnce(ProviderError) -> AppError,
) -> Result<T, AppError> {
    reserve_code_send(state, &code).await?;
    let sent = send.await;
    audit::log(
        state,
        code.client,
        code.user_id,
        code.payment_id,
        code.event,
        if sent.is_ok() {
            AuditOutcome::Ok
        } else {
            AuditOutcome::Failed
        },
        code.detail,
    )
    .await;
    sent.map_err(refused)
}

/// Records the send about to be made, or refuses it when a limit is reached.
async fn reserve_code_send(state: &AppState, code: &CodeSend<'_>) -> Result<(), AppError> {
    let now = clock::now();
    let config = &state.config;
    let window = config.code_send_window_secs as i64;
    let budget = if code.verified {
        config.code_send_global_hourly
    } else {
        config.code_send_unverified_hourly
    };
    let limits = CodeSendLimits {
        user_id: code.user_id,
        phone_e164: code.phone_e164,
        weight: match code.via {
            Via::Sms => 1,
            Via::Call => 2,
        },
        unverified: !code.verified,
        per_recipient: config.code_send_limit as i64,
        window_start: now - window,
        global: budget as i64,
        hour_start: now - 3600,
    };
    let refusal = db::throttle::reserve_code_send(&state.db, &limits, now)
        .await
        .or_internal("record a code send")?;
    let wait = |oldest: Option<i64>, span: i64| {
        u64::try_from(oldest.map_or(span, |t| t + span - now).max(1)).unwrap_or(1)
    };
    match refusal {
        Ok(()) => Ok(()),
        Err(CodeSendRefused::Recipient { oldest }) => Err(AppError::RateLimited {
            retry_after_secs: wait(oldest, window),
        }),
        Err(CodeSendRefused::Global { oldest }) => {
            tracing::warn!("the hourly budget of codes is used up: sends are refused");
            audit::log(
                state,
                code.client,
                code.user_id,
                code.payment_id,
                code.event,
                AuditOutcome::Refused,
                format!(
                    "the app's budget of {budget} codes per hour for {} is used up",
                    if code.verified {
                        "verified people"
                    } else {
                        "registrations"
                    }
                ),
            )
            .await;
            Err(AppError::SendingPaused {
                retry_after_secs: wait(oldest, 3600),
            })
        }
    }
}

/// One check of a code sent to the user's phone for `purpose`: counted before it is made,
/// so that parallel guesses share the `max`; one the provider did not answer is given back.
/// `Err` when every check of the current code is taken; otherwise the provider's answer.
pub async fn check_code(
    state: &AppState,
    user_id: &UserId,
    purpose: CodePurpose,
    max: i64,
    check: impl Future<Output = Result<(), ProviderError>>,
) -> Result<Result<(), ProviderError>, AppError> {
    let allowed = db::users::take_code_attempt(&state.db, user_id, purpose, max)
        .await
        .or_internal("count code check")?;
    if !allowed {
        return Err(AppError::field(
            FormField::Code,
            "Too many wrong codes. Send a new code and enter that one.",
        ));
    }
    let checked = check.await;
    if matches!(checked, Err(ProviderError::Unavailable(_))) {
        // The provider did not answer: this check did not happen.
        if let Err(e) = db::users::return_code_attempt(&state.db, user_id, purpose).await {
            tracing::warn!(error = %e, "cannot give back a code check");
        }
    }
    Ok(checked)
}
