//! The page for any path the app does not know.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Shown for unknown paths, with a 404 status on the server-rendered response.
#[component]
pub fn NotFound() -> impl IntoView {
    set_status_not_found();
    view! {
        <Title text="Not found"/>
        <section class="card narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <A href="/" attr:class="button">"Go to the start page"</A>
        </section>
    }
}

fn set_status_not_found() {
    // Only the first, server-rendered response has a status to set.
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}
