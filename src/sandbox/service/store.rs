//! Tables of the built-in Authy sandbox.

use sqlx::AnyPool;

/// A sandbox user: the provider's record of a registered phone.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SandboxUser {
    pub authy_id: i64,
    pub email: String,
    pub phone_e164: String,
}

/// A push approval request as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApprovalRow {
    pub uuid: String,
    pub authy_id: i64,
    pub message: String,
    pub details_json: String,
    pub hidden_details_json: String,
    pub logos_json: String,
    pub status: String,
    pub seconds_to_expire: i64,
    pub created_at: i64,
    pub processed_at: Option<i64>,
}

impl ApprovalRow {
    /// The status as of `now`: a pending request past its lifetime is `expired`.
    pub fn status_at(&self, now: i64) -> &str {
        if self.status == "pending" && self.seconds_to_expire > 0 && now > self.expires_at() {
            "expired"
        } else {
            &self.status
        }
    }

    /// When it expires (Unix seconds); meaningless when `seconds_to_expire` is 0.
    pub fn expires_at(&self) -> i64 {
        self.created_at + self.seconds_to_expire
    }
}

/// Finds the user registered with `phone_e164`.
pub async fn user_by_phone(db: &AnyPool, phone_e164: &str) -> sqlx::Result<Option<SandboxUser>> {
    sqlx::query_as("SELECT authy_id, email, phone_e164 FROM sandbox_users WHERE phone_e164 = $1")
        .bind(phone_e164)
        .fetch_optional(db)
        .await
}

/// Finds a user by `authy_id`.
pub async fn user_by_id(db: &AnyPool, authy_id: i64) -> sqlx::Result<Option<SandboxUser>> {
    sqlx::query_as("SELECT authy_id, email, phone_e164 FROM sandbox_users WHERE authy_id = $1")
        .bind(authy_id)
        .fetch_optional(db)
        .await
}

/// Stores a new user; fails on a duplicate id or phone (the caller retries or re-reads).
pub async fn insert_user(
    db: &AnyPool,
    authy_id: i64,
    email: &str,
    phone_e164: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_users (authy_id, email, phone_e164, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(authy_id)
    .bind(email)
    .bind(phone_e164)
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

/// Replaces any pending verification for the phone with a new code.
pub async fn put_verification(
    db: &AnyPool,
    phone_e164: &str,
    code: &str,
    expires_at: i64,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sandbox_verifications WHERE phone_e164 = $1")
        .bind(phone_e164)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sandbox_verifications (phone_e164, code, expires_at, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(phone_e164)
    .bind(code)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The pending verification code for a phone and when it expires.
pub async fn verification(db: &AnyPool, phone_e164: &str) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as("SELECT code, expires_at FROM sandbox_verifications WHERE phone_e164 = $1")
        .bind(phone_e164)
        .fetch_optional(db)
        .await
}

/// Removes the verification for a phone (used or expired).
pub async fn delete_verification(db: &AnyPool, phone_e164: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sandbox_verifications WHERE phone_e164 = $1")
        .bind(phone_e164)
        .execute(db)
        .await
        .map(|_| ())
}

/// Records a message "sent" to a phone (`kind` is `sms` or `call`).
pub async fn insert_message(
    db: &AnyPool,
    phone_e164: &str,
    kind: &str,
    body: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_messages (id, phone_e164, kind, body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(phone_e164)
    .bind(kind)
    .bind(body)
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

/// Messages sent to a phone, newest first.
pub async fn messages(
    db: &AnyPool,
    phone_e164: &str,
    limit: i64,
) -> sqlx::Result<Vec<(String, String, String, i64)>> {
    sqlx::query_as(
        "SELECT id, kind, body, created_at FROM sandbox_messages WHERE phone_e164 = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(phone_e164)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Phones that have received anything, most recent first.
pub async fn recent_phones(db: &AnyPool, limit: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT phone_e164 FROM sandbox_messages GROUP BY phone_e164 \
         ORDER BY MAX(created_at) DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Stores an SMS token bound to `action`.
pub async fn insert_token(
    db: &AnyPool,
    authy_id: i64,
    code: &str,
    action: &str,
    expires_at: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_tokens (id, authy_id, code, action, used, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(authy_id)
    .bind(code)
    .bind(action)
    .bind(expires_at)
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

/// How verifying a token went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    Valid,
    AlreadyUsed,
    Invalid,
}

/// Uses up a live token for this user, code and action, in one statement so that two
/// concurrent checks cannot both succeed.
pub async fn use_token(
    db: &AnyPool,
    authy_id: i64,
    code: &str,
    action: &str,
    now: i64,
) -> sqlx::Result<TokenCheck> {
    let updated = sqlx::query(
        "UPDATE sandbox_tokens SET used = 1 WHERE authy_id = $1 AND code = $2 AND action = $3 \
         AND used = 0 AND expires_at >= $4",
    )
    .bind(authy_id)
    .bind(code)
    .bind(action)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    if updated > 0 {
        return Ok(TokenCheck::Valid);
    }
    let used: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sandbox_tokens WHERE authy_id = $1 AND code = $2 AND action = $3 AND used = 1",
    )
    .bind(authy_id)
    .bind(code)
    .bind(action)
    .fetch_one(db)
    .await?;
    Ok(if used > 0 {
        TokenCheck::AlreadyUsed
    } else {
        TokenCheck::Invalid
    })
}

/// Stores a new push approval request.
pub async fn insert_approval(db: &AnyPool, row: &ApprovalRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_approvals (uuid, authy_id, message, details_json, hidden_details_json, \
         logos_json, status, seconds_to_expire, created_at, processed_at, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&row.uuid)
    .bind(row.authy_id)
    .bind(&row.message)
    .bind(&row.details_json)
    .bind(&row.hidden_details_json)
    .bind(&row.logos_json)
    .bind(&row.status)
    .bind(row.seconds_to_expire)
    .bind(row.created_at)
    .bind(row.processed_at)
    .bind(unix_millis())
    .execute(db)
    .await
    .map(|_| ())
}

const APPROVAL_COLUMNS: &str = "uuid, authy_id, message, details_json, hidden_details_json, \
    logos_json, status, seconds_to_expire, created_at, processed_at";

/// One approval request by uuid.
pub async fn approval(db: &AnyPool, uuid: &str) -> sqlx::Result<Option<ApprovalRow>> {
    sqlx::query_as(&format!(
        "SELECT {APPROVAL_COLUMNS} FROM sandbox_approvals WHERE uuid = $1"
    ))
    .bind(uuid)
    .fetch_optional(db)
    .await
}

/// A user's approval requests, newest first.
pub async fn approvals_for_user(
    db: &AnyPool,
    authy_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<ApprovalRow>> {
    sqlx::query_as(&format!(
        "SELECT {APPROVAL_COLUMNS} FROM sandbox_approvals WHERE authy_id = $1 \
         ORDER BY created_at DESC, created_at_ms DESC, uuid DESC LIMIT $2"
    ))
    .bind(authy_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Decides a pending, unexpired request; `false` when it was not pending any more.
pub async fn decide_approval(
    db: &AnyPool,
    uuid: &str,
    status: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE sandbox_approvals SET status = $1, processed_at = $2 WHERE uuid = $3 \
         AND status = 'pending' AND (seconds_to_expire = 0 OR created_at + seconds_to_expire >= $2)",
    )
    .bind(status)
    .bind(now)
    .bind(uuid)
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Now in Unix milliseconds, to order what was made within one second.
pub(super) fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
