//! A phone number is held only by a verified account: registrations not verified yet never
//! block another registration of the same number, and the first account to verify a
//! number keeps it.

use leptos::server_fn::ServerFn;
use payfriend::api::accounts::VerifyPhone;
use payfriend::server::config::ProviderKind;
use payfriend::testing::clock;
use payfriend::testing::db;

use crate::support::*;

async fn verify_with(app: &TestApp, cookie: &str, code: &str) -> reqwest::Response {
    app.client
        .post(app.url(VerifyPhone::PATH))
        .header("Cookie", cookie)
        .form(&[("code", code)])
        .send()
        .await
        .expect("request")
}

async fn verified_holders(app: &TestApp, phone: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT email FROM users WHERE phone_e164 = $1 AND phone_verified_at IS NOT NULL",
    )
    .bind(phone)
    .fetch_all(&app.state.db)
    .await
    .expect("holders")
}

#[tokio::test]
async fn an_unverified_registration_does_not_keep_the_owner_from_registering() {
    let app = spawn_app().await;
    // Someone registers the number and never verifies it.
    let squatter = register(&app, "squatter@example.com", "2015550142").await;
    let squatter_cookie = session_cookie(&squatter).expect("signed in");

    // The number's owner registers it all the same, and verifies it.
    let owner = register(&app, "owner@example.com", "2015550142").await;
    assert!(
        owner.status().is_success() || owner.status().is_redirection(),
        "{}: {:?}",
        owner.status(),
        owner.text().await
    );
    let owner_cookie = session_cookie(&owner).expect("signed in");
    let code = verification_code(&app, "+12015550142").await;
    let verified = verify_with(&app, &owner_cookie, &code).await;
    assert!(verified.status().is_success() || verified.status().is_redirection());
    assert_eq!(
        verified_holders(&app, "+12015550142").await,
        vec!["owner@example.com".to_string()]
    );

    // The other account can no longer verify it, and is told why.
    let late = verify_with(&app, &squatter_cookie, &code).await;
    assert_eq!(late.status(), 400);
    assert!(late
        .text()
        .await
        .expect("body")
        .contains("Another account has verified this phone number"));
    // A verified number is taken for new registrations, as before.
    let third = register(&app, "third@example.com", "2015550142").await;
    assert!(third
        .text()
        .await
        .expect("body")
        .contains("already used by another account"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_accounts_verifying_one_number_at_once_exactly_one_keeps_it() {
    let app = std::sync::Arc::new(spawn_app().await);
    let phone = "+12015550143";
    let mut cookies = Vec::new();
    for i in 0..4 {
        let answer = register(&app, &format!("claimant{i}@example.com"), "2015550143").await;
        cookies.push(session_cookie(&answer).expect("signed in"));
    }
    // The code the phone got last (each registration sent one): every claimant has it.
    let code = verification_code(&app, phone).await;

    let tasks: Vec<_> = cookies
        .into_iter()
        .map(|cookie| {
            let (app, code) = (app.clone(), code.clone());
            tokio::spawn(async move { verify_with(&app, &cookie, &code).await.status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }

    assert_eq!(verified_holders(&app, phone).await.len(), 1, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s < 400).count(),
        1,
        "one verification succeeded: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_lets_one_account_verify_a_number_however_many_try_at_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut ids = Vec::new();
    for i in 0..8 {
        let answer = register(&app, &format!("racer{i}@example.com"), "2015550144").await;
        assert!(answer.status().is_success() || answer.status().is_redirection() || i >= 5);
        if let Some(id) = sqlx::query_scalar::<_, payfriend::model::UserId>(
            "SELECT id FROM users WHERE email = $1",
        )
        .bind(format!("racer{i}@example.com"))
        .fetch_optional(&app.state.db)
        .await
        .expect("user")
        {
            ids.push(id);
        }
    }
    assert!(ids.len() >= 2, "several claimants: {}", ids.len());
    // Every provider check passed at once (as with two codes from two providers): the
    // database is what decides.
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let app = app.clone();
            tokio::spawn(async move {
                db::users::mark_verified(
                    &app.state.db,
                    &id,
                    ProviderKind::Authy,
                    Some(payfriend::server::providers::authy::AuthyId(1)),
                    clock::now(),
                )
                .await
                .is_ok()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.expect("task"));
    }
    assert_eq!(won, 1);
    assert_eq!(verified_holders(&app, "+12015550144").await.len(), 1);
}
