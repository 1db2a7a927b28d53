//! The HTTP surface: pages, server functions, the webhook, the sandbox, static files, and
//! the layers around them.

use std::{sync::OnceLock, time::Duration};

use axum::{
    extract::{Request, State},
    handler::Handler as _,
    http::StatusCode,
    middleware,
    routing::{get, post},
    Router,
};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use sqlx::AnyPool;
use tower_http::{
    compression::{
        predicate::{DefaultPredicate, Predicate as _, SizeAbove},
        CompressionLayer,
    },
    limit::RequestBodyLimitLayer,
    services::ServeDir,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::app::{shell, App};
use crate::server::{
    db,
    domain::webhook,
    http::middleware::{own_reactive_root, sandbox_gate, server_fn_status},
    http::request,
    http::web_guard,
    AppState, Services,
};

/// Answers smaller than this go uncompressed.
const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// The app's page routes, found once per process. Finding them renders the app with
/// resource loading switched off by a process-wide flag in leptos_server, so a second
/// search while another app in the same process (tests, two instances in one process)
/// renders a page would leave that page's resources unloaded and its response hanging.
fn route_list() -> &'static [AxumRouteListing] {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

/// Finds the app's page routes now, so that [`router`] does not wait for them.
pub fn find_routes() {
    route_list();
}

/// The whole HTTP surface of the app: pages, server functions, plain routes, static files.
pub fn router(services: &Services) -> Router {
    let state = services.app.clone();
    let routes = route_list().to_vec();
    let options = state.leptos_options.clone();
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/payments/callback", post(webhook::payment_callback))
        .route(
            "/payments/verify-events",
            post(crate::server::providers::verify::events::verify_event),
        );
    if let Some(sandbox) = &services.sandbox {
        if sandbox.serves_authy() {
            router = router.nest("/sandbox/authy", sandbox.router());
        }
        if sandbox.verify.is_some() {
            router = router.nest("/sandbox/verify/v2", sandbox.verify_router());
        }
    }
    // Pages and server functions run with the page policy, and the sandbox's own state
    // for its phone page.
    let sandbox = services.sandbox.clone().map(std::sync::Arc::new);
    let page_context = move || {
        request::provide_page_context();
        if let Some(sandbox) = &sandbox {
            leptos::prelude::provide_context(sandbox.clone());
        }
    };
    // Built files and `public/` straight from the site directory (precompressed `.br`/`.gz`
    // beside them when the browser accepts those); anything else is the app's not-found
    // page (with the page policy, like every page). Not leptos_axum's own file handler: it
    // serves each file inside a reactive owner made as a child of whatever owner the worker
    // thread last ran, and copies that owner's response headers onto the file, taking them
    // from the page being rendered beside it (a page then lost its security policy, cookies
    // or status under concurrent requests).
    let not_found = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        page_context.clone(),
        shell,
    );
    let files = ServeDir::new(&*options.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(not_found.with_state(state.clone()));
    let limits = (
        RequestBodyLimitLayer::new(usize::try_from(state.config.max_body_bytes).unwrap_or(65_536)),
        TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.request_timeout_secs),
        ),
    );
    router
        .leptos_routes_with_context(&state, routes, page_context, move || shell(options.clone()))
        .route_layer(middleware::from_fn(own_reactive_root))
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(state.clone(), sandbox_gate))
        .layer(middleware::from_fn(server_fn_status))
        .layer(limits)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web_guard::guard,
        ))
        // Pages and larger answers compressed (brotli or gzip, as the browser accepts);
        // small ones such as the status poll's are not worth the time. Static files are
        // precompressed by `make release` and served as they are.
        .layer(
            CompressionLayer::new()
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE_BYTES))),
        )
        // Paths only, with digit runs that could be codes masked: query strings and the
        // provider API's paths can carry codes, which never go to the logs.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let path = web_guard::loggable_path(request.uri().path());
                tracing::info_span!("http", method = %request.method(), path = %path)
            }),
        )
        .with_state(state)
}

/// `GET /readyz`: 200 when this instance should be sent requests (started, not shutting
/// down, database answering), 503 with the reason otherwise.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if !state.readiness.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, state.readiness.phase());
    }
    match db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

/// What every request gets while the instance starts (before the app's routes exist).
pub fn starting() -> Router {
    Router::new().fallback(|| async {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "1")],
            "starting: applying migrations",
        )
    })
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
