//! The audit trail: who did what, when, from where, and how it went.
//!
//! Recording never fails the request it describes: a write error is logged instead.

use std::net::IpAddr;

use crate::server::{
    db::{self, audit::AuditEvent},
    AppState,
};
use crate::{
    model::{AuditKind, AuditOutcome, PaymentId, UserId},
    shared::clock,
};

/// Records an event.
pub async fn record(state: &AppState, event: AuditEvent<'_>) {
    if let Err(e) = db::audit::insert_event(&state.db, &event, clock::now()).await {
        tracing::error!(error = %e, event = event.event.as_str(), "cannot record audit event");
    }
}

/// A shorthand for the common case: an event from `client` (none for the app's own
/// background work and the provider's callbacks).
pub async fn log(
    state: &AppState,
    client: Option<IpAddr>,
    user_id: Option<&UserId>,
    payment_id: Option<&PaymentId>,
    event: AuditKind,
    outcome: AuditOutcome,
    detail: impl Into<String>,
) {
    record(
        state,
        AuditEvent {
            user_id,
            payment_id,
            ip: client.map(|ip| ip.to_string()),
            event,
            outcome,
            detail: detail.into(),
        },
    )
    .await;
}
