//! The sandbox phone page's server functions (gone with a real provider configured).

use leptos::prelude::*;

use super::model::{SandboxFault, SandboxPhone};
use crate::error::AppError;

/// Everything the sandbox phone with this number has received.
#[server]
pub async fn sandbox_inbox(phone: String) -> Result<SandboxPhone, AppError> {
    use super::service::{self, handset};
    use crate::{
        error::{FormField, OrInternal},
        shared::phone_number,
    };
    let sandbox = service::current()?;
    let parsed = phone_number::parse("US", &phone).ok_or_else(|| {
        AppError::field(
            FormField::Phone,
            "Enter the phone number with its country code, like +1 201 555 0123.",
        )
    })?;
    handset::view(&sandbox, &parsed.e164)
        .await
        .or_internal("sandbox phone view")
}

/// Phone numbers the sandbox has sent something to, most recent first.
#[server]
pub async fn sandbox_recent_phones() -> Result<Vec<String>, AppError> {
    use super::service::{self, store};
    use crate::error::OrInternal;
    let sandbox = service::current()?;
    store::recent_phones(&sandbox.db, 10)
        .await
        .or_internal("sandbox recent phones")
}

/// Presses Approve (`approve = true`) or Deny on a push request; says what happened.
#[server]
pub async fn sandbox_decide(uuid: String, approve: bool) -> Result<String, AppError> {
    use super::service::{
        self,
        handset::{self, Decision},
    };
    use crate::error::OrInternal;
    let sandbox = service::current()?;
    if uuid.starts_with("YC") {
        use super::service::verify_handset::{self, Answer};
        return match verify_handset::answer(&sandbox, &uuid, approve)
            .await
            .or_internal("sandbox answer challenge")?
        {
            Answer::Answered { status, event } => Ok(format!("Challenge {status}; {event}.")),
            Answer::NotPending { status } => Ok(format!("This challenge is already {status}.")),
            Answer::Unknown => Err(AppError::NotFound),
        };
    }
    match handset::decide(&sandbox, &uuid, approve)
        .await
        .or_internal("sandbox decide")?
    {
        Decision::Decided { status, callback } => Ok(format!("Request {status}; {callback}.")),
        Decision::NotPending { status } => Ok(format!("This request is already {status}.")),
        Decision::Unknown => Err(AppError::NotFound),
    }
}

/// Adds this phone as a Verify Push device with the access token Payfriend's account page
/// shows (what the operator's app does with Twilio's SDK); says what happened.
#[server]
pub async fn sandbox_pair(phone: String, token: String) -> Result<String, AppError> {
    use super::service::{
        self,
        verify_handset::{self, Pairing},
    };
    use crate::{
        error::{FormField, OrInternal},
        shared::phone_number,
    };
    let sandbox = service::current()?;
    if sandbox.verify.is_none() {
        return Err(AppError::NotFound);
    }
    let parsed = phone_number::parse("US", &phone).ok_or_else(|| {
        AppError::field(
            FormField::Phone,
            "Open the phone first (its number with its country code).",
        )
    })?;
    match verify_handset::pair(&sandbox, &parsed.e164, &token)
        .await
        .or_internal("sandbox pair")?
    {
        Pairing::Paired { factor_sid, event } => Ok(format!(
            "This phone now approves with push ({factor_sid}); {event}."
        )),
        Pairing::UnknownToken => Err(AppError::field(
            FormField::Token,
            "No such enrolment code, or it expired (it lives 5 minutes). Ask for a new one.",
        )),
    }
}

/// Whether the sandbox serves Verify v2 (its phone can then enrol as a push device).
#[server]
pub async fn sandbox_serves_verify() -> Result<bool, AppError> {
    Ok(super::service::current()?.verify.is_some())
}

/// The failure the sandbox is acting out.
#[server]
pub async fn sandbox_current_fault() -> Result<SandboxFault, AppError> {
    let sandbox = super::service::current()?;
    Ok(sandbox.fault.get())
}

/// Switches the sandbox to act out a failure (`none` to behave again).
#[server]
pub async fn sandbox_set_fault(fault: String) -> Result<SandboxFault, AppError> {
    use crate::error::FormField;
    let sandbox = super::service::current()?;
    let fault = SandboxFault::parse(&fault)
        .ok_or_else(|| AppError::field(FormField::Fault, "Choose one of the listed behaviours."))?;
    sandbox.fault.set(fault);
    tracing::info!(fault = fault.as_str(), "sandbox fault switched");
    Ok(fault)
}
