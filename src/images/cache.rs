//! The processed-variant cache: a bounded directory of finished outputs,
//! with the small ones also held in memory in front of it.
//!
//! A variant is a pure function of (bucket, key, source ETag and
//! Last-Modified, canonical pipeline, dialect renderer), so its cache key is
//! the SHA-256 of exactly those; a source overwrite changes the key, so a
//! stale variant can never be served, and old ones age out by LRU.
//!
//! Layout: `<dir>/<2 hex>/<64 hex>`, each file `[u16 BE length][content
//! type][bytes]`. Files are written to `<dir>/tmp/` and renamed into place,
//! so a crash never leaves a torn entry visible. The index (size, last use)
//! lives in memory and is rebuilt from the directory on start-up (file
//! modification time standing in for the last use). Cache failures are
//! never request failures: a broken cache only costs recomputation.
//!
//! The memory tier holds entries of at most [`SMALL_ENTRY_MAX`] encoded
//! bytes that were recently read or written, within its own byte budget
//! (`processing.cache_memory_bytes`), evicted by CLOCK. A hit there is a
//! hash lookup and two reference-count increments: no file, no copy. It
//! holds only keys the disk index holds (both live under one lock, and
//! every path that drops a disk entry drops its memory copy), so it adds
//! no staleness of its own; its content cannot go stale either, as the
//! key names the source version. Starting empty, it is not persisted.

use bytes::Bytes;
use http::HeaderValue;
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// Largest encoded entry (type and bytes) the memory tier holds. A
/// thumbnail this size is what a hot image page asks for again and again;
/// larger variants are fewer, costlier to produce than to read, and would
/// crowd many small ones out of the budget.
pub const SMALL_ENTRY_MAX: u64 = 64 << 10;

/// One cached output. Cloning it shares the bytes and the type (reference
/// counts), so the memory tier hands out the same buffer to every hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `Content-Type` of the output, checked as a header value once, when
    /// the entry is made or read, and shared by every answer carrying it.
    pub content_type: HeaderValue,
    /// The output bytes.
    pub bytes: Bytes,
}

/// Where [`Cache::lookup`] found an entry.
#[derive(Debug)]
pub enum Lookup {
    /// In memory: the entry itself.
    Memory(Entry),
    /// Only on disk, `size` bytes as stored: [`Cache::read`] it.
    Disk {
        /// The stored size (type and bytes, with their header).
        size: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    size: u64,
    /// Monotonic use counter (higher = more recent).
    used: u64,
}

#[derive(Debug, Default)]
struct Index {
    slots: HashMap<String, Slot>,
    total: u64,
    clock: u64,
    /// The memory tier: a subset of `slots`, kept under the same lock so
    /// that no path can drop one without the other.
    hot: Hot,
}

/// The memory tier: small entries within a byte budget, evicted by CLOCK
/// (second chance), so that a hit only sets a flag instead of relinking
/// a list.
#[derive(Debug, Default)]
struct Hot {
    budget: u64,
    total: u64,
    entries: HashMap<String, HotEntry>,
    /// Keys in the order the hand visits them (front first), each with
    /// the generation it was inserted with. A key removed or re-inserted
    /// since leaves a stale pair here, skipped by the hand and dropped by
    /// [`Hot::compact`].
    ring: VecDeque<(String, u64)>,
    generation: u64,
    /// Lookups answered from memory since the cache was opened.
    hits: u64,
}

#[derive(Debug)]
struct HotEntry {
    entry: Entry,
    size: u64,
    generation: u64,
    /// Hit since the hand last passed: spared once.
    referenced: bool,
}

impl Hot {
    fn get(&mut self, key: &str) -> Option<Entry> {
        let e = self.entries.get_mut(key)?;
        e.referenced = true;
        self.hits += 1;
        Some(e.entry.clone())
    }

    /// Holds `entry` (stored as `size` bytes), evicting until the tier is
    /// within its budget. An entry the tier cannot hold is not stored.
    fn insert(&mut self, key: &str, entry: Entry, size: u64) {
        if size > SMALL_ENTRY_MAX || size > self.budget {
            return;
        }
        self.remove(key);
        self.generation += 1;
        let generation = self.generation;
        // Unreferenced until hit again: a variant asked for once is the
        // first to go, and a hot set survives a scan of one-off variants.
        let e = HotEntry {
            entry,
            size,
            generation,
            referenced: false,
        };
        self.entries.insert(key.to_string(), e);
        self.ring.push_back((key.to_string(), generation));
        self.total += size;
        // Ends: each pass clears the flags it spares, and the entry just
        // inserted fits the budget on its own.
        while self.total > self.budget {
            let Some((k, g)) = self.ring.pop_front() else {
                break;
            };
            match self.entries.get_mut(&k) {
                Some(e) if e.generation == g && e.referenced => {
                    e.referenced = false;
                    self.ring.push_back((k, g));
                }
                Some(e) if e.generation == g => {
                    self.total -= e.size;
                    self.entries.remove(&k);
                }
                // Removed or re-inserted since: a stale pair.
                _ => {}
            }
        }
        self.compact();
    }

    fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.total -= e.size;
        }
    }

    /// Drops stale ring pairs once they outnumber the live ones, so that
    /// removals without evictions cannot grow the ring without bound
    /// (amortized O(1) per removal).
    fn compact(&mut self) {
        if self.ring.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.ring
                .retain(|(k, g)| entries.get(k).is_some_and(|e| e.generation == *g));
        }
    }
}

/// A bounded on-disk cache of processed variants, the small ones also in
/// memory.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
    /// Entries evicted since the cache was opened (`/-/metrics`).
    evicted: AtomicU64,
}

impl Cache {
    /// Opens (creating) the cache in `dir`, bounded to `max_bytes` on disk
    /// and `memory_bytes` in memory (`0`: no memory tier). Leftover temp
    /// files are removed; existing entries are indexed.
    pub fn open(dir: PathBuf, max_bytes: u64, memory_bytes: u64) -> std::io::Result<Cache> {
        let tmp = dir.join("tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        let mut found: Vec<(SystemTime, String, u64)> = Vec::new();
        for shard in std::fs::read_dir(&dir)?.flatten() {
            let name = shard.file_name().to_string_lossy().into_owned();
            if name.len() != 2 || !shard.path().is_dir() {
                continue;
            }
            for f in std::fs::read_dir(shard.path())?.flatten() {
                let key = f.file_name().to_string_lossy().into_owned();
                if let Ok(m) = f.metadata() {
                    let t = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    found.push((t, key, m.len()));
                }
            }
        }
        found.sort();
        let mut index = Index::default();
        index.hot.budget = memory_bytes;
        for (_, key, size) in found {
            index.clock += 1;
            index.total += size;
            let used = index.clock;
            index.slots.insert(key, Slot { size, used });
        }
        let cache = Cache {
            dir,
            max_bytes,
            index: Mutex::new(index),
            evicted: AtomicU64::new(0),
        };
        cache.evict();
        Ok(cache)
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2.min(key.len())]).join(key)
    }

    /// The cached output for `key`, marking it as recently used. Reads
    /// the file unless the entry is in memory.
    pub fn get(&self, key: &str) -> Option<Entry> {
        match self.lookup(key)? {
            Lookup::Memory(e) => Some(e),
            Lookup::Disk { .. } => self.read(key),
        }
    }

    /// Where the entry for `key` is, marking it as recently used: the
    /// entry itself if it is in memory (no I/O), else its stored size, for
    /// the caller to choose where to [`Cache::read`] it.
    pub fn lookup(&self, key: &str) -> Option<Lookup> {
        let mut idx = self.index.lock().ok()?;
        idx.clock += 1;
        let now = idx.clock;
        // The disk index learns of memory hits too: a variant served only
        // from memory must not age out on disk, which would drop it here.
        let slot = idx.slots.get_mut(key)?;
        slot.used = now;
        let size = slot.size;
        Some(match idx.hot.get(key) {
            Some(e) => Lookup::Memory(e),
            None => Lookup::Disk { size },
        })
    }

    /// Reads the entry for `key` from its file (blocking I/O), and keeps
    /// it in memory if it is small and still indexed.
    pub fn read(&self, key: &str) -> Option<Entry> {
        let data = Bytes::from(std::fs::read(self.path(key)).ok()?);
        let size = data.len() as u64;
        let Some(entry) = decode(data) else {
            // Unreadable entry (should not happen with rename): drop it.
            self.remove(key);
            return None;
        };
        if let Ok(mut idx) = self.index.lock() {
            // Evicted while the file was read: a memory copy would outlive
            // its disk entry and escape the index's bookkeeping.
            if idx.slots.contains_key(key) {
                idx.hot.insert(key, entry.clone(), size);
            }
        }
        Some(entry)
    }

    /// Stores an output, then evicts least-recently-used entries until the
    /// total is within bounds. Entries larger than the whole cache are not
    /// stored.
    pub fn put(&self, key: &str, entry: &Entry) {
        let data = encode(entry);
        let size = data.len() as u64;
        if size > self.max_bytes || key.len() < 2 {
            return;
        }
        if let Err(e) = self.write_atomic(key, &data) {
            tracing::warn!(error = %e, "cannot write a processed variant to the cache");
            return;
        }
        // The memory copy shares the encoded buffer, which is exactly
        // `size` bytes, so the tier's accounting is its real footprint
        // (an encoder's output may have spare capacity).
        let hot = (size <= SMALL_ENTRY_MAX)
            .then(|| decode(Bytes::from(data)))
            .flatten();
        if let Ok(mut idx) = self.index.lock() {
            idx.clock += 1;
            let used = idx.clock;
            if let Some(old) = idx.slots.insert(key.to_string(), Slot { size, used }) {
                idx.total -= old.size;
            }
            idx.total += size;
            if let Some(e) = hot {
                idx.hot.insert(key, e, size);
            }
        }
        self.evict();
    }

    fn write_atomic(&self, key: &str, data: &[u8]) -> std::io::Result<()> {
        let target = self.path(key);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = self
            .dir
            .join("tmp")
            .join(format!("{key}.{}", SEQ.fetch_add(1, Ordering::Relaxed)));
        let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(data));
        // No fsync: a lost entry after a crash is only recomputed.
        let result = written.and_then(|()| std::fs::rename(&tmp, &target));
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Drops the entry for `key`, from memory and disk. Every removal
    /// (eviction, a corrupt file) comes through here, which is what keeps
    /// the memory tier a subset of the disk index.
    pub fn remove(&self, key: &str) {
        if let Ok(mut idx) = self.index.lock() {
            if let Some(s) = idx.slots.remove(key) {
                idx.total -= s.size;
            }
            idx.hot.remove(key);
        }
        let _ = std::fs::remove_file(self.path(key));
    }

    fn evict(&self) {
        loop {
            let victim = {
                let Ok(idx) = self.index.lock() else { return };
                if idx.total <= self.max_bytes {
                    return;
                }
                idx.slots
                    .iter()
                    .min_by_key(|(_, s)| s.used)
                    .map(|(k, _)| k.clone())
            };
            match victim {
                Some(k) => {
                    self.remove(&k);
                    self.evicted.fetch_add(1, Ordering::Relaxed);
                }
                None => return,
            }
        }
    }

    /// Bytes currently held on disk (for tests and logs).
    pub fn total_bytes(&self) -> u64 {
        self.index.lock().map(|i| i.total).unwrap_or(0)
    }

    /// Bytes of the entries held in memory (as stored: type and bytes,
    /// with their header), also counted in [`Cache::total_bytes`].
    pub fn memory_bytes(&self) -> u64 {
        self.index.lock().map(|i| i.hot.total).unwrap_or(0)
    }

    /// Lookups answered from memory since the cache was opened.
    pub fn memory_hits(&self) -> u64 {
        self.index.lock().map(|i| i.hot.hits).unwrap_or(0)
    }

    /// Whether the entry for `key` is in memory (without touching its
    /// recency).
    pub fn in_memory(&self, key: &str) -> bool {
        self.index
            .lock()
            .map(|i| i.hot.entries.contains_key(key))
            .unwrap_or(false)
    }

    /// Entries evicted since the cache was opened.
    pub fn evictions(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// The stored size of the entry for `key`, if there is one (without
    /// touching its recency).
    pub fn size_of(&self, key: &str) -> Option<u64> {
        self.index.lock().ok()?.slots.get(key).map(|s| s.size)
    }

    /// Whether an entry exists for `key` (without touching its recency).
    pub fn contains(&self, key: &str) -> bool {
        self.index
            .lock()
            .map(|i| i.slots.contains_key(key))
            .unwrap_or(false)
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn encode(e: &Entry) -> Vec<u8> {
    let ct = e.content_type.as_bytes();
    let ct = &ct[..ct.len().min(u16::MAX as usize)];
    let mut out = Vec::with_capacity(2 + ct.len() + e.bytes.len());
    out.extend_from_slice(&(ct.len() as u16).to_be_bytes());
    out.extend_from_slice(ct);
    out.extend_from_slice(&e.bytes);
    out
}

/// The entry in `data`; its bytes are a slice of `data`, not a copy.
fn decode(data: Bytes) -> Option<Entry> {
    let n = u16::from_be_bytes([*data.first()?, *data.get(1)?]) as usize;
    data.get(2..2 + n)?;
    Some(Entry {
        content_type: HeaderValue::from_maybe_shared(data.slice(2..2 + n)).ok()?,
        bytes: data.slice(2 + n..),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(i: u32) -> String {
        format!("{:064x}", i)
    }

    fn e(n: usize) -> Entry {
        Entry {
            content_type: HeaderValue::from_static("image/png"),
            bytes: vec![7; n].into(),
        }
    }

    /// A stored entry's type comes back as the header value it was; one
    /// that is no header value is no entry (a miss, never a bad header).
    #[test]
    fn entry_types_round_trip_as_header_values() {
        for t in ["image/jpeg", "image/heic", "application/json"] {
            let e = Entry {
                content_type: HeaderValue::from_static(t),
                bytes: Bytes::from_static(b"xy"),
            };
            let back = decode(Bytes::from(encode(&e))).unwrap();
            assert_eq!(back.content_type, t);
            assert_eq!(back, e);
        }
        let mut bad = vec![0, 9];
        bad.extend_from_slice(b"bad\nvalue");
        bad.extend_from_slice(b"xy");
        assert!(decode(Bytes::from(bad)).is_none());
    }

    /// The stored size of `e(n)`: the bytes, the type and its length.
    const HEADER: u64 = 9 + 2;

    #[test]
    fn round_trip_eviction_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("c"), 3000, 0).unwrap();
        cache.put(&key(1), &e(1000));
        cache.put(&key(2), &e(1000));
        assert_eq!(cache.get(&key(1)), Some(e(1000)));
        // Key 2 is now the least recently used: the third put evicts it.
        cache.put(&key(3), &e(1000));
        assert!(cache.total_bytes() <= 3000);
        assert!(cache.contains(&key(1)));
        assert!(!cache.contains(&key(2)));
        assert!(cache.get(&key(2)).is_none());
        assert_eq!(cache.size_of(&key(1)), Some(1000 + HEADER));
        assert_eq!(cache.size_of(&key(2)), None);
        // Larger than the whole cache: not stored.
        cache.put(&key(4), &e(5000));
        assert!(!cache.contains(&key(4)));
        // Without a memory tier, nothing is held in memory.
        assert_eq!(cache.memory_bytes(), 0);
        assert!(matches!(cache.lookup(&key(1)), Some(Lookup::Disk { .. })));
        drop(cache);
        let cache = Cache::open(dir.path().join("c"), 3000, 0).unwrap();
        assert_eq!(cache.get(&key(3)), Some(e(1000)));
        assert!(cache.total_bytes() > 0);
    }

    #[test]
    fn a_put_is_served_from_memory_without_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("c"), 1 << 20, 1 << 20).unwrap();
        cache.put(&key(1), &e(1000));
        assert_eq!(cache.memory_bytes(), 1000 + HEADER);
        // The file is gone, yet the hit is answered: it never read it.
        std::fs::remove_file(cache.path(&key(1))).unwrap();
        let Some(Lookup::Memory(a)) = cache.lookup(&key(1)) else {
            panic!("not in memory")
        };
        assert_eq!(a, e(1000));
        // Every hit shares one buffer.
        let b = cache.get(&key(1)).unwrap();
        assert_eq!(a.bytes.as_ptr(), b.bytes.as_ptr());
        assert_eq!(cache.memory_hits(), 2);
    }

    #[test]
    fn a_disk_read_is_kept_in_memory_when_small() {
        let dir = tempfile::tempdir().unwrap();
        let big = SMALL_ENTRY_MAX as usize;
        {
            let cache = Cache::open(dir.path().join("c"), 1 << 20, 0).unwrap();
            cache.put(&key(1), &e(1000));
            cache.put(&key(2), &e(big));
        }
        // Reopened: the memory tier starts empty.
        let cache = Cache::open(dir.path().join("c"), 1 << 20, 1 << 20).unwrap();
        assert_eq!(cache.memory_bytes(), 0);
        assert!(matches!(cache.lookup(&key(1)), Some(Lookup::Disk { .. })));
        assert_eq!(cache.read(&key(1)), Some(e(1000)));
        assert!(cache.in_memory(&key(1)));
        assert!(matches!(cache.lookup(&key(1)), Some(Lookup::Memory(_))));
        // Over SMALL_ENTRY_MAX once stored (its header): disk only.
        assert_eq!(cache.get(&key(2)), Some(e(big)));
        assert!(!cache.in_memory(&key(2)));
        assert_eq!(cache.memory_bytes(), 1000 + HEADER);
    }

    #[test]
    fn the_memory_budget_holds_and_spares_what_was_hit() {
        let dir = tempfile::tempdir().unwrap();
        let size = 1000 + HEADER;
        let cache = Cache::open(dir.path().join("c"), 1 << 20, 3 * size).unwrap();
        for i in 1..=3 {
            cache.put(&key(i), &e(1000));
        }
        assert_eq!(cache.memory_bytes(), 3 * size);
        cache.get(&key(1)).unwrap();
        // Key 1 was hit: the fourth entry takes key 2's place.
        cache.put(&key(4), &e(1000));
        assert_eq!(cache.memory_bytes(), 3 * size);
        assert!(cache.in_memory(&key(1)));
        assert!(!cache.in_memory(&key(2)));
        assert!(cache.in_memory(&key(3)));
        assert!(cache.in_memory(&key(4)));
        // Still on disk, and read back into memory on the next request.
        assert!(cache.contains(&key(2)));
        assert_eq!(cache.get(&key(2)), Some(e(1000)));
        assert!(cache.in_memory(&key(2)));
        assert!(cache.memory_bytes() <= 3 * size);
        // Larger than the whole tier: not held.
        let tiny = Cache::open(dir.path().join("t"), 1 << 20, 500).unwrap();
        tiny.put(&key(1), &e(1000));
        assert!(tiny.contains(&key(1)));
        assert!(!tiny.in_memory(&key(1)));
        // Churn: within the budget, and the ring compacted (at most
        // 2 × 3 + 64 pairs after an insert, one more stale per removal).
        for i in 10..2000 {
            cache.put(&key(i), &e(1000));
            cache.remove(&key(i - 1));
        }
        assert!(cache.memory_bytes() <= 3 * size);
        assert!(cache.index.lock().unwrap().hot.ring.len() <= 80);
    }

    #[test]
    fn removal_and_disk_eviction_drop_the_memory_copy() {
        let dir = tempfile::tempdir().unwrap();
        let size = 1000 + HEADER;
        // Room for two on disk, all in memory.
        let cache = Cache::open(dir.path().join("c"), 2 * size, 1 << 20).unwrap();
        cache.put(&key(1), &e(1000));
        cache.put(&key(2), &e(1000));
        cache.remove(&key(1));
        assert!(!cache.in_memory(&key(1)));
        assert!(cache.get(&key(1)).is_none());
        assert_eq!(cache.memory_bytes(), size);
        // Key 2 evicted from disk by LRU leaves memory with it, although
        // memory had room.
        cache.put(&key(3), &e(1000));
        cache.get(&key(3)).unwrap();
        cache.put(&key(4), &e(1000));
        assert!(!cache.contains(&key(2)));
        assert!(!cache.in_memory(&key(2)));
        assert!(cache.get(&key(2)).is_none());
        assert_eq!(cache.memory_bytes(), 2 * size);
        // A corrupt file found on a read is dropped from both.
        let cache = Cache::open(dir.path().join("d"), 1 << 20, 1 << 20).unwrap();
        std::fs::create_dir_all(cache.path(&key(5)).parent().unwrap()).unwrap();
        std::fs::write(cache.path(&key(5)), [0xff]).unwrap();
        drop(cache);
        let cache = Cache::open(dir.path().join("d"), 1 << 20, 1 << 20).unwrap();
        assert!(cache.contains(&key(5)));
        assert!(cache.get(&key(5)).is_none());
        assert!(!cache.contains(&key(5)));
        assert_eq!(cache.memory_bytes(), 0);
    }

    #[test]
    fn a_zero_budget_turns_the_memory_tier_off() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("c"), 1 << 20, 0).unwrap();
        cache.put(&key(1), &e(10));
        assert_eq!(cache.get(&key(1)), Some(e(10)));
        assert_eq!(cache.get(&key(1)), Some(e(10)));
        assert!(!cache.in_memory(&key(1)));
        assert_eq!(cache.memory_bytes(), 0);
        assert_eq!(cache.memory_hits(), 0);
    }
}
