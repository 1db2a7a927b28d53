//! A typed client for the subset of the Authy API Payfriend uses (spec: authy-api.md),
//! and its implementation of [`Provider`]: the only code that knows Authy's error codes
//! and status strings.
//!
//! Any non-200 answer, a body that is not JSON, a timeout or a refused connection is an
//! [`AuthyError`]; nothing but an explicit success is ever taken as one.

use crate::shared::sid::VerificationSid;
use std::{collections::BTreeMap, time::Duration};

use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

use async_trait::async_trait;

use super::AuthyId;
use crate::model::{UserId as AccountId, Via};
use crate::server::config::{ProviderKind, Secret};
use crate::server::providers::{
    Approval, ApprovalStatus, BoundCode, Person, Phone, Provider, ProviderError,
};

/// Why a provider call did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthyError {
    /// The provider answered with an error (`error_code` such as `60020`).
    #[error("provider error {code} (HTTP {status}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No usable answer: timeout, refused connection, not JSON, or not a success.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

impl AuthyError {
    /// The Authy error code, when the provider sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AuthyError::Api { code, .. } => Some(code),
            AuthyError::Unavailable(_) => None,
        }
    }
}

impl From<AuthyError> for ProviderError {
    /// Authy's error codes in the domain's terms (spec: authy-api.md).
    fn from(e: AuthyError) -> Self {
        match e {
            AuthyError::Api { code, message, .. } => match code.as_str() {
                "60022" | "60019" | "60020" => ProviderError::WrongCode,
                "60023" => ProviderError::CodeExpired,
                "60033" => ProviderError::InvalidPhone,
                "60003" => ProviderError::RateLimited {
                    retry_after_secs: None,
                },
                _ => ProviderError::Refused(format!("{code}: {message}")),
            },
            AuthyError::Unavailable(why) => ProviderError::Unavailable(why),
        }
    }
}

/// An approval request's status as Authy writes it (`approved`, `denied`...), in the
/// domain's terms; callbacks carry the same strings.
pub fn approval_status(status: &str) -> Option<ApprovalStatus> {
    match status {
        "pending" => Some(ApprovalStatus::Pending),
        "approved" => Some(ApprovalStatus::Approved),
        "denied" => Some(ApprovalStatus::Denied),
        "expired" => Some(ApprovalStatus::Expired),
        _ => None,
    }
}

#[async_trait]
impl Provider for AuthyClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Authy
    }

    async fn start_verification(
        &self,
        phone: Phone<'_>,
        via: Via,
    ) -> Result<Option<VerificationSid>, ProviderError> {
        AuthyClient::start_verification(self, phone.country_code, phone.national, via).await?;
        Ok(None)
    }

    async fn check_verification(
        &self,
        phone: Phone<'_>,
        _handle: Option<&VerificationSid>,
        code: &str,
    ) -> Result<(), ProviderError> {
        Ok(AuthyClient::check_verification(self, phone.country_code, phone.national, code).await?)
    }

    async fn register_user(
        &self,
        email: &str,
        phone: Phone<'_>,
    ) -> Result<Option<AuthyId>, ProviderError> {
        Ok(Some(
            AuthyClient::register_user(self, email, phone.national, phone.country_code).await?,
        ))
    }

    async fn create_approval_request(
        &self,
        person: Person<'_>,
        request: &NewApprovalRequest,
    ) -> Result<Option<String>, ProviderError> {
        let authy_id = authy_id(person)?;
        Ok(Some(
            AuthyClient::create_approval_request(self, authy_id, request).await?,
        ))
    }

    async fn approval(&self, _user_id: &AccountId, uuid: &str) -> Result<Approval, ProviderError> {
        let fetched = AuthyClient::approval_request_status(self, uuid).await?;
        let status = approval_status(&fetched.status).ok_or_else(|| {
            ProviderError::Unavailable(format!("unknown approval status {:?}", fetched.status))
        })?;
        Ok(Approval {
            status,
            payment_id: None,
        })
    }

    async fn send_sms_token(
        &self,
        person: Person<'_>,
        code: BoundCode<'_>,
        _previous: Option<&VerificationSid>,
    ) -> Result<Option<VerificationSid>, ProviderError> {
        AuthyClient::send_sms_token(self, authy_id(person)?, code.action, code.message).await?;
        Ok(None)
    }

    async fn verify_token(
        &self,
        person: Person<'_>,
        token: &str,
        code: BoundCode<'_>,
        _handle: Option<&VerificationSid>,
    ) -> Result<(), ProviderError> {
        Ok(AuthyClient::verify_token(self, authy_id(person)?, token, code.action).await?)
    }
}

/// Authy's id for the person (every verified Authy account has one).
fn authy_id(person: Person<'_>) -> Result<AuthyId, ProviderError> {
    person
        .authy_id
        .ok_or_else(|| ProviderError::Refused("the account has no authy_id".into()))
}

/// One logo shown with a push request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logo {
    pub res: String,
    pub url: String,
}

/// A push approval request to create.
#[derive(Debug, Clone, Serialize)]
pub struct NewApprovalRequest {
    pub message: String,
    pub details: BTreeMap<String, String>,
    pub hidden_details: BTreeMap<String, String>,
    pub logos: Vec<Logo>,
    pub seconds_to_expire: u64,
}

/// The state of a push approval request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApprovalRequestStatus {
    pub uuid: String,
    pub status: String,
}

/// The Authy API client.
#[derive(Clone)]
pub struct AuthyClient {
    http: reqwest::Client,
    base: String,
    api_key: Secret,
    timeout: Duration,
}

#[derive(Deserialize)]
struct UserCreated {
    user: UserId,
}

#[derive(Deserialize)]
struct UserId {
    id: AuthyId,
}

#[derive(Deserialize)]
struct ApprovalCreated {
    approval_request: ApprovalUuid,
}

#[derive(Deserialize)]
struct ApprovalUuid {
    uuid: String,
}

#[derive(Deserialize)]
struct ApprovalFetched {
    approval_request: ApprovalRequestStatus,
}

impl AuthyClient {
    /// A client for the API at `base_url` with a per-call `timeout`.
    pub fn new(base_url: &str, api_key: Secret, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("payfriend/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        AuthyClient {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            api_key,
            timeout,
        }
    }

    /// Sends a phone verification code by SMS or voice call.
    pub async fn start_verification(
        &self,
        country_code: &str,
        phone_number: &str,
        via: Via,
    ) -> Result<(), AuthyError> {
        let body = serde_json::json!({
            "phone_number": phone_number,
            "country_code": country_code,
            "via": via.as_str(),
            "code_length": 6,
            "locale": "en",
        });
        self.call::<Value>(
            Method::POST,
            "/protected/json/phones/verification/start",
            &[],
            Some(body),
        )
        .await
        .map(|_| ())
    }

    /// Checks a phone verification code (`60022`: wrong code, `60023`: nothing pending).
    pub async fn check_verification(
        &self,
        country_code: &str,
        phone_number: &str,
        code: &str,
    ) -> Result<(), AuthyError> {
        self.call::<Value>(
            Method::GET,
            "/protected/json/phones/verification/check",
            &[
                ("phone_number", phone_number),
                ("country_code", country_code),
                ("verification_code", code),
            ],
            None,
        )
        .await
        .map(|_| ())
    }

    /// Registers a user and returns their `authy_id` (the same phone gives the same id).
    pub async fn register_user(
        &self,
        email: &str,
        cellphone: &str,
        country_code: &str,
    ) -> Result<AuthyId, AuthyError> {
        let body = serde_json::json!({
            "user": {"email": email, "cellphone": cellphone, "country_code": country_code},
            "send_install_link_via_sms": false,
        });
        let created: UserCreated = self
            .call(Method::POST, "/protected/json/users/new", &[], Some(body))
            .await?;
        Ok(created.user.id)
    }

    /// The provider's view of a user (`60026`: not found).
    pub async fn user_status(&self, authy_id: AuthyId) -> Result<Value, AuthyError> {
        self.call(
            Method::GET,
            &format!("/protected/json/users/{authy_id}/status"),
            &[],
            None,
        )
        .await
    }

    /// Sends a push approval request to the user's phone; returns its uuid.
    pub async fn create_approval_request(
        &self,
        authy_id: AuthyId,
        request: &NewApprovalRequest,
    ) -> Result<String, AuthyError> {
        let body = serde_json::to_value(request)
            .map_err(|e| AuthyError::Unavailable(format!("cannot encode request: {e}")))?;
        let created: ApprovalCreated = self
            .call(
                Method::POST,
                &format!("/onetouch/json/users/{authy_id}/approval_requests"),
                &[],
                Some(body),
            )
            .await?;
        Ok(created.approval_request.uuid)
    }

    /// The current state of a push approval request (`60049`: not found).
    pub async fn approval_request_status(
        &self,
        uuid: &str,
    ) -> Result<ApprovalRequestStatus, AuthyError> {
        let fetched: ApprovalFetched = self
            .call(
                Method::GET,
                &format!("/onetouch/json/approval_requests/{}", path_segment(uuid)),
                &[],
                None,
            )
            .await?;
        Ok(fetched.approval_request)
    }

    /// Sends a one-time code by SMS (always forced), bound to `action`.
    pub async fn send_sms_token(
        &self,
        authy_id: AuthyId,
        action: &str,
        action_message: &str,
    ) -> Result<(), AuthyError> {
        self.call::<Value>(
            Method::GET,
            &format!("/protected/json/sms/{authy_id}"),
            &[
                ("force", "true"),
                ("action", action),
                ("action_message", action_message),
                ("locale", "en"),
            ],
            None,
        )
        .await
        .map(|_| ())
    }

    /// Verifies a one-time code sent for `action` (`60020`: wrong code).
    pub async fn verify_token(
        &self,
        authy_id: AuthyId,
        token: &str,
        action: &str,
    ) -> Result<(), AuthyError> {
        self.call::<Value>(
            Method::GET,
            &format!("/protected/json/verify/{}/{authy_id}", path_segment(token)),
            &[("force", "true"), ("action", action)],
            None,
        )
        .await
        .map(|_| ())
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<T, AuthyError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(self.timeout)
            .header("X-Authy-API-Key", self.api_key.expose());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| AuthyError::Unavailable(describe_transport_error(&e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| AuthyError::Unavailable(describe_transport_error(&e)))?;
        let json: Value = serde_json::from_str(&text).map_err(|_| {
            AuthyError::Unavailable(format!("HTTP {status} with a body that is not JSON"))
        })?;
        if status != StatusCode::OK || !is_success(&json) {
            return Err(api_error(status, &json));
        }
        serde_json::from_value(json)
            .map_err(|e| AuthyError::Unavailable(format!("unexpected answer: {e}")))
    }
}

fn is_success(json: &Value) -> bool {
    match json.get("success") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn api_error(status: StatusCode, json: &Value) -> AuthyError {
    let code = match json.get("error_code") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let message = json
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_string();
    if code.is_empty() {
        // An answer without an Authy error code is not an answer we understand.
        return AuthyError::Unavailable(format!("HTTP {status}: {message}"));
    }
    AuthyError::Api {
        status: status.as_u16(),
        code,
        message,
    }
}

fn describe_transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "the connection failed".to_string()
    }
}

/// Percent-encodes a value placed in a URL path (codes and uuids are digits and hex, but
/// nothing a user typed may change the path).
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> AuthyError {
        AuthyError::Api {
            status: 401,
            code: code.to_string(),
            message: "message".to_string(),
        }
    }

    #[test]
    fn authy_error_codes_become_domain_outcomes() {
        let cases = [
            ("60022", ProviderError::WrongCode),
            ("60020", ProviderError::WrongCode),
            ("60019", ProviderError::WrongCode),
            ("60023", ProviderError::CodeExpired),
            ("60033", ProviderError::InvalidPhone),
            (
                "60003",
                ProviderError::RateLimited {
                    retry_after_secs: None,
                },
            ),
        ];
        for (code, outcome) in cases {
            assert_eq!(ProviderError::from(api(code)), outcome, "{code}");
        }
        assert!(matches!(
            ProviderError::from(api("60026")),
            ProviderError::Refused(m) if m.contains("60026")
        ));
        assert!(matches!(
            ProviderError::from(AuthyError::Unavailable("timeout".into())),
            ProviderError::Unavailable(_)
        ));
    }

    #[test]
    fn approval_statuses_are_parsed_and_nothing_else_is() {
        assert_eq!(approval_status("approved"), Some(ApprovalStatus::Approved));
        assert_eq!(approval_status("denied"), Some(ApprovalStatus::Denied));
        assert_eq!(approval_status("pending"), Some(ApprovalStatus::Pending));
        assert_eq!(approval_status("expired"), Some(ApprovalStatus::Expired));
        assert_eq!(approval_status("APPROVED"), None);
    }
}
