//! Sending codes: per phone, per number under a burst, the app's hourly budget, guesses at one code, and accounts never verified.

use std::sync::Arc;

use leptos::server_fn::ServerFn;
use payfriend::api::accounts::{Register, ResendCode, VerifyPhone};

use crate::support::*;

#[tokio::test]
async fn twenty_parallel_registrations_to_one_number_send_at_most_the_limit() {
    let app = Arc::new(spawn_app_with(&[("LIMIT_REGISTER", "1000/60")]).await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            register(&app, &format!("pump{i}@example.com"), "+1 201 555 0199")
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    let sent = messages_to(&app, "+12015550199").await;
    assert!(sent <= 5, "{sent} codes sent to one number");
    // Refused by the limit (429), or, on a loaded machine, before hashing the password
    // because every hashing slot stayed busy (503): either way no code went out.
    let refused = statuses.iter().filter(|s| **s == 429 || **s == 503).count();
    assert!(refused >= 15, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s < 500 || *s == 503),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_hourly_budget_stops_sends_with_a_clear_message_and_an_audit_row() {
    // Registration codes: the budget of sends to people without a verified phone.
    let app = spawn_app_with(&[("CODE_SEND_UNVERIFIED_HOURLY", "3")]).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let response = register(
            &app,
            &format!("budget{i}@example.com"),
            &format!("+1 201 555 02{i:02}"),
        )
        .await;
        statuses.push(response.status().as_u16());
        if i == 3 {
            let body = response.text().await.expect("body");
            assert!(body.contains("SendingPaused"), "{body}");
        }
    }
    assert!(
        statuses[..3].iter().all(|s| *s == 302 || *s == 200),
        "{statuses:?}"
    );
    assert_eq!(statuses[3], 429);
    assert_eq!(audit_count(&app, "verification_sent", "refused").await, 1);
    assert_eq!(messages_to(&app, "+12015550203").await, 0);
}

#[tokio::test]
async fn unverified_accounts_expire_after_a_day_and_free_email_and_phone() {
    let app = spawn_app().await;
    let first = register(&app, "late@example.com", "+1 201 555 0303").await;
    assert!(session_cookie(&first).is_some());
    let again = register(&app, "late@example.com", "+1 201 555 0303").await;
    assert_eq!(again.status(), 400, "taken while the account lives");

    sqlx::query("UPDATE users SET created_at = created_at - 86401")
        .execute(&app.state.db)
        .await
        .expect("a day passes");
    payfriend::server::sweep(&app.state).await;

    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(users, 0);
    let fresh = register(&app, "late@example.com", "+1 201 555 0303").await;
    assert!(
        session_cookie(&fresh).is_some(),
        "email and phone are free again"
    );
}

#[tokio::test]
async fn five_wrong_verification_codes_end_that_code() {
    let app = spawn_app().await;
    let registered = register(&app, "guess@example.com", "+1 201 555 0404").await;
    let cookie = session_cookie(&registered).expect("session");
    let code = verification_code(&app, "+12015550404").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = |code: String| {
        app.client
            .post(app.url(VerifyPhone::PATH))
            .header("Cookie", &cookie)
            .form(&[("code", code)])
            .send()
    };
    for _ in 0..5 {
        let response = verify(wrong.to_string()).await.expect("request");
        assert_eq!(response.status(), 400);
    }
    let right_but_too_late = verify(code.clone()).await.expect("request");
    assert_eq!(right_but_too_late.status(), 400);
    assert!(right_but_too_late
        .text()
        .await
        .expect("body")
        .contains("Send a new code"));

    let resent = app
        .client
        .post(app.url(ResendCode::PATH))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(resent.status(), 200);
    let new_code = verification_code(&app, "+12015550404").await;
    let verified = verify(new_code).await.expect("request");
    assert!(verified.status().is_redirection() || verified.status().is_success());
    let at: Option<i64> = sqlx::query_scalar("SELECT phone_verified_at FROM users")
        .fetch_one(&app.state.db)
        .await
        .expect("user");
    assert!(at.is_some());
}

#[tokio::test]
async fn sending_codes_is_rate_limited_per_phone() {
    let app = spawn_app_with(&[("CODE_SEND_LIMIT", "2")]).await;
    let register = app
        .client
        .post(app.url(Register::PATH))
        .form(&[
            ("email", "limited@example.com"),
            ("password", "a long password"),
            ("country", "US"),
            ("phone", "+1 201 555 0142"),
            ("via", "sms"),
        ])
        .send()
        .await
        .expect("request");
    let cookie = session_cookie(&register).expect("session");
    let resend = || {
        app.client
            .post(app.url(ResendCode::PATH))
            .header("Cookie", &cookie)
            .send()
    };

    let second = resend().await.expect("request");
    let third = resend().await.expect("request");

    assert_eq!(second.status(), 200);
    assert_eq!(third.status(), 429);
    assert!(third.text().await.expect("body").contains("RateLimited"));
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_messages")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(sent, 2);
}
