//! The integration tests' one support module: starting the app (`app`), calling it as
//! its pages do (`api`), what the sandbox phone received (`phone`), seeding the database
//! (`seed`), a pending payment and its callback (`payments`), the audit trail (`audit`), and
//! the server binary in a process of its own (`process`). The benchmark uses the same.

mod api;
mod app;
mod audit;
mod payments;
mod phone;
pub mod process;
mod seed;

pub use api::*;
pub use app::*;
pub use audit::*;
pub use payments::*;
pub use phone::*;
pub use seed::*;
