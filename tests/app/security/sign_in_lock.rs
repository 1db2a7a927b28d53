//! The sign-in lock: five wrong passwords in a row lock an email for a while, whatever the concurrency, known or not, at the cost of one verification each.

use std::sync::Arc;

use payfriend::testing::clock;
use payfriend::testing::db;

use crate::support::*;

#[tokio::test]
async fn forty_parallel_wrong_guesses_evaluate_at_most_five_and_then_sign_in_is_locked() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "1000/60")]).await;
    let (_, email) = verified_user(&app, "the right password").await;
    let before = app.state.passwords.verifications();
    let app = Arc::new(app);

    let mut tasks = Vec::new();
    for i in 0..40 {
        let (app, email) = (app.clone(), email.clone());
        tasks.push(tokio::spawn(async move {
            sign_in(&app, &email, &format!("wrong guess {i}"))
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }

    let evaluated = app.state.passwords.verifications() - before;
    assert!(evaluated <= 5, "{evaluated} guesses evaluated");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 0);
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 35);
    let right = sign_in(&app, &email, "the right password").await;
    assert_eq!(right.status(), 429, "locked, the right password included");
    assert_eq!(app.state.passwords.verifications() - before, evaluated);
}

#[tokio::test]
async fn the_right_password_in_a_parallel_burst_gets_in_only_within_the_first_five() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "1000/60")]).await;
    let (_, email) = verified_user(&app, "the right password").await;
    let app = Arc::new(app);
    let before = app.state.passwords.verifications();

    let mut tasks = Vec::new();
    for i in 0..40 {
        let (app, email) = (app.clone(), email.clone());
        let password = if i == 20 {
            "the right password".to_string()
        } else {
            format!("wrong guess {i}")
        };
        tasks.push(tokio::spawn(async move {
            sign_in(&app, &email, &password).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }

    // Five wrong passwords in a row are checked at most; the right one is checked (and gets
    // in) only if it is among them. Its success clears the count, so at most five more
    // wrong ones are checked after it. Every other attempt is refused without a check.
    let checked = app.state.passwords.verifications() - before;
    let successes = statuses.iter().filter(|s| **s == 200).count();
    match successes {
        0 => assert_eq!(checked, 5, "{statuses:?}"),
        1 => assert!(checked <= 10, "{checked} passwords were checked"),
        _ => panic!("the right password got in twice: {statuses:?}"),
    }
    assert!(
        statuses.iter().all(|s| [200, 401, 429].contains(s)),
        "{statuses:?}"
    );
    let wrong_checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        wrong_checked + successes <= usize::try_from(checked).expect("small"),
        "an attempt was answered as checked without a check: {statuses:?}"
    );
}

#[tokio::test]
async fn the_lock_lasts_login_lock_secs_and_ends() {
    let app = spawn_app_with(&[("LOGIN_LOCK_SECS", "120"), ("LIMIT_SIGN_IN", "1000/60")]).await;
    let (_, email) = verified_user(&app, "the right password").await;
    for left in (1..=4).rev() {
        let wrong = sign_in(&app, &email, "wrong password").await;
        assert_eq!(wrong.status(), 401);
        let body = wrong.text().await.expect("body");
        assert!(
            body.contains(&format!("\"attempts_left\":{left}")),
            "{body}"
        );
    }
    let fifth = sign_in(&app, &email, "wrong password").await;
    assert_eq!(fifth.status(), 429);
    assert_eq!(retry_after(&fifth), Some(120));
    let locked = sign_in(&app, &email, "the right password").await;
    assert_eq!(locked.status(), 429);
    let wait = retry_after(&locked).expect("Retry-After");
    assert!((118..=120).contains(&wait), "{wait}");
    let (_, until): (i64, Option<i64>) =
        sqlx::query_as("SELECT failures, locked_until FROM login_throttle WHERE email = $1")
            .bind(&email)
            .fetch_one(&app.state.db)
            .await
            .expect("lock");
    let length = until.expect("locked") - clock::now();
    assert!((118..=120).contains(&length), "{length}");

    // Two minutes later (the clock moved by rewriting the lock's end into the past):
    sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE email = $2")
        .bind(clock::now() - 1)
        .bind(&email)
        .execute(&app.state.db)
        .await
        .expect("time passes");
    let after = sign_in(&app, &email, "the right password").await;
    assert_eq!(after.status(), 200);
}

#[tokio::test]
async fn an_email_without_an_account_locks_the_same_way() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "1000/60")]).await;
    let before = app.state.passwords.verifications();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            sign_in(&app, "nobody@example.com", "a password")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 429, 429]);
    assert_eq!(
        app.state.passwords.verifications() - before,
        5,
        "one verification per evaluated attempt, none while locked"
    );
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_count_so_only_five_in_a_row_lock() {
    let app = spawn_app_with(&[("LIMIT_SIGN_IN", "1000/60")]).await;
    let (_, email) = verified_user(&app, "the right password").await;
    for _ in 0..4 {
        assert_eq!(sign_in(&app, &email, "wrong").await.status(), 401);
    }
    assert_eq!(
        sign_in(&app, &email, "the right password").await.status(),
        200
    );
    for _ in 0..4 {
        assert_eq!(sign_in(&app, &email, "wrong").await.status(), 401);
    }
    assert_eq!(
        sign_in(&app, &email, "the right password").await.status(),
        200
    );
}

#[tokio::test]
async fn known_and_unknown_emails_cost_one_verification_each() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "the right password").await;
    let count = || app.state.passwords.verifications();

    let start = count();
    assert_eq!(
        sign_in(&app, "nobody@example.com", "x password")
            .await
            .status(),
        401
    );
    let unknown = count() - start;
    let start = count();
    assert_eq!(sign_in(&app, &email, "x password").await.status(), 401);
    let known = count() - start;

    assert_eq!((unknown, known), (1, 1));
}

/// The sweep forgets quiet sign-in rows while sign-ins count attempts: a first attempt must
/// never read as a lock because its row was forgotten halfway (it once was: an insert, then
/// an update that found nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgetting_sign_in_rows_never_locks_a_first_attempt() {
    let app = spawn_app().await;
    let db = app.state.db.clone();
    let now = clock::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Everything unlocked counts as quiet here.
                db::throttle::forget_login_attempts(&db, now, now + 3600)
                    .await
                    .expect("forget");
            }
        })
    };
    let attempts: Vec<_> = (0..200)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let email = payfriend::model::Email::parse(&format!("first{i}@example.com"))
                    .expect("an address");
                db::throttle::take_login_attempt(&db, &email, 5, now, now + 900)
                    .await
                    .expect("count")
            })
        })
        .collect();
    for attempt in attempts {
        assert_eq!(attempt.await.expect("task"), Some(1));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sweeper.await.expect("sweeper");
}
