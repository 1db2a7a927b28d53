//! Payfriend: ask a web app's user to authorise a payment on their phone.
//!
//! One crate, two builds: `ssr` is the axum server, `hydrate` the Wasm client.

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
pub mod sandbox;

/// Server-only code: configuration, database, provider client, sandbox, webhook.
#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the Wasm client: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
