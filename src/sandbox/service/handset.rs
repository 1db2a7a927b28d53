//! The server side of the sandbox phone page: what a handset would show, and its
//! Approve / Deny buttons, which call the app's callback URL exactly as Authy does.

use crate::shared::clock;
use std::collections::BTreeMap;

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use serde_json::{json, Value};

use super::Logo;
use super::{store, Sandbox};
use crate::sandbox::model::{SandboxFault, SandboxMessage, SandboxPhone, SandboxPush};
use crate::shared::authy_signature as signature;

/// Everything the phone with this E.164 number has received.
pub async fn view(state: &Sandbox, phone_e164: &str) -> sqlx::Result<SandboxPhone> {
    let messages = store::messages(&state.db, phone_e164, 50)
        .await?
        .into_iter()
        .map(|(id, kind, body, sent_at)| SandboxMessage {
            id,
            kind,
            body,
            sent_at,
        })
        .collect();
    let now = clock::now();
    let mut pushes = match store::user_by_phone(&state.db, phone_e164).await? {
        Some(user) => store::approvals_for_user(&state.db, user.authy_id, 20)
            .await?
            .iter()
            .map(|row| push_view(row, now))
            .collect(),
        None => Vec::new(),
    };
    if state.verify.is_some() {
        // Verify Push challenges to the factors this phone holds, newest first too.
        let mut challenges = super::verify_handset::pushes(state, phone_e164).await?;
        challenges.append(&mut pushes);
        pushes = challenges;
    }
    Ok(SandboxPhone {
        phone: phone_e164.to_string(),
        messages,
        pushes,
    })
}

fn push_view(row: &store::ApprovalRow, now: i64) -> SandboxPush {
    let details: BTreeMap<String, String> =
        serde_json::from_str(&row.details_json).unwrap_or_default();
    let logos: Option<Vec<Logo>> = serde_json::from_str(&row.logos_json).unwrap_or_default();
    let logo_url = logos.and_then(|logos| {
        logos
            .iter()
            .find(|l| l.res == "default")
            .or_else(|| logos.first())
            .map(|l| l.url.clone())
    });
    let status = row.status_at(now).to_string();
    SandboxPush {
        uuid: row.uuid.clone(),
        message: row.message.clone(),
        details: details.into_iter().collect(),
        logo_url,
        seconds_left: (status == "pending" && row.seconds_to_expire > 0)
            .then(|| (row.expires_at() - now).max(0)),
        status,
    }
}

/// What pressing Approve or Deny did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Decided; `callback` says how the callback delivery went.
    Decided { status: String, callback: String },
    /// The request was already decided or expired; nothing was sent.
    NotPending { status: String },
    /// No such request.
    Unknown,
}

/// Approves or denies a pending request, then calls the app's callback URL with a
/// correctly signed Authy callback.
pub async fn decide(state: &Sandbox, uuid: &str, approve: bool) -> sqlx::Result<Decision> {
    let status = if approve { "approved" } else { "denied" };
    let now = clock::now();
    let Some(row) = store::approval(&state.db, uuid).await? else {
        return Ok(Decision::Unknown);
    };
    if !store::decide_approval(&state.db, uuid, status, now).await? {
        return Ok(Decision::NotPending {
            status: row.status_at(now).to_string(),
        });
    }
    let callback = if state.fault.get() == SandboxFault::DropCallbacks {
        "callback dropped (sandbox fault)".to_string()
    } else {
        deliver(state, &callback_body(&row, status, now), now).await
    };
    Ok(Decision::Decided {
        status: status.to_string(),
        callback,
    })
}

/// The callback body, in the shape Authy sends.
pub fn callback_body(row: &store::ApprovalRow, status: &str, now: i64) -> String {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let device_uuid = row.authy_id.wrapping_mul(7).wrapping_add(11);
    let device_signature = BASE64.encode(uuid::Uuid::new_v4().as_bytes());
    json!({
        "authy_id": row.authy_id,
        "device_uuid": device_uuid,
        "callback_action": "approval_request_status",
        "uuid": row.uuid,
        "status": status,
        "approval_request": {
            "transaction": {
                "details": parse(&row.details_json),
                "device_details": {},
                "device_geolocation": "",
                "device_signing_time": now,
                "encrypted": false,
                "flagged": false,
                "hidden_details": parse(&row.hidden_details_json),
                "message": row.message,
                "reason": "",
                "requester_details": null,
                "status": status,
                "uuid": row.uuid,
                "created_at_time": row.created_at,
                "customer_uuid": 1,
            },
            "expiration_timestamp": if row.seconds_to_expire > 0 { row.expires_at() } else { 0 },
            "logos": parse(&row.logos_json),
            "app_id": "payfriend-sandbox",
        },
        "signature": device_signature,
        "device": {
            "city": "Sandbox",
            "country": "Sandbox",
            "ip": "127.0.0.1",
            "region": "Sandbox",
            "registration_city": "Sandbox",
            "registration_country": "Sandbox",
            "registration_ip": "127.0.0.1",
            "registration_region": "Sandbox",
            "os_type": "android",
            "last_account_recovery_at": null,
            "id": device_uuid,
            "registration_date": row.created_at,
            "last_sync_date": now,
        },
    })
    .to_string()
}

/// POSTs a signed callback to the configured callback URL; says how it went.
async fn deliver(state: &Sandbox, body: &str, now: i64) -> String {
    let url = state.callback_url.as_str();
    let nonce = now.to_string();
    let signature = match signature::sign(state.api_key.expose(), &nonce, "POST", url, body) {
        Ok(s) => s,
        Err(e) => return format!("not sent: {e}"),
    };
    let sent = state
        .http
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Authy-Signature", signature)
        .header("X-Authy-Signature-Nonce", nonce)
        .body(body.to_string())
        .send()
        .await;
    match sent {
        Ok(response) => format!("callback answered HTTP {}", response.status().as_u16()),
        Err(e) => {
            tracing::warn!(error = %e, "sandbox: callback delivery failed");
            "callback could not be delivered".to_string()
        }
    }
}
