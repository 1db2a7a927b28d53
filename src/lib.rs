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

/// What the server and the sandbox both use (server-only).
#[cfg(feature = "ssr")]
pub mod shared;

/// Starting and seeding the app for the integration tests and the bench.
#[cfg(feature = "testing")]
pub mod testing;

/// Entry point of the Wasm client: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Asynchronous hydration: a page opened directly may be one of the lazily loaded ones
    // (`pages::lazy`), whose code arrives before its part of the page is taken over.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // Every part of the page answers from here on, a lazily loaded one included (the
        // browser tests wait for this mark).
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
