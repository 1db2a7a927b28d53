//! Typed server functions, by feature. Each is thin: state from context, authorise,
//! call domain code under `server`, map the error.

pub mod accounts;
pub mod passkeys;
pub mod payments;
pub mod push_devices;
