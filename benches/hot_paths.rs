//! Throughput and latency of the two hot paths: the 3-second status poll (a server
//! function reading one payment) and the provider callback (signature check, replay
//! record, conditional update). Prints figures; run with `make bench`.
//!
//! For scale: on the 2-core reference machine a bare axum route answers about 150,000
//! requests/s and a small Leptos SSR page about 40,000 (measured with wrk).

use payfriend::server::clock;
use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// The system allocator, counting the bytes in use and their peak (for the cost of
/// refusing a forged callback).
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The worst forged callback body of 64 KiB: one long key over a long array.
fn worst_forged_body() -> String {
    let size = 64 * 1024;
    let key = "a".repeat(size / 2);
    let ones = vec!["1"; (size - key.len()) / 2 - 4].join(",");
    format!("{{\"{key}\":[{ones}]}}")
}

/// Time and peak extra bytes of refusing the worst forged callback, in this process
/// (single-threaded: the allocator's peak is this work's alone).
fn refusal_cost() {
    let body = worst_forged_body();
    let runs = 200;
    let mut peak_extra = 0;
    let started = Instant::now();
    for _ in 0..runs {
        let base = IN_USE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let refused = signature::verify(
            "an api key",
            "http://127.0.0.1/payments/callback",
            signature::SignedRequest {
                signature: Some("bWFkZSB1cA=="),
                nonce: Some(&clock::now().to_string()),
                method: "POST",
                body: &body,
            },
            clock::now(),
            300,
        );
        assert!(matches!(
            refused,
            Err(signature::SignatureError::BadBody(_))
        ));
        peak_extra = peak_extra.max(PEAK.load(Ordering::Relaxed) - base);
    }
    println!(
        "{:<28} {:>8.3} ms each   peak {:>6} KiB above the body ({} KiB body)",
        "refusing the worst forged callback",
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs),
        peak_extra / 1024,
        body.len() / 1024,
    );
}

/// Sign-ins of unknown emails from many clients for a few seconds, while one client
/// checks `/healthz`: sign-in throughput and the health check's latency under the flood.
async fn sign_in_flood(http: &reqwest::Client, base: &str) {
    let flood_for = Duration::from_secs(5);
    let started = Instant::now();
    let mut flooders = Vec::new();
    for worker in 0..64 {
        let (http, base) = (http.clone(), base.to_string());
        flooders.push(tokio::spawn(async move {
            let (mut checked, mut busy, mut other) = (0u32, 0u32, 0u32);
            let mut i = 0;
            while started.elapsed() < flood_for {
                i += 1;
                let status = http
                    .post(format!("{base}{}", LogIn::PATH))
                    .form(&[
                        ("email", format!("flood{worker}-{i}@example.com")),
                        ("password", "not the password".to_string()),
                    ])
                    .send()
                    .await
                    .map(|r| r.status().as_u16());
                match status {
                    Ok(401) => checked += 1,
                    Ok(503) => busy += 1,
                    _ => other += 1,
                }
            }
            (checked, busy, other)
        }));
    }
    let mut health = Vec::new();
    let mut health_failures = 0;
    while started.elapsed() < flood_for {
        let t = Instant::now();
        match http.get(format!("{base}/healthz")).send().await {
            Ok(r) if r.status().is_success() => health.push(t.elapsed()),
            _ => health_failures += 1,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (mut checked, mut busy, mut other) = (0, 0, 0);
    for f in flooders {
        let (c, b, o) = f.await.expect("flooder");
        checked += c;
        busy += b;
        other += o;
    }
    let secs = flood_for.as_secs_f64();
    println!(
        "{:<28} {:>8.0} checked/s  {:>6.0} busy (503)/s  other {}",
        "sign-in flood (64 clients)",
        f64::from(checked) / secs,
        f64::from(busy) / secs,
        other
    );
    Figures {
        name: "  /healthz during the flood",
        elapsed: flood_for,
        latencies: health,
        failures: health_failures,
    }
    .print();
}

use leptos::server_fn::ServerFn;
use payfriend::api::{accounts::LogIn, payments::GetPayment};
use payfriend::model::{PaymentId, UserId};
use payfriend::server::{authy::signature, AppState};
use tokio::sync::Semaphore;

/// The integration tests' support module: the same way to start the app and seed it.
#[allow(dead_code)]
#[path = "../tests/app/common.rs"]
mod common;

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

async fn seed_payment(state: &AppState, user_id: &UserId, n: usize) -> (PaymentId, String) {
    let uuid = uuid::Uuid::new_v4().to_string();
    let id = common::insert_pending_payment(state, user_id, 100 + n as i64, &uuid).await;
    (id, uuid)
}

/// The status poll and the signed callback against a fresh app on the database
/// `database_url` (`None`: the test support's choice, PostgreSQL when
/// `PAYFRIEND_TEST_POSTGRES` is set); the app, for further measurements.
async fn hot_paths(database_url: Option<&str>) -> (common::TestApp, Figures, Figures) {
    let mut extra = vec![("LIMIT_SIGN_IN", "1000000/1")];
    if let Some(url) = database_url {
        extra.push(("DATABASE_URL", url));
    }
    let app = common::spawn_app_with(&extra).await;
    let (state, base, http) = (app.state.clone(), app.base_url.clone(), app.client.clone());
    let (user_id, email) = common::verified_user(&app, "bench password").await;
    let cookie = common::log_in(&app, &email, "bench password").await;
    let (polled, _) = seed_payment(&state, &user_id, 0).await;

    let polls = (0..REQUESTS)
        .map(|_| {
            http.post(format!("{base}{}", GetPayment::PATH))
                .header("Cookie", &cookie)
                .form(&[("id", polled.as_str())])
        })
        .collect();
    let poll = run("status poll (get_payment)", polls, |s| s.is_success()).await;

    let callback_url = state.config.authy_callback_url.to_string();
    let key = state.config.authy_api_key.expose().to_string();
    let mut callbacks = Vec::with_capacity(REQUESTS);
    for n in 0..REQUESTS {
        let (_, uuid) = seed_payment(&state, &user_id, n).await;
        let body = format!(r#"{{"uuid": "{uuid}", "status": "approved"}}"#);
        let nonce = format!("{}.{n:05}", clock::now());
        let sig = signature::sign(&key, &nonce, "POST", &callback_url, &body).expect("sign");
        callbacks.push(
            http.post(&callback_url)
                .header("X-Authy-Signature", sig)
                .header("X-Authy-Signature-Nonce", nonce)
                .body(body),
        );
    }
    let callback = run("callback (approve, signed)", callbacks, |s| s.is_success()).await;
    (app, poll, callback)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let sqlite_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let (app, poll, callback) = hot_paths(Some(&sqlite_url)).await;
    let postgres = match std::env::var(common::TEST_POSTGRES) {
        Ok(url) if !url.is_empty() => Some(hot_paths(None).await),
        _ => None,
    };
    let (base, http) = (app.base_url.clone(), app.client.clone());
    let callback_url = app.state.config.authy_callback_url.to_string();

    println!("Payfriend hot paths: {REQUESTS} requests each, {CONCURRENCY} in flight");
    println!("SQLite:");
    poll.print();
    callback.print();
    match postgres {
        Some((_, poll, callback)) => {
            println!("PostgreSQL (local, same machine):");
            poll.print();
            callback.print();
        }
        None => println!("PostgreSQL: not measured (set {})", common::TEST_POSTGRES),
    }
    println!("SQLite, refusals and floods:");

    let forged = (0..REQUESTS)
        .map(|n| {
            http.post(&callback_url)
                .header("X-Authy-Signature", "Zm9yZ2VkIHNpZ25hdHVyZQ==")
                .header("X-Authy-Signature-Nonce", clock::now().to_string())
                .body(format!(r#"{{"uuid": "{n}", "status": "approved"}}"#))
        })
        .collect();
    run("callback (forged, refused)", forged, |s| s.as_u16() == 401)
        .await
        .print();

    let worst = worst_forged_body();
    let worst_forged = (0..REQUESTS / 4)
        .map(|_| {
            http.post(&callback_url)
                .header("X-Authy-Signature", "Zm9yZ2VkIHNpZ25hdHVyZQ==")
                .header("X-Authy-Signature-Nonce", clock::now().to_string())
                .body(worst.clone())
        })
        .collect();
    run("callback (worst 64 KiB forged)", worst_forged, |s| {
        s.as_u16() == 400
    })
    .await
    .print();
    refusal_cost();

    sign_in_flood(&http, &base).await;
}
