//! Connection-level behaviour: graceful shutdown (a request in flight when
//! the signal comes completes; new connections are refused afterwards) and
//! the body idle timeout.

use crate::common::{harness, Options, Server};
use http::{HeaderMap, Method};
use imgbucket::auth::sign;
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
