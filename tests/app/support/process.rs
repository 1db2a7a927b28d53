//! The real server binary in a process of its own, for what only a process shows (signals, logs).

use std::{
    path::Path,
    process::{Child, Command},
    time::Duration,
};

use leptos::server_fn::ServerFn;
use payfriend::api::accounts::{Register, VerifyPhone};
use sqlx::AnyPool;

use super::*;

pub const API_KEY: &str = "process-test-api-key-0123456789";

pub const SESSION_SECRET: &str = "process-test-session-secret-0123456789abcdef";

pub struct Server {
    pub child: Child,
    pub base: String,
}

/// A port outside the kernel's ephemeral range, so that the in-process test apps (which
/// bind port 0) can never take it between this check and the server's own bind.
pub fn free_port() -> u16 {
    loop {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 10_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub async fn start(dir: &Path, port: u16, extra: &[(&str, &str)]) -> Server {
    healthy(launch(dir, port, extra)).await
}

/// Starts the server binary without waiting for it.
pub fn launch(dir: &Path, port: u16, extra: &[(&str, &str)]) -> Server {
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
    Server {
        child: command.spawn().expect("server starts"),
        base,
    }
}

/// Waits until `server` answers `/healthz` with 200.
pub async fn healthy(server: Server) -> Server {
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await {
            if r.status() == 200 {
                return server;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become healthy");
}

/// A client that sends the server's own origin, as its pages do.
pub fn client_of(server: &Server) -> reqwest::Client {
    crate::support::browser_like_client(&server.base)
}

/// Registers and verifies a user through the app, as a browser would; returns the cookie.
pub async fn signed_up(server: &Server, db: &AnyPool, password: &str) -> String {
    signed_up_as(
        server,
        db,
        password,
        "durable@example.com",
        "+1 201 555 0177",
    )
    .await
}

pub async fn signed_up_as(
    server: &Server,
    db: &AnyPool,
    password: &str,
    email: &str,
    phone: &str,
) -> String {
    let http = client_of(server);
    let registered = http
        .post(format!("{}{}", server.base, Register::PATH))
        .form(&[
            ("email", email),
            ("password", password),
            ("country", "US"),
            ("phone", phone),
            ("via", "sms"),
        ])
        .send()
        .await
        .expect("register");
    let cookie = session_cookie(&registered).expect("session after registering");
    let e164: String = phone
        .chars()
        .filter(|c| *c == '+' || c.is_ascii_digit())
        .collect();
    let code: String =
        sqlx::query_scalar("SELECT code FROM sandbox_verifications WHERE phone_e164 = $1")
            .bind(&e164)
            .fetch_one(db)
            .await
            .expect("code sent");
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

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server running after a test, passed or failed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
