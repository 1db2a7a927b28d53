//! The HTML shell, the application component and its routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::components::nav::Nav;
use crate::pages::{home::HomePage, not_found::NotFound};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The Payfriend application.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/payfriend.css"/>
        <Title formatter=|page: String| {
            if page.is_empty() { "Payfriend".to_string() } else { format!("{page} · Payfriend") }
        }/>
        <Router>
            <Nav/>
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"Payfriend · payments authorised on your phone, as PSD2 asks."</p>
            </footer>
        </Router>
    }
}
