//! The sandbox phone: plays the user's handset, showing what a real phone would receive.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::model::{SandboxFault, SandboxMessage, SandboxPush};
use super::server_fns::{
    sandbox_current_fault, sandbox_inbox, sandbox_recent_phones, sandbox_serves_verify,
    SandboxDecide, SandboxPair, SandboxSetFault,
};

/// How often the open phone looks for new messages and requests.
const REFRESH: Duration = Duration::from_secs(2);

/// `/sandbox/phone?phone=+12015550123`
#[component]
pub fn PhonePage() -> impl IntoView {
    let query = use_query_map();
    let phone = move || query.read().get("phone").unwrap_or_default();
    let decide = ServerAction::<SandboxDecide>::new();
    let pair = ServerAction::<SandboxPair>::new();
    // Asked once: the enrolment form is not redrawn (and its input not emptied) by the
    // inbox's refresh.
    let serves_verify = Resource::new(|| (), |_| sandbox_serves_verify());

    // A real phone gets messages pushed to it; this one looks every two seconds.
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || tick.update(|t| *t += 1), REFRESH) {
            on_cleanup(move || handle.clear());
        }
    });

    let inbox = Resource::new(
        move || (phone(), tick.get(), decide.version().get()),
        |(phone, _, _)| async move {
            if phone.trim().is_empty() {
                Ok(None)
            } else {
                sandbox_inbox(phone).await.map(Some)
            }
        },
    );
    let recent = Resource::new(|| (), |_| sandbox_recent_phones());
    let set_fault = ServerAction::<SandboxSetFault>::new();
    let fault = Resource::new(
        move || set_fault.version().get(),
        |_| sandbox_current_fault(),
    );

    view! {
        <Title text="Sandbox phone"/>
        <p class="sandbox-banner" role="note">
            "Sandbox: this page plays your phone. Nothing here reaches a real phone; "
            "it shows what Payfriend's built-in sandbox (Authy or Verify) sent."
        </p>
        <div class="phone-layout">
            <div class="phone-side">
            <form method="get" action="/sandbox/phone" class="stack phone-picker">
                <div class="field">
                    <label for="phone">"Phone number"</label>
                    <input
                        id="phone"
                        name="phone"
                        type="tel"
                        placeholder="+1 201 555 0123"
                        prop:value=phone
                    />
                </div>
                <button type="submit" class="secondary">"Open this phone"</button>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        recent
                            .await
                            .ok()
                            .filter(|phones| !phones.is_empty())
                            .map(|phones| {
                                view! {
                                    <p class="muted">"Recently used:"</p>
                                    <ul class="recent-phones">
                                        {phones
                                            .into_iter()
                                            .map(|p| {
                                                let href = format!("/sandbox/phone?phone={}", p.replace('+', "%2B"));
                                                view! { <li><A href=href>{p}</A></li> }
                                            })
                                            .collect_view()}
                                    </ul>
                                }
                            })
                    })}
                </Transition>
            </form>
            <ActionForm action=set_fault attr:class="stack fault-switch">
                <div class="field">
                    <label for="fault">"Sandbox behaviour"</label>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let current = fault.await.unwrap_or(SandboxFault::None);
                            view! {
                                <select id="fault" name="fault">
                                    {SandboxFault::ALL
                                        .into_iter()
                                        .map(|f| view! {
                                            <option value=f.as_str() selected=f == current>{f.label()}</option>
                                        })
                                        .collect_view()}
                                </select>
                                <p class="muted" data-testid="fault">"Now: " {current.label()}</p>
                            }
                        })}
                    </Transition>
                </div>
                <button type="submit" class="secondary">"Apply"</button>
            </ActionForm>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let served = serves_verify.await.unwrap_or(false);
                    let number = phone();
                    (served && !number.trim().is_empty()).then(|| pair_form(number, pair))
                })}
            </Transition>
            </div>
            <div class="phone" data-testid="phone">
                {move || decide.value().get().map(|result| match result {
                    Ok(message) => view! { <p class="notice info" role="status">{message}</p> }.into_any(),
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match inbox.await {
                            Ok(None) => view! {
                                <p class="muted">"Enter a phone number to see what it received."</p>
                            }
                            .into_any(),
                            Ok(Some(phone)) => view! {
                                <h2>{phone.phone.clone()}</h2>

                                <section aria-label="Push requests">
                                    <h2>"Push requests"</h2>
                                    {if phone.pushes.is_empty() {
                                        view! { <p class="muted">"No push requests."</p> }.into_any()
                                    } else {
                                        phone
                                            .pushes
                                            .into_iter()
                                            .map(|p| push_card(p, decide))
                                            .collect_view()
                                            .into_any()
                                    }}
                                </section>
                                <section aria-label="Messages">
                                    <h2>"Messages"</h2>
                                    {if phone.messages.is_empty() {
                                        view! { <p class="muted">"No messages."</p> }.into_any()
                                    } else {
                                        phone.messages.into_iter().map(message_card).collect_view().into_any()
                                    }}
                                </section>
                            }
                            .into_any(),
                            Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }
                                .into_any(),
                        }
                    })}
                </Transition>
            </div>
        </div>
    }
}

/// `HH:MM:SS` (UTC) of a Unix time: the same text on the server and in the browser.
fn clock(unix: i64) -> String {
    let s = unix.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", s / 3600, (s / 60) % 60, s % 60)
}

fn message_card(m: SandboxMessage) -> impl IntoView {
    let kind = if m.kind == "call" {
        "Voice call"
    } else {
        "SMS"
    };
    view! {
        <article class="sms" data-testid="sms">
            <p class="sms-body">{m.body}</p>
            <time>{kind} " · " {clock(m.sent_at)}</time>
        </article>
    }
}

/// Adding this phone as a Verify Push device with the code the account page shows.
fn pair_form(phone: String, pair: ServerAction<SandboxPair>) -> impl IntoView {
    view! {
        <section aria-label="Push approvals app" class="stack">
            <h2>"Push approvals app"</h2>
            <ActionForm action=pair attr:class="stack">
                <input type="hidden" name="phone" value=phone/>
                <div class="field">
                    <label for="token">"Enrolment code from Payfriend"</label>
                    <input id="token" name="token" type="text" autocomplete="off" required/>
                </div>
                <button type="submit" class="secondary">"Add this phone"</button>
            </ActionForm>
            {move || pair.value().get().map(|result| match result {
                Ok(message) => view! { <p class="notice info" role="status" data-testid="paired">{message}</p> }.into_any(),
                Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

fn push_card(p: SandboxPush, decide: ServerAction<SandboxDecide>) -> impl IntoView {
    let pending = p.status == "pending";
    let time_left = p
        .seconds_left
        .map(|s| format!(" · expires in {}:{:02}", s / 60, s % 60));
    let approve_uuid = p.uuid.clone();
    let deny_uuid = p.uuid.clone();
    view! {
        <article class="push" data-testid="push" data-status=p.status.clone()>
            {p.logo_url.map(|url| view! { <img src=url alt="" width="40" height="40"/> })}
            <p class="push-message"><strong>{p.message}</strong></p>
            <dl>
                {p.details
                    .into_iter()
                    .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
                    .collect_view()}
            </dl>
            <p class="meta">
                <span class=format!("badge {}", p.status)>{p.status.clone()}</span>
                {time_left}
            </p>
            {pending.then(move || view! {
                <div class="actions">
                    <ActionForm action=decide>
                        <input type="hidden" name="uuid" value=approve_uuid/>
                        <input type="hidden" name="approve" value="true"/>
                        <button type="submit" class="primary">"Approve"</button>
                    </ActionForm>
                    <ActionForm action=decide>
                        <input type="hidden" name="uuid" value=deny_uuid/>
                        <input type="hidden" name="approve" value="false"/>
                        <button type="submit" class="danger">"Deny"</button>
                    </ActionForm>
                </div>
            })}
        </article>
    }
}
