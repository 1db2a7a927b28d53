//! Push approvals with Twilio Verify: adding the person's phone as a push device (after a
//! fresh SMS code) and removing it.

use leptos::prelude::*;

use crate::error::AppError;

/// Sends the SMS code that confirms the phone before it is added for push approvals.
#[server]
pub async fn send_push_device_code() -> Result<(), AppError> {
    use crate::server::{
        domain::push_devices,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::CodeSend).await?;
    push_devices::send_code(&ctx.state, &ctx.caller, &ctx.user).await
}

/// Checks the SMS code; returns the enrolment code the phone app takes.
#[server]
pub async fn start_push_device(code: String) -> Result<String, AppError> {
    use crate::server::{
        domain::push_devices,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::CodeCheck).await?;
    push_devices::enrolment_token(&ctx.state, &ctx.caller, &ctx.user, &code).await
}

/// Whether the caller's phone is added for push approvals (`None`: not with this account).
#[server]
pub async fn push_device_status() -> Result<Option<bool>, AppError> {
    use crate::server::{
        domain::push_devices,
        http::request::{self, Limit},
    };
    let ctx = request::verified(Limit::None).await?;
    Ok(push_devices::status(&ctx.user))
}

/// Removes the caller's push device.
#[server]
pub async fn remove_push_device() -> Result<(), AppError> {
    use crate::server::{
        domain::push_devices,
        http::request::{self, Limit},
    };
    // One factor per account: once removed, there is nothing left to send the provider.
    let ctx = request::verified(Limit::None).await?;
    push_devices::remove(&ctx.state, &ctx.caller, &ctx.user).await
}
