//! Twilio Verify v2 as the provider (`PAYFRIEND_PROVIDER=verify`), against the sandbox's
//! Verify wire over HTTP: codes bound to one payment, push devices added from the account
//! page and challenges answered on the phone, the signed events, the typed refusals, and
//! the wire itself (credentials, limits, PSD2, errors) as Twilio's documentation gives it.

use leptos::server_fn::ServerFn;
use payfriend::api::{
    accounts::{CurrentUser, VerifyPhone},
    payments::{ResendPush, SendPaymentSms, VerifyPaymentSms},
    push_devices::{RemovePushDevice, SendPushDeviceCode, StartPushDevice},
};
use payfriend::model::{SessionUser, UserId};
use payfriend::sandbox::model::SandboxFault;
use payfriend::sandbox::service::verify_handset::{self, Pairing};
use payfriend::server::{
    providers::verify::VerifyClient,
    providers::{Phone, Provider, ProviderError},
};
use payfriend::testing::clock;
use serde_json::Value;

use crate::support::*;

/// An app whose new accounts are Verify's, served by its own sandbox.
async fn verify_app() -> TestApp {
    spawn_app_with(&[("PAYFRIEND_PROVIDER", "verify")]).await
}

/// A signed-in Verify user with a push device; their id, phone and session cookie.
async fn person(app: &TestApp) -> (UserId, String, String) {
    let (user_id, email) = verified_user(app, "a password").await;
    let cookie = log_in(app, &email, "a password").await;
    let phone: String = sqlx::query_scalar("SELECT phone_e164 FROM users WHERE id = $1")
        .bind(&user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("phone");
    (user_id, phone, cookie)
}

async fn call(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .expect("request")
}

async fn enter_code(app: &TestApp, cookie: &str, id: &str, code: &str) -> reqwest::Response {
    call(
        app,
        cookie,
        VerifyPaymentSms::PATH,
        &[("id", id), ("code", code)],
    )
    .await
}

async fn status_of(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM payments WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db)
        .await
        .expect("payment")
}

/// The Verify wire of the app's sandbox, spoken with the app's own credentials.
struct Wire {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
    service: String,
}

impl Wire {
    fn of(app: &TestApp) -> Wire {
        let settings = app.state.config.verify.as_ref().expect("Verify configured");
        Wire {
            http: reqwest::Client::new(),
            base: settings.base_url.as_str().trim_end_matches('/').to_string(),
            user: settings.account_sid.to_string(),
            password: settings.auth_token.expose().to_string(),
            service: settings.service_sid.to_string(),
        }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/Services/{}/{path}", self.base, self.service))
            .basic_auth(&self.user, Some(&self.password))
            .form(form)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}/Services/{}/{path}", self.base, self.service))
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn code_of(body: &Value) -> u64 {
    body["code"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn the_code_sent_for_one_payment_never_approves_an_equal_one() {
    let app = verify_app().await;
    let (_, _, cookie) = person(&app).await;
    // The same payee and amount twice: Verify binds a code to those bytes, and re-sends
    // a pending verification's code to the same number.
    let first = send_payment_id(&app, &cookie).await;
    let second = send_payment_id(&app, &cookie).await;
    assert_eq!(
        call(&app, &cookie, SendPaymentSms::PATH, &[("id", &first)])
            .await
            .status(),
        200
    );
    let code_of_first = payment_codes(&app, &first).await[0].clone();
    assert_eq!(
        call(&app, &cookie, SendPaymentSms::PATH, &[("id", &second)])
            .await
            .status(),
        200
    );
    let code_of_second = payment_codes(&app, &second).await[0].clone();
    assert_ne!(code_of_first, code_of_second, "a code of its own");

    let crossed = enter_code(&app, &cookie, &second, &code_of_first).await;
    assert_eq!(crossed.status(), 400);
    assert_eq!(status_of(&app, &second).await, "pending");
    // The first code was withdrawn when the second was sent: it says so (a check made).
    let withdrawn = enter_code(&app, &cookie, &first, &code_of_first).await;
    assert_eq!(withdrawn.status(), 400);
    assert!(withdrawn
        .text()
        .await
        .expect("body")
        .contains("no longer valid"));
    assert_eq!(status_of(&app, &first).await, "pending");

    let right = enter_code(&app, &cookie, &second, &code_of_second).await;
    assert_eq!(right.status(), 200);
    assert_eq!(status_of(&app, &second).await, "approved");
    assert_eq!(status_of(&app, &first).await, "pending");
}

#[tokio::test]
async fn a_push_device_is_added_from_the_account_page_and_approves_with_the_payment_shown() {
    let app = verify_app().await;
    // A person registered through the form: no push device yet.
    let phone = "+12015550177";
    let registered = register(&app, "dev@example.com", "2015550177").await;
    let cookie = session_cookie(&registered).expect("signed in");
    let code = verification_code(&app, phone).await;
    let verified = call(&app, &cookie, VerifyPhone::PATH, &[("code", &code)]).await;
    assert!(verified.status().is_success() || verified.status().is_redirection());
    let me: Option<SessionUser> = call(&app, &cookie, CurrentUser::PATH, &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me.expect("signed in").push_device, Some(false));
    // Without a device a payment waits for an SMS code or a passkey: no push is sent.
    let before = send_payment_id(&app, &cookie).await;
    let resend = call(&app, &cookie, ResendPush::PATH, &[("id", &before)]).await;
    assert_eq!(resend.status(), 403);
    assert!(resend.text().await.expect("body").contains("NoPushDevice"));

    // Step-up: an SMS code first; a wrong one gives no enrolment code.
    assert_eq!(
        call(&app, &cookie, SendPushDeviceCode::PATH, &[])
            .await
            .status(),
        200
    );
    let user_id: UserId = sqlx::query_scalar("SELECT id FROM users WHERE phone_e164 = $1")
        .bind(phone)
        .fetch_one(&app.state.db)
        .await
        .expect("user");
    let code = step_up_code(&app, &user_id, "payfriend-add-push-device").await;
    let wrong = call(
        &app,
        &cookie,
        StartPushDevice::PATH,
        &[("code", &wrong_code(&code))],
    )
    .await;
    assert_eq!(wrong.status(), 400);
    let token: String = call(&app, &cookie, StartPushDevice::PATH, &[("code", &code)])
        .await
        .json()
        .await
        .expect("an enrolment code");
    // The phone app enrols with it (once).
    let Pairing::Paired { factor_sid, event } = verify_handset::pair(app.sandbox(), phone, &token)
        .await
        .expect("pair")
    else {
        panic!("the enrolment code was refused");
    };
    assert_eq!(event, "event answered HTTP 200");
    assert_eq!(
        verify_handset::pair(app.sandbox(), phone, &token)
            .await
            .expect("pair"),
        Pairing::UnknownToken
    );
    let me: Option<SessionUser> = call(&app, &cookie, CurrentUser::PATH, &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me.expect("signed in").push_device, Some(true));

    // A payment now goes to the phone with its payee, amount and reference.
    let id = send_payment_id(&app, &cookie).await;
    let challenge = approval_uuid_of(&app, &id).await;
    let wire = Wire::of(&app);
    let (status, fetched) = wire
        .get(&format!("Entities/{user_id}/Challenges/{challenge}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(fetched["factor_sid"], factor_sid.as_str());
    assert_eq!(fetched["hidden_details"]["payment_id"], id.as_str());
    let fields: Vec<(String, String)> = fetched["details"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["label"].as_str().unwrap_or_default().to_string(),
                f["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        fields.contains(&("Payee".into(), "Neville".into())),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("Amount".into(), "$20.00".into())),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("Reference".into(), id.clone())),
        "{fields:?}"
    );
    let expires: i64 = sqlx::query_scalar("SELECT expires_at FROM payments WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.state.db)
        .await
        .expect("expiry");
    assert_eq!(
        fetched["expiration_date"],
        payfriend::shared::verify_format::iso8601(expires).as_str()
    );
    let shown = payfriend::sandbox::service::handset::view(app.sandbox(), phone)
        .await
        .expect("phone");
    assert_eq!(shown.pushes[0].uuid, challenge);

    answer_on_phone(&app, &challenge, true).await;
    assert_eq!(status_of(&app, &id).await, "approved");

    // Removed: deleted at Verify, forgotten here, and payments no longer push.
    assert_eq!(
        call(&app, &cookie, RemovePushDevice::PATH, &[])
            .await
            .status(),
        200
    );
    let (gone, _) = wire
        .get(&format!("Entities/{user_id}/Factors/{factor_sid}"))
        .await;
    assert_eq!(gone, 404);
    let after = send_payment_id(&app, &cookie).await;
    let pushed: Option<String> =
        sqlx::query_scalar("SELECT approval_uuid FROM payments WHERE id = $1")
            .bind(&after)
            .fetch_one(&app.state.db)
            .await
            .expect("payment");
    assert_eq!(pushed, None);
}

/// A pending payment of a Verify user with a push device; its challenge.
async fn pushed_payment(app: &TestApp) -> (UserId, String, String) {
    let (user_id, _, cookie) = person(app).await;
    let id = send_payment_id(app, &cookie).await;
    let challenge = approval_uuid_of(app, &id).await;
    (user_id, id, challenge)
}

fn challenge_event<'a>(
    app: &'a TestApp,
    kind: &'a str,
    user: &'a str,
    challenge: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let settings = app.state.config.verify.as_ref().expect("Verify configured");
    vec![
        ("uuid", "4b7c6a0e-2b1e-4d6c-9a55-0f5a8d2b3c11"),
        ("type", kind),
        ("account_sid", settings.account_sid.as_str()),
        ("service_sid", settings.service_sid.as_str()),
        ("entity_identity", user),
        ("challenge_sid", challenge),
    ]
}

#[tokio::test]
async fn only_correctly_signed_events_are_read_and_each_delivery_once() {
    let app = verify_app().await;
    let (user_id, id, challenge) = pushed_payment(&app).await;
    let params = challenge_event(&app, "challenge.approved", user_id.as_str(), &challenge);
    // Answered on the phone, but the event is forged: wrong key, then no signature.
    payfriend::sandbox::service::verify_store::respond(
        &app.state.db,
        &challenge,
        "approved",
        clock::now(),
    )
    .await
    .expect("answer");
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let settings = app.state.config.verify.as_ref().expect("Verify");
    let forged = payfriend::shared::verify_signature::sign(
        "not the auth token",
        settings.events_url.as_str(),
        &owned,
    );
    for signature in [forged.as_str(), ""] {
        let refused = app
            .client
            .post(app.url("/payments/verify-events"))
            .header("X-Twilio-Signature", signature)
            .form(&owned)
            .send()
            .await
            .expect("request");
        assert_eq!(refused.status(), 401);
    }
    assert_eq!(status_of(&app, &id).await, "pending");

    // Signed: decided; the same delivery again (Twilio's retry) is answered, not redone.
    let first = send_verify_event(&app, &params, "idem-1").await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.text().await.expect("body"), "ok");
    let again = send_verify_event(&app, &params, "idem-1").await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await.expect("body"), "already handled");
    assert_eq!(status_of(&app, &id).await, "approved");
    let decisions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE payment_id = $1 AND event = 'decision'",
    )
    .bind(&id)
    .fetch_one(&app.state.db)
    .await
    .expect("count");
    assert_eq!(decisions, 1);
}

#[tokio::test]
async fn an_event_decides_only_what_verify_itself_says_of_the_challenge() {
    let app = verify_app().await;
    let (user_id, id, challenge) = pushed_payment(&app).await;

    // "approved", but the person has not answered: Verify says pending, nothing changes.
    let early = challenge_event(&app, "challenge.approved", user_id.as_str(), &challenge);
    let answer = send_verify_event(&app, &early, "early").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(status_of(&app, &id).await, "pending");

    // The person denies; an event claiming approval still denies (Verify's status counts).
    payfriend::sandbox::service::verify_store::respond(
        &app.state.db,
        &challenge,
        "denied",
        clock::now(),
    )
    .await
    .expect("deny");
    let claimed = send_verify_event(&app, &early, "claimed").await;
    assert_eq!(claimed.status(), 200);
    assert_eq!(status_of(&app, &id).await, "denied");

    // Another person's identity with this challenge, another service, an unknown
    // challenge: refused, nothing changes.
    let (other, other_id, _) = pushed_payment(&app).await;
    let foreign = challenge_event(&app, "challenge.approved", other.as_str(), &challenge);
    assert_eq!(
        send_verify_event(&app, &foreign, "foreign").await.status(),
        404
    );
    let mut elsewhere = challenge_event(&app, "challenge.approved", other.as_str(), &challenge);
    elsewhere[3].1 = "VA00000000000000000000000000000000";
    assert_eq!(
        send_verify_event(&app, &elsewhere, "elsewhere")
            .await
            .status(),
        404
    );
    let unknown = challenge_event(
        &app,
        "challenge.approved",
        other.as_str(),
        "YC00000000000000000000000000000000",
    );
    assert_eq!(
        send_verify_event(&app, &unknown, "unknown").await.status(),
        404
    );
    assert_eq!(status_of(&app, &other_id).await, "pending");
}

#[tokio::test]
async fn a_lost_event_is_recovered_by_reconciliation_from_the_challenge() {
    let app = verify_app().await;
    let (_, id, challenge) = pushed_payment(&app).await;
    app.sandbox().fault.set(SandboxFault::DropCallbacks);
    answer_on_phone(&app, &challenge, true).await;
    assert_eq!(status_of(&app, &id).await, "pending");
    sqlx::query("UPDATE payments SET created_at = created_at - 60")
        .execute(&app.state.db)
        .await
        .expect("age");

    payfriend::testing::domain::payments::reconcile(&app.state).await;

    assert_eq!(status_of(&app, &id).await, "approved");
}

#[tokio::test]
async fn registration_refusals_are_sentences_the_person_can_act_on() {
    let app = verify_app().await;
    // A landline takes no SMS; a voice call reaches it.
    let landline = register(&app, "land@example.com", "2025550109").await;
    let answer = landline.text().await.expect("body");
    assert!(answer.contains("landline"), "{answer}");
    let call_me = register_with(&app, "land@example.com", "US", "2025550109", "call").await;
    assert!(
        call_me.status().is_success() || call_me.status().is_redirection(),
        "{}",
        call_me.status()
    );
    // Numbers of a country the service does not send to.
    let blocked = register_with(&app, "ru@example.com", "RU", "9123456789", "sms").await;
    let answer = blocked.text().await.expect("body");
    assert!(answer.contains("this country"), "{answer}");
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(users, 1, "only the reachable number has an account");
}

/// The Verify client against the sandbox: the limits of one verification as typed outcomes.
#[tokio::test]
async fn five_checks_and_five_sends_per_verification_then_typed_refusals() {
    let app = verify_app().await;
    let settings = app.state.config.verify.as_ref().expect("Verify");
    let client = VerifyClient::new(settings, std::time::Duration::from_secs(5));
    let phone = Phone {
        e164: "+12015550188",
        country_code: "1",
        national: "2015550188",
    };
    let via = payfriend::model::Via::Sms;
    let sid = client
        .start_verification(phone, via)
        .await
        .expect("sent")
        .expect("a SID");
    for _ in 0..5 {
        assert_eq!(
            client.check_verification(phone, Some(&sid), "000000").await,
            Err(ProviderError::WrongCode)
        );
    }
    assert_eq!(
        client.check_verification(phone, Some(&sid), "000000").await,
        Err(ProviderError::TooManyChecks)
    );
    // Another number: the pending verification's code sent again, four times more.
    let phone = Phone {
        e164: "+12015550189",
        country_code: "1",
        national: "2015550189",
    };
    let sid = client
        .start_verification(phone, via)
        .await
        .expect("sent")
        .expect("a SID");
    for _ in 0..4 {
        let again = client
            .start_verification(phone, via)
            .await
            .expect("sent again");
        assert_eq!(
            again.as_ref().map(|s| s.as_str()),
            Some(sid.as_str()),
            "the same verification"
        );
    }
    assert_eq!(
        client.start_verification(phone, via).await,
        Err(ProviderError::TooManySends)
    );
    // Cancelled, it no longer counts: a new verification (and a new code) starts.
    client.cancel_code(&sid).await.expect("cancelled");
    let fresh = client
        .start_verification(phone, via)
        .await
        .expect("sent")
        .expect("SID");
    assert_ne!(fresh, sid);
    // Approved once; afterwards it is gone (404 / 20404: an expired code).
    let code: String =
        sqlx::query_scalar("SELECT code FROM sandbox_verify_verifications WHERE sid = $1")
            .bind(&fresh)
            .fetch_one(&app.state.db)
            .await
            .expect("code");
    client
        .check_verification(phone, Some(&fresh), &code)
        .await
        .expect("approved");
    assert_eq!(
        client.check_verification(phone, Some(&fresh), &code).await,
        Err(ProviderError::CodeExpired)
    );
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes_and_binds_its_amount_and_payee() {
    let app = verify_app().await;
    let wire = Wire::of(&app);
    let to = "+12015550199";
    let (status, started) = wire
        .post(
            "Verifications",
            &[
                ("To", to),
                ("Channel", "sms"),
                ("Amount", "€39.99"),
                ("Payee", "Acme Books Ltd"),
            ],
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(started["status"], "pending");
    assert_eq!(started["amount"], "€39.99");
    let sid = started["sid"].as_str().expect("sid").to_string();
    assert!(sid.starts_with("VE") && sid.len() == 34, "{sid}");
    let code: String =
        sqlx::query_scalar("SELECT code FROM sandbox_verify_verifications WHERE sid = $1")
            .bind(&sid)
            .fetch_one(&app.state.db)
            .await
            .expect("code");

    // Another payee (or amount): a failed check, not an approval.
    let (status, checked) = wire
        .post(
            "VerificationCheck",
            &[
                ("VerificationSid", &sid),
                ("Code", &code),
                ("Amount", "€39.99"),
                ("Payee", "Acme Books"),
            ],
        )
        .await;
    assert_eq!((status, checked["status"].as_str()), (200, Some("pending")));
    // Without Amount and Payee a PSD2 service sends nothing.
    let (status, refused) = wire
        .post("Verifications", &[("To", to), ("Channel", "sms")])
        .await;
    assert_eq!((status, code_of(&refused)), (400, 60206));

    sqlx::query("UPDATE sandbox_verify_verifications SET created_at = created_at - 601")
        .execute(&app.state.db)
        .await
        .expect("ten minutes later");
    let (status, expired) = wire
        .post(
            "VerificationCheck",
            &[
                ("VerificationSid", &sid),
                ("Code", &code),
                ("Amount", "€39.99"),
                ("Payee", "Acme Books Ltd"),
            ],
        )
        .await;
    assert_eq!((status, code_of(&expired)), (404, 20404));
}

#[tokio::test]
async fn the_wire_answers_as_verify_does_to_bad_credentials_and_bad_requests() {
    let app = verify_app().await;
    let wire = Wire::of(&app);
    // Wrong credentials: 401 / 20003, in Twilio's error shape.
    let denied = wire
        .http
        .post(format!(
            "{}/Services/{}/Verifications",
            wire.base, wire.service
        ))
        .basic_auth(&wire.user, Some("not the token"))
        .form(&[("To", "+12015550123"), ("Channel", "sms")])
        .send()
        .await
        .expect("request");
    assert_eq!(denied.status(), 401);
    let body: Value = denied.json().await.expect("json");
    assert_eq!(body["code"], 20003);
    assert_eq!(body["message"], "Authenticate");
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/20003"
    );
    // JSON bodies are not Verify's encoding.
    let json = wire
        .http
        .post(format!(
            "{}/Services/{}/Verifications",
            wire.base, wire.service
        ))
        .basic_auth(&wire.user, Some(&wire.password))
        .json(&serde_json::json!({"To": "+12015550123", "Channel": "sms"}))
        .send()
        .await
        .expect("request");
    assert_eq!(json.status(), 400);
    // A number without +, an unknown channel, another service, an unknown path.
    let (status, body) = wire
        .post(
            "Verifications",
            &[
                ("To", "12015550123"),
                ("Channel", "sms"),
                ("Amount", "1"),
                ("Payee", "x"),
            ],
        )
        .await;
    assert_eq!((status, code_of(&body)), (400, 60200));
    assert_eq!(body["message"], "Invalid parameter: To");
    let (status, body) = wire
        .post(
            "Verifications",
            &[
                ("To", "+12015550123"),
                ("Channel", "pigeon"),
                ("Amount", "1"),
                ("Payee", "x"),
            ],
        )
        .await;
    assert_eq!((status, code_of(&body)), (400, 60200));
    let other = Wire {
        service: "VA00000000000000000000000000000000".into(),
        ..Wire::of(&app)
    };
    assert_eq!(other.get("Webhooks").await.0, 404);
    assert_eq!(wire.get("Nothing/Here").await.0, 404);
}

#[tokio::test]
async fn challenges_follow_verifys_rules() {
    let app = verify_app().await;
    let wire = Wire::of(&app);
    let user = UserId::random();
    let entity = user.as_str();
    // A factor made over the API is unverified: no challenge on it.
    let (status, factor) = wire
        .post(
            &format!("Entities/{entity}/Factors"),
            &[
                ("FriendlyName", "phone"),
                ("FactorType", "push"),
                ("Binding.Alg", "ES256"),
            ],
        )
        .await;
    assert_eq!(
        (status, factor["status"].as_str()),
        (201, Some("unverified"))
    );
    let unverified = factor["sid"].as_str().expect("sid").to_string();
    let (status, body) = wire
        .post(
            &format!("Entities/{entity}/Challenges"),
            &[("FactorSid", &unverified), ("Details.Message", "Pay?")],
        )
        .await;
    assert_eq!((status, code_of(&body)), (403, 60318));

    // A verified factor (the sandbox phone's), then the limits of a challenge.
    let token = VerifyClient::new(
        app.state.config.verify.as_ref().expect("Verify"),
        std::time::Duration::from_secs(5),
    )
    .access_token(entity, "phone")
    .await
    .expect("token");
    let Pairing::Paired { factor_sid, .. } =
        verify_handset::pair(app.sandbox(), "+12015550111", &token)
            .await
            .expect("pair")
    else {
        panic!("token refused");
    };
    let path = format!("Entities/{entity}/Challenges");
    let field = r#"{"label": "Payee", "value": "Acme"}"#;
    let too_many: Vec<(&str, &str)> = std::iter::once(("FactorSid", factor_sid.as_str()))
        .chain(std::iter::once(("Details.Message", "Pay?")))
        .chain(std::iter::repeat_n(("Details.Fields", field), 21))
        .collect();
    assert_eq!(code_of(&wire.post(&path, &too_many).await.1), 60200);
    let long_label = r#"{"label": "A label longer than thirty-six characters", "value": "x"}"#;
    assert_eq!(
        code_of(
            &wire
                .post(
                    &path,
                    &[
                        ("FactorSid", &factor_sid),
                        ("Details.Message", "Pay?"),
                        ("Details.Fields", long_label)
                    ]
                )
                .await
                .1
        ),
        60200
    );
    let far = payfriend::shared::verify_format::iso8601(clock::now() + 3601);
    assert_eq!(
        code_of(
            &wire
                .post(
                    &path,
                    &[
                        ("FactorSid", &factor_sid),
                        ("Details.Message", "Pay?"),
                        ("ExpirationDate", &far)
                    ]
                )
                .await
                .1
        ),
        60200
    );
    let (status, created) = wire
        .post(
            &path,
            &[
                ("FactorSid", &factor_sid),
                ("Details.Message", "Pay?"),
                ("Details.Fields", field),
            ],
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(created["details"]["fields"][0]["label"], "Payee");
    let sid = created["sid"].as_str().expect("sid").to_string();
    assert_eq!(
        wire.post(&format!("{path}/{sid}/Notifications"), &[])
            .await
            .0,
        201
    );
    verify_handset::answer(app.sandbox(), &sid, false)
        .await
        .expect("deny");
    let (status, body) = wire.post(&format!("{path}/{sid}/Notifications"), &[]).await;
    assert_eq!((status, code_of(&body)), (403, 60322));
    let (_, listed) = wire.get(&format!("{path}?Status=denied")).await;
    assert_eq!(listed["challenges"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["meta"]["key"], "challenges");
}

#[tokio::test]
async fn a_rate_limited_verify_says_when_to_try_again() {
    let app = verify_app().await;
    let (_, _, cookie) = person(&app).await;
    let id = send_payment_id(&app, &cookie).await;
    app.sandbox().fault.set(SandboxFault::TooManyRequests);

    let refused = call(&app, &cookie, SendPaymentSms::PATH, &[("id", &id)]).await;

    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "7");
    // No code went out: once Verify answers again, the person may ask at once.
    app.sandbox().fault.set(SandboxFault::None);
    assert_eq!(
        call(&app, &cookie, SendPaymentSms::PATH, &[("id", &id)])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn configured_credentials_pointing_at_the_sandbox_work_as_the_defaults() {
    // An operator's development setup: real-looking credentials, Verify's URL at this app.
    let app = spawn_app_with(&[
        ("PAYFRIEND_PROVIDER", "verify"),
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef"),
        ("TWILIO_API_KEY_SID", "SK0123456789abcdef0123456789abcdef"),
        ("TWILIO_API_KEY_SECRET", "an API key secret"),
        (
            "TWILIO_VERIFY_SERVICE_SID",
            "VA0123456789abcdef0123456789abcdef",
        ),
        ("TWILIO_VERIFY_URL", "{public_url}sandbox/verify/v2"),
    ])
    .await;
    let settings = app.state.config.verify.as_ref().expect("Verify");
    assert!(settings.sandbox, "the URL names this app's sandbox");
    let (user_id, _, cookie) = person(&app).await;
    let id = send_payment_id(&app, &cookie).await;
    let challenge = approval_uuid_of(&app, &id).await;
    answer_on_phone(&app, &challenge, true).await;
    assert_eq!(status_of(&app, &id).await, "approved");
    // The API key authenticates calls as well as the account's token.
    let mut wire = Wire::of(&app);
    wire.user = "SK0123456789abcdef0123456789abcdef".into();
    wire.password = "an API key secret".into();
    assert_eq!(
        wire.get(&format!("Entities/{user_id}/Factors")).await.0,
        200
    );
}

#[tokio::test]
async fn after_a_switch_to_verify_authy_accounts_keep_authy_and_new_ones_get_verify() {
    // Yesterday's server: Authy.
    let before = spawn_app_with(&[("PAYFRIEND_PROVIDER", "authy")]).await;
    let (old_user, email) = verified_user(&before, "a password").await;
    let url = before.state.config.database_url.clone();
    // Today's, on the same database: Verify for new accounts.
    let app = spawn_app_with(&[
        ("PAYFRIEND_PROVIDER", "verify"),
        ("DATABASE_URL", url.as_str()),
    ])
    .await;

    let cookie = log_in(&app, &email, "a password").await;
    let id = send_payment_id(&app, &cookie).await;
    let request = approval_uuid_of(&app, &id).await;
    assert!(
        !request.starts_with("YC"),
        "an Authy approval request: {request}"
    );
    payfriend::sandbox::service::handset::decide(app.sandbox(), &request, true)
        .await
        .expect("approve");
    assert_eq!(status_of(&app, &id).await, "approved");
    let kinds: Vec<String> = sqlx::query_scalar("SELECT provider FROM users ORDER BY created_at")
        .fetch_all(&app.state.db)
        .await
        .expect("providers");
    assert_eq!(kinds, vec!["authy"]);

    let (new_user, _, new_cookie) = person(&app).await;
    let new_id = send_payment_id(&app, &new_cookie).await;
    assert!(approval_uuid_of(&app, &new_id).await.starts_with("YC"));
    let providers: Vec<(UserId, String)> =
        sqlx::query_as("SELECT id, provider FROM users ORDER BY created_at")
            .fetch_all(&app.state.db)
            .await
            .expect("providers");
    assert!(providers.contains(&(old_user, "authy".to_string())));
    assert!(providers.contains(&(new_user, "verify".to_string())));
}

#[tokio::test]
async fn services_are_created_and_fetched_with_their_own_settings() {
    let app = verify_app().await;
    let wire = Wire::of(&app);
    let post = |form: Vec<(&'static str, &'static str)>| {
        wire.http
            .post(format!("{}/Services", wire.base))
            .basic_auth(&wire.user, Some(&wire.password))
            .form(&form)
            .send()
    };
    // The spec's example (§2), but without PSD2 and with 8 digits.
    let created = post(vec![("FriendlyName", "Acme Pay"), ("CodeLength", "8")])
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let service: Value = created.json().await.expect("json");
    let sid = service["sid"].as_str().expect("sid").to_string();
    assert!(sid.starts_with("VA") && sid.len() == 34, "{sid}");
    assert_eq!(service["psd2_enabled"], false);
    assert_eq!(service["code_length"], 8);
    for bad in [
        "",
        "A name far longer than thirty characters",
        "Call 0800 123456",
        "<b>",
    ] {
        let refused = post(vec![("FriendlyName", bad)]).await.expect("request");
        assert_eq!(refused.status(), 400, "{bad:?}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["code"], 60200, "{bad:?}");
    }

    let other = Wire {
        service: sid.clone(),
        ..Wire::of(&app)
    };
    let fetched = wire
        .http
        .get(format!("{}/Services/{sid}", wire.base))
        .basic_auth(&wire.user, Some(&wire.password))
        .send()
        .await
        .expect("request");
    assert_eq!(fetched.status(), 200);
    // Not PSD2: no Amount or Payee needed; its codes have its length.
    let (status, started) = other
        .post(
            "Verifications",
            &[("To", "+12015550166"), ("Channel", "sms")],
        )
        .await;
    assert_eq!(status, 201);
    let code: String =
        sqlx::query_scalar("SELECT code FROM sandbox_verify_verifications WHERE sid = $1")
            .bind(started["sid"].as_str().expect("sid"))
            .fetch_one(&app.state.db)
            .await
            .expect("code");
    assert_eq!(code.len(), 8);
    let (status, checked) = other
        .post(
            "VerificationCheck",
            &[("To", "+12015550166"), ("Code", &code)],
        )
        .await;
    assert_eq!(
        (status, checked["status"].as_str()),
        (200, Some("approved"))
    );
    // The app's own service stays in PSD2 mode.
    let own = wire
        .http
        .get(format!("{}/Services/{}", wire.base, wire.service))
        .basic_auth(&wire.user, Some(&wire.password))
        .send()
        .await
        .expect("request")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(own["psd2_enabled"], true);
}
