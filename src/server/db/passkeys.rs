//! Passkeys and the one-time challenges between the two steps of a WebAuthn ceremony.

use sqlx::AnyPool;

use crate::model::{Currency, Money, PaymentId, UserId};
use crate::server::entities::{BoundPayment, Passkey, PasskeyChallenge};

/// A passkey's row, converted into a [`Passkey`] as it is read.
#[derive(sqlx::FromRow)]
struct PasskeyRow {
    id: String,
    user_id: UserId,
    credential_id: String,
    name: String,
    credential: String,
    sign_count: i64,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl From<PasskeyRow> for Passkey {
    fn from(row: PasskeyRow) -> Passkey {
        Passkey {
            id: row.id,
            user_id: row.user_id,
            credential_id: row.credential_id,
            name: row.name,
            credential: row.credential,
            sign_count: row.sign_count,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

const PASSKEY_COLUMNS: &str =
    "id, user_id, credential_id, name, credential, sign_count, created_at, last_used_at";

/// Adds a passkey; `Ok(false)` when its credential is already on an account.
pub async fn insert(db: &AnyPool, row: &Passkey) -> sqlx::Result<bool> {
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
pub async fn for_user(db: &AnyPool, user_id: &UserId) -> sqlx::Result<Vec<Passkey>> {
    let rows: Vec<PasskeyRow> = sqlx::query_as(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Passkey::from).collect())
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

/// A challenge's row, converted into a [`PasskeyChallenge`] as it is read: its payment
/// columns are all set (an approval's) or none is.
#[derive(sqlx::FromRow)]
struct ChallengeRow {
    id: String,
    user_id: UserId,
    name: Option<String>,
    payment_id: Option<PaymentId>,
    payee: Option<String>,
    amount_cents: Option<i64>,
    currency: Option<Currency>,
    state: String,
    created_at: i64,
    expires_at: i64,
}

impl From<ChallengeRow> for PasskeyChallenge {
    fn from(row: ChallengeRow) -> PasskeyChallenge {
        let payment = match (row.payment_id, row.payee, row.amount_cents, row.currency) {
            (Some(id), Some(payee), Some(minor_units), Some(currency)) => Some(BoundPayment {
                id,
                payee,
                amount: Money {
                    minor_units,
                    currency,
                },
            }),
            _ => None,
        };
        PasskeyChallenge {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            payment,
            state: row.state,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
    }
}

const CHALLENGE_COLUMNS: &str =
    "id, user_id, name, payment_id, payee, amount_cents, currency, state, created_at, expires_at";

/// Stores a new challenge. Only the newest counts: the user's earlier challenges for the
/// same purpose (and payment) go, and so do any of theirs that expired, so a client asking
/// again and again keeps one row.
pub async fn insert_challenge(
    db: &AnyPool,
    purpose: Purpose,
    row: &PasskeyChallenge,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "DELETE FROM passkey_challenges WHERE user_id = $1 AND (expires_at <= $2 \
         OR (purpose = $3 AND COALESCE(payment_id, '') = COALESCE($4, '')))",
    )
    .bind(&row.user_id)
    .bind(row.created_at)
    .bind(purpose.as_str())
    .bind(row.payment.as_ref().map(|p| &p.id))
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
    .bind(row.payment.as_ref().map(|p| &p.id))
    .bind(row.payment.as_ref().map(|p| &p.payee))
    .bind(row.payment.as_ref().map(|p| p.amount.minor_units))
    .bind(row.payment.as_ref().map(|p| p.amount.currency.code()))
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
) -> sqlx::Result<Option<PasskeyChallenge>> {
    sqlx::query_as::<_, ChallengeRow>(&format!(
        "DELETE FROM passkey_challenges WHERE id = $1 AND user_id = $2 AND purpose = $3 \
         RETURNING {CHALLENGE_COLUMNS}"
    ))
    .bind(id)
    .bind(user_id)
    .bind(purpose.as_str())
    .fetch_optional(db)
    .await
    .map(|row| row.map(PasskeyChallenge::from))
}

/// Forgets challenges whose time ran out (nobody finished them); how many.
pub async fn forget_expired_challenges(db: &AnyPool, now: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM passkey_challenges WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::payments::tests::one_pending_payment;

    fn challenge(user_id: &UserId, payment: Option<BoundPayment>) -> PasskeyChallenge {
        PasskeyChallenge {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.clone(),
            name: payment.is_none().then(|| "Work laptop".to_string()),
            payment,
            state: "{}".into(),
            created_at: 1_000,
            expires_at: 1_300,
        }
    }

    /// A challenge's payment columns come back as the one payment it is bound to, with
    /// its payee and amount, or as none for adding a passkey; taken once.
    #[tokio::test]
    async fn a_challenge_comes_back_bound_to_its_payment_or_to_none() {
        let (_dir, db, user, payment) = one_pending_payment().await;
        let bound = BoundPayment {
            id: payment,
            payee: "Neville".into(),
            amount: Money {
                minor_units: 100,
                currency: Currency::parse("USD").expect("a currency"),
            },
        };
        let approve = challenge(&user, Some(bound.clone()));
        let add = challenge(&user, None);
        insert_challenge(&db, Purpose::Approve, &approve)
            .await
            .expect("stored");
        insert_challenge(&db, Purpose::Add, &add)
            .await
            .expect("stored");

        let taken = take_challenge(&db, &user, Purpose::Approve, &approve.id)
            .await
            .expect("read")
            .expect("the approval's challenge");
        assert_eq!(taken.payment, Some(bound));
        assert_eq!(taken.name, None);
        assert_eq!((taken.created_at, taken.expires_at), (1_000, 1_300));
        let again = take_challenge(&db, &user, Purpose::Approve, &approve.id).await;
        assert!(again.expect("read").is_none(), "a challenge is taken once");

        assert!(
            take_challenge(&db, &user, Purpose::Approve, &add.id)
                .await
                .expect("read")
                .is_none(),
            "a challenge answers only its own purpose"
        );
        let taken = take_challenge(&db, &user, Purpose::Add, &add.id)
            .await
            .expect("read")
            .expect("the adding's challenge");
        assert_eq!(taken.payment, None);
        assert_eq!(taken.name.as_deref(), Some("Work laptop"));
    }
}
