//! The landing page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// What Payfriend is, and where to start.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text=""/>
        <section class="hero">
            <h1>"Payments you approve on your phone"</h1>
            <p class="lead">
                "Send a payment and confirm it with a tap on your phone, or with a code by SMS. "
                "Nothing leaves your account until you say so."
            </p>
            <div class="hero-actions">
                <A href="/register" attr:class="button primary">"Create an account"</A>
                <A href="/login" attr:class="button">"Log in"</A>
            </div>
        </section>
        <section class="steps">
            <ol>
                <li>
                    <h2>"Send"</h2>
                    <p>"Enter who you are paying and how much."</p>
                </li>
                <li>
                    <h2>"Approve"</h2>
                    <p>"Your phone shows the payee and the amount. Approve or deny it there."</p>
                </li>
                <li>
                    <h2>"Done"</h2>
                    <p>"The page follows along and shows the outcome. Every decision is final."</p>
                </li>
            </ol>
        </section>
    }
}
