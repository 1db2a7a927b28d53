//! The HTML shell, the application component and its routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::api::accounts::{current_user, LogIn, LogOut, Register, VerifyPhone};
use crate::components::{
    focus::{FocusHeadingOnNavigation, PageFocus},
    nav::Nav,
};
use crate::error::AppError;
use crate::model::SessionUser;
use crate::pages::{lazy, not_found::NotFound, send::SendPage};

/// Who is signed in, and the actions that change it (so the user is fetched again after each).
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<SessionUser>, AppError>>,
    pub register: ServerAction<Register>,
    pub verify: ServerAction<VerifyPhone>,
    pub log_in: ServerAction<LogIn>,
    pub log_out: ServerAction<LogOut>,
}

impl Auth {
    fn new() -> Self {
        let register = ServerAction::<Register>::new();
        let verify = ServerAction::<VerifyPhone>::new();
        let log_in = ServerAction::<LogIn>::new();
        let log_out = ServerAction::<LogOut>::new();
        let user = Resource::new(
            move || {
                (
                    register.version().get(),
                    verify.version().get(),
                    log_in.version().get(),
                    log_out.version().get(),
                )
            },
            |_| current_user(),
        );
        Auth {
            user,
            register,
            verify,
            log_in,
            log_out,
        }
    }
}

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
    provide_context(Auth::new());
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
