//! The audit trail, sign-in throttling and the record of codes sent.

use sqlx::AnyPool;

/// One security-relevant event.
#[derive(Debug, Clone, Default)]
pub struct AuditEvent<'a> {
    pub user_id: Option<&'a str>,
    pub payment_id: Option<&'a str>,
    pub ip: Option<String>,
    pub event: &'a str,
    pub outcome: &'a str,
    pub detail: String,
}

/// An id that sorts in the order events were recorded (microseconds, then randomness).
fn ordered_id() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    format!("{micros:020}-{}", uuid::Uuid::new_v4().simple())
}

/// Appends an event to the audit trail.
pub async fn insert_event(db: &AnyPool, e: &AuditEvent<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, at, user_id, payment_id, ip, event, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ordered_id())
    .bind(now)
    .bind(e.user_id)
    .bind(e.payment_id)
    .bind(e.ip.as_deref())
    .bind(e.event)
    .bind(e.outcome)
    .bind(&e.detail)
    .execute(db)
    .await
    .map(|_| ())
}

/// A payment's events, oldest first: (time, event, outcome, detail).
pub async fn payment_events(
    db: &AnyPool,
    payment_id: &str,
) -> sqlx::Result<Vec<(i64, String, String, String)>> {
    sqlx::query_as(
        "SELECT at, event, outcome, detail FROM audit_events WHERE payment_id = $1 \
         ORDER BY at, id",
    )
    .bind(payment_id)
    .fetch_all(db)
    .await
}

/// The lock on an email's sign-in, if any: (failures so far, locked until).
pub async fn login_state(db: &AnyPool, email: &str) -> sqlx::Result<Option<(i64, Option<i64>)>> {
    sqlx::query_as("SELECT failures, locked_until FROM login_throttle WHERE email = $1")
        .bind(email)
        .fetch_optional(db)
        .await
}

/// Counts one more failed sign-in; returns the consecutive failures so far.
pub async fn count_login_failure(db: &AnyPool, email: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO login_throttle (email, failures, locked_until) VALUES ($1, 1, NULL) \
         ON CONFLICT (email) DO UPDATE SET failures = login_throttle.failures + 1 \
         RETURNING failures",
    )
    .bind(email)
    .fetch_one(db)
    .await
}

/// Locks an email's sign-in until `until` and starts counting again from zero.
pub async fn lock_login(db: &AnyPool, email: &str, until: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE login_throttle SET failures = 0, locked_until = $1 WHERE email = $2")
        .bind(until)
        .bind(email)
        .execute(db)
        .await
        .map(|_| ())
}

/// Forgets failures after a successful sign-in.
pub async fn clear_login_failures(db: &AnyPool, email: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE email = $1")
        .bind(email)
        .execute(db)
        .await
        .map(|_| ())
}

/// Codes sent since `since` to this phone or for this user, and the oldest of them.
pub async fn codes_sent_since(
    db: &AnyPool,
    user_id: Option<&str>,
    phone_e164: &str,
    since: i64,
) -> sqlx::Result<(i64, Option<i64>)> {
    sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM code_sends WHERE at >= $1 \
         AND (phone_e164 = $2 OR (user_id IS NOT NULL AND user_id = $3))",
    )
    .bind(since)
    .bind(phone_e164)
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// Records a code sent.
pub async fn record_code_sent(
    db: &AnyPool,
    user_id: Option<&str>,
    phone_e164: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO code_sends (id, user_id, phone_e164, at) VALUES ($1, $2, $3, $4)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(user_id)
        .bind(phone_e164)
        .bind(now)
        .execute(db)
        .await
        .map(|_| ())
}

/// Forgets codes sent before `before` (outside any rate-limit window).
pub async fn forget_code_sends_before(db: &AnyPool, before: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM code_sends WHERE at < $1")
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
