//! The site header: brand and navigation, collapsible on small screens.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

use crate::components::auth::Auth;

/// The top navigation bar.
#[component]
pub fn Nav() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let (open, set_open) = signal(false);
    // Effects run only in the browser, so this flips once the Wasm client has taken over.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    // Close the menu after every navigation.
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        set_open.set(false);
    });

    view! {
        <header class="site-header">
            <nav class="nav" data-hydrated=move || hydrated.get().to_string()>
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"✓"</span>
                    "Payfriend"
                </A>
                <button
                    type="button"
                    class="nav-toggle"
                    aria-controls="nav-links"
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| set_open.update(|o| *o = !*o)
                >
                    "Menu"
                </button>
                <ul id="nav-links" class="nav-links" class:open=open>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match auth.user.await {
                                Ok(Some(user)) => view! {
                                    <li><A href="/payments/new">"Send a payment"</A></li>
                                    <li><A href="/payments" exact=true>"My payments"</A></li>
                                    <li><A href="/account">"Account"</A></li>
                                    <li class="who" data-testid="signed-in-as">{user.email}</li>
                                    <li>
                                        <ActionForm action=auth.log_out>
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
                    </Transition>
                </ul>
            </nav>
        </header>
    }
}
