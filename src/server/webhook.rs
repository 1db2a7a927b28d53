//! `POST /payments/callback`: the provider tells us the user approved or denied a push
//! request. A plain axum route with a stable path: the raw body's signature is checked
//! (in constant time) before anything is parsed.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    audit,
    authy::signature::{self, SignatureError, SignedRequest},
    db,
    payments::{self, Decided},
    AppState,
};

#[derive(Deserialize)]
struct Callback {
    uuid: String,
    status: String,
}

fn reply(status: StatusCode, message: &str) -> Response {
    (status, message.to_string()).into_response()
}

/// Refuses a callback: logged, recorded in the audit trail with its reason, answered.
async fn refuse(state: &AppState, status: StatusCode, reason: &str) -> Response {
    tracing::warn!(reason, "callback refused");
    audit::log(state, None, None, "callback", "rejected", reason).await;
    reply(status, reason)
}

/// Handles one callback.
pub async fn payment_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Ok(text) = std::str::from_utf8(&body) else {
        return refuse(&state, StatusCode::BAD_REQUEST, "malformed body: not UTF-8").await;
    };
    let request = SignedRequest {
        signature: header("x-authy-signature"),
        nonce: header("x-authy-signature-nonce"),
        method: "POST",
        body: text,
    };
    let now = db::now();
    let config = &state.config;
    if let Err(e) = signature::verify(
        config.authy_api_key.expose(),
        config.authy_callback_url.as_str(),
        request,
        now,
        config.authy_callback_tolerance_secs,
    ) {
        let status = match e {
            SignatureError::BadBody(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        };
        return refuse(&state, status, &e.to_string()).await;
    }
    // Verified, so both headers are present.
    let (Some(nonce), Some(sig)) = (request.nonce, request.signature) else {
        return refuse(&state, StatusCode::UNAUTHORIZED, "invalid signature").await;
    };
    match db::payments::remember_nonce(&state.db, nonce.trim(), sig.trim(), now).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                &state,
                StatusCode::UNAUTHORIZED,
                "replayed nonce and signature",
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "callback: cannot record nonce");
            return reply(StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    }

    let Ok(callback) = serde_json::from_str::<Callback>(text) else {
        return refuse(
            &state,
            StatusCode::BAD_REQUEST,
            "malformed body: no uuid or status",
        )
        .await;
    };
    let Some(decision) = payments::event_for(&callback.status) else {
        return refuse(&state, StatusCode::BAD_REQUEST, "unknown status").await;
    };
    let payment = match db::payments::by_approval_uuid(&state.db, &callback.uuid, now).await {
        Ok(Some(p)) => p,
        Ok(None) => return refuse(&state, StatusCode::NOT_FOUND, "unknown approval request").await,
        Err(e) => {
            tracing::error!(error = %e, "callback: cannot read payment");
            return reply(StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    };
    audit::log(
        &state,
        Some(&payment.user_id),
        Some(&payment.id),
        "callback",
        "accepted",
        format!("push {}", callback.status.as_str()),
    )
    .await;
    match payments::decide(&state, &payment, decision, "push").await {
        Ok(Decided::Now) => {
            tracing::info!(payment = %payment.id, status = callback.status.as_str(), "payment decided by push");
            reply(StatusCode::OK, "ok")
        }
        Ok(Decided::Already) => reply(StatusCode::OK, "already decided"),
        Ok(Decided::Conflict(current)) => {
            tracing::warn!(payment = %payment.id, current = current.as_str(), asked = callback.status.as_str(), "callback conflicts with the payment's decision");
            reply(StatusCode::CONFLICT, "payment already decided")
        }
        Err(_) => reply(StatusCode::SERVICE_UNAVAILABLE, "try again"),
    }
}
