//! The audit trail.

use sqlx::{Any, AnyPool, Executor};

use crate::model::{AuditKind, AuditOutcome, PaymentId, UserId};

/// One security-relevant event.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub user_id: Option<&'a UserId>,
    pub payment_id: Option<&'a PaymentId>,
    pub ip: Option<String>,
    pub event: AuditKind,
    pub outcome: AuditOutcome,
    pub detail: String,
}

/// An id that sorts in the order events were recorded: microseconds since the epoch, one
/// more than the last id's when this process made that one in the same microsecond (a
/// callback's row and its decision's are made one after the other), then randomness, which
/// orders only the ids of different processes.
pub(super) fn ordered_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    let micros = now.max(previous.saturating_add(1));
    format!("{micros:020}-{}", uuid::Uuid::new_v4().simple())
}

/// Appends an event to the audit trail (on the pool, or inside a caller's transaction).
pub async fn insert_event<'c, E>(db: E, e: &AuditEvent<'_>, now: i64) -> sqlx::Result<()>
where
    E: Executor<'c, Database = Any>,
{
    insert_rows(db, std::iter::once((e, now)), None).await
}

/// Appends events to the audit trail in one statement, in the order given, each at its
/// own time (a group of callbacks' rows, inside its transaction).
pub async fn insert_events<'c, E>(db: E, events: &[(AuditEvent<'_>, i64)]) -> sqlx::Result<()>
where
    E: Executor<'c, Database = Any>,
{
    insert_rows(db, events.iter().map(|(e, at)| (e, *at)), None).await
}

/// [`insert_events`], then the statement `then` in the same query (SQLite runs both in
/// one round trip to its worker thread; PostgreSQL takes one statement per query); with
/// no events, `then` alone.
pub async fn insert_events_then<'c, E>(
    db: E,
    events: &[(AuditEvent<'_>, i64)],
    then: &str,
) -> sqlx::Result<()>
where
    E: Executor<'c, Database = Any>,
{
    insert_rows(db, events.iter().map(|(e, at)| (e, *at)), Some(then)).await
}

/// One INSERT of `rows`, followed by the statement `then` in the same query when there is
/// one (no rows: `then` alone, or nothing is sent).
async fn insert_rows<'e, 'a: 'e, 'c, E, I>(db: E, rows: I, then: Option<&str>) -> sqlx::Result<()>
where
    E: Executor<'c, Database = Any>,
    I: ExactSizeIterator<Item = (&'e AuditEvent<'a>, i64)>,
{
    if rows.len() == 0 {
        if let Some(then) = then {
            db.execute(then).await?;
        }
        return Ok(());
    }
    let then = then.map(|then| format!("; {then}")).unwrap_or_default();
    let sql = format!(
        "INSERT INTO audit_events (id, at, user_id, payment_id, ip, event, outcome, detail) \
         VALUES {}{then}",
        super::values_rows(rows.len(), 8)
    );
    let mut query = sqlx::query(&sql);
    for (e, at) in rows {
        query = query
            .bind(ordered_id())
            .bind(at)
            .bind(e.user_id)
            .bind(e.payment_id)
            .bind(e.ip.as_deref())
            .bind(e.event.as_str())
            .bind(e.outcome.as_str())
            .bind(&e.detail);
    }
    query.execute(db).await.map(|_| ())
}

/// A payment's events, oldest first: (time, event, outcome, detail).
pub async fn payment_events(
    db: &AnyPool,
    payment_id: &PaymentId,
) -> sqlx::Result<Vec<(i64, String, AuditOutcome, String)>> {
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT at, event, outcome, detail FROM audit_events WHERE payment_id = $1 \
         ORDER BY at, id",
    )
    .bind(payment_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, event, outcome, detail)| (at, event, AuditOutcome::from(outcome), detail))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::ordered_id;

    #[test]
    fn ids_made_one_after_the_other_sort_in_that_order() {
        let ids: Vec<String> = (0..10_000).map(|_| ordered_id()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
        }
    }
}
