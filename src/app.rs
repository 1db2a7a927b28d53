//! The HTML shell, the application component and its routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::components::{
    auth::Auth,
    focus::{FocusHeadingOnNavigation, PageFocus},
    nav::Nav,
};
use crate::pages::{lazy, not_found::NotFound, send::SendPage};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let stylesheet = crate::server::http::assets::stylesheet_href(&options);
    #[cfg(not(feature = "ssr"))]
    let stylesheet = "/pkg/payfriend.css";
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="stylesheet" id="leptos" href=stylesheet/>
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
    Auth::provide();
    let focus = PageFocus::provide();

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Payfriend".to_string() } else { format!("{page} · Payfriend") }
        }/>
        <Router>
            <FocusHeadingOnNavigation/>
            <Nav/>
            <main class="page" aria-busy=move || focus.busy()>
                <Routes fallback=NotFound>
                    // Every page waits for who is signed in before its HTML leaves: streamed
                    // out of order, the navigation would arrive in a chunk that only a script
                    // puts in place, and without JavaScript there would be no way to log in.
                    <Route path=path!("/") view={lazy::home()} ssr=SsrMode::Async/>
                    <Route path=path!("/register") view={lazy::register()} ssr=SsrMode::Async/>
                    <Route path=path!("/login") view={lazy::login()} ssr=SsrMode::Async/>
                    <Route path=path!("/verify") view={lazy::verify()} ssr=SsrMode::Async/>
                    <Route path=path!("/payments/new") view=SendPage ssr=SsrMode::Async/>
                    <Route path=path!("/payments/:id") view={lazy::payment()} ssr=SsrMode::Async/>
                    <Route path=path!("/payments") view={lazy::payments()} ssr=SsrMode::Async/>
                    <Route path=path!("/account") view={lazy::account()} ssr=SsrMode::Async/>
                    <Route path=path!("/sandbox/phone") view={lazy::phone()}/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"Payfriend · payments authorised on your phone, as PSD2 asks."</p>
            </footer>
        </Router>
    }
}
