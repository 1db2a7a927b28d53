//! The real server binary: graceful shutdown on SIGTERM, durability across SIGKILL, and
//! logs that never contain secrets or codes.
use std::{
    path::Path,
    process::{Child, Command},
    sync::{Arc, Mutex},
    time::Duration,
};

use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::{Register, VerifyPhone},
    payments::SendPayment,
};
use payfriend::server::{authy::signature, db};
use sqlx::AnyPool;

const API_KEY: &str = "process-test-api-key-0123456789";
const SESSION_SECRET: &str = "process-test-session-secret-0123456789abcdef";

struct Server {
    child: Child,
    base: String,
}

/// A port outside the kernel's ephemeral range, so that the in-process test apps (which
/// bind port 0) can never take it between this check and the server's own bind.
fn free_port() -> u16 {
    loop {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 10_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

async fn start(dir: &Path, port: u16, extra: &[(&str, &str)]) -> Server {
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_payfriend"));
    command
        .env(
            "DATABASE_URL",
            format!("sqlite:{}", dir.join("app.db").display()),
        )
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("PUBLIC_URL", &base)
        .env("AUTHY_API_KEY", API_KEY)
        .env("SESSION_SECRET", SESSION_SECRET)
        .env("RUST_LOG", "debug")
        .current_dir(dir)
        .stdout(log.try_clone().expect("log file"))
        .stderr(log);
    for (k, v) in extra {
        command.env(k, v);
    }
    let server = Server {
        child: command.spawn().expect("server starts"),
        base,
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await {
            if r.status() == 200 {
                return server;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become healthy");
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server running after a test, passed or failed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("payfriend_session=") && !v.starts_with("payfriend_session=;"))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Registers and verifies a user through the app, as a browser would; returns the cookie.
async fn signed_up(server: &Server, db: &AnyPool, password: &str) -> String {
    let http = client();
    let registered = http
        .post(format!("{}{}", server.base, Register::PATH))
        .form(&[
            ("email", "durable@example.com"),
            ("password", password),
            ("country", "US"),
            ("phone", "+1 201 555 0177"),
            ("via", "sms"),
        ])
        .send()
        .await
        .expect("register");
    let cookie = session_cookie(&registered).expect("session after registering");
    let message: String = sqlx::query_scalar(
        "SELECT body FROM sandbox_messages WHERE phone_e164 = '+12015550177' ORDER BY created_at DESC",
    )
    .fetch_one(db)
    .await
    .expect("code sent");
    let code: String = message.chars().filter(char::is_ascii_digit).collect();
    let verified = http
        .post(format!("{}{}", server.base, VerifyPhone::PATH))
        .header("Cookie", &cookie)
        .form(&[("code", code.as_str())])
        .send()
        .await
        .expect("verify");
    assert!(verified.status().is_redirection() || verified.status().is_success());
    cookie
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
        client()
            .get(format!(
                "{}/sandbox/authy/protected/json/users/1/status",
                server.base
            ))
            .header("X-Authy-API-Key", API_KEY)
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

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
    let mut server = start(dir.path(), port, &[]).await;
    let db = db::connect(&format!("sqlite:{}", dir.path().join("app.db").display()))
        .await
        .expect("db");
    let password = "a durable password";
    let cookie = signed_up(&server, &db, password).await;
    let http = client();
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
                let nonce = format!("{}.{worker}{i:04}", db::now());
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
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        }));
    }
    while acknowledged.lock().expect("lock").len() < 12 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    for w in workers {
        w.await.expect("worker");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let approved = approved.lock().expect("lock").clone();
    assert!(acknowledged.len() >= 10, "the burst ran before the kill");

    let restarted = start(dir.path(), port, &[]).await;
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
