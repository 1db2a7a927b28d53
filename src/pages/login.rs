//! Sign-in.

use crate::error::FormField;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::components::auth::Auth;
use crate::components::form::{field_error, Field, FormError};

/// The sign-in form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let action = auth.log_in;
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let query = use_query_map();
    let expired = move || query.read().get("session").as_deref() == Some("expired");

    view! {
        <Title text="Log in"/>
        <section class="card narrow">
            <h1>"Log in"</h1>
            {move || expired().then(|| view! {
                <p class="notice warn" role="status">
                    "Your session expired after a period of inactivity. Log in again; a payment "
                    "that was waiting for approval is in My payments."
                </p>
            })}
            <ActionForm action=action attr:class="stack">
                <Field
                    label="Email"
                    name=FormField::Email
                    input_type="email"
                    autocomplete="email"
                    error=field_error(error, FormField::Email)
                />
                <Field
                    label="Password"
                    name=FormField::Password
                    input_type="password"
                    autocomplete="current-password"
                    error=field_error(error, FormField::Password)
                />
                <FormError error/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    "Log in"
                </button>
            </ActionForm>
            <p class="muted">"New to Payfriend? " <A href="/register">"Create an account"</A></p>
        </section>
    }
}
