//! The SMS code bound to this payment: offered 15 seconds after it was made, then sent,
//! typed and checked here.

use crate::error::FormField;
use leptos::prelude::*;

use super::{clock::ServerClock, minutes};
use crate::api::payments::{SendPaymentSms, VerifyPaymentSms};
use crate::components::form::{field_error, Field, FormError};
use crate::model::{PaymentId, PaymentView};

/// "Having trouble?": sends an SMS code for this payment, then takes the code.
#[component]
pub fn SmsFallback(
    id: PaymentId,
    current: Memo<Option<PaymentView>>,
    /// Whether the code is offered yet (15 seconds after the payment was made).
    offer_sms: Signal<bool>,
    clock: ServerClock,
    send_sms: ServerAction<SendPaymentSms>,
    verify_sms: ServerAction<VerifyPaymentSms>,
) -> impl IntoView {
    // Copied into each form (a signal that never changes: `Copy`).
    let id = Signal::stored(id.to_string());
    let sms_sent =
        Memo::new(move |_| current.with(|p| p.as_ref().is_some_and(|p| p.sms_sent_at.is_some())));
    let next_code_in = Memo::new(move |_| {
        let now = clock.now();
        current.with(|p| p.as_ref().map_or(0, |p| p.next_code_in(now)))
    });
    let tries_left =
        Memo::new(move |_| current.with(|p| p.as_ref().map_or(0, |p| p.sms_tries_left)));
    let send_error = Signal::derive(move || send_sms.value().get().and_then(Result::err));
    let verify_error = Signal::derive(move || verify_sms.value().get().and_then(Result::err));

    view! {
        <Show when=move || sms_sent.get() || offer_sms.get()>
            <div class="sms-fallback">
                <Show
                    when=move || sms_sent.get()
                    fallback=move || view! {
                        <ActionForm action=send_sms>
                            <input type="hidden" name="id" value=id/>
                            <FormError error=send_error/>
                            <button type="submit" class="secondary" disabled=move || send_sms.pending().get()>
                                "Having trouble? Get a code by SMS instead"
                            </button>
                        </ActionForm>
                    }
                >
                    <ActionForm action=verify_sms attr:class="stack">
                        <input type="hidden" name="id" value=id/>
                        <p class="muted" id="code-hint" data-testid="tries-left">
                            "We sent a code by SMS for this payment. Enter it here. "
                            {move || match tries_left.get() {
                                1 => "1 try left.".to_string(),
                                n => format!("{n} tries left."),
                            }}
                        </p>
                        <Field
                            label="SMS code"
                            name=FormField::Code
                            inputmode="numeric"
                            autocomplete="one-time-code"
                            error=field_error(verify_error, FormField::Code)
                        />
                        <FormError error=verify_error/>
                        <button type="submit" class="primary" disabled=move || verify_sms.pending().get()>
                            "Approve with this code"
                        </button>
                    </ActionForm>
                    <ActionForm action=send_sms attr:class="new-code">
                        <input type="hidden" name="id" value=id/>
                        <FormError error=send_error/>
                        <button
                            type="submit"
                            class="link-button"
                            disabled=move || { next_code_in.get() != 0 || send_sms.pending().get() }
                        >
                            "Send a new code"
                        </button>
                        <span class="muted" data-testid="next-code">
                            {move || match next_code_in.get() {
                                0 => String::new(),
                                wait => format!(" You can ask for a new one in {}.", minutes(wait)),
                            }}
                        </span>
                    </ActionForm>
                </Show>
            </div>
        </Show>
    }
}
