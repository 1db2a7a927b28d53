//! Twilio Verify v2's endpoints as the sandbox serves them under `/sandbox/verify/v2`:
//! the same paths, form-encoded parameters, status codes, error bodies, limits (5 sends,
//! 5 checks, 10 minutes) and SID formats as the real service (spec: verify-v2.md §10).
//!
//! The sandbox's service is in PSD2 mode: every verification carries `Amount` and `Payee`,
//! and a check must carry the same bytes. Magic numbers act out refusals: `+12025550109`
//! is a landline (60205 for SMS), numbers of country code 7 are in a blocked country
//! (60605).

use std::collections::BTreeMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::{
    random_digits,
    verify_store::{self as store, ChallengeRow, FactorRow, VerificationRow},
    Sandbox, VerifySandbox,
};
use crate::sandbox::model::SandboxFault;
use crate::shared::{
    clock,
    verify_format::{decode_fields, iso8601, parse_iso8601, random_sid},
    verify_signature as signature,
};

/// How long a verification lives.
pub const VERIFICATION_SECONDS: i64 = 600;
/// Sends and checks per verification.
pub const MAX_SENDS: i64 = 5;
pub const MAX_CHECKS: i64 = 5;
/// The landline of the magic numbers.
pub const LANDLINE: &str = "+12025550109";
/// The country code whose numbers the sandbox's service does not send to.
pub const BLOCKED_COUNTRY_PREFIX: &str = "+7";

/// The Verify endpoints, to be nested under `/sandbox/verify/v2`.
pub fn routes(state: Sandbox) -> Router<Sandbox> {
    Router::new()
        .route("/Services", post(create_service))
        .route("/Services/{service}", get(fetch_service))
        .route("/Services/{service}/Verifications", post(start))
        .route(
            "/Services/{service}/Verifications/{sid}",
            get(fetch_verification).post(update_verification),
        )
        .route("/Services/{service}/VerificationCheck", post(check))
        .route("/Services/{service}/AccessTokens", post(access_token))
        .route(
            "/Services/{service}/Entities/{identity}/Factors",
            get(list_factors).post(create_factor),
        )
        .route(
            "/Services/{service}/Entities/{identity}/Factors/{sid}",
            get(fetch_factor).delete(delete_factor),
        )
        .route(
            "/Services/{service}/Entities/{identity}/Challenges",
            get(list_challenges).post(create_challenge),
        )
        .route(
            "/Services/{service}/Entities/{identity}/Challenges/{sid}",
            get(fetch_challenge),
        )
        .route(
            "/Services/{service}/Entities/{identity}/Challenges/{sid}/Notifications",
            post(notify),
        )
        .route(
            "/Services/{service}/Webhooks",
            get(list_webhooks).post(create_webhook),
        )
        .fallback(|request: Request| async move { TwilioError::not_found(request.uri().path()) })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state, act_out_fault))
}

/// An error in Twilio's shape: `{code, message, more_info, status}`.
#[derive(Debug)]
pub struct TwilioError {
    status: StatusCode,
    code: u32,
    message: String,
}

impl TwilioError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        TwilioError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(param: &str) -> Self {
        TwilioError::new(
            StatusCode::BAD_REQUEST,
            60200,
            format!("Invalid parameter: {param}"),
        )
    }

    fn not_found(path: &str) -> Self {
        TwilioError::new(
            StatusCode::NOT_FOUND,
            20404,
            format!("The requested resource {path} was not found"),
        )
    }
}

impl From<sqlx::Error> for TwilioError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "sandbox: database error");
        TwilioError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            20503,
            "Service unavailable",
        )
    }
}

impl IntoResponse for TwilioError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status.as_u16(),
        });
        (self.status, Json(body)).into_response()
    }
}

type ApiResult = Result<Response, TwilioError>;

fn created(body: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn ok(body: Value) -> ApiResult {
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// The failures of the sandbox's switch, as Verify would show them.
async fn act_out_fault(State(state): State<Sandbox>, request: Request, next: Next) -> Response {
    if state.fault.get() == SandboxFault::TooManyRequests {
        let mut response =
            TwilioError::new(StatusCode::TOO_MANY_REQUESTS, 20429, "Too many requests")
                .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static(super::api::RETRY_AFTER_SECS),
        );
        return response;
    }
    super::api::act_out_fault(State(state), request, next).await
}

/// Basic authentication with the account SID and auth token, or an API key SID and
/// secret, as configured; anything else is 401 / 20003.
async fn authenticate(State(state): State<Sandbox>, request: Request, next: Next) -> Response {
    let Some(verify) = &state.verify else {
        return TwilioError::not_found(request.uri().path()).into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| BASE64.decode(v.trim()).ok())
        .unwrap_or_default();
    let accepted = verify
        .credentials()
        .iter()
        .any(|(user, password)| bool::from(given.ct_eq(format!("{user}:{password}").as_bytes())));
    if accepted {
        next.run(request).await
    } else {
        TwilioError::new(StatusCode::UNAUTHORIZED, 20003, "Authenticate").into_response()
    }
}

/// A form body's parameters, repeated names kept.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Form, TwilioError> {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form && !body.is_empty() {
            // Verify takes no JSON: clients that sent it got 60200.
            return Err(TwilioError::invalid("Content-Type"));
        }
        Ok(Form(signature::form_params(body)))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn required(&self, name: &str) -> Result<&str, TwilioError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| TwilioError::invalid(name))
    }
}

/// A Verify service as the sandbox keeps it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct Service {
    sid: String,
    friendly_name: String,
    code_length: i64,
    psd2_enabled: i64,
    created_at: i64,
}

/// The service in the path (the configured one, or one created over the API), or 404.
async fn service<'a>(
    state: &'a Sandbox,
    sid: &str,
    path: &str,
) -> Result<(&'a VerifySandbox, Service), TwilioError> {
    let Some(verify) = &state.verify else {
        return Err(TwilioError::not_found(path));
    };
    if verify.service_sid == sid {
        // The app's own: PSD2 mode, six digits, named as the SMS says.
        return Ok((
            verify,
            Service {
                sid: sid.to_string(),
                friendly_name: verify.friendly_name.clone(),
                code_length: 6,
                psd2_enabled: 1,
                created_at: 0,
            },
        ));
    }
    match store::service(&state.db, sid).await? {
        Some(created) => Ok((verify, created)),
        None => Err(TwilioError::not_found(path)),
    }
}

fn service_json(verify: &VerifySandbox, s: &Service) -> Value {
    let url = format!("{}/Services/{}", base_url(verify), s.sid);
    json!({
        "sid": s.sid,
        "account_sid": verify.account_sid,
        "friendly_name": s.friendly_name,
        "code_length": s.code_length,
        "lookup_enabled": false,
        "psd2_enabled": s.psd2_enabled != 0,
        "skip_sms_to_landlines": false,
        "dtmf_input_required": false,
        "tts_name": null,
        "do_not_share_warning_enabled": false,
        "custom_code_enabled": false,
        "push": {"include_date": false, "apn_credential_sid": null, "fcm_credential_sid": null},
        "totp": {"issuer": s.friendly_name, "time_step": 30, "code_length": 6, "skew": 1},
        "whatsapp": {"msg_service_sid": null, "from": null},
        "default_template_sid": null,
        "verify_event_subscription_enabled": false,
        "date_created": iso8601(s.created_at),
        "date_updated": iso8601(s.created_at),
        "url": url,
        "links": {
            "verification_checks": format!("{url}/VerificationCheck"),
            "verifications": format!("{url}/Verifications"),
            "entities": format!("{url}/Entities"),
            "webhooks": format!("{url}/Webhooks"),
            "access_tokens": format!("{url}/AccessTokens"),
        },
    })
}

/// A service name as Verify takes it: at most 30 characters, letters, digits, spaces, `-`
/// and `_`, and at most 4 digits (spec §2).
fn valid_friendly_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= 30
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        && name.chars().filter(char::is_ascii_digit).count() <= 4
}

/// `POST /Services`: a new service (the app keeps using the one it is configured with).
async fn create_service(
    State(state): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let Some(verify) = &state.verify else {
        return Err(TwilioError::not_found("/Services"));
    };
    let form = Form::parse(&headers, &body)?;
    let name = form.required("FriendlyName")?;
    if !valid_friendly_name(name) {
        return Err(TwilioError::invalid("FriendlyName"));
    }
    let code_length = match form.get("CodeLength") {
        None => 6,
        Some(n) => n
            .parse::<i64>()
            .ok()
            .filter(|n| (4..=10).contains(n))
            .ok_or_else(|| TwilioError::invalid("CodeLength"))?,
    };
    let psd2 = match form.get("Psd2Enabled") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(TwilioError::invalid("Psd2Enabled")),
    };
    let made = Service {
        sid: random_sid("VA"),
        friendly_name: name.to_string(),
        code_length,
        psd2_enabled: i64::from(psd2),
        created_at: clock::now(),
    };
    store::insert_service(
        &state.db,
        &made.sid,
        &made.friendly_name,
        made.code_length,
        psd2,
        made.created_at,
    )
    .await?;
    created(service_json(verify, &made))
}

/// `GET /Services/{VA}`.
async fn fetch_service(State(state): State<Sandbox>, Path(sid): Path<String>) -> ApiResult {
    let path = format!("/Services/{sid}");
    let (verify, found) = service(&state, &sid, &path).await?;
    ok(service_json(verify, &found))
}

fn base_url(verify: &VerifySandbox) -> String {
    verify.base_url.trim_end_matches('/').to_string()
}

fn is_e164(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

fn verification_json(verify: &VerifySandbox, v: &VerificationRow) -> Value {
    json!({
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": verify.account_sid,
        "to": v.to_e164,
        "channel": v.channel,
        "status": v.status,
        "valid": v.status == "approved",
        "lookup": {},
        "amount": v.amount,
        "payee": v.payee,
        "send_code_attempts": (0..v.sends).map(|i| json!({
            "time": iso8601(v.created_at),
            "channel": v.channel.to_uppercase(),
            "attempt_sid": format!("VL{:032x}", (uuid::Uuid::parse_str(&v.sid[2..]).map_or(0, |u| u.as_u128())) ^ i as u128),
        })).collect::<Vec<_>>(),
        "sna": null,
        "date_created": iso8601(v.created_at),
        "date_updated": iso8601(v.updated_at),
        "url": format!("{}/Services/{}/Verifications/{}", base_url(verify), v.service_sid, v.sid),
    })
}

/// A verification is alive while pending and within its ten minutes.
fn alive(v: &VerificationRow, now: i64) -> bool {
    v.status == "pending" && now <= v.created_at + VERIFICATION_SECONDS
}

/// `POST /Services/{VA}/Verifications`: starts one, or sends the pending one's code again.
async fn start(
    State(state): State<Sandbox>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Verifications");
    let (verify, svc) = service(&state, &service_sid, &path).await?;
    let form = Form::parse(&headers, &body)?;
    let to = form.required("To")?;
    if !is_e164(to) {
        return Err(TwilioError::invalid("To"));
    }
    let channel = form.required("Channel")?;
    match channel {
        "sms" | "call" => {}
        "email" | "whatsapp" | "sna" | "auto" => {
            return Err(TwilioError::new(
                StatusCode::BAD_REQUEST,
                60223,
                "Delivery channel disabled: this service sends SMS and calls only",
            ))
        }
        _ => return Err(TwilioError::invalid("Channel")),
    }
    let (amount, payee) = (
        form.get("Amount").filter(|a| !a.is_empty()),
        form.get("Payee").filter(|p| !p.is_empty()),
    );
    if svc.psd2_enabled != 0 && (amount.is_none() || payee.is_none()) {
        return Err(TwilioError::new(
            StatusCode::BAD_REQUEST,
            60206,
            "'Amount' & 'Payee' params are required",
        ));
    }
    if to == LANDLINE && channel == "sms" {
        return Err(TwilioError::new(
            StatusCode::FORBIDDEN,
            60205,
            "SMS is not supported by landline phone number",
        ));
    }
    if to.starts_with(BLOCKED_COUNTRY_PREFIX) {
        return Err(TwilioError::new(
            StatusCode::FORBIDDEN,
            60605,
            "Verification delivery attempt blocked: the destination country is disabled",
        ));
    }
    let now = clock::now();
    let verification =
        match store::pending_for(&state.db, &service_sid, to, now - VERIFICATION_SECONDS).await? {
            // Within its life the pending verification's code is sent again.
            Some(pending) => {
                if !store::take_send(&state.db, &pending.sid, MAX_SENDS, now).await? {
                    return Err(TwilioError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        60203,
                        "Max send attempts reached",
                    ));
                }
                store::verification(&state.db, &pending.sid)
                    .await?
                    .ok_or_else(|| TwilioError::not_found(&path))?
            }
            None => {
                let row = VerificationRow {
                    sid: random_sid("VE"),
                    service_sid: service_sid.clone(),
                    to_e164: to.to_string(),
                    channel: channel.to_string(),
                    code: random_digits(usize::try_from(svc.code_length).unwrap_or(6)),
                    status: "pending".into(),
                    amount: amount.map(str::to_string),
                    payee: payee.map(str::to_string),
                    sends: 1,
                    checks: 0,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_verification(&state.db, &row).await?;
                row
            }
        };
    let name = form
        .get("CustomFriendlyName")
        .unwrap_or(&verify.friendly_name);
    let text = format!(
        "Your {name} verification code is: {}. Amount: {}. Payee: {}.",
        verification.code,
        verification.amount.as_deref().unwrap_or_default(),
        verification.payee.as_deref().unwrap_or_default(),
    );
    let (kind, text) = match channel {
        "call" => ("call", format!("Voice call: {text}")),
        _ => ("sms", text),
    };
    super::store::insert_message(&state.db, to, kind, &text, now).await?;
    created(verification_json(verify, &verification))
}

/// `GET /Services/{VA}/Verifications/{VE}`.
async fn fetch_verification(
    State(state): State<Sandbox>,
    Path((service_sid, sid)): Path<(String, String)>,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Verifications/{sid}");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let now = clock::now();
    match store::verification(&state.db, &sid).await? {
        Some(v)
            if v.service_sid == service_sid
                && (alive(&v, now) || v.status != "pending" && v.status != "approved") =>
        {
            ok(verification_json(verify, &v))
        }
        _ => Err(TwilioError::not_found(&path)),
    }
}

/// `POST /Services/{VA}/Verifications/{VE}` with `Status=canceled|approved`.
async fn update_verification(
    State(state): State<Sandbox>,
    Path((service_sid, sid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Verifications/{sid}");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let form = Form::parse(&headers, &body)?;
    let status = form.required("Status")?;
    if !matches!(status, "canceled" | "approved") {
        return Err(TwilioError::invalid("Status"));
    }
    let now = clock::now();
    let Some(v) = store::verification(&state.db, &sid)
        .await?
        .filter(|v| v.service_sid == service_sid && alive(v, now))
    else {
        return Err(TwilioError::not_found(&path));
    };
    if !store::set_status(&state.db, &v.sid, "pending", status, now).await? {
        return Err(TwilioError::not_found(&path));
    }
    let updated = store::verification(&state.db, &v.sid)
        .await?
        .ok_or_else(|| TwilioError::not_found(&path))?;
    ok(verification_json(verify, &updated))
}

/// `POST /Services/{VA}/VerificationCheck`.
async fn check(
    State(state): State<Sandbox>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/VerificationCheck");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let form = Form::parse(&headers, &body)?;
    state.count_code_check();
    let code = form.required("Code")?;
    if !(4..=10).contains(&code.chars().count()) {
        return Err(TwilioError::invalid("Code"));
    }
    let now = clock::now();
    let found = match (form.get("VerificationSid"), form.get("To")) {
        (Some(sid), _) => store::verification(&state.db, sid).await?,
        (None, Some(to)) => {
            store::pending_for(&state.db, &service_sid, to, now - VERIFICATION_SECONDS).await?
        }
        (None, None) => return Err(TwilioError::invalid("To")),
    };
    let Some(v) = found.filter(|v| v.service_sid == service_sid) else {
        return Err(TwilioError::not_found(&path));
    };
    if v.status == "max_attempts_reached" && now <= v.created_at + VERIFICATION_SECONDS {
        return Err(TwilioError::new(
            StatusCode::TOO_MANY_REQUESTS,
            60202,
            "Max check attempts reached",
        ));
    }
    if !alive(&v, now) {
        return Err(TwilioError::not_found(&path));
    }
    if !store::take_check(&state.db, &v.sid, MAX_CHECKS, now).await? {
        // Its checks are spent, or a parallel check approved (or someone cancelled) it
        // since it was read: then it is gone, as it would be for Verify.
        let spent = store::verification(&state.db, &v.sid)
            .await?
            .is_some_and(|r| r.status == "max_attempts_reached");
        return Err(if spent {
            TwilioError::new(
                StatusCode::TOO_MANY_REQUESTS,
                60202,
                "Max check attempts reached",
            )
        } else {
            TwilioError::not_found(&path)
        });
    }
    // PSD2: the code approves exactly the amount and payee it was sent for (a mismatch is a
    // failed attempt).
    let bound =
        form.get("Amount") == v.amount.as_deref() && form.get("Payee") == v.payee.as_deref();
    let right = bool::from(code.as_bytes().ct_eq(v.code.as_bytes()));
    let status = if bound
        && right
        && store::set_status(&state.db, &v.sid, "pending", "approved", now).await?
    {
        "approved"
    } else {
        "pending"
    };
    ok(json!({
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": verify.account_sid,
        "to": v.to_e164,
        "channel": v.channel,
        "status": status,
        "valid": status == "approved",
        "amount": v.amount,
        "payee": v.payee,
        "date_created": iso8601(v.created_at),
        "date_updated": iso8601(now),
        "sna_attempts_error_codes": [],
    }))
}

/// Entity identities: 8 to 64 letters and digits, separated by `-`.
fn valid_identity(identity: &str) -> bool {
    (8..=64).contains(&identity.len())
        && identity
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !identity.starts_with('-')
        && !identity.ends_with('-')
        && !identity.contains("--")
}

/// `POST /Services/{VA}/AccessTokens`: a token the phone app enrols a push factor with.
async fn access_token(
    State(state): State<Sandbox>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/AccessTokens");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let form = Form::parse(&headers, &body)?;
    let identity = form.required("Identity")?;
    if !valid_identity(identity) {
        return Err(TwilioError::invalid("Identity"));
    }
    if form.required("FactorType")? != "push" {
        return Err(TwilioError::invalid("FactorType"));
    }
    let ttl = match form.get("Ttl") {
        None => 60,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|t| (60..=300).contains(t))
            .ok_or_else(|| TwilioError::invalid("Ttl"))?,
    };
    let now = clock::now();
    let sid = random_sid("YK");
    let token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.{}.{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let name = form.get("FactorFriendlyName");
    store::insert_access_token(
        &state.db,
        &store::NewAccessToken {
            sid: &sid,
            service_sid: &service_sid,
            identity,
            token: &token,
            factor_friendly_name: name,
            expires_at: now + ttl,
        },
        now,
    )
    .await?;
    created(json!({
        "sid": sid,
        "account_sid": verify.account_sid,
        "service_sid": service_sid,
        "entity_identity": identity,
        "factor_type": "push",
        "factor_friendly_name": name,
        "token": token,
        "ttl": ttl,
        "date_created": iso8601(now),
        "url": format!("{}/Services/{service_sid}/AccessTokens/{sid}", base_url(verify)),
    }))
}

fn factor_json(verify: &VerifySandbox, f: &FactorRow) -> Value {
    json!({
        "sid": f.sid,
        "account_sid": verify.account_sid,
        "service_sid": f.service_sid,
        "entity_sid": entity_sid(&f.identity),
        "identity": f.identity,
        "date_created": iso8601(f.created_at),
        "date_updated": iso8601(f.created_at),
        "friendly_name": f.friendly_name,
        "status": f.status,
        "factor_type": "push",
        "config": {"sdk_version": "sandbox", "app_id": "payfriend-sandbox", "notification_platform": "none", "notification_token": null},
        "metadata": null,
        "url": format!("{}/Services/{}/Entities/{}/Factors/{}", base_url(verify), f.service_sid, f.identity, f.sid),
    })
}

/// The entity's SID, derived from its identity (the sandbox keeps no entity rows).
fn entity_sid(identity: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("YE{hex}")
}

/// `POST .../Entities/{identity}/Factors`: a push factor created over the API (the phone
/// page enrols with an access token instead).
async fn create_factor(
    State(state): State<Sandbox>,
    Path((service_sid, identity)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Entities/{identity}/Factors");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let form = Form::parse(&headers, &body)?;
    if !valid_identity(&identity) {
        return Err(TwilioError::invalid("Identity"));
    }
    let name = form.required("FriendlyName")?;
    if name.chars().count() > 64 {
        return Err(TwilioError::invalid("FriendlyName"));
    }
    if form.required("FactorType")? != "push" {
        return Err(TwilioError::invalid("FactorType"));
    }
    let row = FactorRow {
        sid: random_sid("YF"),
        service_sid,
        identity,
        friendly_name: name.to_string(),
        status: "unverified".into(),
        phone_e164: String::new(),
        created_at: clock::now(),
    };
    store::insert_factor(&state.db, &row).await?;
    let mut body = factor_json(verify, &row);
    body["binding"] = json!({"alg": form.get("Binding.Alg").unwrap_or("ES256"), "public_key": form.get("Binding.PublicKey")});
    created(body)
}

/// `GET .../Factors`.
async fn list_factors(
    State(state): State<Sandbox>,
    Path((service_sid, identity)): Path<(String, String)>,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Entities/{identity}/Factors");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let factors = store::factors_of(&state.db, &service_sid, &identity).await?;
    ok(list_envelope(
        verify,
        &path,
        "factors",
        factors.iter().map(|f| factor_json(verify, f)).collect(),
    ))
}

fn list_envelope(verify: &VerifySandbox, path: &str, key: &str, items: Vec<Value>) -> Value {
    let url = format!("{}{path}?PageSize=50&Page=0", base_url(verify));
    json!({
        key: items,
        "meta": {"page": 0, "page_size": 50, "first_page_url": url, "previous_page_url": null,
                 "url": url, "next_page_url": null, "key": key},
    })
}

/// `GET .../Factors/{YF}`.
async fn fetch_factor(
    State(state): State<Sandbox>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Entities/{identity}/Factors/{sid}");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    match store::factor(&state.db, &service_sid, &identity, &sid).await? {
        Some(f) => ok(factor_json(verify, &f)),
        None => Err(TwilioError::not_found(&path)),
    }
}

/// `DELETE .../Factors/{YF}`: 204, and the `factor.deleted` event.
async fn delete_factor(
    State(state): State<Sandbox>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Entities/{identity}/Factors/{sid}");
    service(&state, &service_sid, &path).await?;
    let Some(factor) = store::factor(&state.db, &service_sid, &identity, &sid).await? else {
        return Err(TwilioError::not_found(&path));
    };
    store::delete_factor(&state.db, &service_sid, &identity, &sid).await?;
    let sandbox = state.clone();
    tokio::spawn(async move {
        super::verify_handset::send_event(&sandbox, "factor.deleted", &factor, None).await;
    });
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn challenge_json(verify: &VerifySandbox, c: &ChallengeRow, now: i64) -> Value {
    let fields: Vec<Value> = serde_json::from_str::<Vec<(String, String)>>(&c.fields_json)
        .unwrap_or_default()
        .into_iter()
        .map(|(label, value)| json!({"label": label, "value": value}))
        .collect();
    let hidden: Value = serde_json::from_str(&c.hidden_json).unwrap_or(Value::Null);
    let status = c.status_at(now);
    let url = format!(
        "{}/Services/{}/Entities/{}/Challenges/{}",
        base_url(verify),
        c.service_sid,
        c.identity,
        c.sid
    );
    json!({
        "sid": c.sid,
        "account_sid": verify.account_sid,
        "service_sid": c.service_sid,
        "entity_sid": entity_sid(&c.identity),
        "identity": c.identity,
        "factor_sid": c.factor_sid,
        "date_created": iso8601(c.created_at),
        "date_updated": iso8601(c.responded_at.unwrap_or(c.created_at)),
        "date_responded": c.responded_at.map(iso8601),
        "expiration_date": iso8601(c.expires_at),
        "status": status,
        "responded_reason": if c.responded_at.is_some() { "none" } else { "not_requested" },
        "details": {"message": c.message, "fields": fields},
        "hidden_details": hidden,
        "metadata": null,
        "factor_type": "push",
        "url": url,
        "links": {"notifications": format!("{url}/Notifications")},
    })
}

/// `POST .../Entities/{identity}/Challenges`: a push challenge on a verified factor.
async fn create_challenge(
    State(state): State<Sandbox>,
    Path((service_sid, identity)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Entities/{identity}/Challenges");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let form = Form::parse(&headers, &body)?;
    let factor_sid = form.required("FactorSid")?;
    let Some(factor) = store::factor(&state.db, &service_sid, &identity, factor_sid).await? else {
        return Err(TwilioError::not_found(&path));
    };
    if factor.status != "verified" {
        return Err(TwilioError::new(
            StatusCode::FORBIDDEN,
            60318,
            "Factor is not verified",
        ));
    }
    let message = form.required("Details.Message")?;
    if message.chars().count() > 256 {
        return Err(TwilioError::invalid("Details.Message"));
    }
    let raw_fields = form.all("Details.Fields");
    let fields = decode_fields(&raw_fields);
    if raw_fields.len() > 20
        || fields.len() != raw_fields.len()
        || fields
            .iter()
            .any(|(l, v)| l.chars().count() > 36 || v.chars().count() > 128)
    {
        return Err(TwilioError::invalid("Details.Fields"));
    }
    let hidden = match form.get("HiddenDetails") {
        None => "{}".to_string(),
        Some(h) => {
            let parsed: Option<BTreeMap<String, String>> = serde_json::from_str(h).ok();
            if h.chars().count() > 1024 || parsed.is_none() {
                return Err(TwilioError::invalid("HiddenDetails"));
            }
            serde_json::to_string(&parsed).unwrap_or_else(|_| "{}".into())
        }
    };
    let now = clock::now();
    let expires_at = match form.get("ExpirationDate") {
        None => now + 300,
        Some(d) => parse_iso8601(d)
            .filter(|t| *t > now && *t <= now + 3600)
            .ok_or_else(|| TwilioError::invalid("ExpirationDate"))?,
    };
    let row = ChallengeRow {
        sid: random_sid("YC"),
        service_sid,
        identity,
        factor_sid: factor.sid,
        status: "pending".into(),
        message: message.to_string(),
        fields_json: serde_json::to_string(&fields).unwrap_or_else(|_| "[]".into()),
        hidden_json: hidden,
        expires_at,
        created_at: now,
        responded_at: None,
    };
    store::insert_challenge(&state.db, &row).await?;
    created(challenge_json(verify, &row, now))
}

/// `GET .../Challenges/{YC}`.
async fn fetch_challenge(
    State(state): State<Sandbox>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Entities/{identity}/Challenges/{sid}");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    match store::challenge(&state.db, &sid).await? {
        Some(c) if c.service_sid == service_sid && c.identity == identity => {
            ok(challenge_json(verify, &c, clock::now()))
        }
        _ => Err(TwilioError::not_found(&path)),
    }
}

#[derive(serde::Deserialize)]
struct ChallengeFilter {
    #[serde(rename = "FactorSid")]
    factor_sid: Option<String>,
    #[serde(rename = "Status")]
    status: Option<String>,
    #[serde(rename = "Order")]
    order: Option<String>,
}

/// `GET .../Challenges` with `FactorSid`, `Status` and `Order` filters.
async fn list_challenges(
    State(state): State<Sandbox>,
    Path((service_sid, identity)): Path<(String, String)>,
    Query(filter): Query<ChallengeFilter>,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Entities/{identity}/Challenges");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let now = clock::now();
    let mut rows = store::challenges_of(
        &state.db,
        &service_sid,
        &identity,
        filter.factor_sid.as_deref(),
        1000,
    )
    .await?;
    if filter.order.as_deref() != Some("desc") {
        rows.reverse();
    }
    let items = rows
        .iter()
        .filter(|c| {
            filter
                .status
                .as_deref()
                .is_none_or(|s| c.status_at(now) == s)
        })
        .map(|c| challenge_json(verify, c, now))
        .collect();
    ok(list_envelope(verify, &path, "challenges", items))
}

/// `POST .../Challenges/{YC}/Notifications`: the push sent again.
async fn notify(
    State(state): State<Sandbox>,
    Path((service_sid, identity, sid)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let path =
        format!("/Services/{service_sid}/Entities/{identity}/Challenges/{sid}/Notifications");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let form = Form::parse(&headers, &body)?;
    let ttl = match form.get("Ttl") {
        None => 300,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|t| (0..=300).contains(t))
            .ok_or_else(|| TwilioError::invalid("Ttl"))?,
    };
    let now = clock::now();
    let Some(c) = store::challenge(&state.db, &sid)
        .await?
        .filter(|c| c.service_sid == service_sid && c.identity == identity)
    else {
        return Err(TwilioError::not_found(&path));
    };
    match c.status_at(now) {
        "pending" => {}
        "expired" => {
            return Err(TwilioError::new(
                StatusCode::FORBIDDEN,
                60323,
                "Challenge expired",
            ))
        }
        _ => {
            return Err(TwilioError::new(
                StatusCode::FORBIDDEN,
                60322,
                "Challenge already responded",
            ))
        }
    }
    created(json!({
        "sid": random_sid("NT"),
        "account_sid": verify.account_sid,
        "service_sid": service_sid,
        "entity_sid": entity_sid(&identity),
        "identity": identity,
        "challenge_sid": sid,
        "priority": "high",
        "ttl": ttl,
        "date_created": iso8601(now),
    }))
}

/// `POST /Services/{VA}/Webhooks`.
async fn create_webhook(
    State(state): State<Sandbox>,
    Path(service_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let path = format!("/Services/{service_sid}/Webhooks");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let form = Form::parse(&headers, &body)?;
    let name = form.required("FriendlyName")?;
    let url = form.required("WebhookUrl")?;
    if reqwest::Url::parse(url).is_err() {
        return Err(TwilioError::invalid("WebhookUrl"));
    }
    let events = form.all("EventTypes");
    const KNOWN: [&str; 6] = [
        "*",
        "factor.created",
        "factor.verified",
        "factor.deleted",
        "challenge.approved",
        "challenge.denied",
    ];
    if events.is_empty() || events.iter().any(|e| !KNOWN.contains(&e.as_str())) {
        return Err(TwilioError::invalid("EventTypes"));
    }
    let now = clock::now();
    let sid = random_sid("YW");
    store::insert_webhook(&state.db, &sid, &service_sid, name, &events, url, now).await?;
    created(webhook_json(
        verify,
        &service_sid,
        (&sid, name, &events.join(" "), url, now),
    ))
}

fn webhook_json(
    verify: &VerifySandbox,
    service_sid: &str,
    (sid, name, events, url, at): (&str, &str, &str, &str, i64),
) -> Value {
    json!({
        "sid": sid,
        "service_sid": service_sid,
        "account_sid": verify.account_sid,
        "friendly_name": name,
        "event_types": events.split(' ').collect::<Vec<_>>(),
        "status": "enabled",
        "version": "v2",
        "webhook_url": url,
        "webhook_method": "POST",
        "date_created": iso8601(at),
        "date_updated": iso8601(at),
        "url": format!("{}/Services/{service_sid}/Webhooks/{sid}", base_url(verify)),
    })
}

/// `GET /Services/{VA}/Webhooks`.
async fn list_webhooks(State(state): State<Sandbox>, Path(service_sid): Path<String>) -> ApiResult {
    let path = format!("/Services/{service_sid}/Webhooks");
    let (verify, _) = service(&state, &service_sid, &path).await?;
    let items = store::webhooks(&state.db, &service_sid)
        .await?
        .iter()
        .map(|(sid, name, events, url, at)| {
            webhook_json(verify, &service_sid, (sid, name, events, url, *at))
        })
        .collect();
    ok(list_envelope(verify, &path, "webhooks", items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_follow_verifys_rule() {
        assert!(valid_identity("936da01f-9abd-4d9d-80c7-02af85c822a8"));
        assert!(valid_identity("user-0001-abcd"));
        assert!(!valid_identity("short"));
        assert!(!valid_identity("has space in it"));
        assert!(!valid_identity("-leading-dash"));
        assert!(!valid_identity("double--dash"));
    }

    #[test]
    fn only_e164_with_plus_is_a_number() {
        assert!(is_e164("+12015550123"));
        assert!(!is_e164("12015550123"));
        assert!(!is_e164("+0123456789"));
        assert!(!is_e164("+1 201 555"));
    }
}
