//! The server-function layer's access to the request: the only code that reads Leptos'
//! request context. Each server function states its policy in one line, the bucket it
//! spends and who may call it:
//!
//! ```ignore
//! let ctx = request::verified(Limit::SendPayment).await?;
//! ```
//!
//! and hands the domain plain arguments (the state, the caller, the user); the domain asks
//! for cookies through a [`CookieJar`] that [`send_cookies`] puts on the answer.

use axum::http::{header, request::Parts, HeaderValue, Method};
use leptos::prelude::*;

use crate::error::AppError;
pub use crate::server::limits::client_limits::Limit;
use crate::server::{
    domain::sessions::{self, Caller, CookieJar, SessionOfPage},
    entities::User,
    http::web_guard,
    internal,
    limits::client_limits,
    AppState,
};

/// A server function's request once its policy holds: the state and who is calling.
pub struct Request {
    pub state: AppState,
    pub caller: Caller,
}

/// A request from a signed-in person whose phone is verified, in a live session.
pub struct Verified {
    pub state: AppState,
    pub caller: Caller,
    pub user: User,
    /// When the session signed in.
    pub signed_in_at: i64,
}

/// Anyone may call: spends `limit` from the caller's per-address bucket (429 when empty).
pub fn anyone(limit: Limit) -> Result<Request, AppError> {
    let state = use_context::<AppState>().ok_or_else(|| internal("app state", "not in context"))?;
    let caller = caller(&state);
    client_limits::check(&state.client_limiter, limit, caller.client)?;
    Ok(Request { state, caller })
}

/// Spends `limit`, then needs a signed-in person with a verified phone (`NotSignedIn`,
/// `SessionExpired` or `PhoneNotVerified` otherwise). The request counts as the person's
/// activity.
pub async fn verified(limit: Limit) -> Result<Verified, AppError> {
    let Request { state, caller } = anyone(limit)?;
    let session = sessions::require_verified_session(&state, &caller).await?;
    Ok(Verified {
        user: session.user,
        signed_in_at: session.created_at,
        state,
        caller,
    })
}

/// Who is calling: the client's address, the session cookie, and the page's session memo
/// when the request renders a page.
fn caller(state: &AppState) -> Caller {
    let Some(parts) = use_context::<Parts>() else {
        return Caller::default();
    };
    let mut caller = Caller::from_request(
        state,
        &parts.headers,
        client_limits::client_of(&parts, &state.config.trusted_proxies),
    );
    caller.page = renders_a_page(&parts)
        .then(use_context::<SessionOfPage>)
        .flatten();
    caller
}

/// Whether the request being answered renders a page (a GET: its parts are provided
/// first, on its own reactive owner). A page's memo is never handed to anything else: a
/// server function the browser calls is a POST (and runs under its request's own root,
/// `middleware::own_reactive_root`, so a lookup cannot climb to another request's memo).
fn renders_a_page(parts: &Parts) -> bool {
    parts.method == Method::GET
}

/// What every page render and server function gets in its context: the page's security
/// policy with this request's nonce, and, for a page, its session memo.
pub fn provide_page_context() {
    let parts = use_context::<Parts>();
    if parts.as_ref().is_some_and(renders_a_page) {
        provide_context(SessionOfPage::default());
    }
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&web_guard::page_policy(&nonce.to_string())) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Sends the cookies the domain set with the answer.
pub fn send_cookies(jar: CookieJar) {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    for value in jar.into_values() {
        response.append_header(header::SET_COOKIE, value);
    }
}
