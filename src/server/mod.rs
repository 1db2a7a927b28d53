//! Everything that runs only on the server. The state every request shares is here;
//! start-up, the routes, the middlewares and the background jobs have files of their own.

pub mod accounts;
pub(crate) mod assets;
pub(crate) mod audit;
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
pub mod passwords;
pub mod payments;
pub(crate) mod phone_number;
pub mod provider;
pub mod push_devices;
pub mod readiness;
pub(crate) mod request;
pub(crate) mod routes;
pub mod sessions;
pub(crate) mod startup;
pub mod step_up;
pub mod telemetry;
pub mod verify;
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
use provider::ProviderError;

pub use jobs::{holds_lease, sweep};

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
    /// The provider clients (pointed at the sandbox when no provider is configured); each
    /// account uses the one it was registered with.
    pub providers: provider::Providers,
    /// The Verify client, when Verify is configured (its events route needs more of it
    /// than the `Provider` trait says).
    pub verify: Option<Arc<verify::VerifyClient>>,
    /// Password hashing, bounded to one hash per core.
    pub passwords: Arc<passwords::Passwords>,
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

/// `result.or_internal("what was being done")`: a failure nobody can act on (the
/// database, a task) is logged with what was being done and becomes `AppError::Internal`.
pub trait OrInternal<T> {
    fn or_internal(self, context: &str) -> Result<T, AppError>;
}

impl<T, E: fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self, context: &str) -> Result<T, AppError> {
        self.map_err(|e| internal(context, e))
    }
}

/// Logs a provider failure and returns a message the user can act on.
pub fn provider_error(context: &str, error: ProviderError) -> AppError {
    tracing::warn!(context, error = %error, "provider call failed");
    match error {
        ProviderError::RateLimited {
            retry_after_secs: Some(secs),
        } => AppError::RateLimited {
            retry_after_secs: secs.max(1),
        },
        ProviderError::RateLimited {
            retry_after_secs: None,
        } => AppError::ProviderUnavailable(
            "too many requests, please wait a minute and try again".to_string(),
        ),
        ProviderError::TooManySends => AppError::ProviderUnavailable(
            "too many codes were sent to this phone, please wait 10 minutes".to_string(),
        ),
        ProviderError::Unavailable(_) => {
            AppError::ProviderUnavailable("please try again in a minute".to_string())
        }
        ProviderError::WrongCode
        | ProviderError::CodeExpired
        | ProviderError::InvalidPhone
        | ProviderError::Landline
        | ProviderError::BlockedCountry
        | ProviderError::TooManyChecks
        | ProviderError::Refused(_) => {
            AppError::ProviderUnavailable("the request was refused, please try again".to_string())
        }
    }
}
