//! Verify Push: adding the person's phone as a push device from the account page (after a
//! fresh SMS code), and removing it. Payfriend hands out an access token for the person's
//! entity; the operator's phone app (Twilio's SDK; in development the sandbox phone) creates
//! and verifies the factor with it, and Payfriend records the factor when Verify's
//! `factor.verified` event arrives (`verify::events`).

use crate::model::AuditOutcome;
use crate::server::OrInternal;
use crate::server::{
    config::ProviderKind,
    db,
    domain::audit,
    domain::sessions::Caller,
    domain::step_up::{self, StepUp},
    entities::User,
    provider_error,
    providers::ProviderError,
    AppState,
};
use crate::{error::AppError, model::AuditKind};

/// What the account page shows: `None` for an account whose provider enrols devices on its
/// own (Authy), else whether a push factor is recorded.
pub fn status(user: &User) -> Option<bool> {
    (user.provider_kind() == ProviderKind::Verify).then(|| user.push_factor().is_some())
}

fn verify_account(state: &AppState, user: &User) -> Result<(), AppError> {
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    if user.provider_kind() != ProviderKind::Verify || state.verify.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Step 1: the SMS code that confirms the phone before a push device is added.
pub async fn send_code(state: &AppState, caller: &Caller, user: &User) -> Result<(), AppError> {
    verify_account(state, user)?;
    step_up::send(state, caller, user, StepUp::AddPushDevice).await
}

/// Step 2: with the code right, an access token the phone app enrols with (it lives five
/// minutes).
pub async fn enrolment_token(
    state: &AppState,
    caller: &Caller,
    user: &User,
    code: &str,
) -> Result<String, AppError> {
    verify_account(state, user)?;
    step_up::check(state, caller, user, StepUp::AddPushDevice, code).await?;
    let client = state.verify.as_ref().ok_or(AppError::NotFound)?;
    let token = client
        .access_token(user.id.as_str(), "Payfriend")
        .await
        .map_err(|e| provider_error("create access token", ProviderError::from(e)))?;
    audit::log(
        state,
        caller.client,
        Some(&user.id),
        None,
        AuditKind::PushDevice,
        AuditOutcome::Enrolment,
        "access token issued",
    )
    .await;
    Ok(token)
}

/// Removes the person's push device: the factor is deleted at Verify, then forgotten here
/// (payments then go to SMS code and passkey).
pub async fn remove(state: &AppState, caller: &Caller, user: &User) -> Result<(), AppError> {
    verify_account(state, user)?;
    let Some(factor) = user.push_factor() else {
        return Ok(());
    };
    let client = state.verify.as_ref().ok_or(AppError::NotFound)?;
    client
        .delete_factor(user.id.as_str(), factor)
        .await
        .map_err(|e| provider_error("delete push factor", ProviderError::from(e)))?;
    db::users::set_push_factor(&state.db, &user.id, None)
        .await
        .or_internal("forget push factor")?;
    audit::log(
        state,
        caller.client,
        Some(&user.id),
        None,
        AuditKind::PushDevice,
        AuditOutcome::Removed,
        "",
    )
    .await;
    Ok(())
}
