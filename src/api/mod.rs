//! Typed server functions, by feature, shared by the browser (which calls them) and the
//! server (which runs them). Each is thin: its first line is its policy,
//! `request::anyone(Limit::…)` or `request::verified(Limit::…)` (the bucket it spends and
//! who may call it), then one call into the domain under `server`. Arguments arrive typed
//! (a `PaymentId` that is not one never reaches the body).

pub mod accounts;
pub mod passkeys;
pub mod payments;
pub mod push_devices;
