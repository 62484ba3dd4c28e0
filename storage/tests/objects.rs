//! Buckets, settings, object PUT/GET/HEAD/DELETE, ranges and attributes.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use storage::{CannedAcl, Error, ObjectAttrs, Precondition, Store};

#[tokio::test]
async fn buckets_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert!(s.list_buckets().await.unwrap().is_empty());
    let b = s
        .create_bucket("zeta", CannedAcl::Private, "")
        .await
        .unwrap();
    assert_eq!(b.name, "zeta");
    s.create_bucket("alpha", CannedAcl::PublicRead, "")
        .await
        .unwrap();
    assert!(matches!(
        s.create_bucket("zeta", CannedAcl::Private, "").await,
        Err(Error::BucketAlreadyOwnedByYou(_))
    ));
    let names: Vec<_> = s
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);
    assert_eq!(s.bucket("alpha").await.unwrap().acl, CannedAcl::PublicRead);
    s.set_bucket_acl("zeta", CannedAcl::PublicRead)
        .await
        .unwrap();
    let z = s.bucket("zeta").await.unwrap();
    assert_eq!(z.acl, CannedAcl::PublicRead);
    assert_eq!(z.created, b.created);
    assert!(matches!(
        s.bucket("nope").await,
        Err(Error::NoSuchBucket(_))
    ));
    assert!(matches!(
        s.set_bucket_acl("nope", CannedAcl::Private).await,
        Err(Error::NoSuchBucket(_))
    ));
    s.delete_bucket("zeta").await.unwrap();
    assert!(matches!(
        s.bucket("zeta").await,
        Err(Error::NoSuchBucket(_))
    ));
    assert!(matches!(
        s.delete_bucket("zeta").await,
        Err(Error::NoSuchBucket(_))
    ));
}

#[tokio::test]
async fn delete_bucket_refuses_objects_and_aborts_uploads() {
    let (dir, s) = store_with("b").await;
    // A bucket whose name extends "b" must not count as content of "b".
    s.create_bucket("bb", CannedAcl::Private, "").await.unwrap();
    put(&s, "bb", "x", b"other bucket").await;
    put(&s, "b", "k", b"data").await;
    assert!(matches!(
        s.delete_bucket("b").await,
        Err(Error::BucketNotEmpty(_))
    ));
    s.delete_object("b", "k").await.unwrap();
    // An open upload with a part on disk does not keep the bucket (AWS
    // deletes it and aborts the upload).
    let files_before = files_under(&dir.path().join("objects")).len();
    let id = s
        .create_multipart_upload("b", "m", ObjectAttrs::default())
        .await
        .unwrap();
    let mut w = s.part_writer("b", "m", &id, 1).await.unwrap();
    w.write(&bytes(100_000, 7)).await.unwrap();
    w.commit(ObjectAttrs::default(), None).await.unwrap();
    assert!(files_under(&dir.path().join("objects")).len() > files_before);
    s.put_bucket_setting("b", "style/a", Some(b"x".to_vec()))
        .await
        .unwrap();
    s.delete_bucket("b").await.unwrap();
    // The upload and its part file went with the bucket.
    assert_eq!(files_under(&dir.path().join("objects")).len(), files_before);
    // Settings went with the bucket: a new bucket of the same name starts clean.
    s.create_bucket("b", CannedAcl::Private, "").await.unwrap();
    assert_eq!(s.bucket_setting("b", "style/a").await.unwrap(), None);
    assert!(matches!(
        s.multipart_upload("b", "m", &id).await,
        Err(Error::NoSuchUpload(_))
    ));
    assert_eq!(get(&s, "bb", "x").await, b"other bucket");
}

#[tokio::test]
async fn bucket_settings() {
    let (_dir, s) = store_with("b").await;
    s.create_bucket("b2", CannedAcl::Private, "").await.unwrap();
    s.put_bucket_setting("b", "style/thumb", Some(b"resize,w_100".to_vec()))
        .await
        .unwrap();
    s.put_bucket_setting("b", "style/big", Some(b"resize,w_900".to_vec()))
        .await
        .unwrap();
    s.put_bucket_setting("b", "separator", Some(b"!".to_vec()))
        .await
        .unwrap();
    s.put_bucket_setting("b2", "style/other", Some(vec![]))
        .await
        .unwrap();
    assert_eq!(
        s.bucket_setting("b", "separator").await.unwrap(),
        Some(b"!".to_vec())
    );
    assert_eq!(s.bucket_setting("b", "missing").await.unwrap(), None);
    let styles = s.list_bucket_settings("b", "style/").await.unwrap();
    assert_eq!(
        styles,
        vec![
            ("style/big".to_string(), b"resize,w_900".to_vec()),
            ("style/thumb".to_string(), b"resize,w_100".to_vec())
        ]
    );
    assert_eq!(s.list_bucket_settings("b", "").await.unwrap().len(), 3);
    assert_eq!(
        s.bucket_setting("b2", "style/other").await.unwrap(),
        Some(vec![])
    );
    s.put_bucket_setting("b", "style/big", None).await.unwrap();
    assert_eq!(
        s.list_bucket_settings("b", "style/").await.unwrap().len(),
        1
    );
    assert!(matches!(
        s.put_bucket_setting("nope", "x", Some(vec![1])).await,
        Err(Error::NoSuchBucket(_))
    ));
    assert!(matches!(
        s.bucket_setting("nope", "x").await,
        Err(Error::NoSuchBucket(_))
    ));
    assert!(matches!(
        s.list_bucket_settings("nope", "").await,
        Err(Error::NoSuchBucket(_))
    ));
}

#[tokio::test]
async fn put_get_head_delete() {
    let (dir, s) = store_with("b").await;
    for (i, len) in [0usize, 1, 4096, 1024 * 1024, 3 * 1024 * 1024 + 17]
        .into_iter()
        .enumerate()
    {
        let data = bytes(len, i as u8);
        let key = format!("dir/obj-{len}");
        let m = put_chunked(&s, "b", &key, &data, 10_007).await;
        assert_eq!(m.size, len as u64);
        assert_eq!(m.etag, md5_hex(&data));
        assert_eq!(m.key, key);
        let h = s.head_object("b", &key).await.unwrap();
        assert_eq!(h, m);
        assert_eq!(get(&s, "b", &key).await, data, "len {len}");
        // The whole-object read: the same bytes, or none over the limit.
        let (meta, whole) = s.read_object("b", &key, len as u64).await.unwrap();
        assert_eq!((meta, whole.as_deref()), (m.clone(), Some(&data[..])));
        if len > 0 {
            let (meta, none) = s.read_object("b", &key, len as u64 - 1).await.unwrap();
            assert_eq!((meta, none), (m, None));
        }
    }
    assert!(matches!(
        s.read_object("b", "absent", 10).await,
        Err(Error::NoSuchKey(_))
    ));
    assert!(s.delete_object("b", "dir/obj-1").await.unwrap());
    assert!(!s.delete_object("b", "dir/obj-1").await.unwrap());
    assert!(matches!(
        s.head_object("b", "dir/obj-1").await,
        Err(Error::NoSuchKey(_))
    ));
    assert!(matches!(
        s.get_object("b", "dir/obj-1", None).await,
        Err(Error::NoSuchKey(_))
    ));
    assert!(matches!(
        s.head_object("nope", "k").await,
        Err(Error::NoSuchBucket(_))
    ));
    assert!(matches!(
        s.object_writer("nope", "k").await,
        Err(Error::NoSuchBucket(_))
    ));
    assert!(matches!(
        s.delete_object("nope", "k").await,
        Err(Error::NoSuchBucket(_))
    ));
    // Exactly one data file per object above the inline size (4 KiB)
    // remains: 1 MiB and 3 MiB; tmp is empty.
    assert_eq!(files_under(&dir.path().join("objects")).len(), 2);
    assert!(files_under(&dir.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn whole_reads_report_a_missing_data_file_as_corruption() {
    let (dir, s) = store_with("b").await;
    put(&s, "b", "k", &bytes(100_000, 3)).await;
    for f in files_under(&dir.path().join("objects")) {
        std::fs::remove_file(f).unwrap();
    }
    assert!(matches!(
        s.read_object("b", "k", 1 << 20).await,
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(
        s.get_object("b", "k", None).await,
        Err(Error::Corrupt(_))
    ));
}

#[tokio::test]
async fn attributes_round_trip_and_update() {
    let (_dir, s) = store_with("b").await;
    let attrs = ObjectAttrs {
        content_type: Some("image/jpeg".into()),
        cache_control: Some("max-age=60".into()),
        user_meta: BTreeMap::from([("color".to_string(), "blue".to_string())]),
        checksums: BTreeMap::from([("crc32".to_string(), "AAAAAA==".to_string())]),
        ..ObjectAttrs::default()
    };
    let mut w = s.object_writer("b", "k").await.unwrap();
    w.write(b"hello").await.unwrap();
    let m = w.commit(attrs.clone(), None).await.unwrap();
    assert_eq!(m.attrs, attrs);
    assert_eq!(s.head_object("b", "k").await.unwrap().attrs, attrs);
    let new_attrs = ObjectAttrs {
        content_type: Some("text/plain".into()),
        tags: BTreeMap::from([("project".to_string(), "blue".to_string())]),
        ..ObjectAttrs::default()
    };
    let u = s
        .update_object_attrs("b", "k", new_attrs.clone(), &Precondition::Unconditional)
        .await
        .unwrap();
    assert_eq!((u.size, u.etag.as_str()), (5, m.etag.as_str()));
    assert_eq!(s.head_object("b", "k").await.unwrap().attrs, new_attrs);
    assert_eq!(get(&s, "b", "k").await, b"hello");
    assert!(matches!(
        s.update_object_attrs(
            "b",
            "missing",
            ObjectAttrs::default(),
            &Precondition::Unconditional
        )
        .await,
        Err(Error::NoSuchKey(_))
    ));
    // Attributes read from one object never land on the one that replaced it.
    let same = Precondition::ETagIn(vec![m.etag.clone()]);
    let mut w = s.object_writer("b", "k").await.unwrap();
    w.write(b"newer").await.unwrap();
    let newer = w.commit(ObjectAttrs::default(), None).await.unwrap();
    assert!(matches!(
        s.update_object_attrs("b", "k", new_attrs.clone(), &same)
            .await,
        Err(Error::PreconditionFailed)
    ));
    assert_eq!(
        s.head_object("b", "k").await.unwrap().attrs,
        ObjectAttrs::default()
    );
    let now_same = Precondition::ETagIn(vec![newer.etag]);
    s.update_object_attrs("b", "k", new_attrs.clone(), &now_same)
        .await
        .unwrap();
    assert_eq!(s.head_object("b", "k").await.unwrap().attrs, new_attrs);
}

#[tokio::test]
async fn content_md5_is_checked_before_anything_is_visible() {
    let (dir, s) = store_with("b").await;
    put(&s, "b", "k", b"old").await;
    let data = bytes(2 * 1024 * 1024, 3);
    let mut w = s.object_writer("b", "k").await.unwrap();
    w.write(&data).await.unwrap();
    let r = w.commit(ObjectAttrs::default(), Some([0u8; 16])).await;
    assert!(matches!(r, Err(Error::BadDigest)));
    assert_eq!(get(&s, "b", "k").await, b"old");
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    // "old" is small enough to live in its record: no data file at all.
    assert!(files_under(&dir.path().join("objects")).is_empty());
    // The right digest is accepted.
    use md5::Digest;
    let digest: [u8; 16] = md5::Md5::digest(&data).into();
    let mut w = s.object_writer("b", "k").await.unwrap();
    w.write(&data).await.unwrap();
    w.commit(ObjectAttrs::default(), Some(digest))
        .await
        .unwrap();
    assert_eq!(get(&s, "b", "k").await, data);
}

#[tokio::test]
async fn ranges() {
    let (_dir, s) = store_with("b").await;
    let data = bytes(700_000, 9);
    put(&s, "b", "k", &data).await;
    let n = data.len() as u64;
    for (start, end) in [
        (0, Some(0)),
        (0, Some(9)),
        (5, None),
        (n - 1, None),
        (262_143, Some(262_144)),
        (100, Some(600_000)),
        (10, Some(n + 1000)),
        (0, None),
    ] {
        let got = get_range(&s, "b", "k", start, end).await.unwrap();
        let last = end.map_or(n - 1, |e| e.min(n - 1));
        assert_eq!(
            got,
            &data[start as usize..=last as usize],
            "range {start}-{end:?}"
        );
    }
    assert!(
        matches!(get_range(&s, "b", "k", n, None).await, Err(Error::InvalidRange { size }) if size == n)
    );
    assert!(matches!(
        get_range(&s, "b", "k", n + 5, Some(n + 9)).await,
        Err(Error::InvalidRange { .. })
    ));
    put(&s, "b", "empty", b"").await;
    assert_eq!(get(&s, "b", "empty").await, b"");
    assert!(matches!(
        get_range(&s, "b", "empty", 0, None).await,
        Err(Error::InvalidRange { size: 0 })
    ));
    // The stream yields bounded chunks, never the whole object at once.
    let (_, mut stream) = s.get_object("b", "k", None).await.unwrap();
    use futures_util::StreamExt;
    let mut chunks = 0;
    while let Some(c) = stream.next().await {
        assert!(c.unwrap().len() <= 256 * 1024);
        chunks += 1;
    }
    assert!(chunks >= 3);
}

#[tokio::test]
async fn dropped_writer_leaves_nothing() {
    let (dir, s) = store_with("b").await;
    let mut w = s.object_writer("b", "k").await.unwrap();
    // Large enough to have spilled to a temp file.
    w.write(&bytes(3 * 1024 * 1024, 1)).await.unwrap();
    assert_eq!(files_under(&dir.path().join("tmp")).len(), 1);
    drop(w);
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    assert!(matches!(
        s.head_object("b", "k").await,
        Err(Error::NoSuchKey(_))
    ));
    let small = s.object_writer("b", "k").await.unwrap();
    drop(small);
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    assert!(files_under(&dir.path().join("objects")).is_empty());
}

#[tokio::test]
async fn commit_into_deleted_bucket_fails_and_cleans_up() {
    let (dir, s) = store_with("b").await;
    let mut w = s.object_writer("b", "k").await.unwrap();
    w.write(b"abc").await.unwrap();
    s.delete_bucket("b").await.unwrap();
    assert!(matches!(
        w.commit(ObjectAttrs::default(), None).await,
        Err(Error::NoSuchBucket(_))
    ));
    assert!(files_under(&dir.path().join("objects")).is_empty());
    assert!(files_under(&dir.path().join("tmp")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overwrite_is_atomic_for_open_readers() {
    let (dir, s) = store_with("b").await;
    let old = bytes(2 * 1024 * 1024, 1);
    let new = bytes(1024 * 1024 + 5, 2);
    put(&s, "b", "k", &old).await;
    let (meta, mut stream) = s.get_object("b", "k", None).await.unwrap();
    assert_eq!(meta.size, old.len() as u64);
    // Read a little of the old version, then overwrite and delete it.
    use futures_util::StreamExt;
    let mut got = stream.next().await.unwrap().unwrap().to_vec();
    put(&s, "b", "k", &new).await;
    assert_eq!(get(&s, "b", "k").await, new);
    s.delete_object("b", "k").await.unwrap();
    while let Some(c) = stream.next().await {
        got.extend_from_slice(&c.unwrap());
    }
    assert_eq!(got, old);
    // The old file was unlinked while open; nothing leaks.
    assert!(files_under(&dir.path().join("objects")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_of_one_key_last_wins_and_nothing_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(open(dir.path()));
    s.create_bucket("b", CannedAcl::Private, "").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let data = bytes(50_000 + i as usize * 1000, i);
            put_chunked(s.as_ref(), "b", "same", &data, 4096).await;
        }));
    }
    // Readers run meanwhile and must always see one complete version.
    let reader = {
        let s = s.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                match s.get_object("b", "same", None).await {
                    Ok((m, stream)) => {
                        let body = collect(stream).await;
                        assert_eq!(body.len() as u64, m.size);
                        assert_eq!(md5_hex(&body), m.etag);
                    }
                    // Before the first commit.
                    Err(Error::NoSuchKey(_)) => {}
                    Err(e) => panic!("read failed during overwrites: {e}"),
                }
                tokio::task::yield_now().await;
            }
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    reader.await.unwrap();
    let m = s.head_object("b", "same").await.unwrap();
    let body = get(s.as_ref(), "b", "same").await;
    assert_eq!(md5_hex(&body), m.etag);
    assert_eq!(files_under(&dir.path().join("objects")).len(), 1);
    assert!(files_under(&dir.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn small_bodies_live_in_the_record() {
    let (dir, s) = store_with("b").await;
    let objects = dir.path().join("objects");
    let at_limit = bytes(4096, 1);
    let above = bytes(4097, 2);
    put_chunked(&s, "b", "at", &at_limit, 1000).await;
    assert!(files_under(&objects).is_empty());
    put(&s, "b", "above", &above).await;
    assert_eq!(files_under(&objects).len(), 1);
    assert_eq!(get(&s, "b", "at").await, at_limit);
    assert_eq!(get(&s, "b", "above").await, above);
    assert_eq!(
        get_range(&s, "b", "at", 4000, None).await.unwrap(),
        &at_limit[4000..]
    );
    assert_eq!(
        get_range(&s, "b", "at", 10, Some(20)).await.unwrap(),
        &at_limit[10..=20]
    );
    assert!(matches!(
        get_range(&s, "b", "at", 4096, None).await,
        Err(Error::InvalidRange { size: 4096 })
    ));
    // Overwrites between the two forms clean up after themselves.
    put(&s, "b", "above", b"now small").await;
    assert!(files_under(&objects).is_empty());
    put(&s, "b", "at", &above).await;
    assert_eq!(files_under(&objects).len(), 1);
    assert_eq!(get(&s, "b", "at").await, above);
    let m = s.head_object("b", "above").await.unwrap();
    assert_eq!((m.size, m.etag), (9, md5_hex(b"now small")));
    // Inline objects survive a restart like any other.
    drop(s);
    let s = open(dir.path());
    assert_eq!(get(&s, "b", "above").await, b"now small");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_bucket_racing_puts_never_orphans_objects() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(open(dir.path()));
    for round in 0..10 {
        s.create_bucket("race", CannedAcl::Private, "")
            .await
            .unwrap();
        let mut writers = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            writers.push(tokio::spawn(async move {
                let mut w = s.object_writer("race", &format!("k{i}")).await?;
                w.write(&bytes(5000, i as u8)).await?;
                w.commit(ObjectAttrs::default(), None).await
            }));
        }
        // Delete as soon as the bucket is empty; puts that lose the race fail.
        loop {
            match s.delete_bucket("race").await {
                Ok(()) => break,
                Err(Error::BucketNotEmpty(_)) => {
                    let page = first_page(s.as_ref(), "race", 100).await.unwrap();
                    for o in page.objects {
                        s.delete_object("race", &o.key).await.unwrap();
                    }
                }
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        for w in writers {
            match w.await.unwrap() {
                Ok(_) | Err(Error::NoSuchBucket(_)) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert!(matches!(
            s.bucket("race").await,
            Err(Error::NoSuchBucket(_))
        ));
        // Recreating the bucket shows nothing left over from the old one.
        s.create_bucket("race", CannedAcl::Private, "")
            .await
            .unwrap();
        let page = first_page(s.as_ref(), "race", 100).await.unwrap();
        assert!(page.objects.is_empty(), "round {round}: {:?}", page.objects);
        s.delete_bucket("race").await.unwrap();
        assert!(files_under(&dir.path().join("objects")).is_empty());
    }
}

/// A writer whose body is `data`, conditional on `p`, committed.
async fn put_if(
    s: &dyn Store,
    key: &str,
    data: &[u8],
    p: Precondition,
) -> storage::Result<storage::ObjectMeta> {
    let mut w = s.object_writer("b", key).await?;
    w.write(data).await?;
    w.require(p);
    w.commit(ObjectAttrs::default(), None).await
}

#[tokio::test]
async fn preconditions_are_checked_at_commit() {
    let (dir, s) = store_with("b").await;
    // Create-only: the first commit wins; the second leaves it in place.
    put_if(&s, "k", b"one", Precondition::Absent).await.unwrap();
    let refused = put_if(&s, "k", b"two", Precondition::Absent).await;
    assert!(matches!(refused, Err(Error::PreconditionFailed)));
    assert_eq!(get(&s, "b", "k").await, b"one");
    // Two writers racing on a free key, both past any early check: the
    // commit decides, and exactly one lands (bodies above the inline size).
    let (big_a, big_b) = (bytes(10_000, 1), bytes(10_000, 2));
    let mut a = s.object_writer("b", "race").await.unwrap();
    let mut b = s.object_writer("b", "race").await.unwrap();
    a.write(&big_a).await.unwrap();
    b.write(&big_b).await.unwrap();
    a.require(Precondition::Absent);
    b.require(Precondition::Absent);
    a.commit(ObjectAttrs::default(), None).await.unwrap();
    let lost = b.commit(ObjectAttrs::default(), None).await;
    assert!(matches!(lost, Err(Error::PreconditionFailed)));
    assert_eq!(get(&s, "b", "race").await, big_a);
    // If-Match: only over the named version.
    let one = md5_hex(b"one");
    let wrong = Precondition::ETagIn(vec!["0".repeat(32)]);
    assert!(matches!(
        put_if(&s, "k", b"three", wrong).await,
        Err(Error::PreconditionFailed)
    ));
    put_if(&s, "k", b"three", Precondition::ETagIn(vec![one]))
        .await
        .unwrap();
    assert_eq!(get(&s, "b", "k").await, b"three");
    put_if(&s, "k", b"four", Precondition::ETagIn(vec!["*".into()]))
        .await
        .unwrap();
    assert!(matches!(
        put_if(&s, "none", b"x", Precondition::ETagIn(vec!["*".into()])).await,
        Err(Error::NoSuchKey(_))
    ));
    assert!(matches!(
        s.head_object("b", "none").await,
        Err(Error::NoSuchKey(_))
    ));
    // A refused commit leaves no data file behind: of the bodies written,
    // only the winning "race" one is above the inline size.
    drop(s);
    let s = open(dir.path());
    assert_eq!(get(&s, "b", "k").await, b"four");
    let data_files = files_under(&dir.path().join("objects")).len();
    assert_eq!(data_files, 1, "only race's body is a file");
}
