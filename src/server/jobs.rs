//! Background work: the sweep that runs every few seconds.

use crate::shared::clock;
use std::time::Duration;

use crate::server::{db, domain::accounts, domain::payments, domain::webhook, AppState};

/// Runs [`sweep`] every `SWEEP_INTERVAL_SECS` (5 s) while the database is open.
pub(crate) fn spawn_background(state: AppState) {
    tokio::spawn(async move {
        let every = Duration::from_secs(state.config.sweep_interval_secs);
        let mut tick = tokio::time::interval(every);
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
/// before the rate-limit window, passkey prompts nobody answered in time).
///
/// Every instance sweeps. Expiry is one conditional UPDATE per payment (expired once, one
/// audit row), reconciliation claims each payment first, and clean-up runs on the instance
/// holding its lease. What is counted per instance (refused callbacks, per-client buckets)
/// is kept per instance.
pub async fn sweep(state: &AppState) {
    payments::expire_due(state).await;
    payments::reconcile(state).await;
    let now = clock::now();
    if holds_lease(state, "clean-up", now, CLEAN_UP_LEASE_SECS).await {
        clean_up(state, now).await;
    }
    webhook::flush_refusals(state, now).await;
    state.client_limiter.forget_full(std::time::Instant::now());
}

/// How long the clean-up lease lasts: the instance holding it renews it at each sweep;
/// if that instance stops, another takes the job over after this long.
pub const CLEAN_UP_LEASE_SECS: i64 = 30;

/// Whether this instance holds (or just took) the lease on job `name` for the next
/// `secs` seconds.
pub async fn holds_lease(state: &AppState, name: &str, now: i64, secs: i64) -> bool {
    match db::leases::take(&state.db, name, &state.instance, now, now + secs).await {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(error = %e, job = name, "cannot take a job lease");
            false
        }
    }
}

/// Forgets what can no longer matter.
async fn clean_up(state: &AppState, now: i64) {
    let config = &state.config;
    let nonce_horizon = now - 2 * config.authy_callback_tolerance_secs as i64;
    if let Err(e) = db::payments::forget_nonces_before(&state.db, nonce_horizon).await {
        tracing::warn!(error = %e, "nonce cleanup failed");
    }
    // Twilio repeats a delivery within minutes: a day of tokens is plenty.
    if let Err(e) = db::verify_events::forget_before(&state.db, now - 86_400).await {
        tracing::warn!(error = %e, "Verify event token cleanup failed");
    }
    if let Err(e) = db::users::delete_sessions_idle_since(&state.db, now - 86_400).await {
        tracing::warn!(error = %e, "session cleanup failed");
    }
    // Codes sent count for the per-user/phone window and for the global hourly budget.
    let code_horizon = now - (config.code_send_window_secs as i64).max(3600);
    if let Err(e) = db::throttle::forget_code_sends_before(&state.db, code_horizon).await {
        tracing::warn!(error = %e, "code-send cleanup failed");
    }
    let quiet_since = now - config.login_lock_secs as i64;
    if let Err(e) = db::throttle::forget_login_attempts(&state.db, now, quiet_since).await {
        tracing::warn!(error = %e, "sign-in attempt cleanup failed");
    }
    let push_horizon = now - crate::server::domain::payments::PUSH_WINDOW_SECS;
    if let Err(e) = db::payments::forget_push_sends_before(&state.db, push_horizon).await {
        tracing::warn!(error = %e, "push-send cleanup failed");
    }
    if let Err(e) = db::passkeys::forget_expired_challenges(&state.db, now).await {
        tracing::warn!(error = %e, "passkey challenge cleanup failed");
    }
    accounts::forget_unverified(state, now).await;
}
