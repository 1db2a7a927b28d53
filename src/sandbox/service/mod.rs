//! The sandbox's server side: the provider's wire protocol (`api`), its SQL (`store`) and
//! the handset the phone page plays (`handset`), over a state of its own.
//!
//! Only mounted when `AUTHY_API_URL` is not set; with a real provider every `/sandbox`
//! path answers 404.

pub mod api;
pub mod handset;
pub mod store;
pub mod verify_api;
pub mod verify_handset;
pub mod verify_store;

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, RwLock,
};

use axum::Router;
use rand::Rng;
use reqwest::Url;
use sqlx::AnyPool;

use super::model::SandboxFault;
use crate::error::AppError;
use crate::shared::secret::Secret;

/// Everything the sandbox needs: its tables, the application's API key (which it checks
/// and signs callbacks with), where callbacks go, and the failure it acts out.
#[derive(Clone, Debug)]
pub struct Sandbox {
    pub db: AnyPool,
    pub api_key: Secret,
    pub callback_url: Url,
    pub http: reqwest::Client,
    pub fault: FaultSwitch,
    /// The provider client's timeout: the `slow` fault answers just after it.
    pub client_timeout_secs: u64,
    /// How many codes the app asked this sandbox to check (phone verification and payment
    /// codes): what an attacker's guesses cost at the provider, for the tests of limits.
    code_checks: Arc<AtomicU64>,
    /// Whether it serves Authy's wire (no `AUTHY_API_URL`).
    authy: bool,
    /// Its Verify v2 service, when the app's Verify settings point at it.
    pub verify: Option<VerifySandbox>,
}

/// The sandbox's Verify service: the credentials it accepts (those the app is configured
/// with), where its events go unless a webhook says otherwise, and how SMS name it.
#[derive(Clone, Debug)]
pub struct VerifySandbox {
    pub account_sid: String,
    pub auth_token: Secret,
    pub api_key: Option<(String, Secret)>,
    pub service_sid: String,
    /// Its own public base URL (`.../sandbox/verify/v2`), for the `url` fields.
    pub base_url: String,
    pub events_url: Url,
    pub friendly_name: String,
}

impl VerifySandbox {
    /// The Basic credentials it accepts: the account's, and the API key's if one is set.
    pub fn credentials(&self) -> Vec<(&str, &str)> {
        let mut pairs = vec![(self.account_sid.as_str(), self.auth_token.expose())];
        if let Some((sid, secret)) = &self.api_key {
            pairs.push((sid.as_str(), secret.expose()));
        }
        pairs
    }
}

/// How the app sets the sandbox up, the way it would sign up with a provider: the keys it
/// will use, where callbacks go, how long its client waits, which wires to serve.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The Authy API key the app calls with (and that signs its callbacks).
    pub api_key: Secret,
    /// Where Authy callbacks go.
    pub callback_url: Url,
    /// The failure to act out from the start.
    pub fault: SandboxFault,
    /// The app's provider client timeout: the `slow` fault answers just after it.
    pub client_timeout_secs: u64,
    /// Whether to serve Authy's wire (the app talks Authy to the sandbox).
    pub serves_authy: bool,
    /// Its Verify v2 service, when the app's Verify settings point at the sandbox.
    pub verify: Option<VerifySandbox>,
}

/// One logo shown with an Authy push request, as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Logo {
    pub res: String,
    pub url: String,
}

impl Sandbox {
    /// The sandbox for these settings, its tables in `db`, calling back with `http`.
    pub fn new(settings: Settings, db: AnyPool, http: reqwest::Client) -> Sandbox {
        Sandbox {
            db,
            api_key: settings.api_key,
            callback_url: settings.callback_url,
            http,
            fault: FaultSwitch::new(settings.fault),
            client_timeout_secs: settings.client_timeout_secs,
            code_checks: Arc::default(),
            authy: settings.serves_authy,
            verify: settings.verify,
        }
    }

    /// Whether it serves Authy's wire.
    pub fn serves_authy(&self) -> bool {
        self.authy
    }

    /// The Verify v2 endpoints, to be nested under `/sandbox/verify/v2`.
    pub fn verify_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        verify_api::routes(self.clone()).with_state(self.clone())
    }

    /// Codes checked so far (every request to check one, whatever its answer).
    pub fn code_checks(&self) -> u64 {
        self.code_checks.load(Ordering::Relaxed)
    }

    fn count_code_check(&self) {
        self.code_checks.fetch_add(1, Ordering::Relaxed);
    }

    /// The provider's endpoints, to be nested under `/sandbox/authy`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        api::routes(self.clone()).with_state(self.clone())
    }
}

/// The sandbox inside one of its server functions; `NotFound` when it is not mounted.
/// Every page and server function gets it as a context (shared, not copied per request).
pub fn current() -> Result<Arc<Sandbox>, AppError> {
    leptos::prelude::use_context::<Arc<Sandbox>>().ok_or(AppError::NotFound)
}

/// The failure the sandbox is acting out, shared by its routes and its phone page.
#[derive(Clone, Debug)]
pub struct FaultSwitch(Arc<RwLock<SandboxFault>>);

impl FaultSwitch {
    /// A switch starting at `fault`.
    pub fn new(fault: SandboxFault) -> Self {
        FaultSwitch(Arc::new(RwLock::new(fault)))
    }

    /// The current fault.
    pub fn get(&self) -> SandboxFault {
        self.0.read().map(|f| *f).unwrap_or(SandboxFault::None)
    }

    /// Switches to another fault.
    pub fn set(&self, fault: SandboxFault) {
        if let Ok(mut f) = self.0.write() {
            *f = fault;
        }
    }
}

/// `n` random decimal digits (leading zeros are part of the code).
pub fn random_digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// Formats an E.164 number for messages, masking all but its last two digits.
pub fn masked_phone(phone_e164: &str) -> String {
    let digits: Vec<char> = phone_e164.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().saturating_sub(2);
    let masked: String = digits
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep { 'X' } else { *c })
        .collect();
    format!("+{masked}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_codes_have_the_asked_length_and_only_digits() {
        for n in [4, 6, 7, 10] {
            let code = random_digits(n);
            assert_eq!(code.len(), n);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn random_codes_differ_between_calls() {
        let codes: std::collections::HashSet<String> = (0..20).map(|_| random_digits(10)).collect();
        assert!(codes.len() > 1, "codes must not be fixed");
    }

    #[test]
    fn masked_phone_keeps_only_the_last_two_digits() {
        assert_eq!(masked_phone("+15555550123"), "+XXXXXXXXX23");
    }
}
