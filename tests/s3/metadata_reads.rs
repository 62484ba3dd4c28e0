//! What a plain read costs the metadata store: a GET or HEAD of an object
//! in a bucket without image settings reads no bucket setting for image
//! processing (the front door knows the settings from memory), while a
//! bucket that gains settings through the API has them applied at once.
//!
//! The store is wrapped in a counter of `bucket_setting` reads, the only
//! call the image layer makes to learn a bucket's separators and source
//! protection.

use crate::common::{Options, Server};
use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use storage::{
    BucketInfo, ByteRange, ByteStream, CannedAcl, CompletedPart, ListPage, ListQuery,
    MultipartUpload, ObjectAttrs, ObjectMeta, ObjectWriter, PartSpan, PartsPage, Precondition,
    Result, Store, UploadsPage, UploadsQuery,
};

/// A store that counts the bucket-setting reads it serves.
struct Counting {
    inner: Arc<dyn Store>,
    setting_reads: Arc<AtomicUsize>,
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
    fn create_bucket(&self, name: &str, acl: CannedAcl, owner: &str) -> Result<BucketInfo>;
    fn bucket(&self, name: &str) -> Result<BucketInfo>;
    fn list_buckets(&self) -> Result<Vec<BucketInfo>>;
    fn delete_bucket(&self, name: &str) -> Result<()>;
    fn set_bucket_acl(&self, name: &str, acl: CannedAcl) -> Result<()>;
    fn put_bucket_setting(&self, bucket: &str, name: &str, value: Option<Vec<u8>>) -> Result<()>;
    fn list_bucket_settings(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    fn system_doc(&self, name: &str) -> Result<Option<Vec<u8>>>;
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

/// A server over a counting store, and its count of setting reads.
async fn start() -> (Server, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let counter = reads.clone();
    let server = Server::start_with(Options {
        wrap_store: Some(Box::new(move |inner| {
            Arc::new(Counting {
                inner,
                setting_reads: counter,
            })
        })),
        ..Options::default()
    })
    .await;
    (server, reads)
}

#[tokio::test]
async fn plain_reads_cost_no_setting_read() {
    let (s, reads) = start().await;
    s.mb("plain").await;
    s.put("/plain/a.txt", "hello").await.expect(200);
    let before = reads.load(Ordering::SeqCst);
    for _ in 0..20 {
        let r = s.get("/plain/a.txt").await;
        r.expect(200);
        assert_eq!(&r.body[..], b"hello");
        s.head("/plain/a.txt").await.expect(200);
    }
    // The bucket's settings are read once, by the first GET, and known
    // from memory after that.
    let first = reads.load(Ordering::SeqCst) - before;
    assert!(first <= 1, "{first} setting reads for 40 plain reads");
    for _ in 0..20 {
        s.get("/plain/a.txt").await.expect(200);
    }
    assert_eq!(
        reads.load(Ordering::SeqCst) - before,
        first,
        "a warm GET read a setting"
    );
}

#[tokio::test]
async fn settings_written_through_the_api_apply_at_once() {
    let (s, _) = start().await;
    s.mb_public("pub").await;
    s.put("/pub/a.jpg", "not an image").await.expect(200);
    // Known (and kept in memory) as unprotected.
    s.anon_get("/pub/a.jpg").await.expect(200);
    s.image_config("pub", r#"{"protect_source": true}"#)
        .await
        .expect(200);
    // The very next anonymous read is refused.
    s.anon_get("/pub/a.jpg").await.expect(403);
    s.delete("/pub?x-imgbucket-image-config").await.expect(204);
    s.anon_get("/pub/a.jpg").await.expect(200);
    // A bucket deleted and created again starts without settings.
    s.image_config("pub", r#"{"protect_source": true}"#)
        .await
        .expect(200);
    s.delete("/pub/a.jpg").await.expect(204);
    s.delete("/pub").await.expect(204);
    s.mb_public("pub").await;
    s.put("/pub/a.jpg", "again").await.expect(200);
    s.anon_get("/pub/a.jpg").await.expect(200);
    let r = s.get("/pub?x-imgbucket-image-config").await;
    r.expect(200);
    assert!(
        r.text().contains("\"protect_source\":false"),
        "{}",
        r.text()
    );
}
