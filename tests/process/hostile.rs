//! Hostile processing requests (issue #13): each is refused with its
//! dialect's error before any pixel is decoded, or stopped when its client
//! hangs up or its deadline passes, and an ordinary thumbnail still works
//! right after.

use crate::common::*;
use imgbucket::config::ProcessingConfig;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const B: &str = "hostile";

async fn server(processing: ProcessingConfig) -> Server {
    let s = Server::with_processing(processing).await;
    s.mb_public(B).await;
    s.upload(B, "small.jpg", &jpeg(&halves(64, 64), 90), "image/jpeg")
        .await;
    s
}

async fn thumbnail_still_works(s: &Server) {
    s.anon_get(&format!("/{B}/small.jpg?x-oss-process=image/resize,w_32"))
        .await
        .expect(200);
}

/// A GIF with a 100×100 screen and one 16000×15000 frame (a few bytes).
fn gif_frame_bomb() -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&100u16.to_le_bytes());
    out.extend_from_slice(&100u16.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&16_000u16.to_le_bytes());
    out.extend_from_slice(&15_000u16.to_le_bytes());
    out.extend_from_slice(&[0, 2, 2, 0x4C, 0x01, 0, 0x3B]);
    out
}

#[tokio::test]
async fn too_many_operations_are_refused_in_every_dialect() {
    let s = server(ProcessingConfig::default()).await;
    // COS: one imageMogr2 stage repeating blur 100 times.
    let started = Instant::now();
    let mogr = format!("imageMogr2{}", "/blur/50x50".repeat(100));
    let r = s.anon_get(&format!("/{B}/small.jpg?{mogr}")).await;
    r.cos_error(400, Some("-106"));
    // OSS: 33 actions (32 documented).
    let oss = format!("image{}", "/blur,r_50,s_50".repeat(33));
    let r = s
        .anon_get(&format!("/{B}/small.jpg?x-oss-process={oss}"))
        .await;
    r.oss_error(400, "TooManyPipe");
    // US3: 21 stages.
    let us3 = vec!["iopcmd=rotate&rotate=90"; 21].join("%7C");
    s.anon_get(&format!("/{B}/small.jpg?{us3}"))
        .await
        .us3_error(400);
    // Refused by the parser: no image work at all.
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(s.state.images.process.stats().busy, 0);
    thumbnail_still_works(&s).await;
}

#[tokio::test]
async fn over_budget_requests_are_refused_before_decoding() {
    // A budget one blur of a 400×300 image fits in, but not ten.
    let one = 400 * 300 * imaging::budget::blur_weight(50);
    let s = server(ProcessingConfig {
        work_budget: 3 * one,
        ..ProcessingConfig::default()
    })
    .await;
    s.upload(B, "p.jpg", &jpeg(&halves(400, 300), 90), "image/jpeg")
        .await;
    s.anon_get(&format!("/{B}/p.jpg?x-oss-process=image/blur,r_50,s_50"))
        .await
        .expect(200);
    let ten = format!("image{}", "/blur,r_50,s_50".repeat(10));
    let r = s.anon_get(&format!("/{B}/p.jpg?x-oss-process={ten}")).await;
    r.oss_error(400, "ImageTooLarge");
    assert!(r.xml("Message").unwrap().contains("estimated work"));
    let mogr = format!("imageMogr2{}", "/blur/50x50".repeat(10));
    s.anon_get(&format!("/{B}/p.jpg?{mogr}"))
        .await
        .cos_error(400, Some("-447"));
    // ignore-error: the source, untouched.
    let r = s
        .anon_get(&format!("/{B}/p.jpg?{mogr}/ignore-error/1"))
        .await;
    r.expect(200);
    assert_eq!(r.dims(), (400, 300));
    thumbnail_still_works(&s).await;
}

#[tokio::test]
async fn output_and_frame_bombs_are_refused() {
    let s = server(ProcessingConfig::default()).await;
    let started = Instant::now();
    let r = s
        .anon_get(&format!(
            "/{B}/small.jpg?x-oss-process=image/resize,m_pad,w_16384,h_16384,limit_0"
        ))
        .await;
    r.oss_error(400, "ImageTooLarge");
    // Refused before any pixel: by the output limit, or by the memory
    // estimate, which sees the same 16384² canvas first.
    let message = r.xml("Message").unwrap();
    assert!(
        message.contains("output pixels") || message.contains("estimated memory"),
        "{message}"
    );
    s.upload(B, "bomb.gif", &gif_frame_bomb(), "image/gif")
        .await;
    for q in [
        "x-oss-process=image/resize,w_50",
        "x-oss-process=image/info",
    ] {
        s.anon_get(&format!("/{B}/bomb.gif?{q}"))
            .await
            .oss_error(400, "ImageTooLarge");
    }
    s.anon_get(&format!("/{B}/bomb.gif?imageMogr2/thumbnail/50x"))
        .await
        .cos_error(400, Some("-447"));
    // Refused from headers: nothing was allocated or decoded.
    assert!(started.elapsed() < Duration::from_secs(2));
    thumbnail_still_works(&s).await;
}

/// A heavy request that stays within its limits: 30 wide blurs of a
/// 2000×2000 image, seconds of work.
async fn heavy(s: &Server) -> String {
    s.upload(B, "big.jpg", &jpeg(&halves(2000, 2000), 80), "image/jpeg")
        .await;
    format!(
        "/{B}/big.jpg?x-oss-process=image{}",
        "/blur,r_50,s_50".repeat(30)
    )
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_client_hanging_up_stops_its_job() {
    let s = server(ProcessingConfig {
        concurrency: 1,
        work_budget: u64::MAX,
        job_timeout_secs: 0,
        ..ProcessingConfig::default()
    })
    .await;
    let path = heavy(&s).await;
    let stats = || s.state.images.process.stats();
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr);
    conn.write_all(req.as_bytes()).await.unwrap();
    // The job holds the pool's only slot...
    wait_for("the job to start", || stats().busy == 1).await;
    // ...until its client hangs up.
    let hung_up = Instant::now();
    drop(conn);
    wait_for("the job to stop", || stats().busy == 0).await;
    let freed = hung_up.elapsed();
    assert_eq!(stats().cancelled, 1);
    // The bar is 1 s; the band checkpoint makes it milliseconds.
    assert!(freed < Duration::from_secs(1), "slot freed after {freed:?}");
    thumbnail_still_works(&s).await;
}

#[tokio::test]
async fn a_job_past_its_deadline_is_answered_503() {
    let s = server(ProcessingConfig {
        work_budget: u64::MAX,
        job_timeout_secs: 1,
        ..ProcessingConfig::default()
    })
    .await;
    let path = heavy(&s).await;
    let started = Instant::now();
    let r = s.anon_get(&path).await;
    r.oss_error(503, "ServiceUnavailable");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(s.state.images.process.stats().timed_out, 1);
    // A raw client still gets a well-formed answer, and the pool is free.
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!(
        "GET /{B}/small.jpg?x-oss-process=image/resize,w_32 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.addr
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut head = vec![0; 12];
    conn.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
}

#[tokio::test]
async fn error_messages_never_echo_raw_control_bytes() {
    let s = server(ProcessingConfig::default()).await;
    let r = s
        .anon_get(&format!(
            "/{B}/small.jpg?x-oss-process=image/resize,w_%00%01"
        ))
        .await;
    r.oss_error(400, "InvalidArgument");
    let doc = r.text();
    assert!(!doc.contains('\0') && !doc.contains('\u{1}'), "{doc:?}");
    assert!(doc.contains('\u{FFFD}'), "{doc}");
    let r = s
        .anon_get(&format!("/{B}/small.jpg?imageMogr2/thumbnail/%00x"))
        .await;
    r.cos_error(400, Some("-106"));
    assert!(!r.text().contains('\0'));
}
