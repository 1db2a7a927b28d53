//! Start-up and shutdown: connect and migrate, build the state, listen, serve until a
//! signal, then finish the requests in flight.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::Context as _;
use axum::Router;
use sqlx::AnyPool;
use tokio::net::TcpListener;

use crate::sandbox::service::{self as sandbox, Sandbox};
use crate::server::{
    config::{Config, Provider as ConfiguredAuthy, ProviderKind},
    db,
    domain::passwords,
    domain::webhook,
    http::readiness::Readiness,
    http::routes,
    jobs,
    limits::client_limits,
    providers::authy::AuthyClient,
    providers::verify::VerifyClient,
    providers::{Provider, Providers},
    AppState, Services, Shared,
};

/// The sandbox's settings when this configuration uses it (no real provider), taken from
/// the app's configuration the way a provider is set up: the keys, the callback address,
/// the client's timeout.
fn sandbox_settings(config: &Config) -> Option<sandbox::Settings> {
    config.sandbox_enabled().then(|| sandbox::Settings {
        api_key: config.authy_api_key.clone(),
        callback_url: config.authy_callback_url.clone(),
        fault: config.sandbox_fault,
        client_timeout_secs: config.authy_timeout_secs,
        serves_authy: config.provider == ConfiguredAuthy::Sandbox,
        verify: config
            .verify
            .as_ref()
            .filter(|v| v.sandbox)
            .map(|v| sandbox::VerifySandbox {
                account_sid: v.account_sid.to_string(),
                auth_token: v.auth_token.clone(),
                api_key: v
                    .api_key
                    .as_ref()
                    .map(|(sid, secret)| (sid.to_string(), secret.clone())),
                service_sid: v.service_sid.to_string(),
                base_url: v.base_url.to_string(),
                events_url: v.events_url.clone(),
                friendly_name: "Payfriend".into(),
            }),
    })
}

/// Connects to the database, applies migrations and returns what the router needs.
pub async fn prepare(config: Config) -> anyhow::Result<Services> {
    prepare_with(config, Arc::new(Readiness::starting())).await
}

/// [`prepare`], marking `readiness` ready when done.
pub async fn prepare_with(config: Config, readiness: Arc<Readiness>) -> anyhow::Result<Services> {
    let mut pool = db::PoolSettings::default_for(&config.database_url);
    if let Some(n) = config.database_max_connections {
        pool.max_connections = n;
    }
    pool.statement_timeout = Some(Duration::from_secs(config.database_statement_timeout_secs));
    // What needs no database (the HTTP clients, each loading its TLS roots; the passkey
    // relying party) is made on a thread of its own while the database opens.
    let clients = tokio::task::spawn_blocking({
        let config = config.clone();
        move || Clients::new(&config)
    });
    let (db, writer) = open_database(&config, pool).await?;
    let Clients {
        providers,
        verify,
        http,
        passkeys,
    } = clients.await.context("cannot build the HTTP clients")??;
    let sandbox = sandbox_settings(&config).map(|s| Sandbox::new(s, db.clone(), http));
    warn_about_the_sandbox(&config);
    let passwords = passwords::Passwords::new()
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare password hashing: {e}"))?;
    let client_limiter =
        client_limits::ClientLimiter::new(config.client_limits, config.ipv6_client_prefix);
    let state = AppState::new(Shared {
        passwords: Arc::new(passwords),
        client_limiter: Arc::new(client_limiter),
        callback_refusals: webhook::RefusalCounter::shared(),
        instance: uuid::Uuid::new_v4().to_string().into(),
        passkeys,
        leptos_options: config.leptos_options.clone(),
        readers: db::readers::Readers::new(
            db::ConnectionSetup::new(&config.database_url, pool.statement_timeout),
            pool.readers(),
        ),
        db,
        callbacks: crate::server::db::group_commit::CallbackRecorder::start(
            &config.database_url,
            writer.clone(),
        ),
        writer,
        config: Arc::new(config),
        providers,
        verify,
        readiness: readiness.clone(),
    });
    jobs::spawn_background(state.clone());
    readiness.mark_ready();
    Ok(Services {
        app: state,
        sandbox,
    })
}

/// The pool first (on a fresh SQLite file it creates the file, in WAL mode), then the
/// migrations (over a connection of their own, [`db::migrate_at`]) beside, on SQLite, the
/// writer's connection of its own ([`db::own_writer`]). The pool stays open meanwhile: the
/// last connection to a SQLite file to close writes its WAL back into the file and syncs it.
async fn open_database(
    config: &Config,
    pool: db::PoolSettings,
) -> anyhow::Result<(AnyPool, AnyPool)> {
    let url = &config.database_url;
    let db = db::connect_with(url, pool).await.with_context(|| {
        format!(
            "cannot open the database ({})",
            config.database_url_for_logs()
        )
    })?;
    let (_, writer) = tokio::try_join!(
        async {
            db::migrate_at(url)
                .await
                .context("cannot apply database migrations")
        },
        async {
            db::own_writer(url, pool)
                .await
                .context("cannot open the database's writer connection")
        },
    )?;
    let writer = writer.unwrap_or_else(|| db.clone());
    Ok((db, writer))
}

/// What the app talks to besides its database, none of which needs it.
struct Clients {
    providers: Providers,
    verify: Option<Arc<VerifyClient>>,
    /// The sandbox's client for delivering callbacks.
    http: reqwest::Client,
    passkeys: Option<Arc<webauthn_rs::Webauthn>>,
}

impl Clients {
    fn new(config: &Config) -> anyhow::Result<Clients> {
        let timeout = Duration::from_secs(config.authy_timeout_secs);
        let authy: Option<Arc<dyn Provider>> =
            (matches!(config.provider, ConfiguredAuthy::Remote(_))
                || config.provider_kind == ProviderKind::Authy
                || config.sandbox_enabled())
            .then(|| {
                Arc::new(AuthyClient::new(
                    config.authy_base_url().as_str(),
                    config.authy_api_key.clone(),
                    timeout,
                )) as Arc<dyn Provider>
            });
        let verify = config
            .verify
            .as_ref()
            .map(|settings| Arc::new(VerifyClient::new(settings, timeout)));
        let providers = Providers {
            default: config.provider_kind,
            authy,
            verify: verify.clone().map(|v| v as Arc<dyn Provider>),
        };
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Clients {
            providers,
            verify,
            http,
            passkeys: crate::server::domain::passkeys::relying_party(&config.public_url),
        })
    }
}

/// The sandbox hands out every phone's codes and approves any push request: say so when
/// the network can reach it, and say why it is off when it is not mounted.
fn warn_about_the_sandbox(config: &Config) {
    let addr = config.leptos_options.site_addr;
    if config.sandbox_exposed() {
        tracing::warn!(
            "DEVELOPMENT SANDBOX EXPOSED: PAYFRIEND_ENV=development and this server listens on \
             {addr} (PUBLIC_URL {}): anyone who can reach it reads every phone's codes at \
             /sandbox/phone and approves any payment. Use it on a trusted network only.",
            config.public_url
        );
    } else if config.provider == ConfiguredAuthy::Sandbox
        && config.provider_kind == ProviderKind::Authy
        && !config.sandbox_enabled()
    {
        tracing::error!(
            "no provider: AUTHY_API_URL is not set, and the built-in sandbox is not mounted \
             because this server listens on {addr}, which the network can reach (it would \
             give anyone the codes and the push approvals). Set AUTHY_API_URL and \
             AUTHY_API_KEY, listen on 127.0.0.1, or set PAYFRIEND_ENV=development to expose \
             the sandbox on purpose. Codes and push requests fail until then."
        );
    }
}

/// Starts the app as configured: the body of `main`. It listens at once and answers 503
/// (`/readyz` included) until migrations are applied and the app's routes exist.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let addr = config.leptos_options.site_addr;
    let public_url = config.public_url.clone();
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let readiness = Arc::new(Readiness::starting());
    let app: Arc<OnceLock<Router>> = Arc::new(OnceLock::new());
    let server = tokio::spawn(serve_with(listener, switch(app.clone()), readiness.clone()));
    // The app's page routes are found (by rendering it) on a thread of their own meanwhile.
    let finding_routes = tokio::task::spawn_blocking(routes::find_routes);
    let services = match prepare_with(config, readiness).await {
        Ok(services) => services,
        Err(e) => {
            server.abort();
            return Err(e);
        }
    };
    // A panic there would come again, and be reported, in `router`.
    let _ = finding_routes.await;
    let _ = app.set(routes::router(&services));
    tracing::info!("Payfriend is running: open {public_url} (listening on {addr})");
    server.await.context("the server task failed")??;
    tracing::info!("Payfriend stopped");
    Ok(())
}

/// A router that answers as [`routes::starting`] until `app` is set, then as `app`.
fn switch(app: Arc<OnceLock<Router>>) -> Router {
    use tower::ServiceExt as _;
    let starting = routes::starting();
    Router::new().fallback_service(tower::service_fn(move |request: axum::extract::Request| {
        let router = app.get().unwrap_or(&starting).clone();
        router.oneshot(request)
    }))
}

/// Serves `router` on `listener` until SIGINT or SIGTERM, then finishes in-flight requests.
///
/// Every connection gets `TCP_NODELAY`: a response written in more than one segment would
/// otherwise wait for the client's delayed ACK (Nagle's algorithm), about 40 ms for every
/// answer after the first on a kept-alive connection.
pub async fn serve(listener: TcpListener, router: Router) -> std::io::Result<()> {
    serve_with(listener, router, Arc::new(Readiness::starting())).await
}

/// [`serve`], marking `readiness` stopping as soon as the shutdown signal arrives.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    readiness: Arc<Readiness>,
) -> std::io::Result<()> {
    axum::serve(
        without_delay(listener),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        readiness.mark_stopping();
    })
    .await
}

/// The listener, setting `TCP_NODELAY` on every connection it accepts.
pub fn without_delay(
    listener: TcpListener,
) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt as _;
    listener.tap_io(set_nodelay)
}

fn set_nodelay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
