//! Verify events already handled, by their `I-Twilio-Idempotency-Token`.

use sqlx::AnyPool;

/// Whether an event with this token was handled.
pub async fn seen(db: &AnyPool, token: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM verify_events WHERE token = $1")
        .bind(token)
        .fetch_one(db)
        .await
        .map(|n| n > 0)
}

/// Remembers a handled event's token (a second record of it changes nothing).
pub async fn remember(db: &AnyPool, token: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO verify_events (token, received_at) VALUES ($1, $2) \
         ON CONFLICT (token) DO NOTHING",
    )
    .bind(token)
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

/// Forgets tokens received before `before` (Twilio retries within minutes).
pub async fn forget_before(db: &AnyPool, before: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM verify_events WHERE received_at < $1")
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
