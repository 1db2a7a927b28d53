//! What the app does, with plain arguments (the state, the caller, the user) and typed
//! errors: accounts and phone verification, sessions and passwords, payments and their
//! approval (push, SMS code, passkey), push devices, step-up codes, the provider's
//! callbacks, and the audit trail of all of it.

pub mod accounts;
pub(crate) mod audit;
pub mod passkeys;
pub mod passwords;
pub mod payments;
pub mod push_devices;
pub mod sessions;
pub mod step_up;
pub mod webhook;
