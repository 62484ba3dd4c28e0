//! Multipart uploads: parts, completion, abort, validation errors, listing
//! and reads across segments.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use md5::Digest;
use storage::{CannedAcl, CompletedPart, Error, ObjectAttrs, Precondition, Store, UploadsQuery};

async fn put_part(s: &dyn Store, key: &str, id: &str, n: u32, data: &[u8]) -> String {
    let mut w = s.part_writer("b", key, id, n).await.unwrap();
    for c in data.chunks(100_000) {
        w.write(c).await.unwrap();
    }
    w.commit(ObjectAttrs::default(), None).await.unwrap().etag
}

fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut cat = Vec::new();
    for p in parts {
        cat.extend_from_slice(&md5::Md5::digest(p));
    }
    format!("{}-{}", md5_hex(&cat), parts.len())
}

fn cp(n: u32, etag: &str) -> CompletedPart {
    CompletedPart {
        part_number: n,
        etag: etag.to_string(),
    }
}

/// Starts an upload of `key` in bucket `b` with default attributes.
async fn start(s: &dyn Store, key: &str) -> String {
    s.create_multipart_upload("b", key, ObjectAttrs::default())
        .await
        .unwrap()
}

/// Uploads `parts` as parts 1, 2, ... and names them for completion.
async fn put_parts(s: &dyn Store, key: &str, id: &str, parts: &[Vec<u8>]) -> Vec<CompletedPart> {
    let mut done = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        let n = i as u32 + 1;
        done.push(cp(n, &put_part(s, key, id, n, data).await));
    }
    done
}

#[tokio::test]
async fn complete_assembles_parts_without_copying() {
    let (dir, s) = store_with("b").await;
    put(&s, "b", "big", b"previous version").await;
    let attrs = ObjectAttrs {
        content_type: Some("image/png".into()),
        ..ObjectAttrs::default()
    };
    let id = s
        .create_multipart_upload("b", "big", attrs.clone())
        .await
        .unwrap();
    let up = s.multipart_upload("b", "big", &id).await.unwrap();
    assert_eq!(
        (up.key.as_str(), up.upload_id.as_str()),
        ("big", id.as_str())
    );
    let p1 = bytes(300_000, 1);
    let p2 = bytes(300_000, 2);
    let p3 = bytes(123_457, 3);
    let unused = bytes(300_000, 4);
    let e1 = put_part(&s, "big", &id, 1, &p1).await;
    // Part 2 is uploaded twice; the second replaces the first.
    put_part(&s, "big", &id, 2, &unused).await;
    let e2 = put_part(&s, "big", &id, 2, &p2).await;
    let e4 = put_part(&s, "big", &id, 4, &p3).await;
    put_part(&s, "big", &id, 5, &unused).await;
    assert_eq!(e1, md5_hex(&p1));
    // Parts 1, 2, 4, 5 (the old object is small: inline in its record).
    assert_eq!(files_under(&dir.path().join("objects")).len(), 4);

    let listed = s.list_parts("b", "big", &id, 0, 1000).await.unwrap();
    let numbers: Vec<_> = listed.parts.iter().map(|p| p.part_number).collect();
    assert_eq!(numbers, [1, 2, 4, 5]);
    assert_eq!(listed.parts[1].etag, e2);
    assert_eq!(listed.parts[2].size, p3.len() as u64);
    assert!(!listed.is_truncated);
    let page = s.list_parts("b", "big", &id, 0, 2).await.unwrap();
    assert!(page.is_truncated);
    assert_eq!(page.next_part_number_marker, 2);
    let page = s.list_parts("b", "big", &id, 2, 2).await.unwrap();
    assert_eq!(
        page.parts.iter().map(|p| p.part_number).collect::<Vec<_>>(),
        [4, 5]
    );
    assert!(!page.is_truncated);

    let quoted = format!("\"{e4}\"");
    let m = s
        .complete_multipart_upload(
            "b",
            "big",
            &id,
            &[cp(1, &e1), cp(2, &e2), cp(4, &quoted)],
            5,
        )
        .await
        .unwrap();
    let whole = [p1.clone(), p2.clone(), p3.clone()].concat();
    assert_eq!(m.size, whole.len() as u64);
    assert_eq!(m.etag, multipart_etag(&[&p1, &p2, &p3]));
    assert_eq!(m.attrs, attrs);
    assert_eq!(s.head_object("b", "big").await.unwrap(), m);
    assert_eq!(get(&s, "b", "big").await, whole);
    let (_, read) = s.read_object("b", "big", m.size).await.unwrap();
    assert_eq!(read, Some(whole.clone()));
    // Ranges inside one segment, across two, across all three.
    for (start, end) in [
        (10u64, 20u64),
        (299_990, 300_010),
        (250_000, 650_000),
        (0, 723_456),
        (600_000, 723_456),
    ] {
        let got = get_range(&s, "b", "big", start, Some(end)).await.unwrap();
        let e = (end as usize).min(whole.len() - 1);
        assert_eq!(got, &whole[start as usize..=e], "range {start}-{end}");
    }
    // Exactly the three used part files remain: the replaced part 2 and the
    // unused part 5 are gone.
    assert_eq!(files_under(&dir.path().join("objects")).len(), 3);
    // The upload is finished.
    assert!(matches!(
        s.multipart_upload("b", "big", &id).await,
        Err(Error::NoSuchUpload(_))
    ));
    assert!(matches!(
        s.part_writer("b", "big", &id, 1).await,
        Err(Error::NoSuchUpload(_))
    ));
    assert!(matches!(
        s.list_parts("b", "big", &id, 0, 10).await,
        Err(Error::NoSuchUpload(_))
    ));
    // Overwriting the multipart object removes all its segments.
    put(&s, "b", "big", b"small").await;
    assert!(files_under(&dir.path().join("objects")).is_empty());
}

#[tokio::test]
async fn completion_errors_leave_upload_intact() {
    let (_dir, s) = store_with("b").await;
    let id = start(&s, "k").await;
    let small = bytes(1000, 1);
    let big = bytes(5000, 2);
    let e1 = put_part(&s, "k", &id, 1, &small).await;
    let e2 = put_part(&s, "k", &id, 2, &big).await;
    let e3 = put_part(&s, "k", &id, 3, &small).await;

    let r = s
        .complete_multipart_upload("b", "k", &id, &[cp(2, &e2), cp(1, &e1)], 0)
        .await;
    assert!(matches!(r, Err(Error::InvalidPartOrder)));
    let r = s
        .complete_multipart_upload("b", "k", &id, &[cp(1, &e1), cp(1, &e1)], 0)
        .await;
    assert!(matches!(r, Err(Error::InvalidPartOrder)));
    let r = s
        .complete_multipart_upload("b", "k", &id, &[cp(1, &e1), cp(7, &e1)], 0)
        .await;
    assert!(matches!(r, Err(Error::InvalidPart { part_number: 7, .. })));
    let r = s
        .complete_multipart_upload("b", "k", &id, &[cp(1, &e2)], 0)
        .await;
    assert!(matches!(r, Err(Error::InvalidPart { part_number: 1, .. })));
    // Part 1 (1000 bytes) is not last: too small for a 2000-byte minimum.
    let r = s
        .complete_multipart_upload("b", "k", &id, &[cp(1, &e1), cp(2, &e2), cp(3, &e3)], 2000)
        .await;
    assert!(matches!(
        r,
        Err(Error::EntityTooSmall {
            part_number: 1,
            size: 1000,
            min: 2000
        })
    ));
    let r = s.complete_multipart_upload("b", "k", &id, &[], 0).await;
    assert!(matches!(r, Err(Error::InvalidPart { .. })));
    assert!(matches!(
        s.head_object("b", "k").await,
        Err(Error::NoSuchKey(_))
    ));
    assert_eq!(
        s.list_parts("b", "k", &id, 0, 100)
            .await
            .unwrap()
            .parts
            .len(),
        3
    );

    // The last part may be small.
    let m = s
        .complete_multipart_upload("b", "k", &id, &[cp(2, &e2), cp(3, &e3)], 2000)
        .await
        .unwrap();
    assert_eq!(
        get(&s, "b", "k").await,
        [big.clone(), small.clone()].concat()
    );
    assert_eq!(m.etag, multipart_etag(&[&big, &small]));
    let r = s
        .complete_multipart_upload("b", "k", &id, &[cp(2, &e2)], 0)
        .await;
    assert!(matches!(r, Err(Error::NoSuchUpload(_))));
    assert!(matches!(
        s.complete_multipart_upload("nope", "k", &id, &[cp(2, &e2)], 0)
            .await,
        Err(Error::NoSuchBucket(_))
    ));
}

#[tokio::test]
async fn abort_removes_parts_and_late_parts_fail() {
    let (dir, s) = store_with("b").await;
    let id = start(&s, "k").await;
    put_part(&s, "k", &id, 1, &bytes(2 * 1024 * 1024, 1)).await;
    put_part(&s, "k", &id, 2, &bytes(10, 1)).await;
    // A part writer opened before the abort commits after it.
    let mut late = s.part_writer("b", "k", &id, 3).await.unwrap();
    late.write(&bytes(1024, 5)).await.unwrap();
    assert_eq!(files_under(&dir.path().join("objects")).len(), 2);
    s.abort_multipart_upload("b", "k", &id).await.unwrap();
    assert!(files_under(&dir.path().join("objects")).is_empty());
    assert!(matches!(
        late.commit(ObjectAttrs::default(), None).await,
        Err(Error::NoSuchUpload(_))
    ));
    assert!(files_under(&dir.path().join("objects")).is_empty());
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    assert!(matches!(
        s.abort_multipart_upload("b", "k", &id).await,
        Err(Error::NoSuchUpload(_))
    ));
    // The wrong key does not find the upload either.
    let id2 = start(&s, "k").await;
    assert!(matches!(
        s.multipart_upload("b", "other", &id2).await,
        Err(Error::NoSuchUpload(_))
    ));
    assert!(matches!(
        s.part_writer("b", "other", &id2, 1).await,
        Err(Error::NoSuchUpload(_))
    ));
    // Open uploads do not keep the bucket: deleting it aborts them.
    s.delete_bucket("b").await.unwrap();
    assert!(matches!(
        s.multipart_upload("b", "k", &id2).await,
        Err(Error::NoSuchBucket(_) | Error::NoSuchUpload(_))
    ));
}

#[tokio::test]
async fn empty_parts_and_checksums() {
    let (_dir, s) = store_with("b").await;
    let id = start(&s, "k").await;
    let e1 = put_part(&s, "k", &id, 1, b"abc").await;
    let w = s.part_writer("b", "k", &id, 2).await.unwrap();
    let attrs = ObjectAttrs {
        checksums: [("sha256".to_string(), "xyz=".to_string())].into(),
        content_type: Some("ignored/for-parts".into()),
        ..ObjectAttrs::default()
    };
    let pm = w.commit(attrs, None).await.unwrap();
    assert_eq!(pm.size, 0);
    assert_eq!(pm.attrs.content_type, None);
    let parts = s.list_parts("b", "k", &id, 0, 10).await.unwrap().parts;
    assert_eq!(
        parts[1].checksums.get("sha256").map(String::as_str),
        Some("xyz=")
    );
    let m = s
        .complete_multipart_upload("b", "k", &id, &[cp(1, &e1), cp(2, &pm.etag)], 0)
        .await
        .unwrap();
    assert_eq!(m.size, 3);
    assert_eq!(get(&s, "b", "k").await, b"abc");
}

#[tokio::test]
async fn list_uploads_with_markers_and_delimiter() {
    let (_dir, s) = store_with("b").await;
    let mut all = Vec::new();
    for key in ["a", "b/1", "b/2", "c", "a"] {
        let id = start(&s, key).await;
        all.push((key.to_string(), id));
    }
    all.sort();
    let q = UploadsQuery {
        max_uploads: 1000,
        ..UploadsQuery::default()
    };
    let page = s.list_multipart_uploads("b", &q).await.unwrap();
    let got: Vec<_> = page
        .uploads
        .iter()
        .map(|u| (u.key.clone(), u.upload_id.clone()))
        .collect();
    assert_eq!(got, all);
    // Two uploads of "a", sorted by initiation.
    assert!(page.uploads[0].initiated <= page.uploads[1].initiated);

    // Paging one at a time with both markers visits everything once.
    let mut seen = Vec::new();
    let mut q = UploadsQuery {
        max_uploads: 1,
        ..UploadsQuery::default()
    };
    loop {
        let page = s.list_multipart_uploads("b", &q).await.unwrap();
        seen.extend(
            page.uploads
                .iter()
                .map(|u| (u.key.clone(), u.upload_id.clone())),
        );
        if !page.is_truncated {
            break;
        }
        q.key_marker = page.next_key_marker;
        q.upload_id_marker = page.next_upload_id_marker;
    }
    assert_eq!(seen, all);

    let q = UploadsQuery {
        delimiter: Some("/".into()),
        max_uploads: 1000,
        ..UploadsQuery::default()
    };
    let page = s.list_multipart_uploads("b", &q).await.unwrap();
    assert_eq!(page.common_prefixes, ["b/"]);
    assert_eq!(
        page.uploads
            .iter()
            .map(|u| u.key.as_str())
            .collect::<Vec<_>>(),
        ["a", "a", "c"]
    );
    let q = UploadsQuery {
        prefix: "b/".into(),
        max_uploads: 1000,
        ..UploadsQuery::default()
    };
    assert_eq!(
        s.list_multipart_uploads("b", &q)
            .await
            .unwrap()
            .uploads
            .len(),
        2
    );
    // A key marker alone skips every upload of that key.
    let q = UploadsQuery {
        key_marker: Some("a".into()),
        max_uploads: 1000,
        ..UploadsQuery::default()
    };
    let page = s.list_multipart_uploads("b", &q).await.unwrap();
    assert_eq!(
        page.uploads
            .iter()
            .map(|u| u.key.as_str())
            .collect::<Vec<_>>(),
        ["b/1", "b/2", "c"]
    );
    let q = UploadsQuery {
        max_uploads: 0,
        ..UploadsQuery::default()
    };
    let page = s.list_multipart_uploads("b", &q).await.unwrap();
    assert!(page.uploads.is_empty() && !page.is_truncated);
}

#[tokio::test]
async fn many_segments_are_read_lazily_and_in_order() {
    let (dir, s) = store_with("b").await;
    let id = start(&s, "many").await;
    // More parts than get_object opens up front (64), of uneven sizes.
    let parts: Vec<Vec<u8>> = (1..=80usize)
        .map(|n| bytes(5000 + (n * 37) % 900, n as u8))
        .collect();
    let done = put_parts(&s, "many", &id, &parts).await;
    let m = s
        .complete_multipart_upload("b", "many", &id, &done, 5000)
        .await
        .unwrap();
    let whole = parts.concat();
    assert_eq!(m.size, whole.len() as u64);
    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    assert_eq!(m.etag, multipart_etag(&refs));
    assert_eq!(get(&s, "b", "many").await, whole);
    let (_, read) = s.read_object("b", "many", m.size).await.unwrap();
    assert_eq!(read, Some(whole.clone()));
    let n = whole.len() as u64;
    for (start, end) in [
        (0, n - 1),
        (4999, 5001),
        (n - 10_000, n - 1),
        (123_456, 333_333),
    ] {
        let got = get_range(&s, "b", "many", start, Some(end)).await.unwrap();
        assert_eq!(got, &whole[start as usize..=end as usize]);
    }
    s.delete_object("b", "many").await.unwrap();
    assert!(files_under(&dir.path().join("objects")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_complete_and_abort_leave_one_outcome_and_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(open(dir.path()));
    s.create_bucket("b", CannedAcl::Private, "").await.unwrap();
    for round in 0..10 {
        let key = format!("k{round}");
        let id = start(s.as_ref(), &key).await;
        let e1 = put_part(s.as_ref(), &key, &id, 1, &bytes(6000, 1)).await;
        let e2 = put_part(s.as_ref(), &key, &id, 2, &bytes(6000, 2)).await;
        let (a, b) = (s.clone(), s.clone());
        let (k1, k2, i1, i2) = (key.clone(), key.clone(), id.clone(), id.clone());
        let complete = tokio::spawn(async move {
            a.complete_multipart_upload("b", &k1, &i1, &[cp(1, &e1), cp(2, &e2)], 0)
                .await
        });
        let abort = tokio::spawn(async move { b.abort_multipart_upload("b", &k2, &i2).await });
        let (c, ab) = (complete.await.unwrap(), abort.await.unwrap());
        match (&c, &ab) {
            (Ok(m), Err(Error::NoSuchUpload(_))) => {
                assert_eq!(m.size, 12_000);
                assert_eq!(get(s.as_ref(), "b", &key).await.len(), 12_000);
                s.delete_object("b", &key).await.unwrap();
            }
            (Err(Error::NoSuchUpload(_)), Ok(())) => {
                assert!(matches!(
                    s.head_object("b", &key).await,
                    Err(Error::NoSuchKey(_))
                ));
            }
            other => panic!("both or neither won: {other:?}"),
        }
        assert!(
            files_under(&dir.path().join("objects")).is_empty(),
            "round {round}"
        );
    }
}

#[tokio::test]
async fn overwriting_a_many_part_object_mid_read_keeps_the_old_bytes() {
    let (dir, s) = store_with("b").await;
    let id = start(&s, "k").await;
    let parts: Vec<Vec<u8>> = (1..=100u8).map(|n| bytes(5000, n)).collect();
    let done = put_parts(&s, "k", &id, &parts).await;
    s.complete_multipart_upload("b", "k", &id, &done, 0)
        .await
        .unwrap();
    let old = parts.concat();
    let (_, mut stream) = s.get_object("b", "k", None).await.unwrap();
    let (_, unread) = s
        .get_object(
            "b",
            "k",
            Some(storage::ByteRange {
                start: 1,
                end: None,
            }),
        )
        .await
        .unwrap();
    use futures_util::StreamExt;
    let mut got = stream.next().await.unwrap().unwrap().to_vec();
    // Replace, then delete: the 100 old part files stay until both readers finish.
    put(&s, "b", "k", b"new").await;
    s.delete_object("b", "k").await.unwrap();
    assert_eq!(files_under(&dir.path().join("objects")).len(), 100);
    while let Some(c) = stream.next().await {
        got.extend_from_slice(&c.unwrap());
    }
    assert_eq!(got, old);
    assert_eq!(
        files_under(&dir.path().join("objects")).len(),
        100,
        "the second reader still holds them"
    );
    // Dropping a stream without reading it releases its pin too.
    drop(unread);
    assert!(files_under(&dir.path().join("objects")).is_empty());
}

#[tokio::test]
async fn conditional_completion_leaves_the_upload_open() {
    let (_dir, s) = store_with("b").await;
    put(&s, "b", "k", b"first").await;
    let id = start(&s, "k").await;
    let data = bytes(10_000, 7);
    let e1 = put_part(&s, "k", &id, 1, &data).await;
    let absent = Precondition::Absent;
    let r = s
        .complete_multipart_upload_if("b", "k", &id, &[cp(1, &e1)], 0, &absent)
        .await;
    assert!(matches!(r, Err(Error::PreconditionFailed)));
    assert_eq!(get(&s, "b", "k").await, b"first");
    // Nothing changed: the upload and its part are still there.
    let parts = s.list_parts("b", "k", &id, 0, 10).await.unwrap();
    assert_eq!(parts.parts.len(), 1);
    let current = Precondition::ETagIn(vec![md5_hex(b"first")]);
    s.complete_multipart_upload_if("b", "k", &id, &[cp(1, &e1)], 0, &current)
        .await
        .unwrap();
    assert_eq!(get(&s, "b", "k").await, data);
}
