//! Per-client-address limits: a token bucket per (kind of request, client address), kept in
//! this instance's memory. The limits that must hold across instances (sign-in failures per
//! email, codes per phone and user, the global code budget) live in the database.
//!
//! The client address is the socket's peer, unless that peer is a trusted proxy
//! (`TRUSTED_PROXIES`): then it is the right-most `X-Forwarded-For` entry that is not itself
//! a trusted proxy (entries further left were written by the client and prove nothing).

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::Instant,
};

use axum::http::{request::Parts, HeaderMap};
use ipnet::IpNet;

use super::config::{ClientLimits, Rate};
use crate::error::AppError;

/// The kinds of request limited per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    SignIn,
    Register,
    CodeResend,
    PhoneVerify,
    SendPayment,
    PaymentCode,
}

impl Action {
    fn rate(self, limits: &ClientLimits) -> Rate {
        match self {
            Action::SignIn => limits.sign_in,
            Action::Register => limits.register,
            Action::CodeResend => limits.code_resend,
            Action::PhoneVerify => limits.phone_verify,
            Action::SendPayment => limits.send_payment,
            Action::PaymentCode => limits.payment_code,
        }
    }
}

/// More buckets than this and the full ones are dropped (a full bucket is the same as none).
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets of one app instance.
pub struct ClientLimiter {
    limits: ClientLimits,
    buckets: Mutex<Buckets>,
}

/// The buckets, and when a full table was last cleaned on the request path.
struct Buckets {
    map: HashMap<(Action, IpAddr), Bucket>,
    pruned: Option<Instant>,
}

impl ClientLimiter {
    pub fn new(limits: ClientLimits) -> Self {
        ClientLimiter {
            limits,
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                pruned: None,
            }),
        }
    }

    /// Takes one token for `action` from `client`'s bucket, or says how many seconds until
    /// one is there (`Err(retry_after_secs)`).
    pub fn take(&self, action: Action, client: IpAddr, now: Instant) -> Result<(), u64> {
        let rate = action.rate(&self.limits);
        let burst = f64::from(rate.burst);
        let per_sec = burst / f64::from(rate.per_secs);
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(()); // a poisoned lock must not lock everyone out
        };
        // A table at its size cap is cleaned of full buckets, at most once a second: a
        // flood from many addresses must not turn every request into a scan.
        let due = buckets
            .pruned
            .is_none_or(|at| now.saturating_duration_since(at).as_secs() >= 1);
        if buckets.map.len() >= MAX_BUCKETS && due {
            let limits = self.limits;
            buckets
                .map
                .retain(|(a, _), b| !is_full(b, a.rate(&limits), now));
            buckets.pruned = Some(now);
        }
        let bucket = buckets.map.entry((action, client)).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }

    /// Forgets buckets that have filled up again (the sweeper calls it).
    pub fn forget_full(&self, now: Instant) {
        if let Ok(mut buckets) = self.buckets.lock() {
            let limits = self.limits;
            buckets
                .map
                .retain(|(a, _), b| !is_full(b, a.rate(&limits), now));
        }
    }

    /// How many clients have a bucket (for tests and figures).
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map(|b| b.map.len()).unwrap_or_default()
    }
}

fn is_full(bucket: &Bucket, rate: Rate, now: Instant) -> bool {
    let burst = f64::from(rate.burst);
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    bucket.tokens + elapsed * burst / f64::from(rate.per_secs) >= burst
}

/// The client's address: the peer, or what trusted proxies in front of us say it is.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut nearest = peer;
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in forwarded.into_iter().rev() {
        let Some(ip) = parse_forwarded(entry) else {
            // Garbage in the chain: the nearest hop we could trust is all we know.
            return nearest;
        };
        if !is_trusted(&ip) {
            return ip;
        }
        nearest = ip;
    }
    nearest
}

fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The client's address for a request, when the server was started with connection info.
pub fn client_of(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    Some(client_address(peer, &parts.headers, trusted))
}

/// Takes a token for `action`, or the error that answers 429 with `Retry-After`.
pub fn check(
    limiter: &ClientLimiter,
    action: Action,
    client: Option<IpAddr>,
) -> Result<(), AppError> {
    let Some(client) = client else {
        return Ok(()); // no socket (in-process calls): nothing to attribute it to
    };
    limiter
        .take(action, client, Instant::now())
        .map_err(|retry_after_secs| {
            tracing::warn!(?action, "per-client limit reached");
            AppError::TooManyRequests { retry_after_secs }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(rate: Rate) -> ClientLimits {
        ClientLimits {
            sign_in: rate,
            register: rate,
            code_resend: rate,
            phone_verify: rate,
            send_payment: rate,
            payment_code: rate,
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = ClientLimiter::new(limits(Rate {
            burst: 3,
            per_secs: 30,
        }));
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(Action::SignIn, ip, t0), Ok(()));
        }
        assert_eq!(limiter.take(Action::SignIn, ip, t0), Err(10));
        assert_eq!(limiter.take(Action::Register, ip, t0), Ok(()), "per action");
        assert_eq!(
            limiter.take(Action::SignIn, other, t0),
            Ok(()),
            "per client"
        );
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.take(Action::SignIn, ip, later), Ok(()));
        assert!(limiter.take(Action::SignIn, ip, later).is_err());
        limiter.forget_full(t0 + Duration::from_secs(3600));
        assert_eq!(limiter.tracked(), 0);
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let stranger: IpAddr = "198.51.100.9".parse().expect("ip");
        let h = forwarded("1.1.1.1, 203.0.113.7, 10.0.0.9");

        assert_eq!(client_address(stranger, &h, &trusted), stranger);
        assert_eq!(client_address(proxy, &h, &[]), proxy);
        assert_eq!(
            client_address(proxy, &h, &trusted),
            "203.0.113.7".parse::<IpAddr>().expect("ip"),
            "the right-most untrusted entry, not the client-written left end"
        );
        assert_eq!(
            client_address(proxy, &forwarded("10.0.0.7"), &trusted),
            "10.0.0.7".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(
            client_address(proxy, &forwarded("junk, 10.0.0.7"), &trusted),
            "10.0.0.7".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
    }
}
