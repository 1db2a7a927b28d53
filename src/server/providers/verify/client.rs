//! A typed client for the part of Twilio Verify v2 Payfriend uses (spec: verify-v2.md), and
//! its implementation of [`Provider`]: the only code that knows Verify's error codes and
//! status strings.
//!
//! Requests are form-encoded as Twilio's official client sends them: PascalCase names,
//! lists as repeated keys, objects as JSON strings written the way Python's `json.dumps`
//! writes them. Basic authentication (account SID and auth token, or an API key). Every
//! call has a timeout; nothing is retried: a repeated start or check would spend one of
//! the verification's five sends or checks, a repeated challenge would push twice. A 429
//! says when to come back (`Retry-After`), and the person is told so.

use std::time::Duration;

use crate::shared::sid::{ChallengeSid, FactorSid, ServiceSid, VerificationSid};
use crate::shared::verify_format::{iso8601, python_json};

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Deserialize};

use crate::model::{UserId, Via};
use crate::server::config::{ProviderKind, Secret, VerifySettings};
use crate::server::providers::{
    Approval, ApprovalStatus, BoundCode, NewApprovalRequest, Person, Phone, Provider, ProviderError,
};

/// Why a Verify call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Twilio answered with an error body (`code` such as 60202).
    #[error("Verify error {code} (HTTP {status}): {message}")]
    Api {
        status: u16,
        code: u32,
        message: String,
        retry_after_secs: Option<u64>,
    },
    /// No usable answer: timeout, refused connection, a body that is not understood.
    #[error("Verify unavailable: {0}")]
    Unavailable(String),
}

impl From<VerifyError> for ProviderError {
    /// Verify's error codes in the domain's terms (spec §4.2).
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Api {
                status,
                code,
                message,
                retry_after_secs,
            } => match code {
                60200 if message.contains("To") => ProviderError::InvalidPhone,
                60202 => ProviderError::TooManyChecks,
                60203 => ProviderError::TooManySends,
                60205 => ProviderError::Landline,
                60605 | 60410 => ProviderError::BlockedCountry,
                20429 | 60212 => ProviderError::RateLimited { retry_after_secs },
                _ if status == 429 => ProviderError::RateLimited { retry_after_secs },
                _ if status >= 500 => ProviderError::Unavailable(format!("{code}: {message}")),
                _ => ProviderError::Refused(format!("{code}: {message}")),
            },
            VerifyError::Unavailable(why) => ProviderError::Unavailable(why),
        }
    }
}

/// A check's refusal: a verification that is gone (approved, expired, cancelled, never
/// started) is an expired code there.
fn check_refused(e: VerifyError) -> ProviderError {
    match e {
        VerifyError::Api { code: 20404, .. } => ProviderError::CodeExpired,
        e => e.into(),
    }
}

/// The longest a challenge may live (spec §5.3: creation + 60 minutes).
pub const MAX_CHALLENGE_SECS: i64 = 3600;

/// The amount and payee of a phone verification at registration: a PSD2 service wants
/// both on every verification, so the code says what it is for.
pub const PHONE_CHECK_AMOUNT: &str = "0";
pub const PHONE_CHECK_PAYEE: &str = "Payfriend: confirm your phone number";

/// What a create call answers with: the new thing's SID, checked to be of its kind.
#[derive(Deserialize)]
struct Created<S> {
    sid: S,
}

#[derive(Deserialize)]
struct Checked {
    status: String,
}

#[derive(Deserialize)]
struct ChallengeFetched {
    status: String,
    #[serde(default)]
    hidden_details: Option<serde_json::Value>,
}

/// A push factor as Verify reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Factor {
    pub sid: FactorSid,
    pub identity: String,
    pub status: String,
    pub factor_type: String,
}

#[derive(Deserialize)]
struct AccessToken {
    token: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: u32,
    message: String,
}

/// The Verify v2 client of one service.
#[derive(Clone)]
pub struct VerifyClient {
    http: reqwest::Client,
    base: String,
    service: ServiceSid,
    user: String,
    password: Secret,
}

impl VerifyClient {
    /// A client for the configured service, with a per-call `timeout`.
    pub fn new(settings: &VerifySettings, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("payfriend/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let (user, password) = settings.credentials();
        VerifyClient {
            http,
            base: settings.base_url.as_str().trim_end_matches('/').to_string(),
            service: settings.service_sid.clone(),
            user: user.to_string(),
            password: password.clone(),
        }
    }

    /// Starts (or, while one is pending for `to`, sends again) a verification; its SID.
    pub async fn start(
        &self,
        to: &str,
        channel: &str,
        amount: &str,
        payee: &str,
    ) -> Result<VerificationSid, VerifyError> {
        let form = vec![
            ("To", to.to_string()),
            ("Channel", channel.to_string()),
            ("Locale", "en".to_string()),
            ("Amount", amount.to_string()),
            ("Payee", payee.to_string()),
        ];
        let created: Created<VerificationSid> = self
            .call(Method::POST, &self.path("Verifications"), Some(&form))
            .await?;
        Ok(created.sid)
    }

    /// Cancels a pending verification (its code no longer checks).
    pub async fn cancel(&self, sid: &VerificationSid) -> Result<(), VerifyError> {
        let form = vec![("Status", "canceled".to_string())];
        self.call::<serde_json::Value>(
            Method::POST,
            &self.path(&format!("Verifications/{sid}")),
            Some(&form),
        )
        .await
        .map(|_| ())
    }

    /// Checks a code of the verification `sid` (or of the one pending for `to`), with the
    /// amount and payee it was started with; `Ok(true)` when approved, `Ok(false)` for a
    /// wrong code.
    pub async fn check(
        &self,
        sid: Option<&VerificationSid>,
        to: &str,
        code: &str,
        amount: &str,
        payee: &str,
    ) -> Result<bool, VerifyError> {
        let mut form = vec![("Code", code.to_string())];
        match sid {
            Some(sid) => form.push(("VerificationSid", sid.to_string())),
            None => form.push(("To", to.to_string())),
        }
        form.push(("Amount", amount.to_string()));
        form.push(("Payee", payee.to_string()));
        let checked: Checked = self
            .call(Method::POST, &self.path("VerificationCheck"), Some(&form))
            .await?;
        Ok(checked.status == "approved")
    }

    /// Creates a push challenge on the identity's factor; its SID.
    pub async fn create_challenge(
        &self,
        identity: &str,
        factor_sid: &FactorSid,
        request: &NewApprovalRequest,
        expires_at: i64,
    ) -> Result<ChallengeSid, VerifyError> {
        let mut form = vec![
            ("FactorSid", factor_sid.to_string()),
            ("ExpirationDate", iso8601(expires_at)),
            ("Details.Message", truncate(&request.message, 256)),
        ];
        for (label, value) in &request.details {
            form.push((
                "Details.Fields",
                python_json(&[
                    ("label", &truncate(label, 36)),
                    ("value", &truncate(value, 128)),
                ]),
            ));
        }
        let hidden: Vec<(&str, &str)> = request
            .hidden_details
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("HiddenDetails", python_json(&hidden)));
        let created: Created<ChallengeSid> = self
            .call(
                Method::POST,
                &self.path(&format!("Entities/{}/Challenges", segment(identity))),
                Some(&form),
            )
            .await?;
        Ok(created.sid)
    }

    /// A challenge's status and the payment its hidden details name.
    pub async fn challenge(
        &self,
        identity: &str,
        sid: &ChallengeSid,
    ) -> Result<Approval, VerifyError> {
        let fetched: ChallengeFetched = self
            .call(
                Method::GET,
                &self.path(&format!("Entities/{}/Challenges/{sid}", segment(identity))),
                None,
            )
            .await?;
        let status = match fetched.status.as_str() {
            "pending" => ApprovalStatus::Pending,
            "approved" => ApprovalStatus::Approved,
            "denied" => ApprovalStatus::Denied,
            "expired" => ApprovalStatus::Expired,
            other => {
                return Err(VerifyError::Unavailable(format!(
                    "unknown challenge status {other:?}"
                )))
            }
        };
        let payment_id = fetched
            .hidden_details
            .as_ref()
            .and_then(|h| h.get("payment_id"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        Ok(Approval { status, payment_id })
    }

    /// An access token with which the person's phone app creates its push factor.
    pub async fn access_token(&self, identity: &str, name: &str) -> Result<String, VerifyError> {
        let form = vec![
            ("Identity", identity.to_string()),
            ("FactorType", "push".to_string()),
            ("FactorFriendlyName", name.to_string()),
            ("Ttl", "300".to_string()),
        ];
        let created: AccessToken = self
            .call(Method::POST, &self.path("AccessTokens"), Some(&form))
            .await?;
        Ok(created.token)
    }

    /// A factor of the identity.
    pub async fn factor(&self, identity: &str, sid: &FactorSid) -> Result<Factor, VerifyError> {
        self.call(
            Method::GET,
            &self.path(&format!("Entities/{}/Factors/{sid}", segment(identity))),
            None,
        )
        .await
    }

    /// Deletes a factor of the identity (one already gone is not an error).
    pub async fn delete_factor(&self, identity: &str, sid: &FactorSid) -> Result<(), VerifyError> {
        let deleted = self
            .send(
                Method::DELETE,
                &self.path(&format!("Entities/{}/Factors/{sid}", segment(identity))),
                None,
            )
            .await;
        match deleted {
            Ok(_) | Err(VerifyError::Api { code: 20404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/Services/{}/{rest}", self.service)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&str, String)]>,
    ) -> Result<T, VerifyError> {
        let body = self.send(method, path, form).await?;
        serde_json::from_slice(&body)
            .map_err(|e| VerifyError::Unavailable(format!("answer not understood: {e}")))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&str, String)]>,
    ) -> Result<Vec<u8>, VerifyError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(self.password.expose()))
            .header("Accept", "application/json");
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.map_err(|e| {
            // The error's text names the URL only: no code or number is in it.
            VerifyError::Unavailable(if e.is_timeout() {
                "timed out".to_string()
            } else {
                "no answer".to_string()
            })
        })?;
        let status = response.status();
        let retry_after_secs = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = response
            .bytes()
            .await
            .map_err(|_| VerifyError::Unavailable("answer cut short".to_string()))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => Err(VerifyError::Api {
                status: status.as_u16(),
                code: e.code,
                message: e.message,
                retry_after_secs,
            }),
            Err(_) if status == StatusCode::TOO_MANY_REQUESTS => Err(VerifyError::Api {
                status: 429,
                code: 20429,
                message: "Too Many Requests".into(),
                retry_after_secs,
            }),
            Err(_) => Err(VerifyError::Unavailable(format!(
                "HTTP {}",
                status.as_u16()
            ))),
        }
    }
}

#[async_trait]
impl Provider for VerifyClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Verify
    }

    async fn start_verification(
        &self,
        phone: Phone<'_>,
        via: Via,
    ) -> Result<Option<VerificationSid>, ProviderError> {
        let channel = match via {
            Via::Sms => "sms",
            Via::Call => "call",
        };
        Ok(Some(
            self.start(phone.e164, channel, PHONE_CHECK_AMOUNT, PHONE_CHECK_PAYEE)
                .await?,
        ))
    }

    async fn check_verification(
        &self,
        phone: Phone<'_>,
        handle: Option<&VerificationSid>,
        code: &str,
    ) -> Result<(), ProviderError> {
        match self
            .check(
                handle,
                phone.e164,
                code,
                PHONE_CHECK_AMOUNT,
                PHONE_CHECK_PAYEE,
            )
            .await
            .map_err(check_refused)?
        {
            true => Ok(()),
            false => Err(ProviderError::WrongCode),
        }
    }

    async fn register_user(
        &self,
        _email: &str,
        _phone: Phone<'_>,
    ) -> Result<Option<crate::server::providers::authy::AuthyId>, ProviderError> {
        // Verify has no users: the person is their phone number and their entity.
        Ok(None)
    }

    async fn create_approval_request(
        &self,
        person: Person<'_>,
        request: &NewApprovalRequest,
    ) -> Result<Option<String>, ProviderError> {
        let Some(factor) = person.push_factor else {
            return Ok(None);
        };
        // Verify takes a challenge of at most an hour: a longer approval window
        // (APPROVAL_SECONDS_TO_EXPIRE) leaves the SMS code and the passkey after that.
        let seconds = i64::try_from(request.seconds_to_expire)
            .unwrap_or(MAX_CHALLENGE_SECS)
            .min(MAX_CHALLENGE_SECS);
        let expires_at = crate::shared::clock::now() + seconds;
        let sid = self
            .create_challenge(&person.user_id.to_string(), factor, request, expires_at)
            .await?;
        Ok(Some(sid.to_string()))
    }

    async fn approval(&self, user_id: &UserId, id: &str) -> Result<Approval, ProviderError> {
        // A Verify account's push requests are its challenges.
        let sid = ChallengeSid::parse(id).ok_or_else(|| {
            ProviderError::Refused(format!("{id:?} is not a Verify challenge's SID"))
        })?;
        Ok(self.challenge(&user_id.to_string(), &sid).await?)
    }

    async fn send_sms_token(
        &self,
        person: Person<'_>,
        code: BoundCode<'_>,
        previous: Option<&VerificationSid>,
    ) -> Result<Option<VerificationSid>, ProviderError> {
        if let Some(previous) = previous {
            // One pending verification per number, whose code Verify sends again: the
            // earlier one (for something else) goes first, so no code serves two payments.
            match self.cancel(previous).await {
                Ok(()) | Err(VerifyError::Api { code: 20404, .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some(
            self.start(person.phone.e164, "sms", code.amount, code.payee)
                .await?,
        ))
    }

    async fn verify_token(
        &self,
        person: Person<'_>,
        token: &str,
        code: BoundCode<'_>,
        handle: Option<&VerificationSid>,
    ) -> Result<(), ProviderError> {
        // Without its verification's SID a code is never checked by number alone: that
        // could approve one thing with another's code.
        let Some(sid) = handle else {
            return Err(ProviderError::CodeExpired);
        };
        match self
            .check(Some(sid), person.phone.e164, token, code.amount, code.payee)
            .await
            .map_err(check_refused)?
        {
            true => Ok(()),
            false => Err(ProviderError::WrongCode),
        }
    }

    async fn cancel_code(&self, handle: &VerificationSid) -> Result<(), ProviderError> {
        match self.cancel(handle).await {
            Ok(()) | Err(VerifyError::Api { code: 20404, .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A path segment: SIDs and identities are letters, digits and `-`; anything else is
/// percent-encoded so that it stays one segment.
fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_error_codes_become_typed_outcomes() {
        let api = |status: u16, code: u32, message: &str| VerifyError::Api {
            status,
            code,
            message: message.into(),
            retry_after_secs: Some(7),
        };
        let cases = [
            (
                api(400, 60200, "Invalid parameter: To"),
                ProviderError::InvalidPhone,
            ),
            (
                api(429, 60202, "Max check attempts reached"),
                ProviderError::TooManyChecks,
            ),
            (
                api(429, 60203, "Max send attempts reached"),
                ProviderError::TooManySends,
            ),
            (
                api(403, 60205, "SMS is not supported by landline"),
                ProviderError::Landline,
            ),
            (api(403, 60605, "blocked"), ProviderError::BlockedCountry),
            (
                api(429, 20429, "Too many requests"),
                ProviderError::RateLimited {
                    retry_after_secs: Some(7),
                },
            ),
            (
                api(503, 20503, "unavailable"),
                ProviderError::Unavailable("20503: unavailable".into()),
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(ProviderError::from(error.clone()), expected, "{error}");
        }
        assert!(matches!(
            ProviderError::from(api(401, 20003, "Authenticate")),
            ProviderError::Refused(m) if m.contains("20003")
        ));
        // Only a check reads "not found" as an expired code; elsewhere it is a refusal.
        assert_eq!(
            check_refused(api(404, 20404, "not found")),
            ProviderError::CodeExpired
        );
        assert!(matches!(
            ProviderError::from(api(404, 20404, "not found")),
            ProviderError::Refused(m) if m.contains("20404")
        ));
    }

    #[test]
    fn path_segments_cannot_leave_their_segment() {
        assert_eq!(segment("YC0123"), "YC0123");
        assert_eq!(segment("../x y"), "..%2Fx%20y");
    }
}
