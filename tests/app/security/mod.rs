//! Holding up under attack and failure, one file per concern: requests from elsewhere
//! (`origin_and_host`), sessions, per-address rate limits, the sign-in lock, sending codes,
//! and recovery from provider faults and restarts.

mod code_sending;
mod origin_and_host;
mod rate_limits;
mod recovery;
mod sessions;
mod sign_in_lock;
