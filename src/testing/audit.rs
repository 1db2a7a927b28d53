//! Reading the audit trail.

use super::*;

/// How many audit rows of `event` ended with `outcome`, for anyone.
pub async fn audit_count(app: &TestApp, event: &str, outcome: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = $1 AND outcome = $2")
        .bind(event)
        .bind(outcome)
        .fetch_one(&app.state.db)
        .await
        .expect("count")
}

/// A payment's audit rows of `event`, oldest first: (outcome, detail).
pub async fn audit_rows(
    app: &TestApp,
    payment_id: impl std::fmt::Display,
    event: &str,
) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT outcome, detail FROM audit_events WHERE payment_id = $1 AND event = $2 ORDER BY at",
    )
    .bind(payment_id.to_string())
    .bind(event)
    .fetch_all(&app.state.db)
    .await
    .expect("audit rows")
}

/// The details of a user's audit rows of `event` that ended with `outcome`, oldest first.
pub async fn user_audit_details(
    app: &TestApp,
    user_id: impl std::fmt::Display,
    event: &str,
    outcome: &str,
) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = $1 AND outcome = $2 AND user_id = $3 \
         ORDER BY at",
    )
    .bind(event)
    .bind(outcome)
    .bind(user_id.to_string())
    .fetch_all(&app.state.db)
    .await
    .expect("audit details")
}
