//! Two server binaries on one PostgreSQL database, as behind a load balancer: what one
//! instance does, the other sees. These run in the PostgreSQL pass of `make test` (they
//! need `PAYFRIEND_TEST_POSTGRES`); the SQLite pass skips them.

use std::time::Duration;

use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::LogIn,
    payments::{GetPayment, SendPaymentSms, VerifyPaymentSms},
};
use payfriend::shared::authy_signature as signature;
use payfriend::testing::clock;
use payfriend::testing::db;
use sqlx::AnyPool;

use crate::support::process::{
    client_of, free_port, healthy, launch, signed_up_as, start, Server, API_KEY,
};
use crate::support::{
    fresh_database, post_payment, postgres_available, sent_payment_id, PaymentForm,
};

/// A fresh PostgreSQL database, or `None` (with a note) when the suite runs on SQLite.
async fn postgres_database(dir: &std::path::Path) -> Option<String> {
    if !postgres_available("the multi-instance tests") {
        return None;
    }
    Some(fresh_database(dir).await)
}

/// The callback URL registered with the provider: one for all instances, as behind a load
/// balancer (the signature covers it).
const CALLBACK_URL: &str = "http://payfriend.test/payments/callback";

/// A working directory (and log) for each of two instances.
fn instance_dirs(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).expect("instance dir");
    }
    (a, b)
}

fn on(database_url: &str) -> [(&str, &str); 4] {
    [
        ("DATABASE_URL", database_url),
        ("AUTHY_CALLBACK_URL", CALLBACK_URL),
        ("LIMIT_SEND_PAYMENT", "1000/1"),
        ("LIMIT_PAYMENT_CODE", "1000/1"),
    ]
}

async fn post(
    server: &Server,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client_of(server)
        .post(format!("{}{path}", server.base))
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .expect("request")
}

/// Sends a payment to `payee` on `server`; its id.
async fn send_payment(server: &Server, cookie: &str, payee: &str) -> String {
    let form = PaymentForm {
        payee,
        amount: "12.50",
        ..PaymentForm::default()
    };
    sent_payment_id(&post_payment(&client_of(server), &server.base, cookie, &form).await)
}

/// The payment's status as `server` shows it to the owner.
async fn status_on(server: &Server, cookie: &str, id: &str) -> String {
    let answer = post(server, GetPayment::PATH, cookie, &[("id", id)]).await;
    assert_eq!(
        answer.status(),
        200,
        "the session is known to {}",
        server.base
    );
    let view: serde_json::Value = answer.json().await.expect("payment view");
    view["status"].as_str().expect("status").to_string()
}

/// Sends the provider's signed callback for payment `id` to `server`.
async fn callback(server: &Server, db: &AnyPool, id: &str, nonce: &str) -> reqwest::StatusCode {
    let uuid: String = sqlx::query_scalar("SELECT approval_uuid FROM payments WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .expect("push request stored");
    let body = format!(r#"{{"uuid": "{uuid}", "status": "approved"}}"#);
    let sig = signature::sign(API_KEY, nonce, "POST", CALLBACK_URL, &body).expect("sign");
    client_of(server)
        .post(format!("{}/payments/callback", server.base))
        .header("X-Authy-Signature", sig)
        .header("X-Authy-Signature-Nonce", nonce)
        .body(body)
        .send()
        .await
        .expect("callback")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_serve_one_user_together() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(url) = postgres_database(dir.path()).await else {
        return;
    };
    let (a_dir, b_dir) = instance_dirs(dir.path());
    let a = start(&a_dir, free_port(), &on(&url)).await;
    let b = start(&b_dir, free_port(), &on(&url)).await;
    let db = db::connect(&url).await.expect("db");
    let password = "two instances password";
    let cookie = signed_up_as(&a, &db, password, "both@example.com", "+1 201 555 0191").await;

    // Signed in on A, followed on B with the same cookie.
    let first = send_payment(&a, &cookie, "Neville").await;
    assert_eq!(status_on(&b, &cookie, &first).await, "pending");

    // The provider's callback accepted by A; the same callback replayed to B is refused.
    let nonce = format!("{}.1", clock::now());
    assert_eq!(callback(&a, &db, &first, &nonce).await, 200);
    assert_eq!(
        callback(&b, &db, &first, &nonce).await,
        401,
        "a replay, refused"
    );
    assert_eq!(status_on(&b, &cookie, &first).await, "approved");

    // The callback reaches B while the person waits on A.
    let second = send_payment(&a, &cookie, "Luna").await;
    let nonce = format!("{}.2", clock::now());
    assert_eq!(callback(&b, &db, &second, &nonce).await, 200);
    assert_eq!(status_on(&a, &cookie, &second).await, "approved");

    // The SMS code is sent from A and checked on B.
    let third = send_payment(&a, &cookie, "Ginny").await;
    assert!(post(&a, SendPaymentSms::PATH, &cookie, &[("id", &third)])
        .await
        .status()
        .is_success());
    let code: String = sqlx::query_scalar("SELECT code FROM sandbox_tokens WHERE action LIKE $1")
        .bind(format!(
            "{}%",
            payfriend::testing::domain::payments::sms_action_of(
                &payfriend::model::PaymentId::parse(&third).expect("a payment id")
            )
        ))
        .fetch_one(&db)
        .await
        .expect("payment code sent");
    let checked = post(
        &b,
        VerifyPaymentSms::PATH,
        &cookie,
        &[("id", &third), ("code", &code)],
    )
    .await;
    assert_eq!(checked.status(), 200);
    assert_eq!(status_on(&a, &cookie, &third).await, "approved");

    // A sign-in lock reached through A holds on B, even with the right password.
    for _ in 0..5 {
        let wrong = post(
            &a,
            LogIn::PATH,
            "",
            &[("email", "both@example.com"), ("password", "wrong")],
        )
        .await;
        assert!(wrong.status().is_client_error());
    }
    let right = post(
        &b,
        LogIn::PATH,
        "",
        &[("email", "both@example.com"), ("password", password)],
    )
    .await;
    assert_eq!(right.status(), 429, "locked on every instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_started_at_once_on_an_empty_database_migrate_it_once() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(url) = postgres_database(dir.path()).await else {
        return;
    };
    let (a_dir, b_dir) = instance_dirs(dir.path());
    let (a, b) = (
        launch(&a_dir, free_port(), &on(&url)),
        launch(&b_dir, free_port(), &on(&url)),
    );
    let (a, b) = tokio::join!(healthy(a), healthy(b));
    for server in [&a, &b] {
        let ready = reqwest::get(format!("{}/readyz", server.base))
            .await
            .expect("readyz");
        assert_eq!(ready.status(), 200);
    }
    let db = db::connect(&url).await.expect("db");
    let applied: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT version, COUNT(*) FROM _sqlx_migrations GROUP BY version ORDER BY version",
    )
    .fetch_all(&db)
    .await
    .expect("migrations");
    let files = std::fs::read_dir("migrations")
        .expect("migrations dir")
        .count();
    assert_eq!(applied.len(), files, "every migration applied");
    assert!(
        applied.iter().all(|(_, n)| *n == 1),
        "each once: {applied:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_migrations_wait_then_200() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(url) = postgres_database(dir.path()).await else {
        return;
    };
    let db = db::connect(&url).await.expect("db");
    db::migrate(&db).await.expect("migrated once");
    // Another instance's long migration, as the migrator sees it: its table is locked.
    let mut blocker = db.begin().await.expect("transaction");
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let server = launch(dir.path(), free_port(), &on(&url));
    let readyz = format!("{}/readyz", server.base);
    let mut first = None;
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(&readyz).await {
            first = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = first.expect("the instance answers while its migrations wait");
    assert_eq!(first.status(), 503);
    assert!(first.text().await.expect("body").contains("migrations"));
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .expect("healthz");
    assert_eq!(
        health.status(),
        503,
        "nothing is served before start-up is done"
    );

    blocker.commit().await.expect("unlock");
    let server = healthy(server).await;
    let ready = reqwest::get(format!("{}/readyz", server.base))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.expect("body"), "ready");
}
