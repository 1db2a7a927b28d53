//! What a PostgreSQL server does and a SQLite file does not: it drops connections (a
//! restart, an idle timeout, a proxy). These run in the PostgreSQL pass of `make test`
//! (they need `PAYFRIEND_TEST_POSTGRES`); the SQLite pass skips them.

use payfriend::model::{DecidedVia, PaymentStatus};
use payfriend::testing::{clock, db};
use sqlx::Executor;

use crate::support::{
    insert_pending_payment, log_in, postgres_available, spawn_app, verified_user,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_server_dropped_while_idle_are_replaced_before_use() {
    if !postgres_available("the PostgreSQL tests") {
        return;
    }
    let app = spawn_app().await;
    let password = "correct horse battery staple";
    let (_, email) = verified_user(&app, password).await;
    let cookie = log_in(&app, &email, password).await;

    // Every connection of the app's pool, idle now, is ended by the server.
    let admin = db::connect(&app.state.config.database_url)
        .await
        .expect("PostgreSQL answers");
    let ended: Vec<bool> = sqlx::query_scalar(
        // The app's own connections: not an autovacuum worker that may be on the fresh
        // database too (a superuser's, which this role may not end).
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND usename = current_user",
    )
    .fetch_all(&admin)
    .await
    .expect("terminate");
    admin.close().await;
    assert!(
        ended.iter().any(|&e| e),
        "the app held connections: {ended:?}"
    );
    // They have been idle long enough to be tested before their next use.
    tokio::time::sleep(db::PING_AFTER_IDLE).await;

    let mut requests = tokio::task::JoinSet::new();
    for i in 0..6 {
        let request = if i % 2 == 0 {
            app.client.get(app.url("/healthz"))
        } else {
            app.client
                .get(app.url("/payments"))
                .header("Cookie", &cookie)
        };
        requests.spawn(request.send());
    }
    while let Some(answer) = requests.join_next().await {
        let answer = answer.expect("task").expect("answered");
        assert_eq!(answer.status(), 200, "{}", answer.url());
    }
}

/// PostgreSQL sizes a partial index from its last VACUUM: one taken while nothing was
/// pending made a walk of every pending payment look cheaper than the unique key's lookup,
/// and each callback of a burst read all of them (2,700 index entries a callback in the
/// bench). A statement about one payment reads its own index entry, whatever the
/// statistics say: the callback's (by its approval request) and a decision by id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_payment_is_found_by_its_key_whatever_the_statistics_say() {
    if !postgres_available("the PostgreSQL tests") {
        return;
    }
    let app = spawn_app().await;
    let (user_id, _) = verified_user(&app, "correct horse battery staple").await;
    let now = clock::now();
    sqlx::query(
        "INSERT INTO payments (id, user_id, idempotency_key, payee, amount_cents, currency, \
         status, decided_via, decided_at, expires_at, created_at) \
         SELECT 'decided-' || i, $1, 'seed-' || i, 'Seeded payee', 100, 'USD', 'approved', \
         'push', $2 - i, $2 - i + 300, $2 - i - 60 FROM generate_series(1, 2000) AS i",
    )
    .bind(&user_id)
    .bind(now - 3_600)
    .execute(&app.state.db)
    .await
    .expect("decided payments");
    // Statistics and index sizes of a moment when no payment was waiting.
    sqlx::query("VACUUM (ANALYZE) payments")
        .execute(&app.state.db)
        .await
        .expect("vacuum");
    let mut pending = Vec::new();
    for n in 0..300 {
        let uuid = format!("request-{n}");
        pending.push(insert_pending_payment(&app.state, &user_id, 100 + n, &uuid).await);
    }

    // Each statement in a transaction of its own, with the index entries it read counted:
    // the connection's counts not yet reported to the statistics, before and after.
    let mut conn = app.state.db.acquire().await.expect("connection");
    let read = "SELECT CAST(COALESCE(SUM(pg_stat_get_xact_tuples_returned(indexrelid)), 0) \
        AS BIGINT) FROM pg_index WHERE indrelid = 'payments'::regclass";
    let entries_read = async |conn: &mut sqlx::AnyConnection| -> i64 {
        sqlx::query_scalar(read)
            .fetch_one(&mut *conn)
            .await
            .expect("index entries read")
    };

    conn.execute("BEGIN").await.expect("begin");
    let before = entries_read(&mut conn).await;
    let callback = db::payments::PushCallback {
        nonce: "nonce-1".into(),
        signature: "signature-1".into(),
        approval_uuid: "request-150".into(),
        status: PaymentStatus::Approved,
        detail: "approved".into(),
        now: clock::now(),
    };
    let outcome = db::payments::record_push_callback_at_once(&mut conn, &callback)
        .await
        .expect("callback");
    assert!(
        matches!(&outcome, db::payments::PushOutcome::Decided(id, _) if *id == pending[150]),
        "{outcome:?}"
    );
    let entries = entries_read(&mut conn).await - before;
    conn.execute("COMMIT").await.expect("commit");
    assert!(
        entries <= 4,
        "the callback read {entries} index entries of payments to decide one"
    );

    conn.execute("BEGIN").await.expect("begin");
    let before = entries_read(&mut conn).await;
    let decided = db::payments::decide(
        &mut *conn,
        &pending[10],
        PaymentStatus::Denied,
        DecidedVia::Sms,
        clock::now(),
    )
    .await
    .expect("decide");
    assert!(decided.is_some_and(|(id, _)| id == pending[10]));
    let entries = entries_read(&mut conn).await - before;
    conn.execute("COMMIT").await.expect("commit");
    assert!(
        entries <= 2,
        "a decision by id read {entries} index entries of payments"
    );
}
