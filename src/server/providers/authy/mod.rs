//! The second-factor provider: the Authy API client and the callback signature check.

pub mod client;

pub use client::{AuthyClient, AuthyError};
