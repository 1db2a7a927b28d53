//! Rate limits on sending codes (per user and per phone).

use super::{db, internal, AppState};
use crate::error::AppError;

/// Refuses when this user or phone was sent too many codes recently.
pub async fn check_code_send(
    state: &AppState,
    user_id: Option<&str>,
    phone_e164: &str,
) -> Result<(), AppError> {
    let now = db::now();
    let window = state.config.code_send_window_secs as i64;
    let (count, oldest) =
        db::security::codes_sent_since(&state.db, user_id, phone_e164, now - window)
            .await
            .map_err(|e| internal("count codes sent", e))?;
    if count >= state.config.code_send_limit as i64 {
        let retry_after = oldest.map_or(window, |t| t + window - now).max(1);
        return Err(AppError::RateLimited {
            retry_after_secs: u64::try_from(retry_after).unwrap_or(1),
        });
    }
    Ok(())
}

/// Records that a code was sent.
pub async fn record_code_send(state: &AppState, user_id: Option<&str>, phone_e164: &str) {
    if let Err(e) = db::security::record_code_sent(&state.db, user_id, phone_e164, db::now()).await
    {
        tracing::error!(error = %e, "cannot record a code sent");
    }
}
