//! Sign-in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::api::accounts::LogIn;
use crate::components::form::{field_error, Field, FormError};

/// The sign-in page.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let expired = query.read_untracked().get("session").as_deref() == Some("expired");

    view! {
        <Title text="Log in"/>
        <section class="card narrow">
            <h1>"Log in"</h1>
            {expired.then(|| view! {
                <p class="notice warn" role="status">
                    "Your session expired after a period of inactivity. Log in again; a payment "
                    "that was waiting for approval is in My payments."
                </p>
            })}
            <LoginForm/>
            <p class="muted">"New to Payfriend? " <A href="/register">"Create an account"</A></p>
        </section>
    }
}

/// The sign-in form: answered in the page (a wrong password) or by going on (signed in).
#[island]
fn LoginForm() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <ActionForm action=action attr:class="stack">
            <Field
                label="Email"
                name="email"
                input_type="email"
                autocomplete="email"
                error=field_error(error, "email")
            />
            <Field
                label="Password"
                name="password"
                input_type="password"
                autocomplete="current-password"
                error=field_error(error, "password")
            />
            <FormError error/>
            <button type="submit" class="primary" disabled=move || action.pending().get()>
                "Log in"
            </button>
        </ActionForm>
    }
}
