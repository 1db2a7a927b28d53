//! Passkeys: adding one (after a fresh SMS code), listing and removing them, and
//! approving a payment with one. Each ceremony is two calls around the browser's WebAuthn
//! prompt: one that starts it and one that sends the authenticator's answer.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{PasskeyCeremony, PasskeyView, PaymentId, PaymentStatus};

/// The caller's passkeys, oldest first.
#[server]
pub async fn list_passkeys() -> Result<Vec<PasskeyView>, AppError> {
    use crate::server::{
        domain::passkeys,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::None).await?;
    passkeys::list(&ctx.state, &ctx.user).await
}

/// Sends the SMS code that confirms the phone before a passkey is added.
#[server]
pub async fn send_passkey_code() -> Result<(), AppError> {
    use crate::server::{
        domain::passkeys,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::CodeSend).await?;
    passkeys::send_add_code(&ctx.state, &ctx.caller, &ctx.user).await
}

/// Checks the SMS code and starts adding a passkey named `name`.
#[server]
pub async fn start_add_passkey(name: String, code: String) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{
        domain::passkeys,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::CodeCheck).await?;
    passkeys::start_add(&ctx.state, &ctx.caller, &ctx.user, &name, &code).await
}

/// Stores the passkey the browser created (`credential`: its JSON form).
#[server]
pub async fn finish_add_passkey(
    challenge_id: String,
    credential: String,
) -> Result<PasskeyView, AppError> {
    use crate::server::{
        domain::passkeys,
        http::request::{self, Limit},
    };
    // Only after a checked code: the ceremony's one-time challenge is the limit.
    let ctx = request::verified(Limit::None).await?;
    passkeys::finish_add(
        &ctx.state,
        &ctx.caller,
        &ctx.user,
        &challenge_id,
        &credential,
    )
    .await
}

/// Removes one of the caller's passkeys.
#[server]
pub async fn remove_passkey(id: String) -> Result<(), AppError> {
    use crate::server::{
        domain::passkeys,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::None).await?;
    passkeys::remove(&ctx.state, &ctx.caller, &ctx.user, &id).await
}

/// Starts approving the caller's pending payment `id` with a passkey.
#[server]
pub async fn start_passkey_approval(id: PaymentId) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{
        domain::passkeys,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::PaymentAnswer).await?;
    passkeys::start_approval(&ctx.state, &ctx.user, &id).await
}

/// Approves payment `id` with the passkey's answer to its challenge.
#[server]
pub async fn finish_passkey_approval(
    id: PaymentId,
    challenge_id: String,
    credential: String,
) -> Result<PaymentStatus, AppError> {
    use crate::server::{
        domain::passkeys,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::PaymentAnswer).await?;
    let (state, caller, user) = (&ctx.state, &ctx.caller, &ctx.user);
    passkeys::finish_approval(state, caller, user, &id, &challenge_id, &credential).await
}
