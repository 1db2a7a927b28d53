//! The payment server functions over HTTP: only the owner sees a payment's status.
use crate::support::audit_rows;
use crate::support::{
    expire_payment, insert_pending_payment, log_in, post_payment, pushes_to, spawn_app,
    spawn_app_with, verified_user, PaymentForm, TestApp,
};
use leptos::server_fn::ServerFn;
use payfriend::api::payments::{GetPayment, ListPayments, SendPayment};
use payfriend::server::config::ProviderKind;

/// Sends a payment (Neville, 20.00) with the idempotency key `key`.
async fn send_payment(app: &TestApp, cookie: &str, key: &str) -> reqwest::Response {
    let form = PaymentForm {
        amount: "20.00",
        key: key.to_string(),
        ..PaymentForm::default()
    };
    post_payment(&app.client, &app.base_url, cookie, &form).await
}

async fn get_payment(app: &TestApp, cookie: &str, id: &str) -> reqwest::Response {
    app.client
        .post(app.url(GetPayment::PATH))
        .header("Cookie", cookie)
        .form(&[("id", id)])
        .send()
        .await
        .expect("request")
}

async fn only_payment_id(app: &TestApp, user_id: &payfriend::model::UserId) -> String {
    sqlx::query_scalar("SELECT id FROM payments WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("one payment")
}

#[tokio::test]
async fn only_the_owner_sees_a_payment_and_others_get_the_same_not_found() {
    let app = spawn_app().await;
    let (owner_id, owner_email) = verified_user(&app, "owner password").await;
    let (_, other_email) = verified_user(&app, "other password").await;
    let owner = log_in(&app, &owner_email, "owner password").await;
    let other = log_in(&app, &other_email, "other password").await;
    send_payment(&app, &owner, &uuid::Uuid::new_v4().to_string()).await;
    let id = only_payment_id(&app, &owner_id).await;

    let mine = get_payment(&app, &owner, &id).await;
    let theirs = get_payment(&app, &other, &id).await;
    let unknown = get_payment(&app, &other, &uuid::Uuid::new_v4().to_string()).await;
    let anonymous = get_payment(&app, "", &id).await;

    assert_eq!(mine.status(), 200);
    let body = mine.text().await.expect("body");
    assert!(body.contains("\"status\":\"pending\""), "{body}");
    assert_eq!(theirs.status(), 404);
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        theirs.text().await.expect("body"),
        unknown.text().await.expect("body"),
        "another user's payment looks exactly like a missing one"
    );
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn the_same_idempotency_key_makes_one_payment_and_one_push() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let key = uuid::Uuid::new_v4().to_string();

    let (first, second) = tokio::join!(
        send_payment(&app, &cookie, &key),
        send_payment(&app, &cookie, &key)
    );
    let third = send_payment(&app, &cookie, &key).await;

    for r in [&first, &second, &third] {
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "{}",
            r.status()
        );
    }
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE user_id = $1")
        .bind(&user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    let pushes = pushes_to(&app, &user_id).await;
    assert_eq!(payments, 1);
    assert_eq!(pushes, 1);
}

#[tokio::test]
async fn a_bad_amount_is_a_400_and_stores_nothing() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;

    for amount in ["-5", "0", "20.555", "abc", "99999999999"] {
        let response = app
            .client
            .post(app.url(SendPayment::PATH))
            .header("Cookie", &cookie)
            .form(&[
                ("payee", "Neville"),
                ("amount", amount),
                ("idempotency_key", &uuid::Uuid::new_v4().to_string()),
            ])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "{amount}");
    }
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE user_id = $1")
        .bind(&user_id)
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(payments, 0);
}

/// A signed-in user's payment whose push request the provider refuses: the sandbox no
/// longer knows the user and answers with Authy's "60026 User not found.". The user, the
/// session cookie and the answer to the payment.
async fn payment_the_provider_refuses(
    app: &TestApp,
) -> (payfriend::model::UserId, String, reqwest::Response) {
    let (user_id, email) = verified_user(app, "a password").await;
    let cookie = log_in(app, &email, "a password").await;
    // The provider no longer knows the person (Authy's user; Verify's push factor).
    for table in ["sandbox_users", "sandbox_verify_factors"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&app.state.db)
            .await
            .expect("forget users");
    }
    let response = send_payment(app, &cookie, &uuid::Uuid::new_v4().to_string()).await;
    (user_id, cookie, response)
}

#[tokio::test]
async fn a_provider_failure_fails_the_payment_with_its_reason() {
    let app = spawn_app().await;
    let (user_id, _, response) = payment_the_provider_refuses(&app).await;

    assert_eq!(response.status(), 503);
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, failure_reason FROM payments WHERE user_id = $1")
            .bind(&user_id)
            .fetch_one(&app.state.db)
            .await
            .expect("payment");
    assert_eq!(status, "failed");
    assert!(reason.is_some_and(|r| !r.is_empty()));
}

#[tokio::test]
async fn a_provider_failure_shows_a_sentence_not_the_providers_words() {
    let app = spawn_app().await;
    let (user_id, cookie, sent) = payment_the_provider_refuses(&app).await;
    assert_eq!(sent.status(), 503);
    let answer = sent.text().await.expect("body");
    let id = only_payment_id(&app, &user_id).await;

    let view = get_payment(&app, &cookie, &id)
        .await
        .text()
        .await
        .expect("body");
    let page = app
        .client
        .get(app.url(&format!("/payments/{id}")))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let timeline = app
        .client
        .post(app.url(payfriend::api::payments::PaymentTimeline::PATH))
        .header("Cookie", &cookie)
        .form(&[("id", id.as_str())])
        .send()
        .await
        .expect("timeline")
        .text()
        .await
        .expect("body");
    assert!(view.contains("could not be sent to your phone"), "{view}");
    assert!(timeline.contains("push_sent"), "{timeline}");
    for (what, text) in [
        ("answer", &answer),
        ("view", &view),
        ("page", &page),
        ("timeline", &timeline),
    ] {
        let [code, words] = match app.provider() {
            ProviderKind::Authy => ["60026", "User not found"],
            ProviderKind::Verify => ["20404", "was not found"],
        };
        for provider_words in [code, words, "refused by the provider"] {
            assert!(
                !text.contains(provider_words),
                "{what} shows {provider_words:?}: {text}"
            );
        }
    }
    // The detail is kept for whoever investigates.
    let (_, detail) = audit_rows(&app, &id, "push_sent")
        .await
        .pop()
        .expect("audit row");
    let words = match app.provider() {
        ProviderKind::Authy => "User not found",
        ProviderKind::Verify => "was not found",
    };
    assert!(detail.contains(words), "{detail}");
}

/// Every page of the list, following the cursors from `start` in one direction.
async fn walk(
    app: &TestApp,
    cookie: &str,
    start: payfriend::model::PaymentList,
    older: bool,
) -> Vec<Vec<String>> {
    let mut pages = vec![start];
    loop {
        let last = pages.last().expect("a page");
        let (field, cursor) = if older {
            ("before", last.older.clone())
        } else {
            ("after", last.newer.clone())
        };
        let Some(cursor) = cursor else { break };
        let next = app
            .client
            .post(app.url(ListPayments::PATH))
            .header("Cookie", cookie)
            .form(&[(field, cursor.as_str())])
            .send()
            .await
            .expect("page");
        assert_eq!(next.status(), 200);
        pages.push(next.json().await.expect("list"));
        assert!(pages.len() < 10, "the walk ends");
    }
    pages
        .into_iter()
        .map(|p| p.items.into_iter().map(|v| v.id.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn my_payments_pages_follow_cursors_both_ways_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    // 45 payments, many created in the same second: the id breaks the ties.
    for n in 0..45 {
        insert_pending_payment(
            &app.state,
            &user_id,
            100 + n,
            &uuid::Uuid::new_v4().to_string(),
        )
        .await;
    }
    sqlx::query(
        "UPDATE payments SET created_at = created_at - (amount_cents % 3) WHERE user_id = $1",
    )
    .bind(&user_id)
    .execute(&app.state.db)
    .await
    .expect("spread the times");
    let expected: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM payments WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(&user_id)
    .fetch_all(&app.state.db)
    .await
    .expect("ids");

    let first = app
        .client
        .post(app.url(ListPayments::PATH))
        .header("Cookie", &cookie)
        .form(&[("before", "")])
        .send()
        .await
        .expect("first page");
    assert_eq!(first.status(), 200);
    let first: payfriend::model::PaymentList = first.json().await.expect("list");
    assert_eq!(first.newer, None, "nothing is newer than the newest page");
    let older_pages = walk(&app, &cookie, first, true).await;
    assert_eq!(
        older_pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![20, 20, 5]
    );
    assert_eq!(
        older_pages.concat(),
        expected,
        "every payment once, newest first"
    );

    // And back from the oldest page: the same pages, newest first within each.
    let last_cursor = older_pages[1].last().expect("page 2 has items");
    let at: i64 = sqlx::query_scalar("SELECT created_at FROM payments WHERE id = $1")
        .bind(last_cursor)
        .fetch_one(&app.state.db)
        .await
        .expect("time");
    let oldest = app
        .client
        .post(app.url(ListPayments::PATH))
        .header("Cookie", &cookie)
        .form(&[("before", format!("{at}.{last_cursor}"))])
        .send()
        .await
        .expect("oldest page");
    let oldest: payfriend::model::PaymentList = oldest.json().await.expect("list");
    assert_eq!(oldest.older, None);
    let newer_pages = walk(&app, &cookie, oldest, false).await;
    let mut back: Vec<Vec<String>> = newer_pages;
    back.reverse();
    assert_eq!(back.concat(), expected);
}

// "Waiting for you": only the caller's payments still waiting for an answer, not those
// decided or past their expiry (which read as expired), nor anyone else's.
#[tokio::test]
async fn the_waiting_filter_lists_only_payments_still_waiting() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let (other, _) = verified_user(&app, "a password").await;
    let waiting = insert_pending_payment(&app.state, &user_id, 100, "uuid-waiting").await;
    let approved = insert_pending_payment(&app.state, &user_id, 200, "uuid-approved").await;
    let expired = insert_pending_payment(&app.state, &user_id, 300, "uuid-expired").await;
    insert_pending_payment(&app.state, &other, 400, "uuid-theirs").await;
    sqlx::query("UPDATE payments SET status = 'approved', decided_via = 'push' WHERE id = $1")
        .bind(&approved)
        .execute(&app.state.db)
        .await
        .expect("approve");
    expire_payment(&app, expired.as_str(), 1).await;

    let list = |waiting: bool| {
        let (app, cookie) = (&app, &cookie);
        async move {
            let response = app
                .client
                .post(app.url(ListPayments::PATH))
                .header("Cookie", cookie)
                .form(&[("waiting", waiting.to_string())])
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200);
            let list: payfriend::model::PaymentList = response.json().await.expect("list");
            list.items.into_iter().map(|p| p.id).collect::<Vec<_>>()
        }
    };

    assert_eq!(list(true).await, vec![waiting.clone()]);
    let all = list(false).await;
    assert_eq!(all.len(), 3);
    assert!(all.contains(&approved) && all.contains(&expired) && all.contains(&waiting));
}

async fn send_amount(app: &TestApp, cookie: &str, amount: &str) -> reqwest::Response {
    app.client
        .post(app.url(SendPayment::PATH))
        .header("Cookie", cookie)
        .form(&[
            ("payee", "Neville"),
            ("amount", amount),
            ("idempotency_key", &uuid::Uuid::new_v4().to_string()),
        ])
        .send()
        .await
        .expect("request")
}

// CURRENCY sets how amounts are typed and shown: whole yen, three decimals of dinar.
#[tokio::test]
async fn amounts_follow_the_configured_currency() {
    for (currency, typed, minor, shown, refused, why) in [
        ("JPY", "1,500", 1500, "¥1,500", "1500.5", "without decimals"),
        (
            "KWD",
            "1.234",
            1234,
            "KWD 1.234",
            "1.2345",
            "three decimals",
        ),
        ("EUR", "20.5", 2050, "€20.50", "20.505", "two decimals"),
    ] {
        let app = spawn_app_with(&[("CURRENCY", currency)]).await;
        let (user_id, email) = verified_user(&app, "a password").await;
        let cookie = log_in(&app, &email, "a password").await;

        let sent = send_amount(&app, &cookie, typed).await;
        assert_eq!(sent.status(), 200, "{currency}");
        let id = only_payment_id(&app, &user_id).await;
        let view: payfriend::model::PaymentView = get_payment(&app, &cookie, &id)
            .await
            .json()
            .await
            .expect("view");
        assert_eq!(view.amount, shown, "{currency}");
        let stored: (i64, String) =
            sqlx::query_as("SELECT amount_cents, currency FROM payments WHERE id = $1")
                .bind(&id)
                .fetch_one(&app.state.db)
                .await
                .expect("row");
        assert_eq!(stored, (minor, currency.to_string()));

        let bad = send_amount(&app, &cookie, refused).await;
        assert_eq!(bad.status(), 400, "{currency} {refused}");
        assert!(bad.text().await.expect("body").contains(why), "{currency}");
    }
}

#[tokio::test]
async fn an_unknown_currency_stops_start_up() {
    for code in ["XYZ", "XAU", "usd", "dollars"] {
        let vars = std::collections::HashMap::from([("CURRENCY", code)]);
        let err = payfriend::server::config::Config::from_lookup(|name| {
            vars.get(name).map(|v| v.to_string())
        })
        .expect_err(code);
        assert_eq!(err.var, "CURRENCY");
    }
}

#[tokio::test]
async fn every_step_of_a_payment_is_in_its_timeline_for_its_owner_only() {
    let app = spawn_app().await;
    let (owner_id, email) = verified_user(&app, "a password").await;
    let (_, other_email) = verified_user(&app, "other password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let other = log_in(&app, &other_email, "other password").await;
    crate::support::send_payment(&app, &cookie).await;
    let (id, uuid): (String, String) =
        sqlx::query_as("SELECT id, approval_uuid FROM payments WHERE user_id = $1")
            .bind(&owner_id)
            .fetch_one(&app.state.db)
            .await
            .expect("payment");
    crate::support::answer_on_phone(&app, &uuid, true).await;
    let timeline = |cookie: String| {
        app.client
            .post(app.url(payfriend::api::payments::PaymentTimeline::PATH))
            .header("Cookie", cookie)
            .form(&[("id", id.as_str())])
            .send()
    };

    let mine = timeline(cookie.clone()).await.expect("request");
    let theirs = timeline(other).await.expect("request");

    assert_eq!(mine.status(), 200);
    let body = mine.text().await.expect("body");
    let positions: Vec<usize> = ["payment_created", "push_sent", "\"callback\"", "decision"]
        .iter()
        .map(|event| {
            body.find(event)
                .unwrap_or_else(|| panic!("{event} missing from {body}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "events out of order: {body}"
    );
    assert_eq!(theirs.status(), 404);
    let sign_ins: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE event = 'sign_in' AND outcome = 'success' AND user_id = $1",
    )
    .bind(&owner_id)
    .fetch_one(&app.state.db)
    .await
    .expect("count");
    assert_eq!(sign_ins, 1);
}

/// The status poll and My payments read on the hot reads' own connections
/// (`db::readers`), which are given back without sqlx's ping: with every connection of
/// the app's pool taken, 32 polls and 32 lists at once are all answered, on no more
/// connections than the readers may open.
#[tokio::test]
async fn the_poll_and_my_payments_read_on_their_own_connections_while_the_pool_is_taken() {
    let app = spawn_app().await;
    let (owner_id, owner_email) = verified_user(&app, "owner password").await;
    let owner = log_in(&app, &owner_email, "owner password").await;
    send_payment(&app, &owner, &uuid::Uuid::new_v4().to_string()).await;
    let id = only_payment_id(&app, &owner_id).await;
    let pool = &app.state.db;
    let mut taken = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        taken.push(pool.acquire().await.expect("a pool connection"));
    }
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let (client, cookie, id) = (app.client.clone(), owner.clone(), id.clone());
            let (poll, list) = (app.url(GetPayment::PATH), app.url(ListPayments::PATH));
            tokio::spawn(async move {
                let request = if n % 2 == 0 {
                    client.post(poll).form(&[("id", id.as_str())])
                } else {
                    client.post(list).form(&[("waiting", "false")])
                };
                let answer = request.header("Cookie", cookie).send().await;
                answer.expect("answer").status()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task"), 200);
    }
    assert_eq!(
        pool.num_idle(),
        0,
        "the pool's connections were all taken throughout"
    );
    drop(taken);
    let readers = &app.state.readers;
    assert!(readers.opened() >= 1);
    assert!(
        readers.opened() <= readers.most() as u64,
        "opened {}, at most {}",
        readers.opened(),
        readers.most()
    );
}
