//! The approval panel: waits for the decision on the phone, polling the payment's status
//! every 3 seconds, and after 15 seconds offers a code by SMS bound to this payment.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::{
    components::{Redirect, A},
    hooks::use_navigate,
    NavigateOptions,
};

use crate::api::payments::{get_payment, payment_timeline, SendPaymentSms, VerifyPaymentSms};
use crate::components::{
    form::{field_error, Field, FormError},
    status::StatusBadge,
    timers::{backoff, use_after, use_interval, use_mounted, use_on_visible},
};
use crate::error::AppError;
use crate::model::{format_time, DecidedVia, PaymentStatus, PaymentView};

/// How often the page asks for the payment's status.
pub const POLL_EVERY: Duration = Duration::from_secs(3);
/// The longest wait between status checks while the server does not answer.
pub const POLL_AT_MOST_EVERY: Duration = Duration::from_secs(30);
/// How long the push gets before the SMS code is offered.
pub const SMS_OFFER_AFTER: Duration = Duration::from_secs(15);

/// Follows one payment until it is decided.
#[component]
pub fn ApprovalPanel(#[prop(into)] id: Signal<String>) -> impl IntoView {
    let send_sms = ServerAction::<SendPaymentSms>::new();
    let verify_sms = ServerAction::<VerifyPaymentSms>::new();
    let poll = RwSignal::new(0u64);
    let payment = Resource::new(
        move || {
            (
                id.get(),
                poll.get(),
                verify_sms.version().get(),
                send_sms.version().get(),
            )
        },
        |(id, _, _, _)| get_payment(id),
    );

    // The last state the server told, kept through failed checks: a network blip must not
    // take the payment off the page while the person answers on their phone.
    let last_known = RwSignal::new(None::<PaymentView>);
    let failures = RwSignal::new(0u32);
    Effect::new(move |_| match payment.get() {
        Some(Ok(p)) => {
            last_known.set(Some(p));
            failures.set(0);
        }
        Some(Err(AppError::SessionExpired | AppError::NotSignedIn)) | None => {}
        Some(Err(_)) => failures.update(|n| *n += 1),
    });

    // What the parts below react to, changing only when it really changes.
    let current = Memo::new(move |_| last_known.get());
    let status = Memo::new(move |_| current.with(|p| p.as_ref().map(|p| p.status)));
    let pending = Signal::derive(move || status.get().is_some_and(|s| !s.is_final()));
    let reconnecting = Signal::derive(move || failures.get() > 0 && pending.get());

    // The next check is due a period after the last answer, later after failures.
    Effect::new(
        move |previous: Option<Option<gloo_timers::callback::Timeout>>| {
            drop(previous);
            payment.track();
            let wait = backoff(POLL_EVERY, failures.get(), POLL_AT_MOST_EVERY);
            let millis = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
            pending.get().then(|| {
                gloo_timers::callback::Timeout::new(millis, move || poll.update(|n| *n += 1))
            })
        },
    );
    use_on_visible(move || {
        if pending.get_untracked() {
            poll.update(|n| *n += 1);
        }
    });
    let elapsed = RwSignal::new(0u64);
    use_interval(Duration::from_secs(1), pending, move || {
        elapsed.update(|s| *s += 1)
    });
    let offer_sms = use_after(SMS_OFFER_AFTER);
    let mounted = use_mounted();

    // Decided while this page watched: go where the outcome belongs.
    let navigate = use_navigate();
    let saw_pending = StoredValue::new(false);
    Effect::new(move |_| match status.get() {
        Some(PaymentStatus::Pending) => saw_pending.set_value(true),
        Some(PaymentStatus::Approved) if saw_pending.get_value() => {
            navigate("/payments?notice=approved", NavigateOptions::default())
        }
        Some(PaymentStatus::Denied) if saw_pending.get_value() => {
            navigate("/payments/new?notice=denied", NavigateOptions::default())
        }
        _ => {}
    });

    view! {
        <section class="card narrow approval" data-testid="payment">
            <Transition fallback=|| view! { <p class="muted">"Loading the payment…"</p> }>
                {move || Suspend::new(async move {
                    match payment.await {
                        Ok(p) => summary(p, elapsed).into_any(),
                        Err(AppError::SessionExpired | AppError::NotSignedIn) => {
                            view! { <Redirect path="/login?session=expired"/> }.into_any()
                        }
                        Err(e) => match last_known.get_untracked() {
                            Some(p) => summary(p, elapsed).into_any(),
                            None => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        },
                    }
                })}
            </Transition>
            <Show when=move || reconnecting.get()>
                <p class="notice warn" data-testid="reconnecting">
                    "Reconnecting… The last known state is shown; your answer on the phone still counts."
                </p>
            </Show>
            // The SMS part lives outside the refetched summary, so a poll never resets
            // what the user is typing. It needs the Wasm client, so it appears after mount.
            <Show when=move || mounted.get() && pending.get()>
                <SmsFallback id current offer=offer_sms send_sms verify_sms/>
            </Show>
        </section>
        <Timeline id status/>
    }
}

/// What happened to the payment, from the audit trail; fetched again when the status moves.
#[component]
fn Timeline(id: Signal<String>, status: Memo<Option<PaymentStatus>>) -> impl IntoView {
    let events = Resource::new(
        move || (id.get(), status.get()),
        |(id, _)| payment_timeline(id),
    );
    view! {
        <section class="card narrow timeline" aria-label="Timeline">
            <h2>"Timeline"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    events
                        .await
                        .map(|events| {
                            view! {
                                <ol data-testid="timeline">
                                    {events
                                        .into_iter()
                                        .map(|e| view! {
                                            <li>
                                                <time>{format_time(e.at)}</time>
                                                " "
                                                <strong>{e.event.as_str().replace('_', " ")}</strong>
                                                " · "
                                                {e.outcome}
                                                {(!e.detail.is_empty()).then(|| format!(" · {}", e.detail))}
                                            </li>
                                        })
                                        .collect_view()}
                                </ol>
                            }
                        })
                        .ok()
                })}
            </Transition>
        </section>
    }
}

fn minutes(seconds: u64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Without the Wasm client the page cannot check by itself: the browser reloads it every
/// 5 seconds. Given as inner HTML, so that hydration never walks into the `<noscript>`
/// (whose content a browser running scripts keeps as text).
const RELOAD_WITHOUT_SCRIPT: &str =
    r#"<noscript><meta http-equiv="refresh" content="5"></noscript>"#;

fn summary(p: PaymentView, elapsed: RwSignal<u64>) -> impl IntoView {
    let outcome = match p.status {
        PaymentStatus::Pending => view! {
            <div class="waiting" role="status">
                <span class="pulse" aria-hidden="true"></span>
                <div>
                    <strong>"Waiting for approval on your phone"</strong>
                    <p class="muted">
                        "Open the request on your phone and approve or deny it. Waiting "
                        <span data-testid="elapsed">{move || minutes(elapsed.get())}</span>
                        "."
                    </p>
                </div>
            </div>
            <p class="muted">
                <a href=format!("/payments/{}", p.id) data-testid="check-status">"Check status"</a>
            </p>
            <div class="reload-without-script" inner_html=RELOAD_WITHOUT_SCRIPT></div>
        }
        .into_any(),
        PaymentStatus::Approved => view! {
            <p class="notice ok" role="status">
                {if p.decided_via == Some(DecidedVia::Sms) { "Approved with your SMS code." } else { "Approved on your phone." }}
            </p>
        }
        .into_any(),
        PaymentStatus::Denied => view! {
            <p class="notice error" role="status">"You denied this payment. Nothing was paid."</p>
        }
        .into_any(),
        PaymentStatus::Expired => view! {
            <p class="notice warn" role="status">
                "The approval request expired before it was answered. Nothing was paid."
            </p>
            <A href="/payments/new" attr:class="button primary">"Start again"</A>
        }
        .into_any(),
        PaymentStatus::Failed => view! {
            <p class="notice error" role="status">
                "This payment failed: "
                {p.failure_reason.clone().unwrap_or_else(|| "no reason recorded.".into())}
            </p>
            <A href="/payments/new" attr:class="button primary">"Start again"</A>
        }
        .into_any(),
    };
    view! {
        <p class="muted">"Payment to"</p>
        <h1 class="payee">{p.payee.to_string()}</h1>
        <p class="amount" data-testid="amount">{p.amount}</p>
        <p><StatusBadge status=p.status/></p>
        {outcome}
    }
}

/// "Having trouble?": sends an SMS code for this payment, then takes the code.
#[component]
fn SmsFallback(
    id: Signal<String>,
    current: Memo<Option<PaymentView>>,
    offer: ReadSignal<bool>,
    send_sms: ServerAction<SendPaymentSms>,
    verify_sms: ServerAction<VerifyPaymentSms>,
) -> impl IntoView {
    let sms_sent = Memo::new(move |_| current.with(|p| p.as_ref().is_some_and(|p| p.sms_sent)));
    let send_error = Signal::derive(move || send_sms.value().get().and_then(Result::err));
    let verify_error = Signal::derive(move || verify_sms.value().get().and_then(Result::err));

    view! {
        <Show when=move || sms_sent.get() || offer.get()>
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
                        <p class="muted">"We sent a code by SMS for this payment. Enter it here."</p>
                        <Field
                            label="SMS code"
                            name="code"
                            inputmode="numeric"
                            autocomplete="one-time-code"
                            error=field_error(verify_error, "code")
                        />
                        <FormError error=verify_error/>
                        <button type="submit" class="primary" disabled=move || verify_sms.pending().get()>
                            "Approve with this code"
                        </button>
                    </ActionForm>
                </Show>
            </div>
        </Show>
    }
}
