//! `POST /payments/verify-events`: Verify Push events (a challenge approved or denied on
//! the phone, a push factor verified or deleted).
//!
//! The signature (`X-Twilio-Signature` over the public URL and the sorted form
//! parameters) is checked before anything else; a delivery Twilio repeats (the same
//! `I-Twilio-Idempotency-Token`) is answered once. The event itself is only a hint: before
//! deciding, the challenge is fetched from Verify and only its `status` and the payment id
//! in its hidden details are trusted. A late, replayed or foreign event changes nothing.

use crate::model::AuditOutcome;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::{client::VerifyError, VerifyClient};
use crate::model::{AuditKind, DecidedVia, PaymentId, UserId};
use crate::server::{
    db,
    domain::audit,
    domain::payments::{self, event_for},
    domain::webhook::{self, reply},
    providers::ApprovalStatus,
    AppState,
};
use crate::shared::sid::{ChallengeSid, FactorSid};
use crate::shared::{clock, verify_signature as signature};

/// A signed event refused: logged and recorded as a refused Authy callback is.
async fn refuse(state: &AppState, status: StatusCode, reason: &str) -> Response {
    webhook::refuse(state, status, &format!("Verify event: {reason}")).await
}

/// Handles one Verify event.
pub async fn verify_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (Some(settings), Some(client)) = (&state.config.verify, state.verify.clone()) else {
        return reply(StatusCode::NOT_FOUND, "Verify is not configured");
    };
    let params = signature::form_params(&body);
    let given = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given.is_empty()
        || !signature::is_valid(
            settings.auth_token.expose(),
            settings.events_url.as_str(),
            &params,
            given,
        )
    {
        return webhook::refuse_unsigned(
            &state,
            StatusCode::UNAUTHORIZED,
            "Verify event: invalid signature",
            "invalid signature",
        )
        .await;
    }
    let token = headers
        .get("i-twilio-idempotency-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .map(str::to_string);
    if let Some(token) = &token {
        match db::verify_events::seen(&state.db, token).await {
            Ok(true) => return reply(StatusCode::OK, "already handled"),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "Verify event: cannot look up its token");
                return reply(StatusCode::SERVICE_UNAVAILABLE, "try again");
            }
        }
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("service_sid").is_some_and(|s| s != settings.service_sid.as_str()) {
        return refuse(&state, StatusCode::NOT_FOUND, "another Verify service").await;
    }
    let Some(identity) = param("entity_identity").and_then(UserId::parse) else {
        return refuse(&state, StatusCode::NOT_FOUND, "unknown entity").await;
    };
    let handled = match param("type").unwrap_or_default() {
        // A SID that is not of its kind names nothing Verify has.
        "challenge.approved" | "challenge.denied" => match param("challenge_sid") {
            Some(sid) => match ChallengeSid::parse(sid) {
                Some(sid) => challenge(&state, &client, &identity, &sid).await,
                None => Err((StatusCode::NOT_FOUND, "unknown challenge")),
            },
            None => Err((StatusCode::BAD_REQUEST, "no challenge_sid")),
        },
        "factor.verified" => match param("factor_sid") {
            Some(sid) => match FactorSid::parse(sid) {
                Some(sid) => factor_verified(&state, &client, &identity, &sid).await,
                None => Err((StatusCode::NOT_FOUND, "unknown challenge")),
            },
            None => Err((StatusCode::BAD_REQUEST, "no factor_sid")),
        },
        "factor.deleted" => match param("factor_sid") {
            Some(sid) => match FactorSid::parse(sid) {
                Some(sid) => factor_deleted(&state, &identity, &sid).await,
                None => Ok("factor forgotten"),
            },
            None => Err((StatusCode::BAD_REQUEST, "no factor_sid")),
        },
        // factor.created and anything newer: nothing to do.
        _ => Ok("ignored"),
    };
    match handled {
        Ok(message) => {
            if let Some(token) = &token {
                if let Err(e) = db::verify_events::remember(&state.db, token, clock::now()).await {
                    tracing::warn!(error = %e, "Verify event: cannot remember its token");
                }
            }
            reply(StatusCode::OK, message)
        }
        Err((StatusCode::SERVICE_UNAVAILABLE, reason)) => {
            tracing::warn!(reason, "Verify event: try again later");
            reply(StatusCode::SERVICE_UNAVAILABLE, reason)
        }
        Err((status, reason)) => refuse(&state, status, reason).await,
    }
}

type Handled = Result<&'static str, (StatusCode, &'static str)>;

fn unavailable(e: VerifyError) -> (StatusCode, &'static str) {
    match e {
        VerifyError::Api { code: 20404, .. } => (StatusCode::NOT_FOUND, "unknown challenge"),
        e => {
            tracing::warn!(error = %e, "Verify event: Verify did not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "Verify did not answer")
        }
    }
}

/// A challenge answered on the phone: decided by what Verify says of it.
async fn challenge(
    state: &AppState,
    client: &VerifyClient,
    identity: &UserId,
    sid: &ChallengeSid,
) -> Handled {
    let fetched = client
        .challenge(identity.as_str(), sid)
        .await
        .map_err(unavailable)?;
    let Some(payment_id) = fetched.payment_id.as_deref().and_then(PaymentId::parse) else {
        return Err((StatusCode::NOT_FOUND, "challenge names no payment"));
    };
    let payment = db::payments::owned(&state.db, identity, &payment_id, clock::now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "Verify event: cannot read the payment");
            (StatusCode::SERVICE_UNAVAILABLE, "try again")
        })?
        .ok_or((StatusCode::NOT_FOUND, "unknown payment"))?;
    // Only the newest push request of the payment counts (as with Authy's resend).
    if payment.approval_uuid.as_deref() != Some(sid.as_str()) {
        return Err((StatusCode::NOT_FOUND, "unknown approval request"));
    }
    let Some(event) = event_for(fetched.status) else {
        return Ok(match fetched.status {
            ApprovalStatus::Pending => "challenge still pending",
            _ => "nothing to decide",
        });
    };
    // Recorded only once Verify says the phone answered (an early event is not an answer).
    audit::log(
        state,
        None,
        Some(&payment.user_id),
        Some(&payment.id),
        AuditKind::Callback,
        AuditOutcome::Accepted,
        format!("Verify Push {sid}"),
    )
    .await;
    match payments::decide(state, None, &payment, event, DecidedVia::Push).await {
        Ok(payments::Decided::Now) => {
            tracing::info!(payment = %payment.id, "payment decided by Verify Push");
            Ok("ok")
        }
        Ok(payments::Decided::Already) => Ok("already decided"),
        Ok(payments::Decided::Conflict(_)) => {
            Err((StatusCode::CONFLICT, "payment already decided"))
        }
        Err(_) => Err((StatusCode::SERVICE_UNAVAILABLE, "try again")),
    }
}

/// The person's phone app finished adding its push factor: recorded once Verify says it is
/// a verified push factor of that person.
async fn factor_verified(
    state: &AppState,
    client: &VerifyClient,
    identity: &UserId,
    sid: &FactorSid,
) -> Handled {
    let factor = client
        .factor(identity.as_str(), sid)
        .await
        .map_err(unavailable)?;
    if factor.status != "verified"
        || factor.factor_type != "push"
        || factor.identity != identity.as_str()
    {
        return Err((StatusCode::CONFLICT, "factor is not a verified push factor"));
    }
    let user = db::users::by_id(&state.db, identity.as_str())
        .await
        .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "try again"))?
        .ok_or((StatusCode::NOT_FOUND, "unknown entity"))?;
    db::users::set_push_factor(&state.db, &user.id, Some(&factor.sid))
        .await
        .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "try again"))?;
    audit::log(
        state,
        None,
        Some(&user.id),
        None,
        AuditKind::PushDevice,
        AuditOutcome::Added,
        "Verify Push factor verified",
    )
    .await;
    Ok("factor recorded")
}

/// A factor deleted at Twilio (or from the app): forgotten if it is the person's.
async fn factor_deleted(state: &AppState, identity: &UserId, sid: &FactorSid) -> Handled {
    let user = db::users::by_id(&state.db, identity.as_str())
        .await
        .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "try again"))?
        .ok_or((StatusCode::NOT_FOUND, "unknown entity"))?;
    if user.push_factor() == Some(sid) {
        db::users::set_push_factor(&state.db, &user.id, None)
            .await
            .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "try again"))?;
    }
    Ok("factor forgotten")
}
