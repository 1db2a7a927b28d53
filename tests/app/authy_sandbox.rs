//! The Authy client against the built-in sandbox, over real HTTP: every endpoint, its
//! success and error paths, and the callbacks the sandbox phone sends.
use payfriend::shared::authy_signature::{self as signature, SignedRequest};
use payfriend::testing::clock;
use std::{collections::BTreeMap, time::Duration};

use crate::support::{spawn_app, spawn_app_with, TestApp};
use axum::{body::Bytes, http::HeaderMap, routing::post, Router};
use leptos::server_fn::ServerFn;
use payfriend::model::Via;
use payfriend::sandbox::server_fns::{SandboxCurrentFault, SandboxInbox};
use payfriend::sandbox::service::{
    handset::{self as phone, Decision},
    store,
};
use payfriend::server::{
    config::Secret,
    providers::authy::{
        client::{Logo, NewApprovalRequest},
        AuthyClient, AuthyError,
    },
};
use tokio::sync::mpsc;

fn code_of(err: &AuthyError) -> Option<&str> {
    err.code()
}

/// The last message the sandbox sent to `phone`.
async fn last_message(app: &TestApp, phone: &str) -> String {
    store::messages(&app.state.db, phone, 1)
        .await
        .expect("messages")
        .into_iter()
        .next()
        .map(|(_, _, body, _)| body)
        .expect("a message was sent")
}

/// The digits at the end of a message ("... code is: 123456").
fn trailing_code(message: &str) -> String {
    let digits: String = message
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect()
}

fn approval(message: &str, seconds_to_expire: u64) -> NewApprovalRequest {
    NewApprovalRequest {
        message: message.to_string(),
        details: BTreeMap::from([
            ("Sending to".to_string(), "Neville".to_string()),
            ("Transaction amount".to_string(), "$20.00".to_string()),
        ]),
        hidden_details: BTreeMap::from([("user_ip_address".to_string(), "127.0.0.1".to_string())]),
        logos: vec![Logo {
            res: "default".into(),
            url: "http://127.0.0.1/logo.png".into(),
        }],
        seconds_to_expire,
    }
}

#[tokio::test]
async fn a_wrong_api_key_is_rejected_like_authy_does() {
    let app = spawn_app().await;
    let client = AuthyClient::new(
        &app.url("/sandbox/authy"),
        Secret::new("wrong-key"),
        Duration::from_secs(5),
    );

    let err = client
        .start_verification("1", "2015550123", Via::Sms)
        .await
        .expect_err("refused");

    assert!(
        matches!(err, AuthyError::Api { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(code_of(&err), Some("60001"));
}

#[tokio::test]
async fn phone_verification_sends_a_random_code_that_checks_once() {
    let app = spawn_app().await;
    let authy = &app.authy_client();

    authy
        .start_verification("1", "2015550123", Via::Sms)
        .await
        .expect("code sent");
    let code = trailing_code(&last_message(&app, "+12015550123").await);
    assert_eq!(code.len(), 6);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = authy
        .check_verification("1", "2015550123", wrong)
        .await
        .expect_err("wrong code");
    assert_eq!(code_of(&err), Some("60022"));

    authy
        .check_verification("1", "2015550123", &code)
        .await
        .expect("right code");
    let again = authy
        .check_verification("1", "2015550123", &code)
        .await
        .expect_err("used up");
    assert_eq!(code_of(&again), Some("60023"));
}

#[tokio::test]
async fn a_voice_call_verification_is_shown_as_a_call() {
    let app = spawn_app().await;

    app.authy_client()
        .start_verification("44", "7700900123", Via::Call)
        .await
        .expect("call placed");

    let messages = store::messages(&app.state.db, "+447700900123", 5)
        .await
        .expect("messages");
    assert_eq!(messages[0].1, "call");
}

#[tokio::test]
async fn an_expired_verification_code_is_refused() {
    let app = spawn_app().await;
    let authy = &app.authy_client();
    authy
        .start_verification("1", "2015550124", Via::Sms)
        .await
        .expect("code sent");
    let code = trailing_code(&last_message(&app, "+12015550124").await);
    sqlx::query("UPDATE sandbox_verifications SET expires_at = expires_at - 10000")
        .execute(&app.state.db)
        .await
        .expect("age the code");

    let err = authy
        .check_verification("1", "2015550124", &code)
        .await
        .expect_err("expired");

    assert_eq!(code_of(&err), Some("60023"));
}

#[tokio::test]
async fn an_invalid_phone_number_gets_error_60033() {
    let app = spawn_app().await;

    let err = app
        .authy_client()
        .start_verification("1", "12", Via::Sms)
        .await
        .expect_err("invalid");

    assert!(matches!(err, AuthyError::Api { status: 400, .. }));
    assert_eq!(code_of(&err), Some("60033"));
}

#[tokio::test]
async fn registering_the_same_phone_twice_returns_the_same_id() {
    let app = spawn_app().await;
    let authy = &app.authy_client();

    let first = authy
        .register_user("a@example.com", "2015550125", "1")
        .await
        .expect("registered");
    let second = authy
        .register_user("b@example.com", "2015550125", "1")
        .await
        .expect("registered again");
    let status = authy.user_status(first).await.expect("status");
    let unknown = authy
        .user_status(payfriend::server::providers::authy::AuthyId(first.0 + 1))
        .await
        .expect_err("no such user");

    assert_eq!(first, second);
    assert_eq!(status["status"]["authy_id"], first.0);
    assert_eq!(code_of(&unknown), Some("60026"));
}

#[tokio::test]
async fn push_requests_are_created_pending_and_expire() {
    let app = spawn_app().await;
    let authy = &app.authy_client();
    let id = authy
        .register_user("a@example.com", "2015550126", "1")
        .await
        .expect("registered");

    let uuid = authy
        .create_approval_request(id, &approval("Please authorize payment to Neville", 300))
        .await
        .expect("created");
    let status = authy.approval_request_status(&uuid).await.expect("status");
    assert_eq!(status.status, "pending");

    sqlx::query("UPDATE sandbox_approvals SET created_at = created_at - 301 WHERE uuid = $1")
        .bind(&uuid)
        .execute(&app.state.db)
        .await
        .expect("age the request");
    let expired = authy.approval_request_status(&uuid).await.expect("status");
    assert_eq!(expired.status, "expired");
    let decision = phone::decide(app.sandbox(), &uuid, true)
        .await
        .expect("decide");
    assert_eq!(
        decision,
        Decision::NotPending {
            status: "expired".into()
        }
    );
}

#[tokio::test]
async fn push_request_errors_match_authy() {
    let app = spawn_app().await;
    let authy = &app.authy_client();
    let id = authy
        .register_user("a@example.com", "2015550127", "1")
        .await
        .expect("registered");

    let unknown_user = authy
        .create_approval_request(
            payfriend::server::providers::authy::AuthyId(id.0 + 1),
            &approval("hello", 60),
        )
        .await
        .expect_err("unknown user");
    let too_long = authy
        .create_approval_request(id, &approval(&"x".repeat(201), 60))
        .await
        .expect_err("message too long");
    let unknown_request = authy
        .approval_request_status("no-such-uuid")
        .await
        .expect_err("unknown request");

    assert_eq!(code_of(&unknown_user), Some("60026"));
    assert!(matches!(too_long, AuthyError::Api { status: 400, .. }));
    assert_eq!(code_of(&unknown_request), Some("60049"));
}

#[tokio::test]
async fn an_sms_token_is_bound_to_its_action_and_works_once() {
    let app = spawn_app().await;
    let authy = &app.authy_client();
    let id = authy
        .register_user("a@example.com", "2015550128", "1")
        .await
        .expect("registered");

    authy
        .send_sms_token(
            id,
            "payment:p1:Neville:2000",
            "Verify payment to Neville for $20.00",
        )
        .await
        .expect("sms sent");
    let text = last_message(&app, "+12015550128").await;
    assert!(
        text.starts_with("Verify payment to Neville for $20.00"),
        "{text}"
    );
    let code = trailing_code(&text);
    assert_eq!(code.len(), 7);

    let other_action = authy
        .verify_token(id, &code, "payment:p2:Neville:2000")
        .await
        .expect_err("other payment");
    assert_eq!(code_of(&other_action), Some("60020"));
    let not_digits = authy
        .verify_token(id, "12ab567", "payment:p1:Neville:2000")
        .await
        .expect_err("not digits");
    assert_eq!(code_of(&not_digits), Some("60020"));

    authy
        .verify_token(id, &code, "payment:p1:Neville:2000")
        .await
        .expect("valid");
    let reused = authy
        .verify_token(id, &code, "payment:p1:Neville:2000")
        .await
        .expect_err("used");
    assert_eq!(code_of(&reused), Some("60019"));
}

/// A stand-in for the app's callback route that hands over what it receives.
async fn callback_receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = Router::new().route(
        "/payments/callback",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, String::from_utf8_lossy(&body).into_owned()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/payments/callback",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, rx)
}

#[tokio::test]
async fn approving_on_the_sandbox_phone_sends_a_correctly_signed_callback() {
    let (callback_url, mut received) = callback_receiver().await;
    let app = spawn_app_with(&[("AUTHY_CALLBACK_URL", &callback_url)]).await;
    let authy = &app.authy_client();
    let id = authy
        .register_user("a@example.com", "2015550129", "1")
        .await
        .expect("registered");
    let uuid = authy
        .create_approval_request(id, &approval("Please authorize payment to Neville", 300))
        .await
        .expect("created");

    let decision = phone::decide(app.sandbox(), &uuid, true)
        .await
        .expect("decide");

    assert_eq!(
        decision,
        Decision::Decided {
            status: "approved".into(),
            callback: "callback answered HTTP 200".into()
        }
    );
    let (headers, body) = received.recv().await.expect("callback arrived");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let request = SignedRequest {
        signature: header("x-authy-signature"),
        nonce: header("x-authy-signature-nonce"),
        method: "POST",
        body: &body,
    };
    signature::verify(
        app.state.config.authy_api_key.expose(),
        &callback_url,
        request,
        clock::now(),
        30,
    )
    .expect("signature verifies against the registered URL");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(json["uuid"], uuid.as_str());
    assert_eq!(json["status"], "approved");
    assert_eq!(json["authy_id"], id.0);
    assert_eq!(json["callback_action"], "approval_request_status");
    assert_eq!(
        json["approval_request"]["transaction"]["details"]["Sending to"],
        "Neville"
    );
    let status = authy.approval_request_status(&uuid).await.expect("status");
    assert_eq!(status.status, "approved");

    let again = phone::decide(app.sandbox(), &uuid, false)
        .await
        .expect("decide");
    assert_eq!(
        again,
        Decision::NotPending {
            status: "approved".into()
        }
    );
}

#[tokio::test]
async fn sandbox_state_survives_a_restart() {
    let app = spawn_app().await;
    let id = app
        .authy_client()
        .register_user("a@example.com", "2015550130", "1")
        .await
        .expect("registered");

    // A second app on the same database file, as after a restart.
    let db_url = app.state.config.database_url.clone();
    let second = spawn_app_with(&[("DATABASE_URL", &db_url)]).await;
    let again = second
        .authy_client()
        .register_user("a@example.com", "2015550130", "1")
        .await
        .expect("registered");

    assert_eq!(id, again);
}

#[tokio::test]
async fn provider_faults_are_errors_never_success() {
    // Nothing listens here: the connection is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let closed_url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    // Answers 200 with HTML; and answers too slowly.
    let router = Router::new()
        .route(
            "/html/protected/json/users/new",
            post(|| async { "<html>ok</html>" }),
        )
        .route(
            "/slow/protected/json/users/new",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "{\"success\": true, \"user\": {\"id\": 1}}"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    for url in [closed_url, format!("{base}/html"), format!("{base}/slow")] {
        let client = AuthyClient::new(&url, Secret::new("k"), Duration::from_millis(500));
        let err = client
            .register_user("a@example.com", "2015550131", "1")
            .await
            .expect_err("not a success");
        assert!(matches!(err, AuthyError::Unavailable(_)), "{url}: {err:?}");
    }
}

#[tokio::test]
async fn with_a_real_provider_configured_every_sandbox_route_is_gone() {
    let app = spawn_app_with(&[
        ("AUTHY_API_URL", "http://127.0.0.1:9/"),
        ("AUTHY_API_KEY", "real-key"),
    ])
    .await;

    for path in [
        "/sandbox/phone",
        "/sandbox/authy/protected/json/users/1/status",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .header("X-Authy-API-Key", "real-key")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 404, "{path}");
    }
    for path in [SandboxInbox::PATH, SandboxCurrentFault::PATH] {
        let response = app
            .client
            .post(app.url(path))
            .form(&[("phone", "+12015550100")])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn the_sandbox_phone_page_says_it_is_a_sandbox() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/sandbox/phone"))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("Sandbox: this page plays your phone"));
}
