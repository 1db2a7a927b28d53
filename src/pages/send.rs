//! Send a payment.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::guard::{Guarded, Require};
use crate::model::SessionUser;

/// The Send a payment page, for signed-in users with a verified phone.
#[component]
pub fn SendPage() -> impl IntoView {
    view! {
        <Title text="Send a payment"/>
        <Guarded require=Require::VerifiedUser page=send_form/>
    }
}

fn send_form(user: SessionUser) -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"Send a payment"</h1>
            <p class="muted">"Payments are confirmed on your phone " {user.phone} "."</p>
        </section>
    }
}
