//! Connection-level behaviour: graceful shutdown (a request in flight when
//! the signal comes completes; new connections are refused afterwards),
//! the body idle timeout, the header-read timeout (which also closes idle
//! keep-alive connections) and the connection limit (`[http]`).

use crate::common::{harness, Options, Server};
use http::{HeaderMap, Method};
use imgbucket::auth::sign;
use imgbucket::config::ConnectionOptions;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn in_flight_request_finishes_during_shutdown() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let addr = s.addr;
    let mut conn = half_sent_put(&s, "/bkt/slow").await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = tokio::spawn(s.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stopping.is_finished(),
        "the server must wait for the request in flight"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connections while draining"
    );

    conn.write_all(&BODY[5..]).await.unwrap();
    let resp = read_to_close(conn).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .unwrap()
        .unwrap();
}

/// The body [`half_sent_put`] announces.
const BODY: &[u8] = b"0123456789";

/// Sends a signed PUT head announcing the 10 bytes of [`BODY`] and only the
/// first 5.
async fn half_sent_put(s: &Server, path: &str) -> tokio::net::TcpStream {
    let mut h = HeaderMap::new();
    h.insert("content-length", "10".parse().unwrap());
    let hash = sign::payload_sha256(BODY);
    sign::sign_v4_request(
        &Method::PUT,
        &s.uri(path),
        &mut h,
        &hash,
        &s.creds,
        SystemTime::now(),
    )
    .unwrap();
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = harness::raw_head("PUT", path, &h);
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&BODY[..5]).await.unwrap();
    conn
}

/// Everything the server writes until it closes the connection (5 s at
/// most).
async fn read_to_close(mut conn: tokio::net::TcpStream) -> String {
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut resp))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&resp).into_owned()
}

#[tokio::test]
async fn stalled_body_times_out() {
    let limits = imgbucket::config::Limits {
        body_idle_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let s = Server::start_with(Options {
        limits,
        ..Options::default()
    })
    .await;
    s.mb("bkt").await;
    let conn = half_sent_put(&s, "/bkt/stalled").await;
    let resp = read_to_close(conn).await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("<Code>RequestTimeout</Code>"), "{resp}");
    s.get("/bkt/stalled").await.expect_error(404, "NoSuchKey");
}

/// A server whose connections get `header_read_timeout` and at most
/// `max_connections` (0: no limit).
async fn with_connections(header_read_timeout: Duration, max_connections: usize) -> Server {
    Server::start_with(Options {
        connections: ConnectionOptions {
            grace: Duration::from_secs(5),
            header_read_timeout,
            max_connections,
        },
        ..Options::default()
    })
    .await
}

/// How long the server takes to close `conn`, reading (and returning)
/// whatever it writes first.
async fn time_to_close(conn: tokio::net::TcpStream) -> (Duration, String) {
    let started = std::time::Instant::now();
    let text = read_to_close(conn).await;
    (started.elapsed(), text)
}

const LIVE: &[u8] = b"GET /-/health/live HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn a_request_head_sent_too_slowly_closes_the_connection() {
    let s = with_connections(Duration::from_millis(400), 0).await;
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(b"GET /-/health/live HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    let (waited, text) = time_to_close(conn).await;
    assert!(
        waited >= Duration::from_millis(300),
        "closed after {waited:?}"
    );
    assert!(!text.contains("200 OK"), "{text}");
    // The server keeps serving.
    s.anon_get("/-/health/live").await.expect(200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let s = with_connections(Duration::from_millis(400), 0).await;
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(LIVE).await.unwrap();
    // The response arrives, the connection stays open for the next
    // request, and is closed once none comes within the timeout.
    let (waited, text) = time_to_close(conn).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        waited >= Duration::from_millis(300),
        "closed after {waited:?}"
    );
}

#[tokio::test]
async fn a_connection_over_the_limit_is_answered_slow_down() {
    let s = with_connections(Duration::from_secs(30), 2).await;
    let held: Vec<_> = [
        tokio::net::TcpStream::connect(s.addr).await.unwrap(),
        tokio::net::TcpStream::connect(s.addr).await.unwrap(),
    ]
    .into();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    third.write_all(LIVE).await.unwrap();
    let (_, text) = time_to_close(third).await;
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("<Code>SlowDown</Code>"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert_eq!(s.state.metrics.connections_refused.get(), 1);
    assert_eq!(s.state.metrics.connections_open.get(), 2);

    // A slot frees when a held connection closes.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    fourth.write_all(LIVE).await.unwrap();
    let mut buf = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), fourth.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
}
