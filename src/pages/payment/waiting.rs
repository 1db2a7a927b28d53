//! The payment while it waits for an answer.

use leptos::prelude::*;

use super::minutes;
use crate::api::payments::{CancelPayment, ResendPush};
use crate::components::form::FormError;
use crate::model::{PaymentId, PaymentView};

/// Without the Wasm client the page cannot check by itself: the browser reloads it every
/// 5 seconds. Given as inner HTML, so that hydration never walks into the `<noscript>`
/// (whose content a browser running scripts keeps as text).
const RELOAD_WITHOUT_SCRIPT: &str =
    r#"<noscript><meta http-equiv="refresh" content="5"></noscript>"#;

/// While the payment waits: the countdown, the passkey part, a way to check by hand and to
/// send the push again, the SMS part, and cancel.
#[component]
pub fn Waiting(
    id: PaymentId,
    current: Memo<Option<PaymentView>>,
    seconds_left: Memo<Option<i64>>,
    reconnecting: Signal<bool>,
    mounted: ReadSignal<bool>,
    cancel: ServerAction<CancelPayment>,
    resend: ServerAction<ResendPush>,
    passkey_part: ViewFn,
    sms_part: ViewFn,
) -> impl IntoView {
    // Copied into each form (a signal that never changes: `Copy`).
    let id = Signal::stored(id.to_string());
    let cancel_error = Signal::derive(move || cancel.value().get().and_then(Result::err));
    let resend_error = Signal::derive(move || resend.value().get().and_then(Result::err));
    let resent = move || matches!(resend.value().get(), Some(Ok(_)));
    let resends_left =
        Memo::new(move |_| current.with(|p| p.as_ref().map_or(0, |p| p.resends_left)));
    view! {
        <div class="waiting">
            <span class="pulse" aria-hidden="true"></span>
            <div>
                <strong>"Waiting for approval on your phone"</strong>
                <p class="muted">"Open the request on your phone and approve or deny it."</p>
                // Outside the live region: a screen reader is not told every second.
                <p class="countdown" data-testid="countdown">
                    "The request expires in "
                    <span class="time">{move || seconds_left.get().map(minutes)}</span>
                    "."
                </p>
            </div>
        </div>
        <Show when=move || mounted.get()>{passkey_part.run()}</Show>
        <Show when=move || reconnecting.get()>
            <p class="notice warn" data-testid="reconnecting">
                "Reconnecting… The last known state is shown; your answer on the phone still counts."
            </p>
        </Show>
        <div class="row-actions">
            <a href=move || format!("/payments/{}", id.get()) data-testid="check-status">"Check status"</a>
            <ActionForm action=resend attr:class="resend-push">
                <input type="hidden" name="id" value=id/>
                <button
                    type="submit"
                    class="link-button"
                    aria-describedby="resends-left"
                    disabled=move || resends_left.get() == 0 || resend.pending().get()
                >
                    "Resend to my phone"
                </button>
                " "
                <span class="muted" id="resends-left" data-testid="resends-left">
                    {move || match resends_left.get() {
                        0 => "(sent as often as it can be)".to_string(),
                        1 => "(once more)".to_string(),
                        n => format!("({n} more times)"),
                    }}
                </span>
            </ActionForm>
        </div>
        {move || resent().then(|| view! {
            <p class="notice ok" data-testid="resent">"Sent again. The earlier request on your phone no longer counts."</p>
        })}
        <FormError error=resend_error/>
        <div class="reload-without-script" inner_html=RELOAD_WITHOUT_SCRIPT></div>
        // Built once, so a check never resets what the person is typing.
        <Show when=move || mounted.get()>{sms_part.run()}</Show>
        <ActionForm action=cancel attr:class="cancel-form">
            <input type="hidden" name="id" value=id/>
            <FormError error=cancel_error/>
            <button type="submit" class="secondary" disabled=move || cancel.pending().get()>
                "Cancel payment"
            </button>
        </ActionForm>
    }
}
