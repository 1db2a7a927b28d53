//! What the integration tests (`tests/app`) and the bench (`benches/hot_paths.rs`) start and
//! seed the app with, behind the `testing` feature: starting the app on port 0 with a
//! database of its own (`app`), calling it as its pages do (`api`), what the sandbox phone
//! received (`phone`), seeding the database (`seed`), a pending payment and its callback
//! (`payments`), the audit trail (`audit`). The server binary in a process of its own is
//! the tests' alone (`tests/app/support/process.rs`).
//!
//! The database, the domain and the clock are the crate's own (`pub(crate)`); this module
//! re-exports the parts the tests reach into, and nothing else does.

mod api;
mod app;
mod audit;
mod payments;
mod phone;
mod seed;

pub use api::*;
pub use app::*;
pub use audit::*;
pub use payments::*;
pub use phone::*;
pub use seed::*;

/// The clock every timestamp comes from.
pub mod clock {
    pub use crate::shared::clock::now;
}

/// The database's modules the tests read and write directly.
pub mod db {
    pub use crate::server::db::{
        connect, group_commit, migrate, migrate_at, payments, throttle, users, PING_AFTER_IDLE,
    };
}

/// The domain's modules the tests call directly.
pub mod domain {
    pub use crate::server::domain::{accounts, passwords, payments, sessions, webhook};
}
