//! Everything that runs only on the server.

pub mod authy;
pub mod config;
pub mod db;
pub mod telemetry;

use std::sync::Arc;

use anyhow::Context as _;
use axum::{extract::FromRef, extract::State, http::StatusCode, routing::get, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::AnyPool;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::app::{shell, App};
use config::Config;

/// Everything a request handler or server function needs, cloned cheaply per request.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: AnyPool,
    pub config: Arc<Config>,
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
    Ok(AppState {
        leptos_options: config.leptos_options.clone(),
        db,
        config: Arc::new(config),
    })
}

/// The whole HTTP surface of the app: pages, server functions, plain routes, static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `router` on `listener` until SIGINT or SIGTERM, then finishes in-flight requests.
pub async fn serve(listener: TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
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
