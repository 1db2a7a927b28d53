//! Passkeys and the one-time challenges between the two steps of a WebAuthn ceremony.

use sqlx::AnyPool;

use crate::model::{Currency, PaymentId, UserId};

/// A passkey as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: UserId,
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs' `Passkey`, as JSON.
    pub credential: String,
    pub sign_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const PASSKEY_COLUMNS: &str =
    "id, user_id, credential_id, name, credential, sign_count, created_at, last_used_at";

/// Adds a passkey; `Ok(false)` when its credential is already on an account.
pub async fn insert(db: &AnyPool, row: &PasskeyRow) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, name, credential, sign_count, \
         created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) \
         ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(&row.id)
    .bind(&row.user_id)
    .bind(&row.credential_id)
    .bind(&row.name)
    .bind(&row.credential)
    .bind(row.sign_count)
    .bind(row.created_at)
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The user's passkeys, oldest first.
pub async fn for_user(db: &AnyPool, user_id: &UserId) -> sqlx::Result<Vec<PasskeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// How many passkeys the user has.
pub async fn count(db: &AnyPool, user_id: &UserId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(db)
        .await
}

/// Removes one of the user's passkeys; its name when there was one.
pub async fn remove(db: &AnyPool, user_id: &UserId, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name")
        .bind(id)
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Records a use of passkey `id` with signature counter `counter`, in one conditional
/// update: only if the counter went up (or it stays 0, for authenticators that keep
/// none). `false`: the counter did not go up (a cloned key?) or the passkey is gone.
pub async fn record_use(
    db: &AnyPool,
    id: &str,
    counter: i64,
    credential: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE passkeys SET sign_count = $1, credential = $2, last_used_at = $3 \
         WHERE id = $4 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))",
    )
    .bind(counter)
    .bind(credential)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// What a challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey to the account.
    Add,
    /// Approving one payment.
    Approve,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Add => "add",
            Purpose::Approve => "approve",
        }
    }
}

/// A challenge as stored: the ceremony's state and what it is bound to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChallengeRow {
    pub id: String,
    pub user_id: UserId,
    pub name: Option<String>,
    pub payment_id: Option<PaymentId>,
    pub payee: Option<String>,
    pub amount_cents: Option<i64>,
    pub currency: Option<Currency>,
    /// webauthn-rs' registration or authentication state, as JSON.
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const CHALLENGE_COLUMNS: &str =
    "id, user_id, name, payment_id, payee, amount_cents, currency, state, created_at, expires_at";

/// Stores a new challenge. Only the newest counts: the user's earlier challenges for the
/// same purpose (and payment) go, and so do any of theirs that expired, so a client asking
/// again and again keeps one row.
pub async fn insert_challenge(
    db: &AnyPool,
    purpose: Purpose,
    row: &ChallengeRow,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "DELETE FROM passkey_challenges WHERE user_id = $1 AND (expires_at <= $2 \
         OR (purpose = $3 AND COALESCE(payment_id, '') = COALESCE($4, '')))",
    )
    .bind(&row.user_id)
    .bind(row.created_at)
    .bind(purpose.as_str())
    .bind(&row.payment_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO passkey_challenges (id, user_id, purpose, name, payment_id, payee, \
         amount_cents, currency, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&row.id)
    .bind(&row.user_id)
    .bind(purpose.as_str())
    .bind(&row.name)
    .bind(&row.payment_id)
    .bind(&row.payee)
    .bind(row.amount_cents)
    .bind(row.currency.map(Currency::code))
    .bind(&row.state)
    .bind(row.created_at)
    .bind(row.expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Takes the user's challenge `id` for `purpose` out of the database: whoever takes it
/// first gets it, once.
pub async fn take_challenge(
    db: &AnyPool,
    user_id: &UserId,
    purpose: Purpose,
    id: &str,
) -> sqlx::Result<Option<ChallengeRow>> {
    sqlx::query_as(&format!(
        "DELETE FROM passkey_challenges WHERE id = $1 AND user_id = $2 AND purpose = $3 \
         RETURNING {CHALLENGE_COLUMNS}"
    ))
    .bind(id)
    .bind(user_id)
    .bind(purpose.as_str())
    .fetch_optional(db)
    .await
}

/// Forgets challenges whose time ran out (nobody finished them); how many.
pub async fn forget_expired_challenges(db: &AnyPool, now: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM passkey_challenges WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
