//! Throughput and latency of the two hot paths: the 3-second status poll (a server
//! function reading one payment) and the provider callback (signature check, replay
//! record, conditional update). Prints figures; run with `make bench`.
//!
//! For scale: on the 2-core reference machine a bare axum route answers about 150,000
//! requests/s and a small Leptos SSR page about 40,000 (measured with wrk).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use leptos::server_fn::ServerFn;
use payfriend::api::{accounts::LogIn, payments::GetPayment};
use payfriend::server::{self, auth, authy::signature, config::Config, db, AppState};
use tokio::{net::TcpListener, sync::Semaphore};

const CONCURRENCY: usize = 16;
const REQUESTS: usize = 4_000;

struct Figures {
    name: &'static str,
    elapsed: Duration,
    latencies: Vec<Duration>,
    failures: usize,
}

impl Figures {
    fn print(mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            self.latencies.get(i).copied().unwrap_or_default()
        };
        println!(
            "{:<28} {:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   failures {}",
            self.name,
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1000.0,
            pct(0.99).as_secs_f64() * 1000.0,
            self.failures,
        );
    }
}

/// Sends `requests` built by `make` with CONCURRENCY in flight, timing each.
async fn run<F>(name: &'static str, requests: Vec<reqwest::RequestBuilder>, ok: F) -> Figures
where
    F: Fn(reqwest::StatusCode) -> bool + Send + Sync + 'static,
{
    let ok = Arc::new(ok);
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(requests.len());
    for request in requests {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        let ok = ok.clone();
        tasks.push(tokio::spawn(async move {
            let began = Instant::now();
            let good = match request.send().await {
                Ok(r) => ok(r.status()),
                Err(_) => false,
            };
            drop(permit);
            (began.elapsed(), good)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for t in tasks {
        let (latency, good) = t.await.expect("task");
        latencies.push(latency);
        failures += usize::from(!good);
    }
    Figures {
        name,
        elapsed: start.elapsed(),
        latencies,
        failures,
    }
}

async fn seed_user(state: &AppState) -> (String, i64, String) {
    let authy_id = state
        .authy
        .register_user("bench@example.com", "2015550199", "1")
        .await
        .expect("provider user");
    let user_id = uuid::Uuid::new_v4().to_string();
    let hash = auth::hash_password("bench password".into())
        .await
        .expect("hash");
    db::users::insert(
        &state.db,
        &db::users::NewUser {
            id: &user_id,
            email: "bench@example.com",
            password_hash: &hash,
            phone_e164: "+12015550199",
            country_code: "1",
            national_number: "2015550199",
            verify_via: "sms",
        },
        db::now(),
    )
    .await
    .expect("user");
    db::users::mark_verified(&state.db, &user_id, authy_id, db::now())
        .await
        .expect("verified");
    (user_id, authy_id, "bench@example.com".to_string())
}

async fn seed_payment(state: &AppState, user_id: &str, n: usize) -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let key = uuid::Uuid::new_v4().to_string();
    let now = db::now();
    db::payments::insert_once(
        &state.db,
        &db::payments::NewPayment {
            id: &id,
            user_id,
            idempotency_key: &key,
            payee: "Neville",
            amount_cents: 100 + n as i64,
            currency: "USD",
            expires_at: now + 3600,
        },
        now,
    )
    .await
    .expect("payment");
    let uuid = uuid::Uuid::new_v4().to_string();
    db::payments::set_approval_uuid(&state.db, &id, &uuid)
        .await
        .expect("uuid");
    (id, uuid)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let base = format!("http://{addr}");
    let vars = HashMap::from([
        (
            "DATABASE_URL".to_string(),
            format!("sqlite:{}", dir.path().join("bench.db").display()),
        ),
        ("PUBLIC_URL".to_string(), base.clone()),
        ("LEPTOS_SITE_ADDR".to_string(), addr.to_string()),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let state = server::prepare(config).await.expect("app");
    tokio::spawn(server::serve(listener, server::router(state.clone())));

    let (user_id, _, email) = seed_user(&state).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .expect("client");
    let login = http
        .post(format!("{base}{}", LogIn::PATH))
        .form(&[("email", email.as_str()), ("password", "bench password")])
        .send()
        .await
        .expect("log in");
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("payfriend_session="))
        })
        .expect("session")
        .to_string();
    let (polled, _) = seed_payment(&state, &user_id, 0).await;

    println!("Payfriend hot paths: {REQUESTS} requests each, {CONCURRENCY} in flight, SQLite");

    let polls = (0..REQUESTS)
        .map(|_| {
            http.post(format!("{base}{}", GetPayment::PATH))
                .header("Cookie", &cookie)
                .form(&[("id", polled.as_str())])
        })
        .collect();
    run("status poll (get_payment)", polls, |s| s.is_success())
        .await
        .print();

    let callback_url = state.config.authy_callback_url.to_string();
    let key = state.config.authy_api_key.expose().to_string();
    let mut callbacks = Vec::with_capacity(REQUESTS);
    for n in 0..REQUESTS {
        let (_, uuid) = seed_payment(&state, &user_id, n).await;
        let body = format!(r#"{{"uuid": "{uuid}", "status": "approved"}}"#);
        let nonce = format!("{}.{n:05}", db::now());
        let sig = signature::sign(&key, &nonce, "POST", &callback_url, &body).expect("sign");
        callbacks.push(
            http.post(&callback_url)
                .header("X-Authy-Signature", sig)
                .header("X-Authy-Signature-Nonce", nonce)
                .body(body),
        );
    }
    run("callback (approve, signed)", callbacks, |s| s.is_success())
        .await
        .print();

    let forged = (0..REQUESTS)
        .map(|n| {
            http.post(&callback_url)
                .header("X-Authy-Signature", "Zm9yZ2VkIHNpZ25hdHVyZQ==")
                .header("X-Authy-Signature-Nonce", db::now().to_string())
                .body(format!(r#"{{"uuid": "{n}", "status": "approved"}}"#))
        })
        .collect();
    run("callback (forged, refused)", forged, |s| s.as_u16() == 401)
        .await
        .print();
}
