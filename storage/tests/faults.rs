//! Injected disk faults at every step of the durable write (`embedded`'s
//! module doc): for each step × fault, the write fails with the fault's
//! error, no acknowledged object is lost, no partial object is visible,
//! no temp file outlives the failure or a restart, and reads go on.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::io::ErrorKind;
use std::path::Path;
use storage::embedded::faults::{Fault, Faults, Step};
use storage::embedded::EmbeddedStore;
use storage::{CannedAcl, Error, ObjectAttrs, Store};

/// Larger than the writer's 1 MiB buffer, so both the spill during
/// `write` and the final write at `commit` run.
const BIG: usize = (1 << 20) + 12_345;

/// Writes `data` to `key` as a PUT would; the first error of any call.
async fn try_put(s: &dyn Store, key: &str, data: &[u8]) -> storage::Result<()> {
    let mut w = s.object_writer("b", key).await?;
    for c in data.chunks(256 * 1024) {
        w.write(c).await?;
    }
    w.commit(ObjectAttrs::default(), None).await.map(drop)
}

/// The same as an UploadPart.
async fn try_part(s: &dyn Store, upload: &str, data: &[u8]) -> storage::Result<()> {
    let mut w = s.part_writer("b", "mp", upload, 1).await?;
    for c in data.chunks(256 * 1024) {
        w.write(c).await?;
    }
    w.commit(ObjectAttrs::default(), None).await.map(drop)
}

fn expect_fault(e: Error, fault: Fault, what: &str) {
    let Error::Io(io) = e else {
        panic!("{what}: expected an I/O error, got {e:?}")
    };
    match fault {
        Fault::NoSpace | Fault::ShortWrite => {
            assert_eq!(io.kind(), ErrorKind::StorageFull, "{what}: {io}")
        }
        Fault::Io => assert_ne!(io.kind(), ErrorKind::StorageFull, "{what}: {io}"),
    }
}

fn tmp_files(dir: &Path) -> usize {
    files_under(&dir.join("tmp")).len()
}

async fn one_case(step: Step, fault: Fault) {
    let what = format!("{step:?} × {fault:?}");
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults::new();
    let s = EmbeddedStore::open_with_faults(dir.path(), faults.clone()).unwrap();
    s.create_bucket("b", CannedAcl::Private, "").await.unwrap();
    let kept = bytes(BIG, 1);
    put(&s, "b", "kept", &kept).await;
    put(&s, "b", "small", b"tiny").await;
    let upload = s
        .create_multipart_upload("b", "mp", ObjectAttrs::default())
        .await
        .unwrap();

    faults.arm(step, fault);
    // A new key, an overwrite of an acknowledged one, and a part.
    let new = try_put(&s, "new", &bytes(BIG, 2)).await;
    let over = try_put(&s, "kept", &bytes(BIG, 3)).await;
    let part = try_part(&s, &upload, &bytes(BIG, 4)).await;
    if step == Step::MetaFlush {
        // The record was committed before the flush failed: the write is
        // complete and visible, though the client was told it failed (it
        // may or may not survive a power cut; it was never acknowledged).
        for r in [new, over, part] {
            expect_fault(r.unwrap_err(), fault, &what);
        }
        faults.disarm();
        assert_eq!(get(&s, "b", "new").await, bytes(BIG, 2), "{what}");
        assert_eq!(get(&s, "b", "kept").await, bytes(BIG, 3), "{what}");
    } else {
        for r in [new, over, part] {
            expect_fault(r.unwrap_err(), fault, &what);
        }
        // Nothing partial is visible, the acknowledged object is intact.
        assert!(
            matches!(s.head_object("b", "new").await, Err(Error::NoSuchKey(_))),
            "{what}: a failed write is visible"
        );
        assert_eq!(get(&s, "b", "kept").await, kept, "{what}");
        let parts = s.list_parts("b", "mp", &upload, 0, 1000).await.unwrap();
        assert!(parts.parts.is_empty(), "{what}: a failed part is listed");
        faults.disarm();
    }
    // Reads went on during the fault; the failure left no temp file.
    assert_eq!(get(&s, "b", "small").await, b"tiny", "{what}");
    assert_eq!(tmp_files(dir.path()), 0, "{what}: a temp file survived");
    // The disk is back: writes succeed again.
    put(&s, "b", "after", b"after the fault").await;
    drop(s);

    // A restart keeps every acknowledged object and leaves no debris:
    // every data file is referenced by a record.
    let s = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(tmp_files(dir.path()), 0, "{what}");
    assert_eq!(get(&s, "b", "after").await, b"after the fault", "{what}");
    assert_eq!(get(&s, "b", "small").await, b"tiny", "{what}");
    let expected_kept = if step == Step::MetaFlush {
        bytes(BIG, 3)
    } else {
        kept
    };
    assert_eq!(get(&s, "b", "kept").await, expected_kept, "{what}");
    let data_files = files_under(&dir.path().join("objects")).len();
    let referenced = if step == Step::MetaFlush { 3 } else { 1 };
    assert_eq!(
        data_files, referenced,
        "{what}: unreferenced data files after a restart"
    );
}

#[tokio::test]
async fn every_step_and_fault_of_the_durable_write() {
    for step in Step::ALL {
        for fault in Fault::ALL {
            one_case(step, fault).await;
        }
    }
}

#[tokio::test]
async fn a_short_write_never_leaves_a_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults::new();
    let s = EmbeddedStore::open_with_faults(dir.path(), faults.clone()).unwrap();
    s.create_bucket("b", CannedAcl::Private, "").await.unwrap();
    faults.arm(Step::Write, Fault::ShortWrite);
    // A body small enough to be written once, at commit.
    let e = try_put(&s, "k", &bytes(100_000, 7)).await.unwrap_err();
    expect_fault(e, Fault::ShortWrite, "short write at commit");
    assert_eq!(tmp_files(dir.path()), 0);
    assert!(files_under(&dir.path().join("objects")).is_empty());
    assert!(matches!(
        s.head_object("b", "k").await,
        Err(Error::NoSuchKey(_))
    ));
}
