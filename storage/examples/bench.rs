//! Quick throughput figures for the embedded store.
//!
//! `cargo run -p imgbucket-storage --example bench [-- <dir>]` (the dir
//! defaults to a temp dir; put it on the disk you care about). Prints the
//! cost of small PUTs (sequential and concurrent), of the sled flush each
//! commit pays, and the throughput of a 64 MiB PUT and GET next to a plain
//! write + fsync of the same size.
#![allow(clippy::unwrap_used)]

use futures_util::StreamExt;
use std::io::Write;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use storage::meta::{MetaStore, SledMeta, Space};
use storage::{CannedAcl, EmbeddedStore, ObjectAttrs, Store};

async fn put(s: &dyn Store, key: &str, data: &[u8], chunk: usize) {
    let mut w = s.object_writer("bench", key).await.unwrap();
    for c in data.chunks(chunk) {
        w.write(c).await.unwrap();
    }
    w.commit(ObjectAttrs::default(), None).await.unwrap();
}

fn mib_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / secs
}

fn sled_flush_cost(dir: &Path) {
    let m = SledMeta::open(&dir.join("flushbench")).unwrap();
    let value = vec![7u8; 300];
    for flush in [false, true] {
        let t = Instant::now();
        for i in 0..1000u32 {
            m.transaction(&mut |tx| {
                tx.insert(Space::Objects, &i.to_be_bytes(), &value)?;
                Ok(())
            })
            .unwrap();
            if flush {
                m.flush().unwrap();
            }
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / 1000.0;
        println!("sled: 1000 transactions, flush after each = {flush:5}: {per:8.1} µs each");
    }
    assert_eq!(
        m.range(Space::Objects, Bound::Unbounded, Bound::Unbounded)
            .count(),
        1000
    );
}

fn plain_write(dir: &Path, data: &[u8]) {
    let path = dir.join("plain");
    let t = Instant::now();
    let mut f = std::fs::File::create(&path).unwrap();
    for c in data.chunks(1024 * 1024) {
        f.write_all(c).unwrap();
    }
    f.sync_data().unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "baseline: plain write + fsync of 64 MiB: {:.0} MiB/s",
        mib_per_s(data.len(), secs)
    );
    std::fs::remove_file(path).unwrap();
}

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or(tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.join("store")).unwrap());
    let s: &dyn Store = store.as_ref();
    s.create_bucket("bench", CannedAcl::Private, "")
        .await
        .unwrap_or_else(|_| panic!("use an empty directory"));

    let small = vec![42u8; 4096];
    let t = Instant::now();
    for i in 0..1000 {
        put(s, &format!("small/{i}"), &small, 4096).await;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "1000 x 4 KiB PUT, sequential: {:.2} s total, {:.2} ms each",
        secs, secs
    );

    // Above the inline size: data file + fsync, rename, directory fsync.
    let medium = vec![43u8; 64 * 1024];
    let t = Instant::now();
    for i in 0..200 {
        put(s, &format!("medium/{i}"), &medium, 16 * 1024).await;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "200 x 64 KiB PUT, sequential: {:.2} ms each",
        secs * 1000.0 / 200.0
    );

    let t = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..16 {
        let store = store.clone();
        let small = small.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..1000 / 16 + 1 {
                put(store.as_ref(), &format!("conc/{task}/{i}"), &small, 4096).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = 16 * (1000 / 16 + 1);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{n} x 4 KiB PUT, 16 concurrent tasks: {secs:.2} s total, {:.0} PUT/s",
        n as f64 / secs
    );

    let t = Instant::now();
    for i in 0..1000 {
        let (_, mut body) = s
            .get_object("bench", &format!("small/{i}"), None)
            .await
            .unwrap();
        while let Some(c) = body.next().await {
            c.unwrap();
        }
    }
    println!(
        "1000 x 4 KiB GET, sequential: {:.2} ms each",
        t.elapsed().as_secs_f64()
    );

    sled_flush_cost(&dir);

    let big: Vec<u8> = (0..64 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    plain_write(&dir, &big);
    let t = Instant::now();
    put(s, "big", &big, 64 * 1024).await;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "64 MiB PUT (64 KiB chunks): {secs:.2} s, {:.0} MiB/s",
        mib_per_s(big.len(), secs)
    );
    let t = Instant::now();
    let (_, mut body) = s.get_object("bench", "big", None).await.unwrap();
    let mut n = 0;
    while let Some(c) = body.next().await {
        n += c.unwrap().len();
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(n, big.len());
    println!("64 MiB GET: {secs:.2} s, {:.0} MiB/s", mib_per_s(n, secs));
}
