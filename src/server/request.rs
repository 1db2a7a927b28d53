//! The server-function layer's access to the request: the only code that reads Leptos'
//! request context. It hands the domain what it needs as plain arguments (the state, the
//! caller) and applies what the domain asks of the answer (cookies).

use leptos::prelude::*;

use super::{
    auth::{Caller, CookieJar},
    client_limits, internal, AppState,
};
use crate::error::AppError;

/// The app state inside a server function.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("app state", "not in context"))
}

/// Who is calling: the client's address and the session cookie.
pub fn caller(state: &AppState) -> Caller {
    match use_context::<axum::http::request::Parts>() {
        Some(parts) => Caller::from_request(
            state,
            &parts.headers,
            client_limits::client_of(&parts, &state.config.trusted_proxies),
        ),
        None => Caller::default(),
    }
}

/// Takes a token from the caller's bucket for `action` (429 when it is empty).
pub fn limit(
    state: &AppState,
    caller: &Caller,
    action: client_limits::Action,
) -> Result<(), AppError> {
    client_limits::check(&state.client_limiter, action, caller.client)
}

/// Sends the cookies the domain set with the answer.
pub fn send_cookies(jar: CookieJar) {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    for value in jar.into_values() {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
}
