//! Malformed input thrown at every route and server function: never a 5xx, never a
//! panic, and a refused request leaves the database as it was.
use crate::support::{log_in, spawn_app, spawn_app_with, verified_user, TestApp};
use leptos::server_fn::ServerFn;
use payfriend::api::{accounts::*, payments::*, push_devices::*};
use payfriend::sandbox::server_fns::*;

const TABLES: &[&str] = &[
    "users",
    "sessions",
    "payments",
    "sandbox_users",
    "sandbox_verifications",
    "sandbox_messages",
    "sandbox_tokens",
    "sandbox_approvals",
    "code_sends",
    "verify_events",
    "sandbox_verify_verifications",
    "sandbox_verify_factors",
    "sandbox_verify_challenges",
    "sandbox_verify_access_tokens",
    "sandbox_verify_webhooks",
];

async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&app.state.db)
                .await
                .expect("count"),
        );
    }
    counts
}

/// Bodies that are wrong in every way a form can be wrong.
fn nasty_forms() -> Vec<Vec<u8>> {
    let huge = "x".repeat(30_000);
    let mut forms: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"nonsense".to_vec(),
        b"=&=&&".to_vec(),
        b"id=%FF%FE&code=%C3%28&email=%80".to_vec(),
        b"page=-1&approve=maybe&id=1&code=1".to_vec(),
        b"page=99999999999999999999999&id=0".to_vec(),
        b"page=abc".to_vec(),
        b"id[]=1&id[]=2&code[x]=3".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
    ];
    for value in [
        huge.as_str(),
        "' OR '1'='1' --",
        "1; DROP TABLE payments; --",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "-100",
        "1e309",
        "\u{0}",
    ] {
        let v = urlencode(value);
        forms.push(
            format!(
                "id={v}&code={v}&email={v}&password={v}&country={v}&phone={v}&via={v}\
                 &payee={v}&amount={v}&idempotency_key={v}&page={v}&uuid={v}&approve={v}&fault={v}"
            )
            .into_bytes(),
        );
    }
    forms
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every server function except log-out (which ends the session it is given, as it should)
/// and those that take no input, so that no body is malformed for them: the code resends
/// (they send a code) and removing the push device (it removes it).
fn server_functions() -> Vec<&'static str> {
    vec![
        CurrentUser::PATH,
        Register::PATH,
        VerifyPhone::PATH,
        LogIn::PATH,
        SendPayment::PATH,
        GetPayment::PATH,
        SendPaymentSms::PATH,
        VerifyPaymentSms::PATH,
        ListPayments::PATH,
        PaymentTimeline::PATH,
        SandboxInbox::PATH,
        SandboxRecentPhones::PATH,
        SandboxDecide::PATH,
        SandboxCurrentFault::PATH,
        SandboxSetFault::PATH,
        StartPushDevice::PATH,
        PushDeviceStatus::PATH,
        SandboxPair::PATH,
        SandboxServesVerify::PATH,
    ]
}

/// The calls that may answer malformed input with success: they only read (what they
/// cannot parse reads as nothing found), or, like phone verification for a user already
/// verified, ignore it. Every other call must refuse it with a 4xx.
const MAY_SUCCEED: &[&str] = &[
    CurrentUser::PATH,
    VerifyPhone::PATH,
    GetPayment::PATH,
    ListPayments::PATH,
    PaymentTimeline::PATH,
    SandboxInbox::PATH,
    SandboxRecentPhones::PATH,
    SandboxCurrentFault::PATH,
    PushDeviceStatus::PATH,
    SandboxServesVerify::PATH,
];

async fn assert_refused_cleanly(
    app: &TestApp,
    path: &str,
    response: reqwest::Response,
    before: &[i64],
    what: &str,
) {
    let status = response.status();
    assert!(status.as_u16() < 500, "{what}: answered {status}");
    if !MAY_SUCCEED.contains(&path) {
        assert!(status.is_client_error(), "{what}: answered {status}");
    }
    assert_eq!(
        snapshot(app).await,
        before,
        "{what}: answered {status} and changed the database"
    );
}

#[tokio::test]
async fn malformed_server_function_calls_are_refused_without_a_5xx_or_a_change() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;

    for path in server_functions() {
        for form in nasty_forms() {
            for signed_in in [false, true] {
                let before = snapshot(&app).await;
                let mut request = app
                    .client
                    .post(app.url(path))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form.clone());
                if signed_in {
                    request = request.header("Cookie", &cookie);
                }
                let response = request.send().await.expect("request");
                let what = format!(
                    "{path} with {:?}",
                    String::from_utf8_lossy(&form[..form.len().min(60)])
                );
                assert_refused_cleanly(&app, path, response, &before, &what).await;
            }
        }
        // The wrong content type and JSON where a form is expected.
        let before = snapshot(&app).await;
        let response = app
            .client
            .post(app.url(path))
            .header("Cookie", &cookie)
            .header("Content-Type", "application/json")
            .body(r#"{"id": [1, 2], "page": {"deep": null}}"#)
            .send()
            .await
            .expect("request");
        assert_refused_cleanly(&app, path, response, &before, path).await;
    }
}

/// The worst forged callback of the issue: one long key over a long array. Flattened
/// without caps, each of its leaves carried the whole key (19 s and 2.1 GB for 60 KB).
pub fn long_key_over_long_array(body_bytes: usize) -> String {
    let key = "a".repeat(body_bytes / 2);
    let ones = vec!["1"; (body_bytes - key.len()) / 2 - 4].join(",");
    format!("{{\"{key}\":[{ones}]}}")
}

#[tokio::test]
async fn a_callback_body_that_would_flatten_to_gigabytes_is_refused_with_400() {
    let app = spawn_app().await;
    let before = snapshot(&app).await;
    for body in [
        long_key_over_long_array(60 * 1024),
        format!(
            "{{\"{}\":[{}]}}",
            "k".repeat(30_000),
            vec!["{}"; 8_000].join(",")
        ),
        format!("{{\"a\":[{}]}}", vec!["1"; 20_000].join(",")),
    ] {
        assert!(body.len() <= 64 * 1024);
        let response = app
            .client
            .post(app.url("/payments/callback"))
            .header("X-Authy-Signature", "bWFkZSB1cA==")
            .header(
                "X-Authy-Signature-Nonce",
                payfriend::testing::clock::now().to_string(),
            )
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            400,
            "refused for its shape, before any signature"
        );
        assert_eq!(snapshot(&app).await, before);
    }
}

#[tokio::test]
async fn malformed_callbacks_are_refused_without_a_5xx_or_a_change() {
    let app = spawn_app().await;
    let before = snapshot(&app).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\xff\xfe".to_vec(),
        b"[1, 2, 3]".to_vec(),
        b"{\"uuid\": 1, \"status\": []}".to_vec(),
        "{\"a\":".repeat(1000).into_bytes(),
        br#"{"uuid": "' OR 1=1 --", "status": "approved"}"#.to_vec(),
    ];
    for body in bodies {
        for (signature, nonce) in [
            (None, None),
            (Some("!!!"), Some("-1")),
            (Some("c2ln"), Some("99999999999999999999999999")),
            (Some("c2ln"), Some("NaN")),
        ] {
            let mut request = app
                .client
                .post(app.url("/payments/callback"))
                .body(body.clone());
            if let Some(s) = signature {
                request = request.header("X-Authy-Signature", s);
            }
            if let Some(n) = nonce {
                request = request.header("X-Authy-Signature-Nonce", n);
            }
            let response = request.send().await.expect("request");
            assert_refused_cleanly(&app, "/payments/callback", response, &before, "callback").await;
        }
    }
}

#[tokio::test]
async fn malformed_provider_api_calls_get_authy_errors_without_a_change() {
    let app = spawn_app().await;
    let key = app.state.config.authy_api_key.expose().to_string();
    let before = snapshot(&app).await;
    let calls: Vec<(&str, String, &[u8])> = vec![
        ("POST", "/sandbox/authy/protected/json/phones/verification/start".into(), b"{\"phone_number\": [], \"country_code\": {}}"),
        ("POST", "/sandbox/authy/protected/json/phones/verification/start".into(), b"\xff"),
        ("POST", "/sandbox/authy/protected/json/phones/verification/start".into(), b"{\"phone_number\": \"2015550100\", \"country_code\": \"1\", \"via\": \"pigeon\"}"),
        ("GET", "/sandbox/authy/protected/json/phones/verification/check?phone_number='%20OR%201=1&country_code=1".into(), b""),
        ("POST", "/sandbox/authy/protected/json/users/new".into(), b"{\"user\": \"nope\"}"),
        ("GET", "/sandbox/authy/protected/json/users/-1/status".into(), b""),
        ("GET", "/sandbox/authy/protected/json/users/99999999999999999999999/status".into(), b""),
        ("POST", "/sandbox/authy/onetouch/json/users/abc/approval_requests".into(), b"{}"),
        ("POST", "/sandbox/authy/onetouch/json/users/1/approval_requests".into(), b"{\"message\": 5, \"details\": [1]}"),
        ("GET", "/sandbox/authy/onetouch/json/approval_requests/%3Cscript%3E".into(), b""),
        ("GET", "/sandbox/authy/protected/json/sms/1?force=true".into(), b""),
        ("GET", "/sandbox/authy/protected/json/verify/abc/1?action=x".into(), b""),
        ("GET", "/sandbox/authy/no/such/endpoint".into(), b""),
    ];
    for (method, path, body) in calls {
        let request = match method {
            "POST" => app.client.post(app.url(&path)).body(body.to_vec()),
            _ => app.client.get(app.url(&path)),
        };
        let response = request
            .header("X-Authy-API-Key", &key)
            .header("Content-Type", "application/json")
            .send()
            .await
            .expect("request");
        let status = response.status();
        let json: serde_json::Value = response.json().await.expect("an Authy-shaped JSON error");
        assert!(status.is_client_error(), "{path}: {status}");
        assert_eq!(json["success"], false, "{path}");
        assert!(json["error_code"].is_string(), "{path}");
        assert_eq!(snapshot(&app).await, before, "{path}");
    }
}

#[tokio::test]
async fn malformed_verify_events_are_refused_without_a_5xx_or_a_change() {
    let app = spawn_app_with(&[("PAYFRIEND_PROVIDER", "verify")]).await;
    let before = snapshot(&app).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\xff\xfe=\x00".to_vec(),
        b"type=challenge.approved&entity_identity=' OR 1=1 --&challenge_sid=YC".to_vec(),
        b"%%%&&&===".to_vec(),
        "a=".repeat(5000).into_bytes(),
        br#"{"type": "challenge.approved"}"#.to_vec(),
    ];
    for body in bodies {
        for signature in [None, Some(""), Some("!!!"), Some("c2ln")] {
            let mut request = app
                .client
                .post(app.url("/payments/verify-events"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.clone());
            if let Some(s) = signature {
                request = request.header("X-Twilio-Signature", s);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 401, "unsigned events are refused");
            assert_eq!(snapshot(&app).await, before);
        }
    }
}

#[tokio::test]
async fn malformed_verify_api_calls_get_twilio_errors_without_a_change() {
    let app = spawn_app_with(&[("PAYFRIEND_PROVIDER", "verify")]).await;
    let settings = app.state.config.verify.clone().expect("Verify");
    let service = settings.service_sid.clone();
    let before = snapshot(&app).await;
    let base = "/sandbox/verify/v2/Services";
    let calls: Vec<(&str, String, &[u8])> = vec![
        (
            "POST",
            format!("{base}/{service}/Verifications"),
            b"To=%2B1&Channel=sms&Amount=1&Payee=x",
        ),
        (
            "POST",
            format!("{base}/{service}/Verifications"),
            b"\xff\xfe",
        ),
        (
            "POST",
            format!("{base}/{service}/Verifications"),
            b"To=%2B12015550100&Channel=pigeon&Amount=1&Payee=x",
        ),
        (
            "POST",
            format!("{base}/{service}/VerificationCheck"),
            b"Code=1&To=%2B12015550100",
        ),
        (
            "POST",
            format!("{base}/{service}/VerificationCheck"),
            b"Code=123456&VerificationSid=' OR 1=1 --",
        ),
        (
            "POST",
            format!("{base}/{service}/Verifications/VE0"),
            b"Status=approved",
        ),
        (
            "POST",
            format!("{base}/{service}/Verifications/VE0"),
            b"Status=exploded",
        ),
        (
            "POST",
            format!("{base}/{service}/AccessTokens"),
            b"Identity=x&FactorType=push",
        ),
        (
            "POST",
            format!("{base}/{service}/AccessTokens"),
            b"Identity=user-0001-abcd&FactorType=totp",
        ),
        (
            "POST",
            format!("{base}/{service}/Entities/user-0001-abcd/Challenges"),
            b"FactorSid=YF0&Details.Message=x",
        ),
        (
            "POST",
            format!("{base}/{service}/Entities/%3Cscript%3E/Factors"),
            b"FriendlyName=x&FactorType=push",
        ),
        (
            "POST",
            format!("{base}/{service}/Webhooks"),
            b"FriendlyName=x&WebhookUrl=not%20a%20url&EventTypes=*",
        ),
        (
            "POST",
            format!("{base}/{service}/Webhooks"),
            b"FriendlyName=x&WebhookUrl=https%3A%2F%2Fh&EventTypes=everything",
        ),
        (
            "GET",
            format!("{base}/{service}/Entities/user-0001-abcd/Challenges/YC0"),
            b"",
        ),
        (
            "GET",
            format!("{base}/VA00000000000000000000000000000000/Webhooks"),
            b"",
        ),
        (
            "GET",
            "/sandbox/verify/v2/no/such/endpoint".to_string(),
            b"",
        ),
    ];
    for (method, path, body) in calls {
        let request = match method {
            "POST" => app.client.post(app.url(&path)).body(body.to_vec()),
            _ => app.client.get(app.url(&path)),
        };
        let response = request
            .basic_auth(&settings.account_sid, Some(settings.auth_token.expose()))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send()
            .await
            .expect("request");
        let status = response.status();
        let json: serde_json::Value = response.json().await.expect("a Twilio-shaped JSON error");
        assert!(status.is_client_error(), "{path}: {status}");
        assert!(json["code"].is_u64(), "{path}: {json}");
        assert_eq!(json["status"], status.as_u16(), "{path}");
        assert_eq!(snapshot(&app).await, before, "{path}");
    }
}

#[tokio::test]
async fn odd_page_addresses_are_answered_without_a_5xx() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;

    for path in [
        "/payments/not-a-uuid",
        "/payments/00000000-0000-0000-0000-000000000000",
        "/payments?page=-5",
        "/payments?page=99999999999999999999",
        "/sandbox/phone?phone=%3Cscript%3Ealert(1)%3C/script%3E",
        "/sandbox/phone?phone=%FF",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/pkg/../../Cargo.toml",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .header("Cookie", &cookie)
            .send()
            .await
            .expect("request");
        let status = response.status();
        assert!(status.as_u16() < 500, "{path}: {status}");
        let body = response.text().await.unwrap_or_default();
        assert!(
            !body.contains("<script>alert(1)</script>"),
            "{path} reflected markup"
        );
        assert!(
            !body.contains("[package]"),
            "{path} served a file outside the site"
        );
    }
}

#[tokio::test]
async fn a_payee_with_bidi_overrides_is_a_field_error() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let response = app
        .client
        .post(app.url(SendPayment::PATH))
        .header("Cookie", &cookie)
        .form(&[
            ("payee", "Neville\u{202E}gnol"),
            ("amount", "20"),
            ("idempotency_key", &uuid::Uuid::new_v4().to_string()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("body").contains("payee"));
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE user_id = $1")
        .bind(&user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(payments, 0);
}

// A payment address whose id is not one renders the same "not found" card as the id of
// no payment of the caller's (the page parses the id before asking the server).
#[tokio::test]
async fn a_malformed_payment_address_renders_not_found_like_an_unknown_one() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;

    for path in [
        "/payments/not-a-uuid",
        "/payments/00000000-0000-0000-0000-000000000000",
    ] {
        let body = app
            .client
            .get(app.url(path))
            .header("Cookie", &cookie)
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        let card = body
            .split(r#"data-testid="payment""#)
            .nth(1)
            .unwrap_or_else(|| panic!("{path}: no payment card"));
        assert!(card.contains("Not found."), "{path}");
        assert!(!card.contains(r#"data-testid="amount""#), "{path}");
    }
}
