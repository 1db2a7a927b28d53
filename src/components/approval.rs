//! The approval panel: waits for the decision on the phone, polling the payment's status
//! every 3 seconds, counts down to the request's expiry on the server's clock, offers a
//! code by SMS bound to this payment 15 seconds after it was created, lets its owner cancel
//! it, and once decided shows the outcome: a receipt, a denial, or a way to try again.

use std::time::Duration;

use leptos::prelude::*;
use leptos::reactive::computed::ScopedFuture;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::api::passkeys::{finish_passkey_approval, start_passkey_approval};
use crate::api::payments::{
    get_payment, payment_timeline, CancelPayment, ResendPush, SendPaymentSms, VerifyPaymentSms,
};
use crate::components::{
    form::{field_error, Field, FormError},
    links::encode_query_value,
    local_time::LocalTime,
    status::{status_label, StatusBadge},
    timeline::timeline_sentence,
    timers::{backoff, use_interval, use_mounted, use_on_visible},
    webauthn::{self, Ceremony},
};
use crate::error::AppError;
use crate::model::{DecidedVia, PaymentStatus, PaymentView, TimelineEntry};

/// How often the page asks for the payment's status.
pub const POLL_EVERY: Duration = Duration::from_secs(3);
/// The longest wait between status checks while the server does not answer.
pub const POLL_AT_MOST_EVERY: Duration = Duration::from_secs(30);
/// How long after the payment's creation the SMS code is offered (the push goes first).
pub const SMS_OFFER_AFTER_SECS: i64 = 15;

/// Follows one payment until it is decided. `passkeys`: how many passkeys its owner has
/// (`None` where this server cannot use them).
#[component]
pub fn ApprovalPanel(#[prop(into)] id: Signal<String>, passkeys: Option<u32>) -> impl IntoView {
    let send_sms = ServerAction::<SendPaymentSms>::new();
    let verify_sms = ServerAction::<VerifyPaymentSms>::new();
    let cancel = ServerAction::<CancelPayment>::new();
    let resend = ServerAction::<ResendPush>::new();
    let passkey_prompt = RwSignal::new(None::<String>);
    // The browser's prompt is not `Send`: the action runs on the page's own thread.
    let passkey =
        Action::new_unsync(move |_: &()| approve_with_passkey(id.get_untracked(), passkey_prompt));
    let poll = RwSignal::new(0u64);
    let payment = Resource::new(
        move || {
            (
                id.get(),
                poll.get(),
                verify_sms.version().get(),
                send_sms.version().get(),
                cancel.version().get(),
                resend.version().get(),
                passkey.version().get(),
            )
        },
        |(id, ..)| get_payment(id),
    );

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
        Some(Err(AppError::SessionExpired | AppError::NotSignedIn)) | None => {}
        Some(Err(_)) => failures.update(|n| *n += 1),
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
    // the browser; the server reads it once). Created here, with the other resources, so that the browser
    // finds each resource's server-sent answer in the same order.
    let timeline_version = RwSignal::new(0u32);
    Effect::new(move |previous: Option<Option<PaymentStatus>>| {
        let now = shown.get();
        if previous.is_some_and(|before| before != now) {
            timeline_version.update(|v| *v += 1);
        }
        now
    });
    let events = Resource::new(
        move || {
            (
                id.get(),
                timeline_version.get(),
                resend.version().get(),
                send_sms.version().get(),
                verify_sms.version().get(),
                passkey.version().get(),
            )
        },
        |(id, ..)| payment_timeline(id),
    );

    let parts = Parts {
        id,
        current,
        shown,
        seconds_left,
        reconnecting,
        offer_sms,
        mounted,
        clock,
        send_sms,
        verify_sms,
        cancel,
        resend,
        passkey,
        passkeys,
        passkey_prompt,
    };
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the payment…"</p> }>
            // Waits for the first answer only (untracked): what follows flows through the
            // signals above, so the page is not rebuilt on every check and the live region
            // speaks only when its words change. Nothing reads those signals before the
            // answer is in: a memo that read the resource while its answer was arriving on
            // another thread of the server could miss it.
            {move || Suspend::new(async move {
                ScopedFuture::new_untracked(payment.ready()).await;
                view! { <PaymentBody parts problem/> }
            })}
        </Suspense>
        <Timeline events/>
    }
}

/// The server's clock as this browser can tell it: the time the last answer carried, plus
/// what this browser's clock says passed since. On the server, and until the Wasm client
/// runs, it is the answer's own time, so both render the same countdown.
#[derive(Clone, Copy)]
struct ServerClock {
    current: Memo<Option<PaymentView>>,
    /// Seconds the server's clock is ahead of this browser's.
    skew: StoredValue<Skew>,
    ticked: RwSignal<Option<i64>>,
}

/// The arithmetic of [`ServerClock`], apart from its signals and the browser's clock: the
/// last answer's skew (server time minus browser time on arrival) and the time shown last.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Skew {
    skew: Option<f64>,
    shown: Option<i64>,
}

impl Skew {
    /// An answer written at `server_time` arrived when this browser's clock read `browser`:
    /// the server's time shown now.
    fn answer(&mut self, server_time: i64, browser: f64) -> Option<i64> {
        self.skew = Some(server_time as f64 - browser);
        self.tick(browser)
    }

    /// The server's time shown when this browser's clock reads `browser` (`None` before
    /// the first answer); never earlier than the time shown before.
    fn tick(&mut self, browser: f64) -> Option<i64> {
        let now = never_back(self.shown, browser + self.skew?);
        self.shown = Some(now);
        Some(now)
    }
}

impl ServerClock {
    fn new(current: Memo<Option<PaymentView>>) -> Self {
        let clock = ServerClock {
            current,
            skew: StoredValue::new(Skew::default()),
            ticked: RwSignal::new(None),
        };
        // Each answer sets the clock again (effects run in the browser only).
        Effect::new(move |_| {
            if let Some(server_time) = current.with(|p| p.as_ref().map(|p| p.server_time)) {
                let mut skew = clock.skew.get_value();
                let shown = skew.answer(server_time, browser_seconds());
                clock.skew.set_value(skew);
                clock.show(shown);
            }
        });
        clock
    }

    fn tick(self) {
        let mut skew = self.skew.get_value();
        let shown = skew.tick(browser_seconds());
        self.skew.set_value(skew);
        self.show(shown);
    }

    fn show(self, shown: Option<i64>) {
        if shown.is_some() && self.ticked.get_untracked() != shown {
            self.ticked.set(shown);
        }
    }

    /// The server's time now, in Unix seconds.
    fn now(self) -> i64 {
        self.ticked.get().unwrap_or_else(|| {
            self.current
                .with(|p| p.as_ref().map_or(0, |p| p.server_time))
        })
    }
}

/// The server's time in whole seconds from `estimate` (this browser's clock plus the last
/// answer's skew), never earlier than the time already `shown`. Answers carry whole seconds,
/// rounded down, and arrive a moment after they were written: an answer can put the estimate
/// a second behind the one a tick showed just before, and a countdown would step back, or
/// the SMS offer made at 15 seconds be taken away for a second (and a click on it lost).
fn never_back(shown: Option<i64>, estimate: f64) -> i64 {
    let estimate = estimate.floor() as i64;
    shown.map_or(estimate, |shown| shown.max(estimate))
}

/// This browser's clock, in Unix seconds.
fn browser_seconds() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        leptos::web_sys::js_sys::Date::now() / 1000.0
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// What the body of the panel reads.
#[derive(Clone, Copy)]
struct Parts {
    id: Signal<String>,
    current: Memo<Option<PaymentView>>,
    shown: Memo<Option<PaymentStatus>>,
    seconds_left: Memo<Option<i64>>,
    reconnecting: Signal<bool>,
    offer_sms: Signal<bool>,
    mounted: ReadSignal<bool>,
    clock: ServerClock,
    send_sms: ServerAction<SendPaymentSms>,
    verify_sms: ServerAction<VerifyPaymentSms>,
    cancel: ServerAction<CancelPayment>,
    resend: ServerAction<ResendPush>,
    passkey: Action<(), Result<PaymentStatus, String>>,
    passkeys: Option<u32>,
    /// What the passkey prompt confirms, from the server, while the browser asks.
    passkey_prompt: RwSignal<Option<String>>,
}

#[component]
fn PaymentBody(parts: Parts, problem: Memo<Option<AppError>>) -> impl IntoView {
    let Parts { current, shown, .. } = parts;
    // What the frame is built from changes rarely: not on every check.
    let head = Memo::new(move |_| {
        current.with(|p| p.as_ref().map(|p| (p.payee.to_string(), p.amount.clone())))
    });
    let signed_out = Memo::new(move |_| {
        matches!(
            problem.get(),
            Some(AppError::SessionExpired | AppError::NotSignedIn)
        )
    });
    move || {
        if signed_out.get() {
            return view! { <Redirect path="/login?session=expired"/> }.into_any();
        }
        let Some((payee, amount)) = head.get() else {
            let message = problem.get().map(|e| e.to_string()).unwrap_or_default();
            return view! {
                <section class="card narrow approval" data-testid="payment">
                    <p class="notice error" role="alert">{message}</p>
                </section>
            }
            .into_any();
        };
        view! {
            <section class="card narrow approval" data-testid="payment">
                <p class="muted">"Payment to"</p>
                <h1 class="payee" tabindex="-1">{payee.clone()}</h1>
                <p class="amount" data-testid="amount">{amount}</p>
                <p>{move || shown.get().map(|status| view! { <StatusBadge status/> })}</p>
                // The one live region: it changes only when the status does.
                <p class="sr-only" role="status" aria-live="polite" data-testid="announcement">
                    {move || shown.get().map(announcement)}
                </p>
                {move || {
                    let status = shown.get()?;
                    // Plain text, set again with each status: the head is written after the
                    // body on the server, when a closure's signals may be gone.
                    let title = format!("{payee}: {}", status_label(status));
                    let part = match status {
                        PaymentStatus::Pending => waiting_view(parts).into_any(),
                        status => outcome_view(status, current).into_any(),
                    };
                    Some(view! { <Title text=title/> {part} })
                }}
            </section>
        }
        .into_any()
    }
}

/// What the live region says when the status changes.
fn announcement(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Pending => "Waiting for your approval on your phone.",
        PaymentStatus::Approved => "Payment approved.",
        PaymentStatus::Denied => "Payment denied. Nothing was paid.",
        PaymentStatus::Expired => "The request expired. Nothing was paid.",
        PaymentStatus::Failed => "The payment failed. Nothing was paid.",
        PaymentStatus::Cancelled => "Payment cancelled. Nothing was paid.",
    }
}

fn minutes(seconds: i64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Without the Wasm client the page cannot check by itself: the browser reloads it every
/// 5 seconds. Given as inner HTML, so that hydration never walks into the `<noscript>`
/// (whose content a browser running scripts keeps as text).
const RELOAD_WITHOUT_SCRIPT: &str =
    r#"<noscript><meta http-equiv="refresh" content="5"></noscript>"#;

fn waiting_view(parts: Parts) -> impl IntoView {
    let Parts {
        id,
        current,
        seconds_left,
        reconnecting,
        mounted,
        cancel,
        resend,
        ..
    } = parts;
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
        // Needs the Wasm client (the browser's WebAuthn API), so it appears after mount.
        <Show when=move || mounted.get()>
            <PasskeyApproval parts/>
        </Show>
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
        // The SMS part needs the Wasm client, so it appears after mount; it is built once,
        // so a check never resets what the person is typing.
        <Show when=move || mounted.get()>
            <SmsFallback parts/>
        </Show>
        <ActionForm action=cancel attr:class="cancel-form">
            <input type="hidden" name="id" value=id/>
            <FormError error=cancel_error/>
            <button type="submit" class="secondary" disabled=move || cancel.pending().get()>
                "Cancel payment"
            </button>
        </ActionForm>
    }
}

/// "Try again with the same details": Send a payment with payee and amount filled in.
fn retry_href(p: &PaymentView) -> String {
    format!(
        "/payments/new?payee={}&amount={}",
        encode_query_value(p.payee.as_str()),
        encode_query_value(&p.amount_typed)
    )
}

fn outcome_view(status: PaymentStatus, current: Memo<Option<PaymentView>>) -> impl IntoView {
    let Some(p) = current.get_untracked() else {
        return ().into_any();
    };
    let decided_at = p.decided_at.map(|unix| view! { <LocalTime unix/> });
    let try_again = view! {
        <a href=retry_href(&p) class="button primary" data-testid="try-again">
            "Try again with the same details"
        </a>
    };
    match status {
        PaymentStatus::Pending => ().into_any(),
        PaymentStatus::Approved => view! {
            <div class="receipt" data-testid="receipt">
                <h2>"Receipt"</h2>
                <dl>
                    <dt>"Paid to"</dt>
                    <dd>{p.payee.to_string()}</dd>
                    <dt>"Amount"</dt>
                    <dd>{p.amount.clone()}</dd>
                    <dt>"Reference"</dt>
                    <dd class="mono" data-testid="reference">{p.id.to_string()}</dd>
                    <dt>"Approved"</dt>
                    <dd>{decided_at}</dd>
                    <dt>"Approved with"</dt>
                    <dd data-testid="approved-with">
                        {match p.decided_via {
                            Some(DecidedVia::Sms) => "A code sent to your phone by SMS",
                            Some(DecidedVia::Passkey) => "Your passkey",
                            _ => "The approval request on your phone",
                        }}
                    </dd>
                </dl>
            </div>
            <a href="/payments" class="button">"My payments"</a>
        }
        .into_any(),
        PaymentStatus::Denied => view! {
            <p class="notice info">"You denied this payment on your phone. Nothing was paid."</p>
            <div class="guidance" data-testid="not-you">
                <h2>"Didn't ask for this?"</h2>
                <p>
                    "If you did not start this payment, someone else may know your password. "
                    "Your phone stopped it: nothing left your account. Log out, choose a new "
                    "password, and tell your bank."
                </p>
            </div>
        }
        .into_any(),
        PaymentStatus::Expired => view! {
            <p class="notice warn">
                "The approval request expired before it was answered. Nothing was paid."
            </p>
            {try_again}
        }
        .into_any(),
        PaymentStatus::Failed => view! {
            <p class="notice error">
                "This payment failed: "
                {p.failure_reason.clone().unwrap_or_else(|| "no reason recorded.".into())}
                " Nothing was paid."
            </p>
            {try_again}
        }
        .into_any(),
        PaymentStatus::Cancelled => view! {
            <p class="notice info">"You cancelled this payment. Nothing was paid."</p>
            {try_again}
        }
        .into_any(),
    }
}

/// What happened to the payment, from the audit trail.
#[component]
fn Timeline(events: Resource<Result<Vec<TimelineEntry>, AppError>>) -> impl IntoView {
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
                                                <LocalTime unix=e.at/>
                                                " "
                                                {timeline_sentence(&e)}
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

/// Approves payment `id` with a passkey: the server's one-time challenge for it, the
/// browser's prompt (showing what the server bound it to), the answer back.
async fn approve_with_passkey(
    id: String,
    prompt: RwSignal<Option<String>>,
) -> Result<PaymentStatus, String> {
    let ceremony = start_passkey_approval(id.clone())
        .await
        .map_err(|e| e.to_string())?;
    if let (Some(payee), Some(amount)) = (&ceremony.payee, &ceremony.amount) {
        prompt.set(Some(format!(
            "Confirm {amount} to {payee} with your passkey."
        )));
    }
    let answer = webauthn::run(Ceremony::Get, &ceremony.options).await;
    prompt.set(None);
    let answer = answer.map_err(|e| e.to_string())?;
    finish_passkey_approval(id, ceremony.challenge_id, answer)
        .await
        .map_err(|e| e.to_string())
}

/// "Approve with passkey" for a person with one; a pointer to adding one otherwise.
#[component]
fn PasskeyApproval(parts: Parts) -> impl IntoView {
    let Parts {
        current,
        passkey,
        passkeys,
        passkey_prompt,
        ..
    } = parts;
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
                passkey_prompt.get().or_else(|| {
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
                    {move || error().map(|e| view! {
                        <p class="notice error" role="alert" data-testid="passkey-error">{e}</p>
                    })}
                </div>
            }
            .into_any()
        }
    }
}

/// "Having trouble?": sends an SMS code for this payment, then takes the code.
#[component]
fn SmsFallback(parts: Parts) -> impl IntoView {
    let Parts {
        id,
        current,
        offer_sms,
        clock,
        send_sms,
        verify_sms,
        ..
    } = parts;
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

#[cfg(test)]
mod tests {
    use super::Skew;

    /// What the panel's clock shows at each event: an answer arriving (`Some(server
    /// time)`) or a tick, at the browser time given; the clock's own arithmetic.
    fn shown_over(events: &[(f64, Option<i64>)]) -> Vec<i64> {
        let mut clock = Skew::default();
        events
            .iter()
            .map(|&(browser, answer)| {
                match answer {
                    Some(server_time) => clock.answer(server_time, browser),
                    None => clock.tick(browser),
                }
                .expect("after the first answer the clock shows a time")
            })
            .collect()
    }

    #[test]
    fn before_any_answer_the_clock_shows_nothing() {
        let mut clock = Skew::default();
        assert_eq!(clock.tick(100.0), None);
    }

    #[test]
    fn the_server_clock_never_steps_back_when_an_answer_arrives() {
        // An answer written at 100.0 arrives at once; ticks follow. The next answer was
        // written at 103.99 (whole seconds: 103) and arrives at 104.06, just after the tick
        // at 104.05 showed 104.
        let seen = shown_over(&[
            (100.0, Some(100)),
            (101.05, None),
            (102.05, None),
            (103.05, None),
            (104.05, None),
            (104.06, Some(103)),
            (105.05, None),
            (106.1, None),
        ]);
        // Rounded down and late, the new answer puts the server a second behind: the
        // clock waits for it instead of showing 103.
        assert_eq!(seen, [100, 101, 102, 103, 104, 104, 104, 105]);
    }

    #[test]
    fn the_server_clock_follows_an_answer_that_is_ahead() {
        // The browser's clock is 30 seconds behind the server's: the first answer sets it.
        let seen = shown_over(&[
            (70.0, Some(100)),
            (71.0, None),
            (72.5, Some(102)),
            (73.5, None),
        ]);
        assert_eq!(seen, [100, 101, 102, 103]);
    }
}
