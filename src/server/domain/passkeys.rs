//! Passkeys (WebAuthn): adding one to the account after a fresh SMS code, and approving a
//! payment with one. webauthn-rs checks the authenticator's answers; the state between a
//! ceremony's two steps is a one-time row in the database, bound to its user and (for an
//! approval) to the payment, its payee and amount.

use crate::error::FormField;
use crate::model::AuditOutcome;
use crate::server::OrInternal;
use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use url::Url;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::server::{
    db::{self, passkeys::Purpose},
    domain::audit,
    domain::payments::{self, decide, Decided},
    domain::sessions::Caller,
    domain::step_up::{self, StepUp},
    entities::{self, BoundPayment, PasskeyChallenge, User},
    AppState,
};
use crate::shared::clock;
use crate::{
    error::{AppError, PasskeyRefusal},
    model::{
        parse_passkey_name, AuditKind, DecidedVia, PasskeyCeremony, PasskeyView, PaymentEvent,
        PaymentId, PaymentStatus,
    },
};

/// How long the person has for a passkey prompt (an approval's also ends with its payment).
pub const CEREMONY_SECS: i64 = 300;

/// The relying party for `public_url`: its host is the RP id, the URL's origin the only
/// origin answers may come from. `None` when the host is an IP address, which browsers
/// do not accept as an RP id (use `localhost` or a domain name).
pub fn relying_party(public_url: &Url) -> Option<Arc<Webauthn>> {
    let rp_id = public_url.domain()?;
    let origin = Url::parse(&public_url.origin().ascii_serialization()).ok()?;
    WebauthnBuilder::new(rp_id, &origin)
        .ok()?
        .rp_name("Payfriend")
        .timeout(Duration::from_secs(CEREMONY_SECS as u64))
        .build()
        .ok()
        .map(Arc::new)
}

fn webauthn(state: &AppState) -> Result<&Webauthn, AppError> {
    state
        .passkeys
        .as_deref()
        .ok_or(AppError::PasskeysUnavailable)
}

/// The user's passkeys, oldest first.
pub async fn list(state: &AppState, user: &User) -> Result<Vec<PasskeyView>, AppError> {
    webauthn(state)?;
    let rows = passkey_rows(state, user).await?;
    Ok(rows
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        })
        .collect())
}

/// How many passkeys the user has (`None` when this server cannot use passkeys).
pub async fn count(state: &AppState, user: &User) -> Result<Option<u32>, AppError> {
    if state.passkeys.is_none() || !user.is_verified() {
        return Ok(None);
    }
    let n = db::passkeys::count(&state.db, &user.id)
        .await
        .or_internal("count passkeys")?;
    Ok(Some(u32::try_from(n).unwrap_or(u32::MAX)))
}

/// Adding a passkey, step 1: a code by SMS that confirms the phone again.
pub async fn send_add_code(state: &AppState, caller: &Caller, user: &User) -> Result<(), AppError> {
    webauthn(state)?;
    step_up::send(state, caller, user, StepUp::AddPasskey).await
}

/// Adding a passkey, step 2: with the SMS code right, the browser is asked to create a
/// passkey named `name` (the ceremony's state is kept for step 3).
pub async fn start_add(
    state: &AppState,
    caller: &Caller,
    user: &User,
    name: &str,
    code: &str,
) -> Result<PasskeyCeremony, AppError> {
    let webauthn = webauthn(state)?;
    let name = parse_passkey_name(name).map_err(|m| AppError::field(FormField::Name, m))?;
    step_up::check(state, caller, user, StepUp::AddPasskey, code).await?;
    let existing = passkey_rows(state, user).await?;
    let exclude = existing
        .iter()
        .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
        .collect::<Vec<_>>();
    let user_handle = Uuid::parse_str(user.id.as_str()).or_internal("user id")?;
    let email = user.email.as_str();
    let (options, registration) = webauthn
        .start_passkey_registration(user_handle, email, email, Some(exclude))
        .or_internal("start passkey registration")?;
    let now = clock::now();
    let challenge = PasskeyChallenge {
        id: Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        name: Some(name),
        payment: None,
        state: to_json(&registration)?,
        created_at: now,
        expires_at: now + CEREMONY_SECS,
    };
    db::passkeys::insert_challenge(&state.db, Purpose::Add, &challenge)
        .await
        .or_internal("store passkey challenge")?;
    Ok(PasskeyCeremony {
        challenge_id: challenge.id,
        options: browser_json(&options.public_key)?,
        payee: None,
        amount: None,
    })
}

/// Adding a passkey, step 3: the browser's new credential, checked against the state of
/// step 2 (used once) and stored.
pub async fn finish_add(
    state: &AppState,
    caller: &Caller,
    user: &User,
    challenge_id: &str,
    credential: &str,
) -> Result<PasskeyView, AppError> {
    let webauthn = webauthn(state)?;
    let now = clock::now();
    let challenge = db::passkeys::take_challenge(&state.db, &user.id, Purpose::Add, challenge_id)
        .await
        .or_internal("take passkey challenge")?
        .filter(|c| now < c.expires_at)
        .ok_or(AppError::PasskeyRefused(PasskeyRefusal::AddRequestGone))?;
    let registration: PasskeyRegistration = from_json(&challenge.state)?;
    let answer: RegisterPublicKeyCredential = serde_json::from_str(credential)
        .map_err(|_| AppError::PasskeyRefused(PasskeyRefusal::AddAnswerUnreadable))?;
    let passkey = webauthn
        .finish_passkey_registration(&answer, &registration)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            AppError::PasskeyRefused(PasskeyRefusal::NotAccepted)
        })?;
    let row = entities::Passkey {
        id: Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
        name: challenge.name.unwrap_or_else(|| "Passkey".into()),
        credential: to_json(&passkey)?,
        sign_count: 0,
        created_at: now,
        last_used_at: None,
    };
    let added = db::passkeys::insert(&state.db, &row)
        .await
        .or_internal("store passkey")?;
    if !added {
        return Err(AppError::PasskeyRefused(PasskeyRefusal::AlreadyOnAnAccount));
    }
    audit::log(
        state,
        caller.client,
        Some(&user.id),
        None,
        AuditKind::Passkey,
        AuditOutcome::Added,
        row.name.clone(),
    )
    .await;
    Ok(PasskeyView {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
        last_used_at: None,
    })
}

/// Removes one of the user's passkeys.
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    user: &User,
    id: &str,
) -> Result<(), AppError> {
    webauthn(state)?;
    let name = db::passkeys::remove(&state.db, &user.id, id)
        .await
        .or_internal("remove passkey")?
        .ok_or(AppError::NotFound)?;
    audit::log(
        state,
        caller.client,
        Some(&user.id),
        None,
        AuditKind::Passkey,
        AuditOutcome::Removed,
        name,
    )
    .await;
    Ok(())
}

/// Approving with a passkey, step 1: a one-time challenge for this pending payment,
/// stored with its payee and amount, good until the payment expires (five minutes at
/// most).
pub async fn start_approval(
    state: &AppState,
    user: &User,
    id: &PaymentId,
) -> Result<PasskeyCeremony, AppError> {
    let webauthn = webauthn(state)?;
    let payment = payments::owned(state, user, id).await?;
    payments::still_waiting(payment.status)?;
    let rows = passkey_rows(state, user).await?;
    if rows.is_empty() {
        return Err(AppError::PasskeyRefused(PasskeyRefusal::NoPasskey));
    }
    let credentials = rows
        .iter()
        .map(|row| from_json(&row.credential))
        .collect::<Result<Vec<Passkey>, _>>()?;
    let (options, authentication) = webauthn
        .start_passkey_authentication(&credentials)
        .or_internal("start passkey authentication")?;
    let now = clock::now();
    let challenge = PasskeyChallenge {
        id: Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        name: None,
        payment: Some(BoundPayment {
            id: payment.id.clone(),
            payee: payment.payee.to_string(),
            amount: payment.amount,
        }),
        state: to_json(&authentication)?,
        created_at: now,
        expires_at: (now + CEREMONY_SECS).min(payment.expires_at),
    };
    db::passkeys::insert_challenge(&state.db, Purpose::Approve, &challenge)
        .await
        .or_internal("store passkey challenge")?;
    Ok(PasskeyCeremony {
        challenge_id: challenge.id,
        options: browser_json(&options.public_key)?,
        payee: Some(payment.payee.to_string()),
        amount: Some(payment.amount.to_string()),
    })
}

/// Approving with a passkey, step 2: the assertion must answer this payment's challenge
/// (taken once), in time, from one of the user's passkeys, with the user verified and a
/// signature counter that went up. Then the payment is approved by the one decision rule.
pub async fn finish_approval(
    state: &AppState,
    caller: &Caller,
    user: &User,
    id: &PaymentId,
    challenge_id: &str,
    credential: &str,
) -> Result<PaymentStatus, AppError> {
    let webauthn = webauthn(state)?;
    let payment = payments::owned(state, user, id).await?;
    let refuse = |why: &'static str, refusal: PasskeyRefusal| {
        let payment_id = payment.id.clone();
        async move {
            audit::log(
                state,
                caller.client,
                Some(&user.id),
                Some(&payment_id),
                AuditKind::Passkey,
                AuditOutcome::Refused,
                why,
            )
            .await;
            AppError::PasskeyRefused(refusal)
        }
    };
    let now = clock::now();
    let Some(challenge) =
        db::passkeys::take_challenge(&state.db, &user.id, Purpose::Approve, challenge_id)
            .await
            .or_internal("take passkey challenge")?
    else {
        return Err(refuse("request already used", PasskeyRefusal::RequestUsed).await);
    };
    let Some(bound) = challenge
        .payment
        .as_ref()
        .filter(|bound| bound.id == payment.id)
    else {
        return Err(refuse("answer for another payment", PasskeyRefusal::OtherPayment).await);
    };
    if bound.payee != payment.payee.as_str() || bound.amount != payment.amount {
        return Err(refuse("payee or amount differ", PasskeyRefusal::DetailsDiffer).await);
    }
    payments::still_waiting(payment.status)?;
    if now >= challenge.expires_at {
        return Err(refuse("request expired", PasskeyRefusal::RequestExpired).await);
    }
    let authentication: PasskeyAuthentication = from_json(&challenge.state)?;
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Err(refuse("unreadable answer", PasskeyRefusal::AnswerUnreadable).await);
    };
    let result = match webauthn.finish_passkey_authentication(&answer, &authentication) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Err(counter_went_back(refuse).await);
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            return Err(refuse(
                "answer does not match the request",
                PasskeyRefusal::AnswerMismatch,
            )
            .await);
        }
    };
    if !result.user_verified() {
        return Err(refuse("user not verified", PasskeyRefusal::UserNotVerified).await);
    }
    let credential_id = URL_SAFE_NO_PAD.encode(result.cred_id());
    let Some(row) = passkey_rows(state, user)
        .await?
        .into_iter()
        .find(|row| row.credential_id == credential_id)
    else {
        return Err(refuse("passkey removed", PasskeyRefusal::PasskeyRemoved).await);
    };
    let mut passkey: Passkey = from_json(&row.credential)?;
    passkey.update_credential(&result);
    let counted = db::passkeys::record_use(
        &state.db,
        &row.id,
        i64::from(result.counter()),
        &to_json(&passkey)?,
        now,
    )
    .await
    .or_internal("record passkey use")?;
    if !counted {
        return Err(counter_went_back(refuse).await);
    }
    audit::log(
        state,
        caller.client,
        Some(&user.id),
        Some(&payment.id),
        AuditKind::Passkey,
        AuditOutcome::Used,
        row.name,
    )
    .await;
    let decided = decide(
        state,
        caller.client,
        &payment,
        PaymentEvent::Approve,
        DecidedVia::Passkey,
    )
    .await?;
    match decided {
        Decided::Conflict(status) => Err(AppError::AlreadyDecided { status }),
        decided => decided
            .status(PaymentEvent::Approve)
            .ok_or(AppError::Internal),
    }
}

/// A signature counter at or below one already seen: the key may have been copied.
async fn counter_went_back<F, Fut>(refuse: F) -> AppError
where
    F: FnOnce(&'static str, PasskeyRefusal) -> Fut,
    Fut: std::future::Future<Output = AppError>,
{
    tracing::warn!("passkey signature counter went backwards: possibly a cloned key");
    refuse(
        "signature counter went backwards",
        PasskeyRefusal::CounterWentBack,
    )
    .await
}

/// The user's passkeys as stored.
async fn passkey_rows(state: &AppState, user: &User) -> Result<Vec<entities::Passkey>, AppError> {
    db::passkeys::for_user(&state.db, &user.id)
        .await
        .or_internal("read passkeys")
}

fn to_json(value: &impl serde::Serialize) -> Result<String, AppError> {
    serde_json::to_string(value).or_internal("encode passkey state")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AppError> {
    serde_json::from_str(text).or_internal("decode passkey state")
}

/// Options as WebAuthn's JSON form (`PublicKeyCredential.parse…OptionsFromJSON`), which
/// takes a missing member but refuses a `null` one.
fn browser_json(options: &impl serde::Serialize) -> Result<String, AppError> {
    let mut value = serde_json::to_value(options).or_internal("encode options")?;
    drop_nulls(&mut value);
    Ok(value.to_string())
}

fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_comes_from_a_host_name_not_an_address() {
        assert!(relying_party(&Url::parse("http://localhost:3000").unwrap()).is_some());
        assert!(relying_party(&Url::parse("https://pay.example.com/").unwrap()).is_some());
        assert!(relying_party(&Url::parse("http://127.0.0.1:3000").unwrap()).is_none());
    }

    #[test]
    fn nulls_are_dropped_at_every_depth() {
        let mut v = serde_json::json!({"a": null, "b": {"c": null, "d": 1}, "e": [{"f": null}]});
        drop_nulls(&mut v);
        assert_eq!(v, serde_json::json!({"b": {"d": 1}, "e": [{}]}));
    }
}
