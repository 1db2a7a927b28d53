//! Per-client-address limits: a token bucket per (kind of request, client address), kept in
//! this instance's memory. The limits that must hold across instances (sign-in failures per
//! email, codes per phone and user, the global code budget) live in the database.
//!
//! The client address is the socket's peer, unless that peer is a trusted proxy
//! (`TRUSTED_PROXIES`): then it is the right-most `X-Forwarded-For` entry that is not itself
//! a trusted proxy (entries further left were written by the client and prove nothing).

use std::{
    collections::{HashMap, VecDeque},
    net::{IpAddr, Ipv6Addr, SocketAddr},
    sync::Mutex,
    time::Instant,
};

use axum::http::{request::Parts, HeaderMap};
use ipnet::IpNet;

use crate::error::AppError;
use crate::server::config::{ClientLimits, Rate};

/// The per-address bucket a request spends, named after what it limits. Each server
/// function names one (`request::anyone`, `request::verified`), `Limit::None` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Nothing to spend: reads, sign-out, and writes that reach no provider and cost
    /// nobody else anything (removing one's own passkey).
    None,
    /// Sign-in attempts (`LIMIT_SIGN_IN`).
    SignIn,
    /// Accounts created (`LIMIT_REGISTER`).
    Register,
    /// Codes sent to the person's phone outside a payment: a new phone verification
    /// code, the step-up code before adding a passkey or a push device
    /// (`LIMIT_CODE_RESEND`).
    CodeSend,
    /// Checks of those codes (`LIMIT_PHONE_VERIFY`).
    CodeCheck,
    /// Payments created (`LIMIT_SEND_PAYMENT`).
    SendPayment,
    /// What asks the phone again about a payment or answers it from the browser: its SMS
    /// code sent and checked, the push request sent again, a passkey approval started and
    /// finished, a cancel (`LIMIT_PAYMENT_CODE`).
    PaymentAnswer,
}

impl Limit {
    fn rate(self, limits: &ClientLimits) -> Option<Rate> {
        Some(match self {
            Limit::None => return None,
            Limit::SignIn => limits.sign_in,
            Limit::Register => limits.register,
            Limit::CodeSend => limits.code_send,
            Limit::CodeCheck => limits.code_check,
            Limit::SendPayment => limits.send_payment,
            Limit::PaymentAnswer => limits.payment_answer,
        })
    }
}

/// The most buckets one instance keeps. At this size a new address may take the place of
/// a bucket that has filled up again (an idle one, the same as none); when the oldest ones
/// are all in use, the new address is limited as if its bucket were empty (fail closed)
/// rather than growing the table.
const MAX_BUCKETS: usize = 100_000;

/// How many of the oldest buckets a request at the cap looks at for an idle one: a flood
/// from many addresses never turns a request into a scan of the table.
const EVICTION_LOOKS: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

type Key = (Limit, IpAddr);

/// The buckets of one app instance.
pub struct ClientLimiter {
    limits: ClientLimits,
    /// IPv6 clients are keyed by their network of this prefix length (a host with a /64
    /// has all of it): `IPV6_CLIENT_PREFIX`, 64 by default.
    ipv6_prefix: u8,
    capacity: usize,
    buckets: Mutex<Buckets>,
}

/// The buckets, and their keys in the order they were made (oldest first).
struct Buckets {
    map: HashMap<Key, Bucket>,
    order: VecDeque<Key>,
}

impl ClientLimiter {
    pub fn new(limits: ClientLimits, ipv6_prefix: u8) -> Self {
        Self::with_capacity(limits, ipv6_prefix, MAX_BUCKETS)
    }

    /// A limiter that keeps at most `capacity` buckets.
    pub fn with_capacity(limits: ClientLimits, ipv6_prefix: u8, capacity: usize) -> Self {
        ClientLimiter {
            limits,
            ipv6_prefix: ipv6_prefix.min(128),
            capacity: capacity.max(1),
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// The address a client's bucket is kept under: IPv4 as it is, IPv6 by its network.
    fn bucket_address(&self, client: IpAddr) -> IpAddr {
        match client {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let bits = u128::from(v6);
                    let mask = u128::MAX
                        .checked_shl(128 - u32::from(self.ipv6_prefix))
                        .unwrap_or(0);
                    IpAddr::V6(Ipv6Addr::from(bits & mask))
                }
            },
            v4 => v4,
        }
    }

    /// Takes one token for `limit` from `client`'s bucket, or says how many seconds until
    /// one is there (`Err(retry_after_secs)`).
    pub fn take(&self, limit: Limit, client: IpAddr, now: Instant) -> Result<(), u64> {
        let Some(rate) = limit.rate(&self.limits) else {
            return Ok(());
        };
        let burst = f64::from(rate.burst);
        let per_sec = burst / f64::from(rate.per_secs);
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(()); // a poisoned lock must not lock everyone out
        };
        let key = (limit, self.bucket_address(client));
        if !buckets.map.contains_key(&key) {
            if buckets.map.len() >= self.capacity && !buckets.evict_one_idle(&self.limits, now) {
                // Full of buckets in use: this address is limited as if its bucket were
                // empty, until the table has room again.
                return Err((1.0 / per_sec).ceil().max(1.0) as u64);
            }
            buckets.order.push_back(key);
        }
        let bucket = buckets.map.entry(key).or_insert(Bucket {
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

    /// Forgets buckets that have filled up again (the sweeper calls it, off the request
    /// path).
    pub fn forget_full(&self, now: Instant) {
        if let Ok(mut buckets) = self.buckets.lock() {
            let limits = self.limits;
            let Buckets { map, order } = &mut *buckets;
            map.retain(|(l, _), b| !is_full(b, l.rate(&limits), now));
            order.retain(|key| map.contains_key(key));
        }
    }

    /// How many clients have a bucket (for tests and figures).
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map(|b| b.map.len()).unwrap_or_default()
    }
}

impl Buckets {
    /// Removes one idle (refilled) bucket among the oldest few, if there is one.
    fn evict_one_idle(&mut self, limits: &ClientLimits, now: Instant) -> bool {
        for _ in 0..EVICTION_LOOKS {
            let Some(key) = self.order.pop_front() else {
                return false;
            };
            match self.map.get(&key) {
                // Already forgotten by the sweeper: not a bucket, look further.
                None => continue,
                Some(bucket) if is_full(bucket, key.0.rate(limits), now) => {
                    self.map.remove(&key);
                    return true;
                }
                // In use: it goes to the back, the next oldest is looked at.
                Some(_) => self.order.push_back(key),
            }
        }
        false
    }
}

fn is_full(bucket: &Bucket, rate: Option<Rate>, now: Instant) -> bool {
    let Some(rate) = rate else {
        return true;
    };
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

/// Takes a token for `limit`, or the error that answers 429 with `Retry-After`.
pub fn check(
    limiter: &ClientLimiter,
    limit: Limit,
    client: Option<IpAddr>,
) -> Result<(), AppError> {
    let Some(client) = client else {
        return Ok(()); // no socket (in-process calls): nothing to attribute it to
    };
    limiter
        .take(limit, client, Instant::now())
        .map_err(|retry_after_secs| {
            tracing::warn!(?limit, "per-client limit reached");
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
            code_send: rate,
            code_check: rate,
            send_payment: rate,
            payment_answer: rate,
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = ClientLimiter::new(
            limits(Rate {
                burst: 3,
                per_secs: 30,
            }),
            64,
        );
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(Limit::SignIn, ip, t0), Ok(()));
        }
        assert_eq!(limiter.take(Limit::SignIn, ip, t0), Err(10));
        assert_eq!(limiter.take(Limit::Register, ip, t0), Ok(()), "per limit");
        assert_eq!(limiter.take(Limit::SignIn, other, t0), Ok(()), "per client");
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.take(Limit::SignIn, ip, later), Ok(()));
        assert!(limiter.take(Limit::SignIn, ip, later).is_err());
        limiter.forget_full(t0 + Duration::from_secs(3600));
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_network_of_the_configured_prefix() {
        let rate = Rate {
            burst: 2,
            per_secs: 60,
        };
        let t0 = Instant::now();
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let by_64 = ClientLimiter::new(limits(rate), 64);
        assert_eq!(by_64.take(Limit::SignIn, ip("2001:db8:1:2::1"), t0), Ok(()));
        assert_eq!(
            by_64.take(Limit::SignIn, ip("2001:db8:1:2:ffff::9"), t0),
            Ok(())
        );
        assert!(
            by_64
                .take(Limit::SignIn, ip("2001:db8:1:2:abcd::5"), t0)
                .is_err(),
            "a third address of the same /64 finds the bucket empty"
        );
        assert_eq!(
            by_64.take(Limit::SignIn, ip("2001:db8:1:3::1"), t0),
            Ok(()),
            "another /64"
        );
        assert_eq!(
            by_64.bucket_address(ip("::ffff:192.0.2.7")),
            ip("192.0.2.7"),
            "an IPv4-mapped address is its IPv4 client"
        );
        let by_48 = ClientLimiter::new(limits(rate), 48);
        assert_eq!(
            by_48.bucket_address(ip("2001:db8:1:3::1")),
            ip("2001:db8:1::")
        );
        let by_128 = ClientLimiter::new(limits(rate), 128);
        assert_eq!(by_128.bucket_address(ip("2001:db8::1")), ip("2001:db8::1"));
    }

    #[test]
    fn a_full_table_limits_new_addresses_instead_of_growing() {
        let limiter = ClientLimiter::with_capacity(
            limits(Rate {
                burst: 2,
                per_secs: 60,
            }),
            64,
            4,
        );
        let t0 = Instant::now();
        let ip = |n: u8| IpAddr::from([192, 0, 2, n]);
        for n in 1..=4 {
            assert_eq!(limiter.take(Limit::SignIn, ip(n), t0), Ok(()));
        }
        // Every bucket is in use: a fifth address is limited, not added.
        assert!(limiter.take(Limit::SignIn, ip(5), t0).is_err());
        assert_eq!(limiter.tracked(), 4);
        // The addresses already known still get their tokens.
        assert_eq!(limiter.take(Limit::SignIn, ip(1), t0), Ok(()));
        // Once a bucket has filled up again (idle), a new address takes its place.
        let later = t0 + Duration::from_secs(120);
        assert_eq!(limiter.take(Limit::SignIn, ip(5), later), Ok(()));
        assert_eq!(limiter.tracked(), 4);
        for n in 6..=40 {
            let _ = limiter.take(Limit::SignIn, ip(n), later);
            assert!(limiter.tracked() <= 4);
        }
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
