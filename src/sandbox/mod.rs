//! Payfriend's Authy-compatible sandbox: a guest in this app, standing in for the real
//! provider (the live Authy service is closed to new customers). Everything of it lives
//! here: its wire-protocol routes and SQL (`service`, server only), the phone page that
//! plays the user's handset (`page`) with its server functions (`server_fns`), and its
//! types (`model`). The app talks to it only over HTTP, as it does to the real provider;
//! with a real provider configured it is not mounted at all.

pub mod model;
pub mod page;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
