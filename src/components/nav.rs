//! The site header: brand and navigation, collapsible on small screens.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::accounts::{current_user, LogOut};
use crate::components::timers::use_mounted;

/// The top navigation bar. Rendered on the server: only its menu button (`NavBar`) runs in
/// the browser.
#[component]
pub fn Nav() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let log_out = ServerAction::<LogOut>::new();
    view! {
        <header class="site-header">
            <NavBar>
                <ul id="nav-links" class="nav-links">
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match user.await {
                                Ok(Some(user)) => view! {
                                    <li><A href="/payments/new">"Send a payment"</A></li>
                                    <li><A href="/payments" exact=true>"My payments"</A></li>
                                    <li><A href="/account">"Account"</A></li>
                                    <li class="who" data-testid="signed-in-as">{user.email}</li>
                                    <li>
                                        <ActionForm action=log_out>
                                            <button type="submit" class="link-button">"Log out"</button>
                                        </ActionForm>
                                    </li>
                                }
                                .into_any(),
                                _ => view! {
                                    <li><A href="/register">"Register"</A></li>
                                    <li><A href="/login" attr:class="button small">"Log in"</A></li>
                                }
                                .into_any(),
                            }
                        })}
                    </Suspense>
                </ul>
            </NavBar>
        </header>
    }
}

/// The brand, the menu button and the list of links (`children`, rendered on the server),
/// shown on a small screen when the menu is open.
#[island]
fn NavBar(children: Children) -> impl IntoView {
    let (open, set_open) = signal(false);
    // False in the server's HTML: until the island runs, the menu button cannot work and
    // the stylesheet shows the links instead.
    let hydrated = use_mounted();

    view! {
        <nav class="nav" class:open=open data-hydrated=move || hydrated.get().to_string()>
            <a href="/" class="brand">
                <span class="brand-mark" aria-hidden="true">"✓"</span>
                "Payfriend"
            </a>
            <button
                type="button"
                class="nav-toggle"
                aria-controls="nav-links"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| set_open.update(|o| *o = !*o)
            >
                "Menu"
            </button>
            {children()}
        </nav>
    }
}
