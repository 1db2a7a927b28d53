//! Configuration, read once at start-up from the environment (and an optional `.env`).
//!
//! Every variable is documented in `.env.example`. A bad value stops start-up with a
//! message naming the variable.

use leptos::prelude::LeptosOptions;
use reqwest::Url;

use crate::model::Currency;
use crate::sandbox::model::SandboxFault;

pub use crate::shared::secret::Secret;
use crate::shared::sid::{AccountSid, ApiKeySid, ServiceSid};

/// A configuration variable with an unacceptable value.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable's name.
    pub var: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// Where the second-factor provider is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// The real Authy API (or any compatible service) at this base URL.
    Remote(Url),
    /// Payfriend's own Authy-compatible sandbox, served by this app.
    Sandbox,
}

/// Which second-factor provider new accounts are registered with (`PAYFRIEND_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// The Authy API (closed to new Twilio customers).
    Authy,
    /// Twilio Verify v2.
    Verify,
}

impl ProviderKind {
    /// The configuration and stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Authy => "authy",
            ProviderKind::Verify => "verify",
        }
    }

    /// Parses a configuration or stored value.
    pub fn parse(value: &str) -> Option<ProviderKind> {
        match value {
            "authy" => Some(ProviderKind::Authy),
            "verify" => Some(ProviderKind::Verify),
            _ => None,
        }
    }
}

/// How Payfriend reaches Twilio Verify v2.
#[derive(Debug, Clone)]
pub struct VerifySettings {
    /// `TWILIO_VERIFY_URL`, ending in `/` (the sandbox's `/sandbox/verify/v2/` without it).
    pub base_url: Url,
    /// `TWILIO_ACCOUNT_SID` (`AC` + 32 hex digits).
    pub account_sid: AccountSid,
    /// `TWILIO_AUTH_TOKEN`: authenticates the calls unless an API key is set, and is the key
    /// Twilio signs its events with.
    pub auth_token: Secret,
    /// `TWILIO_API_KEY_SID` (`SK` + 32 hex digits) and `TWILIO_API_KEY_SECRET`.
    pub api_key: Option<(ApiKeySid, Secret)>,
    /// `TWILIO_VERIFY_SERVICE_SID` (`VA` + 32 hex digits).
    pub service_sid: ServiceSid,
    /// Where Twilio sends Verify Push events: `PUBLIC_URL` + `payments/verify-events`.
    pub events_url: Url,
    /// Served by this app's sandbox.
    pub sandbox: bool,
}

impl VerifySettings {
    /// The user name and password of the calls' Basic authentication.
    pub fn credentials(&self) -> (&str, &Secret) {
        match &self.api_key {
            Some((sid, secret)) => (sid.as_str(), secret),
            None => (self.account_sid.as_str(), &self.auth_token),
        }
    }
}

/// The SID in variable `var`, if set: `S`'s two letters and 32 hex digits.
fn sid<S>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    prefix: &str,
    parse: impl Fn(&str) -> Option<S>,
) -> Result<Option<S>, ConfigError> {
    match get(var) {
        None => Ok(None),
        Some(v) => parse(v.trim()).map(Some).ok_or_else(|| {
            bad(
                var,
                format!("expected {prefix} followed by 32 hexadecimal digits (34 characters), as the Twilio Console shows it"),
            )
        }),
    }
}

/// The Verify settings from the `TWILIO_*` variables, or the sandbox's when none is set
/// and the sandbox may run; `None` when Verify is neither chosen nor configured.
fn verify_settings(
    get: &impl Fn(&str) -> Option<String>,
    kind: ProviderKind,
    public_url: &Url,
    sandbox_allowed: bool,
) -> Result<Option<VerifySettings>, ConfigError> {
    const VARS: [&str; 6] = [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY_SID",
        "TWILIO_API_KEY_SECRET",
        "TWILIO_VERIFY_SERVICE_SID",
        "TWILIO_VERIFY_URL",
    ];
    let events_url = public_url
        .join("payments/verify-events")
        .map_err(|e| bad("PUBLIC_URL", e.to_string()))?;
    let own_sandbox = public_url
        .join("sandbox/verify/v2/")
        .map_err(|e| bad("PUBLIC_URL", e.to_string()))?;
    if VARS.iter().all(|v| get(v).is_none()) {
        if kind != ProviderKind::Verify {
            return Ok(None);
        }
        if !sandbox_allowed {
            return Err(bad(
                "TWILIO_ACCOUNT_SID",
                "required with PAYFRIEND_PROVIDER=verify (with TWILIO_AUTH_TOKEN and \
                 TWILIO_VERIFY_SERVICE_SID): the built-in sandbox is for development only",
            ));
        }
        return Ok(Some(VerifySettings {
            base_url: own_sandbox,
            account_sid: AccountSid::random(),
            auth_token: Secret::new(uuid::Uuid::new_v4().simple().to_string()),
            api_key: None,
            service_sid: ServiceSid::random(),
            events_url,
            sandbox: true,
        }));
    }
    let account_sid = sid(
        get,
        "TWILIO_ACCOUNT_SID",
        AccountSid::PREFIX,
        AccountSid::parse,
    )?
    .ok_or_else(|| {
        bad(
            "TWILIO_ACCOUNT_SID",
            "required with the other TWILIO_ variables",
        )
    })?;
    let auth_token = get("TWILIO_AUTH_TOKEN").map(Secret::new).ok_or_else(|| {
        bad(
            "TWILIO_AUTH_TOKEN",
            "required: Twilio signs Verify's events with the account's auth token (an API \
             key, if set, still authenticates the calls)",
        )
    })?;
    let api_key = match (
        sid(
            get,
            "TWILIO_API_KEY_SID",
            ApiKeySid::PREFIX,
            ApiKeySid::parse,
        )?,
        get("TWILIO_API_KEY_SECRET"),
    ) {
        (Some(sid), Some(secret)) => Some((sid, Secret::new(secret))),
        (None, None) => None,
        (Some(_), None) => {
            return Err(bad(
                "TWILIO_API_KEY_SECRET",
                "required with TWILIO_API_KEY_SID",
            ))
        }
        (None, Some(_)) => {
            return Err(bad(
                "TWILIO_API_KEY_SID",
                "required with TWILIO_API_KEY_SECRET",
            ))
        }
    };
    let service_sid = sid(
        get,
        "TWILIO_VERIFY_SERVICE_SID",
        ServiceSid::PREFIX,
        ServiceSid::parse,
    )?
    .ok_or_else(|| {
        bad(
            "TWILIO_VERIFY_SERVICE_SID",
            "required with TWILIO_ACCOUNT_SID (the Verify service, VA followed by 32 hex digits)",
        )
    })?;
    let base_url = match get("TWILIO_VERIFY_URL") {
        Some(v) => parse_base_url("TWILIO_VERIFY_URL", &v)?,
        None => parse_base_url("TWILIO_VERIFY_URL", "https://verify.twilio.com/v2")?,
    };
    let sandbox = base_url == own_sandbox;
    if sandbox && !sandbox_allowed {
        return Err(bad(
            "TWILIO_VERIFY_URL",
            "points at the built-in sandbox, which runs only on a loopback address or with \
             PAYFRIEND_ENV=development",
        ));
    }
    Ok(Some(VerifySettings {
        base_url,
        account_sid,
        auth_token,
        api_key,
        service_sid,
        events_url,
        sandbox,
    }))
}

/// The application's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `PAYFRIEND_PROVIDER`: the provider new accounts are registered with.
    pub provider_kind: ProviderKind,
    /// Twilio Verify, when chosen or configured.
    pub verify: Option<VerifySettings>,
    /// Leptos' own options (site root, listen address), from cargo-leptos' `LEPTOS_*` variables.
    pub leptos_options: LeptosOptions,
    /// `DATABASE_URL`: `sqlite:...` or `postgres://...`.
    pub database_url: String,
    /// `PUBLIC_URL`: the address people (and the provider) use to reach the app.
    pub public_url: Url,
    /// `AUTHY_API_URL`: unset means the built-in sandbox.
    pub provider: Provider,
    /// `AUTHY_API_KEY`: the application's API key (random per start for the sandbox).
    pub authy_api_key: Secret,
    /// `AUTHY_CALLBACK_URL`: the callback URL exactly as registered with the provider.
    pub authy_callback_url: Url,
    /// `AUTHY_CALLBACK_TOLERANCE_SECS`: how far a callback nonce may be from our clock.
    pub authy_callback_tolerance_secs: u64,
    /// `AUTHY_TIMEOUT_SECS`: the limit for every call to the provider.
    pub authy_timeout_secs: u64,
    /// `SESSION_SECRET`: signs session cookies.
    pub session_secret: Secret,
    /// `SESSION_IDLE_SECS`: a session ends after this long without a request.
    pub session_idle_secs: u64,
    /// `CURRENCY`: ISO 4217 code of the currency payments are made in.
    pub currency: Currency,
    /// `APPROVAL_SECONDS_TO_EXPIRE`: how long a push approval (and its SMS code) stays valid.
    pub approval_seconds_to_expire: u64,
    /// Production mode (`PAYFRIEND_ENV=production`, or an https `PUBLIC_URL`): real
    /// provider and session secret required, sandbox never on.
    pub production: bool,
    /// Whether the built-in sandbox is mounted: no provider configured, and either the
    /// server is reachable on loopback only (`PUBLIC_URL`'s host and the address it listens
    /// on) or `PAYFRIEND_ENV=development` is set explicitly.
    sandbox_mounted: bool,
    /// `LOGIN_MAX_FAILURES`: failed sign-ins in a row before the account is locked.
    pub login_max_failures: u64,
    /// `LOGIN_LOCK_SECS`: how long such a lock lasts.
    pub login_lock_secs: u64,
    /// `CODE_SEND_LIMIT`: codes (verification or payment SMS) per user and per phone...
    pub code_send_limit: u64,
    /// `CODE_SEND_WINDOW_SECS`: ...within this many seconds.
    pub code_send_window_secs: u64,
    /// `MAX_BODY_BYTES`: the largest request body accepted (larger gets 413).
    pub max_body_bytes: u64,
    /// `REQUEST_TIMEOUT_SECS`: the longest a request may take.
    pub request_timeout_secs: u64,
    /// `SANDBOX_FAULT`: the failure the sandbox starts acting out (sandbox only).
    pub sandbox_fault: SandboxFault,
    /// `IPV6_CLIENT_PREFIX`: IPv6 clients share a per-client bucket per network of this
    /// prefix length (default 64: one host's usual allocation).
    pub ipv6_client_prefix: u8,
    /// `MAX_PENDING_PAYMENTS`: payments one user may have waiting for approval at once.
    pub max_pending_payments: u64,
    /// `PUSH_HOURLY_PER_USER`: push approval requests (new payments and resends) per user
    /// per hour, counted in the database.
    pub push_hourly_per_user: u64,
    /// `CODE_SEND_UNVERIFIED_HOURLY`: codes sent per hour, at most, to people without a
    /// verified phone (registration), apart from the budget of verified people's codes.
    pub code_send_unverified_hourly: u64,
    /// `SMS_COUNTRIES`: ISO country codes whose numbers may register (empty: all).
    pub sms_countries: Vec<String>,
    /// `CODE_SEND_GLOBAL_HOURLY`: codes sent by the whole app per hour, at most, to people
    /// with a verified phone (payment and passkey codes).
    pub code_send_global_hourly: u64,
    /// `SESSION_MAX_SECS`: a session ends this long after sign-in, whatever the activity.
    pub session_max_secs: u64,
    /// `TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the client (CIDRs).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `LIMIT_*`: per-client-address limits.
    pub client_limits: ClientLimits,
    /// `DATABASE_MAX_CONNECTIONS`: the pool's size (default: by the database and the
    /// machine's cores).
    pub database_max_connections: Option<u32>,
    /// `DATABASE_STATEMENT_TIMEOUT_SECS`: the longest one statement may run (PostgreSQL)
    /// or wait for the write lock (SQLite).
    pub database_statement_timeout_secs: u64,
    /// `SWEEP_INTERVAL_SECS`: how often the background sweep runs on this instance.
    pub sweep_interval_secs: u64,
}

/// A token bucket's shape: `burst` requests at once, refilled at `burst` per `per_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub per_secs: u32,
}

impl Rate {
    /// Parses `N/SECS` (N requests per SECS seconds, both at least 1).
    pub fn parse(value: &str) -> Option<Rate> {
        let (n, secs) = value.trim().split_once('/')?;
        let burst: u32 = n.trim().parse().ok()?;
        let per_secs: u32 = secs.trim().parse().ok()?;
        (burst >= 1 && per_secs >= 1).then_some(Rate { burst, per_secs })
    }
}

/// Per-client-address limits, one per kind of request an attacker would repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// `LIMIT_SIGN_IN`
    pub sign_in: Rate,
    /// `LIMIT_REGISTER`
    pub register: Rate,
    /// `LIMIT_CODE_RESEND`: codes sent outside a payment (phone verification, step-up)
    pub code_send: Rate,
    /// `LIMIT_PHONE_VERIFY`: checks of those codes
    pub code_check: Rate,
    /// `LIMIT_SEND_PAYMENT`: payments created
    pub send_payment: Rate,
    /// `LIMIT_PAYMENT_CODE`: a payment's SMS code sent and checked, its push request sent
    /// again, a passkey approval, a cancel
    pub payment_answer: Rate,
}

fn rate(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    burst: u32,
    per_secs: u32,
) -> Result<Rate, ConfigError> {
    match get(var) {
        None => Ok(Rate { burst, per_secs }),
        Some(v) => Rate::parse(&v).ok_or_else(|| {
            bad(
                var,
                format!("expected N/SECONDS such as 10/60 (N requests per SECONDS), got {v:?}"),
            )
        }),
    }
}

fn parse_proxies(value: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<ipnet::IpNet>()
                .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    bad(
                        "TRUSTED_PROXIES",
                        format!("expected CIDRs such as 10.0.0.0/8, got {v:?}"),
                    )
                })
        })
        .collect()
}

/// Whether a URL's host is a loopback address (or `localhost`).
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from `lookup`, which maps a variable name to its value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let mut leptos_options = leptos::prelude::get_configuration(None)
            .map_err(|e| bad("LEPTOS_SITE_ADDR", e.to_string()))?
            .leptos_options;
        if let Some(addr) = get("LEPTOS_SITE_ADDR") {
            leptos_options.site_addr = addr.parse().map_err(|_| {
                bad(
                    "LEPTOS_SITE_ADDR",
                    "expected an address like 127.0.0.1:3000",
                )
            })?;
        }
        if let Some(root) = get("LEPTOS_SITE_ROOT") {
            leptos_options.site_root = root.into();
        }
        // cargo-leptos sets LEPTOS_HASH_FILES (and the list's name) when it runs the
        // server; a binary started on its own finds the build's hashed file names beside
        // itself.
        if let Some(name) = get("LEPTOS_HASH_FILE_NAME") {
            leptos_options.hash_file = name.into();
        }
        leptos_options.hash_files = match get("LEPTOS_HASH_FILES") {
            Some(v) => v.trim() == "true",
            None => crate::server::http::assets::built_with_hashes(&leptos_options),
        };
        // Without the list the pages could not name the files (leptos would fail on every
        // page it renders): say so at start.
        if leptos_options.hash_files
            && !crate::server::http::assets::built_with_hashes(&leptos_options)
        {
            return Err(bad(
                "LEPTOS_HASH_FILES",
                "is true, but the list of hashed file names (hash.txt beside the server \
                 binary, or LEPTOS_HASH_FILE_NAME) is missing: build with cargo leptos",
            ));
        }
        if leptos_options.output_name.is_empty() {
            leptos_options.output_name = env!("CARGO_PKG_NAME").into();
        }

        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite:payfriend.db".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(bad(
                "DATABASE_URL",
                "expected sqlite:<file> or postgres://user:password@host/database",
            ));
        }

        // Without one, the address it listens on; a loopback one by the name `localhost`,
        // which browsers accept as a passkey relying party (an IP address they refuse).
        let public_url = match get("PUBLIC_URL") {
            Some(v) => parse_base_url("PUBLIC_URL", &v)?,
            None if leptos_options.site_addr.ip().is_loopback() => parse_base_url(
                "PUBLIC_URL",
                &format!("http://localhost:{}", leptos_options.site_addr.port()),
            )?,
            None => parse_base_url(
                "PUBLIC_URL",
                &format!("http://{}", leptos_options.site_addr),
            )?,
        };

        let provider_kind = match get("PAYFRIEND_PROVIDER") {
            None => ProviderKind::Authy,
            Some(v) => ProviderKind::parse(v.trim()).ok_or_else(|| {
                bad(
                    "PAYFRIEND_PROVIDER",
                    format!("expected authy or verify, got {v:?}"),
                )
            })?,
        };
        let provider = match get("AUTHY_API_URL") {
            Some(v) => Provider::Remote(parse_base_url("AUTHY_API_URL", &v)?),
            None => Provider::Sandbox,
        };
        let authy_api_key = match (get("AUTHY_API_KEY"), &provider) {
            (Some(key), _) => Secret::new(key),
            (None, Provider::Sandbox) => Secret::random(32),
            (None, Provider::Remote(_)) => {
                return Err(bad(
                    "AUTHY_API_KEY",
                    "required when AUTHY_API_URL is set (the application's API key)",
                ))
            }
        };
        let authy_callback_url = match get("AUTHY_CALLBACK_URL") {
            Some(v) => parse_url("AUTHY_CALLBACK_URL", &v)?,
            None => public_url
                .join("payments/callback")
                .map_err(|e| bad("PUBLIC_URL", e.to_string()))?,
        };

        // Read by the allocator itself at the process's first allocation; checked here so a
        // misspelt value stops start-up instead of silently meaning mimalloc.
        if let Some(other) = get("PAYFRIEND_ALLOCATOR").filter(|v| v != "mimalloc" && v != "system")
        {
            return Err(bad(
                "PAYFRIEND_ALLOCATOR",
                format!("expected mimalloc or system, got {other:?}"),
            ));
        }

        let explicit_development = get("PAYFRIEND_ENV").as_deref() == Some("development");
        let production = match get("PAYFRIEND_ENV").as_deref() {
            Some("production") => true,
            Some("development") => false,
            Some(other) => {
                return Err(bad(
                    "PAYFRIEND_ENV",
                    format!("expected production or development, got {other:?}"),
                ))
            }
            None => public_url.scheme() == "https",
        };
        // With Verify chosen, Authy is needed only by accounts registered before the switch:
        // without AUTHY_API_URL in production it is simply not there.
        if production && provider == Provider::Sandbox && provider_kind == ProviderKind::Authy {
            return Err(bad(
                "AUTHY_API_URL",
                "required in production: the built-in sandbox is for development only",
            ));
        }
        // The sandbox hands out codes and approves payments for anyone who can reach it.
        if provider == Provider::Sandbox
            && provider_kind == ProviderKind::Authy
            && !explicit_development
            && !is_loopback_host(&public_url)
        {
            return Err(bad(
                "AUTHY_API_URL",
                format!(
                    "required when PUBLIC_URL ({public_url}) is not a loopback address: the \
                     built-in sandbox lets anyone read codes and approve payments, so it runs \
                     only on 127.0.0.1/localhost or with PAYFRIEND_ENV=development set explicitly"
                ),
            ));
        }

        let session_secret = match get("SESSION_SECRET") {
            Some(v) if v.len() >= 32 => Secret::new(v),
            Some(_) => return Err(bad("SESSION_SECRET", "must be at least 32 characters long")),
            None if production => {
                return Err(bad(
                    "SESSION_SECRET",
                    "required in production (at least 32 random characters)",
                ))
            }
            None => Secret::random(48),
        };

        // Mounted only where nobody else can reach it, unless asked for explicitly: a server
        // listening on 0.0.0.0 answers anyone who sends `Host: localhost`.
        let listens_on_loopback = leptos_options.site_addr.ip().is_loopback();
        // As for Authy: the sandbox's settings where the public URL is loopback (or in
        // explicit development); mounted below only if nobody else can reach it.
        let sandbox_allowed =
            !production && (explicit_development || is_loopback_host(&public_url));
        let verify = verify_settings(&get, provider_kind, &public_url, sandbox_allowed)?;
        let verify_sandbox = verify.as_ref().is_some_and(|v| v.sandbox);
        let sandbox_mounted = (provider == Provider::Sandbox || verify_sandbox)
            && (explicit_development || listens_on_loopback)
            && !production;

        let sandbox_fault = match get("SANDBOX_FAULT") {
            None => SandboxFault::None,
            Some(_) if !sandbox_mounted => {
                return Err(bad(
                    "SANDBOX_FAULT",
                    "only makes sense with the built-in sandbox (AUTHY_API_URL unset, or \
                     PAYFRIEND_PROVIDER=verify without TWILIO_VERIFY_URL)",
                ))
            }
            Some(v) => SandboxFault::parse(v.trim()).ok_or_else(|| {
                bad(
                    "SANDBOX_FAULT",
                    "expected none, error_500, error_503, slow, not_json, drop_callbacks or too_many_requests",
                )
            })?,
        };

        let currency = get("CURRENCY").unwrap_or_else(|| "USD".into());
        let currency = Currency::parse(&currency).ok_or_else(|| {
            bad(
                "CURRENCY",
                "expected the ISO 4217 code of a currency, such as USD, EUR or JPY",
            )
        })?;

        Ok(Config {
            provider_kind,
            verify,
            sandbox_mounted,
            leptos_options,
            database_url,
            public_url,
            provider,
            authy_api_key,
            authy_callback_url,
            authy_callback_tolerance_secs: number(&get, "AUTHY_CALLBACK_TOLERANCE_SECS", 300, 1)?,
            authy_timeout_secs: number(&get, "AUTHY_TIMEOUT_SECS", 10, 1)?,
            session_secret,
            session_idle_secs: number(&get, "SESSION_IDLE_SECS", 300, 10)?,
            currency,
            approval_seconds_to_expire: number(&get, "APPROVAL_SECONDS_TO_EXPIRE", 300, 10)?,
            production,
            login_max_failures: number(&get, "LOGIN_MAX_FAILURES", 5, 1)?,
            login_lock_secs: number(&get, "LOGIN_LOCK_SECS", 900, 1)?,
            code_send_limit: number(&get, "CODE_SEND_LIMIT", 5, 1)?,
            code_send_window_secs: number(&get, "CODE_SEND_WINDOW_SECS", 600, 1)?,
            max_body_bytes: number(&get, "MAX_BODY_BYTES", 64 * 1024, 1024)?,
            request_timeout_secs: number(&get, "REQUEST_TIMEOUT_SECS", 30, 1)?,
            sandbox_fault,
            code_send_global_hourly: number(&get, "CODE_SEND_GLOBAL_HOURLY", 500, 1)?,
            code_send_unverified_hourly: number(&get, "CODE_SEND_UNVERIFIED_HOURLY", 200, 1)?,
            sms_countries: parse_countries(get("SMS_COUNTRIES").as_deref().unwrap_or(""))?,
            ipv6_client_prefix: match number(&get, "IPV6_CLIENT_PREFIX", 64, 1)? {
                n @ 1..=128 => n as u8,
                _ => {
                    return Err(bad(
                        "IPV6_CLIENT_PREFIX",
                        "expected a prefix length from 1 to 128",
                    ))
                }
            },
            max_pending_payments: number(&get, "MAX_PENDING_PAYMENTS", 3, 1)?,
            push_hourly_per_user: number(&get, "PUSH_HOURLY_PER_USER", 10, 1)?,
            session_max_secs: number(&get, "SESSION_MAX_SECS", 12 * 3600, 60)?,
            trusted_proxies: match get("TRUSTED_PROXIES") {
                Some(v) => parse_proxies(&v)?,
                None => Vec::new(),
            },
            client_limits: ClientLimits {
                sign_in: rate(&get, "LIMIT_SIGN_IN", 10, 60)?,
                register: rate(&get, "LIMIT_REGISTER", 10, 3600)?,
                code_send: rate(&get, "LIMIT_CODE_RESEND", 5, 600)?,
                code_check: rate(&get, "LIMIT_PHONE_VERIFY", 10, 60)?,
                send_payment: rate(&get, "LIMIT_SEND_PAYMENT", 20, 60)?,
                payment_answer: rate(&get, "LIMIT_PAYMENT_CODE", 10, 60)?,
            },
            database_max_connections: match get("DATABASE_MAX_CONNECTIONS") {
                None => None,
                Some(_) => Some(
                    u32::try_from(number(&get, "DATABASE_MAX_CONNECTIONS", 0, 1)?)
                        .map_err(|_| bad("DATABASE_MAX_CONNECTIONS", "too large"))?,
                ),
            },
            database_statement_timeout_secs: number(
                &get,
                "DATABASE_STATEMENT_TIMEOUT_SECS",
                10,
                1,
            )?,
            sweep_interval_secs: number(&get, "SWEEP_INTERVAL_SECS", 5, 1)?,
        })
    }

    /// The database URL without its password, for messages.
    pub fn database_url_for_logs(&self) -> String {
        match Url::parse(&self.database_url) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.database_url.clone(),
        }
    }

    /// The provider's base URL: the configured one, or the sandbox served by this app.
    pub fn authy_base_url(&self) -> Url {
        match &self.provider {
            Provider::Remote(url) => url.clone(),
            Provider::Sandbox => self
                .public_url
                .join("sandbox/authy")
                .unwrap_or_else(|_| self.public_url.clone()),
        }
    }

    /// Whether the built-in sandbox is on: no `AUTHY_API_URL`, and reachable on loopback
    /// only or in explicit development mode. Without it and without a provider, nothing
    /// can send codes or push requests (start-up says so).
    pub fn sandbox_enabled(&self) -> bool {
        self.sandbox_mounted
    }

    /// The sandbox is mounted and the network can reach it (explicit development mode on a
    /// non-loopback address): start-up warns about it loudly.
    pub fn sandbox_exposed(&self) -> bool {
        self.sandbox_mounted
            && !(self.leptos_options.site_addr.ip().is_loopback()
                && is_loopback_host(&self.public_url))
    }

    /// Whether cookies must be `Secure`: the app is reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn parse_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim())
        .map_err(|e| bad(var, format!("not a valid URL ({e}): {value:?}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad(
            var,
            format!("expected an http(s) URL with a host: {value:?}"),
        ));
    }
    Ok(url)
}

/// Parses a base URL and makes sure it ends in `/`, so that `join` appends to its path.
fn parse_base_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
    let mut url = parse_url(var, value)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `SMS_COUNTRIES`: ISO 3166 alpha-2 codes separated by commas or spaces.
fn parse_countries(value: &str) -> Result<Vec<String>, ConfigError> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|code| !code.is_empty())
        .map(|code| {
            let code = code.to_ascii_uppercase();
            if code.parse::<phonenumber::country::Id>().is_ok() {
                Ok(code)
            } else {
                Err(bad(
                    "SMS_COUNTRIES",
                    format!("expected ISO country codes such as US, GB or DE, got {code:?}"),
                ))
            }
        })
        .collect()
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    min: u64,
) -> Result<u64, ConfigError> {
    let Some(value) = get(var) else {
        return Ok(default);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(bad(
            var,
            format!("expected a whole number of at least {min}, got {value:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |name| vars.get(name).cloned())
    }

    const VERIFY_LIVE: [(&str, &str); 5] = [
        ("PAYFRIEND_PROVIDER", "verify"),
        ("PUBLIC_URL", "https://pay.example.com"),
        (
            "SESSION_SECRET",
            "a session secret of at least 32 characters",
        ),
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef"),
    ];

    fn verify_live(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut pairs: Vec<(&str, &str)> = VERIFY_LIVE.to_vec();
        pairs.push((
            "TWILIO_VERIFY_SERVICE_SID",
            "VA0123456789abcdef0123456789abcdef",
        ));
        pairs.extend_from_slice(extra);
        // A later pair of the same name wins.
        let mut seen = std::collections::HashMap::new();
        for (k, v) in pairs {
            seen.insert(k, v);
        }
        config_from(&seen.into_iter().collect::<Vec<_>>())
    }

    #[test]
    fn the_allocator_is_mimalloc_or_system() {
        for ok in ["mimalloc", "system"] {
            config_from(&[("PAYFRIEND_ALLOCATOR", ok)]).expect("valid");
        }
        let e = config_from(&[("PAYFRIEND_ALLOCATOR", "sytem")]).expect_err("misspelt");
        assert_eq!(e.var, "PAYFRIEND_ALLOCATOR");
    }

    #[test]
    fn verify_without_credentials_is_the_sandbox_in_development_only() {
        let dev = config_from(&[("PAYFRIEND_PROVIDER", "verify")]).expect("valid");
        let verify = dev.verify.clone().expect("Verify settings");
        assert!(verify.sandbox);
        assert!(dev.sandbox_enabled());
        assert!(verify.base_url.as_str().ends_with("/sandbox/verify/v2/"));
        assert_eq!(dev.provider_kind, ProviderKind::Verify);

        let live = config_from(&VERIFY_LIVE[..3]).expect_err("no credentials");
        assert_eq!(live.var, "TWILIO_ACCOUNT_SID");
        let unknown = config_from(&[("PAYFRIEND_PROVIDER", "authy2")]).expect_err("unknown");
        assert_eq!(unknown.var, "PAYFRIEND_PROVIDER");
        // Authy stays the default, and needs no Verify.
        assert!(config_from(&[]).expect("valid").verify.is_none());
    }

    #[test]
    fn live_verify_settings_are_checked_and_name_the_variable() {
        let ok = verify_live(&[]).expect("valid");
        let verify = ok.verify.clone().expect("Verify");
        assert!(!verify.sandbox && !ok.sandbox_enabled());
        assert_eq!(verify.base_url.as_str(), "https://verify.twilio.com/v2/");
        assert_eq!(
            verify.events_url.as_str(),
            "https://pay.example.com/payments/verify-events"
        );
        // Production with Verify needs no Authy.
        assert_eq!(ok.provider_kind, ProviderKind::Verify);

        for (var, value) in [
            ("TWILIO_ACCOUNT_SID", "AC123"),
            ("TWILIO_ACCOUNT_SID", "SK0123456789abcdef0123456789abcdef"),
            (
                "TWILIO_VERIFY_SERVICE_SID",
                "VA0123456789abcdef0123456789abcdeg",
            ),
            ("TWILIO_API_KEY_SID", "SK0123"),
            ("TWILIO_VERIFY_URL", "ftp://verify.example.com"),
        ] {
            let err = if var == "TWILIO_API_KEY_SID" {
                verify_live(&[(var, value), ("TWILIO_API_KEY_SECRET", "s")])
            } else {
                verify_live(&[(var, value)])
            }
            .expect_err(value);
            assert_eq!(err.var, var, "{value}");
        }
        let missing_service = config_from(&VERIFY_LIVE).expect_err("no service");
        assert_eq!(missing_service.var, "TWILIO_VERIFY_SERVICE_SID");
        let half_key = verify_live(&[("TWILIO_API_KEY_SID", "SK0123456789abcdef0123456789abcdef")])
            .expect_err("no secret");
        assert_eq!(half_key.var, "TWILIO_API_KEY_SECRET");
        let key = verify_live(&[
            ("TWILIO_API_KEY_SID", "SK0123456789abcdef0123456789abcdef"),
            ("TWILIO_API_KEY_SECRET", "secret"),
        ])
        .expect("valid");
        let verify = key.verify.clone().expect("Verify");
        assert_eq!(verify.credentials().0, "SK0123456789abcdef0123456789abcdef");
        assert_eq!(verify.credentials().1.expose(), "secret");
        // In production the sandbox's URL is refused.
        let own = verify_live(&[(
            "TWILIO_VERIFY_URL",
            "https://pay.example.com/sandbox/verify/v2",
        )])
        .expect_err("sandbox in production");
        assert_eq!(own.var, "TWILIO_VERIFY_URL");
        assert!(!format!("{:?}", key.verify).contains("secret\""));
    }

    #[test]
    fn no_configuration_means_sqlite_and_the_sandbox() {
        let config = config_from(&[]).expect("defaults are valid");
        assert_eq!(config.database_url, "sqlite:payfriend.db");
        assert_eq!(config.provider, Provider::Sandbox);
        assert_eq!(config.public_url.as_str(), "http://localhost:3000/");
        assert_eq!(
            config.authy_callback_url.as_str(),
            "http://localhost:3000/payments/callback"
        );
        assert_eq!(
            config.authy_base_url().as_str(),
            "http://localhost:3000/sandbox/authy"
        );
        assert_eq!(config.session_idle_secs, 300);
        assert_eq!(config.currency.code(), "USD");
        assert!(!config.secure_cookies());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("PUBLIC_URL", "not a url"),
            ("DATABASE_URL", "mysql://x"),
            ("SESSION_SECRET", "short"),
            ("CURRENCY", "dollars"),
            ("SESSION_IDLE_SECS", "-5"),
            ("AUTHY_CALLBACK_TOLERANCE_SECS", "soon"),
            ("AUTHY_API_URL", "ftp://api.example.com"),
        ] {
            let err = config_from(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn hashed_file_names_need_their_list() {
        let dir = tempfile::tempdir().expect("dir");
        let list = dir.path().join("hash.txt");
        let name = list.display().to_string();
        let err = config_from(&[
            ("LEPTOS_HASH_FILES", "true"),
            ("LEPTOS_HASH_FILE_NAME", &name),
        ])
        .expect_err("no list");
        assert_eq!(err.var, "LEPTOS_HASH_FILES");

        std::fs::write(&list, "js: a\nwasm: b\ncss: c\n").expect("list");
        let config = config_from(&[
            ("LEPTOS_HASH_FILES", "true"),
            ("LEPTOS_HASH_FILE_NAME", &name),
        ])
        .expect("with its list");
        assert!(config.leptos_options.hash_files);
        // Found by itself when the variable is not set.
        let config = config_from(&[("LEPTOS_HASH_FILE_NAME", &name)]).expect("found");
        assert!(config.leptos_options.hash_files);
    }

    #[test]
    fn a_real_provider_needs_an_api_key() {
        let err =
            config_from(&[("AUTHY_API_URL", "https://api.authy.com")]).expect_err("key missing");
        assert_eq!(err.var, "AUTHY_API_KEY");

        let config = config_from(&[
            ("AUTHY_API_URL", "https://api.authy.com"),
            ("AUTHY_API_KEY", "k3y"),
            ("PUBLIC_URL", "https://pay.example.org/base"),
            ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .expect("valid");
        assert!(!config.sandbox_enabled());
        assert!(config.secure_cookies());
        assert_eq!(config.authy_base_url().as_str(), "https://api.authy.com/");
        assert_eq!(
            config.authy_callback_url.as_str(),
            "https://pay.example.org/base/payments/callback"
        );
    }

    #[test]
    fn production_refuses_to_start_without_provider_or_session_secret() {
        let no_provider = config_from(&[("PAYFRIEND_ENV", "production")]).expect_err("sandbox");
        assert_eq!(no_provider.var, "AUTHY_API_URL");

        let https_without_secret = config_from(&[
            ("PUBLIC_URL", "https://pay.example.org"),
            ("AUTHY_API_URL", "https://api.authy.com"),
            ("AUTHY_API_KEY", "k3y"),
        ])
        .expect_err("no session secret");
        assert_eq!(https_without_secret.var, "SESSION_SECRET");

        let no_key = config_from(&[
            ("PAYFRIEND_ENV", "production"),
            ("AUTHY_API_URL", "https://api.authy.com"),
            ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .expect_err("no API key");
        assert_eq!(no_key.var, "AUTHY_API_KEY");

        let ok = config_from(&[
            ("PAYFRIEND_ENV", "production"),
            ("AUTHY_API_URL", "https://api.authy.com"),
            ("AUTHY_API_KEY", "k3y"),
            ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
        .expect("complete production configuration");
        assert!(ok.production && !ok.sandbox_enabled());
    }

    #[test]
    fn sandbox_faults_are_for_the_sandbox_only() {
        let fault = config_from(&[("SANDBOX_FAULT", "slow")]).expect("valid");
        assert_eq!(fault.sandbox_fault, SandboxFault::Slow);
        let unknown = config_from(&[("SANDBOX_FAULT", "explode")]).expect_err("unknown");
        assert_eq!(unknown.var, "SANDBOX_FAULT");
        let real = config_from(&[
            ("AUTHY_API_URL", "https://api.authy.com"),
            ("AUTHY_API_KEY", "k3y"),
            ("SANDBOX_FAULT", "slow"),
        ])
        .expect_err("not with a real provider");
        assert_eq!(real.var, "SANDBOX_FAULT");
    }

    #[test]
    fn the_sandbox_runs_only_on_loopback_or_when_development_is_explicit() {
        let public = config_from(&[("PUBLIC_URL", "http://pay.example.org")]).expect_err("sandbox");
        assert_eq!(public.var, "AUTHY_API_URL");
        assert!(
            public.message.contains("PAYFRIEND_ENV=development"),
            "{public}"
        );
        let explicit = config_from(&[
            ("PUBLIC_URL", "http://pay.example.org"),
            ("PAYFRIEND_ENV", "development"),
        ])
        .expect("explicitly development");
        assert!(explicit.sandbox_enabled());
        for loopback in [
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
        ] {
            let config = config_from(&[("PUBLIC_URL", loopback)]).expect(loopback);
            assert!(config.sandbox_enabled());
        }
    }

    #[test]
    fn the_sandbox_is_not_mounted_on_a_network_address_unless_development_is_explicit() {
        let container = [
            ("PUBLIC_URL", "http://localhost:3000"),
            ("LEPTOS_SITE_ADDR", "0.0.0.0:3000"),
        ];
        let config = config_from(&container).expect("starts");
        assert!(!config.sandbox_enabled());
        assert!(!config.sandbox_exposed());

        let mut explicit = container.to_vec();
        explicit.push(("PAYFRIEND_ENV", "development"));
        let config = config_from(&explicit).expect("explicitly development");
        assert!(config.sandbox_enabled());
        assert!(
            config.sandbox_exposed(),
            "start-up warns about the exposure"
        );

        let local = config_from(&[
            ("PUBLIC_URL", "http://localhost:3000"),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:3000"),
        ])
        .expect("loopback");
        assert!(local.sandbox_enabled() && !local.sandbox_exposed());
    }

    #[test]
    fn limits_and_trusted_proxies_are_parsed() {
        let config = config_from(&[
            ("LIMIT_SIGN_IN", "3/30"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7 ::1/128"),
        ])
        .expect("valid");
        assert_eq!(
            config.client_limits.sign_in,
            Rate {
                burst: 3,
                per_secs: 30
            }
        );
        assert_eq!(config.trusted_proxies.len(), 3);
        for (var, value) in [
            ("LIMIT_REGISTER", "ten"),
            ("LIMIT_REGISTER", "0/60"),
            ("LIMIT_SEND_PAYMENT", "5"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "proxy.example"),
        ] {
            assert_eq!(config_from(&[(var, value)]).expect_err(value).var, var);
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = config_from(&[("SESSION_SECRET", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t")])
            .expect("valid");
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }
}
