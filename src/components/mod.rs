//! Reusable view pieces.

pub mod auth;
pub mod focus;
pub mod form;
pub mod guard;
pub mod links;
pub mod local_time;
pub mod nav;
pub mod status;
pub mod timeline;
pub mod timers;
pub mod webauthn;
