//! Whether this instance should be sent requests: `/readyz` is 503 while it starts
//! (migrations) and once it is shutting down, so a load balancer routes around it.

use std::sync::atomic::{AtomicU8, Ordering};

const STARTING: u8 = 0;
const READY: u8 = 1;
const STOPPING: u8 = 2;

/// The instance's phase: starting, then ready, then stopping.
#[derive(Debug)]
pub struct Readiness(AtomicU8);

impl Readiness {
    pub fn starting() -> Readiness {
        Readiness(AtomicU8::new(STARTING))
    }

    /// Start-up is done: migrations applied, state built.
    pub fn mark_ready(&self) {
        // Never back from stopping.
        let _ = self
            .0
            .compare_exchange(STARTING, READY, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Shutdown has begun: requests in flight finish, new ones should go elsewhere.
    pub fn mark_stopping(&self) {
        self.0.store(STOPPING, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst) == READY
    }

    /// What `/readyz` says.
    pub fn phase(&self) -> &'static str {
        match self.0.load(Ordering::SeqCst) {
            STARTING => "starting: applying migrations",
            READY => "ready",
            _ => "shutting down",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_starts_is_ready_then_stops_for_good() {
        let r = Readiness::starting();
        assert!(!r.is_ready());
        r.mark_ready();
        assert!(r.is_ready());
        r.mark_stopping();
        r.mark_ready();
        assert!(!r.is_ready());
        assert_eq!(r.phase(), "shutting down");
    }
}
