//! Rate limits on sending codes (per user and per phone).

use std::future::Future;

use super::{audit, authy::AuthyError, db, internal, AppState};
use crate::error::AppError;

/// A code about to be sent: to whom, and how the audit trail should call it.
pub struct CodeSend<'a> {
    pub user_id: Option<&'a str>,
    pub phone_e164: &'a str,
    pub payment_id: Option<&'a str>,
    /// The audit event (`verification_sent`, `sms_sent`).
    pub event: &'a str,
    pub detail: String,
}

/// Sends one code within the limits: refuses when this user or phone had too many lately,
/// records the attempt in the audit trail, and counts the code once it went out.
pub async fn send_code(
    state: &AppState,
    code: CodeSend<'_>,
    send: impl Future<Output = Result<(), AuthyError>>,
    refused: impl FnOnce(AuthyError) -> AppError,
) -> Result<(), AppError> {
    check_code_send(state, code.user_id, code.phone_e164).await?;
    let sent = send.await;
    audit::log(
        state,
        code.user_id,
        code.payment_id,
        code.event,
        if sent.is_ok() { "ok" } else { "failed" },
        code.detail,
    )
    .await;
    sent.map_err(refused)?;
    record_code_send(state, code.user_id, code.phone_e164).await;
    Ok(())
}

/// Refuses when this user or phone was sent too many codes recently.
async fn check_code_send(
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
async fn record_code_send(state: &AppState, user_id: Option<&str>, phone_e164: &str) {
    if let Err(e) = db::security::record_code_sent(&state.db, user_id, phone_e164, db::now()).await
    {
        tracing::error!(error = %e, "cannot record a code sent");
    }
}
