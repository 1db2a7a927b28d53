//! Passkeys through the server functions, answered by a software authenticator
//! (webauthn-authenticator-rs' SoftPasskey) as a browser would: adding one after an SMS
//! code, approving a payment with it, and every answer that must approve nothing.

use leptos::server_fn::ServerFn;
use payfriend::api::accounts::CurrentUser;
use payfriend::api::passkeys::{
    FinishAddPasskey, FinishPasskeyApproval, ListPasskeys, RemovePasskey, SendPasskeyCode,
    StartAddPasskey, StartPasskeyApproval,
};
use payfriend::model::{PasskeyCeremony, PasskeyView, PaymentId, SessionUser, UserId};
use reqwest::StatusCode;
use url::Url;
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use crate::support::*;

/// A signed-in user on an app named `localhost`, with a software passkey.
struct Person {
    app: std::sync::Arc<TestApp>,
    user_id: String,
    cookie: String,
    key: SoftPasskey,
}

impl Person {
    async fn new() -> Person {
        Person::on(&[]).await
    }

    async fn on(extra: &[(&str, &str)]) -> Person {
        let app = spawn_app_named("localhost", extra).await;
        let (user_id, email) = verified_user(&app, PASSWORD).await;
        let cookie = log_in(&app, &email, PASSWORD).await;
        Person {
            app: std::sync::Arc::new(app),
            user_id: user_id.to_string(),
            cookie,
            // `true`: the soft key says it verified the person (as a PIN or biometric does).
            key: SoftPasskey::new(true),
        }
    }

    /// Another person with an account on the same app.
    async fn neighbour(&self) -> Person {
        let (user_id, email) = verified_user(&self.app, PASSWORD).await;
        let cookie = log_in(&self.app, &email, PASSWORD).await;
        Person {
            app: self.app.clone(),
            user_id: user_id.to_string(),
            cookie,
            key: SoftPasskey::new(true),
        }
    }

    fn origin(&self) -> Url {
        self.app.state.config.public_url.clone()
    }

    async fn call(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.call_on(&self.app, path, form).await
    }

    /// Calls server function `path` on `app` (this person's app, or another instance)
    /// as through a load balancer: with the public address's host and origin.
    async fn call_on(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let public = self.origin();
        let host = format!(
            "{}:{}",
            public.host_str().unwrap_or_default(),
            public.port().unwrap_or(80)
        );
        app.client
            .post(app.url(path))
            .header("Cookie", &self.cookie)
            .header("Host", host)
            .header("Origin", public.origin().ascii_serialization())
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// The code the sandbox sent for adding a passkey.
    async fn add_code(&self) -> String {
        let user_id = UserId::parse(&self.user_id).expect("a user id");
        step_up_code(&self.app, &user_id, "payfriend-add-passkey").await
    }

    /// Adds a passkey the whole way: SMS code, prompt, answer.
    async fn add_passkey(&mut self, name: &str) -> PasskeyView {
        let sent = self.call(SendPasskeyCode::PATH, &[]).await;
        assert_eq!(
            sent.status(),
            StatusCode::OK,
            "{}",
            sent.text().await.unwrap()
        );
        let code = self.add_code().await;
        let started = self
            .call(StartAddPasskey::PATH, &[("name", name), ("code", &code)])
            .await;
        assert_eq!(started.status(), StatusCode::OK);
        let ceremony: PasskeyCeremony = started.json().await.expect("a ceremony");
        let options: CreationChallengeResponse =
            serde_json::from_str(&format!(r#"{{"publicKey":{}}}"#, ceremony.options))
                .expect("creation options in WebAuthn's JSON form");
        let credential = self
            .key
            .do_registration(self.origin(), options)
            .expect("the soft passkey registers");
        let finished = self
            .call(
                FinishAddPasskey::PATH,
                &[
                    ("challenge_id", &ceremony.challenge_id),
                    ("credential", &serde_json::to_string(&credential).unwrap()),
                ],
            )
            .await;
        assert_eq!(finished.status(), StatusCode::OK);
        finished.json().await.expect("the new passkey")
    }

    /// Starts a passkey approval of payment `id`.
    async fn start(&self, id: &str) -> PasskeyCeremony {
        let started = self.call(StartPasskeyApproval::PATH, &[("id", id)]).await;
        assert_eq!(started.status(), StatusCode::OK);
        started.json().await.expect("a ceremony")
    }

    /// The soft passkey's answer to a ceremony, as the browser would send it.
    fn sign(&mut self, ceremony: &PasskeyCeremony) -> String {
        let options: RequestChallengeResponse =
            serde_json::from_str(&format!(r#"{{"publicKey":{}}}"#, ceremony.options))
                .expect("request options in WebAuthn's JSON form");
        let assertion = self
            .key
            .do_authentication(self.origin(), options)
            .expect("the soft passkey signs");
        serde_json::to_string(&assertion).unwrap()
    }

    async fn finish(&self, id: &str, challenge_id: &str, answer: &str) -> reqwest::Response {
        self.finish_on(&self.app, id, challenge_id, answer).await
    }

    async fn finish_on(
        &self,
        app: &TestApp,
        id: &str,
        challenge_id: &str,
        answer: &str,
    ) -> reqwest::Response {
        let form = [
            ("id", id),
            ("challenge_id", challenge_id),
            ("credential", answer),
        ];
        self.call_on(app, FinishPasskeyApproval::PATH, &form).await
    }

    async fn payment(&self) -> String {
        send_payment_id(&self.app, &self.cookie).await
    }

    async fn status(&self, id: &str) -> (String, Option<String>) {
        status_of(&self.app, &PaymentId::parse(id).unwrap()).await
    }

    async fn audit(&self, outcome: &str) -> Vec<String> {
        user_audit_details(&self.app, &self.user_id, "passkey", outcome).await
    }
}

/// What the person is told about a refused passkey answer (the typed refusal, in words).
async fn refusal(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: payfriend::error::AppError = response.json().await.expect("an AppError");
    assert!(
        matches!(error, payfriend::error::AppError::PasskeyRefused(_)),
        "{error:?}"
    );
    error.to_string()
}

#[tokio::test]
async fn a_passkey_added_after_an_sms_code_approves_a_payment() {
    let mut person = Person::new().await;
    let added = person.add_passkey("Laptop").await;
    assert_eq!(added.name, "Laptop");
    assert_eq!(person.audit("added").await, ["Laptop"]);

    let listed: Vec<PasskeyView> = person
        .call(ListPasskeys::PATH, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, std::slice::from_ref(&added));
    let me: Option<SessionUser> = person
        .call(CurrentUser::PATH, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me.unwrap().passkeys, Some(1));

    let id = person.payment().await;
    let ceremony = person.start(&id).await;
    assert_eq!(ceremony.payee.as_deref(), Some("Neville"));
    assert_eq!(ceremony.amount.as_deref(), Some("$20.00"));
    let answer = person.sign(&ceremony);
    let approved = person.finish(&id, &ceremony.challenge_id, &answer).await;
    assert_eq!(approved.status(), StatusCode::OK);
    assert_eq!(approved.text().await.unwrap(), "\"approved\"");
    assert_eq!(
        person.status(&id).await,
        ("approved".into(), Some("passkey".into()))
    );
    assert_eq!(person.audit("used").await, ["Laptop"]);
    let decisions: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = 'decision' AND payment_id = $1",
    )
    .bind(&id)
    .fetch_all(&person.app.state.db)
    .await
    .unwrap();
    assert_eq!(decisions, ["by passkey"]);
    let listed: Vec<PasskeyView> = person
        .call(ListPasskeys::PATH, &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(listed[0].last_used_at.is_some(), "last use recorded");
}

#[tokio::test]
async fn adding_a_passkey_needs_the_sms_code_and_a_challenge_of_its_own() {
    let mut person = Person::new().await;
    let sent = person.call(SendPasskeyCode::PATH, &[]).await;
    assert_eq!(sent.status(), StatusCode::OK);
    let wrong = person
        .call(
            StartAddPasskey::PATH,
            &[("name", "Laptop"), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.text().await.unwrap().contains("not correct"));
    let challenges: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passkey_challenges")
        .fetch_one(&person.app.state.db)
        .await
        .unwrap();
    assert_eq!(challenges, 0, "no prompt without the code");

    // A made-up challenge stores nothing.
    let code = person.add_code().await;
    let started = person
        .call(
            StartAddPasskey::PATH,
            &[("name", "Laptop"), ("code", &code)],
        )
        .await;
    let ceremony: PasskeyCeremony = started.json().await.unwrap();
    let options: CreationChallengeResponse =
        serde_json::from_str(&format!(r#"{{"publicKey":{}}}"#, ceremony.options)).unwrap();
    let credential = person
        .key
        .do_registration(person.origin(), options)
        .unwrap();
    let credential = serde_json::to_string(&credential).unwrap();
    let made_up = person
        .call(
            FinishAddPasskey::PATH,
            &[
                ("challenge_id", &uuid::Uuid::new_v4().to_string()),
                ("credential", &credential),
            ],
        )
        .await;
    assert!(refusal(made_up).await.contains("expired"));
    // The real one works once.
    let form = [
        ("challenge_id", ceremony.challenge_id.as_str()),
        ("credential", credential.as_str()),
    ];
    assert_eq!(
        person.call(FinishAddPasskey::PATH, &form).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        person.call(FinishAddPasskey::PATH, &form).await.status(),
        StatusCode::FORBIDDEN
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passkeys")
        .fetch_one(&person.app.state.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn an_answer_for_another_payment_approves_neither() {
    let mut person = Person::new().await;
    person.add_passkey("Laptop").await;
    let a = person.payment().await;
    let b = person.payment().await;
    let for_a = person.start(&a).await;
    let answer_a = person.sign(&for_a);

    // A's challenge and answer, sent as B's approval.
    let crossed = person.finish(&b, &for_a.challenge_id, &answer_a).await;
    assert!(refusal(crossed).await.contains("another payment"));
    // A's answer with B's own challenge: the signature is over A's challenge.
    let for_b = person.start(&b).await;
    let mismatched = person.finish(&b, &for_b.challenge_id, &answer_a).await;
    assert!(refusal(mismatched).await.contains("does not match"));

    assert_eq!(person.status(&a).await.0, "pending");
    assert_eq!(person.status(&b).await.0, "pending");
    assert_eq!(person.audit("refused").await.len(), 2);
}

#[tokio::test]
async fn a_replayed_answer_is_refused_even_all_at_once() {
    let mut person = Person::new().await;
    person.add_passkey("Laptop").await;
    let id = person.payment().await;
    let ceremony = person.start(&id).await;
    let answer = person.sign(&ceremony);

    let person = std::sync::Arc::new(person);
    let tries = (0..8).map(|_| {
        let person = person.clone();
        let (id, challenge, answer) = (id.clone(), ceremony.challenge_id.clone(), answer.clone());
        tokio::spawn(async move { person.finish(&id, &challenge, &answer).await.status() })
    });
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::FORBIDDEN)
            .count(),
        7
    );
    assert_eq!(
        person.status(&id).await,
        ("approved".into(), Some("passkey".into()))
    );
    // Later, the same answer again: the challenge is gone.
    let again = person.finish(&id, &ceremony.challenge_id, &answer).await;
    assert!(refusal(again).await.contains("already used"));
}

#[tokio::test]
async fn a_stale_answer_approves_nothing() {
    let mut person = Person::new().await;
    person.add_passkey("Laptop").await;

    // The prompt's own time ran out (the payment still waits).
    let id = person.payment().await;
    let ceremony = person.start(&id).await;
    let answer = person.sign(&ceremony);
    sqlx::query("UPDATE passkey_challenges SET expires_at = $1")
        .bind(payfriend::testing::clock::now() - 1)
        .execute(&person.app.state.db)
        .await
        .unwrap();
    let late = person.finish(&id, &ceremony.challenge_id, &answer).await;
    assert!(refusal(late).await.contains("expired"));
    assert_eq!(person.status(&id).await.0, "pending");

    // The payment itself expired.
    let ceremony = person.start(&id).await;
    let answer = person.sign(&ceremony);
    expire_payment(&person.app, &id, 1).await;
    let expired = person.finish(&id, &ceremony.challenge_id, &answer).await;
    assert_eq!(expired.status(), StatusCode::GONE);
    assert_ne!(person.status(&id).await.0, "approved");
    // And no new prompt for it.
    let again = person
        .call(StartPasskeyApproval::PATH, &[("id", &id)])
        .await;
    assert_eq!(again.status(), StatusCode::GONE);
}

#[tokio::test]
async fn a_signature_counter_that_goes_backwards_is_refused_and_audited() {
    let mut person = Person::new().await;
    person.add_passkey("Laptop").await;
    let a = person.payment().await;
    let b = person.payment().await;
    let for_a = person.start(&a).await;
    let for_b = person.start(&b).await;
    // Signed in this order, B's answer carries a lower counter than A's.
    let answer_b = person.sign(&for_b);
    let answer_a = person.sign(&for_a);

    let approved = person.finish(&a, &for_a.challenge_id, &answer_a).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let cloned = person.finish(&b, &for_b.challenge_id, &answer_b).await;
    assert!(refusal(cloned).await.contains("counter went backwards"));
    assert_eq!(person.status(&b).await.0, "pending");
    assert_eq!(
        person.audit("refused").await,
        ["signature counter went backwards"]
    );
}

#[tokio::test]
async fn a_removed_passkey_approves_nothing() {
    let mut person = Person::new().await;
    let added = person.add_passkey("Laptop").await;
    let id = person.payment().await;
    let ceremony = person.start(&id).await;
    let answer = person.sign(&ceremony);

    let removed = person.call(RemovePasskey::PATH, &[("id", &added.id)]).await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(person.audit("removed").await, ["Laptop"]);
    let refused = person.finish(&id, &ceremony.challenge_id, &answer).await;
    assert!(refusal(refused).await.contains("no longer on your account"));
    assert_eq!(person.status(&id).await.0, "pending");
    let none = person
        .call(StartPasskeyApproval::PATH, &[("id", &id)])
        .await;
    assert!(refusal(none).await.contains("Add a passkey"));
    // Someone else's passkey id removes nothing, and theirs stays.
    let mut neighbour = person.neighbour().await;
    let theirs = neighbour.add_passkey("Phone").await;
    let other = person
        .call(RemovePasskey::PATH, &[("id", &theirs.id)])
        .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE id = $1")
        .bind(&theirs.id)
        .fetch_one(&person.app.state.db)
        .await
        .expect("count");
    assert_eq!(kept, 1, "the neighbour's passkey is still there");
}

#[tokio::test]
async fn passkeys_need_a_host_name_in_the_public_url() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, PASSWORD).await;
    let cookie = log_in(&app, &email, PASSWORD).await;
    let sent = app
        .client
        .post(app.url(SendPasskeyCode::PATH))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::NOT_IMPLEMENTED);
    let me: Option<SessionUser> = app
        .client
        .post(app.url(CurrentUser::PATH))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me.unwrap().passkeys, None);
}

#[tokio::test]
async fn an_approval_started_on_one_instance_finishes_on_another() {
    const SECRET: (&str, &str) = (
        "SESSION_SECRET",
        "a-session-secret-shared-by-both-instances",
    );
    let mut person = Person::on(&[SECRET]).await;
    person.add_passkey("Laptop").await;
    // A second instance on the same database, reached at the same public address.
    let database = person.app.state.config.database_url.clone();
    let public_url = person.app.state.config.public_url.to_string();
    let other = spawn_app_with(&[
        SECRET,
        ("DATABASE_URL", database.as_str()),
        ("PUBLIC_URL", public_url.trim_end_matches('/')),
    ])
    .await;

    let id = person.payment().await;
    let ceremony = person.start(&id).await;
    let answer = person.sign(&ceremony);
    let approved = person
        .finish_on(&other, &id, &ceremony.challenge_id, &answer)
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    assert_eq!(
        person.status(&id).await,
        ("approved".into(), Some("passkey".into()))
    );
    // The challenge was one row in the shared database: gone for both.
    let again = person.finish(&id, &ceremony.challenge_id, &answer).await;
    assert!(refusal(again).await.contains("already used"));
}

#[tokio::test]
async fn prompts_nobody_answered_are_forgotten_by_the_sweep() {
    let mut person = Person::new().await;
    person.add_passkey("Laptop").await;
    let waiting = person.payment().await;
    let stale = person.payment().await;
    person.start(&waiting).await;
    person.start(&stale).await;
    sqlx::query("UPDATE passkey_challenges SET expires_at = $1 WHERE payment_id = $2")
        .bind(payfriend::testing::clock::now() - 1)
        .bind(&stale)
        .execute(&person.app.state.db)
        .await
        .unwrap();
    payfriend::server::sweep(&person.app.state).await;
    let left: Vec<String> = sqlx::query_scalar("SELECT payment_id FROM passkey_challenges")
        .fetch_all(&person.app.state.db)
        .await
        .unwrap();
    assert_eq!(left, [waiting]);
}

#[tokio::test]
async fn five_wrong_codes_end_the_code_for_adding_a_passkey() {
    let person = Person::new().await;
    assert_eq!(
        person.call(SendPasskeyCode::PATH, &[]).await.status(),
        StatusCode::OK
    );
    let code = person.add_code().await;
    let wrong = if code == "0000000" {
        "1111111"
    } else {
        "0000000"
    };
    // Five wrong guesses at once: each is counted before it is checked.
    let person = std::sync::Arc::new(person);
    let guesses = (0..5).map(|_| {
        let person = person.clone();
        tokio::spawn(async move {
            person
                .call(
                    StartAddPasskey::PATH,
                    &[("name", "Laptop"), ("code", wrong)],
                )
                .await
                .status()
        })
    });
    for g in guesses {
        assert_eq!(g.await.unwrap(), StatusCode::BAD_REQUEST);
    }
    let right = person
        .call(
            StartAddPasskey::PATH,
            &[("name", "Laptop"), ("code", &code)],
        )
        .await;
    assert_eq!(right.status(), StatusCode::BAD_REQUEST);
    assert!(right.text().await.unwrap().contains("Too many wrong codes"));

    // A new code counts from zero.
    let mut person = std::sync::Arc::into_inner(person).expect("one owner");
    person.add_passkey("Laptop").await;
}

#[tokio::test]
async fn a_new_phone_verification_code_buys_no_more_guesses_at_the_passkey_code() {
    let person = Person::on(&[("LIMIT_CODE_RESEND", "1000/60")]).await;
    assert_eq!(
        person.call(SendPasskeyCode::PATH, &[]).await.status(),
        StatusCode::OK
    );
    let code = person.add_code().await;
    let wrong = wrong_code(&code);
    for _ in 0..5 {
        let guess = person
            .call(
                StartAddPasskey::PATH,
                &[("name", "Laptop"), ("code", &wrong)],
            )
            .await;
        assert_eq!(guess.status(), StatusCode::BAD_REQUEST);
    }
    // A code of another purpose (the phone verification's resend) resets its own count only.
    let resent = person
        .call(payfriend::api::accounts::ResendCode::PATH, &[])
        .await;
    assert_eq!(resent.status(), StatusCode::OK, "{:?}", resent.text().await);

    let right = person
        .call(
            StartAddPasskey::PATH,
            &[("name", "Laptop"), ("code", &code)],
        )
        .await;
    assert_eq!(right.status(), StatusCode::BAD_REQUEST);
    assert!(right.text().await.unwrap().contains("Too many wrong codes"));
}

#[tokio::test]
async fn an_answer_for_a_payee_or_amount_that_changed_since_the_prompt_approves_nothing() {
    let mut person = Person::new().await;
    person.add_passkey("Laptop").await;
    for change in [
        "UPDATE payments SET amount_cents = amount_cents + 1 WHERE id = $1",
        "UPDATE payments SET payee = 'Mallory' WHERE id = $1",
    ] {
        let id = person.payment().await;
        let ceremony = person.start(&id).await;
        let answer = person.sign(&ceremony);
        // The row changes between the prompt and the answer (payee and amount are
        // immutable in the app: this is the database changed behind its back).
        sqlx::query(change)
            .bind(&id)
            .execute(&person.app.state.db)
            .await
            .expect("change the payment");

        let refused = person.finish(&id, &ceremony.challenge_id, &answer).await;
        assert!(
            refusal(refused).await.contains("payee or amount differ"),
            "{change}"
        );
        assert_eq!(person.status(&id).await.0, "pending", "{change}");
        // Cancelled, to make room for the next payment.
        let cancelled = person
            .call(
                payfriend::api::payments::CancelPayment::PATH,
                &[("id", &id)],
            )
            .await;
        assert_eq!(cancelled.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn an_authenticator_that_does_not_verify_the_person_adds_no_passkey() {
    let mut person = Person::new().await;
    // `false`: the soft key says it did not verify the person (no PIN, no biometric).
    person.key = SoftPasskey::new(false);
    assert_eq!(
        person.call(SendPasskeyCode::PATH, &[]).await.status(),
        StatusCode::OK
    );
    let code = person.add_code().await;
    let started = person
        .call(StartAddPasskey::PATH, &[("name", "Key"), ("code", &code)])
        .await;
    assert_eq!(started.status(), StatusCode::OK);
    let ceremony: PasskeyCeremony = started.json().await.expect("a ceremony");
    // The server asks for user verification, so an authenticator without it cannot answer.
    let raw: serde_json::Value = serde_json::from_str(&ceremony.options).expect("JSON options");
    assert_eq!(
        raw["authenticatorSelection"]["userVerification"], "required",
        "{raw}"
    );
    let options: CreationChallengeResponse =
        serde_json::from_str(&format!(r#"{{"publicKey":{}}}"#, ceremony.options))
            .expect("creation options");
    assert!(
        person
            .key
            .do_registration(person.origin(), options)
            .is_err(),
        "an authenticator without user verification registered"
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
        .bind(&person.user_id)
        .fetch_one(&person.app.state.db)
        .await
        .expect("count");
    assert_eq!(stored, 0);
}
