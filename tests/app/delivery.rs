//! How answers travel: pages compressed as the browser accepts, small answers as they are,
//! built assets cached for good when their names carry a hash and revalidated otherwise.

use leptos::server_fn::ServerFn;
use payfriend::api::payments::GetPayment;

use crate::common::{
    insert_pending_payment, log_in, spawn_app, spawn_app_with, verified_user, TestApp,
};

async fn get(app: &TestApp, path: &str, encodings: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(e) = encodings {
        request = request.header("Accept-Encoding", e);
    }
    request.send().await.expect("request")
}

fn encoding(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn pages_are_compressed_as_the_browser_accepts() {
    let app = spawn_app().await;
    let plain = get(&app, "/", None).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(encoding(&plain), None);
    let plain_bytes = plain.bytes().await.expect("body").len();

    let br = get(&app, "/", Some("br, gzip")).await;
    assert_eq!(encoding(&br), Some("br"));
    let br_bytes = br.bytes().await.expect("body").len();
    assert!(
        br_bytes * 2 < plain_bytes,
        "brotli: {br_bytes} bytes of {plain_bytes}"
    );

    let gzip = get(&app, "/", Some("gzip")).await;
    assert_eq!(encoding(&gzip), Some("gzip"));
}

#[tokio::test]
async fn the_status_poll_answer_is_too_small_to_compress() {
    let app = spawn_app().await;
    let (user_id, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;
    let id = insert_pending_payment(&app.state, &user_id, 2000, "uuid-1").await;
    let answer = app
        .client
        .post(app.url(GetPayment::PATH))
        .header("Cookie", &cookie)
        .header("Accept-Encoding", "br, gzip")
        .form(&[("id", id.as_str())])
        .send()
        .await
        .expect("poll");
    assert_eq!(answer.status(), 200);
    assert_eq!(encoding(&answer), None);
}

/// An app serving a site root with one stylesheet in `pkg/`.
async fn app_with_site(hashed: &str) -> (TestApp, tempfile::TempDir) {
    let site = tempfile::tempdir().expect("site dir");
    std::fs::create_dir_all(site.path().join("pkg")).expect("pkg dir");
    std::fs::write(
        site.path().join("pkg/app.css"),
        "body { color: black }\n".repeat(200),
    )
    .expect("css");
    let root = site.path().display().to_string();
    let app = spawn_app_with(&[
        ("LEPTOS_SITE_ROOT", root.as_str()),
        ("LEPTOS_HASH_FILES", hashed),
    ])
    .await;
    (app, site)
}

fn cache_control(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn built_assets_with_hashed_names_are_kept_for_good() {
    let (app, _site) = app_with_site("true").await;
    let css = get(&app, "/pkg/app.css", None).await;
    assert_eq!(css.status(), 200);
    assert_eq!(cache_control(&css), "public, max-age=31536000, immutable");
    // Pages are never cached, whatever the assets do.
    let page = get(&app, "/", None).await;
    assert_eq!(cache_control(&page), "no-store");
}

#[tokio::test]
async fn built_assets_with_plain_names_are_revalidated() {
    let (app, _site) = app_with_site("false").await;
    let css = get(&app, "/pkg/app.css", None).await;
    assert_eq!(css.status(), 200);
    assert_eq!(cache_control(&css), "no-cache");
    let missing = get(&app, "/pkg/none.css", None).await;
    assert_eq!(missing.status(), 404);
    assert_ne!(
        cache_control(&missing),
        "public, max-age=31536000, immutable"
    );
}
