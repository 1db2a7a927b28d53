//! Accounts: registration, phone verification, sign-in and sign-out.
//!
//! Each function reads the request once (`server::request`) and hands the domain plain
//! arguments: the state, the caller, and a cookie jar whose cookies go with the answer.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SessionUser;

/// The signed-in user, if any.
#[server]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    use crate::server::{auth, passkeys, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let Some(user) = auth::current_user(&state, &caller).await? else {
        return Ok(None);
    };
    Ok(Some(SessionUser {
        push_device: crate::server::push_devices::status(&user),
        phone_verified: user.is_verified(),
        passkeys: passkeys::count(&state, &user).await?,
        email: user.email.to_string(),
        phone: user.phone_e164,
        sandbox: state.config.sandbox_enabled(),
        currency: state.config.currency.clone(),
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
        accounts::{self, Registration},
        auth::CookieJar,
        client_limits::Action,
        request,
    };
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::Register)?;
    let mut jar = CookieJar::default();
    let form = Registration {
        email,
        password,
        country,
        phone,
        via,
    };
    let registered = accounts::register(&state, &caller, &mut jar, form).await;
    request::send_cookies(jar);
    registered?;
    leptos_axum::redirect("/verify");
    Ok(())
}

/// Checks the phone verification code, then goes to Send a payment.
#[server]
pub async fn verify_phone(code: String) -> Result<(), AppError> {
    use crate::server::{accounts, client_limits::Action, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::PhoneVerify)?;
    accounts::verify_phone(&state, &caller, &code).await?;
    leptos_axum::redirect("/payments/new");
    Ok(())
}

/// Sends a new phone verification code.
#[server]
pub async fn resend_code() -> Result<(), AppError> {
    use crate::server::{accounts, client_limits::Action, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::CodeResend)?;
    accounts::resend_code(&state, &caller).await
}

/// Signs in, then goes to Send a payment (or to phone verification when still needed).
#[server]
pub async fn log_in(email: String, password: String) -> Result<(), AppError> {
    use crate::server::{accounts, auth::CookieJar, client_limits::Action, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    request::limit(&state, &caller, Action::SignIn)?;
    let mut jar = CookieJar::default();
    let signed_in = accounts::log_in(&state, &caller, &mut jar, &email, &password).await;
    request::send_cookies(jar);
    let verified = signed_in?;
    leptos_axum::redirect(if verified { "/payments/new" } else { "/verify" });
    Ok(())
}

/// Signs out and goes to the start page.
#[server]
pub async fn log_out() -> Result<(), AppError> {
    use crate::server::{auth, request};
    let state = request::state()?;
    let caller = request::caller(&state);
    let mut jar = auth::CookieJar::default();
    auth::end_session(&state, &caller, &mut jar).await?;
    request::send_cookies(jar);
    leptos_axum::redirect("/");
    Ok(())
}
