//! Sessions and passwords.
//!
//! A session is a random token in an HttpOnly cookie; the database stores only
//! HMAC(SESSION_SECRET, token), so a copy of the database cannot be used to sign in.

use crate::server::clock;
use std::{
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use axum::http::{header, HeaderValue};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use super::{
    config::Secret,
    db,
    db::users::{SessionRow, UserRow},
    internal, AppState,
};
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

/// Hashes a password with argon2id, off the async executor, without any bound: use
/// [`Passwords::hash`] on request paths.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| internal("password hashing task", e))?
}

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| internal("password hashing", e))
}

/// The argon2id hash, with the parameters [`hash_blocking`] uses (argon2's defaults:
/// 19 MiB, 2 passes, 1 lane, a 16-byte salt, a 32-byte hash), of a random password nobody
/// knows: made once outside the app and thrown away. Verifying against it costs what
/// verifying a stored hash costs, and it never verifies (an unknown email fails however
/// the check ends). Computed at start-up instead, it was most of the cold start.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$6S3PErRd0AT+abSSb/qxIw$G9NIJELu9DXsUgFS6Wovpn3eoJJfMhKoKWIPbo/pBsE";

/// How long a request waits for a hashing slot before it is told to come back.
pub const HASH_SLOT_WAIT: Duration = Duration::from_secs(2);

/// Password hashing for requests: at most one hash per core at a time (a flood of
/// sign-ins queues briefly, then gets 503 instead of growing threads and memory), and the
/// same single verification whether or not the email has an account.
///
/// A slot is held by the hashing itself, not by the request: the permit moves into the
/// blocking task, so a client that hangs up mid-request frees its slot only when its hash
/// is done (the request's future is dropped, the blocking task is not).
pub struct Passwords {
    slots: Arc<Semaphore>,
    /// How many slots there are (one per core).
    slot_count: usize,
    /// [`DECOY_HASH`]: unknown emails verify against it, so they cost exactly what a known
    /// email costs.
    decoy: String,
    /// Verifications run so far (tests and figures).
    verifications: AtomicU64,
    /// Hashes running now, and the most seen at once.
    gauge: Arc<HashGauge>,
}

#[derive(Default)]
struct HashGauge {
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl HashGauge {
    /// Runs `work` on the blocking pool, holding `permit` until it is done.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        permit: OwnedSemaphorePermit,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let gauge = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.peak.fetch_max(now, Ordering::SeqCst);
            let result = work();
            gauge.running.fetch_sub(1, Ordering::SeqCst);
            result
        })
        .await
        .map_err(|e| internal("password hashing task", e))
    }
}

impl Passwords {
    /// Prepares the gate with one slot per core.
    pub async fn new() -> Result<Self, AppError> {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Passwords {
            slots: Arc::new(Semaphore::new(cores)),
            slot_count: cores,
            decoy: DECOY_HASH.to_string(),
            verifications: AtomicU64::new(0),
            gauge: Arc::default(),
        })
    }

    /// Hashing slots in all.
    pub fn slots(&self) -> usize {
        self.slot_count
    }

    /// Verifications run since start-up.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Hashes (or verifications) running now.
    pub fn hashing_now(&self) -> usize {
        self.gauge.running.load(Ordering::SeqCst)
    }

    /// The most hashes (or verifications) that ran at once since start-up.
    pub fn hashing_peak(&self) -> usize {
        self.gauge.peak.load(Ordering::SeqCst)
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, AppError> {
        match tokio::time::timeout(HASH_SLOT_WAIT, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(e)) => Err(internal("password slots", e)),
            Err(_) => Err(AppError::Busy {
                retry_after_secs: 2,
            }),
        }
    }

    /// Hashes a new password within the bound.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let permit = self.slot().await?;
        self.gauge
            .run(permit, move || hash_blocking(&password))
            .await?
    }

    /// Reserves a slot for a verification: `Busy` when none frees up in time. Taken before
    /// a sign-in attempt is counted, so a refused request costs the person no attempt.
    pub async fn reserve(&self) -> Result<HashSlot<'_>, AppError> {
        Ok(HashSlot {
            passwords: self,
            permit: self.slot().await?,
        })
    }
}

/// A reserved hashing slot; verifying uses it up.
pub struct HashSlot<'a> {
    passwords: &'a Passwords,
    permit: OwnedSemaphorePermit,
}

impl HashSlot<'_> {
    /// Checks a password against a stored hash (or the decoy when there is none): one
    /// verification either way, so timing does not tell whether the email exists.
    pub async fn verify(self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| self.passwords.decoy.clone());
        self.passwords.verifications.fetch_add(1, Ordering::Relaxed);
        let ok = self
            .passwords
            .gauge
            .run(self.permit, move || {
                PasswordHash::new(&stored).is_ok_and(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
            })
            .await?;
        Ok(ok && known)
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
        .map_err(|e| internal("create session", e))?;
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
            .map_err(|e| internal("delete session", e))?;
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
) -> Result<Option<UserRow>, AppError> {
    Ok(session(state, caller, activity).await?.map(|s| s.user))
}

/// The caller's session (its user and times), read as [`session_user`] says.
async fn session(
    state: &AppState,
    caller: &Caller,
    activity: Activity,
) -> Result<Option<SessionRow>, AppError> {
    let Some(id) = caller_session_id(state, caller) else {
        return Ok(None);
    };
    let page = SessionOfPage::of_this_request();
    // The render's first ask holds its memo while it reads (and touches) the session: the
    // others, which a render starts at the same moment, wait for that answer instead of
    // each reading it too.
    let mut held = match &page {
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
        None => db::users::session_user(&state.db, &id)
            .await
            .map_err(|e| internal("read session", e))?,
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
            .map_err(|e| internal("touch session", e))?;
        session.last_seen_at = now;
    }
    if let Some(held) = held.as_mut() {
        **held = Some((id, session.clone()));
    }
    Ok(Some(session))
}

/// Whether the request being answered renders a page (its parts are provided first, on
/// its own reactive owner).
fn renders_a_page() -> bool {
    leptos::prelude::with_context(|parts: &axum::http::request::Parts| {
        parts.method == axum::http::Method::GET
    })
    .unwrap_or(false)
}

/// A page render's one reading of its session. A page asks for its user in several
/// places (the nav, the guard, the page's own list), each a server function run in place
/// while the page renders, and often at the same moment: they share the first answer
/// instead of reading it again (the lock is held across that first read, so the others
/// wait for it). Provided only while a page renders (a GET), which changes nothing about
/// the session or its user but the activity time (kept here too); server functions called
/// by the browser, which do change them, read the database every time.
#[derive(Debug, Clone, Default)]
pub struct SessionOfPage(Arc<Mutex<Option<(String, SessionRow)>>>);

impl SessionOfPage {
    /// Provides one for this request if it renders a page.
    pub fn provide_for_page() {
        if renders_a_page() {
            leptos::prelude::provide_context(SessionOfPage::default());
        }
    }

    /// This page render's. Asked for by anything else (a server function the browser
    /// calls), none, even if a context lookup would climb to another request's: leptos
    /// makes a server function's reactive owner a child of whatever owner the thread ran
    /// before.
    fn of_this_request() -> Option<SessionOfPage> {
        renders_a_page()
            .then(leptos::prelude::use_context::<SessionOfPage>)
            .flatten()
    }
}

/// The signed-in user, if any (a request by the person).
pub async fn current_user(state: &AppState, caller: &Caller) -> Result<Option<UserRow>, AppError> {
    session_user(state, caller, Activity::Person).await
}

/// The signed-in user, or `NotSignedIn`.
pub async fn require_user(state: &AppState, caller: &Caller) -> Result<UserRow, AppError> {
    current_user(state, caller)
        .await?
        .ok_or(AppError::NotSignedIn)
}

/// The signed-in, verified user for a request the page makes on its own: it does not
/// count as the person's activity.
pub async fn require_verified_user_polling(
    state: &AppState,
    caller: &Caller,
) -> Result<UserRow, AppError> {
    let user = session_user(state, caller, Activity::Poll)
        .await?
        .ok_or(AppError::NotSignedIn)?;
    if !user.is_verified() {
        return Err(AppError::PhoneNotVerified);
    }
    Ok(user)
}

/// The signed-in user with a verified phone, or the error that says what is missing.
pub async fn require_verified_user(state: &AppState, caller: &Caller) -> Result<UserRow, AppError> {
    Ok(require_verified_session(state, caller).await?.user)
}

/// [`require_verified_user`], with the session's sign-in time (one reading of it).
pub async fn require_verified_session(
    state: &AppState,
    caller: &Caller,
) -> Result<SessionRow, AppError> {
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

    async fn verify(passwords: &Passwords, password: &str, hash: Option<String>) -> bool {
        passwords
            .reserve()
            .await
            .expect("slot")
            .verify(password.into(), hash)
            .await
            .expect("verify")
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_and_another_does_not() {
        let passwords = Passwords::new().await.expect("gate");
        let hash = passwords
            .hash("correct horse battery".into())
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(&passwords, "correct horse battery", Some(hash.clone())).await);
        assert!(!verify(&passwords, "wrong", Some(hash)).await);
        assert_eq!(passwords.verifications(), 2);
    }

    #[test]
    fn the_decoy_has_the_parameters_of_every_stored_hash() {
        // So that verifying against it costs what a real verification costs.
        let made = hash_blocking("a password").expect("hash");
        let (made, decoy) = (
            PasswordHash::new(&made).expect("parse"),
            PasswordHash::new(DECOY_HASH).expect("parse"),
        );
        assert_eq!(decoy.algorithm, made.algorithm);
        assert_eq!(decoy.version, made.version);
        assert_eq!(decoy.params, made.params);
        assert_eq!(
            decoy.salt.map(|s| s.as_str().len()),
            made.salt.map(|s| s.as_str().len())
        );
        assert_eq!(decoy.hash.map(|h| h.len()), made.hash.map(|h| h.len()));
    }

    #[tokio::test]
    async fn no_stored_hash_costs_one_verification_and_never_verifies() {
        let passwords = Passwords::new().await.expect("gate");
        assert!(!verify(&passwords, "not-a-password", None).await);
        let decoy = passwords.decoy.clone();
        assert!(!verify(&passwords, "anything", None).await);
        assert_eq!(passwords.verifications(), 2, "one verification per check");
        assert_eq!(passwords.decoy, decoy, "the decoy is made once");
    }

    #[tokio::test]
    async fn slots_run_out_into_busy_not_into_threads() {
        let passwords = Passwords::new().await.expect("gate");
        let held: Vec<_> = {
            let mut held = Vec::new();
            for _ in 0..passwords.slots() {
                held.push(passwords.reserve().await.expect("slot"));
            }
            held
        };
        let refused = passwords.reserve().await.err();
        assert!(
            matches!(refused, Some(AppError::Busy { .. })),
            "{refused:?}"
        );
        drop(held);
        assert!(passwords.reserve().await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sign_ins_dropped_mid_flight_never_run_more_hashes_than_slots() {
        let passwords = Arc::new(Passwords::new().await.expect("gate"));
        let hash = passwords.hash("a password".into()).await.expect("hash");
        for _ in 0..4 {
            // As many sign-ins as three times the slots, each dropped (its client hung up)
            // once its hash is under way...
            let flights: Vec<_> = (0..passwords.slots() * 3)
                .map(|_| {
                    let (passwords, hash) = (passwords.clone(), hash.clone());
                    tokio::spawn(async move {
                        let slot = passwords.reserve().await?;
                        slot.verify("a guess".into(), Some(hash)).await
                    })
                })
                .collect();
            while passwords.hashing_now() == 0 {
                tokio::task::yield_now().await;
            }
            for flight in &flights {
                flight.abort();
            }
            // ...while new ones keep arriving.
            for _ in 0..passwords.slots() {
                let (passwords, hash) = (passwords.clone(), hash.clone());
                tokio::spawn(async move {
                    if let Ok(slot) = passwords.reserve().await {
                        let _ = slot.verify("a guess".into(), Some(hash)).await;
                    }
                });
            }
        }
        // Every slot comes back once the hashes already started are done.
        let all: Vec<_> = {
            let mut all = Vec::new();
            for _ in 0..passwords.slots() {
                all.push(passwords.slots.clone().acquire_owned().await.expect("slot"));
            }
            all
        };
        assert_eq!(passwords.hashing_now(), 0);
        drop(all);
        assert!(passwords.hashing_peak() >= 1);
        assert!(
            passwords.hashing_peak() <= passwords.slots(),
            "{} hashes ran at once with {} slots",
            passwords.hashing_peak(),
            passwords.slots()
        );
    }

    #[test]
    fn session_ids_depend_on_the_secret() {
        let a = session_id(&Secret::new("a".repeat(32)), "token").expect("id");
        let b = session_id(&Secret::new("b".repeat(32)), "token").expect("id");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }
}
