//! Recovery: provider faults fail a payment rather than leave it pending, lost callbacks are recovered from the provider, a restart loses nothing, and the sweep forgets only what can no longer matter.

use payfriend::sandbox::model::SandboxFault;
use payfriend::shared::authy_signature as signature;
use payfriend::testing::clock;
use payfriend::testing::{db, domain::payments};

use crate::support::*;

#[tokio::test]
async fn provider_faults_fail_the_payment_with_a_clear_error_and_never_leave_it_pending() {
    let app = spawn_app_with(&[("AUTHY_TIMEOUT_SECS", "1")]).await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;

    for fault in [
        SandboxFault::Error500,
        SandboxFault::Error503,
        SandboxFault::NotJson,
        SandboxFault::Slow,
    ] {
        app.sandbox().fault.set(fault);
        let response = send_payment(&app, &cookie).await;
        assert_eq!(response.status(), 503, "{fault:?}");
        assert!(response
            .text()
            .await
            .expect("body")
            .contains("ProviderUnavailable"));
    }

    let statuses = payment_statuses(&app, &user_id).await;
    assert_eq!(statuses, vec!["failed"; 4]);
}

/// The payment of `user_id` (the only one) as the provider's request names it.
async fn only_approval_uuid(app: &TestApp, user_id: &payfriend::model::UserId) -> String {
    sqlx::query_scalar("SELECT approval_uuid FROM payments WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("uuid")
}

/// A user's payment answered on the phone (`approve` or deny) while the sandbox drops its
/// callbacks, so it is still pending here, and made old enough to be reconciled.
async fn decided_with_the_callback_lost(app: &TestApp, approve: bool) -> payfriend::model::UserId {
    let (user_id, email) = verified_user(app, "a password").await;
    let cookie = log_in(app, &email, "a password").await;
    send_payment(app, &cookie).await;
    let uuid = only_approval_uuid(app, &user_id).await;
    app.sandbox().fault.set(SandboxFault::DropCallbacks);
    answer_on_phone(app, &uuid, approve).await;
    assert_eq!(payment_statuses(app, &user_id).await, vec!["pending"]);
    sqlx::query("UPDATE payments SET created_at = created_at - 60")
        .execute(&app.state.db)
        .await
        .expect("age");
    user_id
}

#[tokio::test]
async fn a_dropped_callback_is_recovered_from_the_provider() {
    let app = spawn_app().await;
    let user_id = decided_with_the_callback_lost(&app, true).await;

    payments::reconcile(&app.state).await;

    assert_eq!(payment_statuses(&app, &user_id).await, vec!["approved"]);
}

#[tokio::test]
async fn a_callback_arriving_after_a_restart_still_decides_the_payment() {
    let app = spawn_app_with(&[("AUTHY_API_KEY", "stable-key-across-restarts")]).await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    send_payment(&app, &cookie).await;
    let uuid = only_approval_uuid(&app, &user_id).await;

    let restarted = spawn_app_with(&[
        ("AUTHY_API_KEY", "stable-key-across-restarts"),
        ("DATABASE_URL", &app.state.config.database_url),
    ])
    .await;
    let body = format!(r#"{{"uuid": "{uuid}", "status": "approved", "authy_id": 1}}"#);
    let url = restarted.state.config.authy_callback_url.to_string();
    let nonce = clock::now().to_string();
    let sig =
        signature::sign("stable-key-across-restarts", &nonce, "POST", &url, &body).expect("sign");
    let response = restarted
        .client
        .post(&url)
        .header("X-Authy-Signature", sig)
        .header("X-Authy-Signature-Nonce", nonce)
        .body(body)
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 200);
    assert_eq!(
        payment_statuses(&restarted, &user_id).await,
        vec!["approved"]
    );
}

#[tokio::test]
async fn a_denial_whose_callback_was_lost_is_recovered_from_the_provider() {
    let app = spawn_app().await;
    let user_id = decided_with_the_callback_lost(&app, false).await;

    payments::reconcile(&app.state).await;

    assert_eq!(payment_statuses(&app, &user_id).await, vec!["denied"]);
}

#[tokio::test]
async fn reconciliation_that_cannot_reach_the_provider_changes_nothing_and_tries_again() {
    let app = spawn_app().await;
    let user_id = decided_with_the_callback_lost(&app, true).await;

    app.sandbox().fault.set(SandboxFault::Error503);
    payments::reconcile(&app.state).await;
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, failure_reason FROM payments WHERE user_id = $1")
            .bind(&user_id)
            .fetch_one(&app.state.db)
            .await
            .expect("payment");
    assert_eq!(
        (status.as_str(), reason),
        ("pending", None),
        "an outage decides nothing"
    );

    // Its next turn (the claim has passed) finds the provider answering.
    app.sandbox().fault.set(SandboxFault::None);
    sqlx::query("UPDATE payments SET reconcile_after = 0")
        .execute(&app.state.db)
        .await
        .expect("next turn");
    payments::reconcile(&app.state).await;
    assert_eq!(payment_statuses(&app, &user_id).await, vec!["approved"]);
}

#[tokio::test]
async fn the_sweep_forgets_what_can_no_longer_matter_and_keeps_the_rest() {
    let app = spawn_app().await;
    let now = clock::now();
    for (at, phone) in [(now - 10_000, "+12015550101"), (now, "+12015550102")] {
        sqlx::query(
            "INSERT INTO code_sends (id, user_id, phone_e164, at) VALUES ($1, NULL, $2, $3)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(phone)
        .bind(at)
        .execute(&app.state.db)
        .await
        .expect("code sent");
    }
    for (nonce, at) in [("old", now - 10_000), ("new", now)] {
        db::payments::remember_nonce(&app.state.db, nonce, "sig", at)
            .await
            .expect("nonce");
    }

    // Sign-in attempts: an email tried once long ago (never signed in), one tried just
    // now, one locked until later, and one whose lock ended long ago.
    let lock = app.state.config.login_lock_secs as i64;
    for (email, failures, locked_until, last_at) in [
        ("long-ago@example.com", 1, None, now - lock - 10),
        ("just-now@example.com", 2, None, now),
        ("locked@example.com", 5, Some(now + 100), now - lock - 10),
        ("lock-over@example.com", 5, Some(now - 10), now - lock - 10),
    ] {
        sqlx::query(
            "INSERT INTO login_throttle (email, failures, locked_until, last_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(email)
        .bind(failures)
        .bind(locked_until)
        .bind(last_at)
        .execute(&app.state.db)
        .await
        .expect("sign-in attempts");
    }

    payfriend::server::sweep(&app.state).await;

    let mut throttled: Vec<String> = sqlx::query_scalar("SELECT email FROM login_throttle")
        .fetch_all(&app.state.db)
        .await
        .expect("attempts");
    throttled.sort();
    assert_eq!(
        throttled,
        vec!["just-now@example.com", "locked@example.com"]
    );
    let phones: Vec<String> = sqlx::query_scalar("SELECT phone_e164 FROM code_sends")
        .fetch_all(&app.state.db)
        .await
        .expect("codes");
    let nonces: Vec<String> = sqlx::query_scalar("SELECT nonce FROM callback_nonces")
        .fetch_all(&app.state.db)
        .await
        .expect("nonces");
    assert_eq!(phones, vec!["+12015550102"]);
    assert_eq!(nonces, vec!["new"]);
}
