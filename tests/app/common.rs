//! Starts the real app on port 0 with its own temporary SQLite database.

use payfriend::shared::authy_signature as signature;
use payfriend::shared::clock;
use std::collections::HashMap;

use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::{LogIn, Register},
    payments::SendPayment,
};
use payfriend::model::{Email, Payee, PaymentId, UserId};
use payfriend::sandbox::service::{store, Sandbox};
use payfriend::server::{
    self,
    config::{Config, ProviderKind},
    db,
    domain::passwords,
    domain::sessions,
    providers::authy::AuthyClient,
    providers::Phone,
    AppState,
};
use tokio::net::TcpListener;

/// A running Payfriend server and what a test needs to talk to it.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub state: AppState,
    /// The built-in sandbox (none with a real provider configured).
    pub sandbox: Option<Sandbox>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// The sandbox this app talks to.
    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox
            .as_ref()
            .expect("the app runs with its sandbox")
    }

    /// Sends `body` to the callback URL, signed with `nonce` as the provider signs it.
    pub async fn send_signed_callback(&self, body: &str, nonce: &str) -> reqwest::Response {
        self.callback_sender().send(body, nonce).await
    }

    /// Sends signed callbacks to this app from tasks of their own (it is cloned into them).
    pub fn callback_sender(&self) -> CallbackSender {
        CallbackSender {
            client: self.client.clone(),
            url: self.state.config.authy_callback_url.to_string(),
            key: self.state.config.authy_api_key.expose().to_string(),
        }
    }

    /// A client speaking the provider's wire protocol to this app's sandbox (its errors
    /// carry Authy's codes, for tests of the protocol itself).
    pub fn authy_client(&self) -> AuthyClient {
        let config = &self.state.config;
        AuthyClient::new(
            config.authy_base_url().as_str(),
            config.authy_api_key.clone(),
            std::time::Duration::from_secs(config.authy_timeout_secs),
        )
    }

    /// The provider new accounts of this app are registered with.
    pub fn provider(&self) -> ProviderKind {
        self.state.providers.default
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// The provider every test app registers new accounts with: `PAYFRIEND_TEST_PROVIDER`
/// (`authy` or `verify`; unset: the app's default, Authy). `make test` runs the suites of
/// accounts, payments, SMS codes and push approval once more with `verify`.
pub const TEST_PROVIDER: &str = "PAYFRIEND_TEST_PROVIDER";

/// The provider asked for by [`TEST_PROVIDER`], if any.
pub fn test_provider() -> Option<ProviderKind> {
    let value = std::env::var(TEST_PROVIDER)
        .ok()
        .filter(|v| !v.is_empty())?;
    Some(
        ProviderKind::parse(&value)
            .unwrap_or_else(|| panic!("{TEST_PROVIDER} is {value:?}: expected authy or verify")),
    )
}

/// With this variable set to a PostgreSQL URL whose role may create databases, every test
/// app gets a fresh PostgreSQL database on that server (`make test` runs the suite once on
/// SQLite, once so); without it, a fresh SQLite file.
pub const TEST_POSTGRES: &str = "PAYFRIEND_TEST_POSTGRES";

/// Whether the PostgreSQL-only tests can run (`PAYFRIEND_TEST_POSTGRES` set). Without it a
/// local run skips them with a note; in CI (`CI=true`) that is a failure, never a silent pass.
pub fn postgres_available(what: &str) -> bool {
    if std::env::var(TEST_POSTGRES).is_ok_and(|v| !v.is_empty()) {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI runs {what} on PostgreSQL: set {TEST_POSTGRES}"
    );
    eprintln!("skipped: set {TEST_POSTGRES} to run {what}");
    false
}

/// A new, empty database for one test app; its URL.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    let Some(admin_url) = std::env::var(TEST_POSTGRES).ok().filter(|v| !v.is_empty()) else {
        return format!("sqlite:{}", dir.join("test.db").display());
    };
    let name = format!("pf_test_{}", uuid::Uuid::new_v4().simple());
    let admin = db::connect(&admin_url).await.expect("PostgreSQL answers");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create a test database");
    admin.close().await;
    let mut url = reqwest::Url::parse(&admin_url).expect("a PostgreSQL URL");
    url.set_path(&name);
    url.to_string()
}

/// Starts an app with the default configuration plus `extra` variables.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn_app_named("127.0.0.1", extra).await
}

/// Starts an app whose `PUBLIC_URL` names it `host` (on its port); the test's client
/// still reaches it on 127.0.0.1. Passkeys need a host name (`localhost`).
pub async fn spawn_app_named(host: &str, extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local address");
    let base_url = format!("http://{addr}");
    let public_url = format!("http://{host}:{}", addr.port());

    let database_url = match extra.iter().find(|(k, _)| *k == "DATABASE_URL") {
        Some((_, url)) => url.to_string(),
        None => fresh_database(dir.path()).await,
    };
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".to_string(), database_url),
        ("PUBLIC_URL".to_string(), public_url),
        ("LEPTOS_SITE_ADDR".to_string(), addr.to_string()),
    ]);
    if let Some(provider) = test_provider() {
        vars.insert(
            "PAYFRIEND_PROVIDER".to_string(),
            provider.as_str().to_string(),
        );
    }
    for (k, v) in extra {
        // `{public_url}` in a value names this app (known only once its port is).
        let public = format!("http://{host}:{}/", addr.port());
        vars.insert(k.to_string(), v.replace("{public_url}", &public));
    }
    let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("valid test config");
    let services = server::prepare(config).await.expect("app starts");
    let router = server::router(&services);
    let state = services.app.clone();
    tokio::spawn(async move {
        let _ = server::serve(listener, router).await;
    });

    TestApp {
        client: browser_like_client(&base_url),
        base_url,
        state,
        sandbox: services.sandbox,
        _dir: dir,
    }
}

/// A client that sends what a browser on one of the app's pages sends with every POST:
/// the page's `Origin` (a request can still set its own).
pub fn browser_like_client(base_url: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        base_url.parse().expect("origin header"),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("http client")
}

/// The session cookie (`name=value`) a response sets, if any.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(sessions::SESSION_COOKIE) && !v.starts_with("payfriend_session=;"))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Registers through the server function, as the form does (a US number, codes by SMS).
pub async fn register(app: &TestApp, email: &str, phone: &str) -> reqwest::Response {
    register_with(app, email, "US", phone, "sms").await
}

/// Registers with the form's country and `via` (`sms` or `call`) as given.
pub async fn register_with(
    app: &TestApp,
    email: &str,
    country: &str,
    phone: &str,
    via: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(Register::PATH))
        .form(&[
            ("email", email),
            ("password", "a long password"),
            ("country", country),
            ("phone", phone),
            ("via", via),
        ])
        .send()
        .await
        .expect("request")
}

/// Messages the sandbox sent to `phone_e164`.
pub async fn messages_to(app: &TestApp, phone_e164: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_messages WHERE phone_e164 = $1")
        .bind(phone_e164)
        .fetch_one(&app.state.db)
        .await
        .expect("count")
}

/// The phone verification code the sandbox holds for `phone_e164` now (on the app's
/// provider's wire).
pub async fn verification_code(app: &TestApp, phone_e164: &str) -> String {
    match app.provider() {
        ProviderKind::Authy => {
            store::verification(&app.state.db, phone_e164)
                .await
                .expect("read")
                .expect("a pending verification")
                .0
        }
        ProviderKind::Verify => sqlx::query_scalar(
            "SELECT code FROM sandbox_verify_verifications WHERE to_e164 = $1 \
             AND status = 'pending' ORDER BY created_at DESC LIMIT 1",
        )
        .bind(phone_e164)
        .fetch_optional(&app.state.db)
        .await
        .expect("read")
        .expect("a pending verification"),
    }
}

/// The SMS codes the sandbox issued for a payment, oldest first: Authy's tokens name it in
/// their action; Verify's verification is stored with the payment (and sends one code
/// again while it is pending).
pub async fn payment_codes(app: &TestApp, payment_id: &str) -> Vec<String> {
    match app.provider() {
        ProviderKind::Authy => sqlx::query_scalar(
            "SELECT code FROM sandbox_tokens WHERE action LIKE $1 ORDER BY created_at",
        )
        .bind(format!(
            "{}%",
            payfriend::server::domain::payments::sms_action_of(
                &PaymentId::parse(payment_id).expect("a payment id")
            )
        ))
        .fetch_all(&app.state.db)
        .await
        .expect("tokens"),
        ProviderKind::Verify => {
            let sent: Vec<(String, i64)> = sqlx::query_as(
                "SELECT v.code, v.sends FROM sandbox_verify_verifications v \
                 JOIN payments p ON p.verification_sid = v.sid WHERE p.id = $1",
            )
            .bind(payment_id)
            .fetch_all(&app.state.db)
            .await
            .expect("verifications");
            // One entry per SMS: Verify sends a pending verification's code again.
            sent.into_iter()
                .flat_map(|(code, sends)| {
                    std::iter::repeat_n(code, usize::try_from(sends).unwrap_or(0))
                })
                .collect()
        }
    }
}

/// Sends a payment through the server function.
pub async fn send_payment(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.client
        .post(app.url(SendPayment::PATH))
        .header("Cookie", cookie)
        .form(&[
            ("payee", "Neville"),
            ("amount", "20"),
            ("idempotency_key", &uuid::Uuid::new_v4().to_string()),
        ])
        .send()
        .await
        .expect("request")
}

/// Sends a payment through the server function; the id of the payment it made (from the
/// redirect to its waiting page: several made in one second cannot be told apart by time).
pub async fn send_payment_id(app: &TestApp, cookie: &str) -> String {
    let sent = send_payment(app, cookie).await;
    sent.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.strip_prefix("/payments/"))
        .expect("redirected to the payment's waiting page")
        .to_string()
}

/// Starts an app with the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Creates a verified user directly in the database; returns (user id, email).
pub async fn verified_user(app: &TestApp, password: &str) -> (UserId, String) {
    let id = UserId::random();
    let email = Email::parse(&format!("{id}@example.com")).expect("an address");
    // Exchange 200-999 and a line number: 8 million numbers, so that the dozens of users a
    // test makes do not share one (10,000 did, now and then).
    let random = uuid::Uuid::new_v4().as_u128();
    let digits = format!("201{}{:04}", 200 + random % 800, (random >> 16) % 10_000);
    let e164 = format!("+1{digits}");
    let phone = Phone {
        e164: &e164,
        country_code: "1",
        national: &digits,
    };
    let provider = app.state.providers.for_new().expect("a provider");
    let authy_id = provider
        .register_user(email.as_str(), phone)
        .await
        .expect("provider user");
    let hash = passwords::hash_password(password.to_string())
        .await
        .expect("hash");
    db::users::insert(
        &app.state.db,
        &db::users::NewUser {
            id: &id,
            email: &email,
            password_hash: &hash,
            phone_e164: &e164,
            country_code: "1",
            national_number: &digits,
            verify_via: "sms",
            provider: provider.kind(),
            verification_sid: None,
        },
        clock::now(),
    )
    .await
    .expect("user");
    db::users::mark_verified(&app.state.db, &id, provider.kind(), authy_id, clock::now())
        .await
        .expect("verified");
    if provider.kind() == ProviderKind::Verify {
        // As every Authy sandbox user has the Authy app, this one adds its phone for push.
        add_push_device(app, &id, &e164).await;
    }
    (id, email.to_string())
}

/// Adds the sandbox phone `e164` as the user's Verify Push device, as the account page and
/// the phone app do it: an access token, the factor made and verified with it, and the
/// `factor.verified` event recorded by the app.
pub async fn add_push_device(app: &TestApp, user_id: &UserId, e164: &str) -> String {
    use payfriend::sandbox::service::verify_handset::{self, Pairing};
    let client = app.state.verify.as_ref().expect("Verify configured");
    let token = client
        .access_token(user_id.as_str(), "Test phone")
        .await
        .expect("an access token");
    let Pairing::Paired { factor_sid, event } = verify_handset::pair(app.sandbox(), e164, &token)
        .await
        .expect("paired")
    else {
        panic!("the token was refused");
    };
    assert_eq!(
        event, "event answered HTTP 200",
        "factor.verified delivered"
    );
    factor_sid
}

/// Stores a pending payment of `amount_cents` for `user_id` whose push request has the
/// provider id `approval_uuid`, without asking the provider; returns its id.
pub async fn insert_pending_payment(
    state: &AppState,
    user_id: &UserId,
    amount_cents: i64,
    approval_uuid: &str,
) -> PaymentId {
    let id = PaymentId::random();
    let now = clock::now();
    db::payments::insert_once(
        &state.db,
        &db::payments::NewPayment {
            id: &id,
            user_id,
            idempotency_key: &uuid::Uuid::new_v4().to_string(),
            payee: &Payee::parse("Neville").expect("a payee"),
            amount_cents,
            currency: "USD",
            expires_at: now + 300,
        },
        now,
    )
    .await
    .expect("payment");
    db::payments::set_approval_uuid(&state.db, &id, approval_uuid)
        .await
        .expect("store uuid");
    id
}

/// The provider's id of a payment's current push request.
pub async fn approval_uuid_of(app: &TestApp, payment_id: &str) -> String {
    sqlx::query_scalar("SELECT approval_uuid FROM payments WHERE id = $1")
        .bind(payment_id)
        .fetch_one(&app.state.db)
        .await
        .expect("a push request")
}

/// Another code of the same length: `code` with its first digit changed.
pub fn wrong_code(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

/// Moves a payment's expiry to `seconds_ago` seconds in the past (it reads as expired).
pub async fn expire_payment(app: &TestApp, id: &str, seconds_ago: i64) {
    sqlx::query("UPDATE payments SET expires_at = $1 WHERE id = $2")
        .bind(clock::now() - seconds_ago)
        .bind(id)
        .execute(&app.state.db)
        .await
        .expect("move the expiry");
}

/// Signs in through the server function; returns the session cookie.
pub async fn log_in(app: &TestApp, email: &str, password: &str) -> String {
    let response = app
        .client
        .post(app.url(LogIn::PATH))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("request");
    match session_cookie(&response) {
        Some(cookie) => cookie,
        None => panic!(
            "no session cookie: {} {:?}",
            response.status(),
            response.text().await
        ),
    }
}

/// What signing and sending a provider callback needs, without the app.
#[derive(Clone)]
pub struct CallbackSender {
    client: reqwest::Client,
    url: String,
    key: String,
}

impl CallbackSender {
    /// `body`, signed as Authy would with `nonce`.
    pub async fn send(&self, body: &str, nonce: &str) -> reqwest::Response {
        let sig = signature::sign(&self.key, nonce, "POST", &self.url, body).expect("sign");
        self.client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Authy-Signature", sig)
            .header("X-Authy-Signature-Nonce", nonce)
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }
}

/// The person presses Approve (`true`) or Deny on the sandbox phone for this push request
/// (an Authy approval request or a Verify challenge); what the sandbox says happened.
pub async fn answer_on_phone(app: &TestApp, request_id: &str, approve: bool) -> String {
    use payfriend::sandbox::service::{handset, verify_handset};
    match app.provider() {
        ProviderKind::Authy => format!(
            "{:?}",
            handset::decide(app.sandbox(), request_id, approve)
                .await
                .expect("answer on the phone")
        ),
        ProviderKind::Verify => format!(
            "{:?}",
            verify_handset::answer(app.sandbox(), request_id, approve)
                .await
                .expect("answer on the phone")
        ),
    }
}

/// Push requests the sandbox received for this user (Authy approval requests, or Verify
/// challenges).
pub async fn pushes_to(app: &TestApp, user_id: &UserId) -> i64 {
    let sql = match app.provider() {
        ProviderKind::Authy => {
            "SELECT COUNT(*) FROM sandbox_approvals a JOIN users u ON u.authy_id = a.authy_id \
             WHERE u.id = $1"
        }
        ProviderKind::Verify => {
            "SELECT COUNT(*) FROM sandbox_verify_challenges WHERE identity = $1"
        }
    };
    sqlx::query_scalar(sql)
        .bind(user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("count")
}

/// The newest code sent to confirm the phone before a change of the account (adding a
/// passkey, whose Authy action starts with `action_prefix`, or a push device).
pub async fn step_up_code(app: &TestApp, user_id: &UserId, action_prefix: &str) -> String {
    match app.provider() {
        ProviderKind::Authy => sqlx::query_scalar(
            "SELECT code FROM sandbox_tokens WHERE action = $1 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(format!("{action_prefix}:{user_id}"))
        .fetch_one(&app.state.db)
        .await
        .expect("a step-up code"),
        ProviderKind::Verify => sqlx::query_scalar(
            "SELECT v.code FROM sandbox_verify_verifications v \
             JOIN users u ON u.verification_sid = v.sid WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("a step-up code"),
    }
}

/// Sends Verify's event `params` to the app, signed with its auth token as Twilio signs
/// them, with the idempotency token `token`.
pub async fn send_verify_event(
    app: &TestApp,
    params: &[(&str, &str)],
    token: &str,
) -> reqwest::Response {
    let settings = app.state.config.verify.as_ref().expect("Verify configured");
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = payfriend::shared::verify_signature::sign(
        settings.auth_token.expose(),
        settings.events_url.as_str(),
        &owned,
    );
    app.client
        .post(app.url("/payments/verify-events"))
        .header("X-Twilio-Signature", signature)
        .header("I-Twilio-Idempotency-Token", token)
        .form(&owned)
        .send()
        .await
        .expect("request")
}
