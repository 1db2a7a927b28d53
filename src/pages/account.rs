//! The account page: who is signed in, and their passkeys (add one after an SMS code,
//! see when each was last used, remove one).

use crate::error::FormField;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::passkeys::{
    finish_add_passkey, list_passkeys, start_add_passkey, RemovePasskey, SendPasskeyCode,
};
use crate::api::push_devices::{
    push_device_status, RemovePushDevice, SendPushDeviceCode, StartPushDevice,
};
use crate::components::{
    form::FormError,
    guard::{Guarded, Require},
    links::SandboxPhoneBanner,
    local_time::LocalTime,
    timers::use_interval,
    webauthn::{self, Ceremony},
};
use crate::error::AppError;
use crate::model::{PasskeyView, SessionUser};

/// `/account`
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Your account"/>
        <Guarded require=Require::VerifiedUser page=account/>
    }
}

fn account(user: SessionUser) -> impl IntoView {
    let passkeys = user.passkeys;
    let push_device = user.push_device;
    view! {
        <SandboxPhoneBanner user=user.clone()/>
        <section class="card narrow">
            <h1 tabindex="-1">"Your account"</h1>
            <dl class="facts">
                <dt>"Email"</dt>
                <dd>{user.email}</dd>
                <dt>"Phone"</dt>
                <dd>{user.phone}</dd>
            </dl>
        </section>
        <section class="card narrow passkeys" aria-labelledby="passkeys-heading">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            {match passkeys {
                Some(_) => view! { <Passkeys/> }.into_any(),
                None => view! {
                    <p class="notice info">
                        "Passkeys are not available on this server: its address (PUBLIC_URL) "
                        "needs a host name, such as localhost or your domain, not an IP address."
                    </p>
                }
                .into_any(),
            }}
        </section>
        {push_device.map(|added| view! {
            <section class="card narrow push-device" aria-labelledby="push-heading">
                <h2 id="push-heading">"Push approvals"</h2>
                <PushDevice added/>
            </section>
        })}
    }
}

/// How often the page looks whether the phone app finished adding itself.
const ENROLMENT_CHECK: std::time::Duration = std::time::Duration::from_secs(3);

/// The person's phone as a push device (Twilio Verify): add it after an SMS code (the page
/// shows the enrolment code for the phone app, then looks every 3 seconds whether the app
/// finished), or remove it.
#[component]
fn PushDevice(added: bool) -> impl IntoView {
    let send_code = ServerAction::<SendPushDeviceCode>::new();
    let start = ServerAction::<StartPushDevice>::new();
    let remove = ServerAction::<RemovePushDevice>::new();
    let checks = RwSignal::new(0u32);
    let status = Resource::new(
        move || (checks.get(), remove.version().get()),
        move |(n, _)| async move {
            if n == 0 {
                Ok(Some(added))
            } else {
                push_device_status().await
            }
        },
    );
    let is_added =
        Signal::derive(move || status.get().and_then(Result::ok).flatten().unwrap_or(added));
    let token = move || start.value().get().and_then(Result::ok);
    // Waiting for the phone app: from an enrolment code until the device shows as added.
    let waiting = Signal::derive(move || token().is_some() && !is_added.get());
    use_interval(ENROLMENT_CHECK, waiting, move || checks.update(|n| *n += 1));
    let code_sent = move || matches!(send_code.value().get(), Some(Ok(())));
    let send_error = Signal::derive(move || send_code.value().get().and_then(Result::err));
    let start_error = Signal::derive(move || start.value().get().and_then(Result::err));
    let remove_error = Signal::derive(move || remove.value().get().and_then(Result::err));
    let code_problem = move || start_error.get().and_then(|e| e.for_field(FormField::Code));

    view! {
        <p class="muted">
            "With your phone added, a payment shows up on it with its payee and amount, and "
            "you approve or deny it there. Without it, you approve with a code by SMS or a passkey."
        </p>
        <FormError error=remove_error/>
        {move || if is_added.get() {
            view! {
                <p class="notice ok" data-testid="push-device-added">
                    "Your phone approves payments with push requests."
                </p>
                <ActionForm action=remove>
                    <button type="submit" class="secondary">"Remove push approvals"</button>
                </ActionForm>
            }
            .into_any()
        } else {
            view! {
                <p data-testid="no-push-device">"No phone is added for push approvals."</p>
                <h3>"Add your phone"</h3>
                <p class="muted">
                    "Adding a phone is a sensitive change: first confirm it is you with a code we send to it."
                </p>
                <ActionForm action=send_code attr:class="send-push-code">
                    <SendCodeButton
                        sent=Signal::derive(code_sent)
                        pending=send_code.pending().into()
                        error=send_error
                    />
                </ActionForm>
                <ActionForm action=start attr:class="stack start-push-device">
                    <div class="field">
                        <label for="push-code">"Code from the SMS"</label>
                        <input
                            id="push-code"
                            name=FormField::Code.name()
                            required=true
                            inputmode="numeric"
                            autocomplete="one-time-code"
                            aria-describedby="push-code-error"
                            aria-invalid=move || code_problem().is_some().to_string()
                        />
                        {move || code_problem().map(|e| view! {
                            <p class="field-error" id="push-code-error" role="alert">{e}</p>
                        })}
                    </div>
                    {move || start_error.get().filter(|e| e.for_field(FormField::Code).is_none()).map(|e| view! {
                        <p class="notice error" role="alert">{e.to_string()}</p>
                    })}
                    <button type="submit" class="primary" disabled=move || start.pending().get()>
                        "Get an enrolment code"
                    </button>
                </ActionForm>
                {move || token().map(|token| view! {
                    <div class="notice info" role="status">
                        <p>
                            "Open the payment approvals app on your phone and enter this enrolment "
                            "code within 5 minutes (on the sandbox phone: “Push approvals app”):"
                        </p>
                        <p><code class="enrolment-code" data-testid="enrolment-code">{token}</code></p>
                        <p class="muted">"Waiting for your phone…"</p>
                    </div>
                })}
            }
            .into_any()
        }}
    }
}

/// Why adding a passkey stopped: the server's error (with its field), or the browser's.
#[derive(Debug, Clone, PartialEq)]
enum AddProblem {
    Server(AppError),
    Browser(String),
}

#[component]
fn Passkeys() -> impl IntoView {
    let send_code = ServerAction::<SendPasskeyCode>::new();
    let remove = ServerAction::<RemovePasskey>::new();
    let name = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let add =
        Action::new_unsync(move |_: &()| add_passkey(name.get_untracked(), code.get_untracked()));
    let list = Resource::new(
        move || (add.version().get(), remove.version().get()),
        |_| list_passkeys(),
    );
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(_))) {
            name.set(String::new());
            code.set(String::new());
        }
    });
    let code_sent = move || matches!(send_code.value().get(), Some(Ok(())));
    let send_error = Signal::derive(move || send_code.value().get().and_then(Result::err));
    let remove_error = Signal::derive(move || remove.value().get().and_then(Result::err));
    let problem = move || add.value().get().and_then(Result::err);
    let server_problem = Signal::derive(move || match problem() {
        Some(AddProblem::Server(e)) => Some(e),
        _ => None,
    });
    let field_problem =
        move |field: FormField| move || server_problem.get().and_then(|e| e.for_field(field));

    view! {
        <p class="muted">
            "A passkey lets you approve a payment on this device with your fingerprint, face or "
            "PIN, instead of waiting for your phone. It cannot be phished: it only works on this site."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(keys) if keys.is_empty() => view! {
                        <p data-testid="no-passkeys">"You have no passkeys yet."</p>
                    }
                    .into_any(),
                    Ok(keys) => view! {
                        <ul class="passkey-list" data-testid="passkeys">
                            {keys.into_iter().map(|key| passkey_row(key, remove)).collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="notice error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <FormError error=remove_error/>
        {move || matches!(add.value().get(), Some(Ok(_))).then(|| view! {
            <p class="notice ok" role="status" data-testid="passkey-added">"Passkey added."</p>
        })}
        <h3>"Add a passkey"</h3>
        <p class="muted" id="add-passkey-hint">
            "Adding a passkey is a sensitive change: first confirm it is you with a code we send to your phone."
        </p>
        <ActionForm action=send_code attr:class="send-passkey-code">
            <SendCodeButton
                sent=Signal::derive(code_sent)
                pending=send_code.pending().into()
                error=send_error
            />
        </ActionForm>
        <form
            class="stack add-passkey"
            on:submit=move |ev| {
                ev.prevent_default();
                add.dispatch(());
            }
        >
            <div class="field">
                <label for="passkey-name">"Name for this passkey"</label>
                <input
                    id="passkey-name"
                    name=FormField::Name.name()
                    required=true
                    maxlength="60"
                    placeholder="Work laptop"
                    aria-describedby="passkey-name-error"
                    aria-invalid=move || field_problem(FormField::Name)().is_some().to_string()
                    bind:value=name
                />
                {move || field_problem(FormField::Name)().map(|e| view! {
                    <p class="field-error" id="passkey-name-error" role="alert">{e}</p>
                })}
            </div>
            <div class="field">
                <label for="passkey-code">"Code from the SMS"</label>
                <input
                    id="passkey-code"
                    name=FormField::Code.name()
                    required=true
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    aria-describedby="passkey-code-error"
                    aria-invalid=move || field_problem(FormField::Code)().is_some().to_string()
                    bind:value=code
                />
                {move || field_problem(FormField::Code)().map(|e| view! {
                    <p class="field-error" id="passkey-code-error" role="alert">{e}</p>
                })}
            </div>
            {move || match problem() {
                Some(AddProblem::Browser(message)) => Some(view! {
                    <p class="notice error" role="alert" data-testid="passkey-error">{message}</p>
                }.into_any()),
                Some(AddProblem::Server(e)) if e.for_field(FormField::Name).is_none() && e.for_field(FormField::Code).is_none() => Some(view! {
                    <p class="notice error" role="alert" data-testid="passkey-error">{e.to_string()}</p>
                }.into_any()),
                _ => None,
            }}
            <button type="submit" class="primary" disabled=move || add.pending().get()>
                "Add passkey"
            </button>
        </form>
    }
}

/// The inside of a "Text me a code" form (the SMS code before a sensitive change): its
/// error, "Code sent" once it is, and the button, which then sends a new one.
#[component]
fn SendCodeButton(
    sent: Signal<bool>,
    pending: Signal<bool>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <FormError error/>
        {move || sent.get().then(|| view! {
            <p class="notice ok" role="status">"Code sent. Enter it below."</p>
        })}
        <button type="submit" class="secondary" disabled=move || pending.get()>
            {move || if sent.get() { "Send a new code" } else { "Text me a code" }}
        </button>
    }
}

fn passkey_row(key: PasskeyView, remove: ServerAction<RemovePasskey>) -> impl IntoView {
    let label = format!("Remove {}", key.name);
    view! {
        <li class="passkey" data-testid="passkey">
            <div>
                <strong>{key.name}</strong>
                <p class="muted">
                    "Added " <LocalTime unix=key.created_at/> ". "
                    {match key.last_used_at {
                        Some(unix) => view! { "Last used " <LocalTime unix/> "." }.into_any(),
                        None => view! { "Not used yet." }.into_any(),
                    }}
                </p>
            </div>
            <ActionForm action=remove>
                <input type="hidden" name="id" value=key.id/>
                <button type="submit" class="link-button" aria-label=label>"Remove"</button>
            </ActionForm>
        </li>
    }
}

/// Adds a passkey: the SMS code checked by the server, the browser's prompt to create
/// one, the new passkey back to the server.
async fn add_passkey(name: String, code: String) -> Result<PasskeyView, AddProblem> {
    let ceremony = start_add_passkey(name, code)
        .await
        .map_err(AddProblem::Server)?;
    let credential = webauthn::run(Ceremony::Create, &ceremony.options)
        .await
        .map_err(|e| AddProblem::Browser(e.to_string()))?;
    finish_add_passkey(ceremony.challenge_id, credential)
        .await
        .map_err(AddProblem::Server)
}
