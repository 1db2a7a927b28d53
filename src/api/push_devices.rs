//! Push approvals with Twilio Verify: adding the person's phone as a push device (after a
//! fresh SMS code) and removing it.

use leptos::prelude::*;

use crate::error::AppError;

/// Sends the SMS code that confirms the phone before it is added for push approvals.
#[server]
pub async fn send_push_device_code() -> Result<(), AppError> {
    use crate::server::{auth, client_limits::Action, push_devices, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::CodeResend)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    push_devices::send_code(&state, &caller, &user).await
}

/// Checks the SMS code; returns the enrolment code the phone app takes.
#[server]
pub async fn start_push_device(code: String) -> Result<String, AppError> {
    use crate::server::{auth, client_limits::Action, push_devices, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::PhoneVerify)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    push_devices::enrolment_token(&state, &caller, &user, &code).await
}

/// Whether the caller's phone is added for push approvals (`None`: not with this account).
#[server]
pub async fn push_device_status() -> Result<Option<bool>, AppError> {
    use crate::server::{auth, push_devices, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let user = auth::require_verified_user(&state, &caller).await?;
    Ok(push_devices::status(&user))
}

/// Removes the caller's push device.
#[server]
pub async fn remove_push_device() -> Result<(), AppError> {
    use crate::server::{auth, push_devices, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let user = auth::require_verified_user(&state, &caller).await?;
    push_devices::remove(&state, &caller, &user).await
}
