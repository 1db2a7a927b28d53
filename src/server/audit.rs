//! The audit trail: who did what, when, from where, and how it went.
//!
//! Recording never fails the request it describes: a write error is logged instead.

use super::{
    client_ip,
    db::{self, audit::AuditEvent},
    AppState,
};
use crate::server::clock;

/// Records an event for the current request (its client address is added).
pub async fn record(state: &AppState, mut event: AuditEvent<'_>) {
    if event.ip.is_none() {
        event.ip = client_ip().map(|ip| ip.to_string());
    }
    if let Err(e) = db::audit::insert_event(&state.db, &event, clock::now()).await {
        tracing::error!(error = %e, event = event.event, "cannot record audit event");
    }
}

/// A shorthand for the common case.
pub async fn log(
    state: &AppState,
    user_id: Option<&str>,
    payment_id: Option<&str>,
    event: &str,
    outcome: &str,
    detail: impl Into<String>,
) {
    record(
        state,
        AuditEvent {
            user_id,
            payment_id,
            ip: None,
            event,
            outcome,
            detail: detail.into(),
        },
    )
    .await;
}
