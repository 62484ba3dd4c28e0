//! The operator's endpoints under `/-/` (docs/operations.md): the health
//! probes answer without credentials, readiness follows the store.

use crate::common::{Options, Server};
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
    fn update_object_attrs(&self, bucket: &str, key: &str, attrs: ObjectAttrs) -> Result<ObjectMeta>;
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
