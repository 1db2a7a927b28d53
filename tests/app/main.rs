//! Integration tests, one binary: the real app on port 0 (or the real server binary),
//! each test with its own temporary database.

mod support;

mod authy_sandbox;
mod bad_input;
mod callback;
mod cancel;
mod code_budgets;
mod delivery;
mod health;
mod instances;
mod multi_instance;
mod pages;
mod passkeys;
mod payments_api;
mod phone_claims;
mod postgres;
mod process;
mod properties;
mod push_limits;
mod reactive_owner;
mod resend;
mod security;
mod sms_fallback;
mod verify_provider;
mod verify_wire;
