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

/// Entry point of the Wasm client, before it takes over the page's islands (leptos' islands
/// script then hydrates each `#[island]` in the page, in document order).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // A server function that answers with a redirect (signed in, payment sent) moves the
    // browser to that page: a document load, as every navigation is.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        let _ = leptos::prelude::window().location().set_href(location);
    });
    leptos::mount::hydrate_islands();
}
