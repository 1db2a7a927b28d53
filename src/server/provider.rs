//! The second-factor provider as the domain sees it: a small trait with typed outcomes.
//! Only its implementation (`authy::AuthyClient`, the Authy API over HTTP) knows the wire
//! protocol, its error codes and its status strings; a second provider, or a test double,
//! implements the same trait without touching the domain.

use async_trait::async_trait;

pub use super::authy::client::{Logo, NewApprovalRequest};
use crate::model::Via;

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
    /// The provider's own rate limit was reached.
    #[error("too many requests to the provider")]
    RateLimited,
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

/// What Payfriend asks of a second-factor provider.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Sends a phone verification code by SMS or voice call.
    async fn start_verification(
        &self,
        country_code: &str,
        phone_number: &str,
        via: Via,
    ) -> Result<(), ProviderError>;

    /// Checks a phone verification code.
    async fn check_verification(
        &self,
        country_code: &str,
        phone_number: &str,
        code: &str,
    ) -> Result<(), ProviderError>;

    /// Registers a person; returns their provider id (`authy_id`).
    async fn register_user(
        &self,
        email: &str,
        cellphone: &str,
        country_code: &str,
    ) -> Result<i64, ProviderError>;

    /// Sends a push approval request to the person's phone; returns its uuid.
    async fn create_approval_request(
        &self,
        authy_id: i64,
        request: &NewApprovalRequest,
    ) -> Result<String, ProviderError>;

    /// Where a push approval request stands.
    async fn approval_status(&self, uuid: &str) -> Result<ApprovalStatus, ProviderError>;

    /// Sends a one-time code by SMS, bound to `action`.
    async fn send_sms_token(
        &self,
        authy_id: i64,
        action: &str,
        action_message: &str,
    ) -> Result<(), ProviderError>;

    /// Checks a one-time code sent for `action`.
    async fn verify_token(
        &self,
        authy_id: i64,
        token: &str,
        action: &str,
    ) -> Result<(), ProviderError>;
}
