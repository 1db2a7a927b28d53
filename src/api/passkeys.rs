//! Passkeys: adding one (after a fresh SMS code), listing and removing them, and
//! approving a payment with one. Each ceremony is two calls around the browser's WebAuthn
//! prompt: one that starts it and one that sends the authenticator's answer.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{PasskeyCeremony, PasskeyView, PaymentStatus};

/// The caller's passkeys, oldest first.
#[server]
pub async fn list_passkeys() -> Result<Vec<PasskeyView>, AppError> {
    use crate::server::{auth, passkeys, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let user = auth::require_verified_user(&state, &caller).await?;
    passkeys::list(&state, &user).await
}

/// Sends the SMS code that confirms the phone before a passkey is added.
#[server]
pub async fn send_passkey_code() -> Result<(), AppError> {
    use crate::server::{auth, client_limits::Action, passkeys, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::CodeResend)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    passkeys::send_add_code(&state, &caller, &user).await
}

/// Checks the SMS code and starts adding a passkey named `name`.
#[server]
pub async fn start_add_passkey(name: String, code: String) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{auth, client_limits::Action, passkeys, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::PhoneVerify)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    passkeys::start_add(&state, &caller, &user, &name, &code).await
}

/// Stores the passkey the browser created (`credential`: its JSON form).
#[server]
pub async fn finish_add_passkey(
    challenge_id: String,
    credential: String,
) -> Result<PasskeyView, AppError> {
    use crate::server::{auth, passkeys, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let user = auth::require_verified_user(&state, &caller).await?;
    passkeys::finish_add(&state, &caller, &user, &challenge_id, &credential).await
}

/// Removes one of the caller's passkeys.
#[server]
pub async fn remove_passkey(id: String) -> Result<(), AppError> {
    use crate::server::{auth, passkeys, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let user = auth::require_verified_user(&state, &caller).await?;
    passkeys::remove(&state, &caller, &user, &id).await
}

/// Starts approving the caller's pending payment `id` with a passkey.
#[server]
pub async fn start_passkey_approval(id: String) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{auth, client_limits::Action, passkeys, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::PaymentCode)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    passkeys::start_approval(&state, &user, &payments::parse_id(&id)?).await
}

/// Approves payment `id` with the passkey's answer to its challenge.
#[server]
pub async fn finish_passkey_approval(
    id: String,
    challenge_id: String,
    credential: String,
) -> Result<PaymentStatus, AppError> {
    use crate::server::{auth, client_limits::Action, passkeys, payments, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::PaymentCode)?;
    let user = auth::require_verified_user(&state, &caller).await?;
    let id = payments::parse_id(&id)?;
    passkeys::finish_approval(&state, &caller, &user, &id, &challenge_id, &credential).await
}
