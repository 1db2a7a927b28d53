//! The sandbox's types, shared by its server and its phone page in the browser.

use serde::{Deserialize, Serialize};

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

/// A failure the sandbox can be told to act out, to see how Payfriend copes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SandboxFault {
    /// Behave like the real service.
    None,
    /// Answer every API call with HTTP 500.
    Error500,
    /// Answer every API call with HTTP 503.
    Error503,
    /// Answer after the client's timeout has passed.
    Slow,
    /// Answer 200 with a body that is not JSON.
    NotJson,
    /// Decide push requests but never call the callback URL.
    DropCallbacks,
    /// Answer every API call with HTTP 429 and `Retry-After`.
    TooManyRequests,
}

impl SandboxFault {
    /// Every fault, in the order the phone page offers them.
    pub const ALL: [SandboxFault; 7] = [
        SandboxFault::None,
        SandboxFault::Error500,
        SandboxFault::Error503,
        SandboxFault::Slow,
        SandboxFault::NotJson,
        SandboxFault::DropCallbacks,
        SandboxFault::TooManyRequests,
    ];

    /// The configuration value (`SANDBOX_FAULT`) and form value.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxFault::None => "none",
            SandboxFault::Error500 => "error_500",
            SandboxFault::Error503 => "error_503",
            SandboxFault::Slow => "slow",
            SandboxFault::NotJson => "not_json",
            SandboxFault::DropCallbacks => "drop_callbacks",
            SandboxFault::TooManyRequests => "too_many_requests",
        }
    }

    /// What the phone page calls it.
    pub fn label(self) -> &'static str {
        match self {
            SandboxFault::None => "Work normally",
            SandboxFault::Error500 => "Answer HTTP 500",
            SandboxFault::Error503 => "Answer HTTP 503",
            SandboxFault::Slow => "Answer too slowly",
            SandboxFault::NotJson => "Answer with a body that is not JSON",
            SandboxFault::DropCallbacks => "Drop callbacks",
            SandboxFault::TooManyRequests => "Answer HTTP 429 (rate limited)",
        }
    }

    /// Parses a configuration or form value.
    pub fn parse(s: &str) -> Option<SandboxFault> {
        SandboxFault::ALL.into_iter().find(|f| f.as_str() == s)
    }
}
