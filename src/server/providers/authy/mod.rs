//! The Authy API client (the callback signature is in `shared::authy_signature`).

pub mod client;

pub use client::{AuthyClient, AuthyError};

pub use crate::shared::sid::AuthyId;
