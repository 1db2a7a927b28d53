//! The Verify client against recorded exchanges written from the spec (verify-v2.md): for
//! each endpoint Payfriend calls, the request it sends (method, path, Basic credentials,
//! form body byte for byte as Twilio's official client encodes it) and how it reads the
//! documented answer, errors included.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Router,
};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use payfriend::model::UserId;
use payfriend::server::{
    config::{Secret, VerifySettings},
    providers::verify::{client::VerifyError, VerifyClient},
    providers::{ApprovalStatus, NewApprovalRequest, ProviderError},
};
use payfriend::shared::sid::{AccountSid, ChallengeSid, FactorSid, ServiceSid, VerificationSid};
use reqwest::Url;

/// One request as the fake Twilio received it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recorded {
    method: String,
    path: String,
    authorization: String,
    content_type: String,
    body: String,
}

/// The answer the fake gives: status, extra header, body.
type Answer = (u16, Option<(&'static str, &'static str)>, String);

#[derive(Clone, Default)]
struct Fake {
    requests: Arc<Mutex<Vec<Recorded>>>,
    answer: Arc<Mutex<Option<Answer>>>,
}

async fn record(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    fake.requests.lock().expect("lock").push(Recorded {
        method: method.to_string(),
        path: uri.to_string(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, extra, body) =
        fake.answer
            .lock()
            .expect("lock")
            .clone()
            .unwrap_or((500, None, String::new()));
    let mut response = (
        StatusCode::from_u16(status).expect("status"),
        [("content-type", "application/json")],
        body,
    )
        .into_response();
    if let Some((name, value)) = extra {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    response
}

const ACCOUNT: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SERVICE: &str = "VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const VE: &str = "VE0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";

fn ve() -> VerificationSid {
    VerificationSid::parse(VE).expect("a verification SID")
}

fn challenge_sid() -> ChallengeSid {
    ChallengeSid::parse("YCdddddddddddddddddddddddddddddddd").expect("a challenge SID")
}

fn factor_sid() -> FactorSid {
    FactorSid::parse("YFcccccccccccccccccccccccccccccccc").expect("a factor SID")
}

/// A fake Twilio on port 0 and a client of it.
async fn fake_twilio() -> (Fake, VerifyClient) {
    let fake = Fake::default();
    let app = Router::new().fallback(record).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let base = format!("http://{addr}/v2/");
    let settings = VerifySettings {
        base_url: Url::parse(&base).expect("url"),
        account_sid: AccountSid::parse(ACCOUNT).expect("an account SID"),
        auth_token: Secret::new(TOKEN),
        api_key: None,
        service_sid: ServiceSid::parse(SERVICE).expect("a service SID"),
        events_url: Url::parse("https://pay.example.com/payments/verify-events").expect("url"),
        sandbox: false,
    };
    (fake, VerifyClient::new(&settings, Duration::from_secs(5)))
}

impl Fake {
    fn answer(&self, status: u16, extra: Option<(&'static str, &'static str)>, body: &str) {
        *self.answer.lock().expect("lock") = Some((status, extra, body.to_string()));
    }

    fn last(&self) -> Recorded {
        self.requests
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("a request")
    }
}

fn basic() -> String {
    format!("Basic {}", BASE64.encode(format!("{ACCOUNT}:{TOKEN}")))
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn starting_a_verification_sends_the_spec_s_psd2_form() {
    let (fake, client) = fake_twilio().await;
    fake.answer(
        201,
        None,
        &format!(
            r#"{{"sid":"{VE}","service_sid":"{SERVICE}","account_sid":"{ACCOUNT}","to":"+447700900123","channel":"sms","status":"pending","valid":false,"lookup":{{}},"amount":"€39.99","payee":"Acme Books Ltd","send_code_attempts":[{{"time":"2026-05-01T10:00:00Z","channel":"SMS","attempt_sid":"VLaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}],"sna":null,"date_created":"2026-05-01T10:00:00Z","date_updated":"2026-05-01T10:00:00Z","url":"https://verify.twilio.com/v2/Services/{SERVICE}/Verifications/{VE}"}}"#
        ),
    );

    let sid = client
        .start("+447700900123", "sms", "€39.99", "Acme Books Ltd")
        .await
        .expect("started");

    assert_eq!(sid.as_str(), VE);
    assert_eq!(
        fake.last(),
        Recorded {
            method: "POST".into(),
            path: format!("/v2/Services/{SERVICE}/Verifications"),
            authorization: basic(),
            content_type: FORM.into(),
            body: "To=%2B447700900123&Channel=sms&Locale=en&Amount=%E2%82%AC39.99&Payee=Acme+Books+Ltd"
                .into(),
        }
    );
}

#[tokio::test]
async fn a_check_sends_the_code_with_its_verification_and_binding() {
    let (fake, client) = fake_twilio().await;
    let checked = |status: &str| {
        format!(
            r#"{{"sid":"{VE}","service_sid":"{SERVICE}","account_sid":"{ACCOUNT}","to":"+447700900123","channel":"sms","status":"{status}","valid":{},"amount":"€39.99","payee":"Acme Books Ltd","date_created":"2026-05-01T10:00:00Z","date_updated":"2026-05-01T10:01:00Z","sna_attempts_error_codes":[]}}"#,
            status == "approved"
        )
    };
    fake.answer(200, None, &checked("approved"));
    assert!(client
        .check(
            Some(&ve()),
            "+447700900123",
            "123456",
            "€39.99",
            "Acme Books Ltd"
        )
        .await
        .expect("checked"));
    let sent = fake.last();
    assert_eq!(
        sent.path,
        format!("/v2/Services/{SERVICE}/VerificationCheck")
    );
    assert_eq!(
        sent.body,
        format!("Code=123456&VerificationSid={VE}&Amount=%E2%82%AC39.99&Payee=Acme+Books+Ltd")
    );
    // A wrong code: 200 with status pending.
    fake.answer(200, None, &checked("pending"));
    assert!(!client
        .check(
            Some(&ve()),
            "+447700900123",
            "654321",
            "€39.99",
            "Acme Books Ltd"
        )
        .await
        .expect("checked"));
    // Without a SID, by number (the spec's example).
    client
        .check(None, "+447700900123", "123456", "€39.99", "Acme Books Ltd")
        .await
        .expect("checked");
    assert_eq!(
        fake.last().body,
        "Code=123456&To=%2B447700900123&Amount=%E2%82%AC39.99&Payee=Acme+Books+Ltd"
    );
}

#[tokio::test]
async fn cancelling_posts_status_canceled_to_the_verification() {
    let (fake, client) = fake_twilio().await;
    fake.answer(
        200,
        None,
        &format!(r#"{{"sid":"{VE}","status":"canceled"}}"#),
    );
    client.cancel(&ve()).await.expect("cancelled");
    let sent = fake.last();
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str(), sent.body.as_str()),
        (
            "POST",
            format!("/v2/Services/{SERVICE}/Verifications/{VE}").as_str(),
            "Status=canceled"
        )
    );
}

#[tokio::test]
async fn a_challenge_carries_message_fields_hidden_details_and_expiry_as_twilio_python_sends_them()
{
    let (fake, client) = fake_twilio().await;
    let yc = "YCdddddddddddddddddddddddddddddddd";
    fake.answer(
        201,
        None,
        &format!(r#"{{"sid":"{yc}","status":"pending","details":{{"message":"m","fields":[]}}}}"#),
    );
    let request = NewApprovalRequest {
        message: "Approve payment of €39.99 to Acme Books Ltd?".into(),
        details: BTreeMap::from([
            ("Amount".to_string(), "€39.99".to_string()),
            ("Payee".to_string(), "Acme Books Ltd".to_string()),
        ]),
        hidden_details: BTreeMap::from([("ip".to_string(), "203.0.113.7".to_string())]),
        logos: vec![],
        seconds_to_expire: 300,
    };
    let sid = client
        .create_challenge("user-0001-abcd", &factor_sid(), &request, 1_893_499_500)
        .await
        .expect("created");
    assert_eq!(sid.as_str(), yc);
    let sent = fake.last();
    assert_eq!(
        sent.path,
        format!("/v2/Services/{SERVICE}/Entities/user-0001-abcd/Challenges")
    );
    // The spec's capture (§5.3), encoded as twilio-python encodes it.
    assert_eq!(
        sent.body,
        "FactorSid=YFcccccccccccccccccccccccccccccccc\
         &ExpirationDate=2030-01-01T12%3A05%3A00Z\
         &Details.Message=Approve+payment+of+%E2%82%AC39.99+to+Acme+Books+Ltd%3F\
         &Details.Fields=%7B%22label%22%3A+%22Amount%22%2C+%22value%22%3A+%22%5Cu20ac39.99%22%7D\
         &Details.Fields=%7B%22label%22%3A+%22Payee%22%2C+%22value%22%3A+%22Acme+Books+Ltd%22%7D\
         &HiddenDetails=%7B%22ip%22%3A+%22203.0.113.7%22%7D"
    );
}

#[tokio::test]
async fn a_fetched_challenge_gives_its_status_and_the_payment_it_names() {
    let (fake, client) = fake_twilio().await;
    fake.answer(
        200,
        None,
        r#"{"sid":"YCdddddddddddddddddddddddddddddddd","status":"denied","responded_reason":"none","hidden_details":{"payment_id":"936da01f-9abd-4d9d-80c7-02af85c822a8"},"details":{"message":"m","fields":[]}}"#,
    );
    let user = UserId::random();
    let approval = client
        .challenge(user.as_str(), &challenge_sid())
        .await
        .expect("fetched");
    assert_eq!(approval.status, ApprovalStatus::Denied);
    assert_eq!(
        approval.payment_id.as_deref(),
        Some("936da01f-9abd-4d9d-80c7-02af85c822a8")
    );
    let sent = fake.last();
    assert_eq!(sent.method, "GET");
    assert_eq!(
        sent.path,
        format!(
            "/v2/Services/{SERVICE}/Entities/{user}/Challenges/YCdddddddddddddddddddddddddddddddd"
        )
    );
    // A status Verify does not document is not taken for an answer.
    fake.answer(200, None, r#"{"sid":"YC","status":"maybe"}"#);
    assert!(matches!(
        client.challenge(user.as_str(), &challenge_sid()).await,
        Err(VerifyError::Unavailable(_))
    ));
}

#[tokio::test]
async fn access_tokens_factors_and_their_deletion() {
    let (fake, client) = fake_twilio().await;
    fake.answer(
        201,
        None,
        r#"{"sid":"YKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","entity_identity":"user-0001-abcd","factor_type":"push","token":"eyJ.token","ttl":300}"#,
    );
    let token = client
        .access_token("user-0001-abcd", "Payfriend")
        .await
        .expect("token");
    assert_eq!(token, "eyJ.token");
    assert_eq!(
        fake.last().body,
        "Identity=user-0001-abcd&FactorType=push&FactorFriendlyName=Payfriend&Ttl=300"
    );
    assert_eq!(
        fake.last().path,
        format!("/v2/Services/{SERVICE}/AccessTokens")
    );

    fake.answer(
        200,
        None,
        r#"{"sid":"YFcccccccccccccccccccccccccccccccc","identity":"user-0001-abcd","status":"verified","factor_type":"push","friendly_name":"phone"}"#,
    );
    let factor = client
        .factor("user-0001-abcd", &factor_sid())
        .await
        .expect("factor");
    assert_eq!(
        (factor.status.as_str(), factor.factor_type.as_str()),
        ("verified", "push")
    );

    // DELETE answers 204 with no body; one already gone (20404) is not an error.
    fake.answer(204, None, "");
    client
        .delete_factor("user-0001-abcd", &factor_sid())
        .await
        .expect("deleted");
    assert_eq!(fake.last().method, "DELETE");
    fake.answer(
        404,
        None,
        r#"{"code":20404,"message":"The requested resource was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}"#,
    );
    client
        .delete_factor("user-0001-abcd", &factor_sid())
        .await
        .expect("already gone");
}

#[tokio::test]
async fn error_answers_become_typed_outcomes_and_nothing_is_retried() {
    let (fake, client) = fake_twilio().await;
    let error = |code: u32, status: u16, message: &str| {
        format!(
            r#"{{"code":{code},"message":"{message}","more_info":"https://www.twilio.com/docs/errors/{code}","status":{status}}}"#
        )
    };
    fake.answer(
        429,
        Some(("retry-after", "7")),
        &error(20429, 429, "Too Many Requests"),
    );
    let throttled = client.start("+12015550123", "sms", "1", "x").await;
    assert_eq!(
        throttled.map_err(ProviderError::from),
        Err(ProviderError::RateLimited {
            retry_after_secs: Some(7)
        })
    );
    fake.answer(429, None, &error(60203, 429, "Max send attempts reached"));
    assert_eq!(
        client
            .start("+12015550123", "sms", "1", "x")
            .await
            .map_err(ProviderError::from),
        Err(ProviderError::TooManySends)
    );
    fake.answer(401, None, &error(20003, 401, "Authenticate"));
    assert!(matches!(
        client.start("+12015550123", "sms", "1", "x").await.map_err(ProviderError::from),
        Err(ProviderError::Refused(m)) if m.contains("20003")
    ));
    // Not JSON (a proxy's page): unavailable, never a success.
    fake.answer(502, None, "<html>Bad Gateway</html>");
    assert!(matches!(
        client.start("+12015550123", "sms", "1", "x").await,
        Err(VerifyError::Unavailable(_))
    ));
    // Each refused POST was sent once: four calls, four requests.
    assert_eq!(fake.requests.lock().expect("lock").len(), 4);
}
