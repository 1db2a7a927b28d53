//! The integration tests' support: the crate's `testing` module (starting the app, calling
//! it, seeding it; the bench uses the same), and the server binary in a process of its own
//! (`process`, which needs the binary cargo builds for the tests).

pub mod process;

pub use payfriend::testing::*;
