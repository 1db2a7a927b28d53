//! Accounts: registration, phone verification, sign-in and sign-out.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SessionUser;

/// The signed-in user, if any.
#[server]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    let state = crate::server::state()?;
    let user = crate::server::auth::current_user(&state).await?;
    Ok(user.map(|u| SessionUser {
        phone_verified: u.is_verified(),
        email: u.email,
        phone: u.phone_e164,
    }))
}

/// Creates an account and sends the phone verification code, then goes to `/verify`.
#[server]
pub async fn register(
    email: String,
    password: String,
    country: String,
    phone: String,
    via: String,
) -> Result<(), AppError> {
    use crate::server::accounts::{self, Registration};
    let state = crate::server::state()?;
    crate::server::limit_client(&state, crate::server::client_limits::Action::Register)?;
    accounts::register(
        &state,
        Registration {
            email,
            password,
            country,
            phone,
            via,
        },
    )
    .await?;
    leptos_axum::redirect("/verify");
    Ok(())
}

/// Checks the phone verification code, then goes to Send a payment.
#[server]
pub async fn verify_phone(code: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    crate::server::limit_client(&state, crate::server::client_limits::Action::PhoneVerify)?;
    crate::server::accounts::verify_phone(&state, &code).await?;
    leptos_axum::redirect("/payments/new");
    Ok(())
}

/// Sends a new phone verification code.
#[server]
pub async fn resend_code() -> Result<(), AppError> {
    let state = crate::server::state()?;
    crate::server::limit_client(&state, crate::server::client_limits::Action::CodeResend)?;
    crate::server::accounts::resend_code(&state).await
}

/// Signs in, then goes to Send a payment (or to phone verification when still needed).
#[server]
pub async fn log_in(email: String, password: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    crate::server::limit_client(&state, crate::server::client_limits::Action::SignIn)?;
    let verified = crate::server::accounts::log_in(&state, &email, &password).await?;
    leptos_axum::redirect(if verified { "/payments/new" } else { "/verify" });
    Ok(())
}

/// Signs out and goes to the start page.
#[server]
pub async fn log_out() -> Result<(), AppError> {
    let state = crate::server::state()?;
    crate::server::auth::end_session(&state).await?;
    leptos_axum::redirect("/");
    Ok(())
}
