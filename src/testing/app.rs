//! The real app on port 0 with its own temporary database, and what a test needs to talk to it.

use std::collections::HashMap;

use crate::sandbox::service::Sandbox;
use crate::server::{
    self,
    config::{Config, ProviderKind},
    db,
    domain::sessions,
    providers::authy::AuthyClient,
    AppState,
};
use tokio::net::TcpListener;

use super::*;

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

/// Starts an app with the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
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
