//! Pages as a browser without JavaScript gets them: everything a page shows is in the HTML
//! the server sends, not in chunks streamed afterwards for a script to swap in.

use crate::support::*;

/// The text of the page's `<nav>` element.
fn navigation(html: &str) -> &str {
    let start = html.find("<nav").expect("a navigation");
    let end = html[start..].find("</nav>").expect("the navigation ends") + start;
    &html[start..end]
}

/// Fetches `path` `times` times at once and returns each body.
async fn fetch_concurrently(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    times: usize,
) -> Vec<String> {
    let requests = (0..times).map(|_| {
        let path = path.to_string();
        let mut request = app.client.get(app.url(&path));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        tokio::spawn(async move {
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 200, "{path}");
            response.text().await.expect("body")
        })
    });
    let mut bodies = Vec::new();
    for task in requests.collect::<Vec<_>>() {
        bodies.push(task.await.expect("task"));
    }
    bodies
}

// The navigation reads who is signed in; streamed out of order, its links would arrive in a
// `<template>` that only a script moves into place, and a reader without JavaScript would
// find no way to log in. Under load the race shows: many requests at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_is_in_the_first_html_for_visitors() {
    let app = spawn_app().await;

    for path in ["/", "/register", "/login"] {
        for html in fetch_concurrently(&app, path, None, 48).await {
            let nav = navigation(&html);
            assert!(
                nav.contains(r#"href="/login""#),
                "{path}: no Log in link in {nav}"
            );
            assert!(
                nav.contains(r#"href="/register""#),
                "{path}: no Register link in {nav}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_is_in_the_first_html_when_signed_in() {
    let app = spawn_app().await;
    let (_, email) = verified_user(&app, "correct horse battery").await;
    let cookie = log_in(&app, &email, "correct horse battery").await;

    for path in ["/", "/register", "/login", "/payments/new", "/payments"] {
        for html in fetch_concurrently(&app, path, Some(&cookie), 16).await {
            let nav = navigation(&html);
            assert!(
                nav.contains(&email),
                "{path}: who is signed in is missing from {nav}"
            );
            assert!(nav.contains("Log out"), "{path}: no Log out in {nav}");
        }
    }
}

// The waiting page as the server renders it, many at once: the status, the countdown from
// the server's clock and the way out are all in the HTML (a view that read the payment
// before its answer arrived would render none of them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_page_is_whole_in_the_first_html() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "correct horse battery").await;
    let cookie = log_in(&app, &email, "correct horse battery").await;
    let id = insert_pending_payment(&app.state, &user_id, 1234, "uuid-of-the-request").await;

    for html in fetch_concurrently(&app, &format!("/payments/{id}"), Some(&cookie), 48).await {
        assert!(
            html.contains(r#"class="badge pending">Pending"#),
            "no status in {html}"
        );
        assert!(
            html.contains("The request expires in"),
            "no countdown in {html}"
        );
        assert!(html.contains("Cancel payment"), "no way out in {html}");
        assert!(
            html.contains("<title>Neville: Pending · Payfriend</title>"),
            "title in {html}"
        );
    }
}
