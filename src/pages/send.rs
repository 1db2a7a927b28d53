//! Send a payment.

use crate::error::FormField;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{hooks::use_query_map, LazyRoute};

use crate::api::payments::SendPayment;
use crate::components::{
    form::{field_error, Field, FormError},
    guard::{Guarded, Require},
};
use crate::model::{Currency, SessionUser};
use crate::pages::lazy::PaymentRoute;

/// How amounts are typed in `currency`, with examples in its own decimals.
fn amount_hint(currency: Currency) -> String {
    match currency.exponent() as usize {
        0 => "For example 20 or 1,500 (whole amounts)".to_string(),
        digits => format!(
            "For example 20, 20.{:0<digits$} or 1,000.{:0<digits$}",
            "5", ""
        ),
    }
}

/// The Send a payment page, for signed-in users with a verified phone.
#[component]
pub fn SendPage() -> impl IntoView {
    view! {
        <Title text="Send a payment"/>
        <Guarded require=Require::VerifiedUser page=send_form/>
    }
}

fn send_form(user: SessionUser) -> impl IntoView {
    let send = ServerAction::<SendPayment>::new();
    let error = Signal::derive(move || send.value().get().and_then(Result::err));
    // One key per attempt: a double click or a retried request makes one payment.
    let key = RwSignal::new(uuid::Uuid::new_v4().to_string());
    Effect::new(move |_| {
        if send.version().get() > 0 {
            key.set(uuid::Uuid::new_v4().to_string());
        }
    });
    // "Try again with the same details" from a payment that did not go through.
    let query = use_query_map();
    let again = query.with_untracked(|q| (q.get("payee"), q.get("amount")));
    // The waiting screen comes in a chunk of its own (`pages::lazy`): fetch it while the
    // person types, so that it is there when the payment has been sent.
    let fetched = StoredValue::new(false);
    let fetch_waiting_screen = move |_| {
        if !fetched.get_value() {
            fetched.set_value(true);
            leptos::task::spawn_local(<PaymentRoute as LazyRoute>::preload());
        }
    };

    view! {
        <section class="card narrow" on:focusin=fetch_waiting_screen>
            <h1>"Send a payment"</h1>
            <p class="muted">"You will approve it on your phone " {user.phone} "."</p>
            <ActionForm action=send attr:class="stack">
                // In the server-rendered HTML too: the form works before (and without) the
                // Wasm client.
                <input type="hidden" name="idempotency_key" value=key/>
                <Field
                    label="Send to"
                    name=FormField::Payee
                    autocomplete="off"
                    value=again.0
                    error=field_error(error, FormField::Payee)
                />
                <Field
                    label=format!("Amount ({})", user.currency)
                    name=FormField::Amount
                    inputmode=if user.currency.exponent() == 0 { "numeric" } else { "decimal" }
                    autocomplete="off"
                    hint=amount_hint(user.currency)
                    value=again.1
                    error=field_error(error, FormField::Amount)
                />
                <FormError error/>
                <button type="submit" class="primary" disabled=move || send.pending().get()>
                    "Send for approval"
                </button>
            </ActionForm>
        </section>
    }
}
