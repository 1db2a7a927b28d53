//! Everything that runs only on the server. The state every request shares is here;
//! start-up, the routes, the middlewares and the background jobs have files of their own.

pub mod accounts;
pub(crate) mod assets;
pub(crate) mod audit;
pub mod auth;
pub mod authy;
pub(crate) mod client_limits;
pub mod clock;
pub(crate) mod code_limits;
pub mod config;
pub mod db;
pub(crate) mod group_commit;
pub(crate) mod jobs;
mod middleware;
pub mod passkeys;
pub mod payments;
pub(crate) mod phone_number;
pub mod provider;
pub mod readiness;
pub(crate) mod request;
pub(crate) mod routes;
pub(crate) mod startup;
pub mod telemetry;
pub(crate) mod web_guard;
pub mod webhook;

use std::{fmt, sync::Arc};

/// The server's allocator (the binary's global allocator; the bench measures with it too):
/// a request allocates and frees many small objects on whichever worker thread runs it,
/// where glibc's malloc spent a fifth of the hot paths' time.
pub use mimalloc::MiMalloc as Allocator;

use axum::extract::FromRef;
use leptos::prelude::*;
use sqlx::AnyPool;

use crate::error::AppError;
use config::Config;
use provider::{Provider, ProviderError};

pub use jobs::{holds_lease, sweep};
pub use request::state;
pub use routes::router;
pub use startup::{prepare, prepare_with, run, serve, serve_with, without_delay, Services};

/// Everything a request handler or server function needs, cloned cheaply per request.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: AnyPool,
    /// The hot write transactions' pool ([`db::writer_for`]): one connection on SQLite.
    #[from_ref(skip)]
    pub writer: AnyPool,
    /// Signed callbacks, recorded many to a transaction on `writer`.
    pub callbacks: group_commit::CallbackRecorder,
    pub config: Arc<Config>,
    /// The provider client (pointed at the sandbox when no provider is configured).
    pub provider: Arc<dyn Provider>,
    /// Password hashing, bounded to one hash per core.
    pub passwords: Arc<auth::Passwords>,
    /// Per-client-address token buckets (this instance's).
    pub client_limiter: Arc<client_limits::ClientLimiter>,
    /// Callbacks refused before their signature was checked, counted per minute.
    pub callback_refusals: Arc<webhook::RefusalCounter>,
    /// This instance's name among several on one database (for job leases).
    pub instance: Arc<str>,
    /// Starting, ready or stopping (`/readyz`).
    pub readiness: Arc<readiness::Readiness>,
    /// The WebAuthn relying party `PUBLIC_URL` names (none when its host is an address).
    pub passkeys: Option<Arc<webauthn_rs::Webauthn>>,
}

/// Logs an internal failure with its context and returns the error the browser may see.
pub fn internal(context: &str, error: impl fmt::Display) -> AppError {
    tracing::error!(context, error = %error, "internal error");
    AppError::Internal
}

/// Logs a provider failure and returns a message the user can act on.
pub fn provider_error(context: &str, error: ProviderError) -> AppError {
    tracing::warn!(context, error = %error, "provider call failed");
    AppError::ProviderUnavailable(match error {
        ProviderError::RateLimited => {
            "too many requests, please wait a minute and try again".to_string()
        }
        ProviderError::Unavailable(_) => "please try again in a minute".to_string(),
        ProviderError::WrongCode
        | ProviderError::CodeExpired
        | ProviderError::InvalidPhone
        | ProviderError::Refused(_) => "the request was refused, please try again".to_string(),
    })
}
