//! The second-factor provider as the domain sees it: a small trait with typed outcomes.
//! Only its implementations (`authy::AuthyClient`, the Authy API; `verify::VerifyClient`,
//! Twilio Verify v2) know a wire protocol, its error codes and its status strings; a test
//! double implements the same trait without touching the domain.
//!
//! Every account belongs to one provider (the one it was registered with): [`Providers`]
//! holds the clients and picks the account's.

pub mod authy;
pub mod verify;

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::AppError;
use crate::model::{UserId, Via};
use crate::server::config::ProviderKind;
use crate::server::entities::User;
pub use crate::server::providers::authy::client::{Logo, NewApprovalRequest};
use crate::shared::sid::{FactorSid, VerificationSid};

/// Why a provider call did not succeed, in the domain's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The code the person typed is not the one sent.
    #[error("the code is not correct")]
    WrongCode,
    /// The code expired, or none is pending.
    #[error("the code expired or none is pending")]
    CodeExpired,
    /// The provider will not send to this phone number.
    #[error("the phone number is invalid")]
    InvalidPhone,
    /// The number is a landline: no SMS can reach it.
    #[error("the phone number is a landline")]
    Landline,
    /// The provider does not send to this number's country (or prefix) for this service.
    #[error("the phone number's country is blocked")]
    BlockedCountry,
    /// Every check of this code was used.
    #[error("too many checks of this code")]
    TooManyChecks,
    /// Every send of this code was used.
    #[error("too many codes sent")]
    TooManySends,
    /// The provider's own rate limit was reached; it may say when to try again.
    #[error("too many requests to the provider")]
    RateLimited { retry_after_secs: Option<u64> },
    /// Any other refusal, with the provider's message (for the logs).
    #[error("refused by the provider: {0}")]
    Refused(String),
    /// No usable answer: timeout, refused connection, an answer that is not understood.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

/// Where a push approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    Expired,
}

/// A push approval request as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub status: ApprovalStatus,
    /// The payment named in the request's hidden details, when the provider returns them.
    pub payment_id: Option<String>,
}

/// A phone number in both forms the providers use.
#[derive(Debug, Clone, Copy)]
pub struct Phone<'a> {
    pub e164: &'a str,
    pub country_code: &'a str,
    pub national: &'a str,
}

/// The person a call is about: who they are at each provider.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub user_id: &'a UserId,
    pub phone: Phone<'a>,
    /// Authy's id for the person.
    pub authy_id: Option<authy::AuthyId>,
    /// Verify's push factor on the person's phone, if they added one.
    pub push_factor: Option<&'a FactorSid>,
}

impl<'a> Person<'a> {
    /// The person of an account.
    pub fn of(user: &'a User) -> Self {
        Person {
            user_id: &user.id,
            phone: Phone {
                e164: &user.phone.e164,
                country_code: &user.phone.country_code,
                national: &user.phone.national,
            },
            authy_id: user.authy_id(),
            push_factor: user.push_factor(),
        }
    }
}

/// A one-time code bound to exactly what it approves.
#[derive(Debug, Clone, Copy)]
pub struct BoundCode<'a> {
    /// Authy's `action`: names the payment (or the step) with its amount and payee.
    pub action: &'a str,
    /// What the SMS says is approved (Authy's `action_message`).
    pub message: &'a str,
    /// Verify's PSD2 `Amount` and `Payee`: the same bytes at start and at check.
    pub amount: &'a str,
    pub payee: &'a str,
}

/// What Payfriend asks of a second-factor provider.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;

    /// Sends a phone verification code by SMS or voice call; returns the provider's handle
    /// of the verification, if it has one (Verify's `VE...` SID).
    async fn start_verification(
        &self,
        phone: Phone<'_>,
        via: Via,
    ) -> Result<Option<VerificationSid>, ProviderError>;

    /// Checks a phone verification code (of the verification `handle`, if there is one).
    async fn check_verification(
        &self,
        phone: Phone<'_>,
        handle: Option<&VerificationSid>,
        code: &str,
    ) -> Result<(), ProviderError>;

    /// Registers a person once their phone is verified; returns Authy's id for them
    /// (`None` for a provider without registration).
    async fn register_user(
        &self,
        email: &str,
        phone: Phone<'_>,
    ) -> Result<Option<authy::AuthyId>, ProviderError>;

    /// Sends a push approval request to the person's phone; returns its id, or `None`
    /// when the person has no phone that takes push requests (passkey and SMS remain).
    async fn create_approval_request(
        &self,
        person: Person<'_>,
        request: &NewApprovalRequest,
    ) -> Result<Option<String>, ProviderError>;

    /// Where a push approval request of this user stands.
    async fn approval(&self, user_id: &UserId, id: &str) -> Result<Approval, ProviderError>;

    /// Sends a one-time code by SMS, bound to `code`; returns the provider's handle of it,
    /// if it has one. `previous` is the handle of the person's last code of any kind, which
    /// a provider that keeps one code per phone cancels first.
    async fn send_sms_token(
        &self,
        person: Person<'_>,
        code: BoundCode<'_>,
        previous: Option<&VerificationSid>,
    ) -> Result<Option<VerificationSid>, ProviderError>;

    /// Checks a one-time code sent for `code` (with the handle `send_sms_token` returned).
    async fn verify_token(
        &self,
        person: Person<'_>,
        token: &str,
        code: BoundCode<'_>,
        handle: Option<&VerificationSid>,
    ) -> Result<(), ProviderError>;

    /// Withdraws a code not used yet (a cancelled payment's), where the provider can.
    async fn cancel_code(&self, _handle: &VerificationSid) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// The provider clients this app has: new accounts go to the configured one; every
/// account keeps the provider it was registered with.
#[derive(Clone)]
pub struct Providers {
    /// `PAYFRIEND_PROVIDER`.
    pub default: ProviderKind,
    pub authy: Option<Arc<dyn Provider>>,
    pub verify: Option<Arc<dyn Provider>>,
}

impl Providers {
    /// The client of a provider, if configured.
    pub fn get(&self, kind: ProviderKind) -> Option<&Arc<dyn Provider>> {
        match kind {
            ProviderKind::Authy => self.authy.as_ref(),
            ProviderKind::Verify => self.verify.as_ref(),
        }
    }

    /// The provider new accounts are registered with.
    pub fn for_new(&self) -> Result<&Arc<dyn Provider>, AppError> {
        self.get(self.default)
            .ok_or_else(|| unconfigured(self.default))
    }

    /// The provider of this account.
    pub fn for_user(&self, user: &User) -> Result<&Arc<dyn Provider>, AppError> {
        let kind = user.provider_kind();
        self.get(kind).ok_or_else(|| unconfigured(kind))
    }

    /// Replaces one provider's client (tests wrap them).
    pub fn set(&mut self, kind: ProviderKind, client: Arc<dyn Provider>) {
        match kind {
            ProviderKind::Authy => self.authy = Some(client),
            ProviderKind::Verify => self.verify = Some(client),
        }
    }
}

fn unconfigured(kind: ProviderKind) -> AppError {
    tracing::error!(
        provider = kind.as_str(),
        "an account belongs to a provider this server is not configured for"
    );
    AppError::ProviderUnavailable(crate::error::ProviderTrouble::NotConfigured)
}
