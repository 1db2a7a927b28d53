//! A fresh code by SMS before changing how the account approves payments (adding a passkey,
//! adding a phone for push approvals): sent to the verified phone, bound to the step and
//! the account, checked at most five times per code.

use crate::error::FormField;
use crate::model::AuditOutcome;
use crate::server::OrInternal;
use crate::server::{
    db::{self, users::CodePurpose},
    domain::accounts::MAX_VERIFY_ATTEMPTS,
    domain::audit,
    domain::payments,
    domain::sessions::Caller,
    entities::User,
    limits::code_limits::{self, CodeSend},
    provider_error,
    providers::{BoundCode, Person, ProviderError},
    AppState,
};
use crate::{
    error::AppError,
    model::{AuditKind, Via},
};

/// What the code confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUp {
    AddPasskey,
    AddPushDevice,
}

impl StepUp {
    /// Authy's `action`: names the step and the account.
    fn action(self, user: &User) -> String {
        match self {
            StepUp::AddPasskey => format!("payfriend-add-passkey:{}", user.id),
            StepUp::AddPushDevice => format!("payfriend-add-push-device:{}", user.id),
        }
    }

    /// The SMS's words for it (Authy's `action_message`, Verify's `Payee`).
    fn message(self) -> &'static str {
        match self {
            StepUp::AddPasskey => "Your code to add a passkey to Payfriend",
            StepUp::AddPushDevice => "Your code to add a phone for push approvals to Payfriend",
        }
    }

    /// The audit trail's kind for its codes.
    fn audit_kind(self) -> AuditKind {
        match self {
            StepUp::AddPasskey => AuditKind::Passkey,
            StepUp::AddPushDevice => AuditKind::PushDevice,
        }
    }

    fn what(self) -> &'static str {
        match self {
            StepUp::AddPasskey => "a passkey",
            StepUp::AddPushDevice => "a phone for push approvals",
        }
    }
}

/// Verify's `Amount` of a step-up code (no money moves).
const STEP_UP_AMOUNT: &str = "0";

fn bound<'a>(step: StepUp, action: &'a str) -> BoundCode<'a> {
    BoundCode {
        action,
        message: step.message(),
        amount: STEP_UP_AMOUNT,
        payee: step.message(),
    }
}

/// Sends the code for `step` to the person's verified phone.
pub async fn send(
    state: &AppState,
    caller: &Caller,
    user: &User,
    step: StepUp,
) -> Result<(), AppError> {
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    let provider = state.providers.for_user(user)?;
    let action = step.action(user);
    let handle = code_limits::send_code(
        state,
        CodeSend {
            client: caller.client,
            user_id: Some(&user.id),
            phone_e164: &user.phone.e164,
            payment_id: None,
            via: Via::Sms,
            verified: true,
            event: step.audit_kind(),
            detail: format!("code to add {}", step.what()),
        },
        provider.send_sms_token(
            Person::of(user),
            bound(step, &action),
            user.verification_sid(),
        ),
        |e| provider_error("send step-up code", e),
    )
    .await?;
    if let Some(sid) = &handle {
        db::users::set_verification_sid(&state.db, &user.id, Some(sid))
            .await
            .or_internal("store verification")?;
    }
    // A new code: its checks start from zero.
    db::users::reset_code_attempts(&state.db, &user.id, CodePurpose::AddPasskey)
        .await
        .or_internal("reset code checks")
}

/// Checks the code for `step`: `Ok` when it is right. Each check is counted before it is
/// made (parallel guesses share the five); one the provider did not answer is given back.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    user: &User,
    step: StepUp,
    code: &str,
) -> Result<(), AppError> {
    let code = payments::sms_code(code)?;
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    let provider = state.providers.for_user(user)?;
    let action = step.action(user);
    let checked = code_limits::check_code(
        state,
        &user.id,
        CodePurpose::AddPasskey,
        MAX_VERIFY_ATTEMPTS,
        provider.verify_token(
            Person::of(user),
            code,
            bound(step, &action),
            user.verification_sid(),
        ),
    )
    .await?;
    match checked {
        Ok(()) => db::users::reset_code_attempts(&state.db, &user.id, CodePurpose::AddPasskey)
            .await
            .or_internal("reset code checks"),
        Err(
            ProviderError::WrongCode | ProviderError::CodeExpired | ProviderError::TooManyChecks,
        ) => {
            audit::log(
                state,
                caller.client,
                Some(&user.id),
                None,
                step.audit_kind(),
                AuditOutcome::Refused,
                format!("wrong code to add {}", step.what()),
            )
            .await;
            Err(AppError::field(
                FormField::Code,
                "That code is not correct (or it expired). Check the SMS, or send a new code.",
            ))
        }
        Err(e) => Err(provider_error("verify step-up code", e)),
    }
}
