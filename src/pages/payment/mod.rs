//! `/payments/:id`, one payment: while it is pending the page waits for the decision on
//! the phone, checking the payment's status every 3 seconds, counts down to the request's
//! expiry on the server's clock, offers a code by SMS bound to this payment 15 seconds
//! after it was created, a passkey, and a way to cancel; once decided it shows the
//! outcome (a receipt, a denial, or a way to try again). Below, the payment's timeline.
//!
//! One file per part: [`clock`] (the server's time), [`waiting`], [`outcome`], [`sms`],
//! [`passkey`] and [`timeline`]; this one holds what they share (the status resource and
//! the signals made from it) and hands each part only what it reads.

mod clock;
mod outcome;
mod passkey;
mod sms;
mod timeline;
mod waiting;

use std::time::Duration;

use leptos::prelude::*;
use leptos::reactive::computed::ScopedFuture;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_params_map};

use crate::api::payments::{
    get_payment, payment_timeline, CancelPayment, ResendPush, SendPaymentSms, VerifyPaymentSms,
};
use crate::components::{
    guard::{Guarded, Require},
    links::SandboxPhoneBanner,
    status::{status_label, StatusBadge},
    timers::{backoff, use_interval, use_mounted, use_on_visible},
};
use crate::error::AppError;
use crate::model::{PaymentId, PaymentStatus, PaymentView};
use clock::ServerClock;

/// How often the page asks for the payment's status.
pub const POLL_EVERY: Duration = Duration::from_secs(3);
/// The longest wait between status checks while the server does not answer.
pub const POLL_AT_MOST_EVERY: Duration = Duration::from_secs(30);
/// How long after the payment's creation the SMS code is offered (the push goes first).
pub const SMS_OFFER_AFTER_SECS: i64 = 15;

/// `/payments/:id`
#[component]
pub fn PaymentPage() -> impl IntoView {
    view! {
        <Title text="Payment"/>
        <Guarded require=Require::VerifiedUser page=|user| {
            let passkeys = user.passkeys;
            view! {
                <SandboxPhoneBanner user/>
                <PaymentOfAddress passkeys/>
            }
        }/>
    }
}

/// The payment the address names; an address that names none says so (like an id of no
/// payment of the caller's, which the server says).
#[component]
fn PaymentOfAddress(passkeys: Option<u32>) -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|id| PaymentId::parse(&id)));
    // Another payment's address on the same page is another panel.
    move || match id.get() {
        Some(id) => view! { <PaymentPanel id passkeys/> }.into_any(),
        None => view! { <Problem message=AppError::NotFound.to_string()/> }.into_any(),
    }
}

/// Follows payment `id` until it is decided. `passkeys`: how many passkeys its owner has
/// (`None` where this server cannot use them).
#[component]
fn PaymentPanel(id: PaymentId, passkeys: Option<u32>) -> impl IntoView {
    let send_sms = ServerAction::<SendPaymentSms>::new();
    let verify_sms = ServerAction::<VerifyPaymentSms>::new();
    let cancel = ServerAction::<CancelPayment>::new();
    let resend = ServerAction::<ResendPush>::new();
    let passkey_prompt = RwSignal::new(None::<String>);
    // The browser's prompt is not `Send`: the action runs on the page's own thread. Its
    // closure holds only `Copy` handles: the server may drop it on another thread, which
    // an unsync closure with anything to drop would not survive.
    let passkey = {
        let id = StoredValue::new(id.clone());
        Action::new_unsync(move |_: &()| passkey::approve(id.get_value(), passkey_prompt))
    };
    // Something the person did may have changed the payment: the status and the timeline
    // are read again.
    let acted = Memo::new(move |_| {
        send_sms.version().get()
            + verify_sms.version().get()
            + cancel.version().get()
            + resend.version().get()
            + passkey.version().get()
    });
    let poll = RwSignal::new(0u64);
    let payment = Resource::new(move || (poll.get(), acted.get()), {
        let id = id.clone();
        move |_| get_payment(id.clone())
    });

    // The last state the server told, kept through failed checks: a network blip must not
    // take the payment off the page while the person answers on their phone. A memo, so
    // the server renders it too.
    let current = Memo::new(
        move |previous: Option<&Option<PaymentView>>| match payment.get() {
            Some(Ok(p)) => Some(p),
            _ => previous.cloned().flatten(),
        },
    );
    let failures = RwSignal::new(0u32);
    Effect::new(move |_| match payment.get() {
        Some(Ok(_)) => failures.set(0),
        Some(Err(e)) if !e.signed_out() => failures.update(|n| *n += 1),
        Some(Err(_)) | None => {}
    });
    let problem = Memo::new(move |_| payment.get().and_then(Result::err));

    // The server's status, and the one shown: a request whose time ran out shows as
    // expired at once, without waiting for the next check to say so.
    let clock = ServerClock::new(current);
    let status = Memo::new(move |_| current.with(|p| p.as_ref().map(|p| p.status)));
    let seconds_left = Memo::new(move |_| {
        let now = clock.now();
        current.with(|p| p.as_ref().map(|p| p.seconds_left(now)))
    });
    let shown = Memo::new(move |_| match (status.get(), seconds_left.get()) {
        (Some(PaymentStatus::Pending), Some(0)) => Some(PaymentStatus::Expired),
        (status, _) => status,
    });
    let server_pending = Signal::derive(move || status.get() == Some(PaymentStatus::Pending));
    let reconnecting = Signal::derive(move || failures.get() > 0 && server_pending.get());

    // The next check is due a period after the last answer, later after failures; checks
    // go on until the server itself says the payment is decided.
    Effect::new(
        move |previous: Option<Option<gloo_timers::callback::Timeout>>| {
            drop(previous);
            payment.track();
            let wait = backoff(POLL_EVERY, failures.get(), POLL_AT_MOST_EVERY);
            let millis = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
            server_pending.get().then(|| {
                gloo_timers::callback::Timeout::new(millis, move || poll.update(|n| *n += 1))
            })
        },
    );
    use_on_visible(move || {
        if server_pending.get_untracked() {
            poll.update(|n| *n += 1);
        }
    });
    use_interval(Duration::from_secs(1), server_pending, move || clock.tick());
    // At zero, ask the server at once rather than at the next period.
    Effect::new(move |previous: Option<Option<PaymentStatus>>| {
        let now = shown.get();
        if previous.flatten() == Some(PaymentStatus::Pending)
            && now == Some(PaymentStatus::Expired)
            && server_pending.get_untracked()
        {
            poll.update(|n| *n += 1);
        }
        now
    });
    let offer_sms = Signal::derive(move || {
        let now = clock.now();
        current.with(|p| {
            p.as_ref()
                .is_some_and(|p| now - p.created_at >= SMS_OFFER_AFTER_SECS)
        })
    });
    let mounted = use_mounted();

    // The timeline is read again whenever the shown status moves or the person acted (in
    // the browser; the server reads it once). Created here, with the other resources, so
    // that the browser finds each resource's server-sent answer in the same order.
    let timeline_version = RwSignal::new(0u32);
    Effect::new(move |previous: Option<Option<PaymentStatus>>| {
        let now = shown.get();
        if previous.is_some_and(|before| before != now) {
            timeline_version.update(|v| *v += 1);
        }
        now
    });
    let events = Resource::new(move || (timeline_version.get(), acted.get()), {
        let id = id.clone();
        move |_| payment_timeline(id.clone())
    });

    let waiting = ViewFn::from(move || {
        let id = id.clone();
        // The passkey and SMS parts need the Wasm client (the browser's WebAuthn API, a
        // form that keeps what is typed across checks), so they appear after mount.
        let passkey_part = ViewFn::from(move || {
            view! { <passkey::PasskeyApproval current passkey passkeys prompt=passkey_prompt/> }
        });
        let sms_part = ViewFn::from({
            let id = id.clone();
            move || {
                let id = id.clone();
                view! { <sms::SmsFallback id current offer_sms clock send_sms verify_sms/> }
            }
        });
        view! {
            <waiting::Waiting
                id current seconds_left reconnecting mounted cancel resend passkey_part sms_part
            />
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the payment…"</p> }>
            // Waits for the first answer only (untracked): what follows flows through the
            // signals above, so the page is not rebuilt on every check and the live region
            // speaks only when its words change. Nothing reads those signals before the
            // answer is in: a memo that read the resource while its answer was arriving on
            // another thread of the server could miss it.
            {
                let waiting = waiting.clone();
                move || {
                    let waiting = waiting.clone();
                    Suspend::new(async move {
                        ScopedFuture::new_untracked(payment.ready()).await;
                        view! { <PaymentBody current shown problem waiting/> }
                    })
                }
            }
        </Suspense>
        <timeline::Timeline events/>
    }
}

/// The payment's card: payee and amount, the status, then the waiting part or the
/// outcome; a sign-in again when the session is over.
#[component]
fn PaymentBody(
    current: Memo<Option<PaymentView>>,
    shown: Memo<Option<PaymentStatus>>,
    problem: Memo<Option<AppError>>,
    waiting: ViewFn,
) -> impl IntoView {
    // What the frame is built from changes rarely: not on every check.
    let head = Memo::new(move |_| {
        current.with(|p| p.as_ref().map(|p| (p.payee.to_string(), p.amount.clone())))
    });
    let signed_out =
        Memo::new(move |_| problem.with(|p| p.as_ref().is_some_and(AppError::signed_out)));
    move || {
        if signed_out.get() {
            return view! { <Redirect path="/login?session=expired"/> }.into_any();
        }
        let Some((payee, amount)) = head.get() else {
            let message = problem.get().map(|e| e.to_string()).unwrap_or_default();
            return view! { <Problem message/> }.into_any();
        };
        let waiting = waiting.clone();
        view! {
            <section class="card narrow approval" data-testid="payment">
                <p class="muted">"Payment to"</p>
                <h1 class="payee" tabindex="-1">{payee.clone()}</h1>
                <p class="amount" data-testid="amount">{amount}</p>
                <p>{move || shown.get().map(|status| view! { <StatusBadge status/> })}</p>
                // The one live region: it changes only when the status does.
                <p class="sr-only" role="status" aria-live="polite" data-testid="announcement">
                    {move || shown.get().map(outcome::announcement)}
                </p>
                {move || {
                    let status = shown.get()?;
                    // Plain text, set again with each status: the head is written after the
                    // body on the server, when a closure's signals may be gone.
                    let title = format!("{payee}: {}", status_label(status));
                    let part = match status {
                        PaymentStatus::Pending => waiting.run(),
                        status => outcome::outcome_view(status, current).into_any(),
                    };
                    Some(view! { <Title text=title/> {part} })
                }}
            </section>
        }
        .into_any()
    }
}

/// The card when there is no payment to show, saying why.
#[component]
fn Problem(message: String) -> impl IntoView {
    view! {
        <section class="card narrow approval" data-testid="payment">
            <p class="notice error" role="alert">{message}</p>
        </section>
    }
}

/// `m:ss`
fn minutes(seconds: i64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}
