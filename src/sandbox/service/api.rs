//! The Authy REST endpoints, as the sandbox serves them: same paths, bodies, HTTP statuses
//! and error codes as the real service (spec: authy-api.md).

use crate::shared::clock;
use std::{collections::BTreeMap, time::Duration};

use axum::{
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::Logo;
use super::{
    masked_phone, random_digits,
    store::{self, TokenCheck},
    Sandbox,
};
use crate::model::Via;
use crate::sandbox::model::SandboxFault;

/// How long a phone verification code stays valid.
const VERIFICATION_SECONDS: i64 = 599;
/// How long an SMS token stays valid.
const TOKEN_SECONDS: i64 = 600;

/// The provider endpoints, to be nested under the sandbox's base path.
pub fn routes(state: Sandbox) -> Router<Sandbox> {
    Router::new()
        .route(
            "/protected/json/phones/verification/start",
            post(start_verification),
        )
        .route(
            "/protected/json/phones/verification/check",
            get(check_verification),
        )
        .route("/protected/json/users/new", post(new_user))
        .route("/protected/json/users/{id}/status", get(user_status))
        .route(
            "/onetouch/json/users/{id}/approval_requests",
            post(create_approval_request),
        )
        .route(
            "/onetouch/json/approval_requests/{uuid}",
            get(approval_request_status),
        )
        .route("/protected/json/sms/{id}", get(send_sms))
        .route("/protected/json/verify/{token}/{id}", get(verify_token))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "60000", "Not found.") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ))
        .layer(middleware::from_fn_with_state(state, act_out_fault))
}

/// What the `too_many_requests` fault asks callers to wait (`Retry-After`, seconds).
pub(super) const RETRY_AFTER_SECS: &str = "7";

/// Plays the failure the sandbox was switched to, the way a broken service would.
pub(super) async fn act_out_fault(
    State(state): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    match state.fault.get() {
        SandboxFault::TooManyRequests => {
            let mut response =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "60003", "Too many requests")
                    .into_response();
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
            response
        }
        SandboxFault::Error500 => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
        SandboxFault::Error503 => {
            (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
        }
        SandboxFault::NotJson => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "text/html")],
            "<html><body>Gateway says hello</body></html>",
        )
            .into_response(),
        SandboxFault::Slow => {
            let late = Duration::from_secs(state.client_timeout_secs + 1);
            tracing::debug!(?late, "sandbox: the slow fault holds this answer");
            tokio::time::sleep(late).await;
            next.run(request).await
        }
        SandboxFault::None | SandboxFault::DropCallbacks => next.run(request).await,
    }
}

/// An error in the provider's shape.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    errors: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            errors: None,
        }
    }

    fn invalid(param: &str) -> Self {
        let mut e = ApiError::new(
            StatusCode::BAD_REQUEST,
            "60004",
            format!("Invalid parameter: {param}"),
        );
        e.errors = Some(json!({ param: "is invalid" }));
        e
    }

    fn user_not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "60026", "User not found.")
    }

    fn invalid_phone() -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "60033", "Phone number is invalid")
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "sandbox: database error");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "60000",
            "Service unavailable.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut errors = match self.errors {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        errors.insert("message".into(), Value::String(self.message.clone()));
        let body = json!({
            "message": self.message,
            "errors": errors,
            "error_code": self.code,
            "success": false,
        });
        (self.status, Json(body)).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

async fn require_api_key(State(state): State<Sandbox>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get("x-authy-api-key")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let expected = state.api_key.expose().as_bytes();
    if bool::from(given.ct_eq(expected)) {
        next.run(request).await
    } else {
        ApiError::new(StatusCode::UNAUTHORIZED, "60001", "Invalid API key").into_response()
    }
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "60004",
            format!("Invalid request body: {e}"),
        )
    })
}

/// A JSON value that may be a string or a number (`country_code` arrives as either).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Builds `+<country><number>` from the two parts, or refuses them as Authy does.
fn e164(country_code: &str, phone_number: &str) -> Result<String, ApiError> {
    let country = country_code.trim().trim_start_matches('+');
    let number: String = phone_number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let valid = (1..=3).contains(&country.len())
        && country.chars().all(|c| c.is_ascii_digit())
        && (4..=14).contains(&number.len())
        && number.chars().all(|c| c.is_ascii_digit());
    if valid {
        Ok(format!("+{country}{number}"))
    } else {
        Err(ApiError::invalid_phone())
    }
}

fn parse_user_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>().map_err(|_| ApiError::user_not_found())
}

#[derive(Deserialize)]
struct StartVerification {
    phone_number: Value,
    country_code: Value,
    via: Option<String>,
    code_length: Option<Value>,
}

async fn start_verification(State(state): State<Sandbox>, body: Bytes) -> ApiResult {
    let req: StartVerification = parse_body(&body)?;
    let phone = e164(
        &text_of(&req.country_code).unwrap_or_default(),
        &text_of(&req.phone_number).unwrap_or_default(),
    )?;
    let via = Via::parse(req.via.as_deref().unwrap_or("sms")).ok_or(ApiError::invalid("via"))?;
    let length = match &req.code_length {
        None => 4,
        Some(v) => text_of(v)
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| (4..=10).contains(n))
            .ok_or(ApiError::invalid("code_length"))?,
    };

    let now = clock::now();
    let code = random_digits(length);
    store::put_verification(&state.db, &phone, &code, now + VERIFICATION_SECONDS, now).await?;
    let (kind, text, sent) = match via {
        Via::Sms => (
            "sms",
            format!("Your Payfriend verification code is: {code}"),
            "Text message sent",
        ),
        Via::Call => (
            "call",
            format!("Voice call: your Payfriend verification code is {code}"),
            "Call to",
        ),
    };
    store::insert_message(&state.db, &phone, kind, &text, now).await?;
    Ok(Json(json!({
        "carrier": "Payfriend Sandbox Mobile",
        "is_cellphone": true,
        "message": format!("{sent} to {}.", masked_phone(&phone)),
        "seconds_to_expire": VERIFICATION_SECONDS,
        "uuid": uuid::Uuid::new_v4().to_string(),
        "success": true,
    })))
}

#[derive(Deserialize)]
struct CheckVerification {
    phone_number: Option<String>,
    country_code: Option<String>,
    verification_code: Option<String>,
}

async fn check_verification(
    State(state): State<Sandbox>,
    Query(q): Query<CheckVerification>,
) -> ApiResult {
    state.count_code_check();
    let phone = e164(
        q.country_code.as_deref().unwrap_or_default(),
        q.phone_number.as_deref().unwrap_or_default(),
    )?;
    let code = q.verification_code.unwrap_or_default();
    let none_pending = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "60023",
            format!(
                "No pending verifications for {} found.",
                masked_phone(&phone)
            ),
        )
    };
    let now = clock::now();
    let Some((expected, expires_at)) = store::verification(&state.db, &phone).await? else {
        return Err(none_pending());
    };
    if now > expires_at {
        store::delete_verification(&state.db, &phone).await?;
        return Err(none_pending());
    }
    if !bool::from(code.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "60022",
            "Verification code is incorrect",
        ));
    }
    store::delete_verification(&state.db, &phone).await?;
    Ok(Json(json!({
        "message": "Verification code is correct.",
        "success": true,
    })))
}

#[derive(Deserialize)]
struct NewUser {
    user: NewUserFields,
}

#[derive(Deserialize)]
struct NewUserFields {
    email: Option<String>,
    cellphone: Option<Value>,
    country_code: Option<Value>,
}

async fn new_user(State(state): State<Sandbox>, body: Bytes) -> ApiResult {
    let req: NewUser = parse_body(&body)?;
    let email = req.user.email.unwrap_or_default();
    if !email.contains('@') || email.len() > 254 {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "60027", "User was not valid");
        e.errors = Some(json!({"email": "is invalid"}));
        return Err(e);
    }
    let phone = e164(
        &req.user
            .country_code
            .as_ref()
            .and_then(text_of)
            .unwrap_or_default(),
        &req.user
            .cellphone
            .as_ref()
            .and_then(text_of)
            .unwrap_or_default(),
    )?;

    let created = |id: i64| {
        Json(json!({
            "message": "User created successfully.",
            "user": {"id": id},
            "success": true,
        }))
    };
    if let Some(existing) = store::user_by_phone(&state.db, &phone).await? {
        return Ok(created(existing.authy_id));
    }
    let now = clock::now();
    for _ in 0..5 {
        let id = rand::Rng::gen_range(&mut rand::thread_rng(), 100_000..100_000_000i64);
        if store::insert_user(&state.db, id, &email, &phone, now)
            .await
            .is_ok()
        {
            return Ok(created(id));
        }
        // The phone may have been registered concurrently: same phone, same id.
        if let Some(existing) = store::user_by_phone(&state.db, &phone).await? {
            return Ok(created(existing.authy_id));
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "60000",
        "Could not create the user, try again.",
    ))
}

async fn user_status(State(state): State<Sandbox>, Path(id): Path<String>) -> ApiResult {
    let id = parse_user_id(&id)?;
    let user = store::user_by_id(&state.db, id)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    let digits: String = user
        .phone_e164
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let tail = &digits[digits.len().saturating_sub(4)..];
    Ok(Json(json!({
        "status": {
            "authy_id": user.authy_id,
            "confirmed": true,
            "registered": true,
            "country_code": 0,
            "phone_number": format!("XXX-XXX-{tail}"),
            "devices": ["sandbox-phone"],
        },
        "message": "User status.",
        "success": true,
    })))
}

#[derive(Deserialize)]
struct NewApproval {
    message: Option<String>,
    #[serde(default)]
    details: BTreeMap<String, Value>,
    #[serde(default)]
    hidden_details: BTreeMap<String, Value>,
    #[serde(default)]
    logos: Option<Vec<Logo>>,
    seconds_to_expire: Option<Value>,
}

fn strings(
    map: BTreeMap<String, Value>,
    param: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    map.into_iter()
        .map(|(k, v)| match text_of(&v) {
            Some(s) => Ok((k, s)),
            None => Err(ApiError::invalid(param)),
        })
        .collect()
}

async fn create_approval_request(
    State(state): State<Sandbox>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = parse_user_id(&id)?;
    let req: NewApproval = parse_body(&body)?;
    let message = req.message.unwrap_or_default();
    if message.trim().is_empty() || message.chars().count() > 200 {
        return Err(ApiError::invalid("message"));
    }
    let seconds_to_expire = match &req.seconds_to_expire {
        None => 86_400,
        Some(v) => text_of(v)
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or(ApiError::invalid("seconds_to_expire"))?,
    };
    let details = strings(req.details, "details")?;
    let hidden_details = strings(req.hidden_details, "hidden_details")?;
    if store::user_by_id(&state.db, id).await?.is_none() {
        return Err(ApiError::user_not_found());
    }
    let row = store::ApprovalRow {
        uuid: uuid::Uuid::new_v4().to_string(),
        authy_id: id,
        message,
        details_json: json!(details).to_string(),
        hidden_details_json: json!(hidden_details).to_string(),
        logos_json: json!(req.logos).to_string(),
        status: "pending".into(),
        seconds_to_expire,
        created_at: clock::now(),
        processed_at: None,
    };
    store::insert_approval(&state.db, &row).await?;
    Ok(Json(json!({
        "approval_request": {"uuid": row.uuid},
        "success": true,
    })))
}

async fn approval_request_status(
    State(state): State<Sandbox>,
    Path(uuid): Path<String>,
) -> ApiResult {
    let row = store::approval(&state.db, &uuid).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "60049",
            "Approval request not found.",
        )
    })?;
    let now = clock::now();
    Ok(Json(json!({
        "approval_request": {
            "uuid": row.uuid,
            "status": row.status_at(now),
            "created_at": row.created_at,
            "processed_at": row.processed_at,
            "seconds_to_expire": row.seconds_to_expire,
            "_authy_id": row.authy_id,
        },
        "success": true,
    })))
}

#[derive(Deserialize)]
struct SmsQuery {
    force: Option<String>,
    action: Option<String>,
    action_message: Option<String>,
}

async fn send_sms(
    State(state): State<Sandbox>,
    Path(id): Path<String>,
    Query(q): Query<SmsQuery>,
) -> ApiResult {
    let id = parse_user_id(&id)?;
    let user = store::user_by_id(&state.db, id)
        .await?
        .ok_or_else(ApiError::user_not_found)?;
    let cellphone = masked_phone(&user.phone_e164);
    if q.force.as_deref() != Some("true") {
        // The sandbox phone "has the app", so without force no SMS goes out.
        return Ok(Json(json!({
            "success": true,
            "ignored": true,
            "message": "Ignored: SMS is not needed for smartphones. Pass force=true if you want to actually send it anyway.",
            "cellphone": cellphone,
        })));
    }
    let now = clock::now();
    let code = random_digits(7);
    let action = q.action.unwrap_or_default();
    store::insert_token(&state.db, id, &code, &action, now + TOKEN_SECONDS, now).await?;
    let text = match q.action_message.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => format!("{m}. Your Payfriend code is {code}"),
        _ => format!("Your Payfriend code is {code}"),
    };
    store::insert_message(&state.db, &user.phone_e164, "sms", &text, now).await?;
    Ok(Json(json!({
        "success": true,
        "message": "SMS token was sent",
        "cellphone": cellphone,
    })))
}

#[derive(Deserialize)]
struct VerifyQuery {
    action: Option<String>,
}

async fn verify_token(
    State(state): State<Sandbox>,
    Path((token, id)): Path<(String, String)>,
    Query(q): Query<VerifyQuery>,
) -> ApiResult {
    state.count_code_check();
    let id = parse_user_id(&id)?;
    if store::user_by_id(&state.db, id).await?.is_none() {
        return Err(ApiError::user_not_found());
    }
    let invalid = || {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "60020", "Token is invalid");
        e.errors = Some(json!({"token": "is invalid"}));
        e
    };
    if !(6..=10).contains(&token.len()) || !token.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let action = q.action.unwrap_or_default();
    match store::use_token(&state.db, id, &token, &action, clock::now()).await? {
        TokenCheck::Valid => Ok(Json(json!({
            "message": "Token is valid.",
            "token": "is valid",
            "success": true,
        }))),
        TokenCheck::AlreadyUsed => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "60019",
            "Token already used",
        )),
        TokenCheck::Invalid => Err(invalid()),
    }
}
