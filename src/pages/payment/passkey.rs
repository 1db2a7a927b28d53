//! Approving the payment with a passkey on this device.

use leptos::prelude::*;

use leptos_router::components::Redirect;

use crate::api::passkeys::{finish_passkey_approval, start_passkey_approval};
use crate::components::webauthn::{self, BrowserRefusal, Ceremony};
use crate::error::AppError;
use crate::model::{PaymentId, PaymentStatus, PaymentView};

/// Why approving with a passkey approved nothing: the server's answer, or the browser's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PasskeyFailure {
    #[error("{0}")]
    Server(AppError),
    #[error("{0}")]
    Browser(BrowserRefusal),
}

impl PasskeyFailure {
    /// The session is over: the person signs in again rather than reading an error.
    fn signed_out(&self) -> bool {
        matches!(self, PasskeyFailure::Server(e) if e.signed_out())
    }
}

/// Approves payment `id` with a passkey: the server's one-time challenge for it, the
/// browser's prompt (showing what the server bound it to), the answer back.
pub async fn approve(
    id: PaymentId,
    prompt: RwSignal<Option<String>>,
) -> Result<PaymentStatus, PasskeyFailure> {
    let ceremony = start_passkey_approval(id.clone())
        .await
        .map_err(PasskeyFailure::Server)?;
    if let (Some(payee), Some(amount)) = (&ceremony.payee, &ceremony.amount) {
        prompt.set(Some(format!(
            "Confirm {amount} to {payee} with your passkey."
        )));
    }
    let answer = webauthn::run(Ceremony::Get, &ceremony.options).await;
    prompt.set(None);
    let answer = answer.map_err(PasskeyFailure::Browser)?;
    finish_passkey_approval(id, ceremony.challenge_id, answer)
        .await
        .map_err(PasskeyFailure::Server)
}

/// "Approve with passkey" for a person with one; a pointer to adding one otherwise.
#[component]
pub fn PasskeyApproval(
    current: Memo<Option<PaymentView>>,
    passkey: Action<(), Result<PaymentStatus, PasskeyFailure>>,
    passkeys: Option<u32>,
    /// What the passkey prompt confirms, from the server, while the browser asks.
    prompt: RwSignal<Option<String>>,
) -> impl IntoView {
    match passkeys {
        None => ().into_any(),
        Some(0) => view! {
            <p class="muted passkey-hint">
                <a href="/account">"Add a passkey"</a>
                " to approve payments on this device without waiting for your phone."
            </p>
        }
        .into_any(),
        Some(_) => {
            let error = move || passkey.value().get().and_then(Result::err);
            let what = move || {
                prompt.get().or_else(|| {
                    current.with(|p| {
                        p.as_ref().map(|p| {
                            format!(
                                "Or approve {} to {} with a passkey on this device.",
                                p.amount, p.payee
                            )
                        })
                    })
                })
            };
            view! {
                <div class="passkey-approval" data-testid="passkey-approval">
                    <p data-testid="passkey-prompt">{what}</p>
                    <button
                        type="button"
                        class="primary"
                        disabled=move || passkey.pending().get()
                        on:click=move |_| {
                            passkey.dispatch(());
                        }
                    >
                        "Approve with passkey"
                    </button>
                    {move || error().map(|e| if e.signed_out() {
                        view! { <Redirect path="/login?session=expired"/> }.into_any()
                    } else {
                        view! {
                            <p class="notice error" role="alert" data-testid="passkey-error">
                                {e.to_string()}
                            </p>
                        }
                        .into_any()
                    })}
                </div>
            }
            .into_any()
        }
    }
}
