//! What is stored, as the domain sees it: a user and their session, a payment, a passkey
//! and a passkey ceremony's challenge.
//!
//! `db` decodes each row into a row type of its own (every column typed, an unknown stored
//! name a decode error) and converts it into one of these once; nothing past `db` sees a
//! column. The conversion is where the columns become the domain's shapes: an amount and
//! its currency are one [`Money`], a phone's three columns one [`AccountPhone`], the
//! provider and its ids one [`ProviderAccount`] (an Authy account has no Verify SIDs, and
//! the other way round), a challenge's payment columns one [`BoundPayment`] or none.

use crate::model::{DecidedVia, Email, Money, Payee, PaymentId, PaymentStatus, UserId, Via};
use crate::server::config::ProviderKind;
use crate::shared::sid::{AuthyId, FactorSid, VerificationSid};

/// An account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    /// The password's argon2id hash (PHC string).
    pub password_hash: String,
    /// The verified phone, or the one an account not verified yet asks to verify.
    pub phone: AccountPhone,
    /// How its codes are sent (SMS or call).
    pub verify_via: Via,
    pub phone_verified_at: Option<i64>,
    /// The provider it was registered with, and that provider's ids for it.
    pub provider: ProviderAccount,
}

/// An account's phone, split the way the providers want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPhone {
    /// `+15555550123`
    pub e164: String,
    /// Country calling code digits.
    pub country_code: String,
    /// National significant number, leading zeros kept.
    pub national: String,
}

/// The provider an account was registered with, with the ids that provider gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderAccount {
    Authy {
        /// Given when the phone is verified (Authy registers the user then).
        authy_id: Option<AuthyId>,
    },
    Verify {
        /// The newest verification started for the phone.
        verification_sid: Option<VerificationSid>,
        /// The verified push factor, if the person added one.
        push_factor_sid: Option<FactorSid>,
    },
}

impl User {
    /// Which provider the account belongs to.
    pub fn provider_kind(&self) -> ProviderKind {
        match self.provider {
            ProviderAccount::Authy { .. } => ProviderKind::Authy,
            ProviderAccount::Verify { .. } => ProviderKind::Verify,
        }
    }

    /// Authy's id for the person (an Authy account whose phone is verified).
    pub fn authy_id(&self) -> Option<AuthyId> {
        match self.provider {
            ProviderAccount::Authy { authy_id } => authy_id,
            ProviderAccount::Verify { .. } => None,
        }
    }

    /// The newest Verify verification started for the phone.
    pub fn verification_sid(&self) -> Option<&VerificationSid> {
        match &self.provider {
            ProviderAccount::Verify {
                verification_sid, ..
            } => verification_sid.as_ref(),
            ProviderAccount::Authy { .. } => None,
        }
    }

    /// Verify's push factor on the person's phone, if they added one.
    pub fn push_factor(&self) -> Option<&FactorSid> {
        match &self.provider {
            ProviderAccount::Verify {
                push_factor_sid, ..
            } => push_factor_sid.as_ref(),
            ProviderAccount::Authy { .. } => None,
        }
    }

    /// Whether the phone is verified and registered with the provider (both happen at once;
    /// Verify has no registration of its own).
    pub fn is_verified(&self) -> bool {
        self.phone_verified_at.is_some()
            && match self.provider {
                ProviderAccount::Authy { authy_id } => authy_id.is_some(),
                ProviderAccount::Verify { .. } => true,
            }
    }
}

/// A session's user, with when the person signed in and their last activity.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// A payment (its status already accounts for expiry at read time: a pending payment past
/// its expiry reads as expired, decided at its expiry).
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: PaymentId,
    pub user_id: UserId,
    pub payee: Payee,
    pub amount: Money,
    pub status: PaymentStatus,
    /// The provider's push approval request, once one was made.
    pub approval_uuid: Option<String>,
    pub failure_reason: Option<String>,
    /// How its owner decided it (`None` while pending, and for other outcomes).
    pub decided_via: Option<DecidedVia>,
    /// When it was decided; for a payment that expired unanswered, its expiry.
    pub decided_at: Option<i64>,
    pub sms_sent_at: Option<i64>,
    pub sms_failed_attempts: i64,
    pub expires_at: i64,
    pub created_at: i64,
    /// Push approval requests sent for it so far.
    pub push_requests: i64,
}

/// A payment as the list of its owner's payments reads it (the status as for [`Payment`]).
#[derive(Debug, Clone)]
pub struct ListedPayment {
    pub id: PaymentId,
    pub payee: Payee,
    pub amount: Money,
    pub status: PaymentStatus,
    pub created_at: i64,
}

/// A payment with the times of the session that asked for it (the status poll's read).
#[derive(Debug)]
pub struct PolledPayment {
    pub payment: Payment,
    pub session_created_at: i64,
    pub session_last_seen_at: i64,
}

/// A passkey on an account.
#[derive(Debug, Clone)]
pub struct Passkey {
    pub id: String,
    pub user_id: UserId,
    /// The credential's id, base64url without padding.
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs' `Passkey`, as JSON.
    pub credential: String,
    pub sign_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A WebAuthn ceremony's challenge, between its two steps.
#[derive(Debug, Clone)]
pub struct PasskeyChallenge {
    pub id: String,
    pub user_id: UserId,
    /// Adding a passkey: the name it will have.
    pub name: Option<String>,
    /// Approving a payment: the payment exactly as the person was shown it.
    pub payment: Option<BoundPayment>,
    /// webauthn-rs' registration or authentication state, as JSON.
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The payment a challenge approves, as it was when the challenge was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundPayment {
    pub id: PaymentId,
    pub payee: String,
    pub amount: Money,
}
