//! Leases on background jobs, so that one of several instances runs a job at a time.

use sqlx::AnyPool;

/// Takes the lease on job `name` for `holder` until `until`, if nobody holds it at `now`
/// (or `holder` itself does). One conditional upsert: of several instances asking at once,
/// exactly one gets it.
pub async fn take(
    db: &AnyPool,
    name: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> sqlx::Result<bool> {
    let taken = sqlx::query(
        "INSERT INTO job_leases (name, holder, held_until) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until \
         WHERE job_leases.held_until <= $4 OR job_leases.holder = excluded.holder",
    )
    .bind(name)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(taken == 1)
}
