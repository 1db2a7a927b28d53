//! "Resend to my phone": a new push request for the same payment, at most three in all;
//! only the newest one counts.
use crate::support::audit_rows;
use crate::support::{log_in, pushes_to, send_payment_id, spawn_app, verified_user, TestApp};
use crate::support::{phone_answers, status_of, Pending};
use leptos::server_fn::ServerFn;
use payfriend::api::payments::ResendPush;
use payfriend::model::{PaymentId, UserId};
use payfriend::testing::clock;

struct Payer {
    email: String,
    cookie: String,
    user_id: UserId,
}

async fn payer(app: &TestApp) -> Payer {
    let (user_id, email) = verified_user(app, "a password").await;
    let cookie = log_in(app, &email, "a password").await;
    Payer {
        email,
        cookie,
        user_id,
    }
}

async fn resend(app: &TestApp, cookie: &str, id: &str) -> reqwest::Response {
    app.client
        .post(app.url(ResendPush::PATH))
        .header("Cookie", cookie)
        .form(&[("id", id)])
        .send()
        .await
        .expect("request")
}

/// The payment's current push request, as the provider's callback would name it.
async fn current_request(app: &TestApp, payer: &Payer, id: &str) -> Pending {
    let (approval_uuid, authy_id): (String, Option<i64>) = sqlx::query_as(
        "SELECT p.approval_uuid, u.authy_id FROM payments p JOIN users u ON u.id = p.user_id \
         WHERE p.id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db)
    .await
    .expect("payment");
    Pending {
        payment_id: PaymentId::parse(id).expect("an id"),
        approval_uuid,
        authy_id: authy_id.unwrap_or(0),
        email: payer.email.clone(),
        user_id: payer.user_id.clone(),
    }
}

#[tokio::test]
async fn a_payment_goes_to_the_phone_three_times_at_most() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = send_payment_id(&app, &payer.cookie).await;

    let second = resend(&app, &payer.cookie, &id).await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.text().await.expect("body"), "1");
    let third = resend(&app, &payer.cookie, &id).await;
    assert_eq!(third.text().await.expect("body"), "0");
    let fourth = resend(&app, &payer.cookie, &id).await;

    assert_eq!(fourth.status(), 429);
    assert!(fourth.text().await.expect("body").contains("PushLimit"));
    assert_eq!(pushes_to(&app, &payer.user_id).await, 3);
    let sent = audit_rows(&app, &id, "push_sent").await;
    assert_eq!(
        sent.iter().filter(|(outcome, _)| outcome == "ok").count(),
        3
    );
}

#[tokio::test]
async fn after_a_resend_only_the_newest_request_counts() {
    let app = spawn_app().await;
    let payer = payer(&app).await;
    let id = send_payment_id(&app, &payer.cookie).await;
    let first = current_request(&app, &payer, &id).await;
    assert_eq!(resend(&app, &payer.cookie, &id).await.status(), 200);
    let newest = current_request(&app, &payer, &id).await;
    assert_ne!(first.approval_uuid, newest.approval_uuid);

    let old_answer = phone_answers(&app, &first, "approved", &clock::now().to_string()).await;

    assert_eq!(old_answer.status(), 404);
    assert_eq!(status_of(&app, &first.payment_id).await.0, "pending");
    let answer = phone_answers(&app, &newest, "approved", &(clock::now() - 1).to_string()).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        status_of(&app, &first.payment_id).await,
        ("approved".into(), Some("push".into()))
    );
    // Decided: nothing more is sent.
    let late = resend(&app, &payer.cookie, &id).await;
    assert_eq!(late.status(), 409);
}

#[tokio::test]
async fn nobody_else_can_resend_a_payment() {
    let app = spawn_app().await;
    let owner = payer(&app).await;
    let other = payer(&app).await;
    let id = send_payment_id(&app, &owner.cookie).await;

    assert_eq!(resend(&app, &other.cookie, &id).await.status(), 404);
    assert_eq!(pushes_to(&app, &owner.user_id).await, 1);
}

#[tokio::test]
async fn many_resends_at_once_send_two_more() {
    let app = std::sync::Arc::new(spawn_app().await);
    let payer = payer(&app).await;
    let id = send_payment_id(&app, &payer.cookie).await;

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, cookie, id) = (app.clone(), payer.cookie.clone(), id.clone());
            tokio::spawn(async move { resend(&app, &cookie, &id).await.status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }

    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 200, 429, 429, 429, 429, 429, 429]);
    assert_eq!(pushes_to(&app, &payer.user_id).await, 3);
}
