//! Admission under memory and queue limits (issue #17): a job over the
//! whole memory budget gets its dialect's "too large" error; with every
//! slot taken, a full queue and a wait past `queue_timeout_secs` are
//! answered 503 `SlowDown` in the dialect's envelope, and nothing hangs.

use crate::common::*;
use imgbucket::config::ProcessingConfig;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const B: &str = "admission";

async fn server(processing: ProcessingConfig) -> Server {
    let s = Server::with_processing(processing).await;
    s.mb_public(B).await;
    s.upload(B, "small.jpg", &jpeg(&halves(64, 64), 90), "image/jpeg")
        .await;
    s.upload(B, "big.jpg", &jpeg(&halves(2000, 2000), 80), "image/jpeg")
        .await;
    s
}

/// Seconds of work on big.jpg (30 wide blurs), within every limit.
fn heavy() -> String {
    format!(
        "/{B}/big.jpg?x-oss-process=image{}",
        "/blur,r_50,s_50".repeat(30)
    )
}

/// One slot, no deadline, no work limit: the heavy job holds the slot for
/// seconds, until its client hangs up.
fn one_slot(queue_depth: usize, queue_timeout_secs: u64) -> ProcessingConfig {
    ProcessingConfig {
        concurrency: 1,
        work_budget: u64::MAX,
        job_timeout_secs: 0,
        queue_depth,
        queue_timeout_secs,
        ..ProcessingConfig::default()
    }
}

/// Starts the heavy job on a raw connection and waits until it runs;
/// dropping the stream cancels it.
async fn hold_the_slot(s: &Server) -> tokio::net::TcpStream {
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", heavy(), s.addr);
    conn.write_all(req.as_bytes()).await.unwrap();
    wait_for(|| s.state.images.process.stats().busy == 1).await;
    conn
}

async fn wait_for(mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn metrics(s: &Server) -> String {
    s.anon_get("/-/metrics").await.expect(200).text()
}

#[tokio::test]
async fn a_full_queue_is_answered_slow_down_in_each_dialect() {
    let s = server(one_slot(0, 60)).await;
    let held = hold_the_slot(&s).await;
    // The running job has reserved its estimate.
    assert!(s.state.images.process.stats().memory_in_use > 16_000_000);
    let started = Instant::now();
    s.anon_get(&format!("/{B}/small.jpg?x-oss-process=image/resize,w_32"))
        .await
        .oss_error(503, "SlowDown");
    let code = s
        .anon_get(&format!("/{B}/small.jpg?imageMogr2/thumbnail/31x"))
        .await
        .cos_error(503, None);
    assert_eq!(code, "SlowDown");
    s.anon_get(&format!("/{B}/small.jpg?iopcmd=thumbnail&type=4&width=30"))
        .await
        .us3_error(503);
    // Refused without waiting.
    assert!(started.elapsed() < Duration::from_secs(2));
    let m = metrics(&s).await;
    assert!(
        m.contains("imgbucket_processing_refused_total{reason=\"queue_full\"} 3"),
        "{m}"
    );
    drop(held);
    wait_for(|| s.state.images.process.stats().busy == 0).await;
    assert_eq!(s.state.images.process.stats().memory_in_use, 0);
    s.anon_get(&format!("/{B}/small.jpg?x-oss-process=image/resize,w_32"))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_wait_past_queue_timeout_is_answered_slow_down() {
    let s = server(one_slot(8, 1)).await;
    let held = hold_the_slot(&s).await;
    let started = Instant::now();
    let r = s
        .anon_get(&format!("/{B}/small.jpg?x-oss-process=image/resize,w_33"))
        .await;
    let waited = started.elapsed();
    r.oss_error(503, "SlowDown");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(s.state.images.process.stats().queued, 0);
    let m = metrics(&s).await;
    assert!(
        m.contains("imgbucket_processing_refused_total{reason=\"queue_timeout\"} 1"),
        "{m}"
    );
    drop(held);
    wait_for(|| s.state.images.process.stats().busy == 0).await;
    s.anon_get(&format!("/{B}/small.jpg?x-oss-process=image/resize,w_33"))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_job_over_the_whole_memory_budget_gets_the_dialects_too_large_error() {
    // 12 MiB: a thumbnail fits; big.jpg converted whole (16 MB of RGBA
    // before the PNG encoder's needs) does not.
    let s = server(ProcessingConfig {
        memory_budget: 12 << 20,
        ..ProcessingConfig::default()
    })
    .await;
    s.anon_get(&format!("/{B}/big.jpg?x-oss-process=image/resize,w_100"))
        .await
        .expect(200);
    let started = Instant::now();
    let r = s
        .anon_get(&format!("/{B}/big.jpg?x-oss-process=image/format,png"))
        .await;
    r.oss_error(400, "ImageTooLarge");
    assert!(r.xml("Message").unwrap().contains("estimated memory"));
    s.anon_get(&format!("/{B}/big.jpg?imageMogr2/format/png"))
        .await
        .cos_error(400, Some("-447"));
    s.anon_get(&format!("/{B}/big.jpg?iopcmd=convert&dst=png"))
        .await
        .us3_error(400);
    // Refused from the header, before decoding.
    assert!(started.elapsed() < Duration::from_secs(2));
    let m = metrics(&s).await;
    assert!(
        m.contains("imgbucket_processing_refused_total{reason=\"too_large\"} 3"),
        "{m}"
    );
    assert!(
        m.contains("imgbucket_processing_memory_budget_bytes 12582912"),
        "{m}"
    );
}
