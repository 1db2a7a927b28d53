//! Wire types and domain newtypes shared by the server and the Wasm client.

use serde::{Deserialize, Serialize};

/// The signed-in person, as the pages need to know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub email: String,
    /// The phone number in E.164 form (`+15555550123`).
    pub phone: String,
    pub phone_verified: bool,
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

/// One message in the sandbox phone's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxMessage {
    pub id: String,
    /// `sms` or `call`.
    pub kind: String,
    pub body: String,
    /// Unix seconds.
    pub sent_at: i64,
}

/// A push approval request as the sandbox phone shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPush {
    pub uuid: String,
    pub message: String,
    pub details: Vec<(String, String)>,
    pub logo_url: Option<String>,
    /// `pending`, `approved`, `denied` or `expired`.
    pub status: String,
    /// Seconds until it expires; `None` for a request that never expires.
    pub seconds_left: Option<i64>,
}

/// What the sandbox phone page shows for one phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPhone {
    /// E.164 form of the phone number shown.
    pub phone: String,
    pub messages: Vec<SandboxMessage>,
    pub pushes: Vec<SandboxPush>,
}
