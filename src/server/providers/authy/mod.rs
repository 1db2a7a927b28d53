//! The Authy API client (the callback signature is in `shared::authy_signature`).

pub mod client;

use std::fmt;

pub use client::{AuthyClient, AuthyError};

/// Authy's id of a user (`authy_id`), given when the user is registered with Authy and
/// named in every call about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct AuthyId(pub i64);

impl fmt::Display for AuthyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
