//! Background work: the sweep that runs every few seconds.

use crate::server::clock;
use std::time::Duration;

use super::{accounts, db, payments, webhook, AppState};

/// Runs [`sweep`] every few seconds while the database is open.
pub(crate) fn spawn_background(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !state.db.is_closed() {
            tick.tick().await;
            sweep(&state).await;
        }
    });
}

/// Background upkeep: stores the expiry of payments nobody answered, asks the provider
/// about pending payments whose callback may have been lost, and forgets what can no longer
/// matter (callback nonces outside the time window, sessions idle for a day, codes sent
/// before the rate-limit window).
pub async fn sweep(state: &AppState) {
    payments::expire_due(state).await;
    payments::reconcile(state).await;
    let now = clock::now();
    let config = &state.config;
    let nonce_horizon = now - 2 * config.authy_callback_tolerance_secs as i64;
    if let Err(e) = db::payments::forget_nonces_before(&state.db, nonce_horizon).await {
        tracing::warn!(error = %e, "nonce cleanup failed");
    }
    if let Err(e) = db::users::delete_sessions_idle_since(&state.db, now - 86_400).await {
        tracing::warn!(error = %e, "session cleanup failed");
    }
    // Codes sent count for the per-user/phone window and for the global hourly budget.
    let code_horizon = now - (config.code_send_window_secs as i64).max(3600);
    if let Err(e) = db::throttle::forget_code_sends_before(&state.db, code_horizon).await {
        tracing::warn!(error = %e, "code-send cleanup failed");
    }
    accounts::forget_unverified(state, now).await;
    webhook::flush_refusals(state, now).await;
    state.client_limiter.forget_full(std::time::Instant::now());
}
