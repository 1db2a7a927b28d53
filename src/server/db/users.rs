//! Users and their sessions.

use std::sync::LazyLock;

use sqlx::{Any, AnyPool, Executor};

use crate::model::{Email, UserId, Via};
use crate::server::config::ProviderKind;
use crate::server::entities::{AccountPhone, ProviderAccount, Session, User};
use crate::shared::sid::{AuthyId, FactorSid, VerificationSid};

/// A user's row, converted into a [`User`] as it is read.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: UserId,
    email: Email,
    password_hash: String,
    phone_e164: String,
    country_code: String,
    national_number: String,
    verify_via: Via,
    phone_verified_at: Option<i64>,
    authy_id: Option<AuthyId>,
    provider: ProviderKind,
    verification_sid: Option<VerificationSid>,
    push_factor_sid: Option<FactorSid>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: row.id,
            email: row.email,
            password_hash: row.password_hash,
            phone: AccountPhone {
                e164: row.phone_e164,
                country_code: row.country_code,
                national: row.national_number,
            },
            verify_via: row.verify_via,
            phone_verified_at: row.phone_verified_at,
            provider: match row.provider {
                ProviderKind::Authy => ProviderAccount::Authy {
                    authy_id: row.authy_id,
                },
                ProviderKind::Verify => ProviderAccount::Verify {
                    verification_sid: row.verification_sid,
                    push_factor_sid: row.push_factor_sid,
                },
            },
        }
    }
}

/// The columns of [`UserRow`], each with `{t}` where its table's alias (with its dot)
/// goes. The phone is the verified one, or the one an account not verified yet asks to
/// verify (`pending_phone_e164`; its `phone_e164` is then a placeholder).
const USER_COLUMNS_OF: &str = "{t}id, {t}email, {t}password_hash, \
    COALESCE({t}pending_phone_e164, {t}phone_e164) AS phone_e164, {t}country_code, \
    {t}national_number, {t}verify_via, {t}phone_verified_at, {t}authy_id, {t}provider, \
    {t}verification_sid, {t}push_factor_sid";

static USER_COLUMNS: LazyLock<String> = LazyLock::new(|| USER_COLUMNS_OF.replace("{t}", ""));

/// The placeholder in `phone_e164` of an account whose phone is not verified yet: unique,
/// and never a phone number.
fn unverified_placeholder(id: &UserId) -> String {
    format!("unverified:{id}")
}

/// A user to create.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub phone_e164: &'a str,
    pub country_code: &'a str,
    pub national_number: &'a str,
    pub verify_via: &'a str,
    pub provider: ProviderKind,
    /// Verify: the verification started for the phone at registration.
    pub verification_sid: Option<&'a VerificationSid>,
}

/// Which unique column a duplicate would collide with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Email,
    Phone,
}

/// Whether the email already belongs to an account, or the phone to a verified one (a
/// registration not verified yet holds no number).
pub async fn taken(db: &AnyPool, email: &Email, phone_e164: &str) -> sqlx::Result<Option<Taken>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT email, phone_e164 FROM users WHERE email = $1 OR phone_e164 = $2")
            .bind(email)
            .bind(phone_e164)
            .fetch_all(db)
            .await?;
    Ok(if rows.iter().any(|(e, _)| e == email.as_str()) {
        Some(Taken::Email)
    } else if rows.is_empty() {
        None
    } else {
        Some(Taken::Phone)
    })
}

/// Inserts a user; a duplicate email or phone is a database error the caller maps.
pub async fn insert(db: &AnyPool, user: &NewUser<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, phone_e164, country_code, national_number, \
         verify_via, phone_verified_at, authy_id, created_at, provider, verification_sid, \
         pending_phone_e164) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, $9, $10, $11)",
    )
    .bind(user.id)
    .bind(user.email)
    .bind(user.password_hash)
    .bind(unverified_placeholder(user.id))
    .bind(user.country_code)
    .bind(user.national_number)
    .bind(user.verify_via)
    .bind(now)
    .bind(user.provider.as_str())
    .bind(user.verification_sid)
    .bind(user.phone_e164)
    .execute(db)
    .await
    .map(|_| ())
}

/// Finds a user by (normalised) email.
pub async fn by_email(db: &AnyPool, email: &Email) -> sqlx::Result<Option<User>> {
    sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {} FROM users WHERE email = $1",
        *USER_COLUMNS
    ))
    .bind(email)
    .fetch_optional(db)
    .await
    .map(|row| row.map(User::from))
}

/// Marks the phone verified with `provider` and stores the provider's id for the user
/// (Authy's; Verify has none). Re-verifying moves an account to the provider used. Fails
/// when another account verified the same number first.
pub async fn mark_verified(
    db: &AnyPool,
    user_id: &UserId,
    provider: ProviderKind,
    authy_id: Option<AuthyId>,
    now: i64,
) -> sqlx::Result<()> {
    // The number moves from `pending_phone_e164` to the UNIQUE `phone_e164`: if another
    // account verified it first, this fails (the caller says so) and nothing changes.
    sqlx::query(
        "UPDATE users SET phone_verified_at = $1, authy_id = $2, provider = $3, \
         verification_sid = NULL, phone_e164 = COALESCE(pending_phone_e164, phone_e164), \
         pending_phone_e164 = NULL WHERE id = $4",
    )
    .bind(now)
    .bind(authy_id)
    .bind(provider.as_str())
    .bind(user_id)
    .execute(db)
    .await
    .map(|_| ())
}

/// Remembers the newest Verify verification started for the user's phone.
pub async fn set_verification_sid(
    db: &AnyPool,
    user_id: &UserId,
    sid: Option<&VerificationSid>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET verification_sid = $1 WHERE id = $2")
        .bind(sid)
        .bind(user_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Stores (or with `None` removes) the user's verified Verify Push factor.
pub async fn set_push_factor(
    db: &AnyPool,
    user_id: &UserId,
    factor_sid: Option<&FactorSid>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET push_factor_sid = $1 WHERE id = $2")
        .bind(factor_sid)
        .bind(user_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Whether an account other than `user_id` holds `phone_e164` as its verified number.
pub async fn phone_held_by_another(
    db: &AnyPool,
    user_id: &UserId,
    phone_e164: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE phone_e164 = $1 AND id <> $2")
        .bind(phone_e164)
        .bind(user_id)
        .fetch_one(db)
        .await
        .map(|n| n > 0)
}

/// Finds a user by id.
pub async fn by_id(db: &AnyPool, user_id: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {} FROM users WHERE id = $1",
        *USER_COLUMNS
    ))
    .bind(user_id)
    .fetch_optional(db)
    .await
    .map(|row| row.map(User::from))
}

/// Stores a new session under its (hashed) id.
pub async fn insert_session(
    db: &AnyPool,
    session_id: &str,
    user_id: &UserId,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}

/// A session's row: its user's row and its times.
#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    created_at: i64,
    last_seen_at: i64,
}

/// The user of a session, with the session's sign-in and last activity times.
pub async fn session_user<'e>(
    db: impl Executor<'e, Database = Any>,
    session_id: &str,
) -> sqlx::Result<Option<Session>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let columns = USER_COLUMNS_OF.replace("{t}", "u.");
        format!(
            "SELECT {columns}, s.created_at, s.last_seen_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id = $1"
        )
    });
    let row: Option<SessionRow> = sqlx::query_as(&SQL)
        .bind(session_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|row| Session {
        user: row.user.into(),
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
    }))
}

/// Deletes accounts whose phone was never verified and that were created before
/// `before`, freeing their email and phone; returns how many.
pub async fn delete_unverified_before(db: &AnyPool, before: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM users WHERE phone_verified_at IS NULL AND created_at < $1")
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// What a one-time code sent to the user's phone is for: each has its own count of checks,
/// and only a new code of the same purpose starts it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// Verifying the phone number (registration).
    PhoneVerification,
    /// Confirming the phone before adding a passkey.
    AddPasskey,
}

impl CodePurpose {
    fn column(self) -> &'static str {
        match self {
            CodePurpose::PhoneVerification => "verify_attempts",
            CodePurpose::AddPasskey => "passkey_code_attempts",
        }
    }
}

/// Takes one of the `max` checks allowed for the user's current code of this purpose;
/// `false` when they are used up.
pub async fn take_code_attempt(
    db: &AnyPool,
    user_id: &UserId,
    purpose: CodePurpose,
    max: i64,
) -> sqlx::Result<bool> {
    let column = purpose.column();
    sqlx::query(&format!(
        "UPDATE users SET {column} = {column} + 1 WHERE id = $1 AND {column} < $2"
    ))
    .bind(user_id)
    .bind(max)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Gives back a check that could not be made (the provider did not answer).
pub async fn return_code_attempt(
    db: &AnyPool,
    user_id: &UserId,
    purpose: CodePurpose,
) -> sqlx::Result<()> {
    let column = purpose.column();
    sqlx::query(&format!(
        "UPDATE users SET {column} = {column} - 1 WHERE id = $1 AND {column} > 0"
    ))
    .bind(user_id)
    .execute(db)
    .await
    .map(|_| ())
}

/// A new code of this purpose was sent to the user's phone: its checks start from zero.
pub async fn reset_code_attempts(
    db: &AnyPool,
    user_id: &UserId,
    purpose: CodePurpose,
) -> sqlx::Result<()> {
    let column = purpose.column();
    sqlx::query(&format!("UPDATE users SET {column} = 0 WHERE id = $1"))
        .bind(user_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Records activity on a session.
pub async fn touch_session(db: &AnyPool, session_id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(session_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Ends a session.
pub async fn delete_session(db: &AnyPool, session_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Removes sessions idle since before `before`.
pub async fn delete_sessions_idle_since(db: &AnyPool, before: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::server::db::{connect, migrate};

    /// A migrated SQLite file (kept while the directory lives).
    pub(in crate::server::db) async fn migrated() -> (tempfile::TempDir, AnyPool) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        let db = connect(&url).await.expect("open SQLite");
        migrate(&db).await.expect("migrations");
        (dir, db)
    }

    /// A new account with phone `phone` (`+1` and ten digits) asked for, not verified.
    pub(in crate::server::db) async fn insert_user(
        db: &AnyPool,
        email: &str,
        phone: &str,
        provider: ProviderKind,
    ) -> UserId {
        let id = UserId::random();
        let email = Email::parse(email).expect("an address");
        let national = phone.trim_start_matches("+1");
        insert(
            db,
            &NewUser {
                id: &id,
                email: &email,
                password_hash: "not a hash",
                phone_e164: phone,
                country_code: "1",
                national_number: national,
                verify_via: "sms",
                provider,
                verification_sid: None,
            },
            1_000,
        )
        .await
        .expect("user");
        id
    }

    /// A row becomes the domain's user once: its phone's three columns one phone (the one
    /// asked for while unverified), its provider and that provider's ids one account.
    #[tokio::test]
    async fn a_stored_user_reads_as_one_phone_and_one_provider_account() {
        let (_dir, db) = migrated().await;
        let authy = insert_user(&db, "a@example.com", "+12015550123", ProviderKind::Authy).await;
        let verify = insert_user(&db, "v@example.com", "+12015550124", ProviderKind::Verify).await;

        let user = by_id(&db, authy.as_str())
            .await
            .expect("read")
            .expect("the user");
        assert_eq!(
            user.phone,
            AccountPhone {
                e164: "+12015550123".into(),
                country_code: "1".into(),
                national: "2015550123".into(),
            }
        );
        assert_eq!(user.provider, ProviderAccount::Authy { authy_id: None });
        assert!(!user.is_verified());
        mark_verified(&db, &authy, ProviderKind::Authy, Some(AuthyId(42)), 2_000)
            .await
            .expect("verified");
        let user = by_email(&db, &user.email)
            .await
            .expect("read")
            .expect("the user");
        assert_eq!(user.authy_id(), Some(AuthyId(42)));
        assert_eq!(user.provider_kind(), ProviderKind::Authy);
        assert!(user.is_verified());

        let verification = VerificationSid::random();
        let factor = FactorSid::random();
        set_verification_sid(&db, &verify, Some(&verification))
            .await
            .expect("stored");
        set_push_factor(&db, &verify, Some(&factor))
            .await
            .expect("stored");
        let user = by_id(&db, verify.as_str())
            .await
            .expect("read")
            .expect("the user");
        assert_eq!(
            user.provider,
            ProviderAccount::Verify {
                verification_sid: Some(verification.clone()),
                push_factor_sid: Some(factor.clone()),
            }
        );
        assert_eq!(user.verification_sid(), Some(&verification));
        assert_eq!(user.push_factor(), Some(&factor));
        assert_eq!(user.authy_id(), None);
        assert!(
            !user.is_verified(),
            "not verified before its code is checked"
        );
        mark_verified(&db, &verify, ProviderKind::Verify, None, 2_000)
            .await
            .expect("verified");
        let user = by_id(&db, verify.as_str())
            .await
            .expect("read")
            .expect("the user");
        assert!(user.is_verified(), "Verify has no registration of its own");
        assert_eq!(user.phone_verified_at, Some(2_000));
    }
}
