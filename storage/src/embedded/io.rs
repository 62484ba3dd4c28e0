//! File I/O of the embedded store: staging writers (temp file, MD5, fsync,
//! rename), chunked segment readers, and the pins that keep a version's
//! files alive while it is read.
//!
//! All blocking file work runs on tokio's blocking pool, handing owned state
//! (file handle, buffer, hasher) in and out, so no lock or borrow is held
//! across an await. If a future is dropped mid-operation, the state is
//! dropped with the finished blocking task and the temp-file guard cleans up.

use super::faults::{Faults, Step};
use super::Inner;
use crate::error::{Error, Result};
use crate::record::Segment;
use crate::types::{ObjectAttrs, ObjectMeta, Precondition};
use crate::{ByteStream, ObjectWriter};
use async_trait::async_trait;
use bytes::Bytes;
use md5::{Digest, Md5};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Bytes buffered in memory before they are written to the temp file. Large
/// enough that a big body is written in few, large `write`s (near disk
/// speed); small bodies never touch the disk before commit.
pub(crate) const WRITE_BUF: usize = 1024 * 1024;

/// Object bodies up to this size are stored inside their metadata record
/// (no data file, so no file and directory fsync). Parts never are: they
/// become segments of the final object.
pub(crate) const INLINE_MAX: u64 = 4096;

/// Size of the chunks a [`ByteStream`] yields when reading an object.
pub(crate) const READ_CHUNK: u64 = 256 * 1024;

/// Runs blocking file work off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Io(io::Error::other(e)))?
}

/// A fresh random id for a data file or upload (128 bits, hex).
pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::Io(io::Error::other(e.to_string())))?;
    Ok(hex::encode(buf))
}

/// fsyncs a directory so that a rename into it is durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes a file on drop unless disarmed: the reason an interrupted or
/// failed write leaves nothing behind. Follows the file through its rename.
pub(crate) struct FileGuard {
    path: PathBuf,
    armed: bool,
}

impl FileGuard {
    fn new(path: PathBuf) -> FileGuard {
        FileGuard { path, armed: true }
    }

    /// The data now belongs to a committed record.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for FileGuard {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = std::fs::remove_file(&self.path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot remove staged file");
                }
            }
        }
    }
}

/// What a writer is writing.
pub(crate) enum Target {
    Object {
        bucket: String,
        key: String,
    },
    Part {
        bucket: String,
        key: String,
        upload_id: String,
        part_number: u32,
    },
}

/// The part of a writer's state that travels to the blocking pool.
struct Spill {
    /// The temp file, created at the first spill.
    file: Option<(File, FileGuard)>,
    md5: Md5,
}

impl Spill {
    fn append(&mut self, faults: &Faults, tmp_path: &Path, buf: &[u8]) -> io::Result<()> {
        self.md5.update(buf);
        let (file, _) = match &mut self.file {
            Some(f) => f,
            None => {
                let f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(tmp_path)?;
                self.file
                    .insert((f, FileGuard::new(tmp_path.to_path_buf())))
            }
        };
        faults.write_all(file, buf)
    }
}

/// A body staged durably in its final data file, not yet referenced by any
/// record (so the guard still owns it).
pub(crate) struct Staged {
    pub md5: [u8; 16],
    pub size: u64,
    /// `None` for an empty or inline body, which needs no data file.
    pub file: Option<FileGuard>,
    /// The body of a small object, to be stored in its record.
    pub inline: Option<Vec<u8>>,
}

/// [`ObjectWriter`] of the embedded store.
pub(crate) struct EmbeddedWriter {
    inner: Arc<Inner>,
    target: Target,
    /// The data file id this body will get.
    id: String,
    buf: Vec<u8>,
    /// `None` once a spill failed or was cancelled: the writer is unusable.
    spill: Option<Spill>,
    written: u64,
    /// Checked in the commit transaction (objects only).
    precondition: Precondition,
}

fn broken() -> Error {
    Error::Io(io::Error::other(
        "writer is unusable after an earlier failure",
    ))
}

impl EmbeddedWriter {
    pub(crate) fn new(inner: Arc<Inner>, target: Target) -> Result<EmbeddedWriter> {
        Ok(EmbeddedWriter {
            inner,
            target,
            id: random_hex(16)?,
            buf: Vec::new(),
            spill: Some(Spill {
                file: None,
                md5: Md5::new(),
            }),
            written: 0,
            precondition: Precondition::Unconditional,
        })
    }

    async fn spill_buf(&mut self) -> Result<()> {
        let mut spill = self.spill.take().ok_or_else(broken)?;
        let mut buf = std::mem::take(&mut self.buf);
        let tmp = self.inner.tmp_path(&self.id);
        let inner = Arc::clone(&self.inner);
        let (spill, buf) = blocking(move || {
            spill.append(&inner.faults, &tmp, &buf)?;
            buf.clear();
            Ok((spill, buf))
        })
        .await?;
        self.spill = Some(spill);
        self.buf = buf;
        Ok(())
    }
}

/// Steps 2–5 of the durable write (see the module doc of `embedded`).
#[allow(clippy::too_many_arguments)]
fn finish(
    faults: &Faults,
    mut spill: Spill,
    buf: Vec<u8>,
    size: u64,
    expected_md5: Option<[u8; 16]>,
    inline_ok: bool,
    tmp: PathBuf,
    dest: PathBuf,
) -> Result<Staged> {
    spill.md5.update(&buf);
    let md5: [u8; 16] = spill.md5.finalize().into();
    if expected_md5.is_some_and(|e| e != md5) {
        return Err(Error::BadDigest);
    }
    if size == 0 {
        return Ok(Staged {
            md5,
            size,
            file: None,
            inline: None,
        });
    }
    if inline_ok && size <= INLINE_MAX && spill.file.is_none() {
        return Ok(Staged {
            md5,
            size,
            file: None,
            inline: Some(buf),
        });
    }
    let (mut file, mut guard) = match spill.file.take() {
        Some(f) => f,
        None => {
            let f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            (f, FileGuard::new(tmp.clone()))
        }
    };
    faults.write_all(&mut file, &buf)?;
    faults.check(Step::Fsync)?;
    file.sync_data()?;
    drop(file);
    faults.check(Step::Rename)?;
    std::fs::rename(&tmp, &dest)?;
    guard.path = dest;
    if let Some(dir) = guard.path.parent() {
        faults.check(Step::DirFsync)?;
        sync_dir(dir)?;
    }
    Ok(Staged {
        md5,
        size,
        file: Some(guard),
        inline: None,
    })
}

#[async_trait]
impl ObjectWriter for EmbeddedWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if self.spill.is_none() {
            return Err(broken());
        }
        self.buf.extend_from_slice(chunk);
        self.written += chunk.len() as u64;
        if self.buf.len() >= WRITE_BUF {
            self.spill_buf().await?;
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn require(&mut self, precondition: Precondition) {
        self.precondition = precondition;
    }

    async fn commit(
        mut self: Box<Self>,
        attrs: ObjectAttrs,
        expected_md5: Option<[u8; 16]>,
    ) -> Result<ObjectMeta> {
        let spill = self.spill.take().ok_or_else(broken)?;
        let buf = std::mem::take(&mut self.buf);
        let size = self.written;
        let tmp = self.inner.tmp_path(&self.id);
        let dest = self.inner.data_path(&self.id);
        let inline_ok = matches!(self.target, Target::Object { .. });
        // An empty or inline body touches no file: `finish` only hashes its
        // at most 4 KiB, cheaper than the two thread wake-ups of a round trip
        // through the blocking pool.
        let no_file = spill.file.is_none() && (size == 0 || (inline_ok && size <= INLINE_MAX));
        let inner = Arc::clone(&self.inner);
        let run = move || {
            finish(
                &inner.faults,
                spill,
                buf,
                size,
                expected_md5,
                inline_ok,
                tmp,
                dest,
            )
        };
        let staged = if no_file {
            run()?
        } else {
            blocking(run).await?
        };
        let this = *self;
        match this.target {
            Target::Object { bucket, key } => {
                this.inner
                    .commit_object(&bucket, &key, this.id, staged, attrs, &this.precondition)
                    .await
            }
            Target::Part {
                bucket,
                key,
                upload_id,
                part_number,
            } => {
                this.inner
                    .commit_part(
                        &bucket,
                        &key,
                        &upload_id,
                        part_number,
                        this.id,
                        staged,
                        attrs,
                    )
                    .await
            }
        }
    }
}

/// The part of one segment file a read covers.
pub(crate) struct SegRead {
    path: PathBuf,
    offset: u64,
    remaining: u64,
    file: Option<File>,
}

impl SegRead {
    fn open(&mut self) -> io::Result<&mut File> {
        let file = match self.file.take() {
            Some(f) => f,
            None => {
                let mut f = File::open(&self.path)?;
                f.seek(SeekFrom::Start(self.offset))?;
                f
            }
        };
        Ok(self.file.insert(file))
    }

    fn read_chunk(&mut self) -> io::Result<Bytes> {
        let n = self.remaining.min(READ_CHUNK) as usize;
        let mut buf = vec![0u8; n];
        self.open()?.read_exact(&mut buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                shorter_than_record()
            } else {
                e
            }
        })?;
        self.remaining -= n as u64;
        Ok(Bytes::from(buf))
    }
}

/// A data file that ends before the bytes its metadata record promises.
fn shorter_than_record() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "data file is shorter than its metadata record",
    )
}

/// Every byte `plan` covers, `size` in all, in one buffer: the whole-object
/// read of [`crate::Store::read_object`], done in one blocking call.
pub(crate) fn read_all(mut plan: Vec<SegRead>, size: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(size).map_err(io::Error::other)?);
    for seg in &mut plan {
        let want = seg.remaining;
        // Into the spare capacity, which is not zeroed first.
        let got = seg.open()?.take(want).read_to_end(&mut out)?;
        if got as u64 != want {
            return Err(shorter_than_record());
        }
        seg.remaining = 0;
    }
    Ok(out)
}

/// The segment pieces covering bytes `start..end` (exclusive) of an object.
pub(crate) fn plan_read(inner: &Inner, segments: &[Segment], start: u64, end: u64) -> Vec<SegRead> {
    let mut out = Vec::new();
    let mut seg_start = 0u64;
    for seg in segments {
        let seg_end = seg_start + seg.size;
        let lo = start.max(seg_start);
        let hi = end.min(seg_end);
        if lo < hi {
            out.push(SegRead {
                path: inner.data_path(&seg.id),
                offset: lo - seg_start,
                remaining: hi - lo,
                file: None,
            });
        }
        seg_start = seg_end;
        if seg_start >= end {
            break;
        }
    }
    out
}

/// Opens the first file of a plan, so that a missing file is reported by
/// `get_object` rather than in the middle of the stream.
pub(crate) fn open_first(plan: &mut [SegRead]) -> io::Result<()> {
    if let Some(seg) = plan.first_mut() {
        seg.open()?;
    }
    Ok(())
}

/// Data files being read, so that deleting a replaced version's files waits
/// for its last reader. Unlike relying on open file handles alone, this
/// keeps every segment of a many-part object readable while holding at
/// most one file open per read.
#[derive(Default)]
pub(crate) struct Pins {
    state: Mutex<PinState>,
}

#[derive(Default)]
struct PinState {
    /// Reader count by data file id.
    readers: HashMap<String, usize>,
    /// Pinned files no record references any more: deleted on last unpin.
    doomed: HashSet<String>,
}

impl Pins {
    fn lock(&self) -> std::sync::MutexGuard<'_, PinState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A reader's hold on the data files of the version it reads; released
/// when the stream ends or is dropped.
pub(crate) struct Pin {
    inner: Arc<Inner>,
    ids: Vec<String>,
}

impl Inner {
    /// Pins files. Only safe once the caller has checked, after pinning,
    /// that a current record still references them: a version replaced
    /// after that check has its files deferred by [`Inner::delete_files`].
    pub(crate) fn pin(self: &Arc<Self>, ids: Vec<String>) -> Pin {
        let mut state = self.pins.lock();
        for id in &ids {
            *state.readers.entry(id.clone()).or_default() += 1;
        }
        Pin {
            inner: Arc::clone(self),
            ids,
        }
    }

    /// Deletes data files that no record references any more, or defers
    /// that to their last reader. Blocking.
    pub(crate) fn delete_files(&self, ids: Vec<String>) {
        let mut now = Vec::with_capacity(ids.len());
        {
            let mut state = self.pins.lock();
            for id in ids {
                if state.readers.contains_key(&id) {
                    state.doomed.insert(id);
                } else {
                    now.push(id);
                }
            }
        }
        for id in now {
            self.remove_data_file(&id);
        }
    }

    pub(crate) fn remove_data_file(&self, id: &str) {
        let path = self.data_path(id);
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove data file");
            }
        }
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut unlink = Vec::new();
        {
            let mut state = self.inner.pins.lock();
            for id in &self.ids {
                if let Some(n) = state.readers.get_mut(id) {
                    *n -= 1;
                    if *n == 0 {
                        state.readers.remove(id);
                        if state.doomed.remove(id) {
                            unlink.push(id.clone());
                        }
                    }
                }
            }
        }
        for id in unlink {
            self.inner.remove_data_file(&id);
        }
    }
}

/// Streams a plan in chunks of at most [`READ_CHUNK`] bytes, opening each
/// file when the stream reaches it; the pin is released with the stream.
pub(crate) fn into_stream(plan: Vec<SegRead>, pin: Pin) -> ByteStream {
    let queue: VecDeque<SegRead> = plan.into();
    Box::pin(futures_util::stream::unfold(
        (queue, pin),
        |(mut queue, pin)| async move {
            let mut seg = queue.pop_front()?;
            let read = tokio::task::spawn_blocking(move || {
                let chunk = seg.read_chunk();
                (seg, chunk)
            })
            .await;
            match read {
                Ok((seg, Ok(chunk))) => {
                    if seg.remaining > 0 {
                        queue.push_front(seg);
                    }
                    Some((Ok(chunk), (queue, pin)))
                }
                Ok((_, Err(e))) => Some((Err(e), (VecDeque::new(), pin))),
                Err(e) => Some((Err(io::Error::other(e)), (VecDeque::new(), pin))),
            }
        },
    ))
}
