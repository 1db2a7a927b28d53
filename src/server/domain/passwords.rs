//! Passwords: argon2id hashing within a bound (one hash per core at a time), and the
//! decoy that makes an unknown email cost exactly one verification, like a known one.

use crate::server::OrInternal;
use std::{
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;
use crate::server::internal;

/// Hashes a password with argon2id, off the async executor, without any bound: use
/// [`Passwords::hash`] on request paths (the tests seed with it).
#[cfg(any(test, feature = "testing"))]
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .or_internal("password hashing task")?
}

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .or_internal("password hashing")
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
        .or_internal("password hashing task")
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
}
