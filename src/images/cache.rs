//! The processed-variant cache: a bounded directory of finished outputs.
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

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// One cached output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `Content-Type` of the output.
    pub content_type: String,
    /// The output bytes.
    pub bytes: Vec<u8>,
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
}

/// A bounded on-disk cache of processed variants.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
    /// Entries evicted since the cache was opened (`/-/metrics`).
    evicted: AtomicU64,
}

impl Cache {
    /// Opens (creating) the cache in `dir`, bounded to `max_bytes`. Leftover
    /// temp files are removed; existing entries are indexed.
    pub fn open(dir: PathBuf, max_bytes: u64) -> std::io::Result<Cache> {
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

    /// The cached output for `key`, marking it as recently used.
    pub fn get(&self, key: &str) -> Option<Entry> {
        {
            let mut idx = self.index.lock().ok()?;
            idx.clock += 1;
            let now = idx.clock;
            idx.slots.get_mut(key)?.used = now;
        }
        let data = std::fs::read(self.path(key)).ok()?;
        match decode(&data) {
            Some(e) => Some(e),
            None => {
                // Unreadable entry (should not happen with rename): drop it.
                self.remove(key);
                None
            }
        }
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
        if let Ok(mut idx) = self.index.lock() {
            idx.clock += 1;
            let used = idx.clock;
            if let Some(old) = idx.slots.insert(key.to_string(), Slot { size, used }) {
                idx.total -= old.size;
            }
            idx.total += size;
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

    fn remove(&self, key: &str) {
        if let Ok(mut idx) = self.index.lock() {
            if let Some(s) = idx.slots.remove(key) {
                idx.total -= s.size;
            }
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

    /// Bytes currently held (for tests and logs).
    pub fn total_bytes(&self) -> u64 {
        self.index.lock().map(|i| i.total).unwrap_or(0)
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

fn decode(data: &[u8]) -> Option<Entry> {
    let n = u16::from_be_bytes([*data.first()?, *data.get(1)?]) as usize;
    let ct = data.get(2..2 + n)?;
    Some(Entry {
        content_type: String::from_utf8(ct.to_vec()).ok()?,
        bytes: data.get(2 + n..)?.to_vec(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(i: u32) -> String {
        format!("{:064x}", i)
    }

    #[test]
    fn round_trip_eviction_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("c"), 3000).unwrap();
        let e = |n: usize| Entry {
            content_type: "image/png".into(),
            bytes: vec![7; n],
        };
        cache.put(&key(1), &e(1000));
        cache.put(&key(2), &e(1000));
        assert_eq!(cache.get(&key(1)), Some(e(1000)));
        // Key 2 is now the least recently used: the third put evicts it.
        cache.put(&key(3), &e(1000));
        assert!(cache.total_bytes() <= 3000);
        assert!(cache.contains(&key(1)));
        assert!(!cache.contains(&key(2)));
        assert!(cache.get(&key(2)).is_none());
        // The stored size: the bytes, the type and its 2-byte length.
        assert_eq!(cache.size_of(&key(1)), Some(1000 + 9 + 2));
        assert_eq!(cache.size_of(&key(2)), None);
        // Larger than the whole cache: not stored.
        cache.put(&key(4), &e(5000));
        assert!(!cache.contains(&key(4)));
        drop(cache);
        let cache = Cache::open(dir.path().join("c"), 3000).unwrap();
        assert_eq!(cache.get(&key(3)), Some(e(1000)));
        assert!(cache.total_bytes() > 0);
    }
}
