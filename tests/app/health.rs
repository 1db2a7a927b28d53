//! The health check and the app's start-up.
use crate::support::spawn_app;

#[tokio::test]
async fn health_check_answers_200_when_the_database_answers() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "ok");
}

#[tokio::test]
async fn health_check_answers_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.db.close().await;

    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn the_start_page_is_server_rendered() {
    let app = spawn_app().await;

    let response = app.client.get(app.url("/")).send().await.expect("request");

    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("body");
    assert!(body.contains("Payments you approve on your phone"));
    assert!(
        body.contains("/pkg/payfriend.js"),
        "hydration script is linked"
    );
}

#[tokio::test]
async fn an_unknown_page_is_a_404() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/no-such-page"))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn migrations_create_the_tables_on_first_start() {
    let app = spawn_app().await;

    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.state.db)
        .await
        .expect("users table exists");

    assert_eq!(count, 0);
}

/// Every accepted connection has `TCP_NODELAY`: without it, a server-rendered page (written
/// in several segments) on a kept-alive connection waited for the client's delayed ACK,
/// about 40 ms. The socket option is checked itself; timing answers on a busy 2-core
/// machine proved nothing either way.
#[tokio::test]
async fn accepted_connections_send_without_delay() {
    use axum::serve::Listener as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let mut listener = payfriend::server::without_delay(listener);
    let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (accepted, _) = listener.accept().await;
    assert!(accepted.nodelay().expect("socket option"));
}
