//! How answers travel: pages compressed as the browser accepts, small answers as they are,
//! built assets cached for good when their names carry a hash and revalidated otherwise.

use leptos::server_fn::ServerFn;
use payfriend::api::payments::GetPayment;

use crate::support::{
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
    // What cargo-leptos writes beside the server binary (here beside the site).
    let hashes = site.path().join("hash.txt");
    std::fs::write(&hashes, "js: j\nwasm: w\ncss: c\n").expect("hash list");
    let root = site.path().display().to_string();
    let hashes = hashes.display().to_string();
    let app = spawn_app_with(&[
        ("LEPTOS_SITE_ROOT", root.as_str()),
        ("LEPTOS_HASH_FILES", hashed),
        ("LEPTOS_HASH_FILE_NAME", hashes.as_str()),
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

/// The page a request renders keeps its own headers while files are served beside it: its
/// security policy (with the nonce its scripts carry), its status; a file gets none of
/// them. (leptos_axum's file handler looked up "the current response" through whatever
/// reactive owner the worker thread had last run and moved that page's headers onto the
/// file: under load, now and then a page went out with the file policy and its scripts
/// blocked.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_keep_their_own_headers_while_files_are_served_beside_them() {
    let (app, _site) = app_with_site("false").await;
    let (_, email) = verified_user(&app, "a password").await;
    let cookie = log_in(&app, &email, "a password").await;

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..240 {
        let client = app.client.clone();
        let (path, with_cookie) = match n % 5 {
            0 => ("/payments/new", true),
            1 => ("/no-such-page", true),
            _ => ("/pkg/app.css", false),
        };
        let url = app.url(path);
        let cookie = cookie.clone();
        tasks.spawn(async move {
            let mut request = client.get(url).header("Accept-Encoding", "br");
            if with_cookie {
                request = request.header("Cookie", cookie);
            }
            let answer = request.send().await.expect("request");
            let status = answer.status().as_u16();
            let policy = answer
                .headers()
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (path, status, policy)
        });
    }
    let mut seen = 0;
    while let Some(answer) = tasks.join_next().await {
        let (path, status, policy) = answer.expect("task");
        seen += 1;
        match path {
            "/pkg/app.css" => {
                assert_eq!(status, 200);
                assert_eq!(
                    policy, "default-src 'none'; frame-ancestors 'none'",
                    "{path}"
                );
            }
            page => {
                let expected = if page == "/no-such-page" { 404 } else { 200 };
                assert_eq!(status, expected, "{page}");
                assert!(
                    policy.contains("'nonce-"),
                    "{page} lost its policy: {policy}"
                );
            }
        }
    }
    assert_eq!(seen, 240);
}
