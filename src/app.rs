//! The HTML shell, the application component and its routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::components::{hydrated::HydrationMark, nav::Nav};
use crate::pages::{
    account::AccountPage, home::HomePage, login::LoginPage, not_found::NotFound,
    payment::PaymentPage, payments::PaymentsPage, register::RegisterPage, send::SendPage,
    verify::VerifyPage,
};
use crate::sandbox::page::PhonePage;

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let stylesheet = crate::server::assets::stylesheet_href(&options);
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
                <HydrationScripts options islands=true/>
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
        <Title formatter=page_title/>
        <Router>
            <Nav/>
            <main class="page">
                <Routes fallback=NotFound>
                    // Every page waits for who is signed in before its HTML leaves: streamed
                    // out of order, the navigation would arrive in a chunk that only a script
                    // puts in place, and without JavaScript there would be no way to log in.
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/verify") view=VerifyPage ssr=SsrMode::Async/>
                    <Route path=path!("/payments/new") view=SendPage ssr=SsrMode::Async/>
                    <Route path=path!("/payments/:id") view=PaymentPage ssr=SsrMode::Async/>
                    <Route path=path!("/payments") view=PaymentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/sandbox/phone") view=PhonePage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"Payfriend · payments authorised on your phone, as PSD2 asks."</p>
            </footer>
        </Router>
        <HydrationMark/>
    }
}

/// A page's title as the browser's tab shows it. Islands that change the title set it with
/// this formatter too: the browser has no app around them to supply it.
pub fn page_title(page: String) -> String {
    if page.is_empty() {
        "Payfriend".to_string()
    } else {
        format!("{page} · Payfriend")
    }
}
