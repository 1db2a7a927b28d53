//! Server-side pieces that both the app's server and its provider sandbox use, and that
//! depend on neither: the clock, secrets, phone numbers, and the two providers'
//! signature algorithms (the sandbox signs what the app checks). The sandbox depends on
//! this and on `model`, never on `server`; the server mounts the sandbox.

pub mod authy_signature;
pub(crate) mod clock;
pub(crate) mod phone_number;
pub mod secret;
pub mod sid;
pub mod verify_format;
pub mod verify_signature;
