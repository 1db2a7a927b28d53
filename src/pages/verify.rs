//! Phone verification: the code sent at registration, and sending a new one.

use crate::error::FormField;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::accounts::ResendCode;
use crate::components::auth::Auth;
use crate::components::{
    form::{field_error, Field, FormError},
    guard::{Guarded, Require},
    links::SandboxPhoneBanner,
};
use crate::model::SessionUser;

/// The verification page, for a signed-in user whose phone is not verified yet.
#[component]
pub fn VerifyPage() -> impl IntoView {
    view! {
        <Title text="Verify your phone"/>
        <Guarded require=Require::UnverifiedUser page=verify_form/>
    }
}

fn verify_form(user: SessionUser) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let action = auth.verify;
    let resend = ServerAction::<ResendCode>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let resend_error = Signal::derive(move || resend.value().get().and_then(Result::err));
    let resent = move || matches!(resend.value().get(), Some(Ok(())));

    view! {
        <SandboxPhoneBanner user=user.clone()/>
        <section class="card narrow">
            <h1>"Verify your phone"</h1>
            <p>"We sent a code to " <strong>{user.phone}</strong> ". Enter it below."</p>
            <ActionForm action=action attr:class="stack">
                <Field
                    label="Verification code"
                    name=FormField::Code
                    input_type="text"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    error=field_error(error, FormField::Code)
                />
                <FormError error/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    "Verify"
                </button>
            </ActionForm>
            <ActionForm action=resend attr:class="resend">
                {move || resent().then(|| view! { <p class="notice ok" role="status">"A new code is on its way."</p> })}
                <FormError error=resend_error/>
                <button type="submit" class="link-button" disabled=move || resend.pending().get()>
                    "Send a new code"
                </button>
            </ActionForm>
        </section>
    }
}
