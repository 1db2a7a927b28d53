//! Accounts: the signed-in person, email addresses and how codes are delivered.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Currency;

/// The signed-in person, as the pages need to know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub email: String,
    /// The phone number in E.164 form (`+15555550123`).
    pub phone: String,
    pub phone_verified: bool,
    /// Whether Payfriend's built-in sandbox stands in for the phone service, so that the
    /// pages can point at the sandbox phone where codes and requests arrive.
    pub sandbox: bool,
    /// The ISO 4217 code payments are made in (`CURRENCY`).
    pub currency: Currency,
    /// How many passkeys they have; `None` when this server cannot use passkeys (its
    /// `PUBLIC_URL` has no host name) or the phone is not verified yet.
    pub passkeys: Option<u32>,
    /// Whether a phone of theirs approves payments by push: `None` when push approval is not
    /// set up from Payfriend for their account (Authy's app enrols on its own), otherwise
    /// whether a Verify Push factor is added.
    pub push_device: Option<bool>,
}

/// How a phone verification code is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    Sms,
    Call,
}

impl Via {
    /// The value the Authy API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Sms => "sms",
            Via::Call => "call",
        }
    }

    /// Parses the Authy API value (`sms` or `call`).
    pub fn parse(s: &str) -> Option<Via> {
        match s {
            "sms" => Some(Via::Sms),
            "call" => Some(Via::Call),
            _ => None,
        }
    }
}

/// Countries offered in the phone number form: ISO region code and name.
pub const PHONE_COUNTRIES: &[(&str, &str)] = &[
    ("US", "United States (+1)"),
    ("GB", "United Kingdom (+44)"),
    ("DE", "Germany (+49)"),
    ("FR", "France (+33)"),
    ("NL", "Netherlands (+31)"),
    ("ES", "Spain (+34)"),
    ("IT", "Italy (+39)"),
    ("IE", "Ireland (+353)"),
    ("BE", "Belgium (+32)"),
    ("AT", "Austria (+43)"),
    ("PL", "Poland (+48)"),
    ("SE", "Sweden (+46)"),
    ("PT", "Portugal (+351)"),
    ("CA", "Canada (+1)"),
    ("AU", "Australia (+61)"),
    ("IN", "India (+91)"),
    ("BR", "Brazil (+55)"),
];

/// An email address as accounts are keyed by it: trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct Email(String);

/// Why a typed email address is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Enter a valid email address, like name@example.com.")]
pub struct InvalidEmail;

impl Email {
    /// Normalises an address as people type it, or says it is not one.
    pub fn parse(input: &str) -> Result<Email, InvalidEmail> {
        let email = input.trim().to_lowercase();
        let (local, domain) = email.split_once('@').ok_or(InvalidEmail)?;
        let valid = !local.is_empty()
            && email.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Email(email))
        } else {
            Err(InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
