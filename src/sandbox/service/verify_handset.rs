//! The sandbox phone as the operator's Verify Push app: it enrols a push factor with the
//! access token Payfriend shows, shows the challenges sent to it with their fields, and
//! approves or denies them; the events go to the service's webhooks (or to the app's
//! events URL), signed as Twilio signs them and sent again once if not answered with 2xx.

use std::time::Duration;

use super::{
    verify_store::{self as store, ChallengeRow, FactorRow},
    Sandbox,
};
use crate::sandbox::model::{SandboxFault, SandboxPush};
use crate::shared::{clock, verify_format::random_sid, verify_signature as signature};

/// What enrolling with an access token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pairing {
    /// The factor was created and verified; `event` says how its delivery went.
    Paired { factor_sid: String, event: String },
    /// No live token like that.
    UnknownToken,
}

/// Creates and verifies a push factor on this phone with an access token (what Twilio's
/// SDK does in the operator's app), then sends `factor.created` and `factor.verified`.
pub async fn pair(state: &Sandbox, phone_e164: &str, token: &str) -> sqlx::Result<Pairing> {
    let now = clock::now();
    let Some((service_sid, identity, name)) =
        store::take_access_token(&state.db, token.trim(), now).await?
    else {
        return Ok(Pairing::UnknownToken);
    };
    let mut factor = FactorRow {
        sid: random_sid("YF"),
        service_sid,
        identity,
        friendly_name: name.unwrap_or_else(|| "Sandbox phone".into()),
        status: "unverified".into(),
        phone_e164: phone_e164.to_string(),
        created_at: now,
    };
    store::insert_factor(&state.db, &factor).await?;
    send_event(state, "factor.created", &factor, None).await;
    store::verify_factor(&state.db, &factor.sid).await?;
    factor.status = "verified".into();
    let event = send_event(state, "factor.verified", &factor, None).await;
    Ok(Pairing::Paired {
        factor_sid: factor.sid,
        event,
    })
}

/// The challenges sent to the factors this phone holds, as the phone page shows them.
pub async fn pushes(state: &Sandbox, phone_e164: &str) -> sqlx::Result<Vec<SandboxPush>> {
    let now = clock::now();
    Ok(store::challenges_on_phone(&state.db, phone_e164, 20)
        .await?
        .into_iter()
        .map(|c| {
            let status = c.status_at(now).to_string();
            SandboxPush {
                uuid: c.sid.clone(),
                message: c.message.clone(),
                details: serde_json::from_str(&c.fields_json).unwrap_or_default(),
                logo_url: None,
                seconds_left: (status == "pending").then(|| (c.expires_at - now).max(0)),
                status,
            }
        })
        .collect())
}

/// What pressing Approve or Deny on a challenge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Answered { status: String, event: String },
    NotPending { status: String },
    Unknown,
}

/// Approves or denies a pending challenge, then sends `challenge.approved` or
/// `challenge.denied`.
pub async fn answer(state: &Sandbox, sid: &str, approve: bool) -> sqlx::Result<Answer> {
    let status = if approve { "approved" } else { "denied" };
    let now = clock::now();
    let Some(challenge) = store::challenge(&state.db, sid).await? else {
        return Ok(Answer::Unknown);
    };
    if !store::respond(&state.db, sid, status, now).await? {
        return Ok(Answer::NotPending {
            status: challenge.status_at(now).to_string(),
        });
    }
    let Some(factor) = store::factor(
        &state.db,
        &challenge.service_sid,
        &challenge.identity,
        &challenge.factor_sid,
    )
    .await?
    else {
        return Ok(Answer::Answered {
            status: status.into(),
            event: "no event: the factor is gone".into(),
        });
    };
    let event = if state.fault.get() == SandboxFault::DropCallbacks {
        "event dropped (sandbox fault)".to_string()
    } else {
        send_event(
            state,
            &format!("challenge.{status}"),
            &factor,
            Some(&challenge),
        )
        .await
    };
    Ok(Answer::Answered {
        status: status.into(),
        event,
    })
}

/// The v2 fields of one event about `factor` (and `challenge`).
fn event_params(
    state: &Sandbox,
    kind: &str,
    factor: &FactorRow,
    challenge: Option<&ChallengeRow>,
) -> Vec<(String, String)> {
    let account_sid = state
        .verify
        .as_ref()
        .map(|v| v.account_sid.clone())
        .unwrap_or_default();
    let mut params = vec![
        ("uuid".to_string(), uuid::Uuid::new_v4().to_string()),
        ("type".to_string(), kind.to_string()),
        ("account_sid".to_string(), account_sid),
        ("service_sid".to_string(), factor.service_sid.clone()),
        ("entity_identity".to_string(), factor.identity.clone()),
        ("factor_sid".to_string(), factor.sid.clone()),
        ("factor_type".to_string(), "push".to_string()),
        (
            "factor_friendly_name".to_string(),
            factor.friendly_name.clone(),
        ),
    ];
    if let Some(c) = challenge {
        let fields: Vec<(String, String)> =
            serde_json::from_str(&c.fields_json).unwrap_or_default();
        let details = serde_json::json!({
            "message": c.message,
            "fields": fields.iter().map(|(l, v)| serde_json::json!({"label": l, "value": v})).collect::<Vec<_>>(),
        });
        params.push(("challenge_sid".into(), c.sid.clone()));
        params.push(("challenge_details".into(), details.to_string()));
        params.push(("challenge_hidden_details".into(), c.hidden_json.clone()));
    }
    params
}

/// Sends an event to every webhook of the service that takes it (or, with none, to the
/// app's events URL), signed with the auth token; one more try, with the same
/// idempotency token, after a failure. Says how it went.
pub async fn send_event(
    state: &Sandbox,
    kind: &str,
    factor: &FactorRow,
    challenge: Option<&ChallengeRow>,
) -> String {
    let Some(verify) = &state.verify else {
        return "not sent: Verify is not served".into();
    };
    let targets: Vec<String> = match store::webhooks(&state.db, &factor.service_sid).await {
        Ok(hooks) if !hooks.is_empty() => hooks
            .into_iter()
            .filter(|(_, _, events, _, _)| events.split(' ').any(|e| e == "*" || e == kind))
            .map(|(_, _, _, url, _)| url)
            .collect(),
        Ok(_) => vec![verify.events_url.to_string()],
        Err(e) => return format!("not sent: {e}"),
    };
    let params = event_params(state, kind, factor, challenge);
    let token = format!("{}-{}", random_sid("YW"), uuid::Uuid::new_v4().simple());
    let mut outcomes = Vec::new();
    for url in targets {
        let signature = signature::sign(verify.auth_token.expose(), &url, &params);
        let mut outcome = String::new();
        for attempt in 0..2 {
            let sent = state
                .http
                .post(&url)
                .header("X-Twilio-Signature", &signature)
                .header("I-Twilio-Idempotency-Token", &token)
                .form(&params)
                .timeout(Duration::from_secs(15))
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    outcome = format!("event answered HTTP {}", r.status().as_u16());
                    break;
                }
                Ok(r) => outcome = format!("event answered HTTP {}", r.status().as_u16()),
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "sandbox: Verify event not delivered");
                    outcome = "event could not be delivered".into();
                }
            }
        }
        outcomes.push(outcome);
    }
    if outcomes.is_empty() {
        "no webhook takes this event".into()
    } else {
        outcomes.join("; ")
    }
}
