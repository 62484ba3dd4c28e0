//! What a plain read costs the metadata store: a GET or HEAD of an object
//! in a bucket without image settings reads no bucket setting for image
//! processing (the front door knows the settings from memory), while a
//! bucket that gains settings through the API has them applied at once.
//!
//! The store is wrapped in a counter of `bucket_setting` reads, the only
//! call the image layer makes to learn a bucket's separators and source
//! protection.
#![allow(clippy::unwrap_used)]

#[path = "common/harness.rs"]
mod harness;

use async_trait::async_trait;
use bytes::Bytes;
use imgbucket::auth::sign::Credentials;
use imgbucket::config::Limits;
use imgbucket::front::{AppState, S3Config};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use storage::{
    BucketInfo, ByteRange, ByteStream, CannedAcl, CompletedPart, ListPage, ListQuery,
    MultipartUpload, ObjectAttrs, ObjectMeta, ObjectWriter, PartsPage, Precondition, Result, Store,
    UploadsPage, UploadsQuery,
};

const ACCESS_KEY: &str = "AKIDTESTIMGBUCKET";
const SECRET_KEY: &str = "test/secret/key/for/imgbucket";

/// A store that counts the bucket-setting reads it serves.
struct Counting {
    inner: Arc<dyn Store>,
    setting_reads: AtomicUsize,
}

/// `impl Store for Counting`: every method passes straight through to
/// the inner store, except `bucket_setting`, which counts first.
macro_rules! counting_store {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        #[async_trait]
        impl Store for Counting {
            async fn bucket_setting(&self, bucket: &str, name: &str) -> Result<Option<Vec<u8>>> {
                self.setting_reads.fetch_add(1, Ordering::SeqCst);
                self.inner.bucket_setting(bucket, name).await
            }
            $(async fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.inner.$name($($arg),*).await
            })*
        }
    };
}

counting_store! {
    fn create_bucket(&self, name: &str, acl: CannedAcl) -> Result<BucketInfo>;
    fn bucket(&self, name: &str) -> Result<BucketInfo>;
    fn list_buckets(&self) -> Result<Vec<BucketInfo>>;
    fn delete_bucket(&self, name: &str) -> Result<()>;
    fn set_bucket_acl(&self, name: &str, acl: CannedAcl) -> Result<()>;
    fn put_bucket_setting(&self, bucket: &str, name: &str, value: Option<Vec<u8>>) -> Result<()>;
    fn list_bucket_settings(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    fn object_writer(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>>;
    fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta>;
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

struct Fixture {
    store: Arc<Counting>,
    server: harness::Spawned,
    creds: Credentials,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let embedded = storage::embedded::EmbeddedStore::open(dir.path()).unwrap();
        let store = Arc::new(Counting {
            inner: Arc::new(embedded),
            setting_reads: AtomicUsize::new(0),
        });
        let config = S3Config {
            region: "us-east-1".into(),
            domain: None,
            limits: Limits::default(),
        };
        let state = AppState::new(
            store.clone(),
            config,
            &[(ACCESS_KEY.to_string(), SECRET_KEY.to_string())],
        );
        Fixture {
            store,
            server: harness::spawn(Arc::new(state)).await,
            creds: Credentials::new(ACCESS_KEY, SECRET_KEY, "us-east-1"),
            _dir: dir,
        }
    }

    async fn req(&self, method: &str, path: &str, body: &'static [u8]) -> harness::Resp {
        harness::send_v4(
            &self.server.client,
            self.server.addr,
            &self.creds,
            SystemTime::now(),
            method,
            path,
            &[],
            Bytes::from_static(body),
        )
        .await
    }

    async fn anon(&self, method: &str, path: &str) -> harness::Resp {
        harness::send_anon(
            &self.server.client,
            self.server.addr,
            method,
            path,
            &[],
            Bytes::new(),
        )
        .await
    }

    fn setting_reads(&self) -> usize {
        self.store.setting_reads.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn plain_reads_cost_no_setting_read() {
    let f = Fixture::start().await;
    assert_eq!(f.req("PUT", "/plain", b"").await.status, 200);
    assert_eq!(f.req("PUT", "/plain/a.txt", b"hello").await.status, 200);
    let before = f.setting_reads();
    for _ in 0..20 {
        let r = f.req("GET", "/plain/a.txt", b"").await;
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"hello");
        assert_eq!(f.req("HEAD", "/plain/a.txt", b"").await.status, 200);
    }
    // The bucket's settings are read once, by the first GET, and known
    // from memory after that.
    let first = f.setting_reads() - before;
    assert!(first <= 1, "{first} setting reads for 40 plain reads");
    for _ in 0..20 {
        assert_eq!(f.req("GET", "/plain/a.txt", b"").await.status, 200);
    }
    assert_eq!(
        f.setting_reads() - before,
        first,
        "a warm GET read a setting"
    );
}

#[tokio::test]
async fn settings_written_through_the_api_apply_at_once() {
    let f = Fixture::start().await;
    assert_eq!(
        f.req("PUT", "/pub", b"").await.status,
        200,
        "create the bucket"
    );
    let acl = harness::send_v4(
        &f.server.client,
        f.server.addr,
        &f.creds,
        SystemTime::now(),
        "PUT",
        "/pub?acl",
        &[("x-amz-acl", "public-read")],
        Bytes::new(),
    )
    .await;
    assert_eq!(acl.status, 200, "{}", acl.text());
    assert_eq!(
        f.req("PUT", "/pub/a.jpg", b"not an image").await.status,
        200
    );
    // Known (and cached) as unprotected.
    assert_eq!(f.anon("GET", "/pub/a.jpg").await.status, 200);
    let r = f
        .req(
            "PUT",
            "/pub?x-imgbucket-image-config",
            br#"{"protect_source": true}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The very next anonymous read is refused.
    assert_eq!(f.anon("GET", "/pub/a.jpg").await.status, 403);
    let r = f.req("DELETE", "/pub?x-imgbucket-image-config", b"").await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(f.anon("GET", "/pub/a.jpg").await.status, 200);
    // A bucket deleted and created again starts without settings.
    let r = f
        .req(
            "PUT",
            "/pub?x-imgbucket-image-config",
            br#"{"protect_source": true}"#,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(f.req("DELETE", "/pub/a.jpg", b"").await.status, 204);
    assert_eq!(f.req("DELETE", "/pub", b"").await.status, 204);
    assert_eq!(f.req("PUT", "/pub", b"").await.status, 200);
    let r = f.req("GET", "/pub?x-imgbucket-image-config", b"").await;
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("\"protect_source\":false"),
        "{}",
        r.text()
    );
}
