//! Tables of the sandbox's Verify v2 service: verifications, push factors, challenges,
//! access tokens and webhooks.

use sqlx::AnyPool;

/// A verification as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VerificationRow {
    pub sid: String,
    pub service_sid: String,
    pub to_e164: String,
    pub channel: String,
    pub code: String,
    pub status: String,
    pub amount: Option<String>,
    pub payee: Option<String>,
    pub sends: i64,
    pub checks: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const VERIFICATION_COLUMNS: &str = "sid, service_sid, to_e164, channel, code, status, amount, \
    payee, sends, checks, created_at, updated_at";

/// One verification by SID.
pub async fn verification(db: &AnyPool, sid: &str) -> sqlx::Result<Option<VerificationRow>> {
    sqlx::query_as(&format!(
        "SELECT {VERIFICATION_COLUMNS} FROM sandbox_verify_verifications WHERE sid = $1"
    ))
    .bind(sid)
    .fetch_optional(db)
    .await
}

/// The pending verification of a number at a service, created after `since`.
pub async fn pending_for(
    db: &AnyPool,
    service_sid: &str,
    to: &str,
    since: i64,
) -> sqlx::Result<Option<VerificationRow>> {
    sqlx::query_as(&format!(
        "SELECT {VERIFICATION_COLUMNS} FROM sandbox_verify_verifications \
         WHERE service_sid = $1 AND to_e164 = $2 AND status = 'pending' AND created_at > $3 \
         ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(service_sid)
    .bind(to)
    .bind(since)
    .fetch_optional(db)
    .await
}

/// Stores a new verification.
pub async fn insert_verification(db: &AnyPool, row: &VerificationRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO sandbox_verify_verifications ({VERIFICATION_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&row.sid)
    .bind(&row.service_sid)
    .bind(&row.to_e164)
    .bind(&row.channel)
    .bind(&row.code)
    .bind(&row.status)
    .bind(&row.amount)
    .bind(&row.payee)
    .bind(row.sends)
    .bind(row.checks)
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(db)
    .await
    .map(|_| ())
}

/// Counts one more send of a pending verification, unless `max` were made; `false` then.
pub async fn take_send(db: &AnyPool, sid: &str, max: i64, now: i64) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE sandbox_verify_verifications SET sends = sends + 1, updated_at = $1 \
         WHERE sid = $2 AND status = 'pending' AND sends < $3",
    )
    .bind(now)
    .bind(sid)
    .bind(max)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Counts one more check of a pending verification, unless `max` were made (then it is
/// `max_attempts_reached`); `false` when no check is left.
pub async fn take_check(db: &AnyPool, sid: &str, max: i64, now: i64) -> sqlx::Result<bool> {
    let taken = sqlx::query(
        "UPDATE sandbox_verify_verifications SET checks = checks + 1, updated_at = $1 \
         WHERE sid = $2 AND status = 'pending' AND checks < $3",
    )
    .bind(now)
    .bind(sid)
    .bind(max)
    .execute(db)
    .await?
    .rows_affected()
        == 1;
    if !taken {
        set_status(db, sid, "pending", "max_attempts_reached", now).await?;
    }
    Ok(taken)
}

/// Moves a verification from `from` to `to`; `false` when it was not in `from`.
pub async fn set_status(
    db: &AnyPool,
    sid: &str,
    from: &str,
    to: &str,
    now: i64,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE sandbox_verify_verifications SET status = $1, updated_at = $2 \
         WHERE sid = $3 AND status = $4",
    )
    .bind(to)
    .bind(now)
    .bind(sid)
    .bind(from)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// A push factor as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FactorRow {
    pub sid: String,
    pub service_sid: String,
    pub identity: String,
    pub friendly_name: String,
    pub status: String,
    pub phone_e164: String,
    pub created_at: i64,
}

const FACTOR_COLUMNS: &str =
    "sid, service_sid, identity, friendly_name, status, phone_e164, created_at";

/// Stores a new factor.
pub async fn insert_factor(db: &AnyPool, row: &FactorRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO sandbox_verify_factors ({FACTOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&row.sid)
    .bind(&row.service_sid)
    .bind(&row.identity)
    .bind(&row.friendly_name)
    .bind(&row.status)
    .bind(&row.phone_e164)
    .bind(row.created_at)
    .execute(db)
    .await
    .map(|_| ())
}

/// One factor of an identity.
pub async fn factor(
    db: &AnyPool,
    service_sid: &str,
    identity: &str,
    sid: &str,
) -> sqlx::Result<Option<FactorRow>> {
    sqlx::query_as(&format!(
        "SELECT {FACTOR_COLUMNS} FROM sandbox_verify_factors \
         WHERE service_sid = $1 AND identity = $2 AND sid = $3"
    ))
    .bind(service_sid)
    .bind(identity)
    .bind(sid)
    .fetch_optional(db)
    .await
}

/// The factors of an identity, oldest first.
pub async fn factors_of(
    db: &AnyPool,
    service_sid: &str,
    identity: &str,
) -> sqlx::Result<Vec<FactorRow>> {
    sqlx::query_as(&format!(
        "SELECT {FACTOR_COLUMNS} FROM sandbox_verify_factors \
         WHERE service_sid = $1 AND identity = $2 ORDER BY created_at, sid"
    ))
    .bind(service_sid)
    .bind(identity)
    .fetch_all(db)
    .await
}

/// Marks a factor verified.
pub async fn verify_factor(db: &AnyPool, sid: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE sandbox_verify_factors SET status = 'verified' WHERE sid = $1")
        .bind(sid)
        .execute(db)
        .await
        .map(|_| ())
}

/// Deletes a factor; `false` when there was none.
pub async fn delete_factor(
    db: &AnyPool,
    service_sid: &str,
    identity: &str,
    sid: &str,
) -> sqlx::Result<bool> {
    sqlx::query(
        "DELETE FROM sandbox_verify_factors WHERE service_sid = $1 AND identity = $2 AND sid = $3",
    )
    .bind(service_sid)
    .bind(identity)
    .bind(sid)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// A push challenge as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChallengeRow {
    pub sid: String,
    pub service_sid: String,
    pub identity: String,
    pub factor_sid: String,
    pub status: String,
    pub message: String,
    pub fields_json: String,
    pub hidden_json: String,
    pub expires_at: i64,
    pub created_at: i64,
    pub responded_at: Option<i64>,
}

impl ChallengeRow {
    /// The status as of `now`: a pending challenge past its expiration is `expired`.
    pub fn status_at(&self, now: i64) -> &str {
        if self.status == "pending" && now > self.expires_at {
            "expired"
        } else {
            &self.status
        }
    }
}

const CHALLENGE_COLUMNS: &str = "sid, service_sid, identity, factor_sid, status, message, \
    fields_json, hidden_json, expires_at, created_at, responded_at";

/// Stores a new challenge.
pub async fn insert_challenge(db: &AnyPool, row: &ChallengeRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO sandbox_verify_challenges ({CHALLENGE_COLUMNS}, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&row.sid)
    .bind(&row.service_sid)
    .bind(&row.identity)
    .bind(&row.factor_sid)
    .bind(&row.status)
    .bind(&row.message)
    .bind(&row.fields_json)
    .bind(&row.hidden_json)
    .bind(row.expires_at)
    .bind(row.created_at)
    .bind(row.responded_at)
    .bind(super::store::unix_millis())
    .execute(db)
    .await
    .map(|_| ())
}

/// One challenge by SID.
pub async fn challenge(db: &AnyPool, sid: &str) -> sqlx::Result<Option<ChallengeRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHALLENGE_COLUMNS} FROM sandbox_verify_challenges WHERE sid = $1"
    ))
    .bind(sid)
    .fetch_optional(db)
    .await
}

/// The challenges of an identity (of one factor, if given), newest first.
pub async fn challenges_of(
    db: &AnyPool,
    service_sid: &str,
    identity: &str,
    factor_sid: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<ChallengeRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHALLENGE_COLUMNS} FROM sandbox_verify_challenges \
         WHERE service_sid = $1 AND identity = $2 AND ($3 = '' OR factor_sid = $3) \
         ORDER BY created_at_ms DESC, sid DESC LIMIT $4"
    ))
    .bind(service_sid)
    .bind(identity)
    .bind(factor_sid.unwrap_or(""))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The challenges on the factors a sandbox phone holds, newest first.
pub async fn challenges_on_phone(
    db: &AnyPool,
    phone_e164: &str,
    limit: i64,
) -> sqlx::Result<Vec<ChallengeRow>> {
    let columns = CHALLENGE_COLUMNS
        .split(", ")
        .map(|c| format!("c.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query_as(&format!(
        "SELECT {columns} FROM sandbox_verify_challenges c \
         JOIN sandbox_verify_factors f ON f.sid = c.factor_sid \
         WHERE f.phone_e164 = $1 ORDER BY c.created_at_ms DESC, c.sid DESC LIMIT $2"
    ))
    .bind(phone_e164)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Answers a pending, unexpired challenge; `false` when it was not pending any more.
pub async fn respond(db: &AnyPool, sid: &str, status: &str, now: i64) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE sandbox_verify_challenges SET status = $1, responded_at = $2 \
         WHERE sid = $3 AND status = 'pending' AND expires_at >= $2",
    )
    .bind(status)
    .bind(now)
    .bind(sid)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// An access token for enrolling a push factor.
pub struct NewAccessToken<'a> {
    pub sid: &'a str,
    pub service_sid: &'a str,
    pub identity: &'a str,
    pub token: &'a str,
    pub factor_friendly_name: Option<&'a str>,
    pub expires_at: i64,
}

/// Stores an access token for enrolling a push factor.
pub async fn insert_access_token(
    db: &AnyPool,
    t: &NewAccessToken<'_>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_verify_access_tokens \
         (sid, service_sid, identity, token, factor_friendly_name, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.sid)
    .bind(t.service_sid)
    .bind(t.identity)
    .bind(t.token)
    .bind(t.factor_friendly_name)
    .bind(t.expires_at)
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

/// Uses up a live access token: its service, identity and factor name.
pub async fn take_access_token(
    db: &AnyPool,
    token: &str,
    now: i64,
) -> sqlx::Result<Option<(String, String, Option<String>)>> {
    let found: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT service_sid, identity, factor_friendly_name FROM sandbox_verify_access_tokens \
         WHERE token = $1 AND expires_at >= $2",
    )
    .bind(token)
    .bind(now)
    .fetch_optional(db)
    .await?;
    let deleted = sqlx::query("DELETE FROM sandbox_verify_access_tokens WHERE token = $1")
        .bind(token)
        .execute(db)
        .await?
        .rows_affected();
    Ok(found.filter(|_| deleted == 1))
}

/// Stores a webhook of a service.
pub async fn insert_webhook(
    db: &AnyPool,
    sid: &str,
    service_sid: &str,
    friendly_name: &str,
    event_types: &[String],
    url: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_verify_webhooks \
         (sid, service_sid, friendly_name, event_types, webhook_url, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(sid)
    .bind(service_sid)
    .bind(friendly_name)
    .bind(event_types.join(" "))
    .bind(url)
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

/// A service's webhooks: SID, name, event types, URL, created.
pub async fn webhooks(
    db: &AnyPool,
    service_sid: &str,
) -> sqlx::Result<Vec<(String, String, String, String, i64)>> {
    sqlx::query_as(
        "SELECT sid, friendly_name, event_types, webhook_url, created_at \
         FROM sandbox_verify_webhooks WHERE service_sid = $1 ORDER BY created_at, sid",
    )
    .bind(service_sid)
    .fetch_all(db)
    .await
}

/// A service created over the API.
pub(super) async fn service(
    db: &AnyPool,
    sid: &str,
) -> sqlx::Result<Option<super::verify_api::Service>> {
    sqlx::query_as(
        "SELECT sid, friendly_name, code_length, psd2_enabled, created_at \
         FROM sandbox_verify_services WHERE sid = $1",
    )
    .bind(sid)
    .fetch_optional(db)
    .await
}

/// Stores a service created over the API.
pub(super) async fn insert_service(
    db: &AnyPool,
    sid: &str,
    friendly_name: &str,
    code_length: i64,
    psd2_enabled: bool,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_verify_services (sid, friendly_name, code_length, psd2_enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sid)
    .bind(friendly_name)
    .bind(code_length)
    .bind(i64::from(psd2_enabled))
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}
