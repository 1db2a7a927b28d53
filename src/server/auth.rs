//! Sessions and passwords.
//!
//! A session is a random token in an HttpOnly cookie; the database stores only
//! HMAC(SESSION_SECRET, token), so a copy of the database cannot be used to sign in.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use axum::http::{header, request::Parts, HeaderValue};
use hmac::{Hmac, Mac};
use leptos::prelude::use_context;
use sha2::Sha256;

use super::{config::Secret, db, db::users::UserRow, internal, AppState};
use crate::error::AppError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "payfriend_session";

/// Hashes a password with argon2id, off the async executor.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| internal("password hashing task", e))?
    .map_err(|e| internal("password hashing", e))
}

/// Checks a password against a stored hash, off the async executor. With no hash (no such
/// user) it still does the same work, so timing does not tell whether the email exists.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let decoy;
        let stored = match &hash {
            Some(h) => h.as_str(),
            None => {
                let salt = SaltString::generate(&mut OsRng);
                decoy = Argon2::default()
                    .hash_password(b"not-a-password", &salt)
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                decoy.as_str()
            }
        };
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && hash.is_some()
    })
    .await
    .map_err(|e| internal("password check task", e))
}

/// The stored id of a session token (HMAC accepts keys of any length, so this is always
/// `Some`; the type keeps the request path free of panics all the same).
fn session_id(secret: &Secret, token: &str) -> Option<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes()).ok()?;
    mac.update(token.as_bytes());
    Some(
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

fn set_cookie(state: &AppState, value: &str, max_age: Option<u64>) {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let mut cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if state.config.secure_cookies() {
        cookie.push_str("; Secure");
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.append_header(header::SET_COOKIE, v);
    }
}

fn cookie_token() -> Option<String> {
    let parts = use_context::<Parts>()?;
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Starts a new session for `user_id` (a fresh id at every sign-in) and sets its cookie.
pub async fn start_session(state: &AppState, user_id: &str) -> Result<(), AppError> {
    // Whatever session the browser had before is over.
    end_session(state).await?;
    let token = Secret::random(43);
    let id = session_id(&state.config.session_secret, token.expose())
        .ok_or_else(|| internal("session id", "HMAC refused the key"))?;
    db::users::insert_session(&state.db, &id, user_id, db::now())
        .await
        .map_err(|e| internal("create session", e))?;
    set_cookie(state, token.expose(), None);
    Ok(())
}

/// Ends the current session, if any, and clears its cookie.
pub async fn end_session(state: &AppState) -> Result<(), AppError> {
    let id = cookie_token().and_then(|token| session_id(&state.config.session_secret, &token));
    if let Some(id) = id {
        db::users::delete_session(&state.db, &id)
            .await
            .map_err(|e| internal("delete session", e))?;
        set_cookie(state, "", Some(0));
    }
    Ok(())
}

/// The signed-in user, if any; `SessionExpired` for a session that was idle too long
/// (PSD2 RTS 4(3)(d)).
pub async fn current_user(state: &AppState) -> Result<Option<UserRow>, AppError> {
    let Some(id) = cookie_token().and_then(|t| session_id(&state.config.session_secret, &t)) else {
        return Ok(None);
    };
    let Some((user, last_seen_at)) = db::users::session_user(&state.db, &id)
        .await
        .map_err(|e| internal("read session", e))?
    else {
        return Ok(None);
    };
    let now = db::now();
    let idle = state.config.session_idle_secs as i64;
    if now - last_seen_at > idle {
        // The session is over; it stays (unusable) so that every page can say why, until
        // the next sign-in replaces it or the sweeper removes it.
        return Err(AppError::SessionExpired);
    }
    // One write every few seconds is enough to keep the idle clock right.
    if now - last_seen_at >= 5 {
        db::users::touch_session(&state.db, &id, now)
            .await
            .map_err(|e| internal("touch session", e))?;
    }
    Ok(Some(user))
}

/// The signed-in user, or `NotSignedIn`.
pub async fn require_user(state: &AppState) -> Result<UserRow, AppError> {
    current_user(state).await?.ok_or(AppError::NotSignedIn)
}

/// The signed-in user with a verified phone, or the error that says what is missing.
pub async fn require_verified_user(state: &AppState) -> Result<UserRow, AppError> {
    let user = require_user(state).await?;
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_another_does_not() {
        let hash = hash_password("correct horse battery".into())
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse battery".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(!verify_password("wrong".into(), Some(hash))
            .await
            .expect("verify"));
    }

    #[tokio::test]
    async fn no_stored_hash_never_verifies() {
        assert!(!verify_password("not-a-password".into(), None)
            .await
            .expect("verify"));
    }

    #[test]
    fn session_ids_depend_on_the_secret() {
        let a = session_id(&Secret::new("a".repeat(32)), "token").expect("id");
        let b = session_id(&Secret::new("b".repeat(32)), "token").expect("id");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }
}
