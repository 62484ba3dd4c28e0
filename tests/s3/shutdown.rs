//! Connection-level behaviour: graceful shutdown (a request in flight when
//! the signal comes completes; new connections are refused afterwards) and
//! the body idle timeout.

use crate::common::Server;
use http::{HeaderMap, Method};
use imgbucket::auth::sign;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn in_flight_request_finishes_during_shutdown() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let addr = s.addr;
    let body = b"0123456789";
    let uri = s.uri("/bkt/slow");
    let mut h = HeaderMap::new();
    h.insert("content-length", "10".parse().unwrap());
    sign::sign_v4_request(
        &Method::PUT,
        &uri,
        &mut h,
        &sign::payload_sha256(body),
        &s.creds,
        SystemTime::now(),
    )
    .unwrap();
    let mut head = String::from("PUT /bkt/slow HTTP/1.1\r\n");
    for (k, v) in &h {
        head.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap()));
    }
    head.push_str("\r\n");

    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..5]).await.unwrap();
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

    conn.write_all(&body[5..]).await.unwrap();
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut resp))
        .await
        .unwrap()
        .unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .unwrap()
        .unwrap();
}

/// Sends a signed PUT head announcing 10 bytes and only the first 5.
async fn half_sent_put(s: &Server, path: &str) -> tokio::net::TcpStream {
    let body = b"0123456789";
    let uri = s.uri(path);
    let mut h = HeaderMap::new();
    h.insert("content-length", "10".parse().unwrap());
    sign::sign_v4_request(
        &Method::PUT,
        &uri,
        &mut h,
        &sign::payload_sha256(body),
        &s.creds,
        SystemTime::now(),
    )
    .unwrap();
    let mut head = format!("PUT {path} HTTP/1.1\r\n");
    for (k, v) in &h {
        head.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..5]).await.unwrap();
    conn
}

#[tokio::test]
async fn stalled_body_times_out() {
    let limits = imgbucket::config::Limits {
        body_idle_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let s = Server::start_custom(None, limits).await;
    s.mb("bkt").await;
    let mut conn = half_sent_put(&s, "/bkt/stalled").await;
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut resp))
        .await
        .unwrap()
        .unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("<Code>RequestTimeout</Code>"), "{resp}");
    s.get("/bkt/stalled").await.expect_error(404, "NoSuchKey");
}
