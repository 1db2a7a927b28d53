//! Twilio Verify v2, the successor of the Authy API: its client (`client`), the signature
//! Twilio puts on the events it sends (`signature`) and the route receiving them
//! (`events`).

pub mod client;
pub mod events;

pub use client::VerifyClient;
