//! Sessions: a random token in an HttpOnly cookie; the database stores only
//! HMAC(SESSION_SECRET, token), so a copy of the database cannot be used to sign in.
//!
//! Nothing here reads the request: the server-function layer (`request`) hands over a
//! [`Caller`] (the client's address, the cookie, and a page render's session memo).

use crate::server::OrInternal;
use std::{net::IpAddr, sync::Arc};

use axum::http::{header, HeaderValue};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Mutex;

use crate::server::{
    config::Secret,
    db,
    entities::{Session, User},
    internal, AppState,
};
use crate::shared::clock;
use crate::{error::AppError, model::UserId};

/// The session cookie's name over plain http (development).
pub const SESSION_COOKIE: &str = "payfriend_session";
/// The session cookie's name over https: the `__Host-` prefix makes browsers refuse it
/// unless it is Secure, for this host only and for every path.
pub const SECURE_SESSION_COOKIE: &str = "__Host-payfriend_session";

/// The session cookie's name for this app.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies() {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The stored id of a session token (HMAC accepts keys of any length, so this is always
/// `Some`; the type keeps the request path free of panics all the same).
pub(crate) fn session_id(secret: &Secret, token: &str) -> Option<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes()).ok()?;
    mac.update(token.as_bytes());
    let mut id = String::with_capacity(64);
    for b in mac.finalize().into_bytes() {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    Some(id)
}

/// The stored id of the caller's session, if the request carried a session cookie.
pub(crate) fn caller_session_id(state: &AppState, caller: &Caller) -> Option<String> {
    caller
        .session_token
        .as_deref()
        .and_then(|t| session_id(&state.config.session_secret, t))
}

/// `SessionExpired` for a session idle too long (PSD2 RTS 4(3)(d)) or signed in longer
/// ago than `SESSION_MAX_SECS`.
pub(crate) fn check_session_times(
    state: &AppState,
    created_at: i64,
    last_seen_at: i64,
    now: i64,
) -> Result<(), AppError> {
    let idle = state.config.session_idle_secs as i64;
    let max_age = state.config.session_max_secs as i64;
    if now - last_seen_at > idle || now - created_at > max_age {
        // The session is over; it stays (unusable) so that every page can say why, until
        // the next sign-in replaces it or the sweeper removes it.
        return Err(AppError::SessionExpired);
    }
    Ok(())
}

/// Who is asking, as the server-function layer read it from the request: the domain
/// reads nothing from a hidden request context.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The client's address (see `client_limits::client_address`).
    pub client: Option<IpAddr>,
    /// The value of the session cookie, if the request had one.
    pub session_token: Option<String>,
    /// The page render's session memo, when the request renders a page (see
    /// [`SessionOfPage`]).
    pub page: Option<SessionOfPage>,
}

impl Caller {
    /// The caller of a request with these headers, for this app's cookie name.
    pub fn from_request(
        state: &AppState,
        headers: &axum::http::HeaderMap,
        client: Option<IpAddr>,
    ) -> Caller {
        let name = cookie_name(state);
        let session_token = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.to_string())
            .filter(|v| !v.is_empty() && v.len() <= 128);
        Caller {
            client,
            session_token,
            page: None,
        }
    }
}

/// The `Set-Cookie` values the domain wants sent with the answer.
#[derive(Debug, Default)]
pub struct CookieJar(Vec<HeaderValue>);

impl CookieJar {
    /// The values to send, in order.
    pub fn into_values(self) -> Vec<HeaderValue> {
        self.0
    }

    fn set_session(&mut self, state: &AppState, value: &str, max_age: Option<u64>) {
        let name = cookie_name(state);
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if state.config.secure_cookies() {
            cookie.push_str("; Secure");
        }
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            self.0.push(v);
        }
    }
}

/// Starts a new session for `user_id` (a fresh id at every sign-in) and sets its cookie.
pub async fn start_session(
    state: &AppState,
    caller: &Caller,
    jar: &mut CookieJar,
    user_id: &UserId,
) -> Result<(), AppError> {
    // Whatever session the browser had before is over.
    end_session(state, caller, jar).await?;
    let token = Secret::random(43);
    let id = session_id(&state.config.session_secret, token.expose())
        .ok_or_else(|| internal("session id", "HMAC refused the key"))?;
    db::users::insert_session(&state.db, &id, user_id, clock::now())
        .await
        .or_internal("create session")?;
    jar.set_session(state, token.expose(), None);
    Ok(())
}

/// Ends the caller's session, if any, and clears its cookie.
pub async fn end_session(
    state: &AppState,
    caller: &Caller,
    jar: &mut CookieJar,
) -> Result<(), AppError> {
    let id = caller
        .session_token
        .as_deref()
        .and_then(|token| session_id(&state.config.session_secret, token));
    if let Some(id) = id {
        db::users::delete_session(&state.db, &id)
            .await
            .or_internal("delete session")?;
        jar.set_session(state, "", Some(0));
    }
    Ok(())
}

/// What a request says about the person behind the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// The person did something (a page, a form): it keeps the session alive.
    Person,
    /// The page checks on its own (the 3-second status poll): the session's idle clock
    /// keeps running (PSD2 RTS 4(3)(d) speaks of the payer's activity).
    Poll,
}

/// The signed-in user, if any; `SessionExpired` for a session idle too long (PSD2 RTS
/// 4(3)(d)) or signed in longer ago than `SESSION_MAX_SECS`.
pub async fn session_user(
    state: &AppState,
    caller: &Caller,
    activity: Activity,
) -> Result<Option<User>, AppError> {
    Ok(session(state, caller, activity).await?.map(|s| s.user))
}

/// The caller's session (its user and times), read as [`session_user`] says.
async fn session(
    state: &AppState,
    caller: &Caller,
    activity: Activity,
) -> Result<Option<Session>, AppError> {
    let Some(id) = caller_session_id(state, caller) else {
        return Ok(None);
    };
    // The render's first ask holds its memo while it reads (and touches) the session: the
    // others, which a render starts at the same moment, wait for that answer instead of
    // each reading it too.
    let mut held = match &caller.page {
        Some(page) => Some(page.0.lock().await),
        None => None,
    };
    let earlier = held
        .as_deref()
        .and_then(Option::as_ref)
        .filter(|(held_id, _)| *held_id == id)
        .map(|(_, session)| session.clone());
    let read = match earlier {
        Some(session) => Some(session),
        None => {
            let mut reader = state.readers.get().await.or_internal("read session")?;
            let read = db::users::session_user(reader.conn(), &id).await;
            reader.give_back(read).or_internal("read session")?
        }
    };
    let Some(mut session) = read else {
        return Ok(None);
    };
    let now = clock::now();
    check_session_times(state, session.created_at, session.last_seen_at, now)?;
    // One write every few seconds is enough to keep the idle clock right.
    if activity == Activity::Person && now - session.last_seen_at >= 5 {
        db::users::touch_session(&state.db, &id, now)
            .await
            .or_internal("touch session")?;
        session.last_seen_at = now;
    }
    if let Some(held) = held.as_mut() {
        **held = Some((id, session.clone()));
    }
    Ok(Some(session))
}

/// A page render's one reading of its session. A page asks for its user in several
/// places (the nav, the guard, the page's own list), each a server function run in place
/// while the page renders, and often at the same moment: they share the first answer
/// instead of reading it again (the lock is held across that first read, so the others
/// wait for it). Provided only while a page renders (a GET), which changes nothing about
/// the session or its user but the activity time (kept here too); server functions called
/// by the browser, which do change them, read the database every time. `request`
/// provides it and puts it in the page's [`Caller`].
#[derive(Debug, Clone, Default)]
pub struct SessionOfPage(Arc<Mutex<Option<(String, Session)>>>);

/// The signed-in user, if any (a request by the person).
pub async fn current_user(state: &AppState, caller: &Caller) -> Result<Option<User>, AppError> {
    session_user(state, caller, Activity::Person).await
}

/// The signed-in user, or `NotSignedIn`.
pub async fn require_user(state: &AppState, caller: &Caller) -> Result<User, AppError> {
    current_user(state, caller)
        .await?
        .ok_or(AppError::NotSignedIn)
}

/// The signed-in, verified user for a request the page makes on its own: it does not
/// count as the person's activity.
pub async fn require_verified_user_polling(
    state: &AppState,
    caller: &Caller,
) -> Result<User, AppError> {
    let user = session_user(state, caller, Activity::Poll)
        .await?
        .ok_or(AppError::NotSignedIn)?;
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    Ok(user)
}

/// The signed-in user with a verified phone and the session's sign-in time (one reading
/// of it), or the error that says what is missing.
pub async fn require_verified_session(
    state: &AppState,
    caller: &Caller,
) -> Result<Session, AppError> {
    let session = session(state, caller, Activity::Person)
        .await?
        .ok_or(AppError::NotSignedIn)?;
    if !session.user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_depend_on_the_secret() {
        let a = session_id(&Secret::new("a".repeat(32)), "token").expect("id");
        let b = session_id(&Secret::new("b".repeat(32)), "token").expect("id");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }
}
