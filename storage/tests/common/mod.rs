//! Helpers shared by the storage integration tests: a store in a temp
//! dir, deterministic bytes and a seeded random generator, whole-object
//! writes and reads, listings, and the files a store leaves on disk. One
//! copy of each.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use futures_util::StreamExt;
use std::path::Path;
use storage::{
    ByteRange, CannedAcl, EmbeddedStore, ListPage, ListQuery, ObjectAttrs, ObjectMeta, Store,
};

pub fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(dir).unwrap()
}

/// A store in a fresh temp dir holding the private bucket `bucket`; keep
/// the dir alive as long as the store.
pub async fn store_with(bucket: &str) -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create_bucket(bucket, CannedAcl::Private, "")
        .await
        .unwrap();
    (dir, s)
}

/// The first page of `bucket`'s listing, up to `max_keys` keys.
pub async fn first_page(s: &dyn Store, bucket: &str, max_keys: usize) -> storage::Result<ListPage> {
    let q = ListQuery {
        max_keys,
        ..ListQuery::default()
    };
    s.list_objects(bucket, &q).await
}

/// Deterministic test bytes.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32 * 7) as u8 ^ (i >> 8) as u8)
        .collect()
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(data))
}

/// PUTs `data` in chunks of `chunk` bytes.
pub async fn put_chunked(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    data: &[u8],
    chunk: usize,
) -> ObjectMeta {
    let mut w = store.object_writer(bucket, key).await.unwrap();
    for c in data.chunks(chunk.max(1)) {
        w.write(c).await.unwrap();
    }
    assert_eq!(w.written(), data.len() as u64);
    w.commit(ObjectAttrs::default(), None).await.unwrap()
}

pub async fn put(store: &dyn Store, bucket: &str, key: &str, data: &[u8]) -> ObjectMeta {
    put_chunked(store, bucket, key, data, 64 * 1024).await
}

pub async fn collect(mut stream: storage::ByteStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

pub async fn get(store: &dyn Store, bucket: &str, key: &str) -> Vec<u8> {
    let (_, stream) = store.get_object(bucket, key, None).await.unwrap();
    collect(stream).await
}

pub async fn get_range(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    start: u64,
    end: Option<u64>,
) -> storage::Result<Vec<u8>> {
    let (_, stream) = store
        .get_object(bucket, key, Some(ByteRange { start, end }))
        .await?;
    Ok(collect(stream).await)
}

/// Files (not directories) anywhere under `dir`.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// The seeded generator of the root crate's tests (one copy for the
/// workspace's tests).
#[path = "../../../tests/common/rng.rs"]
mod rng;
#[allow(unused_imports)]
pub use rng::Rng;
