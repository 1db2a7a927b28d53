//! Sign-in throttling per email and the record of codes sent (for their limits).

use sqlx::AnyPool;

use crate::model::{Email, UserId};

/// The lock on an email's sign-in, if any: (attempts so far, locked until).
pub async fn login_state(db: &AnyPool, email: &Email) -> sqlx::Result<Option<(i64, Option<i64>)>> {
    sqlx::query_as("SELECT failures, locked_until FROM login_throttle WHERE email = $1")
        .bind(email)
        .fetch_optional(db)
        .await
}

/// Counts a sign-in attempt for `email` before its password is checked, in one conditional
/// update, so that however many arrive at once at most `max` in a row are ever evaluated.
/// A lock that has ended starts the count again. Returns the attempt's number in the
/// row (1..=max), or `None` when sign-in is locked. The attempt that reaches `max` sets
/// the lock (`lock_until`); a success clears it with [`clear_login_failures`].
pub async fn take_login_attempt(
    db: &AnyPool,
    email: &Email,
    max: i64,
    now: i64,
    lock_until: i64,
) -> sqlx::Result<Option<i64>> {
    // One statement: a row the sweep forgets between an insert and an update would
    // otherwise read as a lock.
    let first_locks = if max <= 1 { Some(lock_until) } else { None };
    sqlx::query_scalar(
        "INSERT INTO login_throttle (email, failures, locked_until, last_at) \
         VALUES ($1, 1, $5, $2) \
         ON CONFLICT (email) DO UPDATE SET \
           failures = CASE WHEN login_throttle.locked_until <= $2 THEN 1 \
                           ELSE login_throttle.failures + 1 END, \
           locked_until = CASE WHEN login_throttle.locked_until <= $2 THEN $5 \
                               WHEN login_throttle.failures + 1 >= $3 THEN $4 \
                               ELSE login_throttle.locked_until END, \
           last_at = $2 \
         WHERE login_throttle.failures < $3 OR login_throttle.locked_until <= $2 \
         RETURNING failures",
    )
    .bind(email)
    .bind(now)
    .bind(max)
    .bind(lock_until)
    .bind(first_locks)
    .fetch_optional(db)
    .await
}

/// Gives back an attempt that was counted but not evaluated (no hashing slot); the lock
/// it set, if it was the one that reached `max`, goes with it.
pub async fn return_login_attempt(db: &AnyPool, email: &Email, max: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE login_throttle SET failures = failures - 1, \
           locked_until = CASE WHEN failures = $2 THEN NULL ELSE locked_until END \
         WHERE email = $1 AND failures > 0",
    )
    .bind(email)
    .bind(max)
    .execute(db)
    .await
    .map(|_| ())
}

/// Forgets failures (and any lock) after a successful sign-in.
pub async fn clear_login_failures(db: &AnyPool, email: &Email) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE email = $1")
        .bind(email)
        .execute(db)
        .await
        .map(|_| ())
}

/// Forgets the sign-in attempts of emails whose lock (if any) has ended and whose last
/// attempt was before `quiet_since`: their count would start again anyway.
pub async fn forget_login_attempts(db: &AnyPool, now: i64, quiet_since: i64) -> sqlx::Result<u64> {
    sqlx::query(
        "DELETE FROM login_throttle WHERE (locked_until IS NULL OR locked_until <= $1) \
         AND (last_at IS NULL OR last_at < $2)",
    )
    .bind(now)
    .bind(quiet_since)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// A code about to be sent, and the limits it must fit in.
pub struct CodeSendLimits<'a> {
    pub user_id: Option<&'a UserId>,
    pub phone_e164: &'a str,
    /// What this send weighs (a voice call 2, an SMS 1).
    pub weight: i64,
    /// Sent for someone without a verified phone: drawn from the unverified budget.
    pub unverified: bool,
    /// Codes per phone and per user since `window_start` (by weight).
    pub per_recipient: i64,
    pub window_start: i64,
    /// Codes of this budget (verified or not) since `hour_start`, by weight.
    pub global: i64,
    pub hour_start: i64,
}

/// Why a code may not be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSendRefused {
    /// This phone or user had too many: the oldest of them was sent at this time.
    Recipient { oldest: Option<i64> },
    /// The app sent its hourly budget: the oldest of those was sent at this time.
    Global { oldest: Option<i64> },
}

/// Records a code send before it is made, if it fits the limits: the check and the record
/// are one transaction that first updates the single gate row, so concurrent sends are
/// checked one after the other (SQLite takes its write lock at that update, PostgreSQL
/// the row's lock).
pub async fn reserve_code_send(
    db: &AnyPool,
    limits: &CodeSendLimits<'_>,
    now: i64,
) -> sqlx::Result<Result<(), CodeSendRefused>> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE code_send_gate SET sends = sends + 1 WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    let (recipient, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(weight), 0) AS BIGINT), MIN(at) FROM code_sends \
         WHERE at >= $1 AND (phone_e164 = $2 OR (user_id IS NOT NULL AND user_id = $3))",
    )
    .bind(limits.window_start)
    .bind(limits.phone_e164)
    .bind(limits.user_id)
    .fetch_one(&mut *tx)
    .await?;
    if recipient + limits.weight > limits.per_recipient {
        tx.rollback().await?;
        return Ok(Err(CodeSendRefused::Recipient { oldest }));
    }
    let unverified = i64::from(limits.unverified);
    let (global, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(weight), 0) AS BIGINT), MIN(at) FROM code_sends \
         WHERE at >= $1 AND unverified = $2",
    )
    .bind(limits.hour_start)
    .bind(unverified)
    .fetch_one(&mut *tx)
    .await?;
    if global + limits.weight > limits.global {
        tx.rollback().await?;
        return Ok(Err(CodeSendRefused::Global { oldest }));
    }
    sqlx::query(
        "INSERT INTO code_sends (id, user_id, phone_e164, at, weight, unverified) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(limits.user_id)
    .bind(limits.phone_e164)
    .bind(now)
    .bind(limits.weight)
    .bind(unverified)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Forgets codes sent before `before` (outside any rate-limit window).
pub async fn forget_code_sends_before(db: &AnyPool, before: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM code_sends WHERE at < $1")
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
