//! The SMS code that stands in for the push approval: bound to one payment, usable once,
//! only while the payment waits, and sent within limits.
use crate::support::{
    answer_on_phone, approval_uuid_of, expire_payment, log_in, payment_codes, send_payment_id,
    spawn_app, spawn_app_with, verified_user, wrong_code, TestApp,
};
use leptos::server_fn::ServerFn;
use payfriend::api::payments::{SendPaymentSms, VerifyPaymentSms};
use payfriend::sandbox::model::SandboxFault;

struct Payer {
    cookie: String,
}

async fn payer(app: &TestApp) -> Payer {
    let (_, email) = verified_user(app, "a password").await;
    let cookie = log_in(app, &email, "a password").await;
    Payer { cookie }
}

async fn new_payment(app: &TestApp, payer: &Payer) -> String {
    send_payment_id(app, &payer.cookie).await
}

async fn ask_for_code(app: &TestApp, payer: &Payer, id: &str) -> reqwest::Response {
    app.client
        .post(app.url(SendPaymentSms::PATH))
        .header("Cookie", &payer.cookie)
        .form(&[("id", id)])
        .send()
        .await
        .expect("request")
}

async fn enter_code(app: &TestApp, payer: &Payer, id: &str, code: &str) -> reqwest::Response {
    app.client
        .post(app.url(VerifyPaymentSms::PATH))
        .header("Cookie", &payer.cookie)
        .form(&[("id", id), ("code", code)])
        .send()
        .await
        .expect("request")
}

async fn status(app: &TestApp, id: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, decided_via FROM payments WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db)
        .await
        .expect("payment")
}

async fn only_code(app: &TestApp, id: &str) -> String {
    let codes = payment_codes(app, id).await;
    assert_eq!(codes.len(), 1, "one code for {id}");
    codes[0].clone()
}

#[tokio::test]
async fn the_code_approves_its_own_payment_once() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = new_payment(&app, &payer).await;
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
    let code = only_code(&app, &id).await;

    let first = enter_code(&app, &payer, &id, &code).await;
    let again = enter_code(&app, &payer, &id, &code).await;

    assert_eq!(first.status(), 200);
    assert_eq!(
        status(&app, &id).await,
        ("approved".into(), Some("sms".into()))
    );
    assert_eq!(
        again.status(),
        400,
        "the payment no longer waits for a code"
    );
    assert!(again
        .text()
        .await
        .expect("body")
        .contains("already approved"));
}

#[tokio::test]
async fn a_code_for_another_payment_does_not_approve_this_one() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let first = new_payment(&app, &payer).await;
    let second = new_payment(&app, &payer).await;
    ask_for_code(&app, &payer, &first).await;
    ask_for_code(&app, &payer, &second).await;
    let code_of_first = only_code(&app, &first).await;

    let crossed = enter_code(&app, &payer, &second, &code_of_first).await;

    assert_eq!(crossed.status(), 400);
    assert!(crossed.text().await.expect("body").contains("InvalidCode"));
    assert_eq!(status(&app, &second).await.0, "pending");
    assert_eq!(status(&app, &first).await.0, "pending");
}

#[tokio::test]
async fn no_code_works_after_the_payment_was_decided_or_expired() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let denied = new_payment(&app, &payer).await;
    let expired = new_payment(&app, &payer).await;
    for id in [&denied, &expired] {
        ask_for_code(&app, &payer, id).await;
    }
    let uuid = approval_uuid_of(&app, &denied).await;
    answer_on_phone(&app, &uuid, false).await;
    expire_payment(&app, &expired, 1).await;

    let after_denial = enter_code(&app, &payer, &denied, &only_code(&app, &denied).await).await;
    let after_expiry = enter_code(&app, &payer, &expired, &only_code(&app, &expired).await).await;

    assert_eq!(after_denial.status(), 400);
    assert_eq!(status(&app, &denied).await.0, "denied");
    assert_eq!(after_expiry.status(), 410);
    assert_ne!(status(&app, &expired).await.0, "approved");
}

#[tokio::test]
async fn payment_codes_are_sent_within_the_per_user_limit() {
    let app = spawn_app_with(&[
        ("CODE_SEND_LIMIT", "3"),
        ("LIMIT_PAYMENT_CODE", "100/60"),
        ("MAX_PENDING_PAYMENTS", "10"),
    ])
    .await;
    let payer = payer(&app).await;
    let mut statuses = Vec::new();
    let mut codes = 0;
    for _ in 0..5 {
        let id = new_payment(&app, &payer).await;
        statuses.push(ask_for_code(&app, &payer, &id).await.status().as_u16());
        codes += payment_codes(&app, &id).await.len();
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    assert_eq!(codes, 3);
}

/// Moves the payment's last code back in time by `seconds`.
async fn code_sent_earlier(app: &TestApp, id: &str, seconds: i64) {
    sqlx::query("UPDATE payments SET sms_sent_at = sms_sent_at - $1 WHERE id = $2")
        .bind(seconds)
        .bind(id)
        .execute(&app.state.db)
        .await
        .expect("move the send time");
}

#[tokio::test]
async fn a_new_code_is_sent_only_after_the_cooldown_and_it_works() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = new_payment(&app, &payer).await;
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);

    let too_soon = ask_for_code(&app, &payer, &id).await;

    assert_eq!(too_soon.status(), 429);
    let wait: u64 = too_soon.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&wait), "{wait}");
    assert_eq!(payment_codes(&app, &id).await.len(), 1);

    code_sent_earlier(&app, &id, 31).await;
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
    let codes = payment_codes(&app, &id).await;
    assert_eq!(codes.len(), 2);
    assert_eq!(enter_code(&app, &payer, &id, &codes[1]).await.status(), 200);
    assert_eq!(status(&app, &id).await.0, "approved");
}

#[tokio::test]
async fn asking_for_a_code_many_times_at_once_sends_one() {
    let app = std::sync::Arc::new(spawn_app_with(&[("LIMIT_PAYMENT_CODE", "100/60")]).await);
    let payer = std::sync::Arc::new(payer(&app).await);
    let id = new_payment(&app, &payer).await;

    let asks: Vec<_> = (0..8)
        .map(|_| {
            let (app, payer, id) = (app.clone(), payer.clone(), id.clone());
            tokio::spawn(async move { ask_for_code(&app, &payer, &id).await.status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for ask in asks {
        statuses.push(ask.await.expect("task"));
    }

    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 429, 429, 429, 429, 429, 429, 429]);
    assert_eq!(payment_codes(&app, &id).await.len(), 1);
}

#[tokio::test]
async fn a_code_that_could_not_be_sent_can_be_asked_for_again_at_once() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = new_payment(&app, &payer).await;
    app.sandbox().fault.set(SandboxFault::Error503);
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 503);
    app.sandbox().fault.set(SandboxFault::None);

    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
    assert_eq!(payment_codes(&app, &id).await.len(), 1);
}

/// Sends `codes` for the payment at once, each from a task of its own; their statuses in
/// the order of `codes`.
async fn guess_at_once(
    app: &std::sync::Arc<TestApp>,
    payer: &std::sync::Arc<Payer>,
    id: &str,
    codes: Vec<String>,
) -> Vec<u16> {
    let guesses: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let (app, payer, id) = (app.clone(), payer.clone(), id.to_string());
            tokio::spawn(
                async move { enter_code(&app, &payer, &id, &code).await.status().as_u16() },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.expect("task"));
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_wrong_codes_reach_the_provider_at_most_five_times() {
    let app = std::sync::Arc::new(spawn_app_with(&[("LIMIT_PAYMENT_CODE", "1000/60")]).await);
    let payer = std::sync::Arc::new(payer(&app).await);
    let id = new_payment(&app, &payer).await;
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
    let code = only_code(&app, &id).await;
    let checks_before = app.sandbox().code_checks();

    let statuses = guess_at_once(&app, &payer, &id, vec![wrong_code(&code); 20]).await;

    let checked = app.sandbox().code_checks() - checks_before;
    assert!(checked <= 5, "{checked} guesses reached the provider");
    assert_eq!(status(&app, &id).await.0, "failed");
    assert!(!statuses.contains(&200), "{statuses:?}");
    // The real code is no use now either.
    assert_ne!(enter_code(&app, &payer, &id, &code).await.status(), 200);
    assert_eq!(status(&app, &id).await.0, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_right_code_in_a_burst_approves_only_when_it_was_among_the_five_checked() {
    let app = std::sync::Arc::new(spawn_app_with(&[("LIMIT_PAYMENT_CODE", "1000/60")]).await);
    let payer = std::sync::Arc::new(payer(&app).await);
    for round in 0..3 {
        let id = new_payment(&app, &payer).await;
        assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
        let code = only_code(&app, &id).await;
        let checks_before = app.sandbox().code_checks();
        // The right code sits in a different place of the burst each round.
        let mut codes = vec![wrong_code(&code); 12];
        let right_at = [0, 6, 11][round];
        codes[right_at] = code.clone();

        let statuses = guess_at_once(&app, &payer, &id, codes).await;

        assert!(app.sandbox().code_checks() - checks_before <= 5);
        let (outcome, via) = status(&app, &id).await;
        let right_accepted = statuses[right_at] == 200;
        assert_eq!(
            outcome == "approved",
            right_accepted,
            "round {round}: {outcome}, {statuses:?}"
        );
        if right_accepted {
            assert_eq!(via.as_deref(), Some("sms"));
        } else {
            assert_eq!(outcome, "failed", "{statuses:?}");
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            usize::from(right_accepted)
        );
    }
}

#[tokio::test]
async fn a_code_the_provider_could_not_check_costs_no_attempt() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = new_payment(&app, &payer).await;
    assert_eq!(ask_for_code(&app, &payer, &id).await.status(), 200);
    let code = only_code(&app, &id).await;
    app.sandbox().fault.set(SandboxFault::Error503);
    for _ in 0..6 {
        assert_eq!(
            enter_code(&app, &payer, &id, &wrong_code(&code))
                .await
                .status(),
            503
        );
    }
    app.sandbox().fault.set(SandboxFault::None);

    let attempts: i64 =
        sqlx::query_scalar("SELECT sms_failed_attempts FROM payments WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.state.db)
            .await
            .expect("attempts");
    assert_eq!(attempts, 0);
    assert_eq!(enter_code(&app, &payer, &id, &code).await.status(), 200);
    assert_eq!(status(&app, &id).await.0, "approved");
}
