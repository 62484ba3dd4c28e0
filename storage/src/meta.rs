//! The narrow metadata-store trait; the only module that may import sled.
//!
//! The embedded store needs very little from its metadata database: point
//! reads, ordered range scans, small serializable read-modify-write
//! transactions and a durable flush. Keeping that surface behind
//! [`MetaStore`] means sled (0.34, no longer developed on that branch) can be
//! swapped for another ordered key-value store by writing one new impl, which
//! is how Garage got rid of it.
//!
//! Keys live in [`Space`]s (disjoint keyspaces). The sled impl keeps all of
//! them in one tree, each prefixed by a tag byte, so that one transaction can
//! span several spaces atomically.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::ops::Bound;
use std::path::Path;

/// A keyspace. Keys are ordered bytewise within a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Space {
    /// Store-wide records (the layout marker).
    System,
    /// `bucket` → bucket record.
    Buckets,
    /// `bucket \0 key` → object record.
    Objects,
    /// `bucket \0 key \0 upload_id` → upload record.
    Uploads,
    /// `upload_id \0 part_number (u32 BE)` → part record.
    Parts,
    /// `bucket \0 name` → settings blob.
    Settings,
}

impl Space {
    /// The tag byte that prefixes the space's keys in the sled tree. Never
    /// change these: they are part of the on-disk format.
    fn tag(self) -> u8 {
        match self {
            Space::System => b'm',
            Space::Buckets => b'b',
            Space::Objects => b'o',
            Space::Uploads => b'u',
            Space::Parts => b'p',
            Space::Settings => b's',
        }
    }
}

/// An ordered scan: `(key, value)` pairs with the space tag stripped.
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + Send + 'a>;

/// The view of the database inside a [`MetaStore::transaction`].
pub trait Txn {
    /// Reads a key; the read joins the transaction's read set, so a
    /// concurrent change to it forces a re-run.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError>;
    /// Returns the previous value.
    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, TxError>;
    /// Returns the previous value.
    fn remove(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError>;
}

/// Why a transaction body stopped: either the caller aborted with a storage
/// error (`From<Error>`), or the backend needs the body re-run (conflict) or
/// failed. Opaque so that callers only ever propagate it with `?`.
pub struct TxError(TxErrorKind);

enum TxErrorKind {
    Abort(Error),
    Backend(sled::transaction::UnabortableTransactionError),
}

impl From<Error> for TxError {
    fn from(e: Error) -> Self {
        TxError(TxErrorKind::Abort(e))
    }
}

impl std::fmt::Debug for TxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            TxErrorKind::Abort(e) => write!(f, "TxError::Abort({e:?})"),
            TxErrorKind::Backend(e) => write!(f, "TxError::Backend({e:?})"),
        }
    }
}

/// The metadata database as the embedded store uses it.
pub trait MetaStore: Send + Sync + 'static {
    /// A point read outside any transaction. The value is shared, not
    /// copied, where the backend allows (sled's own buffer): a small GET
    /// hands an inline body on from it.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<bytes::Bytes>>;
    /// Keys of `space` within the bounds, ascending.
    fn range(&self, space: Space, start: Bound<&[u8]>, end: Bound<&[u8]>) -> KvIter<'_>;
    /// Runs `body` as one serializable, atomic transaction. The body may be
    /// run more than once (on conflict), so it must reset any output it
    /// collects at its start. An `Err` built from [`Error`] aborts the
    /// transaction and is returned as is.
    ///
    /// Not durable on its own: call [`MetaStore::flush`] before
    /// acknowledging.
    fn transaction(&self, body: &mut dyn FnMut(&dyn Txn) -> Result<(), TxError>) -> Result<()>;
    /// Writes one key outside any transaction and returns its previous
    /// value. Atomic, and serializable with transactions: a transaction
    /// that reads `key` runs wholly before or wholly after it. Not durable
    /// on its own either.
    ///
    /// Cheaper than a transaction of one write: sled writes out (and
    /// `sync_file_range`s) its log buffer twice for every transaction, to
    /// place the transaction's batch marker, whether or not the caller
    /// flushes; a plain write joins the current buffer, which the next
    /// [`MetaStore::flush`] writes out with every other write made
    /// meanwhile.
    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Makes every transaction and insert completed before the call durable
    /// (fsync). Each call flushes: batching concurrent writers' flushes is
    /// the caller's business (the embedded store's group commit).
    fn flush(&self) -> Result<()>;
}

/// [`MetaStore`] on a sled 0.34 database.
pub struct SledMeta {
    /// Kept so that the database (and its flusher thread) lives as long as
    /// the store.
    _db: sled::Db,
    tree: sled::Tree,
    /// sled's log file, opened a second time so that [`MetaStore::flush`]
    /// can fsync it: on Linux sled 0.34's own flush ends with
    /// `sync_file_range`, which survives `kill -9` but neither flushes the
    /// disk's write cache nor commits the file's size to the journal, so it
    /// does not survive a power cut. `fsync` works per inode, so syncing our
    /// own handle covers sled's writes.
    log_file: std::fs::File,
}

impl SledMeta {
    /// Opens (creating if needed) the database in directory `path`.
    /// Blocking.
    pub fn open(path: &Path) -> Result<SledMeta> {
        let config = sled::Config::new()
            .path(path)
            // sled's page cache defaults to 1 GiB; metadata records are small
            // and the OS page cache does the rest.
            .cache_capacity(128 * 1024 * 1024);
        // sled locks its file exclusively. After a database is dropped, its
        // background I/O threads may hold the file for a moment, so reopening
        // in the same process (a restart in tests) can briefly fail to lock;
        // sled's own test suite blocks on that lock for the same reason.
        let mut attempts = 0;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(sled::Error::Io(e))
                    if attempts < 50 && e.to_string().contains("could not acquire lock") =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(from_sled(e)),
            }
        };
        let tree = db.open_tree("imgbucket").map_err(from_sled)?;
        let log_file = std::fs::File::open(path.join("db"))?;
        Ok(SledMeta {
            _db: db,
            tree,
            log_file,
        })
    }
}

fn from_sled(e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) => Error::Io(io),
        other => Error::Corrupt(format!("metadata database: {other}")),
    }
}

fn tagged(space: Space, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(space.tag());
    k.extend_from_slice(key);
    k
}

impl MetaStore for SledMeta {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<bytes::Bytes>> {
        Ok(self
            .tree
            .get(tagged(space, key))
            .map_err(from_sled)?
            .map(bytes::Bytes::from_owner))
    }

    fn range(&self, space: Space, start: Bound<&[u8]>, end: Bound<&[u8]>) -> KvIter<'_> {
        let lo = match start {
            Bound::Included(k) => Bound::Included(tagged(space, k)),
            Bound::Excluded(k) => Bound::Excluded(tagged(space, k)),
            Bound::Unbounded => Bound::Included(vec![space.tag()]),
        };
        let hi = match end {
            Bound::Included(k) => Bound::Included(tagged(space, k)),
            Bound::Excluded(k) => Bound::Excluded(tagged(space, k)),
            Bound::Unbounded => Bound::Excluded(vec![space.tag() + 1]),
        };
        if range_is_empty(&lo, &hi) {
            return Box::new(std::iter::empty());
        }
        Box::new(self.tree.range::<Vec<u8>, _>((lo, hi)).map(|item| {
            let (k, v) = item.map_err(from_sled)?;
            Ok((k[1..].to_vec(), v.to_vec()))
        }))
    }

    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>> {
        // sled 0.34 runs a transaction under an exclusive lock that plain
        // operations take shared, so this insert cannot interleave with
        // one (`concurrency_control` in sled).
        Ok(self
            .tree
            .insert(tagged(space, key), value)
            .map_err(from_sled)?
            .map(|v| v.to_vec()))
    }

    fn transaction(&self, body: &mut dyn FnMut(&dyn Txn) -> Result<(), TxError>) -> Result<()> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        // sled wants an `Fn`; the body is only ever run by this thread, one
        // attempt at a time, so a RefCell is enough.
        let body = RefCell::new(body);
        let result = self.tree.transaction(|tx| {
            let mut body = body.borrow_mut();
            match (*body)(&SledTxn(tx)) {
                Ok(()) => Ok(()),
                Err(TxError(TxErrorKind::Abort(e))) => Err(ConflictableTransactionError::Abort(e)),
                Err(TxError(TxErrorKind::Backend(e))) => Err(e.into()),
            }
        });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(from_sled(e)),
        }
    }

    fn flush(&self) -> Result<()> {
        // sled writes out its log buffer up to the last reserved offset,
        // which every transaction completed before this call lies below;
        // then the fsync makes those pages, and the file's size, durable.
        self.tree.flush().map_err(from_sled)?;
        self.log_file.sync_data()?;
        Ok(())
    }
}

/// sled panics on some inverted ranges; an inverted range is simply empty.
fn range_is_empty(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

struct SledTxn<'a>(&'a sled::transaction::TransactionalTree);

impl Txn for SledTxn<'_> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        self.0
            .get(tagged(space, key))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| TxError(TxErrorKind::Backend(e)))
    }

    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        self.0
            .insert(tagged(space, key), value)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| TxError(TxErrorKind::Backend(e)))
    }

    fn remove(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        self.0
            .remove(tagged(space, key))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| TxError(TxErrorKind::Backend(e)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spaces_are_disjoint_and_ordered() {
        let dir = tempfile::tempdir().unwrap();
        let m = SledMeta::open(dir.path()).unwrap();
        m.transaction(&mut |tx| {
            tx.insert(Space::Objects, b"b", b"2")?;
            tx.insert(Space::Objects, b"a", b"1")?;
            tx.insert(Space::Parts, b"a", b"p")?;
            tx.insert(Space::Buckets, b"z", b"bucket")?;
            Ok(())
        })
        .unwrap();
        let all: Vec<_> = m
            .range(Space::Objects, Bound::Unbounded, Bound::Unbounded)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            all,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2".to_vec())
            ]
        );
        let after_a: Vec<_> = m
            .range(Space::Objects, Bound::Excluded(b"a"), Bound::Unbounded)
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(after_a, vec![b"b".to_vec()]);
        let inverted = m.range(Space::Objects, Bound::Included(b"b"), Bound::Excluded(b"a"));
        assert_eq!(inverted.count(), 0);
        assert_eq!(
            m.get(Space::Parts, b"a").unwrap(),
            Some(bytes::Bytes::from_static(b"p"))
        );
        assert_eq!(m.get(Space::Settings, b"a").unwrap(), None);
    }

    #[test]
    fn concurrent_flushes_all_persist() {
        let dir = tempfile::tempdir().unwrap();
        {
            let m = std::sync::Arc::new(SledMeta::open(dir.path()).unwrap());
            let threads: Vec<_> = (0..8u8)
                .map(|t| {
                    let m = m.clone();
                    std::thread::spawn(move || {
                        for i in 0..20u8 {
                            m.transaction(&mut |tx| {
                                tx.insert(Space::Objects, &[t, i], &[i])?;
                                Ok(())
                            })
                            .unwrap();
                            m.flush().unwrap();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        let m = SledMeta::open(dir.path()).unwrap();
        let n = m
            .range(Space::Objects, Bound::Unbounded, Bound::Unbounded)
            .count();
        assert_eq!(n, 160);
        assert_eq!(
            m.get(Space::Objects, &[7, 19]).unwrap(),
            Some(bytes::Bytes::from_static(&[19]))
        );
    }

    #[test]
    fn inserts_return_the_replaced_value_and_persist_once_flushed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let m = SledMeta::open(dir.path()).unwrap();
            assert_eq!(m.insert(Space::Objects, b"k", b"1").unwrap(), None);
            assert_eq!(
                m.insert(Space::Objects, b"k", b"2").unwrap(),
                Some(b"1".to_vec())
            );
            // A transaction sees the insert, and an insert the transaction.
            m.transaction(&mut |tx| {
                assert_eq!(tx.get(Space::Objects, b"k")?, Some(b"2".to_vec()));
                tx.insert(Space::Objects, b"k", b"3")?;
                Ok(())
            })
            .unwrap();
            assert_eq!(
                m.insert(Space::Objects, b"k", b"4").unwrap(),
                Some(b"3".to_vec())
            );
            assert_eq!(m.get(Space::Parts, b"k").unwrap(), None);
            m.flush().unwrap();
        }
        let m = SledMeta::open(dir.path()).unwrap();
        assert_eq!(
            m.get(Space::Objects, b"k").unwrap(),
            Some(bytes::Bytes::from_static(b"4"))
        );
    }

    #[test]
    fn aborted_transaction_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let m = SledMeta::open(dir.path()).unwrap();
        let r = m.transaction(&mut |tx| {
            tx.insert(Space::Objects, b"k", b"v")?;
            Err(Error::NoSuchBucket("x".into()).into())
        });
        assert!(matches!(r, Err(Error::NoSuchBucket(_))));
        assert_eq!(m.get(Space::Objects, b"k").unwrap(), None);
        m.flush().unwrap();
    }
}
