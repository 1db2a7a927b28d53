//! `POST /payments/callback`: signature, replay and time window checks, and the rule that
//! a payment is decided once.
use crate::support::*;
use payfriend::shared::authy_signature as signature;
use payfriend::testing::clock;

/// Sends `body` signed as Authy would, with `nonce`.
async fn send_signed(app: &TestApp, body: &str, nonce: &str) -> reqwest::Response {
    app.send_signed_callback(body, nonce).await
}

#[tokio::test]
async fn a_correctly_signed_approval_approves_the_payment() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;

    let response = send_signed(&app, &body(&p, "approved"), &clock::now().to_string()).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        status_of(&app, &p.payment_id).await,
        ("approved".into(), Some("push".into()))
    );
}

#[tokio::test]
async fn a_correctly_signed_denial_denies_the_payment() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;

    let response = send_signed(&app, &body(&p, "denied"), &clock::now().to_string()).await;

    assert_eq!(response.status(), 200);
    assert_eq!(status_of(&app, &p.payment_id).await.0, "denied");
}

#[tokio::test]
async fn callback_with_bad_signature_is_rejected() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let url = app.state.config.authy_callback_url.as_str().to_string();
    let nonce = clock::now().to_string();
    let forged =
        signature::sign("not-the-key", &nonce, "POST", &url, &body(&p, "approved")).expect("sign");

    let wrong_key = app
        .client
        .post(&url)
        .header("X-Authy-Signature", forged)
        .header("X-Authy-Signature-Nonce", &nonce)
        .body(body(&p, "approved"))
        .send()
        .await
        .expect("request");
    let missing = app
        .client
        .post(&url)
        .body(body(&p, "approved"))
        .send()
        .await
        .expect("request");

    assert_eq!(wrong_key.status(), 401);
    assert_eq!(missing.status(), 401);
    assert_eq!(status_of(&app, &p.payment_id).await.0, "pending");
}

#[tokio::test]
async fn a_tampered_body_is_rejected() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let url = app.state.config.authy_callback_url.as_str().to_string();
    let nonce = clock::now().to_string();
    let sig = signature::sign(
        app.state.config.authy_api_key.expose(),
        &nonce,
        "POST",
        &url,
        &body(&p, "denied"),
    )
    .expect("sign");

    let response = app
        .client
        .post(&url)
        .header("X-Authy-Signature", sig)
        .header("X-Authy-Signature-Nonce", &nonce)
        .body(body(&p, "approved"))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 401);
    assert_eq!(status_of(&app, &p.payment_id).await.0, "pending");
}

#[tokio::test]
async fn a_replayed_callback_is_rejected() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let nonce = clock::now().to_string();
    let first = send_signed(&app, &body(&p, "approved"), &nonce).await;

    let replay = send_signed(&app, &body(&p, "approved"), &nonce).await;

    assert_eq!(first.status(), 200);
    assert_eq!(replay.status(), 401);
}

#[tokio::test]
async fn a_stale_nonce_is_rejected() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;

    let old = send_signed(
        &app,
        &body(&p, "approved"),
        &(clock::now() - 301).to_string(),
    )
    .await;
    let future = send_signed(
        &app,
        &body(&p, "approved"),
        &(clock::now() + 301).to_string(),
    )
    .await;
    let words = send_signed(&app, &body(&p, "approved"), "yesterday").await;

    assert_eq!(old.status(), 401);
    assert_eq!(future.status(), 401);
    assert_eq!(words.status(), 401);
    assert_eq!(status_of(&app, &p.payment_id).await.0, "pending");
}

#[tokio::test]
async fn an_unknown_approval_request_is_404_after_the_signature_check() {
    let app = spawn_app().await;
    let mut p = pending_payment(&app).await;
    p.approval_uuid = uuid::Uuid::new_v4().to_string();

    let response = send_signed(&app, &body(&p, "approved"), &clock::now().to_string()).await;

    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_malformed_body_is_400() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let nonce = clock::now().to_string();

    let not_json = app
        .client
        .post(app.state.config.authy_callback_url.as_str())
        .header("X-Authy-Signature", "c2lnbmF0dXJl")
        .header("X-Authy-Signature-Nonce", &nonce)
        .body("{not json")
        .send()
        .await
        .expect("request");
    let no_uuid = send_signed(&app, r#"{"status": "approved"}"#, &nonce).await;
    let odd_status = send_signed(&app, &body(&p, "maybe"), &(clock::now() - 1).to_string()).await;

    assert_eq!(not_json.status(), 400);
    assert_eq!(no_uuid.status(), 400);
    assert_eq!(odd_status.status(), 400);
    assert_eq!(status_of(&app, &p.payment_id).await.0, "pending");
}

#[tokio::test]
async fn a_duplicate_decision_is_a_200_no_op() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let now = clock::now();
    send_signed(&app, &body(&p, "approved"), &now.to_string()).await;

    let again = send_signed(&app, &body(&p, "approved"), &(now - 1).to_string()).await;

    assert_eq!(again.status(), 200);
    assert_eq!(status_of(&app, &p.payment_id).await.0, "approved");
}

#[tokio::test]
async fn a_conflicting_later_decision_changes_nothing() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let now = clock::now();
    send_signed(&app, &body(&p, "approved"), &now.to_string()).await;

    let conflict = send_signed(&app, &body(&p, "denied"), &(now - 1).to_string()).await;

    assert_eq!(conflict.status(), 409);
    assert_eq!(status_of(&app, &p.payment_id).await.0, "approved");
    // Both callbacks are on the payment's trail; only the first decided it.
    let events: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT event, outcome, detail FROM audit_events WHERE payment_id = $1 \
         AND event IN ('callback', 'decision') ORDER BY at, id",
    )
    .bind(&p.payment_id)
    .fetch_all(&app.state.db)
    .await
    .expect("audit rows");
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(e, o, _)| (e.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("callback", "accepted"),
            ("decision", "approved"),
            ("callback", "accepted")
        ]
    );
    assert_eq!(events[1].2, "by push");
    assert!(events[2].2.contains("denied"), "{:?}", events[2]);
}

#[tokio::test]
async fn a_callback_after_expiry_does_not_approve() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    expire_payment(&app, p.payment_id.as_str(), 1).await;

    let response = send_signed(&app, &body(&p, "approved"), &clock::now().to_string()).await;

    assert_eq!(response.status(), 409);
    let (status, _) = status_of(&app, &p.payment_id).await;
    assert_ne!(status, "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_conflicting_callbacks_end_in_exactly_one_decision() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    let now = clock::now();

    let mut tasks = Vec::new();
    for i in 0..50i64 {
        let status = if i % 2 == 0 { "approved" } else { "denied" };
        let body = body(&p, status);
        // Distinct nonces within the window, so none is refused as a replay.
        let nonce = format!("{}.{i:03}", now);
        let url = app.state.config.authy_callback_url.to_string();
        let key = app.state.config.authy_api_key.expose().to_string();
        let client = app.client.clone();
        tasks.push(tokio::spawn(async move {
            let sig = signature::sign(&key, &nonce, "POST", &url, &body).expect("sign");
            let response = client
                .post(&url)
                .header("X-Authy-Signature", sig)
                .header("X-Authy-Signature-Nonce", &nonce)
                .body(body)
                .send()
                .await
                .expect("request");
            (status, response.status().as_u16())
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }

    let (final_status, _) = status_of(&app, &p.payment_id).await;
    assert!(final_status == "approved" || final_status == "denied");
    for (asked, code) in &results {
        if *asked == final_status {
            assert_eq!(*code, 200, "{asked} agreeing with the decision");
        } else {
            assert_eq!(*code, 409, "{asked} conflicting with the decision");
        }
    }
    let decided: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments WHERE id = $1 AND decided_at IS NOT NULL",
    )
    .bind(&p.payment_id)
    .fetch_one(&app.state.db)
    .await
    .expect("count");
    assert_eq!(decided, 1);
}

/// Callbacks arriving together are recorded many to a transaction: each still gets its own
/// answer (a replay 401, an unknown request 404, the first approval 200), and each payment
/// its decision and audit rows once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_recorded_together_each_get_their_own_answer() {
    let app = spawn_app().await;
    let mut payments = Vec::new();
    for _ in 0..10 {
        payments.push(pending_payment(&app).await);
    }
    let now = clock::now();
    let sender = app.callback_sender();
    let mut requests = Vec::new();
    for (i, p) in payments.iter().enumerate() {
        let nonce = format!("{now}.{i:03}");
        let approval = body(p, "approved");
        // The same signed approval twice: the second is a replay.
        requests.push((approval.clone(), nonce.clone(), "approval"));
        requests.push((approval, nonce, "approval"));
        let unknown = body(
            &Pending {
                payment_id: p.payment_id.clone(),
                approval_uuid: uuid::Uuid::new_v4().to_string(),
                authy_id: p.authy_id,
                email: String::new(),
                user_id: p.user_id.clone(),
            },
            "approved",
        );
        requests.push((unknown, format!("{now}.{:03}", 100 + i), "unknown"));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (body, nonce, kind) in requests {
        let sender = sender.clone();
        tasks.spawn(async move {
            let answer = sender.send(&body, &nonce).await;
            (nonce, kind, answer.status().as_u16())
        });
    }
    let mut answers = std::collections::HashMap::<String, Vec<u16>>::new();
    while let Some(done) = tasks.join_next().await {
        let (nonce, kind, status) = done.expect("task");
        if kind == "unknown" {
            assert_eq!(status, 404, "an unknown approval request");
        } else {
            answers.entry(nonce).or_default().push(status);
        }
    }
    assert_eq!(answers.len(), payments.len());
    for (nonce, mut statuses) in answers {
        statuses.sort();
        assert_eq!(
            statuses,
            vec![200, 401],
            "the approval with nonce {nonce} and its replay"
        );
    }
    for p in &payments {
        assert_eq!(status_of(&app, &p.payment_id).await.0, "approved");
        let events: Vec<(String, String)> = sqlx::query_as(
            "SELECT event, outcome FROM audit_events WHERE payment_id = $1 \
             AND event IN ('callback', 'decision') ORDER BY event",
        )
        .bind(&p.payment_id)
        .fetch_all(&app.state.db)
        .await
        .expect("audit rows");
        assert_eq!(
            events,
            vec![
                ("callback".to_string(), "accepted".to_string()),
                ("decision".to_string(), "approved".to_string())
            ]
        );
    }
}

/// On SQLite callbacks that wait together are recorded in one transaction; when that
/// transaction fails (here: a trigger refuses one payment's update), each callback is
/// recorded on its own, so the others still commit and only the bad one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_callback_in_a_group_does_not_fail_the_others() {
    use std::time::Duration;
    let dir = tempfile::tempdir().expect("dir");
    // On SQLite, whose trigger poisons one payment (PostgreSQL's grouping: `postgres::`).
    let url = format!("sqlite:{}", dir.path().join("group.db").display());
    let app = spawn_app_with(&[("DATABASE_URL", url.as_str())]).await;
    let recorder = app.state.callbacks.clone();
    let stats = recorder.stats();
    let first = pending_payment(&app).await;
    let good: Vec<Pending> = {
        let mut good = Vec::new();
        for _ in 0..20 {
            good.push(pending_payment(&app).await);
        }
        good
    };
    let poisoned = pending_payment(&app).await;
    sqlx::query(&format!(
        "CREATE TRIGGER poison BEFORE UPDATE ON payments WHEN OLD.approval_uuid = '{}' \
         BEGIN SELECT RAISE(ABORT, 'poisoned for the test'); END",
        poisoned.approval_uuid
    ))
    .execute(&app.state.db)
    .await
    .expect("trigger");

    // The database's write lock is held, so the callbacks wait: the first in a transaction
    // of its own, all the others queued behind it.
    let locker = payfriend::testing::db::connect(&url)
        .await
        .expect("another connection");
    let mut hold = locker.acquire().await.expect("connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *hold)
        .await
        .expect("lock");
    let sender = app.callback_sender();
    let now = clock::now();
    let send = |p: &Pending, n: usize| {
        let (sender, body, nonce) = (sender.clone(), body(p, "approved"), format!("{now}.{n:03}"));
        tokio::spawn(async move { sender.send(&body, &nonce).await.status().as_u16() })
    };
    let first_answer = send(&first, 0);
    let until_queued = |n: usize| {
        let recorder = recorder.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(10), async {
                while recorder.waiting() != n {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{n} callbacks queued"));
        }
    };
    // The first is taken (and waits for the lock) before the others arrive.
    tokio::time::timeout(Duration::from_secs(10), async {
        while stats.taken.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the first callback is taken");
    let mut answers: Vec<_> = good
        .iter()
        .enumerate()
        .map(|(i, p)| send(p, i + 1))
        .collect();
    answers.push(send(&poisoned, 99));
    until_queued(good.len() + 1).await;
    sqlx::query("ROLLBACK")
        .execute(&mut *hold)
        .await
        .expect("unlock");
    drop(hold);

    assert_eq!(first_answer.await.expect("task"), 200);
    let poisoned_answer = answers.pop().expect("poisoned").await.expect("task");
    assert_eq!(
        poisoned_answer, 503,
        "the bad callback is refused, to be sent again"
    );
    for answer in answers {
        assert_eq!(answer.await.expect("task"), 200);
    }
    assert!(
        stats.largest.load(std::sync::atomic::Ordering::Relaxed) > good.len(),
        "the queued callbacks went in one group"
    );
    assert_eq!(
        stats.fallbacks.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // Two groups: the first callback's, and the queued ones' (its fallback included), each
    // waiting for the lock, so each took time to write.
    let (groups, micros) = stats.written();
    assert_eq!(groups, 2);
    assert!(micros > 0);
    for p in good.iter().chain([&first]) {
        assert_eq!(status_of(&app, &p.payment_id).await.0, "approved");
    }
    assert_eq!(status_of(&app, &poisoned.payment_id).await.0, "pending");
}

#[tokio::test]
async fn the_sweeper_marks_unanswered_payments_expired() {
    let app = spawn_app().await;
    let p = pending_payment(&app).await;
    expire_payment(&app, p.payment_id.as_str(), 10).await;

    payfriend::testing::domain::payments::expire_due(&app.state).await;

    assert_eq!(status_of(&app, &p.payment_id).await.0, "expired");
}

/// A writer keeps its connection only while callbacks are queued: once they are answered,
/// the writer pool's one SQLite connection is free for the other writes that need it (a
/// decision by code, passkey or cancel).
#[tokio::test]
async fn the_writer_connection_is_given_back_once_the_queue_is_empty() {
    let app = spawn_app().await;
    let mut payments = Vec::new();
    for _ in 0..4 {
        payments.push(pending_payment(&app).await);
    }
    let now = clock::now();
    let sender = app.callback_sender();
    let answers: Vec<_> = payments
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (sender, body, nonce) =
                (sender.clone(), body(p, "approved"), format!("{now}.{i:03}"));
            tokio::spawn(async move { sender.send(&body, &nonce).await.status().as_u16() })
        })
        .collect();
    for answer in answers {
        assert_eq!(answer.await.expect("task"), 200);
    }
    let taken = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        app.state.writer.acquire(),
    )
    .await;
    assert!(
        matches!(taken, Ok(Ok(_))),
        "the writer's connection is back in its pool"
    );
}

/// While callbacks keep coming, the writer still gives its connection back after a bounded
/// run of groups (`HOLD_AT_MOST`), so a write waiting for the writer pool's one SQLite
/// connection (a decision by code, passkey or cancel) gets it with callbacks still queued.
/// Two hundred tasks keep the queue full: a group takes at most 64, and on this test's one
/// thread a group's answered tasks send again only while the next group is written, so the
/// queue is never empty when the writer takes from it.
#[tokio::test]
async fn a_write_waiting_for_the_writer_connection_gets_it_while_callbacks_keep_coming() {
    use payfriend::model::PaymentStatus;
    use payfriend::testing::db::payments::{PushCallback, PushOutcome};
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };
    use std::time::Duration;
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:{}", dir.path().join("hold.db").display());
    let app = spawn_app_with(&[("DATABASE_URL", url.as_str())]).await;
    let p = pending_payment(&app).await;
    let approved = send_signed(&app, &body(&p, "approved"), &clock::now().to_string()).await;
    assert_eq!(approved.status(), 200);
    let recorder = app.state.callbacks.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let now = clock::now();
    let senders: Vec<_> = (0..200)
        .map(|task| {
            let (recorder, stop, uuid) = (recorder.clone(), stop.clone(), p.approval_uuid.clone());
            tokio::spawn(async move {
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) {
                    let outcome = recorder
                        .record(PushCallback {
                            nonce: format!("{now}.{task:03}{sent:06}"),
                            signature: format!("signature-{task}-{sent}"),
                            approval_uuid: uuid.clone(),
                            status: PaymentStatus::Approved,
                            detail: "push approved".into(),
                            now,
                        })
                        .await;
                    assert!(
                        matches!(outcome, Ok(PushOutcome::AlreadyDecided(_))),
                        "{outcome:?}"
                    );
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    // The flood is on: the writer has been through more runs than one.
    tokio::time::timeout(Duration::from_secs(10), async {
        while recorder.stats().written().0 < 40 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("groups written");

    let taken = tokio::time::timeout(Duration::from_secs(10), app.state.writer.acquire()).await;
    let queued = recorder.waiting();
    drop(taken_connection(taken));
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        assert!(sender.await.expect("task") > 0);
    }
    assert!(queued > 0, "callbacks were still queued");
}

/// The connection a test waited for, or why it did not come.
fn taken_connection<C, E: std::fmt::Debug>(
    taken: Result<Result<C, E>, tokio::time::error::Elapsed>,
) -> C {
    match taken {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => panic!("the writer pool refused: {e:?}"),
        Err(_) => panic!("the writer's connection did not come back while callbacks kept coming"),
    }
}
