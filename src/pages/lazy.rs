//! Pages whose code the browser fetches only when they are opened.
//!
//! With `cargo leptos … --split` each of these views is cut out of the main Wasm module into
//! its own chunk: the first visit to Send a payment downloads the shell, the navigation and
//! that page; the other pages (the start page and sign-in too) come when they are first
//! shown. On the server they render as before.
//! A page opened directly works before its chunk arrives: its forms post without the client.

use leptos::prelude::*;
#[cfg(not(feature = "ssr"))]
use leptos_router::Lazy;
use leptos_router::{lazy_route, ChooseView, LazyRoute};

use crate::components::focus::PageFocus;

/// One route type per lazily loaded page, and the function that gives the router its view:
/// in the Wasm client the lazily loaded route; on the server the page itself, rendered at
/// once (the same HTML, which the client takes over once the chunk has arrived). A lazy
/// route rendered on the server would also put preload links for its chunks in the page,
/// but leptos looks those up outside the request's reactive owner, where under concurrent
/// requests they can land in another request's page; the client fetches the chunks itself.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident, $choose:ident => $page:path) => {
        $(#[$doc])*
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                PageFocus::lazy_page_chosen();
                $route
            }

            fn view(_this: Self) -> AnyView {
                let view = $page().into_any();
                PageFocus::lazy_page_arrived();
                view
            }
        }

        $(#[$doc])*
        #[cfg(not(feature = "ssr"))]
        pub fn $choose() -> impl ChooseView {
            Lazy::<$route>::new()
        }

        $(#[$doc])*
        #[cfg(feature = "ssr")]
        pub fn $choose() -> impl ChooseView {
            || $page().into_any()
        }
    };
}

lazy_page!(
    /// `/register`
    RegisterRoute, register => crate::pages::register::RegisterPage
);
lazy_page!(
    /// `/verify`
    VerifyRoute, verify => crate::pages::verify::VerifyPage
);
lazy_page!(
    /// `/payments/:id`: the waiting screen, the outcome and the timeline.
    PaymentRoute, payment => crate::pages::payment::PaymentPage
);
lazy_page!(
    /// `/payments`
    PaymentsRoute, payments => crate::pages::payments::PaymentsPage
);
lazy_page!(
    /// `/account` (passkeys)
    AccountRoute, account => crate::pages::account::AccountPage
);
lazy_page!(
    /// `/sandbox/phone`
    PhoneRoute, phone => crate::sandbox::page::PhonePage
);
lazy_page!(
    /// `/`
    HomeRoute, home => crate::pages::home::HomePage
);
lazy_page!(
    /// `/login`
    LoginRoute, login => crate::pages::login::LoginPage
);
