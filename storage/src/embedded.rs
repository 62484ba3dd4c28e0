//! The embedded store: metadata on sled, object bytes in files.
//!
//! # Layout
//!
//! ```text
//! <dir>/meta/                sled database (behind meta::MetaStore)
//! <dir>/objects/<xx>/<id>    data files; <id> is 32 random hex digits and
//!                            <xx> its first two (256 shard directories)
//! <dir>/tmp/<id>             bodies being written
//! ```
//!
//! A data file is never modified after it is renamed into `objects/`, and
//! its name is never reused: an overwrite writes a new file, and the old
//! one is deleted only once no reader has it pinned (and a file already open
//! survives its unlink anyway, POSIX semantics).
//!
//! # The durable write (PUT, UploadPart)
//!
//! 1. Bytes arrive in chunks; up to 1 MiB is buffered in memory, then
//!    appended to the temp file `tmp/<id>` (created on the first spill; a
//!    small body is written once at commit). MD5 and size are computed as
//!    the bytes go by. A drop guard owns the temp file from its creation.
//! 2. At commit, the MD5 is checked against `Content-MD5` (`BadDigest`, and
//!    the temp file is removed, on mismatch).
//! 3. The remaining bytes are written and the file is fsynced
//!    (`fdatasync`). An empty body gets no data file at all, and an object
//!    body of at most 4 KiB goes into its metadata record instead (steps
//!    3–5 are skipped), so a small PUT costs one fsync, not three.
//! 4. The file is renamed to `objects/<xx>/<id>`: same filesystem, so the
//!    rename is atomic; `<id>` is fresh, so no file a reader may hold is
//!    replaced. The guard follows the file.
//! 5. The shard directory is fsynced, making the rename durable.
//! 6. The metadata record is committed atomically, with a check that the
//!    bucket (or upload) still exists, returning the record it replaces: in
//!    one sled transaction, or, for an unconditional object write, in one
//!    insert (see Concurrency). Readers now see the new version; before
//!    this, the old one. The guard is disarmed: the record owns the file.
//! 7. sled is flushed, and its log file fsynced, before the call returns:
//!    the write is acknowledged only once it would survive `kill -9` or
//!    power loss. (sled's own flush ends in `sync_file_range`, enough for
//!    `kill -9` but not for a power cut; see `meta::SledMeta`.) Concurrent
//!    writers share flushes (`group_commit`): each waits for a flush that
//!    started after its commit, one flush answers every writer that
//!    committed before it started, and a failed flush fails them all.
//! 8. The data files of the replaced version are deleted (or, while a
//!    reader has them pinned, when the last such reader finishes).
//!    Concurrent writers of one key are serialized by step 6, each deleting
//!    exactly the files of the version it replaced, so the last committer
//!    wins and nothing leaks.
//!
//! A crash before 6 leaves a temp file or an unreferenced data file; both are
//! removed by [`EmbeddedStore::open`]. A crash between 6 and 7 loses the
//! write, which was not acknowledged. A crash between 7 and 8 (or before a
//! deferred deletion) leaves the old data files unreferenced; `open` removes
//! them too.
//!
//! # Reading
//!
//! `get_object` reads the record, pins its data files in an in-memory
//! reader table, then reads the record again: if it still names the same
//! files, no deleter can remove them until the stream is dropped (step 8
//! defers deletion of pinned files to their last reader); if not, a
//! concurrent overwrite or delete won the race, and it tries again with the
//! fresh record. Bytes are then streamed in 256 KiB chunks, opening one file
//! at a time, so a read holds at most one file descriptor and a concurrent
//! overwrite does not change what an opened read returns, however many
//! segments the object has. Small objects are served from the record.
//!
//! # Multipart uploads
//!
//! A part is written like an object (steps 1–8, with a part record). Its
//! data file is never copied: completion is one metadata transaction that
//! validates the listed parts, removes the upload and part records, and
//! writes an object record whose segments are the part files, in order.
//! Parts not listed are removed afterwards; abort removes them all.
//!
//! # Concurrency
//!
//! Every metadata change is a serializable sled transaction, but for the
//! unconditional object write: one atomic insert, which sled serializes
//! with transactions too (`MetaStore::insert`), made where a transaction
//! would cost two extra log writes on every small PUT. Besides the reader
//! pin table (a short mutex) and the group commit's queue, the only lock
//! is a reader-writer gate that lets `delete_bucket` check emptiness and
//! remove the bucket without an object or upload being created in between
//! (so the insert's bucket check holds until it is made); it is held only
//! around in-memory transactions, never across an await.

pub mod faults;
mod group_commit;
mod io;
mod list;

use crate::error::{Error, Result};
use crate::meta::{MetaStore, SledMeta, Space, TxError, Txn};
use crate::record::{
    decode, decode_setting, decode_shared, encode, encode_setting, from_ns, to_ns, BucketRec,
    LayoutRec, ObjectRec, PartRec, Record, Segment, UploadRec,
};
use crate::types::*;
use crate::{ByteStream, ObjectWriter, Store};
use async_trait::async_trait;
use faults::{Faults, Step};
use group_commit::{AfterFlush, GroupCommit};
use io::{blocking, EmbeddedWriter, Staged, Target};
use md5::{Digest, Md5};
use std::collections::HashSet;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

/// How many versions `get_object` tries to pin before giving up: each retry
/// means the key was overwritten between reading its record and pinning its
/// files, so more than one is only needed under heavy churn of one key.
const READ_ATTEMPTS: u32 = 10;

/// Metadata keys. Bucket names never contain `\0`, so `bucket \0 rest` is
/// unambiguous and a bucket's keys form one contiguous, ordered range.
mod keys {
    pub(crate) fn object_prefix(bucket: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(bucket.len() + 1);
        k.extend_from_slice(bucket.as_bytes());
        k.push(0);
        k
    }

    pub(crate) fn object(bucket: &str, key: &str) -> Vec<u8> {
        let mut k = object_prefix(bucket);
        k.extend_from_slice(key.as_bytes());
        k
    }

    pub(crate) fn upload(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
        let mut k = object(bucket, key);
        k.push(0);
        k.extend_from_slice(upload_id.as_bytes());
        k
    }

    pub(crate) fn parts_prefix(upload_id: &str) -> Vec<u8> {
        let mut k = upload_id.as_bytes().to_vec();
        k.push(0);
        k
    }

    pub(crate) fn part(upload_id: &str, part_number: u32) -> Vec<u8> {
        let mut k = parts_prefix(upload_id);
        k.extend_from_slice(&part_number.to_be_bytes());
        k
    }

    pub(crate) fn setting(bucket: &str, name: &str) -> Vec<u8> {
        object(bucket, name)
    }
}

/// The embedded [`Store`]. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

/// State shared by the store and its writers.
pub(crate) struct Inner {
    tmp_dir: PathBuf,
    objects_dir: PathBuf,
    meta: Arc<dyn MetaStore>,
    /// Step 7: one metadata flush for every write committed meanwhile.
    group: GroupCommit,
    /// Taken for reading around transactions that create things in a bucket
    /// (objects, uploads, settings); for writing by `delete_bucket`.
    gate: RwLock<()>,
    /// Data files being read (see `io::Pins`).
    pins: io::Pins,
    /// Injected disk faults (tests only; a no-op type otherwise).
    faults: Faults,
}

/// Checks a write's precondition against the object record under `okey`,
/// inside the commit's transaction (the read joins its read set, so a
/// concurrent commit of the key forces a re-run).
fn check_precondition(
    tx: &dyn Txn,
    okey: &[u8],
    key: &str,
    precondition: &Precondition,
) -> std::result::Result<(), TxError> {
    if *precondition == Precondition::Unconditional {
        return Ok(());
    }
    let current = match tx.get(Space::Objects, okey)? {
        Some(v) => Some(decode::<ObjectRec>(&v)?.etag),
        None => None,
    };
    precondition.check(key, current.as_deref())?;
    Ok(())
}

pub(crate) fn object_meta(key: String, rec: ObjectRec) -> ObjectMeta {
    ObjectMeta {
        key,
        size: rec.size,
        etag: rec.etag,
        last_modified: from_ns(rec.mtime_ns),
        attrs: rec.attrs,
    }
}

/// The documents (settings or store-wide) of `space` whose key starts with
/// `from`, named by their key after its first `skip` bytes, sorted.
fn named_documents(
    meta: &dyn MetaStore,
    space: Space,
    from: &[u8],
    skip: usize,
) -> Result<Vec<(String, Vec<u8>)>> {
    let to = list::successor(from);
    let end = match &to {
        Some(t) => Bound::Excluded(&t[..]),
        None => Bound::Unbounded,
    };
    let mut out = Vec::new();
    for item in meta.range(space, Bound::Included(from), end) {
        let (k, v) = item?;
        let name = String::from_utf8(k[skip..].to_vec())
            .map_err(|_| Error::Corrupt("a document name is not UTF-8".into()))?;
        out.push((name, decode_setting(&v)?));
    }
    Ok(out)
}

/// Store-wide documents share `Space::System` with the layout marker,
/// under this prefix.
const SYSTEM_DOC_PREFIX: &[u8] = b"doc/";

fn system_doc_key(name: &str) -> Vec<u8> {
    [SYSTEM_DOC_PREFIX, name.as_bytes()].concat()
}

fn bucket_info(name: String, rec: BucketRec) -> BucketInfo {
    BucketInfo {
        name,
        created: from_ns(rec.created_ns),
        acl: rec.acl,
        owner: rec.owner,
    }
}

fn etags_equal(a: &str, b: &str) -> bool {
    a.trim_matches('"')
        .eq_ignore_ascii_case(b.trim_matches('"'))
}

/// Resolves a range against an object size: `start..end`, end exclusive.
fn resolve_range(range: Option<ByteRange>, size: u64) -> Result<(u64, u64)> {
    let Some(r) = range else { return Ok((0, size)) };
    if r.start >= size {
        return Err(Error::InvalidRange { size });
    }
    let last = r.end.map_or(size - 1, |e| e.min(size - 1));
    if last < r.start {
        return Err(Error::InvalidRange { size });
    }
    Ok((r.start, last + 1))
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`. **Blocking**: call it
    /// before serving, or from `spawn_blocking`.
    ///
    /// Recovery happens here: leftover temp files are removed (an interrupted
    /// PUT leaves no trace), part records of uploads that no longer exist are
    /// dropped, and data files referenced by no record are deleted. That
    /// sweep reads every object and part record once, so opening a store of
    /// millions of objects takes a few seconds.
    pub fn open(dir: &Path) -> Result<EmbeddedStore> {
        Self::open_inner(dir, Faults::new())
    }

    /// [`EmbeddedStore::open`] with a fault plan the caller keeps a handle
    /// to (tests of disk faults; see [`faults`]).
    #[cfg(any(test, feature = "fault-injection"))]
    pub fn open_with_faults(dir: &Path, faults: Faults) -> Result<EmbeddedStore> {
        Self::open_inner(dir, faults)
    }

    fn open_inner(dir: &Path, faults: Faults) -> Result<EmbeddedStore> {
        let tmp_dir = dir.join("tmp");
        let objects_dir = dir.join("objects");
        std::fs::create_dir_all(&tmp_dir)?;
        for shard in 0..=255u8 {
            std::fs::create_dir_all(objects_dir.join(format!("{shard:02x}")))?;
        }
        io::sync_dir(&objects_dir)?;
        io::sync_dir(dir)?;
        let meta: Arc<dyn MetaStore> = Arc::new(SledMeta::open(&dir.join("meta"))?);
        let group = {
            let (meta, faults) = (Arc::clone(&meta), faults.clone());
            GroupCommit::new(move || {
                faults.check(Step::MetaFlush)?;
                meta.flush()
            })
        };
        let inner = Inner {
            tmp_dir,
            objects_dir,
            meta,
            group,
            gate: RwLock::new(()),
            pins: io::Pins::default(),
            faults,
        };
        inner.check_layout()?;
        inner.recover()?;
        Ok(EmbeddedStore {
            inner: Arc::new(inner),
        })
    }
}

impl Inner {
    pub(crate) fn tmp_path(&self, id: &str) -> PathBuf {
        self.tmp_dir.join(id)
    }

    pub(crate) fn data_path(&self, id: &str) -> PathBuf {
        let shard = id.get(..2).unwrap_or("00");
        self.objects_dir.join(shard).join(id)
    }

    fn read_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_gate(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses a store of a later layout; marks a new store, or one of an
    /// earlier layout this binary reads (`LayoutRec`), with the current one,
    /// so that an older binary refuses it in turn.
    fn check_layout(&self) -> Result<()> {
        let current = encode(&LayoutRec {
            v: LayoutRec::VERSION,
        });
        if let Some(bytes) = self.meta.get(Space::System, b"layout")? {
            decode::<LayoutRec>(&bytes)?;
            if bytes == current {
                return Ok(());
            }
        }
        self.meta.transaction(&mut |tx: &dyn Txn| {
            tx.insert(Space::System, b"layout", &current)?;
            Ok(())
        })?;
        self.meta.flush()
    }

    /// The cleanup half of `open` (see there).
    fn recover(&self) -> Result<()> {
        for entry in std::fs::read_dir(&self.tmp_dir)? {
            let path = entry?.path();
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove temp file");
            }
        }
        // A record that cannot be decoded might reference any file: then
        // nothing is deleted (the store still opens; reading that key
        // reports the corruption).
        let mut sweep_safe = true;
        let mut undecodable = |what: &str, e: Error| {
            tracing::error!(error = %e, "undecodable {what} record; skipping the data file sweep");
            sweep_safe = false;
        };
        let mut live_uploads = HashSet::new();
        for item in self
            .meta
            .range(Space::Uploads, Bound::Unbounded, Bound::Unbounded)
        {
            let (_, v) = item?;
            match decode::<UploadRec>(&v) {
                Ok(rec) => {
                    live_uploads.insert(rec.upload_id);
                }
                Err(e) => undecodable("upload", e),
            }
        }
        let mut referenced = HashSet::new();
        let mut dead_parts = Vec::new();
        for item in self
            .meta
            .range(Space::Parts, Bound::Unbounded, Bound::Unbounded)
        {
            let (k, v) = item?;
            let id_len = k.iter().position(|&b| b == 0).unwrap_or(k.len());
            let upload_id = String::from_utf8_lossy(&k[..id_len]);
            if live_uploads.contains(upload_id.as_ref()) {
                match decode::<PartRec>(&v) {
                    Ok(rec) => referenced.extend(rec.file),
                    Err(e) => undecodable("part", e),
                }
            } else {
                dead_parts.push(k);
            }
        }
        for item in self
            .meta
            .range(Space::Objects, Bound::Unbounded, Bound::Unbounded)
        {
            let (_, v) = item?;
            match decode::<ObjectRec>(&v) {
                Ok(rec) => referenced.extend(rec.segments.into_iter().map(|s| s.id)),
                Err(e) => undecodable("object", e),
            }
        }
        if !sweep_safe {
            return Ok(());
        }
        if !dead_parts.is_empty() {
            tracing::info!(
                count = dead_parts.len(),
                "removing parts of finished uploads"
            );
            self.meta.transaction(&mut |tx: &dyn Txn| {
                for k in &dead_parts {
                    tx.remove(Space::Parts, k)?;
                }
                Ok(())
            })?;
            self.meta.flush()?;
        }
        let mut removed = 0usize;
        for shard in std::fs::read_dir(&self.objects_dir)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(shard.path())? {
                let file = file?;
                let name = file.file_name();
                if !referenced.contains(name.to_string_lossy().as_ref()) {
                    std::fs::remove_file(file.path())?;
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            tracing::info!(count = removed, "removed unreferenced data files");
        }
        Ok(())
    }

    /// Makes the caller's committed transaction durable (step 7, batched
    /// with concurrent writers' by the group commit), then deletes the data
    /// files no record references any more (step 8). Both run to
    /// completion even if the caller's future is dropped.
    async fn flush_and_delete(self: &Arc<Self>, garbage: Vec<String>) -> Result<()> {
        let after: Option<AfterFlush> = if garbage.is_empty() {
            None
        } else {
            let inner = Arc::clone(self);
            Some(Box::new(move || inner.delete_files(garbage)))
        };
        self.group.durable(after).await
    }

    fn bucket_exists(&self, bucket: &str) -> Result<bool> {
        Ok(self.meta.get(Space::Buckets, bucket.as_bytes())?.is_some())
    }

    fn require_bucket(&self, bucket: &str) -> Result<()> {
        if self.bucket_exists(bucket)? {
            Ok(())
        } else {
            Err(Error::NoSuchBucket(bucket.to_string()))
        }
    }

    /// The current record of an object; `NoSuchBucket` or `NoSuchKey`.
    fn object_rec(&self, bucket: &str, key: &str) -> Result<ObjectRec> {
        match self.meta.get(Space::Objects, &keys::object(bucket, key))? {
            Some(v) => decode_shared(&v),
            None => {
                self.require_bucket(bucket)?;
                Err(Error::NoSuchKey(key.to_string()))
            }
        }
    }

    fn upload_rec(&self, bucket: &str, key: &str, upload_id: &str) -> Result<UploadRec> {
        match self
            .meta
            .get(Space::Uploads, &keys::upload(bucket, key, upload_id))?
        {
            Some(v) => decode(&v),
            None => {
                self.require_bucket(bucket)?;
                Err(Error::NoSuchUpload(upload_id.to_string()))
            }
        }
    }

    /// Steps 6–8 for an object. The precondition is checked against the
    /// record the transaction replaces.
    pub(crate) async fn commit_object(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        id: String,
        staged: Staged,
        attrs: ObjectAttrs,
        precondition: &Precondition,
    ) -> Result<ObjectMeta> {
        let segments = match staged.file {
            Some(_) => vec![Segment {
                id,
                size: staged.size,
            }],
            None => Vec::new(),
        };
        let rec = ObjectRec {
            v: ObjectRec::VERSION,
            size: staged.size,
            etag: hex::encode(staged.md5),
            mtime_ns: to_ns(SystemTime::now()),
            attrs,
            segments,
            inline: None,
            body: staged.inline.map(bytes::Bytes::from),
        };
        let bytes = encode(&rec);
        let okey = keys::object(bucket, key);
        let mut replaced = None;
        self.faults.check(Step::MetaCommit)?;
        {
            let _gate = self.read_gate();
            if *precondition == Precondition::Unconditional {
                // One atomic insert, no transaction: the bucket cannot
                // vanish between the check and the insert (`delete_bucket`
                // holds the gate for writing), and the insert returns
                // exactly the record it replaced. sled would write out its
                // log buffer twice for a transaction, where an insert waits
                // for the group's flush (see `MetaStore::insert`).
                if self.meta.get(Space::Buckets, bucket.as_bytes())?.is_none() {
                    return Err(Error::NoSuchBucket(bucket.to_string()));
                }
                replaced = self.meta.insert(Space::Objects, &okey, &bytes)?;
            } else {
                self.meta.transaction(&mut |tx: &dyn Txn| {
                    replaced = None;
                    if tx.get(Space::Buckets, bucket.as_bytes())?.is_none() {
                        return Err(Error::NoSuchBucket(bucket.to_string()).into());
                    }
                    check_precondition(tx, &okey, key, precondition)?;
                    replaced = tx.insert(Space::Objects, &okey, &bytes)?;
                    Ok(())
                })?;
            }
        }
        if let Some(guard) = staged.file {
            guard.disarm();
        }
        let garbage = match replaced {
            Some(old) => garbage_of(&old),
            None => Vec::new(),
        };
        self.flush_and_delete(garbage).await?;
        Ok(object_meta(key.to_string(), rec))
    }

    /// Steps 6–8 for a part.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn commit_part(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        id: String,
        staged: Staged,
        attrs: ObjectAttrs,
    ) -> Result<ObjectMeta> {
        let now = SystemTime::now();
        let rec = PartRec {
            v: PartRec::VERSION,
            size: staged.size,
            etag: hex::encode(staged.md5),
            mtime_ns: to_ns(now),
            checksums: attrs.checksums.clone(),
            crc64_ecma: attrs.crc64_ecma,
            file: staged.file.as_ref().map(|_| id),
        };
        let bytes = encode(&rec);
        let ukey = keys::upload(bucket, key, upload_id);
        let pkey = keys::part(upload_id, part_number);
        let mut replaced = None;
        self.faults.check(Step::MetaCommit)?;
        self.meta.transaction(&mut |tx: &dyn Txn| {
            replaced = None;
            if tx.get(Space::Uploads, &ukey)?.is_none() {
                return Err(Error::NoSuchUpload(upload_id.to_string()).into());
            }
            replaced = tx.insert(Space::Parts, &pkey, &bytes)?;
            Ok(())
        })?;
        if let Some(guard) = staged.file {
            guard.disarm();
        }
        let garbage = match replaced {
            Some(old) => decode::<PartRec>(&old)
                .ok()
                .and_then(|p| p.file)
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        self.flush_and_delete(garbage).await?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: rec.size,
            etag: rec.etag,
            last_modified: now,
            attrs: ObjectAttrs {
                checksums: attrs.checksums,
                crc64_ecma: attrs.crc64_ecma,
                ..ObjectAttrs::default()
            },
        })
    }

    /// Removes every remaining part record of an upload (whose upload record
    /// is already gone, so no new part can be committed) and returns their
    /// data files.
    fn drop_parts(&self, upload_id: &str) -> Result<Vec<String>> {
        let from = keys::parts_prefix(upload_id);
        let to = list::successor(&from);
        let end = match &to {
            Some(t) => Bound::Excluded(&t[..]),
            None => Bound::Unbounded,
        };
        let mut part_keys = Vec::new();
        let mut files = Vec::new();
        for item in self.meta.range(Space::Parts, Bound::Included(&from), end) {
            let (k, v) = item?;
            if let Some(f) = decode::<PartRec>(&v)?.file {
                files.push(f);
            }
            part_keys.push(k);
        }
        if !part_keys.is_empty() {
            self.meta.transaction(&mut |tx: &dyn Txn| {
                for k in &part_keys {
                    tx.remove(Space::Parts, k)?;
                }
                Ok(())
            })?;
        }
        Ok(files)
    }
}

/// The data files of a replaced object record. An undecodable record's
/// files are left for the sweep in `open` rather than failing the write.
fn garbage_of(old: &[u8]) -> Vec<String> {
    match decode::<ObjectRec>(old) {
        Ok(rec) => rec.segments.into_iter().map(|s| s.id).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "replaced an undecodable object record");
            Vec::new()
        }
    }
}

/// An object version opened for reading ([`EmbeddedStore::open_read`]).
enum Opened {
    /// The body kept in the metadata record (the range's bytes).
    Inline(bytes::Bytes),
    /// The data files to read, the first one open, pinned against deletion.
    Files(Vec<io::SegRead>, io::Pin),
    /// Larger than the reader's limit: nothing opened.
    TooLarge,
}

/// A data file of a current version that cannot be found is corruption,
/// not an absent key.
fn missing_file(e: Error, bucket: &str, key: &str) -> Error {
    match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            Error::Corrupt(format!("data file of {bucket}/{key} is missing"))
        }
        other => other,
    }
}

impl EmbeddedStore {
    /// Opens the current version of `bucket/key` for `range` (the whole
    /// object if `None`): its inline body, or its data files pinned, and
    /// the first one opened if `open_first` (a stream's reader reports a
    /// missing file before its first byte; a whole read opens its files in
    /// the same blocking call that reads them). With `limit`, a larger
    /// object is not opened.
    async fn open_read(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
        limit: Option<u64>,
        open_first: bool,
    ) -> Result<(ObjectMeta, Opened)> {
        let mut rec = self.inner.object_rec(bucket, key)?;
        if limit.is_some_and(|l| rec.size > l) {
            return Ok((object_meta(key.to_string(), rec), Opened::TooLarge));
        }
        for _ in 0..READ_ATTEMPTS {
            if let Some(body) = rec.take_inline()? {
                let (start, end) = resolve_range(range, rec.size)?;
                if end as usize > body.len() || start > end {
                    return Err(Error::Corrupt(format!(
                        "inline body of {bucket}/{key} is short"
                    )));
                }
                let chunk = body.slice(start as usize..end as usize);
                return Ok((object_meta(key.to_string(), rec), Opened::Inline(chunk)));
            }
            let pin = self
                .inner
                .pin(rec.segments.iter().map(|s| s.id.clone()).collect());
            // Pinned files are safe only if their version is still current
            // now: a version replaced before this re-read may already have
            // lost its files; one replaced after it sees the pin.
            let current = self.inner.object_rec(bucket, key)?;
            if current.segments != rec.segments {
                drop(pin);
                rec = current;
                if limit.is_some_and(|l| rec.size > l) {
                    return Ok((object_meta(key.to_string(), rec), Opened::TooLarge));
                }
                continue;
            }
            let (start, end) = resolve_range(range, current.size)?;
            let mut plan = io::plan_read(&self.inner, &current.segments, start, end);
            if open_first {
                plan = blocking(move || {
                    io::open_first(&mut plan)
                        .map(|()| plan)
                        .map_err(Error::from)
                })
                .await
                .map_err(|e| missing_file(e, bucket, key))?;
            }
            return Ok((
                object_meta(key.to_string(), current),
                Opened::Files(plan, pin),
            ));
        }
        Err(Error::Io(std::io::Error::other(format!(
            "{bucket}/{key} was replaced {READ_ATTEMPTS} times while being opened"
        ))))
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn create_bucket(&self, name: &str, acl: CannedAcl, owner: &str) -> Result<BucketInfo> {
        let rec = BucketRec {
            v: BucketRec::VERSION,
            created_ns: to_ns(SystemTime::now()),
            acl,
            owner: owner.to_string(),
        };
        let bytes = encode(&rec);
        self.inner.meta.transaction(&mut |tx: &dyn Txn| {
            if tx.get(Space::Buckets, name.as_bytes())?.is_some() {
                return Err(Error::BucketAlreadyOwnedByYou(name.to_string()).into());
            }
            tx.insert(Space::Buckets, name.as_bytes(), &bytes)?;
            Ok(())
        })?;
        self.inner.flush_and_delete(Vec::new()).await?;
        Ok(bucket_info(name.to_string(), rec))
    }

    async fn bucket(&self, name: &str) -> Result<BucketInfo> {
        match self.inner.meta.get(Space::Buckets, name.as_bytes())? {
            Some(v) => Ok(bucket_info(name.to_string(), decode(&v)?)),
            None => Err(Error::NoSuchBucket(name.to_string())),
        }
    }

    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        let mut out = Vec::new();
        for item in self
            .inner
            .meta
            .range(Space::Buckets, Bound::Unbounded, Bound::Unbounded)
        {
            let (k, v) = item?;
            let name = String::from_utf8(k)
                .map_err(|_| Error::Corrupt("bucket name is not UTF-8".into()))?;
            out.push(bucket_info(name, decode(&v)?));
        }
        Ok(out)
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        let garbage = {
            let inner = &self.inner;
            let _gate = inner.write_gate();
            inner.require_bucket(name)?;
            let from = keys::object_prefix(name);
            let to = list::successor(&from);
            let end = match &to {
                Some(t) => Bound::Excluded(&t[..]),
                None => Bound::Unbounded,
            };
            // Objects keep a bucket alive; open multipart uploads do not
            // (as on AWS): they are aborted with it.
            if inner
                .meta
                .range(Space::Objects, Bound::Included(&from), end)
                .next()
                .transpose()?
                .is_some()
            {
                return Err(Error::BucketNotEmpty(name.to_string()));
            }
            let mut settings = Vec::new();
            for item in inner
                .meta
                .range(Space::Settings, Bound::Included(&from), end)
            {
                settings.push(item?.0);
            }
            let mut uploads = Vec::new();
            for item in inner
                .meta
                .range(Space::Uploads, Bound::Included(&from), end)
            {
                let (k, v) = item?;
                uploads.push((k, decode::<UploadRec>(&v)?.upload_id));
            }
            inner.meta.transaction(&mut |tx: &dyn Txn| {
                tx.remove(Space::Buckets, name.as_bytes())?;
                for k in &settings {
                    tx.remove(Space::Settings, k)?;
                }
                for (k, _) in &uploads {
                    tx.remove(Space::Uploads, k)?;
                }
                Ok(())
            })?;
            // The uploads are gone from the metadata: their parts are
            // garbage now, and a crash before they are dropped leaves only
            // unreferenced part files (removed at the next start).
            let mut garbage = Vec::new();
            for (_, upload_id) in &uploads {
                garbage.extend(inner.drop_parts(upload_id)?);
            }
            garbage
        };
        self.inner.flush_and_delete(garbage).await
    }

    async fn set_bucket_acl(&self, name: &str, acl: CannedAcl) -> Result<()> {
        self.inner.meta.transaction(&mut |tx: &dyn Txn| {
            let Some(v) = tx.get(Space::Buckets, name.as_bytes())? else {
                return Err(Error::NoSuchBucket(name.to_string()).into());
            };
            let mut rec: BucketRec = decode(&v)?;
            rec.acl = acl;
            tx.insert(Space::Buckets, name.as_bytes(), &encode(&rec))?;
            Ok(())
        })?;
        self.inner.flush_and_delete(Vec::new()).await
    }

    async fn put_bucket_setting(
        &self,
        bucket: &str,
        name: &str,
        value: Option<Vec<u8>>,
    ) -> Result<()> {
        let skey = keys::setting(bucket, name);
        let record = value.as_deref().map(encode_setting);
        {
            let _gate = self.inner.read_gate();
            self.inner.meta.transaction(&mut |tx: &dyn Txn| {
                if tx.get(Space::Buckets, bucket.as_bytes())?.is_none() {
                    return Err(Error::NoSuchBucket(bucket.to_string()).into());
                }
                match &record {
                    Some(r) => tx.insert(Space::Settings, &skey, r)?,
                    None => tx.remove(Space::Settings, &skey)?,
                };
                Ok(())
            })?;
        }
        self.inner.flush_and_delete(Vec::new()).await
    }

    async fn bucket_setting(&self, bucket: &str, name: &str) -> Result<Option<Vec<u8>>> {
        self.inner.require_bucket(bucket)?;
        match self
            .inner
            .meta
            .get(Space::Settings, &keys::setting(bucket, name))?
        {
            Some(v) => Ok(Some(decode_setting(&v)?)),
            None => Ok(None),
        }
    }

    async fn list_bucket_settings(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        self.inner.require_bucket(bucket)?;
        let base = keys::object_prefix(bucket);
        named_documents(
            &*self.inner.meta,
            Space::Settings,
            &keys::setting(bucket, prefix),
            base.len(),
        )
    }

    async fn system_doc(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.inner.meta.get(Space::System, &system_doc_key(name))? {
            Some(v) => Ok(Some(decode_setting(&v)?)),
            None => Ok(None),
        }
    }

    async fn put_system_doc(&self, name: &str, value: Option<Vec<u8>>) -> Result<()> {
        let key = system_doc_key(name);
        let record = value.as_deref().map(encode_setting);
        {
            let _gate = self.inner.read_gate();
            self.inner.meta.transaction(&mut |tx: &dyn Txn| {
                match &record {
                    Some(r) => tx.insert(Space::System, &key, r)?,
                    None => tx.remove(Space::System, &key)?,
                };
                Ok(())
            })?;
        }
        self.inner.flush_and_delete(Vec::new()).await
    }

    async fn list_system_docs(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        named_documents(
            &*self.inner.meta,
            Space::System,
            &system_doc_key(prefix),
            SYSTEM_DOC_PREFIX.len(),
        )
    }

    async fn object_writer(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectWriter>> {
        self.inner.require_bucket(bucket)?;
        let target = Target::Object {
            bucket: bucket.to_string(),
            key: key.to_string(),
        };
        Ok(Box::new(EmbeddedWriter::new(
            Arc::clone(&self.inner),
            target,
        )?))
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        Ok(object_meta(
            key.to_string(),
            self.inner.object_rec(bucket, key)?,
        ))
    }

    async fn part_span(
        &self,
        bucket: &str,
        key: &str,
        part_number: u32,
    ) -> Result<(ObjectMeta, Option<PartSpan>)> {
        let rec = self.inner.object_rec(bucket, key)?;
        // A completed multipart upload keeps one segment per part, and its
        // ETag says how many (`-n`).
        let span = if rec.etag.contains('-') && !rec.is_inline() {
            let n = part_number as usize;
            rec.segments.get(n.wrapping_sub(1)).map(|seg| PartSpan {
                start: rec.segments[..n - 1].iter().map(|s| s.size).sum(),
                len: seg.size,
                parts_count: u32::try_from(rec.segments.len()).ok(),
            })
        } else {
            (part_number == 1).then_some(PartSpan {
                start: 0,
                len: rec.size,
                parts_count: None,
            })
        };
        Ok((object_meta(key.to_string(), rec), span))
    }

    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<(ObjectMeta, ByteStream)> {
        let (meta, opened) = self.open_read(bucket, key, range, None, true).await?;
        let stream = match opened {
            Opened::Inline(chunk) => {
                Box::pin(futures_util::stream::once(async move { Ok(chunk) })) as ByteStream
            }
            Opened::Files(plan, pin) => io::into_stream(plan, pin),
            // Only a read with a limit is refused as too large.
            Opened::TooLarge => {
                return Err(Error::Io(std::io::Error::other(
                    "a read without a size limit was refused as too large",
                )))
            }
        };
        Ok((meta, stream))
    }

    async fn read_object(
        &self,
        bucket: &str,
        key: &str,
        limit: u64,
    ) -> Result<(ObjectMeta, Option<Vec<u8>>)> {
        let (meta, opened) = self
            .open_read(bucket, key, None, Some(limit), false)
            .await?;
        let bytes = match opened {
            Opened::Inline(chunk) => chunk.to_vec(),
            Opened::TooLarge => return Ok((meta, None)),
            Opened::Files(plan, pin) => {
                let size = meta.size;
                blocking(move || {
                    let all = io::read_all(plan, size);
                    drop(pin);
                    all.map_err(Error::from)
                })
                .await
                .map_err(|e| missing_file(e, bucket, key))?
            }
        };
        Ok((meta, Some(bytes)))
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<bool> {
        let okey = keys::object(bucket, key);
        let mut removed = None;
        self.inner.meta.transaction(&mut |tx: &dyn Txn| {
            removed = None;
            if tx.get(Space::Buckets, bucket.as_bytes())?.is_none() {
                return Err(Error::NoSuchBucket(bucket.to_string()).into());
            }
            removed = tx.remove(Space::Objects, &okey)?;
            Ok(())
        })?;
        match removed {
            Some(old) => {
                self.inner.flush_and_delete(garbage_of(&old)).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn update_object_attrs(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
        precondition: &Precondition,
    ) -> Result<ObjectMeta> {
        let okey = keys::object(bucket, key);
        let mtime_ns = to_ns(SystemTime::now());
        let mut updated = None;
        self.inner.meta.transaction(&mut |tx: &dyn Txn| {
            updated = None;
            let Some(v) = tx.get(Space::Objects, &okey)? else {
                if tx.get(Space::Buckets, bucket.as_bytes())?.is_none() {
                    return Err(Error::NoSuchBucket(bucket.to_string()).into());
                }
                return Err(Error::NoSuchKey(key.to_string()).into());
            };
            let mut rec: ObjectRec = decode(&v)?;
            precondition.check(key, Some(&rec.etag))?;
            rec.attrs = attrs.clone();
            rec.mtime_ns = mtime_ns;
            tx.insert(Space::Objects, &okey, &encode(&rec))?;
            updated = Some(rec);
            Ok(())
        })?;
        self.inner.flush_and_delete(Vec::new()).await?;
        let rec = updated.ok_or_else(|| Error::Corrupt("transaction produced no record".into()))?;
        Ok(object_meta(key.to_string(), rec))
    }

    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<ListPage> {
        self.inner.require_bucket(bucket)?;
        list::list_objects(self.inner.meta.as_ref(), bucket, query)
    }

    async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
    ) -> Result<String> {
        let now = to_ns(SystemTime::now());
        // Time first, so that ids sort by initiation (the listing order).
        let upload_id = format!("{now:016x}{}", io::random_hex(8)?);
        let rec = UploadRec {
            v: UploadRec::VERSION,
            key: key.to_string(),
            upload_id: upload_id.clone(),
            initiated_ns: now,
            attrs,
        };
        let bytes = encode(&rec);
        let ukey = keys::upload(bucket, key, &upload_id);
        {
            let _gate = self.inner.read_gate();
            self.inner.meta.transaction(&mut |tx: &dyn Txn| {
                if tx.get(Space::Buckets, bucket.as_bytes())?.is_none() {
                    return Err(Error::NoSuchBucket(bucket.to_string()).into());
                }
                tx.insert(Space::Uploads, &ukey, &bytes)?;
                Ok(())
            })?;
        }
        self.inner.flush_and_delete(Vec::new()).await?;
        Ok(upload_id)
    }

    async fn part_writer(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
    ) -> Result<Box<dyn ObjectWriter>> {
        self.inner.upload_rec(bucket, key, upload_id)?;
        let target = Target::Part {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: upload_id.to_string(),
            part_number,
        };
        Ok(Box::new(EmbeddedWriter::new(
            Arc::clone(&self.inner),
            target,
        )?))
    }

    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number_marker: u32,
        max_parts: usize,
    ) -> Result<PartsPage> {
        self.inner.upload_rec(bucket, key, upload_id)?;
        let mut page = PartsPage {
            next_part_number_marker: part_number_marker,
            ..PartsPage::default()
        };
        if max_parts == 0 {
            return Ok(page);
        }
        let from = keys::part(upload_id, part_number_marker);
        let to = list::successor(&keys::parts_prefix(upload_id));
        let end = match &to {
            Some(t) => Bound::Excluded(&t[..]),
            None => Bound::Unbounded,
        };
        for item in self
            .inner
            .meta
            .range(Space::Parts, Bound::Excluded(&from), end)
        {
            let (k, v) = item?;
            if page.parts.len() == max_parts {
                page.is_truncated = true;
                break;
            }
            let number_bytes: [u8; 4] = k
                .get(k.len().saturating_sub(4)..)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Error::Corrupt("part key too short".into()))?;
            let part_number = u32::from_be_bytes(number_bytes);
            let rec: PartRec = decode(&v)?;
            page.parts.push(PartMeta {
                part_number,
                size: rec.size,
                etag: rec.etag,
                last_modified: from_ns(rec.mtime_ns),
                checksums: rec.checksums,
                crc64_ecma: rec.crc64_ecma,
            });
            page.next_part_number_marker = part_number;
        }
        Ok(page)
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
        if parts.is_empty() {
            return Err(Error::InvalidPart {
                part_number: 0,
                reason: "no parts listed".into(),
            });
        }
        if parts
            .windows(2)
            .any(|w| w[1].part_number <= w[0].part_number)
        {
            return Err(Error::InvalidPartOrder);
        }
        let ukey = keys::upload(bucket, key, upload_id);
        let okey = keys::object(bucket, key);
        let mtime_ns = to_ns(SystemTime::now());
        let mut outcome: Option<(ObjectRec, Option<Vec<u8>>)> = None;
        self.inner.meta.transaction(&mut |tx: &dyn Txn| {
            outcome = None;
            let Some(v) = tx.get(Space::Uploads, &ukey)? else {
                if tx.get(Space::Buckets, bucket.as_bytes())?.is_none() {
                    return Err(Error::NoSuchBucket(bucket.to_string()).into());
                }
                return Err(Error::NoSuchUpload(upload_id.to_string()).into());
            };
            let upload: UploadRec = decode(&v)?;
            check_precondition(tx, &okey, key, precondition)?;
            let mut md5s = Md5::new();
            let mut segments = Vec::with_capacity(parts.len());
            let mut crcs = Vec::with_capacity(parts.len());
            let mut size = 0u64;
            for (i, p) in parts.iter().enumerate() {
                let pkey = keys::part(upload_id, p.part_number);
                let Some(v) = tx.get(Space::Parts, &pkey)? else {
                    return Err(Error::InvalidPart {
                        part_number: p.part_number,
                        reason: "part was not uploaded".into(),
                    }
                    .into());
                };
                let rec: PartRec = decode(&v)?;
                if !etags_equal(&p.etag, &rec.etag) {
                    return Err(Error::InvalidPart {
                        part_number: p.part_number,
                        reason: format!("ETag {} does not match the uploaded part", p.etag),
                    }
                    .into());
                }
                if i + 1 < parts.len() && rec.size < min_part_size {
                    return Err(Error::EntityTooSmall {
                        part_number: p.part_number,
                        size: rec.size,
                        min: min_part_size,
                    }
                    .into());
                }
                let md5 = hex::decode(&rec.etag).map_err(|_| {
                    Error::Corrupt(format!("part {} has a bad ETag", p.part_number))
                })?;
                md5s.update(&md5);
                if let Some(id) = rec.file {
                    segments.push(Segment { id, size: rec.size });
                }
                crcs.push((rec.crc64_ecma, rec.size));
                size += rec.size;
                tx.remove(Space::Parts, &pkey)?;
            }
            tx.remove(Space::Uploads, &ukey)?;
            // The whole-body CRC follows from the parts' (when each has one);
            // the upload's own attrs never carry one.
            let attrs = ObjectAttrs {
                crc64_ecma: crate::crc64::combine_all(crcs.iter().copied()),
                ..upload.attrs
            };
            let rec = ObjectRec {
                v: ObjectRec::VERSION,
                size,
                etag: format!("{}-{}", hex::encode(md5s.finalize()), parts.len()),
                mtime_ns,
                attrs,
                segments,
                inline: None,
                body: None,
            };
            let replaced = tx.insert(Space::Objects, &okey, &encode(&rec))?;
            outcome = Some((rec, replaced));
            Ok(())
        })?;
        let (rec, replaced) =
            outcome.ok_or_else(|| Error::Corrupt("transaction produced no record".into()))?;
        let mut garbage = replaced.map(|old| garbage_of(&old)).unwrap_or_default();
        garbage.extend(self.inner.drop_parts(upload_id)?);
        self.inner.flush_and_delete(garbage).await?;
        Ok(object_meta(key.to_string(), rec))
    }

    async fn abort_multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        let ukey = keys::upload(bucket, key, upload_id);
        self.inner.meta.transaction(&mut |tx: &dyn Txn| {
            if tx.remove(Space::Uploads, &ukey)?.is_none() {
                if tx.get(Space::Buckets, bucket.as_bytes())?.is_none() {
                    return Err(Error::NoSuchBucket(bucket.to_string()).into());
                }
                return Err(Error::NoSuchUpload(upload_id.to_string()).into());
            }
            Ok(())
        })?;
        let garbage = self.inner.drop_parts(upload_id)?;
        self.inner.flush_and_delete(garbage).await
    }

    async fn multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<MultipartUpload> {
        let rec = self.inner.upload_rec(bucket, key, upload_id)?;
        Ok(MultipartUpload {
            key: rec.key,
            upload_id: rec.upload_id,
            initiated: from_ns(rec.initiated_ns),
            attrs: rec.attrs,
        })
    }

    async fn list_multipart_uploads(
        &self,
        bucket: &str,
        query: &UploadsQuery,
    ) -> Result<UploadsPage> {
        self.inner.require_bucket(bucket)?;
        list::list_uploads(self.inner.meta.as_ref(), bucket, query)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve() {
        assert_eq!(resolve_range(None, 10).unwrap(), (0, 10));
        assert_eq!(resolve_range(None, 0).unwrap(), (0, 0));
        let r = |start, end| Some(ByteRange { start, end });
        assert_eq!(resolve_range(r(2, Some(4)), 10).unwrap(), (2, 5));
        assert_eq!(resolve_range(r(2, Some(400)), 10).unwrap(), (2, 10));
        assert_eq!(resolve_range(r(9, None), 10).unwrap(), (9, 10));
        assert!(matches!(
            resolve_range(r(10, None), 10),
            Err(Error::InvalidRange { size: 10 })
        ));
        assert!(matches!(
            resolve_range(r(0, Some(0)), 0),
            Err(Error::InvalidRange { size: 0 })
        ));
        assert!(matches!(
            resolve_range(r(5, Some(4)), 10),
            Err(Error::InvalidRange { .. })
        ));
    }

    #[test]
    fn etag_comparison_ignores_quotes_and_case() {
        assert!(etags_equal("\"ABC\"", "abc"));
        assert!(!etags_equal("abd", "abc"));
    }
}
