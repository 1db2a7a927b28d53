//! What a PostgreSQL server does and a SQLite file does not: it drops connections (a
//! restart, an idle timeout, a proxy). These run in the PostgreSQL pass of `make test`
//! (they need `PAYFRIEND_TEST_POSTGRES`); the SQLite pass skips them.

use payfriend::testing::db;

use crate::support::{log_in, postgres_available, spawn_app, verified_user};

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
