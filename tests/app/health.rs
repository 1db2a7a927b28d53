//! The health check and the app's start-up.
use crate::common::spawn_app;

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

/// Answers on a kept-alive connection come at once: without `TCP_NODELAY`, a server-
/// rendered page (streamed in several writes) often waited for the client's delayed ACK,
/// about 40 ms, against a few ms on a new connection. A regression guard, not a benchmark:
/// it compares slow answers on one reused connection with those on fresh connections
/// (which the machine's load slows just as much).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_on_a_reused_connection_do_not_wait_for_delayed_acks() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let addr = app.base_url.trim_start_matches("http://").to_string();
    let request = format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n");
    // One whole answer (headers, then a Content-Length or chunked body), read as curl
    // reads it; never waits more than 10 s.
    async fn answer(stream: &mut tokio::net::TcpStream, request: &str) -> std::time::Duration {
        let started = std::time::Instant::now();
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut seen = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let complete = |seen: &[u8]| -> bool {
            let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
                return false;
            };
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let body = &seen[end + 4..];
            match head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                Some(length) => body.len() >= length,
                None => body.ends_with(b"0\r\n\r\n"),
            }
        };
        while !complete(&seen) {
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf));
            let Ok(n) = read.await else {
                panic!(
                    "no whole answer within 10 s; got {:?}",
                    String::from_utf8_lossy(&seen)
                );
            };
            let n = n.expect("read");
            assert!(
                n > 0,
                "connection closed after {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
        assert!(
            seen.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&seen[..seen.len().min(300)])
        );
        started.elapsed()
    }
    let slow = std::time::Duration::from_millis(40);
    let mut reused = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let (mut slow_reused, mut slow_fresh) = (0, 0);
    let mut times = Vec::new();
    for _ in 0..40 {
        let took = answer(&mut reused, &request).await;
        slow_reused += usize::from(took >= slow);
        let mut fresh = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        let took_fresh = answer(&mut fresh, &request).await;
        slow_fresh += usize::from(took_fresh >= slow);
        times.push((took, took_fresh));
    }
    assert!(
        slow_reused < slow_fresh + 4,
        "{slow_reused} of 40 answers on a reused connection took 40 ms or more \
         ({slow_fresh} on fresh ones): {times:?}"
    );
}
