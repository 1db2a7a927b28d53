//! Payments and accepted callback nonces.
//!
//! Every status change is one conditional UPDATE (`... AND status = 'pending'`), so two
//! concurrent decisions cannot both win. A pending payment past its expiry reads as
//! `expired` in the same query that reads it, and a sweeper stores that.
//!
//! Statements about the undecided payments as a set (the sweeper, the reconciler, a user's
//! count) also say `decided_at IS NULL`, the condition of the partial indexes that hold
//! them; a statement about one payment never does, so it is always planned as a lookup of
//! its key (migrations/0015_undecided_indexes.sql).

use sqlx::{Any, AnyPool, Executor};

use crate::shared::sid::VerificationSid;

use super::audit::{insert_events, AuditEvent};
use crate::model::{
    AuditKind, AuditOutcome, Currency, DecidedVia, Money, Payee, PaymentId, PaymentStatus, UserId,
};
use crate::server::entities::{ListedPayment, Payment, PolledPayment};

/// A payment's row, converted into a [`Payment`] as it is read.
#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: PaymentId,
    user_id: UserId,
    payee: Payee,
    amount_cents: i64,
    currency: Currency,
    status: PaymentStatus,
    approval_uuid: Option<String>,
    failure_reason: Option<String>,
    decided_via: Option<DecidedVia>,
    sms_sent_at: Option<i64>,
    sms_failed_attempts: i64,
    expires_at: i64,
    created_at: i64,
    decided_at: Option<i64>,
    push_requests: i64,
}

impl From<PaymentRow> for Payment {
    fn from(row: PaymentRow) -> Payment {
        Payment {
            id: row.id,
            user_id: row.user_id,
            payee: row.payee,
            amount: Money {
                minor_units: row.amount_cents,
                currency: row.currency,
            },
            status: row.status,
            approval_uuid: row.approval_uuid,
            failure_reason: row.failure_reason,
            decided_via: row.decided_via,
            decided_at: row.decided_at,
            sms_sent_at: row.sms_sent_at,
            sms_failed_attempts: row.sms_failed_attempts,
            expires_at: row.expires_at,
            created_at: row.created_at,
            push_requests: row.push_requests,
        }
    }
}

fn payments(rows: Vec<PaymentRow>) -> Vec<Payment> {
    rows.into_iter().map(Payment::from).collect()
}

/// A payment's status as of `$1` ("now"): a pending payment past its expiry reads as
/// `expired` (a macro, so that both column lists below are one string each).
macro_rules! status_now {
    () => {
        "CASE WHEN status = 'pending' AND expires_at < $1 THEN 'expired' ELSE status END AS status"
    };
}

/// Columns of [`PaymentRow`]; `$1` must be "now" so that expiry is evaluated on read.
const COLUMNS: &str = concat!(
    "id, user_id, payee, amount_cents, currency, ",
    status_now!(),
    ", approval_uuid, failure_reason, decided_via, sms_sent_at, sms_failed_attempts, expires_at, created_at, \
    CASE WHEN status = 'pending' AND expires_at < $1 THEN expires_at ELSE decided_at END AS decided_at, \
    push_requests"
);

/// A payment as a row of the list reads it; converted into a [`ListedPayment`].
#[derive(sqlx::FromRow)]
struct ListedPaymentRow {
    id: PaymentId,
    payee: Payee,
    amount_cents: i64,
    currency: Currency,
    status: PaymentStatus,
    created_at: i64,
}

/// Columns of [`ListedPaymentRow`]; `$1` must be "now", as for [`COLUMNS`].
const LISTED_COLUMNS: &str = concat!(
    "id, payee, amount_cents, currency, ",
    status_now!(),
    ", created_at"
);

impl From<ListedPaymentRow> for ListedPayment {
    fn from(row: ListedPaymentRow) -> ListedPayment {
        ListedPayment {
            id: row.id,
            payee: row.payee,
            amount: Money {
                minor_units: row.amount_cents,
                currency: row.currency,
            },
            status: row.status,
            created_at: row.created_at,
        }
    }
}

/// A payment to create.
#[derive(Debug)]
pub struct NewPayment<'a> {
    pub id: &'a PaymentId,
    pub user_id: &'a UserId,
    pub idempotency_key: &'a str,
    pub payee: &'a Payee,
    pub amount_cents: i64,
    pub currency: Currency,
    pub expires_at: i64,
}

/// Creates a pending payment unless this user already sent one with the same idempotency
/// key; either way returns the id of the payment for that key and whether it is new (the
/// tests seed with it).
#[cfg(any(test, feature = "testing"))]
pub async fn insert_once(
    db: &AnyPool,
    p: &NewPayment<'_>,
    now: i64,
) -> sqlx::Result<(PaymentId, bool)> {
    if insert_pending(db, p, now).await? {
        return Ok((p.id.clone(), true));
    }
    let id = by_idempotency_key(db, p.user_id, p.idempotency_key)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok((id, false))
}

/// Inserts `p` as a pending payment; `false` when this user's idempotency key is taken.
async fn insert_pending<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    p: &NewPayment<'_>,
    now: i64,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO payments (id, user_id, idempotency_key, payee, amount_cents, currency, status, \
         sms_failed_attempts, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8) \
         ON CONFLICT (user_id, idempotency_key) DO NOTHING",
    )
    .bind(p.id)
    .bind(p.user_id)
    .bind(p.idempotency_key)
    .bind(p.payee)
    .bind(p.amount_cents)
    .bind(p.currency.code())
    .bind(p.expires_at)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The payment this user already sent with this idempotency key, if any.
async fn by_idempotency_key<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    user_id: &UserId,
    key: &str,
) -> sqlx::Result<Option<PaymentId>> {
    sqlx::query_scalar("SELECT id FROM payments WHERE user_id = $1 AND idempotency_key = $2")
        .bind(user_id)
        .bind(key)
        .fetch_optional(db)
        .await
}

/// The limits a new payment (or a push resend) must fit in.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    /// Payments waiting for approval at once, per user.
    pub max_pending: i64,
    /// Push requests per user since `hour_start`.
    pub hourly: i64,
    pub hour_start: i64,
}

/// What became of a new payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewPaymentOutcome {
    /// Created now; its push request is counted.
    Created(PaymentId),
    /// A payment already made with this idempotency key.
    Existing(PaymentId),
    /// The user has `max_pending` payments waiting already.
    TooManyPending,
    /// The user's push requests for the hour are spent: the oldest was sent at this time.
    PushBudgetSpent { oldest: i64 },
}

/// Inserts a new pending payment and counts its push request, if the user has fewer than
/// `max_pending` waiting and push requests left this hour. One transaction that first
/// updates the user's gate, so a user's concurrent sends are checked one after the other.
pub async fn insert_within_limits(
    db: &AnyPool,
    p: &NewPayment<'_>,
    limits: PushLimits,
    now: i64,
) -> sqlx::Result<NewPaymentOutcome> {
    let mut tx = db.begin().await?;
    take_push_gate(&mut tx, p.user_id).await?;
    if let Some(id) = by_idempotency_key(&mut *tx, p.user_id, p.idempotency_key).await? {
        tx.rollback().await?;
        return Ok(NewPaymentOutcome::Existing(id));
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments WHERE user_id = $1 AND status = 'pending' \
         AND decided_at IS NULL AND expires_at >= $2",
    )
    .bind(p.user_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if pending >= limits.max_pending {
        tx.rollback().await?;
        return Ok(NewPaymentOutcome::TooManyPending);
    }
    if let Err(oldest) = count_push_send(&mut tx, p.user_id, limits, now).await? {
        tx.rollback().await?;
        return Ok(NewPaymentOutcome::PushBudgetSpent { oldest });
    }
    // The key was checked above, under the user's gate: the insert cannot conflict.
    insert_pending(&mut *tx, p, now).await?;
    tx.commit().await?;
    Ok(NewPaymentOutcome::Created(p.id.clone()))
}

/// What became of a push resend's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendClaim {
    /// Claimed and counted: the payment's push requests so far, this one included.
    Claimed(i64),
    /// The payment is decided or expired, or has had `max` push requests.
    NotClaimable,
    /// The user's push requests for the hour are spent: the oldest was sent at this time.
    BudgetSpent { oldest: i64 },
}

/// Claims one more push request for a pending payment (at most `max` in all) and counts it
/// in the user's hourly budget, in one transaction behind the user's gate: either both
/// happen or neither.
pub async fn claim_push_resend(
    db: &AnyPool,
    id: &PaymentId,
    user_id: &UserId,
    limits: PushLimits,
    max: i64,
    now: i64,
) -> sqlx::Result<ResendClaim> {
    let mut tx = db.begin().await?;
    take_push_gate(&mut tx, user_id).await?;
    let Some(count) = claim_push_request(&mut *tx, id, now, max).await? else {
        tx.rollback().await?;
        return Ok(ResendClaim::NotClaimable);
    };
    if let Err(oldest) = count_push_send(&mut tx, user_id, limits, now).await? {
        tx.rollback().await?;
        return Ok(ResendClaim::BudgetSpent { oldest });
    }
    tx.commit().await?;
    Ok(ResendClaim::Claimed(count))
}

/// Forgets push requests sent before `before` (outside the hourly window).
pub async fn forget_push_sends_before(db: &AnyPool, before: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM push_sends WHERE at < $1")
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

async fn take_push_gate(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &UserId,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET push_gate = push_gate + 1 WHERE id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Records a push request if the user's hourly budget has room, or `Err(oldest)` with the
/// time of the oldest request in the window.
async fn count_push_send(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &UserId,
    limits: PushLimits,
    now: i64,
) -> sqlx::Result<Result<(), i64>> {
    let (sent, oldest): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(at) FROM push_sends WHERE user_id = $1 AND at >= $2")
            .bind(user_id)
            .bind(limits.hour_start)
            .fetch_one(&mut **tx)
            .await?;
    if sent >= limits.hourly {
        return Ok(Err(oldest.unwrap_or(now)));
    }
    sqlx::query("INSERT INTO push_sends (id, user_id, at) VALUES ($1, $2, $3)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(Ok(()))
}

/// Whether one of the user's payments was denied at or after `since` (a session's sign-in;
/// times are whole seconds, so a denial in the sign-in's own second counts).
pub async fn denied_after(db: &AnyPool, user_id: &UserId, since: i64) -> sqlx::Result<bool> {
    let denied: Option<i64> = sqlx::query_scalar(
        "SELECT decided_at FROM payments WHERE user_id = $1 AND status = 'denied' \
         AND decided_at >= $2 LIMIT 1",
    )
    .bind(user_id)
    .bind(since)
    .fetch_optional(db)
    .await?;
    Ok(denied.is_some())
}

/// Stores the provider's approval request uuid for a payment.
pub async fn set_approval_uuid(db: &AnyPool, id: &PaymentId, uuid: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE payments SET approval_uuid = $1 WHERE id = $2")
        .bind(uuid)
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Stores the Verify verification the payment's SMS code belongs to.
pub async fn set_verification_sid(
    db: &AnyPool,
    id: &PaymentId,
    sid: &VerificationSid,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE payments SET verification_sid = $1 WHERE id = $2")
        .bind(sid)
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// The Verify verification of the payment's SMS code, if one was started.
pub async fn verification_sid(
    db: &AnyPool,
    id: &PaymentId,
) -> sqlx::Result<Option<VerificationSid>> {
    sqlx::query_scalar("SELECT verification_sid FROM payments WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// A user's own payment; `None` for another user's payment or an unknown id alike.
pub async fn owned(
    db: &AnyPool,
    user_id: &UserId,
    id: &PaymentId,
    now: i64,
) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as::<_, PaymentRow>(&format!(
        "SELECT {COLUMNS} FROM payments WHERE id = $2 AND user_id = $3"
    ))
    .bind(now)
    .bind(id)
    .bind(user_id)
    .fetch_optional(db)
    .await
    .map(|row| row.map(Payment::from))
}

/// A polled payment's row: the payment's and its session's times.
#[derive(sqlx::FromRow)]
struct PolledRow {
    #[sqlx(flatten)]
    payment: PaymentRow,
    session_created_at: i64,
    session_last_seen_at: i64,
}

/// The status poll's one read: payment `id` if it belongs to the verified user of session
/// `session_id`, with that session's times. `None` says only that something is missing
/// (the caller finds out what).
pub async fn polled<'e>(
    db: impl Executor<'e, Database = Any>,
    session_id: &str,
    id: &PaymentId,
    now: i64,
) -> sqlx::Result<Option<PolledPayment>> {
    sqlx::query_as::<_, PolledRow>(&format!(
        "SELECT {COLUMNS}, session_created_at, session_last_seen_at FROM \
         (SELECT p.*, s.created_at AS session_created_at, s.last_seen_at AS session_last_seen_at \
          FROM payments p JOIN sessions s ON s.user_id = p.user_id \
          JOIN users u ON u.id = p.user_id \
          WHERE p.id = $2 AND s.id = $3 \
          AND u.phone_verified_at IS NOT NULL AND (u.authy_id IS NOT NULL OR u.provider = 'verify')) polled"
    ))
    .bind(now)
    .bind(id)
    .bind(session_id)
    .fetch_optional(db)
    .await
    .map(|row| {
        row.map(|row| PolledPayment {
            payment: row.payment.into(),
            session_created_at: row.session_created_at,
            session_last_seen_at: row.session_last_seen_at,
        })
    })
}

/// Where a page of a user's payments starts: after or before one payment's position
/// (`created_at`, `id`) in the newest-first list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position<'a> {
    /// The newest payments.
    Newest,
    /// Payments older than this one.
    Before(i64, &'a PaymentId),
    /// Payments newer than this one.
    After(i64, &'a PaymentId),
}

/// Up to `limit` of a user's payments from `position`, newest first: one index range scan
/// on (user_id, created_at, id), however many payments there are. `waiting_only` keeps
/// those still waiting for an answer (pending and not past their expiry).
pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: &UserId,
    position: Position<'_>,
    waiting_only: bool,
    limit: i64,
    now: i64,
) -> sqlx::Result<Vec<ListedPayment>> {
    let waiting = if waiting_only {
        "AND status = 'pending' AND expires_at >= $1"
    } else {
        ""
    };
    let (condition, order) = match position {
        Position::Newest => ("", "DESC"),
        Position::Before(..) => (
            "AND (created_at < $4 OR (created_at = $4 AND id < $5))",
            "DESC",
        ),
        Position::After(..) => (
            "AND (created_at > $4 OR (created_at = $4 AND id > $5))",
            "ASC",
        ),
    };
    let sql = format!(
        "SELECT {LISTED_COLUMNS} FROM payments WHERE user_id = $2 {waiting} {condition} \
         ORDER BY created_at {order}, id {order} LIMIT $3"
    );
    let query = sqlx::query_as(&sql).bind(now).bind(user_id).bind(limit);
    let mut rows: Vec<ListedPaymentRow> = match position {
        Position::Newest => query.fetch_all(db).await?,
        Position::Before(at, id) | Position::After(at, id) => {
            query.bind(at).bind(id).fetch_all(db).await?
        }
    };
    if matches!(position, Position::After(..)) {
        rows.reverse();
    }
    Ok(rows.into_iter().map(ListedPayment::from).collect())
}

/// Claims up to `limit` pending, unexpired payments with a push request made before
/// `created_before` that nobody claimed since `now`, until `claimed_until`: the caller asks
/// the provider about them. The claim is in the UPDATE's own condition, so of several
/// instances claiming at once each payment goes to one (PostgreSQL re-checks the condition
/// on a row another transaction just claimed; SQLite runs one writer at a time).
pub async fn claim_for_reconcile(
    db: &AnyPool,
    created_before: i64,
    limit: i64,
    now: i64,
    claimed_until: i64,
) -> sqlx::Result<Vec<Payment>> {
    const DUE: &str = "status = 'pending' AND decided_at IS NULL AND expires_at >= $1 \
        AND approval_uuid IS NOT NULL \
        AND created_at < $2 AND reconcile_after <= $1";
    sqlx::query_as::<_, PaymentRow>(&format!(
        "UPDATE payments SET reconcile_after = $4 WHERE {DUE} AND id IN \
         (SELECT id FROM payments WHERE {DUE} ORDER BY created_at LIMIT $3) \
         RETURNING {COLUMNS}"
    ))
    .bind(now)
    .bind(created_before)
    .bind(limit)
    .bind(claimed_until)
    .fetch_all(db)
    .await
    .map(payments)
}

/// The one conditional UPDATE that decides a pending, unexpired payment (`approved`,
/// `denied` or `cancelled`, via `sms`, `passkey` or `owner`; push callbacks decide theirs
/// many at once, [`record_push_callbacks`]): its id and owner, or `None` when it was not
/// pending any more (the caller reads what it is now).
pub async fn decide<'c, E>(
    db: E,
    id: &PaymentId,
    status: PaymentStatus,
    via: DecidedVia,
    now: i64,
) -> sqlx::Result<Option<(PaymentId, UserId)>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query_as(
        "UPDATE payments SET status = $1, decided_via = $2, decided_at = $3 \
         WHERE id = $4 AND status = 'pending' AND expires_at >= $3 \
         RETURNING id, user_id",
    )
    .bind(status.as_str())
    .bind(via.as_str())
    .bind(now)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Fails a pending payment with a reason; `failed` is the status the transition rule
/// gives (`payments::status_after`).
pub async fn fail(
    db: &AnyPool,
    id: &PaymentId,
    failed: PaymentStatus,
    reason: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE payments SET status = $4, failure_reason = $1, decided_at = $2 \
         WHERE id = $3 AND status = 'pending'",
    )
    .bind(reason)
    .bind(now)
    .bind(id)
    .bind(failed.as_str())
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Takes the right to send an SMS code for a pending, unexpired payment at `now`: only if
/// none was sent since `now - cooldown`, in one conditional update, so two requests at once
/// send one code. `false` when the cooldown (or the payment) says no.
pub async fn claim_sms_send(
    db: &AnyPool,
    id: &PaymentId,
    now: i64,
    cooldown: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE payments SET sms_sent_at = $1 WHERE id = $2 AND status = 'pending' \
         AND expires_at >= $1 AND (sms_sent_at IS NULL OR sms_sent_at <= $3)",
    )
    .bind(now)
    .bind(id)
    .bind(now - cooldown)
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Gives back a claim from [`claim_sms_send`] whose code was not sent: the send time goes
/// back to `previous`, unless another send claimed it since.
pub async fn release_sms_send(
    db: &AnyPool,
    id: &PaymentId,
    claimed: i64,
    previous: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE payments SET sms_sent_at = $1 WHERE id = $2 AND sms_sent_at = $3")
        .bind(previous)
        .bind(id)
        .bind(claimed)
        .execute(db)
        .await
        .map(|_| ())
}

/// Counts one more push request for a pending, unexpired payment that has had fewer than
/// `max`; returns the new count, or `None` when the payment or the limit says no.
async fn claim_push_request<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    id: &PaymentId,
    now: i64,
    max: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE payments SET push_requests = push_requests + 1 \
         WHERE id = $1 AND status = 'pending' AND expires_at >= $2 AND push_requests < $3 \
         RETURNING push_requests",
    )
    .bind(id)
    .bind(now)
    .bind(max)
    .fetch_optional(db)
    .await
}

/// Takes one of the payment's `max` SMS code attempts before the code is checked, so that
/// guesses sent at once are counted before any of them reaches the provider; returns the
/// attempts taken so far, this one included (`None`: no longer pending, or none left).
pub async fn reserve_code_attempt(
    db: &AnyPool,
    id: &PaymentId,
    max: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE payments SET sms_failed_attempts = sms_failed_attempts + 1 \
         WHERE id = $1 AND status = 'pending' AND sms_failed_attempts < $2 \
         RETURNING sms_failed_attempts",
    )
    .bind(id)
    .bind(max)
    .fetch_optional(db)
    .await
}

/// Counts a wrong SMS code among the checks taken; returns the wrong ones so far (`None`
/// when the payment is no longer pending).
pub async fn count_wrong_code(db: &AnyPool, id: &PaymentId) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE payments SET sms_wrong_codes = sms_wrong_codes + 1 \
         WHERE id = $1 AND status = 'pending' RETURNING sms_wrong_codes",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Gives back an attempt taken by `reserve_code_attempt` whose code the provider could not
/// check (it did not answer): the person loses no try to an outage.
pub async fn give_back_code_attempt(db: &AnyPool, id: &PaymentId) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE payments SET sms_failed_attempts = sms_failed_attempts - 1 \
         WHERE id = $1 AND sms_failed_attempts > 0",
    )
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

/// Stores the expiry of every pending payment past its time; returns their ids and owners.
pub async fn expire_due(
    db: &AnyPool,
    expired: PaymentStatus,
    now: i64,
) -> sqlx::Result<Vec<(PaymentId, UserId)>> {
    sqlx::query_as(
        "UPDATE payments SET status = $2, decided_at = expires_at \
         WHERE status = 'pending' AND decided_at IS NULL AND expires_at < $1 \
         RETURNING id, user_id",
    )
    .bind(now)
    .bind(expired.as_str())
    .fetch_all(db)
    .await
}

/// What became of a signed push callback.
#[derive(Debug)]
pub enum PushOutcome {
    /// This nonce and signature were accepted before: nothing was done.
    Replay,
    /// No payment has this approval request.
    Unknown,
    /// The payment was pending (and not past its expiry): decided now.
    Decided(PaymentId, UserId),
    /// The payment was decided before (or has expired): as it is now.
    AlreadyDecided(Box<Payment>),
}

/// A signed push callback to record: its nonce and signature, the approval request it
/// answers, the status that makes of a pending payment, and the audit detail.
#[derive(Debug, Clone)]
pub struct PushCallback {
    pub nonce: String,
    pub signature: String,
    pub approval_uuid: String,
    pub status: PaymentStatus,
    pub detail: String,
    pub now: i64,
}

/// Records a signed push callback in one transaction: its nonce (refusing a replay), the
/// decision of the pending payment whose request `approval_uuid` names (the conditional
/// UPDATE says which payment and whose), and its audit rows: the callback accepted (with
/// `detail`) for a known payment, and the decision when it made one. Nothing is kept
/// unless all of it is.
pub async fn record_push_callback(
    db: &AnyPool,
    callback: &PushCallback,
) -> sqlx::Result<PushOutcome> {
    let mut conn = db.acquire().await?;
    let mut outcomes = record_push_callbacks(&mut conn, std::slice::from_ref(callback)).await?;
    outcomes
        .pop()
        .ok_or_else(|| sqlx::Error::Protocol("a callback recorded with no outcome".into()))
}

/// Records several callbacks in one transaction (group commit): each as
/// [`record_push_callback`] would, in order, so a later one sees what an earlier one did
/// (the same nonce twice is a replay, a second answer finds the payment decided). Either
/// all of them are kept or, on any error, none. The nonces go in with one statement, the
/// decisions with another and the audit rows with a third.
///
/// On SQLite each statement is a round trip to the connection's worker thread, and those
/// round trips, not the work, were most of what a group's transaction waited on (each
/// waits for a core the request handlers are using): there the transaction begins in the
/// nonces' statement and commits in the audit rows' (three round trips instead of five).
pub async fn record_push_callbacks(
    conn: &mut sqlx::AnyConnection,
    callbacks: &[PushCallback],
) -> sqlx::Result<Vec<PushOutcome>> {
    if callbacks.is_empty() {
        return Ok(Vec::new());
    }
    if conn.backend_name() == "SQLite" {
        let recorded = record_in_sqlite_transaction(conn, callbacks).await;
        if recorded.is_err() {
            // Whatever failed, nothing of it is kept (an error from no transaction open,
            // when BEGIN itself failed, says nothing new).
            let _ = sqlx::Executor::execute(&mut *conn, "ROLLBACK").await;
        }
        return recorded;
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    let new = remember_nonces(&mut *tx, callbacks, "").await?;
    let outcomes = decide_pushes(&mut tx, callbacks, &new).await?;
    insert_events(&mut *tx, &callback_events(callbacks, &outcomes)).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// [`record_push_callbacks`]' statements on SQLite, BEGIN with the first and COMMIT with
/// the last; on an error the transaction is left to the caller to roll back.
async fn record_in_sqlite_transaction(
    conn: &mut sqlx::AnyConnection,
    callbacks: &[PushCallback],
) -> sqlx::Result<Vec<PushOutcome>> {
    let new = remember_nonces(&mut *conn, callbacks, "BEGIN IMMEDIATE; ").await?;
    let outcomes = decide_pushes(conn, callbacks, &new).await?;
    super::audit::insert_events_then(&mut *conn, &callback_events(callbacks, &outcomes), "COMMIT")
        .await?;
    Ok(outcomes)
}

/// The audit rows of a group's callbacks: for each that found its payment, the callback
/// accepted, and the decision when it made one.
fn callback_events<'a>(
    callbacks: &'a [PushCallback],
    outcomes: &'a [PushOutcome],
) -> Vec<(AuditEvent<'a>, i64)> {
    let mut events = Vec::with_capacity(callbacks.len() * 2);
    for (callback, outcome) in callbacks.iter().zip(outcomes) {
        let (payment, user) = match outcome {
            PushOutcome::Decided(id, user) => (id, user),
            PushOutcome::AlreadyDecided(p) => (&p.id, &p.user_id),
            PushOutcome::Replay | PushOutcome::Unknown => continue,
        };
        let row = |event, outcome, detail: String| AuditEvent {
            user_id: Some(user),
            payment_id: Some(payment),
            ip: None,
            event,
            outcome,
            detail,
        };
        events.push((
            row(
                AuditKind::Callback,
                AuditOutcome::Accepted,
                callback.detail.clone(),
            ),
            callback.now,
        ));
        if matches!(outcome, PushOutcome::Decided(..)) {
            let decision = row(
                AuditKind::Decision,
                AuditOutcome::decided(callback.status),
                "by push".to_string(),
            );
            events.push((decision, callback.now));
        }
    }
    events
}

/// The decisions of a group's callbacks (`new`: whose nonce is new; the others are
/// replays): each pending, unexpired payment that one of their approval requests names is
/// decided by the first of them to name it, with its status and time. A callback that
/// decided nothing (a later one naming the same payment, one naming a payment no longer
/// pending, an unknown request) finds the payment as it is now.
///
/// On SQLite the group's UPDATEs go to its worker thread as one query of several
/// statements (one round trip), each its own lookup on the unique `approval_uuid` index.
/// One UPDATE for the whole group (`id IN (...)`, `approval_uuid IN (...)`, `UPDATE ...
/// FROM (VALUES ...)`) leaves the plan to the table's statistics, and statistics taken
/// while few payments were pending made SQLite scan the table for every group.
/// PostgreSQL takes one statement per query: there each UPDATE is a query of its own.
async fn decide_pushes(
    tx: &mut sqlx::AnyConnection,
    callbacks: &[PushCallback],
    new: &[bool],
) -> sqlx::Result<Vec<PushOutcome>> {
    // The first callback with a new nonce for each approval request decides it.
    let mut deciders: Vec<&PushCallback> = Vec::with_capacity(callbacks.len());
    for (callback, _) in callbacks.iter().zip(new).filter(|(_, new)| **new) {
        if !deciders
            .iter()
            .any(|d| d.approval_uuid == callback.approval_uuid)
        {
            deciders.push(callback);
        }
    }
    let per_query = if tx.backend_name() == "SQLite" {
        deciders.len().max(1)
    } else {
        1
    };
    let mut decided: Vec<(PaymentId, UserId, String)> = Vec::with_capacity(deciders.len());
    for chunk in deciders.chunks(per_query) {
        let sql = decide_each_sql(chunk.len());
        let mut query =
            sqlx::query_as::<_, (PaymentId, UserId, String)>(&sql).bind(DecidedVia::Push.as_str());
        for d in chunk {
            query = query
                .bind(&d.approval_uuid)
                .bind(d.status.as_str())
                .bind(d.now);
        }
        decided.extend(query.fetch_all(&mut *tx).await?);
    }
    let mut outcomes = Vec::with_capacity(callbacks.len());
    for (callback, new) in callbacks.iter().zip(new) {
        if !new {
            // A replay inserts nothing: there is nothing to undo.
            outcomes.push(PushOutcome::Replay);
            continue;
        }
        // Taken out, so a later callback for the same payment finds it decided.
        if let Some(i) = decided
            .iter()
            .position(|(.., uuid)| *uuid == callback.approval_uuid)
        {
            let (id, user, _) = decided.swap_remove(i);
            outcomes.push(PushOutcome::Decided(id, user));
            continue;
        }
        outcomes.push(
            match named_by_request(&mut *tx, &callback.approval_uuid, callback.now).await? {
                Some(p) => PushOutcome::AlreadyDecided(Box::new(p)),
                None => PushOutcome::Unknown,
            },
        );
    }
    Ok(outcomes)
}

/// The payment whose approval request is `approval_uuid`, as it is at `now`.
async fn named_by_request<'c, E>(
    db: E,
    approval_uuid: &str,
    now: i64,
) -> sqlx::Result<Option<Payment>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row: Option<PaymentRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payments WHERE approval_uuid = $2"
    ))
    .bind(now)
    .bind(approval_uuid)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Payment::from))
}

/// Several callbacks on PostgreSQL as one statement (its own transaction, one commit):
/// the nonces, the decisions and the audit rows are data-modifying parts of one query over
/// the callbacks as rows of values. Each callback is recorded as [`record_push_callback`]
/// would: a pair seen before is a replay; a new one decides the pending, unexpired payment
/// its approval request names and writes the callback's and the decision's audit rows, or
/// writes the callback's row for a payment it finds decided (or expired, or decided
/// meanwhile by another transaction), which is then read as it is now, after the commit,
/// over the same connection. All of it is kept or none: an error is the statement's
/// (nothing was kept), an outcome's error that read's (the callback was kept).
///
/// The callbacks must not repeat a nonce and signature or an approval request: within one
/// statement every part sees the table as it was before it, so a second callback for a
/// payment would not find the first's decision ([`one_statement_runs`] splits a group
/// where they do). Each UPDATE looks its payment up by the unique approval request.
pub async fn record_push_callbacks_at_once(
    conn: &mut sqlx::AnyConnection,
    callbacks: &[PushCallback],
) -> sqlx::Result<Vec<sqlx::Result<PushOutcome>>> {
    if callbacks.is_empty() {
        return Ok(Vec::new());
    }
    // Each callback's row: its place, nonce, signature, approval request, the status it
    // gives, its time, audit detail, the ids of its two audit rows and the decision's
    // outcome; then what every row shares.
    const WIDTH: usize = 10;
    let shared = callbacks.len() * WIDTH;
    let (via, callback, accepted, decision, by_push) =
        (shared + 1, shared + 2, shared + 3, shared + 4, shared + 5);
    let sql = format!(
        "WITH c (ord, nonce, signature, uuid, status, received, detail, callback_id, decision_id, \
            decided) AS (VALUES {rows}), \
        nonce AS ( \
            INSERT INTO callback_nonces (nonce, signature, received_at) \
            SELECT nonce, signature, received FROM c \
            ON CONFLICT (nonce, signature) DO NOTHING RETURNING nonce, signature \
        ), fresh AS ( \
            SELECT c.* FROM c JOIN nonce USING (nonce, signature) \
        ), decided AS ( \
            UPDATE payments SET status = fresh.status, decided_via = ${via}, \
                decided_at = fresh.received \
            FROM fresh WHERE payments.approval_uuid = fresh.uuid \
              AND payments.status = 'pending' AND payments.expires_at >= fresh.received \
            RETURNING payments.id, payments.user_id, fresh.ord \
        ), found AS ( \
            SELECT payments.id, payments.user_id, fresh.ord \
            FROM fresh JOIN payments ON payments.approval_uuid = fresh.uuid \
            WHERE fresh.ord NOT IN (SELECT ord FROM decided) \
        ), audit AS ( \
            INSERT INTO audit_events (id, at, user_id, payment_id, ip, event, outcome, detail) \
            SELECT fresh.callback_id, fresh.received, d.user_id, d.id, NULL, ${callback}, \
                ${accepted}, fresh.detail FROM decided d JOIN fresh USING (ord) \
            UNION ALL SELECT fresh.decision_id, fresh.received, d.user_id, d.id, NULL, ${decision}, \
                fresh.decided, ${by_push} FROM decided d JOIN fresh USING (ord) \
            UNION ALL SELECT fresh.callback_id, fresh.received, f.user_id, f.id, NULL, ${callback}, \
                ${accepted}, fresh.detail FROM found f JOIN fresh USING (ord) \
        ) \
        SELECT CAST(CASE WHEN fresh.ord IS NULL THEN 0 ELSE 1 END AS BIGINT), \
            decided.id, decided.user_id, found.id \
        FROM c LEFT JOIN fresh USING (ord) LEFT JOIN decided USING (ord) \
            LEFT JOIN found USING (ord) \
        ORDER BY c.ord",
        rows = super::values_rows(callbacks.len(), WIDTH),
    );
    let mut query =
        sqlx::query_as::<_, (i64, Option<PaymentId>, Option<UserId>, Option<PaymentId>)>(&sql);
    for (ord, c) in (0_i64..).zip(callbacks) {
        query = query
            .bind(ord)
            .bind(&c.nonce)
            .bind(&c.signature)
            .bind(&c.approval_uuid)
            .bind(c.status.as_str())
            .bind(c.now)
            .bind(&c.detail)
            .bind(super::audit::ordered_id())
            .bind(super::audit::ordered_id())
            .bind(AuditOutcome::decided(c.status).as_str().to_owned());
    }
    let rows = query
        .bind(DecidedVia::Push.as_str())
        .bind(AuditKind::Callback.as_str())
        .bind(AuditOutcome::Accepted.as_str())
        .bind(AuditKind::Decision.as_str())
        .bind("by push")
        .fetch_all(&mut *conn)
        .await?;
    if rows.len() != callbacks.len() {
        return Err(sqlx::Error::Protocol(format!(
            "{} callbacks recorded with {} outcomes",
            callbacks.len(),
            rows.len()
        )));
    }
    let mut outcomes = Vec::with_capacity(callbacks.len());
    for (callback, row) in callbacks.iter().zip(rows) {
        outcomes.push(match row {
            (0, ..) => Ok(PushOutcome::Replay),
            (_, Some(id), Some(user), _) => Ok(PushOutcome::Decided(id, user)),
            (_, _, _, Some(_)) => {
                named_by_request(&mut *conn, &callback.approval_uuid, callback.now)
                    .await
                    .map(|found| match found {
                        Some(p) => PushOutcome::AlreadyDecided(Box::new(p)),
                        None => PushOutcome::Unknown,
                    })
            }
            _ => Ok(PushOutcome::Unknown),
        });
    }
    Ok(outcomes)
}

/// Where a group of callbacks splits into runs that [`record_push_callbacks_at_once`] can
/// record, in order: a run ends before the first callback that repeats a nonce and
/// signature of the run, or an approval request of the run.
pub fn one_statement_runs(callbacks: &[PushCallback]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    for (i, c) in callbacks.iter().enumerate() {
        let repeats = callbacks[start..i].iter().any(|earlier| {
            earlier.approval_uuid == c.approval_uuid
                || (earlier.nonce == c.nonce && earlier.signature == c.signature)
        });
        if repeats {
            runs.push(start..i);
            start = i;
        }
    }
    if start < callbacks.len() {
        runs.push(start..callbacks.len());
    }
    runs
}

/// `n` UPDATEs, one per approval request, each deciding the pending, unexpired payment it
/// names: `$1` is how (`push`), then for each request its uuid, the status it gives and
/// its time.
fn decide_each_sql(n: usize) -> String {
    (0..n)
        .map(|r| {
            let (uuid, status, at) = (2 + r * 3, 3 + r * 3, 4 + r * 3);
            format!(
                "UPDATE payments SET status = ${status}, decided_via = $1, decided_at = ${at} \
                 WHERE approval_uuid = ${uuid} AND status = 'pending' AND expires_at >= ${at} \
                 RETURNING id, user_id, approval_uuid"
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Remembers the callbacks' nonces and signatures in one statement: for each callback in
/// order, whether its pair is new (`false` for one seen before, in an earlier transaction
/// or earlier in this group).
async fn remember_nonces<'c, E>(
    db: E,
    callbacks: &[PushCallback],
    before: &str,
) -> sqlx::Result<Vec<bool>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    if callbacks.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{before}INSERT INTO callback_nonces (nonce, signature, received_at) VALUES {} \
         ON CONFLICT (nonce, signature) DO NOTHING RETURNING nonce, signature",
        super::values_rows(callbacks.len(), 3)
    );
    let mut query = sqlx::query_as::<_, (String, String)>(&sql);
    for c in callbacks {
        query = query.bind(&c.nonce).bind(&c.signature).bind(c.now);
    }
    let mut inserted = query.fetch_all(db).await?;
    // Each inserted pair is new for the first callback that carries it only.
    Ok(callbacks
        .iter()
        .map(|c| {
            let found = inserted
                .iter()
                .position(|(nonce, signature)| *nonce == c.nonce && *signature == c.signature);
            found.map(|i| inserted.swap_remove(i)).is_some()
        })
        .collect())
}

/// Remembers an accepted callback nonce + signature; `false` if it was seen before (the
/// tests seed nonces with it; callbacks go through [`record_push_callbacks`]).
#[cfg(any(test, feature = "testing"))]
pub async fn remember_nonce<'c, E>(
    db: E,
    nonce: &str,
    signature: &str,
    now: i64,
) -> sqlx::Result<bool>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let inserted = sqlx::query(
        "INSERT INTO callback_nonces (nonce, signature, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (nonce, signature) DO NOTHING",
    )
    .bind(nonce)
    .bind(signature)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Forgets nonces too old to be accepted anyway.
pub async fn forget_nonces_before(db: &AnyPool, before: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM callback_nonces WHERE received_at < $1")
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::server::config::ProviderKind;
    use crate::server::db::users;

    /// A migrated SQLite file with one user and one pending payment of theirs.
    pub(in crate::server::db) async fn one_pending_payment(
    ) -> (tempfile::TempDir, AnyPool, UserId, PaymentId) {
        let (dir, db) = users::tests::migrated().await;
        let user = users::tests::insert_user(
            &db,
            "status@example.com",
            "+12015550123",
            ProviderKind::Authy,
        )
        .await;
        let id = PaymentId::random();
        let payee = Payee::parse("Neville").expect("a payee");
        let new = NewPayment {
            id: &id,
            user_id: &user,
            idempotency_key: "k",
            payee: &payee,
            amount_cents: 100,
            currency: Currency::parse("USD").expect("a currency"),
            expires_at: 5_000,
        };
        insert_once(&db, &new, 1_000).await.expect("payment");
        (dir, db, user, id)
    }

    /// A callback with this nonce, signature and approval request (the rest is alike).
    fn callback(nonce: &str, signature: &str, approval_uuid: &str) -> PushCallback {
        PushCallback {
            nonce: nonce.to_string(),
            signature: signature.to_string(),
            approval_uuid: approval_uuid.to_string(),
            status: PaymentStatus::Approved,
            detail: String::new(),
            now: 1_000,
        }
    }

    #[test]
    fn a_group_splits_where_a_callback_repeats_its_run() {
        // Nothing repeats: one run.
        let apart = [
            callback("1", "s1", "a"),
            callback("2", "s2", "b"),
            callback("3", "s3", "c"),
        ];
        assert_eq!(one_statement_runs(&apart), vec![0..3]);
        // A second answer to request `a` starts a run; in it a replay of the first
        // callback's pair is no repeat (only the run's own callbacks count), but that pair
        // again is; the same nonce with another signature is no repeat.
        let group = [
            callback("1", "s1", "a"),
            callback("2", "s2", "b"),
            callback("3", "s3", "a"),
            callback("1", "s1", "c"),
            callback("1", "s1", "d"),
            callback("1", "other", "e"),
        ];
        assert_eq!(one_statement_runs(&group), vec![0..2, 2..4, 4..6]);
        // Each run on its own has no repeat.
        for run in one_statement_runs(&group) {
            assert_eq!(one_statement_runs(&group[run.clone()]), vec![0..run.len()]);
        }
        assert!(one_statement_runs(&[]).is_empty());
        let alone = [callback("1", "s1", "a")];
        assert_eq!(one_statement_runs(&alone), vec![0..1]);
    }

    /// Another pending payment of `user`, with approval request `uuid`, expiring at
    /// `expires_at`.
    async fn another_pending(
        db: &AnyPool,
        user: &UserId,
        uuid: &str,
        expires_at: i64,
    ) -> PaymentId {
        let id = PaymentId::random();
        let payee = Payee::parse("Luna").expect("a payee");
        let new = NewPayment {
            id: &id,
            user_id: user,
            idempotency_key: uuid,
            payee: &payee,
            amount_cents: 250,
            currency: Currency::parse("USD").expect("a currency"),
            expires_at,
        };
        insert_once(db, &new, 1_000).await.expect("payment");
        set_approval_uuid(db, &id, uuid).await.expect("request");
        id
    }

    /// One query of UPDATEs decides a group's payments, each with its own callback's
    /// answer and time; a payment past its expiry is not decided (it reads as expired).
    #[tokio::test]
    async fn one_group_decides_each_payment_with_its_own_answer() {
        let (_dir, db, user, first) = one_pending_payment().await;
        set_approval_uuid(&db, &first, "request-1")
            .await
            .expect("request");
        let second = another_pending(&db, &user, "request-2", 5_000).await;
        let lapsed = another_pending(&db, &user, "request-3", 1_050).await;
        let callback = |nonce: &str, uuid: &str, status, now| PushCallback {
            nonce: nonce.into(),
            signature: "sig".into(),
            approval_uuid: uuid.into(),
            status,
            detail: nonce.into(),
            now,
        };
        let group = [
            callback("n1", "request-2", PaymentStatus::Denied, 1_101),
            callback("n2", "request-3", PaymentStatus::Approved, 1_102),
            callback("n3", "request-1", PaymentStatus::Approved, 1_103),
        ];
        let outcomes =
            record_push_callbacks(&mut db.acquire().await.expect("a connection"), &group)
                .await
                .expect("recorded");
        let decided: Vec<Option<&PaymentId>> = outcomes
            .iter()
            .map(|o| match o {
                PushOutcome::Decided(id, owner) => {
                    assert_eq!(owner, &user);
                    Some(id)
                }
                _ => None,
            })
            .collect();
        assert_eq!(decided, [Some(&second), None, Some(&first)]);
        assert!(
            matches!(&outcomes[1], PushOutcome::AlreadyDecided(p) if p.id == lapsed && p.status == PaymentStatus::Expired),
            "{:?}",
            outcomes[1]
        );
        for (id, status, at) in [
            (&first, PaymentStatus::Approved, 1_103),
            (&second, PaymentStatus::Denied, 1_101),
        ] {
            let p = owned(&db, &user, id, 1_200)
                .await
                .expect("read")
                .expect("the payment");
            assert_eq!(
                (p.status, p.decided_via, p.decided_at),
                (status, Some(DecidedVia::Push), Some(at))
            );
        }
    }

    /// Statistics taken while the table was small and no payment was pending make a scan
    /// look cheap; deciding a group must still look each request up by its unique index,
    /// not walk the table (a million payments, in the bench) for each group.
    #[tokio::test]
    async fn a_group_is_decided_by_lookups_whatever_the_statistics_say() {
        let (_dir, db, user, id) = one_pending_payment().await;
        decide(&db, &id, PaymentStatus::Approved, DecidedVia::Push, 1_001)
            .await
            .expect("decided");
        sqlx::query("ANALYZE")
            .execute(&db)
            .await
            .expect("statistics");
        for n in 0..300 {
            another_pending(&db, &user, &format!("request-{n}"), 5_000).await;
        }
        let sql = decide_each_sql(16);
        let statements: Vec<&str> = sql.split("; ").collect();
        assert_eq!(statements.len(), 16);
        for statement in statements {
            let explain = format!("EXPLAIN QUERY PLAN {statement}");
            let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain).bind("push");
            for n in 0..16 {
                query = query
                    .bind(format!("request-{n}"))
                    .bind("approved")
                    .bind(1_100_i64);
            }
            let plan: Vec<String> = query
                .fetch_all(&db)
                .await
                .expect("plan")
                .into_iter()
                .map(|(.., detail)| detail)
                .collect();
            assert_eq!(
                plan,
                ["SEARCH payments USING INDEX sqlite_autoindex_payments_2 (approval_uuid=?)"],
                "{statement}"
            );
        }
    }

    /// One group's callbacks each see what the earlier ones did, as they would one
    /// transaction each: a nonce seen earlier in the group is a replay, a second answer
    /// finds the payment decided, an unknown request decides nothing; the audit rows are
    /// those of each callback in turn.
    #[tokio::test]
    async fn a_group_of_callbacks_sees_its_own_earlier_ones() {
        let (_dir, db, _user, id) = one_pending_payment().await;
        set_approval_uuid(&db, &id, "request-1")
            .await
            .expect("request");
        let callback = |nonce: &str, uuid: &str, status| PushCallback {
            nonce: nonce.into(),
            signature: "sig".into(),
            approval_uuid: uuid.into(),
            status,
            detail: format!("{nonce} {uuid}"),
            now: 1_100,
        };
        let group = [
            callback("n1", "request-1", PaymentStatus::Approved),
            callback("n1", "request-1", PaymentStatus::Approved),
            callback("n2", "request-1", PaymentStatus::Denied),
            callback("n3", "request-2", PaymentStatus::Approved),
        ];
        let outcomes =
            record_push_callbacks(&mut db.acquire().await.expect("a connection"), &group)
                .await
                .expect("recorded");
        let shapes: Vec<String> = outcomes
            .iter()
            .map(|o| match o {
                PushOutcome::Decided(p, _) => format!("decided {}", *p == id),
                PushOutcome::Replay => "replay".into(),
                PushOutcome::AlreadyDecided(p) => format!("already {}", p.status.as_str()),
                PushOutcome::Unknown => "unknown".into(),
            })
            .collect();
        assert_eq!(
            shapes,
            ["decided true", "replay", "already approved", "unknown"]
        );
        let events: Vec<(String, String)> = super::super::audit::payment_events(&db, &id)
            .await
            .expect("events")
            .into_iter()
            .map(|(_, event, outcome, detail)| (format!("{event} {}", outcome.as_str()), detail))
            .collect();
        let expected = [
            ("callback accepted", "n1 request-1"),
            ("decision approved", "by push"),
            ("callback accepted", "n2 request-1"),
        ];
        assert_eq!(
            events,
            expected.map(|(e, d)| (e.to_string(), d.to_string()))
        );
        let nonces: i64 = sqlx::query_scalar("SELECT count(*) FROM callback_nonces")
            .fetch_one(&db)
            .await
            .expect("count");
        assert_eq!(nonces, 3);
        // The same group again is all replays, and changes nothing.
        let again = record_push_callbacks(&mut db.acquire().await.expect("a connection"), &group)
            .await
            .expect("recorded");
        assert!(again.iter().all(|o| matches!(o, PushOutcome::Replay)));
    }

    /// A stored status the code does not know (a row written by a newer version, or by
    /// hand) is an error to the reader, never read as some status it is not.
    #[tokio::test]
    async fn an_unknown_stored_status_is_a_decoding_error() {
        let (_dir, db, user, id) = one_pending_payment().await;
        let read = owned(&db, &user, &id, 1_001).await.expect("readable");
        assert_eq!(read.map(|p| p.status), Some(PaymentStatus::Pending));

        for (column, value) in [("status", "refunded"), ("decided_via", "carrier pigeon")] {
            sqlx::query(&format!("UPDATE payments SET {column} = $1 WHERE id = $2"))
                .bind(value)
                .bind(&id)
                .execute(&db)
                .await
                .expect("stored by hand");
            let read = owned(&db, &user, &id, 1_001).await;
            assert!(
                matches!(read, Err(sqlx::Error::ColumnDecode { ref index, .. }) if index.contains(column)),
                "{column} = {value:?} read as {read:?}"
            );
            sqlx::query(&format!("UPDATE payments SET {column} = $1 WHERE id = $2"))
                .bind(if column == "status" {
                    "approved"
                } else {
                    "push"
                })
                .bind(&id)
                .execute(&db)
                .await
                .expect("put back");
        }
    }
}
