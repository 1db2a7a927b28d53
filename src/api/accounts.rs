//! Accounts: registration, phone verification, sign-in and sign-out.
//!
//! Each function's first line is its policy (`server::http::request`); the domain gets the
//! state, the caller, and a cookie jar whose cookies go with the answer.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SessionUser;

/// The signed-in user, if any.
#[server]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    use crate::server::{
        domain::passkeys,
        domain::push_devices,
        domain::sessions,
        http::request::{self, Limit},
    };
    let ctx = request::anyone(Limit::None)?;
    let state = &ctx.state;
    let Some(user) = sessions::current_user(state, &ctx.caller).await? else {
        return Ok(None);
    };
    Ok(Some(SessionUser {
        push_device: push_devices::status(&user),
        phone_verified: user.is_verified(),
        passkeys: passkeys::count(state, &user).await?,
        email: user.email.to_string(),
        phone: user.phone.e164,
        sandbox: state.config.sandbox_enabled(),
        currency: state.config.currency,
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
    use crate::server::{
        domain::accounts::{self, Registration},
        domain::sessions::CookieJar,
        http::request::{self, Limit},
    };
    let ctx = request::anyone(Limit::Register)?;
    let mut jar = CookieJar::default();
    let form = Registration {
        email,
        password,
        country,
        phone,
        via,
    };
    let registered = accounts::register(&ctx.state, &ctx.caller, &mut jar, form).await;
    request::send_cookies(jar);
    registered?;
    leptos_axum::redirect("/verify");
    Ok(())
}

/// Checks the phone verification code, then goes to Send a payment.
#[server]
pub async fn verify_phone(code: String) -> Result<(), AppError> {
    use crate::server::{
        domain::accounts,
        http::request::{self, Limit},
    };
    let ctx = request::anyone(Limit::CodeCheck)?;
    accounts::verify_phone(&ctx.state, &ctx.caller, &code).await?;
    leptos_axum::redirect("/payments/new");
    Ok(())
}

/// Sends a new phone verification code.
#[server]
pub async fn resend_code() -> Result<(), AppError> {
    use crate::server::{
        domain::accounts,
        http::request::{self, Limit},
    };
    let ctx = request::anyone(Limit::CodeSend)?;
    accounts::resend_code(&ctx.state, &ctx.caller).await
}

/// Signs in, then goes to Send a payment (or to phone verification when still needed).
#[server]
pub async fn log_in(email: String, password: String) -> Result<(), AppError> {
    use crate::server::{
        domain::accounts,
        domain::sessions::CookieJar,
        http::request::{self, Limit},
    };
    let ctx = request::anyone(Limit::SignIn)?;
    let mut jar = CookieJar::default();
    let signed_in = accounts::log_in(&ctx.state, &ctx.caller, &mut jar, &email, &password).await;
    request::send_cookies(jar);
    let verified = signed_in?;
    leptos_axum::redirect(if verified { "/payments/new" } else { "/verify" });
    Ok(())
}

/// Signs out and goes to the start page.
#[server]
pub async fn log_out() -> Result<(), AppError> {
    use crate::server::{
        domain::sessions::{self, CookieJar},
        http::request::{self, Limit},
    };
    let ctx = request::anyone(Limit::None)?;
    let mut jar = CookieJar::default();
    sessions::end_session(&ctx.state, &ctx.caller, &mut jar).await?;
    request::send_cookies(jar);
    leptos_axum::redirect("/");
    Ok(())
}
