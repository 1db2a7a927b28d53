//! One payment: the waiting panel while it is pending, its outcome once decided.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::{
    approval::ApprovalPanel,
    guard::{Guarded, Require},
    links::SandboxPhoneBanner,
};

/// `/payments/:id`
#[component]
pub fn PaymentPage() -> impl IntoView {
    view! {
        <Title text="Payment"/>
        <Guarded require=Require::VerifiedUser page=|user| {
            let passkeys = user.passkeys;
            view! {
                <SandboxPhoneBanner user/>
                <PaymentDetail passkeys/>
            }
        }/>
    }
}

#[component]
fn PaymentDetail(passkeys: Option<u32>) -> impl IntoView {
    let params = use_params_map();
    let id = Signal::derive(move || params.read().get("id").unwrap_or_default());
    view! { <ApprovalPanel id passkeys/> }
}
