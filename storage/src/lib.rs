//! imgbucket's storage engine: buckets, objects and multipart uploads.
//!
//! This crate knows nothing of HTTP, signatures or images. The protocol layer
//! turns requests into calls on the [`Store`] trait; the embedded
//! implementation ([`embedded::EmbeddedStore`]) keeps metadata on sled (behind
//! the narrow [`meta::MetaStore`] trait, the only place that imports sled) and
//! object bytes in files written durably (temp file → fsync → rename → fsync
//! directory → commit metadata).
//!
//! Writes are two-phase: [`Store::object_writer`] returns an [`ObjectWriter`]
//! that the caller feeds chunk by chunk (so a multi-GB body is never held in
//! memory), then commits with the attributes only known at the end of the body
//! (trailer checksums, say). Dropping a writer without committing discards
//! everything it wrote: no partial object is ever visible.

pub mod crc64;
pub mod embedded;
pub mod error;
pub mod meta;
mod record;
pub mod types;

pub use embedded::EmbeddedStore;

pub use error::{Error, Result};
pub use types::*;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;

/// A stream of object bytes, as read from or written to a store.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// The storage engine seen by the protocol layer.
///
/// Every method is a complete, atomic operation: when it returns `Ok`, the
/// change is durable (survives `kill -9`); when it returns `Err` or the future
/// is dropped, nothing of the change is visible.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ----- buckets -------------------------------------------------------

    /// Creates a bucket owned by `owner` (a canonical user id; empty for
    /// the admin). `Error::BucketAlreadyOwnedByYou` if it exists, whoever
    /// owns it. Name validation is the caller's job (a protocol rule).
    async fn create_bucket(&self, name: &str, acl: CannedAcl, owner: &str) -> Result<BucketInfo>;
    /// `Error::NoSuchBucket` if absent.
    async fn bucket(&self, name: &str) -> Result<BucketInfo>;
    /// All buckets, sorted by name.
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>>;
    /// `Error::BucketNotEmpty` while objects remain. Removes the bucket's
    /// settings documents too, and aborts its open multipart uploads (as
    /// AWS does), parts included.
    async fn delete_bucket(&self, name: &str) -> Result<()>;
    async fn set_bucket_acl(&self, name: &str, acl: CannedAcl) -> Result<()>;

    /// Per-bucket settings documents, opaque to storage (styles, style
    /// separators, source protection...). `name` is a path-like key such as
    /// `style/thumb100`; `None` deletes. `Error::NoSuchBucket` if absent.
    async fn put_bucket_setting(
        &self,
        bucket: &str,
        name: &str,
        value: Option<Vec<u8>>,
    ) -> Result<()>;
    /// `Ok(None)` when the bucket exists but the setting does not.
    async fn bucket_setting(&self, bucket: &str, name: &str) -> Result<Option<Vec<u8>>>;
    /// Settings whose name starts with `prefix`, sorted by name.
    async fn list_bucket_settings(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>>;

    /// Where part `part_number` (from 1) of `bucket/key` lies, with the
    /// object's metadata; `None` when the object has no such part. An
    /// object not made by a multipart upload has one part, itself.
    async fn part_span(
        &self,
        bucket: &str,
        key: &str,
        part_number: u32,
    ) -> Result<(ObjectMeta, Option<PartSpan>)>;

    // ----- store-wide documents ------------------------------------------

    /// A store-wide document (users, keys), opaque to storage; `None` if
    /// absent. `name` is path-like, such as `users/alice`.
    async fn system_doc(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Writes (with `None` deletes) a store-wide document, durably.
    async fn put_system_doc(&self, name: &str, value: Option<Vec<u8>>) -> Result<()>;
    /// Store-wide documents whose name starts with `prefix`, sorted by name.
    async fn list_system_docs(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;

    // ----- objects -------------------------------------------------------

    /// Starts a new object version at `bucket/key`. The bucket must exist
    /// (`Error::NoSuchBucket`). Nothing is visible until
    /// [`ObjectWriter::commit`].
    async fn object_writer(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>>;
    /// Metadata of the current version. `Error::NoSuchKey` if absent.
    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta>;
    /// Metadata and the bytes of `range` (whole object if `None`). The stream
    /// reads a consistent snapshot: a concurrent overwrite does not change
    /// what an already-opened read returns. `Error::InvalidRange` if the range
    /// starts past the end.
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<(ObjectMeta, ByteStream)>;
    /// Metadata and every byte of `bucket/key`, in memory, for a caller
    /// that needs the whole object at once (an image pipeline's source);
    /// `None` instead of the bytes, and nothing read, when the object is
    /// larger than `limit`. The same snapshot as [`Store::get_object`].
    ///
    /// The default collects `get_object`'s stream. A store that can read
    /// the object in one step does: the embedded store reads its files in
    /// one blocking call, where a stream takes one per chunk (and as many
    /// wake-ups of the thread that waits for it).
    async fn read_object(
        &self,
        bucket: &str,
        key: &str,
        limit: u64,
    ) -> Result<(ObjectMeta, Option<Vec<u8>>)> {
        use futures_util::StreamExt as _;
        let (meta, mut stream) = self.get_object(bucket, key, None).await?;
        if meta.size > limit {
            return Ok((meta, None));
        }
        let mut buf = Vec::with_capacity(meta.size as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if (buf.len() + chunk.len()) as u64 > meta.size {
                return Err(Error::Corrupt(format!(
                    "{bucket}/{key} is longer than its {} bytes",
                    meta.size
                )));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok((meta, Some(buf)))
    }
    /// Deleting an absent key is not an error (S3 semantics); returns whether
    /// something was deleted.
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<bool>;
    /// Replaces the attributes of an existing object without rewriting its
    /// bytes (CopyObject onto itself with `REPLACE`, an ACL or tag set
    /// changed). Keeps size and ETag. `precondition` is checked against
    /// the object the change lands on, so that attributes read from one
    /// object are never written onto a newer one that replaced it.
    async fn update_object_attrs(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
        precondition: &Precondition,
    ) -> Result<ObjectMeta>;
    /// Keys in UTF-8 binary order; see [`ListQuery`].
    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<ListPage>;

    // ----- multipart uploads ---------------------------------------------

    /// Returns the new upload id. The attributes are those of the final object.
    async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
    ) -> Result<String>;
    /// Writer for one part; committing it replaces an earlier part with the
    /// same number. `Error::NoSuchUpload` if the upload is unknown.
    async fn part_writer(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
    ) -> Result<Box<dyn ObjectWriter>>;
    /// Parts sorted by number, starting after `part_number_marker`.
    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number_marker: u32,
        max_parts: usize,
    ) -> Result<PartsPage>;
    /// Assembles the listed parts into the object, atomically. Errors:
    /// `InvalidPart` (unknown part or ETag mismatch), `InvalidPartOrder`,
    /// `EntityTooSmall` (a part other than the last below `min_part_size`).
    /// The upload and its unused parts are removed.
    async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        min_part_size: u64,
    ) -> Result<ObjectMeta> {
        let unconditional = Precondition::Unconditional;
        self.complete_multipart_upload_if(
            bucket,
            key,
            upload_id,
            parts,
            min_part_size,
            &unconditional,
        )
        .await
    }
    /// [`Store::complete_multipart_upload`], only if the key's current
    /// object satisfies `precondition` (checked in the same transaction;
    /// on failure nothing changes and the upload stays open).
    async fn complete_multipart_upload_if(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        min_part_size: u64,
        precondition: &Precondition,
    ) -> Result<ObjectMeta>;
    async fn abort_multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()>;
    /// The upload's key and attributes; `Error::NoSuchUpload` if unknown.
    async fn multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<MultipartUpload>;
    /// In-progress uploads, sorted by (key, initiated time), after the markers.
    async fn list_multipart_uploads(
        &self,
        bucket: &str,
        query: &UploadsQuery,
    ) -> Result<UploadsPage>;
}

/// A body being written. Obtained from [`Store::object_writer`] or
/// [`Store::part_writer`]; computes the size and MD5 as bytes arrive.
/// Dropping it without `commit` discards the data (the temp file is removed).
#[async_trait]
pub trait ObjectWriter: Send {
    /// Appends bytes to the staged body.
    async fn write(&mut self, chunk: &[u8]) -> Result<()>;
    /// Bytes written so far.
    fn written(&self) -> u64;
    /// Makes the commit of an object conditional on the key's current
    /// object; checked atomically with the commit (`Error::PreconditionFailed`
    /// or `Error::NoSuchKey`, and nothing is committed). Parts have no
    /// preconditions: a part writer ignores it.
    fn require(&mut self, precondition: Precondition);
    /// Makes the body durable and visible, atomically replacing any previous
    /// version (or part). `expected_md5`, when given (from `Content-MD5`), is
    /// checked first: `Error::BadDigest` on mismatch and nothing is committed.
    /// For a part writer, `attrs` is ignored except for `checksums`.
    async fn commit(
        self: Box<Self>,
        attrs: ObjectAttrs,
        expected_md5: Option<[u8; 16]>,
    ) -> Result<ObjectMeta>;
}
