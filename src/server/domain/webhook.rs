//! `POST /payments/callback`: the provider tells us the user approved or denied a push
//! request. A plain axum route with a stable path: the raw body's signature is checked
//! (in constant time) before anything is parsed.
//!
//! Callbacks refused before their signature is known to be good (anyone can send those)
//! are counted, not recorded one by one: one audit row and one log line per reason per
//! minute. Refusals of correctly signed callbacks (replays, unknown requests) are rare and
//! each is recorded.

use crate::model::AuditOutcome;
use crate::model::{AuditKind, PaymentStatus};
use crate::shared::clock;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::server::{
    db::{self, payments::PushOutcome},
    domain::audit,
    domain::payments,
    providers::authy::client::approval_status,
    AppState,
};
use crate::shared::authy_signature::{self as signature, SignatureError, SignedRequest};

#[derive(Deserialize)]
struct Callback {
    uuid: String,
    status: String,
}

pub(crate) fn reply(status: StatusCode, message: &str) -> Response {
    (status, message.to_string()).into_response()
}

/// Refuses a correctly signed callback: logged, recorded in the audit trail, answered.
pub(crate) async fn refuse(state: &AppState, status: StatusCode, reason: &str) -> Response {
    tracing::warn!(reason, "callback refused");
    record_refusal(state, reason).await;
    reply(status, reason)
}

/// The audit row of refused callbacks (not tied to a user or payment).
async fn record_refusal(state: &AppState, detail: impl Into<String>) {
    audit::log(
        state,
        None,
        None,
        None,
        AuditKind::Callback,
        AuditOutcome::Rejected,
        detail,
    )
    .await;
}

/// Refuses a callback whose signature is not (yet) known to be good: counted per reason
/// and minute, logged only the first time in that minute.
/// `reason` is what is counted; `message` (which may be more precise) is the answer.
pub(crate) async fn refuse_unsigned(
    state: &AppState,
    status: StatusCode,
    reason: &str,
    message: &str,
) -> Response {
    let finished = state.callback_refusals.count(reason, clock::now());
    write_refusals(state, finished).await;
    reply(status, message)
}

/// The minute a Unix time falls in (its first second).
fn minute_of(t: i64) -> i64 {
    t - t.rem_euclid(60)
}

/// Refused callbacks per reason in the current minute (per instance).
#[derive(Default)]
pub struct RefusalCounter {
    window: Mutex<RefusalWindow>,
}

#[derive(Default)]
struct RefusalWindow {
    minute: i64,
    counts: BTreeMap<String, u64>,
}

/// One reason's count over one finished minute.
pub struct RefusalCount {
    pub minute: i64,
    pub reason: String,
    pub count: u64,
}

impl RefusalCounter {
    /// A new, shareable counter.
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Counts one refusal at `now`; returns the counts of a minute that just ended.
    fn count(&self, reason: &str, now: i64) -> Vec<RefusalCount> {
        let minute = minute_of(now);
        let Ok(mut window) = self.window.lock() else {
            return Vec::new();
        };
        let finished = window.take_before(minute);
        window.minute = minute;
        let count = window.counts.entry(reason.to_string()).or_insert(0);
        *count += 1;
        if *count == 1 {
            tracing::warn!(
                reason,
                "callback refused (more refusals for this reason this minute are counted)"
            );
        }
        finished
    }

    /// The counts of the minute being counted, if it ended before `now`.
    pub fn finished_before(&self, now: i64) -> Vec<RefusalCount> {
        match self.window.lock() {
            Ok(mut window) => window.take_before(minute_of(now)),
            Err(_) => Vec::new(),
        }
    }
}

impl RefusalWindow {
    fn take_before(&mut self, minute: i64) -> Vec<RefusalCount> {
        if self.minute >= minute {
            return Vec::new();
        }
        let at = self.minute;
        std::mem::take(&mut self.counts)
            .into_iter()
            .map(|(reason, count)| RefusalCount {
                minute: at,
                reason,
                count,
            })
            .collect()
    }
}

/// Records each finished minute's count: one audit row and one log line per reason.
pub async fn write_refusals(state: &AppState, finished: Vec<RefusalCount>) {
    for c in finished {
        tracing::warn!(
            reason = c.reason.as_str(),
            count = c.count,
            minute = c.minute,
            "callbacks refused in one minute"
        );
        record_refusal(
            state,
            format!("{} in the minute from {}: {}", c.count, c.minute, c.reason),
        )
        .await;
    }
}

/// Writes the counts of refusals in minutes that ended before `now` (the sweeper calls it).
pub async fn flush_refusals(state: &AppState, now: i64) {
    let finished = state.callback_refusals.finished_before(now);
    write_refusals(state, finished).await;
}

/// Handles one callback.
pub async fn payment_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Ok(text) = std::str::from_utf8(&body) else {
        let reason = "malformed body: not UTF-8";
        return refuse_unsigned(&state, StatusCode::BAD_REQUEST, reason, reason).await;
    };
    let request = SignedRequest {
        signature: header("x-authy-signature"),
        nonce: header("x-authy-signature-nonce"),
        method: "POST",
        body: text,
    };
    let now = clock::now();
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
        let reason = match &e {
            // The position in a malformed body would make every refusal a reason of its own.
            SignatureError::BadBody(_) => "malformed body".to_string(),
            other => other.to_string(),
        };
        return refuse_unsigned(&state, status, &reason, &e.to_string()).await;
    }
    // Verified, so both headers are present.
    let (Some(nonce), Some(sig)) = (request.nonce, request.signature) else {
        return refuse(&state, StatusCode::UNAUTHORIZED, "invalid signature").await;
    };
    let Ok(callback) = serde_json::from_str::<Callback>(text) else {
        return refuse(
            &state,
            StatusCode::BAD_REQUEST,
            "malformed body: no uuid or status",
        )
        .await;
    };
    let Some(decision) = approval_status(&callback.status).and_then(payments::event_for) else {
        return refuse(&state, StatusCode::BAD_REQUEST, "unknown status").await;
    };
    // What the decision makes of a pending payment (the one transition rule).
    let Some(status) = PaymentStatus::Pending.apply(decision) else {
        return refuse(&state, StatusCode::BAD_REQUEST, "unknown status").await;
    };
    let asked = callback.status.as_str();
    let recorded = state
        .callbacks
        .record(db::payments::PushCallback {
            nonce: nonce.trim().to_string(),
            signature: sig.trim().to_string(),
            approval_uuid: callback.uuid,
            status,
            detail: format!("push {asked}"),
            now,
        })
        .await;
    match recorded {
        Ok(PushOutcome::Decided(id, _)) => {
            tracing::info!(payment = %id, status = asked, "payment decided by push");
            reply(StatusCode::OK, "ok")
        }
        Ok(PushOutcome::AlreadyDecided(p)) if p.status == status => {
            reply(StatusCode::OK, "already decided")
        }
        Ok(PushOutcome::AlreadyDecided(p)) => {
            tracing::warn!(payment = %p.id, current = p.status.as_str(), asked, "callback conflicts with the payment's decision");
            reply(StatusCode::CONFLICT, "payment already decided")
        }
        Ok(PushOutcome::Replay) => {
            refuse(
                &state,
                StatusCode::UNAUTHORIZED,
                "replayed nonce and signature",
            )
            .await
        }
        Ok(PushOutcome::Unknown) => {
            refuse(&state, StatusCode::NOT_FOUND, "unknown approval request").await
        }
        Err(e) => {
            tracing::error!(error = %e, "callback: cannot record it");
            reply(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}
