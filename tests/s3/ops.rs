//! The operator's endpoints under `/-/` (docs/monitoring.md,
//! docs/operations.md): the health probes answer without credentials,
//! readiness follows the store.

use crate::common::{Options, Server, SECRET_KEY};
use async_trait::async_trait;
use imgbucket::config::HealthConfig;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use storage::{
    BucketInfo, ByteRange, ByteStream, CannedAcl, CompletedPart, ListPage, ListQuery,
    MultipartUpload, ObjectAttrs, ObjectMeta, ObjectWriter, PartSpan, PartsPage, Precondition,
    Result, Store, UploadsPage, UploadsQuery,
};

/// A store whose metadata reads fail while `down` is set (a disk gone
/// read-error, a backend away).
struct Flaky {
    inner: Arc<dyn Store>,
    down: Arc<AtomicBool>,
}

/// `impl Store for Flaky`: every method passes straight through, except
/// `system_doc` (what readiness reads), which fails while down.
macro_rules! flaky_store {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        #[async_trait]
        impl Store for Flaky {
            async fn system_doc(&self, name: &str) -> Result<Option<Vec<u8>>> {
                if self.down.load(Ordering::SeqCst) {
                    return Err(storage::Error::Io(std::io::Error::other("disk on fire")));
                }
                self.inner.system_doc(name).await
            }
            $(async fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.inner.$name($($arg),*).await
            })*
        }
    };
}

flaky_store! {
    fn create_bucket(&self, name: &str, acl: CannedAcl, owner: &str) -> Result<BucketInfo>;
    fn bucket(&self, name: &str) -> Result<BucketInfo>;
    fn list_buckets(&self) -> Result<Vec<BucketInfo>>;
    fn delete_bucket(&self, name: &str) -> Result<()>;
    fn set_bucket_acl(&self, name: &str, acl: CannedAcl) -> Result<()>;
    fn put_bucket_setting(&self, bucket: &str, name: &str, value: Option<Vec<u8>>) -> Result<()>;
    fn bucket_setting(&self, bucket: &str, name: &str) -> Result<Option<Vec<u8>>>;
    fn list_bucket_settings(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    fn put_system_doc(&self, name: &str, value: Option<Vec<u8>>) -> Result<()>;
    fn list_system_docs(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    fn object_writer(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>>;
    fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta>;
    fn part_span(&self, bucket: &str, key: &str, part_number: u32) -> Result<(ObjectMeta, Option<PartSpan>)>;
    fn get_object(&self, bucket: &str, key: &str, range: Option<ByteRange>) -> Result<(ObjectMeta, ByteStream)>;
    fn delete_object(&self, bucket: &str, key: &str) -> Result<bool>;
    fn update_object_attrs(&self, bucket: &str, key: &str, attrs: ObjectAttrs, precondition: &Precondition) -> Result<ObjectMeta>;
    fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<ListPage>;
    fn create_multipart_upload(&self, bucket: &str, key: &str, attrs: ObjectAttrs) -> Result<String>;
    fn part_writer(&self, bucket: &str, key: &str, upload_id: &str, part_number: u32) -> Result<Box<dyn ObjectWriter>>;
    fn list_parts(&self, bucket: &str, key: &str, upload_id: &str, marker: u32, max: usize) -> Result<PartsPage>;
    fn complete_multipart_upload_if(&self, bucket: &str, key: &str, upload_id: &str, parts: &[CompletedPart], min: u64, pre: &Precondition) -> Result<ObjectMeta>;
    fn abort_multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()>;
    fn multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<MultipartUpload>;
    fn list_multipart_uploads(&self, bucket: &str, query: &UploadsQuery) -> Result<UploadsPage>;
}

/// A server over a store that can be taken down, with readiness asked on
/// every probe (no remembered answer).
async fn flaky_server() -> (Server, Arc<AtomicBool>) {
    let down = Arc::new(AtomicBool::new(false));
    let flag = down.clone();
    let server = Server::start_with(Options {
        wrap_store: Some(Box::new(move |inner| Arc::new(Flaky { inner, down: flag }))),
        health: HealthConfig {
            ready_cache_ms: 0,
            ..HealthConfig::default()
        },
        ..Options::default()
    })
    .await;
    (server, down)
}

#[tokio::test]
async fn health_probes_answer_without_credentials() {
    let s = Server::start().await;
    let live = s.anon_get("/-/health/live").await;
    live.expect(200);
    assert_eq!(live.json()["status"], "ok");
    assert_eq!(live.header("cache-control"), Some("no-store"));
    let ready = s.anon_get("/-/health/ready").await;
    ready.expect(200);
    assert_eq!(ready.json()["checks"]["store"]["ok"], true);
    // Signed requests get the same answer; other methods do not.
    s.get("/-/health/ready").await.expect(200);
    s.anon("PUT", "/-/health/ready", &[], "").await.expect(405);
    // Near misses are not endpoints (and not buckets).
    s.anon_get("/-/health").await.expect(404);
    s.anon_get("/-/health/live/x").await.expect(404);
}

#[tokio::test]
async fn ready_follows_the_store() {
    let (s, down) = flaky_server().await;
    s.anon_get("/-/health/ready").await.expect(200);
    down.store(true, Ordering::SeqCst);
    let r = s.anon_get("/-/health/ready").await;
    r.expect(503);
    let body = r.json();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["store"]["ok"], false);
    assert!(
        body["checks"]["store"]["error"]
            .as_str()
            .unwrap()
            .contains("disk on fire"),
        "{body}"
    );
    // The process still serves: live stays 200.
    s.anon_get("/-/health/live").await.expect(200);
    down.store(false, Ordering::SeqCst);
    s.anon_get("/-/health/ready").await.expect(200);
}

#[tokio::test]
async fn ready_answers_are_remembered_for_the_cache_period() {
    let down = Arc::new(AtomicBool::new(false));
    let flag = down.clone();
    let s = Server::start_with(Options {
        wrap_store: Some(Box::new(move |inner| Arc::new(Flaky { inner, down: flag }))),
        health: HealthConfig {
            ready_cache_ms: 60_000,
            ..HealthConfig::default()
        },
        ..Options::default()
    })
    .await;
    s.anon_get("/-/health/ready").await.expect(200);
    down.store(true, Ordering::SeqCst);
    // Within the period the store is not asked again.
    s.anon_get("/-/health/ready").await.expect(200);
}

/// The value of the sample `name{labels}` (labels as the text format
/// writes them, in order) in an exposition text; 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (s, v) = l.rsplit_once(' ')?;
            (s == series).then(|| v.parse().unwrap())
        })
        .unwrap_or(0.0)
}

async fn scrape(s: &Server) -> String {
    let r = s.anon_get("/-/metrics").await;
    r.expect(200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    r.text()
}

#[tokio::test]
async fn metrics_move_with_requests() {
    let s = Server::start().await;
    s.mb("met").await;
    let before = scrape(&s).await;
    s.put("/met/a.txt", "hello").await.expect(200);
    for _ in 0..3 {
        s.get("/met/a.txt").await.expect(200);
    }
    s.get("/met/missing").await.expect(404);
    let jpeg = crate::common::jpeg(&crate::common::halves(64, 48), 90);
    s.upload("met", "p.jpg", &jpeg, "image/jpeg").await;
    let thumb = s.get("/met/p.jpg?x-oss-process=image/resize,w_16").await;
    thumb.expect(200);
    // The same variant again: from the cache.
    s.get("/met/p.jpg?x-oss-process=image/resize,w_16")
        .await
        .expect(200);
    // A COS job with another output, and an info answer.
    s.get("/met/p.jpg?imageMogr2/thumbnail/8x/format/png")
        .await
        .expect(200);
    s.get("/met/p.jpg?iopcmd=imageinfo").await.expect(200);
    // The access line and its metrics are written once the body is sent.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let after = scrape(&s).await;
    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(
        moved(r#"imgbucket_requests_total{op="GetObject",status="2xx"}"#),
        3.0
    );
    assert_eq!(
        moved(r#"imgbucket_requests_total{op="GetObject",status="4xx"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"imgbucket_requests_total{op="PutObject",status="2xx"}"#),
        2.0
    );
    assert!(moved(r#"imgbucket_request_duration_seconds_count{family="image"}"#) >= 2.0);
    assert!(moved("imgbucket_received_bytes_total") >= (5 + jpeg.len()) as f64);
    assert!(moved("imgbucket_sent_bytes_total") >= (15 + 2 * thumb.body.len()) as f64);
    assert_eq!(moved("imgbucket_image_jobs_started_total"), 3.0);
    assert_eq!(
        moved(r#"imgbucket_image_jobs_ended_total{result="completed"}"#),
        3.0
    );
    for (dialect, output) in [("oss", "jpeg"), ("cos", "png"), ("us3", "info")] {
        let series = format!(
            r#"imgbucket_image_job_duration_seconds_count{{dialect="{dialect}",output="{output}"}}"#
        );
        assert_eq!(moved(&series), 1.0, "{series}");
    }
    assert_eq!(moved("imgbucket_variant_cache_misses_total"), 3.0);
    assert_eq!(moved("imgbucket_variant_cache_hits_total"), 1.0);
    assert!(sample(&after, "imgbucket_variant_cache_bytes") > 0.0);
    // The thumbnail is small: its hit came from memory.
    assert_eq!(moved("imgbucket_variant_cache_memory_hits_total"), 1.0);
    assert!(sample(&after, "imgbucket_variant_cache_memory_bytes") > 0.0);
    assert_eq!(sample(&after, "imgbucket_processing_queued"), 0.0);
    assert!(sample(&after, "imgbucket_processing_slots") >= 1.0);
    // The scrape before this one was counted as a request too.
    assert!(moved(r#"imgbucket_requests_total{op="Metrics",status="2xx"}"#) >= 1.0);
    assert!(sample(&after, "process_resident_memory_bytes") > 1e6);
    assert!(sample(&after, "process_open_fds") >= 3.0);
}

#[tokio::test]
async fn metrics_token_is_asked_when_set() {
    let s = Server::start_with(Options {
        metrics: imgbucket::config::MetricsConfig {
            token: Some("scrape-me-0123456789".into()),
        },
        ..Options::default()
    })
    .await;
    s.anon_get("/-/metrics")
        .await
        .expect_error(403, "AccessDenied");
    s.anon("GET", "/-/metrics", &[("authorization", "Bearer nope")], "")
        .await
        .expect_error(403, "AccessDenied");
    let r = s
        .anon(
            "GET",
            "/-/metrics",
            &[("authorization", "Bearer scrape-me-0123456789")],
            "",
        )
        .await;
    r.expect(200);
    assert!(r.text().contains("# TYPE imgbucket_requests_total counter"));
    // The health probes stay open.
    s.anon_get("/-/health/ready").await.expect(200);
}

/// A log writer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide log capture: a global subscriber, installed once.
/// (A scoped `set_default` misses events when other tests run in
/// parallel: callsite interest is cached process-wide.) Every test's
/// lines land here, so each assertion looks for this test's own bucket.
fn captured_log() -> &'static Captured {
    static CAPTURE: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

#[tokio::test]
async fn access_log_redacts_credentials() {
    let captured = captured_log();
    let s = Server::start().await;
    s.mb("redaction-logs").await;
    s.put("/redaction-logs/a.txt", "hello").await.expect(200);
    let presigned = "/redaction-logs/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIDTESTIMGBUCKET%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=5ec1e75ec1e75ec1e75ec1e75ec1e75ec1e75ec1e75ec1e75ec1e75ec1e75ec1";
    s.anon("GET", presigned, &[("user-agent", "ops-test/1.0")], "")
        .await;
    s.anon(
        "GET",
        "/redaction-logs/a.txt?OSSAccessKeyId=LTAIOSSKEY&Expires=9999999999&Signature=0SSs1gnatur3",
        &[],
        "",
    )
    .await;
    s.anon(
        "GET",
        "/redaction-logs/a.txt",
        &[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDTESTIMGBUCKET/20260101/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=a17hs1gnatur3a17hs1gnatur3",
        )],
        "",
    )
    .await;
    s.get("/redaction-logs/a.txt").await.expect(200);
    s.anon_get("/-/health/live").await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in [
        "5ec1e75ec1e7",
        "AKIDTESTIMGBUCKET%2F",
        "0SSs1gnatur3",
        "LTAIOSSKEY",
        "a17hs1gnatur3",
        SECRET_KEY,
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    assert!(log.contains("X-Amz-Signature=REDACTED"), "{log}");
    assert!(log.contains("X-Amz-Credential=REDACTED"), "{log}");
    assert!(
        log.contains("OSSAccessKeyId=REDACTED&Expires=9999999999&Signature=REDACTED"),
        "{log}"
    );
    // The signed GET names its user, bucket, status and size.
    let line = log
        .lines()
        .find(|l| {
            l.contains("caller=admin")
                && l.contains("op=GetObject")
                && l.contains("bucket=redaction-logs")
        })
        .unwrap_or_else(|| panic!("no signed GetObject line:\n{log}"));
    for field in [
        "bucket=redaction-logs",
        "status=200",
        "bytes_out=5",
        "client=127.0.0.1",
    ] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
    assert!(log.contains("user_agent=ops-test/1.0"), "{log}");
    // Probes are logged at debug, not info.
    let probe = log.lines().find(|l| l.contains("op=HealthLive")).unwrap();
    assert!(probe.contains("DEBUG"), "{probe}");
}
