//! What a PostgreSQL server does and a SQLite file does not: it drops connections (a
//! restart, an idle timeout, a proxy). These run in the PostgreSQL pass of `make test`
//! (they need `PAYFRIEND_TEST_POSTGRES`); the SQLite pass skips them.

use payfriend::model::{DecidedVia, PaymentStatus};
use payfriend::testing::{clock, db};
use sqlx::Executor;

use crate::support::{
    body, insert_pending_payment, log_in, pending_payment, postgres_available, spawn_app,
    status_of, verified_user, Pending,
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
/// statistics say: a group of callbacks' (each by its approval request, not by a scan of
/// the table either) and a decision by id.
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

    // Each statement in a transaction of its own, with the entries it read counted:
    // the connection's counts not yet reported to the statistics, before and after.
    let mut conn = app.state.db.acquire().await.expect("connection");
    // Index entries read, and rows read by scans of the whole table.
    let read = "SELECT CAST(COALESCE(SUM(pg_stat_get_xact_tuples_returned(indexrelid)), 0) \
        + pg_stat_get_xact_tuples_returned('payments'::regclass) AS BIGINT) \
        FROM pg_index WHERE indrelid = 'payments'::regclass";
    let entries_read = async |conn: &mut sqlx::AnyConnection| -> i64 {
        sqlx::query_scalar(read)
            .fetch_one(&mut *conn)
            .await
            .expect("index entries read")
    };

    conn.execute("BEGIN").await.expect("begin");
    let before = entries_read(&mut conn).await;
    // A group of callbacks as one statement: each reads its own payment's entries.
    let callbacks: Vec<db::payments::PushCallback> = [150, 151, 152, 153]
        .iter()
        .map(|n| db::payments::PushCallback {
            nonce: format!("nonce-{n}"),
            signature: format!("signature-{n}"),
            approval_uuid: format!("request-{n}"),
            status: PaymentStatus::Approved,
            detail: "approved".into(),
            now: clock::now(),
        })
        .collect();
    let outcomes = db::payments::record_push_callbacks_at_once(&mut conn, &callbacks)
        .await
        .expect("callbacks");
    for (n, outcome) in [150, 151, 152, 153].into_iter().zip(outcomes) {
        let outcome = outcome.expect("outcome");
        assert!(
            matches!(&outcome, db::payments::PushOutcome::Decided(id, _) if *id == pending[n]),
            "{outcome:?}"
        );
    }
    let entries = entries_read(&mut conn).await - before;
    conn.execute("COMMIT").await.expect("commit");
    assert!(
        entries <= 4 * 4,
        "four callbacks read {entries} entries of payments to decide four"
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
        "a decision by id read {entries} entries of payments"
    );
}

/// On PostgreSQL the callbacks that queue while the writers are busy go in one statement;
/// a replay of one of them and a second answer for another's payment, queued behind them,
/// go in a statement of their own after it and are answered as they would be alone: the
/// replay refused, the second answer a conflict, on the payment's trail but deciding
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queued_callbacks_are_one_statement_and_repeats_follow_it() {
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::Duration;
    if !postgres_available("the PostgreSQL tests") {
        return;
    }
    let app = spawn_app().await;
    let recorder = app.state.callbacks.clone();
    let stats = recorder.stats();
    let mut payments: Vec<Pending> = Vec::new();
    for _ in 0..12 {
        payments.push(pending_payment(&app).await);
    }
    // Nonces cannot be written while this lock is held: the writers wait on it.
    let mut hold = app.state.db.acquire().await.expect("connection");
    hold.execute("BEGIN").await.expect("begin");
    hold.execute("LOCK TABLE callback_nonces IN SHARE MODE")
        .await
        .expect("lock");
    let sender = app.callback_sender();
    let now = clock::now();
    let send = |body: String, nonce: String| {
        let sender = sender.clone();
        tokio::spawn(async move { sender.send(&body, &nonce).await.status().as_u16() })
    };
    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // One callback for each writer, taken before the others arrive.
    let (busy, queued) = payments.split_at(db::group_commit::POSTGRES_WRITERS);
    let mut first = Vec::new();
    for (i, p) in busy.iter().enumerate() {
        first.push(send(body(p, "approved"), format!("{now}.{i:03}")));
        until("a writer took its callback", || {
            stats.taken.load(Relaxed) == i + 1
        })
        .await;
    }
    let answers: Vec<_> = queued
        .iter()
        .enumerate()
        .map(|(i, p)| send(body(p, "approved"), format!("{now}.{:03}", 100 + i)))
        .collect();
    until("the callbacks queued", || {
        recorder.waiting() == queued.len()
    })
    .await;
    // The first queued callback again (same body, same nonce), and a denial of the second
    // queued payment under a nonce of its own.
    let replay = send(body(&queued[0], "approved"), format!("{now}.100"));
    until("the replay queued", || {
        recorder.waiting() == queued.len() + 1
    })
    .await;
    let conflict = send(body(&queued[1], "denied"), format!("{now}.200"));
    until("the conflict queued", || {
        recorder.waiting() == queued.len() + 2
    })
    .await;
    hold.execute("ROLLBACK").await.expect("unlock");
    drop(hold);

    for answer in first.into_iter().chain(answers) {
        assert_eq!(answer.await.expect("task"), 200);
    }
    assert_eq!(replay.await.expect("task"), 401, "the replay");
    assert_eq!(conflict.await.expect("task"), 409, "the second answer");
    assert_eq!(
        stats.largest.load(Relaxed),
        queued.len(),
        "the queued callbacks went in one statement, the repeats after it"
    );
    assert_eq!(stats.fallbacks.load(Relaxed), 0);
    for p in &payments {
        assert_eq!(status_of(&app, &p.payment_id).await.0, "approved");
    }
    let trail: Vec<(String, String)> = sqlx::query_as(
        "SELECT event, outcome FROM audit_events WHERE payment_id = $1 \
         AND event IN ('callback', 'decision') ORDER BY at, id",
    )
    .bind(&queued[1].payment_id)
    .fetch_all(&app.state.db)
    .await
    .expect("trail");
    let row = |event: &str, outcome: &str| (event.to_string(), outcome.to_string());
    assert_eq!(
        trail,
        [
            row("callback", "accepted"),
            row("decision", "approved"),
            row("callback", "accepted")
        ]
    );
}
