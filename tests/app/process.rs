//! The real server binary: graceful shutdown on SIGTERM, durability across SIGKILL, and
//! logs that never contain secrets or codes.
use crate::support::process::*;
use crate::support::{post_payment, sent_payment_id, PaymentForm};
use payfriend::shared::authy_signature as signature;
use payfriend::testing::clock;
use std::{
    path::Path,
    process::Command,
    sync::{Arc, Mutex},
    time::Duration,
};

use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::LogIn,
    payments::{GetPayment, SendPayment, SendPaymentSms, VerifyPaymentSms},
};
use payfriend::testing::db;

/// Sends a payment as the signed-in user; returns its id.
async fn payment_sent(server: &Server, http: &reqwest::Client, cookie: &str) -> String {
    let sent = post_payment(http, &server.base, cookie, &PaymentForm::default()).await;
    sent_payment_id(&sent)
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_then_exits() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut server = start(
        dir.path(),
        port,
        &[("SANDBOX_FAULT", "slow"), ("AUTHY_TIMEOUT_SECS", "2")],
    )
    .await;
    // The slow sandbox holds this request for 3 seconds.
    let in_flight = tokio::spawn(
        client_of(&server)
            .get(format!(
                "{}/sandbox/authy/protected/json/users/1/status",
                server.base
            ))
            .header("X-Authy-API-Key", API_KEY)
            .send(),
    );
    // The server has the request in hand once the sandbox says it holds it (its log).
    let log = dir.path().join("server.log");
    tokio::time::timeout(Duration::from_secs(10), async {
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("the slow fault holds this answer")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the slow request reached the server");

    let pid = server.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let response = in_flight
        .await
        .expect("task")
        .expect("the request in flight is answered");

    assert_eq!(
        response.status(),
        404,
        "user 1 does not exist: a real answer, not a cut"
    );
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = server.child.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exited.expect("exited after SIGTERM").success());
}

#[tokio::test]
async fn acknowledged_payments_and_decisions_survive_sigkill() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    // One user sends hundreds of payments: the push-bombing limits are lifted for it.
    let unlimited = [
        ("LIMIT_SEND_PAYMENT", "100000/1"),
        ("MAX_PENDING_PAYMENTS", "100000"),
        ("PUSH_HOURLY_PER_USER", "100000"),
    ];
    let mut server = start(dir.path(), port, &unlimited).await;
    let db = db::connect(&format!("sqlite:{}", dir.path().join("app.db").display()))
        .await
        .expect("db");
    let password = "a durable password";
    let cookie = signed_up(&server, &db, password).await;
    let http = client_of(&server);
    let callback_url = format!("{}/payments/callback", server.base);

    // A burst of payments from four clients at once, each approved by a callback as soon
    // as it is acknowledged; the server is killed while requests are in flight.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let approved = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (http, cookie, base, callback_url, db) = (
            http.clone(),
            cookie.clone(),
            server.base.clone(),
            callback_url.clone(),
            db.clone(),
        );
        let (acknowledged, approved) = (acknowledged.clone(), approved.clone());
        workers.push(tokio::spawn(async move {
            for i in 0..200 {
                let sent = http
                    .post(format!("{base}{}", SendPayment::PATH))
                    .header("Cookie", &cookie)
                    .form(&[
                        ("payee", format!("Payee {worker}-{i}")),
                        ("amount", format!("{}.00", i + 1)),
                        ("idempotency_key", uuid::Uuid::new_v4().to_string()),
                    ])
                    .send()
                    .await;
                let Some(id) = sent.ok().and_then(|r| {
                    r.headers()
                        .get("location")
                        .and_then(|v| v.to_str().ok())
                        .map(|l| l.trim_start_matches("/payments/").to_string())
                }) else {
                    return;
                };
                acknowledged.lock().expect("lock").push(id.clone());
                let Ok(uuid) = sqlx::query_scalar::<_, String>(
                    "SELECT approval_uuid FROM payments WHERE id = $1",
                )
                .bind(&id)
                .fetch_one(&db)
                .await
                else {
                    panic!("payment {id} was acknowledged before its push request was stored");
                };
                let body = format!(r#"{{"uuid": "{uuid}", "status": "approved"}}"#);
                let nonce = format!("{}.{worker}{i:04}", clock::now());
                let sig =
                    signature::sign(API_KEY, &nonce, "POST", &callback_url, &body).expect("sign");
                let callback = http
                    .post(&callback_url)
                    .header("X-Authy-Signature", sig)
                    .header("X-Authy-Signature-Nonce", &nonce)
                    .body(body)
                    .send()
                    .await;
                match callback {
                    Ok(r) if r.status() == 200 => approved.lock().expect("lock").push(id),
                    // Any answer but 200 is a fault of the server, not of the kill (which
                    // leaves the request unanswered).
                    Ok(r) => panic!("callback for {id} answered {}", r.status()),
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::timeout(Duration::from_secs(60), async {
        while acknowledged.lock().expect("lock").len() < 12 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("twelve payments acknowledged within a minute");
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    for w in workers {
        w.await.expect("worker");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let approved = approved.lock().expect("lock").clone();
    assert!(acknowledged.len() >= 10, "the burst ran before the kill");
    assert!(
        !approved.is_empty(),
        "decisions were acknowledged before the kill"
    );

    let restarted = start(dir.path(), port, &unlimited).await;
    let health = http
        .get(format!("{}/healthz", restarted.base))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    for id in &acknowledged {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM payments WHERE id = $1")
                .bind(id)
                .fetch_optional(&db)
                .await
                .expect("read");
        assert!(status.is_some(), "acknowledged payment {id} was lost");
    }
    for id in &approved {
        let status: String = sqlx::query_scalar("SELECT status FROM payments WHERE id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .expect("read");
        assert_eq!(
            status, "approved",
            "acknowledged decision for {id} was lost"
        );
    }
    drop(restarted);

    // Nothing secret reached the logs: keys, the session secret, the password, codes.
    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("log");
    assert!(!log.is_empty());
    let messages: Vec<String> = sqlx::query_scalar("SELECT body FROM sandbox_messages")
        .fetch_all(&db)
        .await
        .expect("messages");
    let codes: Vec<String> = messages
        .iter()
        .map(|m| m.chars().filter(char::is_ascii_digit).collect())
        .collect();
    assert!(!codes.is_empty());
    for secret in [API_KEY, SESSION_SECRET, password]
        .into_iter()
        .map(str::to_string)
        .chain(codes)
    {
        assert!(!log.contains(&secret), "the log contains a secret");
    }
    let token = cookie.trim_start_matches("payfriend_session=");
    assert!(!log.contains(token), "the log contains a session token");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A flood of sign-ins (every one a password hash) must not take the rest of the app down:
/// health checks and status polls keep being answered while it lasts. Prints the figures;
/// fails only on errors.
#[tokio::test]
async fn a_sign_in_flood_leaves_health_checks_and_status_polls_answering() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let server = start(dir.path(), port, &[("LIMIT_SIGN_IN", "100000/1")]).await;
    let db = db::connect(&format!("sqlite:{}", dir.path().join("app.db").display()))
        .await
        .expect("db");
    let cookie = signed_up(&server, &db, "a flood-proof password").await;
    let http = client_of(&server);
    let payment_id = payment_sent(&server, &http, &cookie).await;

    let flood_for = Duration::from_secs(4);
    let started = std::time::Instant::now();
    let mut flooders = Vec::new();
    for worker in 0..48 {
        let (http, base) = (http.clone(), server.base.clone());
        flooders.push(tokio::spawn(async move {
            let (mut answered, mut busy, mut errors) = (0u32, 0u32, Vec::new());
            let mut i = 0;
            while started.elapsed() < flood_for {
                i += 1;
                let response = http
                    .post(format!("{base}{}", LogIn::PATH))
                    .form(&[
                        ("email", format!("flood-{worker}-{i}@example.com")),
                        ("password", "not the password".to_string()),
                    ])
                    .send()
                    .await;
                match response.map(|r| r.status().as_u16()) {
                    Ok(401) => answered += 1,
                    Ok(503) => busy += 1,
                    other => errors.push(format!("{other:?}")),
                }
            }
            (answered, busy, errors)
        }));
    }
    let (mut health, mut polls) = (Vec::new(), Vec::new());
    while started.elapsed() < flood_for {
        let t = std::time::Instant::now();
        let h = http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .expect("healthz answers during the flood");
        assert_eq!(h.status(), 200);
        health.push(t.elapsed());
        let t = std::time::Instant::now();
        let p = http
            .post(format!("{}{}", server.base, GetPayment::PATH))
            .header("Cookie", &cookie)
            .form(&[("id", payment_id.as_str())])
            .send()
            .await
            .expect("the status poll answers during the flood");
        assert_eq!(p.status(), 200);
        polls.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut answered, mut busy) = (0, 0);
    for f in flooders {
        let (a, b, errors) = f.await.expect("flooder");
        assert!(
            errors.is_empty(),
            "sign-in errors other than 401/503: {errors:?}"
        );
        answered += a;
        busy += b;
    }
    health.sort();
    polls.sort();
    let secs = flood_for.as_secs_f64();
    println!(
        "sign-in flood (48 clients, {secs:.0} s): {:.0} checked/s, {:.0} refused busy/s; \
         /healthz p50 {:?} p99 {:?} ({} probes); status poll p50 {:?} p99 {:?}",
        f64::from(answered) / secs,
        f64::from(busy) / secs,
        percentile(&health, 0.5),
        percentile(&health, 0.99),
        health.len(),
        percentile(&polls, 0.5),
        percentile(&polls, 0.99),
    );
    assert!(answered > 0, "some sign-ins were checked");
}

/// The payment SMS code travels in the provider API's path; with the sandbox in the same
/// process that path is served (and traced) here. At the most verbose level, the code
/// appears in no log line.
#[tokio::test]
async fn a_payment_sms_code_appears_in_no_log_line_at_any_level() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let server = start(dir.path(), port, &[("RUST_LOG", "trace")]).await;
    let db = db::connect(&format!("sqlite:{}", dir.path().join("app.db").display()))
        .await
        .expect("db");
    let cookie = signed_up(&server, &db, "a quiet password").await;
    let http = client_of(&server);
    let id = payment_sent(&server, &http, &cookie).await;
    let asked = http
        .post(format!("{}{}", server.base, SendPaymentSms::PATH))
        .header("Cookie", &cookie)
        .form(&[("id", id.as_str())])
        .send()
        .await
        .expect("ask for a code");
    assert_eq!(asked.status(), 200);
    let code: String = sqlx::query_scalar("SELECT code FROM sandbox_tokens WHERE action LIKE $1")
        .bind(format!(
            "{}%",
            payfriend::testing::domain::payments::sms_action_of(
                &payfriend::model::PaymentId::parse(&id).expect("a payment id")
            )
        ))
        .fetch_one(&db)
        .await
        .expect("code");
    let checked = http
        .post(format!("{}{}", server.base, VerifyPaymentSms::PATH))
        .header("Cookie", &cookie)
        .form(&[("id", id.as_str()), ("code", code.as_str())])
        .send()
        .await
        .expect("check the code");
    assert_eq!(checked.status(), 200);
    drop(server);

    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("log");
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log is verbose"
    );
    assert!(
        log.contains("verify/{digits}"),
        "the code's request was logged, masked"
    );
    for (n, line) in log.lines().enumerate() {
        assert!(
            !holds_number(line, &code),
            "line {n} holds the code: {line}"
        );
    }
}

/// Whether `line` holds `digits` as a number of its own (not inside a longer digit run,
/// such as a timestamp's fraction).
fn holds_number(line: &str, digits: &str) -> bool {
    line.match_indices(digits).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// The server's readings of a session so far, from its log of statements.
fn session_reads(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("server.log"))
        .expect("server log")
        .lines()
        .filter(|line| line.contains("sqlx::query") && line.contains("FROM sessions s"))
        .map(str::to_string)
        .collect()
}

/// A page asks who is signed in from several places (the navigation, the guard, the page's
/// own list), each a server function run in place while it renders, often two at the same
/// moment: the render reads the session once, and the next render reads it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_render_reads_its_session_once() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start(
        dir.path(),
        free_port(),
        &[("RUST_LOG", "warn,sqlx::query=debug")],
    )
    .await;
    let db = db::connect(&format!("sqlite:{}", dir.path().join("app.db").display()))
        .await
        .expect("db");
    let cookie = signed_up(&server, &db, "correct horse battery staple").await;
    let http = client_of(&server);

    // Several renders: whether a render's asks start together depends on timing.
    for render in 1..=10 {
        let before = session_reads(dir.path()).len();
        let page = http
            .get(format!("{}/payments", server.base))
            .header("Cookie", &cookie)
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("body");
        assert!(
            html.contains("durable@example.com"),
            "render {render} is signed in"
        );
        assert!(
            html.contains("No payments yet"),
            "render {render} lists the payments"
        );
        // Readings microseconds apart: asks the render started together, none waiting for
        // the first one's answer.
        let reads = session_reads(dir.path()).split_off(before);
        assert_eq!(
            reads.len(),
            1,
            "render {render} reads the session once: {reads:#?}"
        );
    }
}
