//! Gateway mode: `storage::Store` over an existing S3 store (Garage, Ceph
//! RGW, MinIO, AWS S3), so that many stateless imgbucket nodes can serve
//! one set of buckets.
//!
//! - Each imgbucket bucket is the backend bucket of the same name; object
//!   bytes, metadata and multipart uploads (UploadId and part ETags) are
//!   the backend's own, relayed.
//! - What the nodes must share and S3 has no place for (bucket ACLs and
//!   creation records, image settings and styles, open uploads'
//!   attributes, the generated key pair) lives in one reserved bucket,
//!   [`BackendConfig::meta_bucket`], never shown to clients. Layout:
//!   `buckets/<bucket>`, `settings/<bucket>/<name>`,
//!   `uploads/<bucket>/<upload id>[/<part>]` (attributes, and each part's
//!   checksums), `crc/<bucket>/<key>` (a multipart object's CRC-64, valid
//!   for one ETag), `keys/credentials.toml`.
//! - A node keeps nothing it cannot lose: request bodies are spooled to a
//!   temp file (so a failed checksum or MD5 never reaches the backend, and
//!   the backend gets a `Content-Length`), and bucket records are cached
//!   for [`SHARED_STATE_TTL`] at most, which bounds how long another
//!   node's change takes to be seen.
//! - A backend that is down or slower than [`BackendConfig::timeout`] turns
//!   into `Error::Unavailable` (503); one that asks to slow down, into
//!   `Error::SlowDown`.
//! - What the backend cannot do atomically is refused with
//!   `Error::NotImplemented` (501): conditional writes (`If-None-Match`,
//!   `If-Match`), whose check and commit would be two backend requests.

mod client;
mod recent;
mod spool;
mod wire;

pub use client::{BackendConfig, BackendMetrics};

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};
use storage::{
    BucketInfo, ByteRange, CannedAcl, CompletedPart, Error, ListPage, ListQuery, MultipartUpload,
    ObjectAttrs, ObjectMeta, ObjectWriter, PartSpan, PartsPage, Precondition, Result, Store,
    UploadsPage, UploadsQuery,
};

use client::{Backend, Call, Payload};

/// The longest a node trusts what it read of shared state (bucket
/// records, image settings) before reading it again: a change made through
/// one node is seen by every other within this, plus one backend round
/// trip. docs/deploy.md states the bound as 2 seconds.
pub const SHARED_STATE_TTL: Duration = Duration::from_secs(1);

/// A bucket's record in the meta bucket.
#[derive(Debug, Serialize, Deserialize)]
struct BucketRecord {
    acl: CannedAcl,
    /// Seconds since the epoch.
    created: u64,
    /// The owner's canonical id; absent (the admin's) in older records.
    #[serde(default)]
    owner: String,
}

/// An open multipart upload's record: what the final object will carry.
#[derive(Debug, Serialize, Deserialize)]
struct UploadRecord {
    key: String,
    attrs: ObjectAttrs,
    initiated: u64,
}

/// A stored part's record: what the backend does not keep of it.
#[derive(Debug, Serialize, Deserialize)]
struct PartRecord {
    etag: String,
    size: u64,
    crc64: Option<u64>,
    checksums: std::collections::BTreeMap<String, String>,
}

/// The CRC-64 of a multipart object, which the backend cannot keep in the
/// object's metadata (fixed when the upload started); valid only while
/// the key's ETag is `etag`.
#[derive(Debug, Serialize, Deserialize)]
struct CrcRecord {
    etag: String,
    crc64: u64,
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn from_secs(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn json<T: Serialize>(value: &T) -> Result<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| Error::Io(std::io::Error::other(e)))
}

fn unjson<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

/// What the store and its writers share.
#[derive(Debug)]
struct Shared {
    backend: Backend,
    /// Where request bodies are spooled.
    spool_dir: PathBuf,
    /// Bucket name → (when read, what was read).
    buckets: Mutex<HashMap<String, (Instant, BucketInfo)>>,
    /// This node's deletes of the last seconds, kept out of its listings.
    recent: recent::RecentDeletes,
}

/// The `Store` of gateway mode.
#[derive(Debug, Clone)]
pub struct GatewayStore {
    shared: Arc<Shared>,
}

impl GatewayStore {
    /// The backend client's request counts (`/-/metrics`).
    pub fn backend_metrics(&self) -> BackendMetrics {
        self.shared.backend.metrics().clone()
    }

    /// A store over the backend of `config`, spooling bodies in
    /// `spool_dir` (emptied now: leftovers of a crash are garbage). Nothing
    /// is asked of the backend yet: a node starts while its backend is
    /// down, and serves once it is back.
    pub fn new(config: BackendConfig, spool_dir: PathBuf) -> Result<GatewayStore, String> {
        let backend = Backend::new(config)?;
        let _ = std::fs::remove_dir_all(&spool_dir);
        std::fs::create_dir_all(&spool_dir)
            .map_err(|e| format!("cannot create {}: {e}", spool_dir.display()))?;
        Ok(GatewayStore {
            shared: Arc::new(Shared {
                backend,
                spool_dir,
                buckets: Mutex::new(HashMap::new()),
                recent: recent::RecentDeletes::default(),
            }),
        })
    }

    fn backend(&self) -> &Backend {
        &self.shared.backend
    }

    fn meta_bucket(&self) -> &str {
        &self.backend().config().meta_bucket
    }

    fn is_reserved(&self, bucket: &str) -> bool {
        bucket == self.meta_bucket()
    }

    fn forget_bucket(&self, bucket: &str) {
        if let Ok(mut map) = self.shared.buckets.lock() {
            map.remove(bucket);
        }
    }

    // ----- the meta bucket -------------------------------------------------

    /// A document of the meta bucket; `None` if absent.
    pub async fn meta_get(&self, name: &str) -> Result<Option<Bytes>> {
        let call = Call::new(Method::GET, Some(self.meta_bucket()), Some(name));
        match self.backend().send_read(&call).await {
            Ok((_, body)) => Ok(Some(body)),
            Err(Error::NoSuchKey(_)) | Err(Error::NoSuchBucket(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes (or with `None` deletes) a document of the meta bucket,
    /// creating the bucket on first use.
    pub async fn meta_put(&self, name: &str, value: Option<Bytes>) -> Result<()> {
        for attempt in 0..2 {
            let call = match &value {
                Some(v) => Call::new(Method::PUT, Some(self.meta_bucket()), Some(name))
                    .payload(Payload::Bytes(v.clone())),
                None => Call::new(Method::DELETE, Some(self.meta_bucket()), Some(name)),
            };
            match self.backend().send_ok(&call).await {
                Ok(_) => return Ok(()),
                Err(Error::NoSuchBucket(_)) if attempt == 0 => {
                    if value.is_none() {
                        return Ok(());
                    }
                    self.create_backend_bucket(self.meta_bucket()).await?;
                }
                Err(Error::NoSuchKey(_)) if value.is_none() => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Err(Error::Unavailable(
            "the meta bucket could not be created".into(),
        ))
    }

    /// Names (after `prefix`) of the meta bucket's documents under it.
    async fn meta_list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut call = Call::new(Method::GET, Some(self.meta_bucket()), None)
                .query("list-type", "2")
                .query("prefix", prefix)
                .query("encoding-type", "url");
            if let Some(a) = &after {
                call = call.query("start-after", a.clone());
            }
            let page = match self.backend().send_read(&call).await {
                Ok((_, body)) => wire::list_page(&body)?,
                Err(Error::NoSuchBucket(_)) => return Ok(names),
                Err(e) => return Err(e),
            };
            for o in &page.objects {
                if let Some(rest) = o.key.strip_prefix(prefix) {
                    names.push(rest.to_string());
                }
            }
            if !page.is_truncated || page.next_after.is_none() {
                return Ok(names);
            }
            after = page.next_after;
        }
    }

    async fn create_backend_bucket(&self, name: &str) -> Result<()> {
        let call = Call::new(Method::PUT, Some(name), None);
        match self.backend().send_ok(&call).await {
            Ok(_) | Err(Error::BucketAlreadyOwnedByYou(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The key pair stored in the meta bucket, or `generate()`'s, stored
    /// there first: every node started without keys of its own serves the
    /// same pair. Two nodes generating at once both read back the one
    /// stored last.
    pub async fn shared_credentials(
        &self,
        generate: impl FnOnce() -> std::result::Result<Vec<u8>, String>,
    ) -> Result<(Bytes, bool)> {
        const NAME: &str = "keys/credentials.toml";
        if let Some(doc) = self.meta_get(NAME).await? {
            return Ok((doc, false));
        }
        let fresh = generate().map_err(|e| Error::Io(std::io::Error::other(e)))?;
        self.meta_put(NAME, Some(fresh.into())).await?;
        let stored = self
            .meta_get(NAME)
            .await?
            .ok_or_else(|| Error::Corrupt("the stored key pair vanished".into()))?;
        Ok((stored, true))
    }

    async fn upload_record(&self, bucket: &str, upload_id: &str) -> Result<UploadRecord> {
        match self.meta_get(&upload_doc(bucket, upload_id)).await? {
            Some(doc) => unjson("upload record", &doc),
            None => Err(Error::NoSuchUpload(upload_id.to_string())),
        }
    }

    /// Records a committed part's checksums (spool writer).
    async fn record_part(
        &self,
        bucket: &str,
        upload_id: &str,
        part_number: u32,
        record: &PartRecord,
    ) -> Result<()> {
        self.meta_put(
            &part_doc(bucket, upload_id, part_number),
            Some(json(record)?),
        )
        .await
    }

    /// The records of these parts (absent ones are `None`), fetched at once.
    async fn part_records(
        &self,
        bucket: &str,
        upload_id: &str,
        numbers: impl Iterator<Item = u32>,
    ) -> Result<Vec<Option<PartRecord>>> {
        let names: Vec<String> = numbers.map(|n| part_doc(bucket, upload_id, n)).collect();
        let docs = futures_util::future::join_all(names.iter().map(|d| self.meta_get(d))).await;
        docs.into_iter()
            .map(|d| match d? {
                Some(doc) => unjson("part record", &doc).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    /// Removes an upload's records, its parts' included.
    async fn forget_upload(&self, bucket: &str, upload_id: &str) -> Result<()> {
        for part in self
            .meta_list(&format!("uploads/{bucket}/{upload_id}/"))
            .await?
        {
            self.meta_put(&format!("uploads/{bucket}/{upload_id}/{part}"), None)
                .await?;
        }
        self.meta_put(&upload_doc(bucket, upload_id), None).await
    }

    /// Adds the CRC-64 of a multipart object (kept in the meta bucket) to
    /// its metadata; single-part objects carry theirs themselves.
    async fn with_multipart_crc(&self, bucket: &str, mut meta: ObjectMeta) -> Result<ObjectMeta> {
        if meta.attrs.crc64_ecma.is_none() && meta.etag.contains('-') {
            if let Some(doc) = self.meta_get(&crc_doc(bucket, &meta.key)).await? {
                let r: CrcRecord = unjson("crc record", &doc)?;
                if r.etag == meta.etag {
                    meta.attrs.crc64_ecma = Some(r.crc64);
                }
            }
        }
        Ok(meta)
    }

    /// A missing key in a missing bucket is `NoSuchBucket`, as S3 says
    /// (a HEAD's 404 has no body to tell them apart).
    async fn refine_missing(&self, bucket: &str, e: Error) -> Error {
        match e {
            Error::NoSuchKey(_) => match self.bucket(bucket).await {
                Err(missing @ Error::NoSuchBucket(_)) => missing,
                _ => e,
            },
            other => other,
        }
    }

    async fn all_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<storage::PartMeta>> {
        let mut out = Vec::new();
        let mut marker = 0;
        loop {
            let page = self
                .list_parts(bucket, key, upload_id, marker, 1000)
                .await?;
            out.extend(page.parts);
            if !page.is_truncated || page.next_part_number_marker <= marker {
                return Ok(out);
            }
            marker = page.next_part_number_marker;
        }
    }
    /// One page of the backend's listing, as it answers.
    async fn backend_list(&self, bucket: &str, query: &ListQuery) -> Result<ListPage> {
        let mut call = Call::new(Method::GET, Some(bucket), None)
            .query("list-type", "2")
            .query("encoding-type", "url")
            .query("prefix", query.prefix.clone())
            .query("max-keys", query.max_keys.max(1).to_string());
        if let Some(d) = &query.delimiter {
            call = call.query("delimiter", d.clone());
        }
        if let Some(after) = &query.start_after {
            // Resuming after a common prefix means skipping every key
            // under it: start after the greatest key that can follow it.
            let rolled_up = query
                .delimiter
                .as_deref()
                .is_some_and(|d| !d.is_empty() && after.ends_with(d));
            let after = if rolled_up {
                format!("{after}\u{10FFFF}")
            } else {
                after.clone()
            };
            call = call.query("start-after", after);
        }
        let (_, body) = self.backend().send_read(&call).await?;
        let mut page = wire::list_page(&body)?;
        if query.max_keys == 0 {
            page.objects.clear();
            page.common_prefixes.clear();
            page.next_after = None;
            page.is_truncated = false;
        }
        Ok(page)
    }

    /// `page` without the keys this node deleted a moment ago, nor the
    /// common prefixes left with nothing under them (see `recent`).
    async fn without_recent_deletes(&self, bucket: &str, mut page: ListPage) -> Result<ListPage> {
        let deleted = self.shared.recent.keys(bucket);
        if deleted.is_empty() {
            return Ok(page);
        }
        let suspects: Vec<String> = page
            .objects
            .iter()
            .filter(|o| deleted.contains(&o.key))
            .map(|o| o.key.clone())
            .collect();
        let gone = self.confirm_gone(bucket, suspects).await?;
        page.objects.retain(|o| !gone.contains(&o.key));
        let mut empty_prefixes = HashSet::new();
        for prefix in &page.common_prefixes {
            let under = deleted
                .iter()
                .filter(|k| k.starts_with(prefix.as_str()))
                .count();
            if under == 0 {
                continue;
            }
            // One more key than were deleted under it: if the backend
            // lists no other, the prefix is empty.
            let query = ListQuery {
                prefix: prefix.clone(),
                max_keys: under + 1,
                ..Default::default()
            };
            let listed = self.backend_list(bucket, &query).await?;
            if listed.is_truncated || listed.objects.iter().any(|o| !deleted.contains(&o.key)) {
                continue;
            }
            let keys: Vec<String> = listed.objects.into_iter().map(|o| o.key).collect();
            let total = keys.len();
            if self.confirm_gone(bucket, keys).await?.len() == total {
                empty_prefixes.insert(prefix.clone());
            }
        }
        page.common_prefixes.retain(|p| !empty_prefixes.contains(p));
        Ok(page)
    }

    /// Which of `keys` a HEAD (a quorum read) no longer finds.
    async fn confirm_gone(&self, bucket: &str, keys: Vec<String>) -> Result<HashSet<String>> {
        use futures_util::StreamExt;
        let checks = futures_util::stream::iter(keys.into_iter().map(|key| async move {
            let call = Call::new(Method::HEAD, Some(bucket), Some(&key));
            let outcome = self.backend().send_ok(&call).await;
            (key, outcome)
        }))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
        let mut gone = HashSet::new();
        for (key, outcome) in checks {
            match outcome {
                Err(Error::NoSuchKey(_)) => {
                    gone.insert(key);
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(gone)
    }
    /// DeleteBucket on the backend. Garage can refuse it as not empty for a
    /// moment after the last delete (see `recent`): when every key it could
    /// mean is one this node deleted and a HEAD confirms gone, ask again
    /// for a few seconds before giving up.
    async fn delete_backend_bucket(&self, name: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut pause = Duration::from_millis(20);
        loop {
            let call = Call::new(Method::DELETE, Some(name), None);
            match self.backend().send_ok(&call).await {
                Ok(_) => return Ok(()),
                Err(Error::BucketNotEmpty(b)) => {
                    let deleted = self.shared.recent.keys(name).len();
                    if deleted == 0 || Instant::now() >= deadline {
                        return Err(Error::BucketNotEmpty(b));
                    }
                    let query = ListQuery {
                        max_keys: (deleted + 1).min(1000),
                        ..Default::default()
                    };
                    let page = self.backend_list(name, &query).await?;
                    let page = self.without_recent_deletes(name, page).await?;
                    if !page.objects.is_empty() || page.is_truncated {
                        return Err(Error::BucketNotEmpty(b));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn bucket_doc(bucket: &str) -> String {
    format!("buckets/{bucket}")
}

fn setting_doc(bucket: &str, name: &str) -> String {
    format!("settings/{bucket}/{name}")
}

fn upload_doc(bucket: &str, upload_id: &str) -> String {
    format!("uploads/{bucket}/{upload_id}")
}

fn part_doc(bucket: &str, upload_id: &str, part_number: u32) -> String {
    format!("uploads/{bucket}/{upload_id}/{part_number:05}")
}

fn system_doc(name: &str) -> String {
    format!("system/{name}")
}

fn crc_doc(bucket: &str, key: &str) -> String {
    format!("crc/{bucket}/{key}")
}

fn conditional_writes_unsupported() -> Error {
    Error::NotImplemented("a conditional write (If-Match / If-None-Match) in gateway mode".into())
}

#[async_trait]
impl Store for GatewayStore {
    async fn create_bucket(&self, name: &str, acl: CannedAcl, owner: &str) -> Result<BucketInfo> {
        if self.is_reserved(name) {
            return Err(Error::BucketAlreadyExists(name.to_string()));
        }
        let call = Call::new(Method::PUT, Some(name), None);
        self.backend().send_ok(&call).await?;
        let created = SystemTime::now();
        let record = BucketRecord {
            acl,
            created: secs(created),
            owner: owner.to_string(),
        };
        self.meta_put(&bucket_doc(name), Some(json(&record)?))
            .await?;
        self.forget_bucket(name);
        Ok(BucketInfo {
            name: name.to_string(),
            created,
            acl,
            owner: owner.to_string(),
        })
    }

    async fn bucket(&self, name: &str) -> Result<BucketInfo> {
        if self.is_reserved(name) {
            return Err(Error::NoSuchBucket(name.to_string()));
        }
        if let Ok(map) = self.shared.buckets.lock() {
            if let Some((at, info)) = map.get(name) {
                if at.elapsed() < SHARED_STATE_TTL {
                    return Ok(info.clone());
                }
            }
        }
        let read_at = Instant::now();
        // The backend says whether the bucket exists; the record adds
        // what S3 does not keep (the ACL).
        let head = Call::new(Method::HEAD, Some(name), None);
        self.backend().send_ok(&head).await?;
        let info = match self.meta_get(&bucket_doc(name)).await? {
            Some(doc) => {
                let r: BucketRecord = unjson("bucket record", &doc)?;
                BucketInfo {
                    name: name.to_string(),
                    created: from_secs(r.created),
                    acl: r.acl,
                    owner: r.owner,
                }
            }
            // A bucket made on the backend directly: private, and as old
            // as the backend says.
            None => {
                let listed = self.list_buckets().await?;
                listed
                    .into_iter()
                    .find(|b| b.name == name)
                    .ok_or_else(|| Error::NoSuchBucket(name.to_string()))?
            }
        };
        if let Ok(mut map) = self.shared.buckets.lock() {
            map.insert(name.to_string(), (read_at, info.clone()));
        }
        Ok(info)
    }

    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        let (_, body) = self
            .backend()
            .send_read(&Call::new(Method::GET, None, None))
            .await?;
        let mut out = Vec::new();
        for (name, created) in wire::buckets(&body)? {
            if self.is_reserved(&name) {
                continue;
            }
            out.push(BucketInfo {
                name,
                created,
                acl: CannedAcl::Private,
                owner: String::new(),
            });
        }
        // ACLs (and imgbucket's creation times) from the records.
        let docs: Vec<String> = out.iter().map(|b| bucket_doc(&b.name)).collect();
        let records: Vec<_> =
            futures_util::future::join_all(docs.iter().map(|d| self.meta_get(d))).await;
        for (info, record) in out.iter_mut().zip(records) {
            if let Some(doc) = record? {
                let r: BucketRecord = unjson("bucket record", &doc)?;
                info.acl = r.acl;
                info.created = from_secs(r.created);
                info.owner = r.owner;
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        self.bucket(name).await?;
        // As in embedded mode, open uploads do not keep a bucket alive.
        let mut query = UploadsQuery {
            max_uploads: 1000,
            ..Default::default()
        };
        loop {
            let page = self.list_multipart_uploads(name, &query).await?;
            for u in &page.uploads {
                match self
                    .abort_multipart_upload(name, &u.key, &u.upload_id)
                    .await
                {
                    // Ended meanwhile, by another node or client.
                    Ok(()) | Err(Error::NoSuchUpload(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if !page.is_truncated {
                break;
            }
            query.key_marker = page.next_key_marker;
            query.upload_id_marker = page.next_upload_id_marker;
        }
        self.delete_backend_bucket(name).await?;
        self.forget_bucket(name);
        self.meta_put(&bucket_doc(name), None).await?;
        for setting in self.meta_list(&format!("settings/{name}/")).await? {
            self.meta_put(&setting_doc(name, &setting), None).await?;
        }
        for prefix in ["uploads", "crc"] {
            let base = format!("{prefix}/{name}/");
            for doc in self.meta_list(&base).await? {
                self.meta_put(&format!("{base}{doc}"), None).await?;
            }
        }
        Ok(())
    }

    async fn set_bucket_acl(&self, name: &str, acl: CannedAcl) -> Result<()> {
        let info = self.bucket(name).await?;
        let record = BucketRecord {
            acl,
            created: secs(info.created),
            owner: info.owner,
        };
        self.meta_put(&bucket_doc(name), Some(json(&record)?))
            .await?;
        self.forget_bucket(name);
        Ok(())
    }

    async fn put_bucket_setting(
        &self,
        bucket: &str,
        name: &str,
        value: Option<Vec<u8>>,
    ) -> Result<()> {
        self.bucket(bucket).await?;
        self.meta_put(&setting_doc(bucket, name), value.map(Bytes::from))
            .await
    }

    async fn bucket_setting(&self, bucket: &str, name: &str) -> Result<Option<Vec<u8>>> {
        self.bucket(bucket).await?;
        Ok(self
            .meta_get(&setting_doc(bucket, name))
            .await?
            .map(|b| b.to_vec()))
    }

    async fn list_bucket_settings(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        self.bucket(bucket).await?;
        let base = format!("settings/{bucket}/");
        let names = self.meta_list(&format!("{base}{prefix}")).await?;
        let mut out = Vec::with_capacity(names.len());
        for rest in names {
            let name = format!("{prefix}{rest}");
            // Deleted between the listing and the read: skip it.
            if let Some(doc) = self.meta_get(&setting_doc(bucket, &name)).await? {
                out.push((name, doc.to_vec()));
            }
        }
        Ok(out)
    }

    async fn system_doc(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.meta_get(&system_doc(name)).await?.map(|b| b.to_vec()))
    }

    async fn put_system_doc(&self, name: &str, value: Option<Vec<u8>>) -> Result<()> {
        self.meta_put(&system_doc(name), value.map(Bytes::from))
            .await
    }

    async fn list_system_docs(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let names: Vec<String> = self
            .meta_list(&system_doc(prefix))
            .await?
            .into_iter()
            .map(|rest| format!("{prefix}{rest}"))
            .collect();
        let docs: Vec<String> = names.iter().map(|n| system_doc(n)).collect();
        let read = futures_util::future::join_all(docs.iter().map(|d| self.meta_get(d))).await;
        let mut out = Vec::new();
        for (name, doc) in names.into_iter().zip(read) {
            // Deleted between the listing and the read: gone.
            if let Some(doc) = doc? {
                out.push((name, doc.to_vec()));
            }
        }
        Ok(out)
    }

    async fn object_writer(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>> {
        self.bucket(bucket).await?;
        let target = spool::Target::Object {
            bucket: bucket.to_string(),
            key: key.to_string(),
        };
        Ok(Box::new(
            spool::SpoolWriter::create(self.clone(), target).await?,
        ))
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        if self.is_reserved(bucket) {
            return Err(Error::NoSuchBucket(bucket.to_string()));
        }
        let call = Call::new(Method::HEAD, Some(bucket), Some(key));
        let resp = match self.backend().send_ok(&call).await {
            Ok(r) => r,
            Err(e) => return Err(self.refine_missing(bucket, e).await),
        };
        self.with_multipart_crc(bucket, wire::meta_from_headers(key, resp.headers())?)
            .await
    }

    async fn part_span(
        &self,
        bucket: &str,
        key: &str,
        part_number: u32,
    ) -> Result<(ObjectMeta, Option<PartSpan>)> {
        let meta = self.head_object(bucket, key).await?;
        if !meta.etag.contains('-') {
            let span = (part_number == 1).then_some(PartSpan {
                start: 0,
                len: meta.size,
                parts_count: None,
            });
            return Ok((meta, span));
        }
        // The backend knows the part boundaries: its HEAD ?partNumber=n
        // answers the part's Content-Range and the object's part count.
        let call = Call::new(Method::HEAD, Some(bucket), Some(key))
            .query("partNumber", part_number.to_string());
        let resp = match self.backend().send(&call).await? {
            r if r.status().is_success() => r,
            r if r.status() == http::StatusCode::RANGE_NOT_SATISFIABLE
                || r.status() == http::StatusCode::BAD_REQUEST =>
            {
                return Ok((meta, None))
            }
            r => return Err(self.backend().failure(&call, r).await),
        };
        let span = wire::part_span_from_headers(resp.headers(), meta.size);
        Ok((meta, Some(span)))
    }

    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<(ObjectMeta, storage::ByteStream)> {
        if self.is_reserved(bucket) {
            return Err(Error::NoSuchBucket(bucket.to_string()));
        }
        let mut call = Call::new(Method::GET, Some(bucket), Some(key));
        if let Some(r) = range {
            let spec = match r.end {
                Some(end) => format!("bytes={}-{}", r.start, end),
                None => format!("bytes={}-", r.start),
            };
            call = call.header("range", &spec);
        }
        let resp = self.backend().send(&call).await?;
        if resp.status() == http::StatusCode::RANGE_NOT_SATISFIABLE {
            let size = self.head_object(bucket, key).await?.size;
            return Err(Error::InvalidRange { size });
        }
        if !resp.status().is_success() {
            let e = self.backend().failure(&call, resp).await;
            return Err(self.refine_missing(bucket, e).await);
        }
        let (parts, body) = resp.into_parts();
        let meta = self
            .with_multipart_crc(bucket, wire::meta_from_headers(key, &parts.headers)?)
            .await?;
        Ok((meta, self.backend().stream(body)))
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<bool> {
        self.bucket(bucket).await?;
        let call = Call::new(Method::DELETE, Some(bucket), Some(key));
        self.backend().send_ok(&call).await?;
        self.shared.recent.note_key(bucket, key);
        // S3's DeleteObject does not say whether the key existed; asking
        // first would cost a round trip nobody uses.
        Ok(true)
    }

    async fn update_object_attrs(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
        precondition: &Precondition,
    ) -> Result<ObjectMeta> {
        let current = self.head_object(bucket, key).await?;
        precondition.check(key, Some(&current.etag))?;
        let mut attrs = attrs;
        // The body is unchanged, so is its CRC-64.
        attrs.crc64_ecma = attrs.crc64_ecma.or(current.attrs.crc64_ecma);
        let source = format!(
            "/{}/{}",
            crate::auth::client::uri_encode(bucket, false),
            crate::auth::client::uri_encode(key, true)
        );
        let mut call = Call::new(Method::PUT, Some(bucket), Some(key))
            .header("x-amz-copy-source", &source)
            .header("x-amz-metadata-directive", "REPLACE");
        if *precondition != Precondition::Unconditional {
            // The backend checks it again as it copies: the object read
            // above may have been replaced since (a 412 is PreconditionFailed).
            call = call.header(
                "x-amz-copy-source-if-match",
                &format!("\"{}\"", current.etag),
            );
        }
        wire::attrs_to_headers(&attrs, &mut call.headers)?;
        self.backend().send_read(&call).await?;
        self.head_object(bucket, key).await
    }

    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<ListPage> {
        if self.is_reserved(bucket) {
            return Err(Error::NoSuchBucket(bucket.to_string()));
        }
        let page = self.backend_list(bucket, query).await?;
        self.without_recent_deletes(bucket, page).await
    }

    async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
    ) -> Result<String> {
        self.bucket(bucket).await?;
        let mut call = Call::new(Method::POST, Some(bucket), Some(key)).query("uploads", "");
        wire::attrs_to_headers(&attrs, &mut call.headers)?;
        let (_, body) = self.backend().send_read(&call).await?;
        let upload_id = wire::upload_id(&body)?;
        let record = UploadRecord {
            key: key.to_string(),
            attrs,
            initiated: secs(SystemTime::now()),
        };
        self.meta_put(&upload_doc(bucket, &upload_id), Some(json(&record)?))
            .await?;
        Ok(upload_id)
    }

    async fn part_writer(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
    ) -> Result<Box<dyn ObjectWriter>> {
        let record = self.upload_record(bucket, upload_id).await?;
        if record.key != key {
            return Err(Error::NoSuchUpload(upload_id.to_string()));
        }
        let target = spool::Target::Part {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: upload_id.to_string(),
            part_number,
        };
        Ok(Box::new(
            spool::SpoolWriter::create(self.clone(), target).await?,
        ))
    }

    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number_marker: u32,
        max_parts: usize,
    ) -> Result<PartsPage> {
        let call = Call::new(Method::GET, Some(bucket), Some(key))
            .query("uploadId", upload_id)
            .query("part-number-marker", part_number_marker.to_string())
            .query("max-parts", max_parts.clamp(1, 1000).to_string());
        let (_, body) = self.backend().send_read(&call).await?;
        let (mut parts, is_truncated, next) = wire::parts(&body)?;
        let records = self
            .part_records(bucket, upload_id, parts.iter().map(|p| p.part_number))
            .await?;
        for (part, record) in parts.iter_mut().zip(records) {
            if let Some(r) = record.filter(|r| r.etag == part.etag) {
                part.crc64_ecma = r.crc64;
                part.checksums = r.checksums;
            }
        }
        Ok(PartsPage {
            next_part_number_marker: if is_truncated {
                next.max(parts.last().map_or(0, |p| p.part_number))
            } else {
                0
            },
            parts,
            is_truncated,
        })
    }

    async fn complete_multipart_upload_if(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        min_part_size: u64,
        precondition: &Precondition,
    ) -> Result<ObjectMeta> {
        if *precondition != Precondition::Unconditional {
            return Err(conditional_writes_unsupported());
        }
        self.upload_record(bucket, upload_id).await?;
        // The same checks, in the same order, as embedded mode: backends
        // differ in what they enforce (Garage has no minimum part size).
        let stored: HashMap<u32, storage::PartMeta> = self
            .all_parts(bucket, key, upload_id)
            .await?
            .into_iter()
            .map(|p| (p.part_number, p))
            .collect();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 && parts[i - 1].part_number >= p.part_number {
                return Err(Error::InvalidPartOrder);
            }
            let Some(s) = stored.get(&p.part_number) else {
                return Err(Error::InvalidPart {
                    part_number: p.part_number,
                    reason: "not uploaded".into(),
                });
            };
            if s.etag != p.etag {
                return Err(Error::InvalidPart {
                    part_number: p.part_number,
                    reason: "ETag mismatch".into(),
                });
            }
            if i + 1 < parts.len() && s.size < min_part_size {
                return Err(Error::EntityTooSmall {
                    part_number: p.part_number,
                    size: s.size,
                    min: min_part_size,
                });
            }
        }
        // The object's CRC-64, combined from its parts' (as embedded mode
        // does); unknown if any part's is.
        let records = self
            .part_records(bucket, upload_id, parts.iter().map(|p| p.part_number))
            .await?;
        let crc64 = storage::crc64::combine_all(parts.iter().zip(&records).map(|(p, r)| {
            let size = stored.get(&p.part_number).map_or(0, |s| s.size);
            let crc = r
                .as_ref()
                .filter(|r| r.etag == p.etag)
                .and_then(|r| r.crc64);
            (crc, size)
        }));
        let mut doc = String::from("<CompleteMultipartUpload>");
        for p in parts {
            doc.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>\"{}\"</ETag></Part>",
                p.part_number, p.etag
            ));
        }
        doc.push_str("</CompleteMultipartUpload>");
        let call = Call::new(Method::POST, Some(bucket), Some(key))
            .query("uploadId", upload_id)
            .header("content-type", "application/xml")
            .payload(Payload::Bytes(doc.into()));
        let (_, body) = self.backend().send_read(&call).await?;
        if let Err(code) = wire::completed_etag(&body)? {
            return Err(client::classify(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                &code,
                &call,
            ));
        }
        self.shared.recent.note_upload(bucket, upload_id);
        let call = Call::new(Method::HEAD, Some(bucket), Some(key));
        let resp = self.backend().send_ok(&call).await?;
        let mut meta = wire::meta_from_headers(key, resp.headers())?;
        if let Some(crc64) = crc64 {
            let record = CrcRecord {
                etag: meta.etag.clone(),
                crc64,
            };
            self.meta_put(&crc_doc(bucket, key), Some(json(&record)?))
                .await?;
            meta.attrs.crc64_ecma = Some(crc64);
        }
        self.forget_upload(bucket, upload_id).await?;
        Ok(meta)
    }

    async fn abort_multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        let call = Call::new(Method::DELETE, Some(bucket), Some(key)).query("uploadId", upload_id);
        self.backend().send_ok(&call).await?;
        self.shared.recent.note_upload(bucket, upload_id);
        self.forget_upload(bucket, upload_id).await
    }

    async fn multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<MultipartUpload> {
        let record = self.upload_record(bucket, upload_id).await?;
        if record.key != key {
            return Err(Error::NoSuchUpload(upload_id.to_string()));
        }
        Ok(MultipartUpload {
            key: record.key,
            upload_id: upload_id.to_string(),
            initiated: from_secs(record.initiated),
            attrs: record.attrs,
        })
    }

    async fn list_multipart_uploads(
        &self,
        bucket: &str,
        query: &UploadsQuery,
    ) -> Result<UploadsPage> {
        self.bucket(bucket).await?;
        let mut call = Call::new(Method::GET, Some(bucket), None)
            .query("uploads", "")
            .query("prefix", query.prefix.clone())
            .query("max-uploads", query.max_uploads.clamp(1, 1000).to_string());
        if let Some(d) = &query.delimiter {
            call = call.query("delimiter", d.clone());
        }
        if let Some(k) = &query.key_marker {
            call = call.query("key-marker", k.clone());
        }
        if let Some(u) = &query.upload_id_marker {
            call = call.query("upload-id-marker", u.clone());
        }
        let (_, body) = self.backend().send_read(&call).await?;
        let mut page = wire::uploads(&body)?;
        page.uploads
            .retain(|u| !self.shared.recent.upload_ended(bucket, &u.upload_id));
        // Key order, then upload id: Garage orders a page by upload id
        // alone, but pages by key and upload id, so this is the order in
        // which its markers resume (AWS orders one key's uploads by time).
        page.uploads
            .sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
        // Garage often leaves out NextUploadIdMarker: resume after the last
        // upload listed.
        if page.is_truncated {
            if let Some(last) = page.uploads.last() {
                page.next_key_marker = Some(last.key.clone());
                page.next_upload_id_marker = Some(last.upload_id.clone());
            }
        }
        Ok(page)
    }
}
