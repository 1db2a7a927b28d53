//! Registration: email, password and a mobile number that gets a verification code.

use crate::error::FormField;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::auth::Auth;
use crate::components::form::{field_error, Field, FormError};
use crate::model::PHONE_COUNTRIES;

/// The registration form.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let action = auth.register;
    let error = Signal::derive(move || action.value().get().and_then(Result::err));

    view! {
        <Title text="Create an account"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <p class="muted">"We will send a code to your phone to check it is yours."</p>
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
                    autocomplete="new-password"
                    hint="At least 8 characters."
                    error=field_error(error, FormField::Password)
                />
                <div class="field">
                    <label for="country">"Country"</label>
                    <select id="country" name=FormField::Country.name()>
                        {PHONE_COUNTRIES
                            .iter()
                            .map(|(code, name)| view! { <option value=*code>{*name}</option> })
                            .collect_view()}
                    </select>
                </div>
                <Field
                    label="Mobile number"
                    name=FormField::Phone
                    input_type="tel"
                    autocomplete="tel"
                    hint="Your number as you would dial it at home, or with + and the country code."
                    error=field_error(error, FormField::Phone)
                />
                <fieldset class="choice">
                    <legend>"Send my code by"</legend>
                    <label>
                        <input type="radio" name=FormField::Via.name() value="sms" checked=true/>
                        " SMS"
                    </label>
                    <label>
                        <input type="radio" name=FormField::Via.name() value="call"/>
                        " Voice call"
                    </label>
                </fieldset>
                {move || field_error(error, FormField::Via).get().map(|e| view! { <p class="field-error">{e}</p> })}
                <FormError error/>
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    "Create account"
                </button>
            </ActionForm>
            <p class="muted">"Already have an account? " <A href="/login">"Log in"</A></p>
        </section>
    }
}
