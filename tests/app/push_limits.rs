//! Push bombing: a stolen password must not buy an endless stream of prompts. At most
//! `MAX_PENDING_PAYMENTS` waiting at once, `PUSH_HOURLY_PER_USER` push requests an hour per
//! user (counted in the database), and after a denial on the phone a fresh sign-in.
use std::sync::Arc;
use std::time::Duration;

use crate::support::{
    answer_on_phone, approval_uuid_of, log_in, send_payment, send_payment_id, spawn_app_with,
    verified_user, TestApp,
};
use leptos::server_fn::ServerFn;
use payfriend::api::payments::{CancelPayment, ResendPush};
use payfriend::model::UserId;

async fn payments_of(app: &TestApp, user: &UserId) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.state.db)
        .await
        .expect("count")
}

fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn post(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_most_three_payments_wait_at_once_even_when_sent_together() {
    let app = Arc::new(spawn_app_with(&[("LIMIT_SEND_PAYMENT", "1000/60")]).await);
    let (user, email) = verified_user(&app, "a password").await;
    let cookie = Arc::new(log_in(&app, &email, "a password").await);

    let sends: Vec<_> = (0..12)
        .map(|_| {
            let (app, cookie) = (app.clone(), cookie.clone());
            tokio::spawn(async move {
                let r = send_payment(&app, &cookie).await;
                (
                    r.status().as_u16(),
                    location(&r),
                    r.text().await.unwrap_or_default(),
                )
            })
        })
        .collect();
    let mut sent = Vec::new();
    let mut refused = 0;
    for send in sends {
        let (status, location, body) = send.await.expect("task");
        match location {
            Some(l) => sent.push(l),
            None => {
                assert_eq!(status, 429, "{body}");
                assert!(body.contains("TooManyPending"), "{body}");
                refused += 1;
            }
        }
    }
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(refused, 9);
    assert_eq!(payments_of(&app, &user).await, 3);

    // Cancelling one makes room for one more.
    let id = sent[0].trim_start_matches("/payments/");
    assert_eq!(
        post(&app, CancelPayment::PATH, &cookie, &[("id", id)])
            .await
            .status(),
        200
    );
    assert!(location(&send_payment(&app, &cookie).await).is_some());
    assert_eq!(send_payment(&app, &cookie).await.status(), 429);
}

#[tokio::test]
async fn push_requests_per_user_per_hour_are_limited_resends_included() {
    let config = [
        ("PUSH_HOURLY_PER_USER", "4"),
        ("MAX_PENDING_PAYMENTS", "100"),
        ("LIMIT_SEND_PAYMENT", "1000/60"),
        (
            "SESSION_SECRET",
            "push-limits-session-secret-0123456789abcdef",
        ),
    ];
    let app = spawn_app_with(&config).await;
    let (user, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let first = send_payment_id(&app, &cookie).await;
    send_payment_id(&app, &cookie).await;
    send_payment_id(&app, &cookie).await;
    // The fourth push request of the hour is a resend.
    assert_eq!(
        post(&app, ResendPush::PATH, &cookie, &[("id", &first)])
            .await
            .status(),
        200
    );

    let fifth = send_payment(&app, &cookie).await;
    assert_eq!(fifth.status(), 429);
    let wait: u64 = fifth.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((3500..=3600).contains(&wait), "{wait}");
    assert!(fifth
        .text()
        .await
        .expect("body")
        .contains("PushBudgetSpent"));
    let resend = post(&app, ResendPush::PATH, &cookie, &[("id", &first)]).await;
    assert_eq!(resend.status(), 429);
    assert_eq!(payments_of(&app, &user).await, 3);

    // Counted in the database: another instance on it refuses too.
    let mut on_the_same_database = config.to_vec();
    on_the_same_database.push(("DATABASE_URL", &app.state.config.database_url));
    let other = spawn_app_with(&on_the_same_database).await;
    let elsewhere = send_payment(&other, &cookie).await;
    assert_eq!(elsewhere.status(), 429);
    assert!(elsewhere
        .text()
        .await
        .expect("body")
        .contains("PushBudgetSpent"));

    // Then the hour passes.
    sqlx::query("UPDATE push_sends SET at = at - 3601 WHERE user_id = $1")
        .bind(&user)
        .execute(&app.state.db)
        .await
        .expect("an hour later");
    assert!(location(&send_payment(&app, &cookie).await).is_some());
}

#[tokio::test]
async fn after_a_denial_on_the_phone_the_next_payment_needs_a_fresh_sign_in() {
    let app = spawn_app_with(&[("LIMIT_SEND_PAYMENT", "1000/60")]).await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let id = send_payment_id(&app, &cookie).await;
    let uuid = approval_uuid_of(&app, &id).await;
    answer_on_phone(&app, &uuid, false).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let status: String = sqlx::query_scalar("SELECT status FROM payments WHERE id = $1")
                .bind(&id)
                .fetch_one(&app.state.db)
                .await
                .expect("status");
            if status == "denied" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the denial's callback arrives");

    let refused = send_payment(&app, &cookie).await;
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.expect("body").contains("SignInAgain"));

    // Signing in again (here: a few seconds after the denial) is enough.
    sqlx::query("UPDATE sessions SET created_at = created_at - 10")
        .execute(&app.state.db)
        .await
        .expect("the sign-in, ten seconds back");
    sqlx::query("UPDATE payments SET decided_at = decided_at - 5 WHERE id = $1")
        .bind(&id)
        .execute(&app.state.db)
        .await
        .expect("the denial, five seconds back");
    assert_eq!(
        send_payment(&app, &cookie).await.status(),
        401,
        "the old session still may not"
    );
    let fresh = log_in(&app, &email, "a password").await;
    assert!(location(&send_payment(&app, &fresh).await).is_some());
}
