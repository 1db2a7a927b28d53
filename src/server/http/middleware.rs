//! Middlewares of the app's own: the sandbox's gate, server-function statuses, and each
//! request's own reactive root.

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};

use leptos::reactive::{computed::ScopedFuture, owner::Owner};

use crate::error::AppError;
use crate::server::AppState;

/// Runs the request under a reactive root of its own. leptos_axum makes a server
/// function's owner with `Owner::new()`, a child of whatever owner the worker thread was
/// left with by the request it ran before: a context lookup that does not find its type
/// (the page nonce, in every server function) then climbs into that other request's
/// owner. Its contexts are not this request's; worse, if that request ends during the
/// climb, the lookup drops the last reference to its owner, whose cleanup waits for the
/// lock the lookup holds on this one: the worker thread deadlocks (seen under the bench's
/// load: the server stopped answering). Under this root, the climb ends here.
pub(crate) async fn own_reactive_root(request: Request, next: Next) -> Response {
    let root = Owner::new_root(None);
    root.with(|| ScopedFuture::new_untracked(next.run(request)))
        .await
}

/// With a real provider configured, every sandbox path is gone (its server functions
/// answer `NotFound` themselves: the sandbox is not in their context).
pub(crate) async fn sandbox_gate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/sandbox") && !state.config.sandbox_enabled() {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    next.run(request).await
}

/// Gives a server function's error the HTTP status it deserves. Leptos answers every
/// server function error with 500; the error (always an [`AppError`], arguments that could
/// not be decoded included) knows better: 400 for a form error, 404, 429, 503...
/// A plain HTML form post is answered with a redirect and is left alone.
pub(crate) async fn server_fn_status(request: Request, next: Next) -> Response {
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
