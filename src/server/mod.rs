//! Everything that runs only on the server.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod authy;
pub mod client_limits;
pub mod config;
pub mod db;
pub mod limits;
pub mod payments;
pub mod phone;
pub mod sandbox;
pub mod security;
pub mod telemetry;
pub mod webhook;

use std::{fmt, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{
    extract::{FromRef, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::AnyPool;
use tokio::net::TcpListener;
use tower_http::{limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer};

use crate::app::{shell, App};
use crate::error::AppError;
use authy::{AuthyClient, AuthyError};
use config::Config;

/// Everything a request handler or server function needs, cloned cheaply per request.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: AnyPool,
    pub config: Arc<Config>,
    /// The provider client (pointed at the sandbox when no provider is configured).
    pub authy: AuthyClient,
    /// A general HTTP client (the sandbox uses it to deliver callbacks).
    pub http: reqwest::Client,
    /// The failure the sandbox acts out (sandbox only).
    pub sandbox_fault: sandbox::FaultSwitch,
    /// Password hashing, bounded to one hash per core.
    pub passwords: Arc<auth::Passwords>,
    /// Per-client-address token buckets (this instance's).
    pub client_limiter: Arc<client_limits::ClientLimiter>,
    /// Callbacks refused before their signature was checked, counted per minute.
    pub callback_refusals: Arc<webhook::RefusalCounter>,
}

/// Connects to the database, applies migrations and returns the state the router needs.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let db = db::connect(&config.database_url).await.with_context(|| {
        format!(
            "cannot open the database ({})",
            config.database_url_for_logs()
        )
    })?;
    db::migrate(&db)
        .await
        .context("cannot apply database migrations")?;
    let timeout = Duration::from_secs(config.authy_timeout_secs);
    let authy = AuthyClient::new(
        config.authy_base_url().as_str(),
        config.authy_api_key.clone(),
        timeout,
    );
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .context("cannot build the HTTP client")?;
    let sandbox_fault = sandbox::FaultSwitch::new(config.sandbox_fault);
    let passwords = auth::Passwords::new()
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare password hashing: {e}"))?;
    let client_limiter = client_limits::ClientLimiter::new(config.client_limits);
    let state = AppState {
        passwords: Arc::new(passwords),
        client_limiter: Arc::new(client_limiter),
        callback_refusals: webhook::RefusalCounter::shared(),
        leptos_options: config.leptos_options.clone(),
        db,
        config: Arc::new(config),
        authy,
        http,
        sandbox_fault,
    };
    spawn_background(state.clone());
    Ok(state)
}

/// Runs [`sweep`] every few seconds while the database is open.
fn spawn_background(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !state.db.is_closed() {
            tick.tick().await;
            sweep(&state).await;
        }
    });
}

/// Background upkeep: stores the expiry of payments nobody answered, asks the provider
/// about pending payments whose callback may have been lost, and forgets what can no longer
/// matter (callback nonces outside the time window, sessions idle for a day, codes sent
/// before the rate-limit window).
pub async fn sweep(state: &AppState) {
    payments::expire_due(state).await;
    payments::reconcile(state).await;
    let now = db::now();
    let config = &state.config;
    let nonce_horizon = now - 2 * config.authy_callback_tolerance_secs as i64;
    if let Err(e) = db::payments::forget_nonces_before(&state.db, nonce_horizon).await {
        tracing::warn!(error = %e, "nonce cleanup failed");
    }
    if let Err(e) = db::users::delete_sessions_idle_since(&state.db, now - 86_400).await {
        tracing::warn!(error = %e, "session cleanup failed");
    }
    // Codes sent count for the per-user/phone window and for the global hourly budget.
    let code_horizon = now - (config.code_send_window_secs as i64).max(3600);
    if let Err(e) = db::security::forget_code_sends_before(&state.db, code_horizon).await {
        tracing::warn!(error = %e, "code-send cleanup failed");
    }
    accounts::forget_unverified(state, now).await;
    webhook::flush_refusals(state, now).await;
    state.client_limiter.forget_full(std::time::Instant::now());
}

/// The client's address (see [`client_limits::client_address`]), when the server was
/// started with connection info.
pub fn client_ip() -> Option<std::net::IpAddr> {
    let parts = use_context::<axum::http::request::Parts>()?;
    let state = use_context::<AppState>()?;
    client_limits::client_of(&parts, &state.config.trusted_proxies)
}

/// Takes a token from the calling client's bucket for `action` (429 when it is empty).
pub fn limit_client(state: &AppState, action: client_limits::Action) -> Result<(), AppError> {
    client_limits::check(&state.client_limiter, action, client_ip())
}

/// The whole HTTP surface of the app: pages, server functions, plain routes, static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/payments/callback", post(webhook::payment_callback));
    if state.config.sandbox_enabled() {
        router = router.nest("/sandbox/authy", sandbox::api::routes(state.clone()));
    }
    let limits = (
        RequestBodyLimitLayer::new(usize::try_from(state.config.max_body_bytes).unwrap_or(65_536)),
        TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.request_timeout_secs),
        ),
    );
    router
        .leptos_routes_with_context(&state, routes, security::provide_page_policy, move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), sandbox_gate))
        .layer(middleware::from_fn(server_fn_status))
        .layer(limits)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        // Paths only, with digit runs that could be codes masked: query strings and the
        // provider API's paths can carry codes, which never go to the logs.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let path = security::loggable_path(request.uri().path());
                tracing::info_span!("http", method = %request.method(), path = %path)
            }),
        )
        .with_state(state)
}

/// With a real provider configured, every sandbox path is gone (its server functions
/// answer `NotFound` themselves, see [`sandbox_state`]).
async fn sandbox_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/sandbox") && !state.config.sandbox_enabled() {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    next.run(request).await
}

/// The app state inside a server function.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("app state", "not in context"))
}

/// Gives a server function's error the HTTP status it deserves. Leptos answers every
/// server function error with 500; the error (always an [`AppError`], arguments that could
/// not be decoded included) knows better: 400 for a form error, 404, 429, 503...
/// A plain HTML form post is answered with a redirect and is left alone.
async fn server_fn_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response
            .headers()
            .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return (parts, axum::body::Body::empty()).into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(secs) = error.retry_after_secs() {
            parts
                .headers
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
    }
    (parts, axum::body::Body::from(bytes)).into_response()
}

/// The app state inside a sandbox server function; `NotFound` with a real provider.
pub fn sandbox_state() -> Result<AppState, AppError> {
    let state = state()?;
    if state.config.sandbox_enabled() {
        Ok(state)
    } else {
        Err(AppError::NotFound)
    }
}

/// Logs an internal failure with its context and returns the error the browser may see.
pub fn internal(context: &str, error: impl fmt::Display) -> AppError {
    tracing::error!(context, error = %error, "internal error");
    AppError::Internal
}

/// Logs a provider failure and returns a message the user can act on.
pub fn provider_error(context: &str, error: AuthyError) -> AppError {
    tracing::warn!(context, error = %error, "provider call failed");
    AppError::ProviderUnavailable(match error {
        AuthyError::Api { code, .. } if code == "60003" => {
            "too many requests, please wait a minute and try again".to_string()
        }
        AuthyError::Api { .. } => "the request was refused, please try again".to_string(),
        AuthyError::Unavailable(_) => "please try again in a minute".to_string(),
    })
}

/// Serves `router` on `listener` until SIGINT or SIGTERM, then finishes in-flight requests.
///
/// Every connection gets `TCP_NODELAY`: a response written in more than one segment would
/// otherwise wait for the client's delayed ACK (Nagle's algorithm), about 40 ms for every
/// answer after the first on a kept-alive connection.
pub async fn serve(listener: TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        without_delay(listener),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
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

/// Starts the app as configured: the body of `main`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let addr = config.leptos_options.site_addr;
    let public_url = config.public_url.clone();
    let state = prepare(config).await?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("Payfriend is running: open {public_url} (listening on {addr})");
    serve(listener, router(state)).await?;
    tracing::info!("Payfriend stopped");
    Ok(())
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn healthz(State(db): State<AnyPool>) -> (StatusCode, &'static str) {
    match db::ping(&db).await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
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
