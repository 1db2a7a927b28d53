//! Everything that runs only on the server, in folders that follow the architecture:
//!
//! - [`http`]: the HTTP edge: start-up, routes, middlewares, the web guard, the one reader
//!   of a server function's request ([`http::request`]), readiness, assets, telemetry.
//! - [`domain`]: what the app does: accounts, sessions and passwords, payments, passkeys,
//!   push devices, step-up codes, the provider's callbacks, the audit trail.
//! - [`entities`]: what is stored, as the domain sees it (users, sessions, payments,
//!   passkeys); `db` converts its rows into these once.
//! - [`limits`]: per-address buckets and the database-backed code budgets.
//! - [`providers`]: the second-factor provider trait and its clients (Authy, Verify v2).
//! - [`db`] (the database and its queries, the callbacks' group commit), [`config`],
//!   [`jobs`] (the background sweep), [`clock`], [`phone_number`].
//!
//! The state every request shares ([`AppState`]) is here.

mod allocator;
pub mod config;
pub(crate) mod db;
pub(crate) mod domain;
pub(crate) mod entities;
pub mod http;
pub(crate) mod jobs;
pub mod limits;
pub mod providers;

use std::sync::Arc;

pub use allocator::Allocator;

use axum::extract::FromRef;
use leptos::prelude::*;
use sqlx::AnyPool;

use crate::error::{AppError, ProviderTrouble};
use crate::sandbox::service::Sandbox;
use config::Config;
use providers::ProviderError;

pub use jobs::{holds_lease, sweep};

pub use http::routes::router;
pub use http::startup::{prepare, prepare_with, run, serve, serve_with, without_delay};

/// What start-up prepares: the app's state, and the sandbox when no provider is configured
/// (a guest with a state of its own, which the app reaches only over HTTP).
#[derive(Clone)]
pub struct Services {
    pub app: AppState,
    pub sandbox: Option<Sandbox>,
}

/// Everything a request handler or server function needs ([`Shared`]), cloned per
/// request: each clone is one reference count (a request clones it several times: the
/// middleware, the server function's context, the handler).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// This copy's own [`Shared`], for a test that changes it (say, a provider): copied
    /// first if the app or anything else holds the same one.
    #[cfg(feature = "testing")]
    pub fn make_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// leptos_axum's file and page handlers take the options from the router's state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for AnyPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

/// What [`AppState`] holds, made once at start-up.
#[derive(Clone)]
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: AnyPool,
    /// The hot reads' own connections (the status poll, sessions, My payments' page),
    /// given back without sqlx's ping.
    pub readers: db::readers::Readers,
    /// The hot write transactions' pool ([`db::own_writer`]): one connection on SQLite.
    pub writer: AnyPool,
    /// Signed callbacks, recorded many to a transaction on `writer`.
    pub callbacks: db::group_commit::CallbackRecorder,
    pub config: Arc<Config>,
    /// The provider clients (pointed at the sandbox when no provider is configured); each
    /// account uses the one it was registered with.
    pub providers: providers::Providers,
    /// The Verify client, when Verify is configured (its events route needs more of it
    /// than the `Provider` trait says).
    pub verify: Option<Arc<providers::verify::VerifyClient>>,
    /// Password hashing, bounded to one hash per core.
    pub passwords: Arc<domain::passwords::Passwords>,
    /// Per-client-address token buckets (this instance's).
    pub client_limiter: Arc<limits::client_limits::ClientLimiter>,
    /// Callbacks refused before their signature was checked, counted per minute.
    pub callback_refusals: Arc<domain::webhook::RefusalCounter>,
    /// This instance's name among several on one database (for job leases).
    pub instance: Arc<str>,
    /// Starting, ready or stopping (`/readyz`).
    pub readiness: Arc<http::readiness::Readiness>,
    /// The WebAuthn relying party `PUBLIC_URL` names (none when its host is an address).
    pub passkeys: Option<Arc<webauthn_rs::Webauthn>>,
}

pub use crate::error::{internal, OrInternal};

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
        } => AppError::ProviderUnavailable(ProviderTrouble::Busy),
        ProviderError::TooManySends => AppError::ProviderUnavailable(ProviderTrouble::TooManySends),
        ProviderError::Unavailable(_) => AppError::ProviderUnavailable(ProviderTrouble::Down),
        ProviderError::WrongCode
        | ProviderError::CodeExpired
        | ProviderError::InvalidPhone
        | ProviderError::Landline
        | ProviderError::BlockedCountry
        | ProviderError::TooManyChecks
        | ProviderError::Refused(_) => AppError::ProviderUnavailable(ProviderTrouble::Refused),
    }
}
