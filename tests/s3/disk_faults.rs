//! Disk faults seen from the client: the embedded store injects ENOSPC,
//! EIO or a short write at each step of the durable write (see
//! `storage::embedded::faults`), and the server must answer a clear error
//! in the envelope the client speaks (507 `InsufficientStorage` for a full
//! disk, 500 `InternalError` for a failed one), lose no acknowledged
//! object, show no partial one, keep serving reads, and leave no temp
//! file behind, during the fault or after a restart.

use crate::common::{Options, Server, Vendor};
use storage::embedded::faults::{Fault, Faults, Step};

/// Over the store's 1 MiB write buffer: the body is spilled to the temp
/// file during the upload, not only at commit.
const BIG: usize = (1 << 20) + 777;

fn body(seed: u8) -> Vec<u8> {
    (0..BIG)
        .map(|i| (i as u8).wrapping_mul(seed) ^ seed)
        .collect()
}

/// The status and code a fault must be answered with.
fn expected(fault: Fault) -> (u16, &'static str) {
    match fault {
        Fault::NoSpace | Fault::ShortWrite => (507, "InsufficientStorage"),
        Fault::Io => (500, "InternalError"),
    }
}

fn tmp_files(s: &Server) -> usize {
    std::fs::read_dir(s.dir.path().join("tmp")).unwrap().count()
}

async fn one_case(step: Step, fault: Fault) {
    let what = format!("{step:?} × {fault:?}");
    let faults = Faults::new();
    let s = Server::start_with(Options {
        faults: Some(faults.clone()),
        ..Options::default()
    })
    .await;
    s.mb("bkt").await;
    let kept = body(3);
    s.req("PUT", "/bkt/kept", &[], kept.clone())
        .await
        .expect(200);
    s.req("PUT", "/bkt/small", &[], "tiny").await.expect(200);
    let upload = s.create_upload("/bkt/mp", &[]).await;

    faults.arm(step, fault);
    let (status, code) = expected(fault);
    // A new object, an overwrite of an acknowledged one, a part.
    s.req("PUT", "/bkt/new", &[], body(5))
        .await
        .expect_error(status, code);
    s.req("PUT", "/bkt/kept", &[], body(7))
        .await
        .expect_error(status, code);
    s.req(
        "PUT",
        &format!("/bkt/mp?partNumber=1&uploadId={upload}"),
        &[],
        body(9),
    )
    .await
    .expect_error(status, code);
    // The same failure in the OSS SDK's spelling of the envelope.
    let h = s.vendor_headers(Vendor::OssV1, &s.creds, "PUT", None, "/bkt/oss", &[]);
    s.send_headers("PUT", "/bkt/oss", h, body(11))
        .await
        .oss_error(status, code);

    // Reads go on during the fault, and show nothing partial.
    s.req("GET", "/bkt/small", &[], "").await.expect(200);
    let got = s.req("GET", "/bkt/kept", &[], "").await;
    got.expect(200);
    let new = s.req("GET", "/bkt/new", &[], "").await;
    if step == Step::MetaFlush {
        // Committed but not flushed: complete, though never acknowledged.
        assert_eq!(&got.body[..], &body(7)[..], "{what}");
        new.expect(200);
        assert_eq!(&new.body[..], &body(5)[..], "{what}");
    } else {
        assert_eq!(
            &got.body[..],
            &kept[..],
            "{what}: an acknowledged object changed"
        );
        new.expect_error(404, "NoSuchKey");
        let parts = s
            .req("GET", &format!("/bkt/mp?uploadId={upload}"), &[], "")
            .await;
        parts.expect(200);
        assert!(!parts.text().contains("<Part>"), "{what}");
    }
    assert_eq!(tmp_files(&s), 0, "{what}: a temp file outlived the failure");

    // The disk is back: writes work again, on the same connection pool.
    faults.disarm();
    s.req("PUT", "/bkt/after", &[], body(13)).await.expect(200);

    // A restart: the server stops, the store is reopened on the same
    // directory. Every acknowledged object is there, and no temp file.
    let mut s = s;
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    s.stop().await;
    let store = reopen(dir.path()).await;
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0,
        "{what}"
    );
    let want_kept = if step == Step::MetaFlush {
        body(7)
    } else {
        kept
    };
    assert_eq!(read(&store, "kept").await, want_kept, "{what}");
    assert_eq!(read(&store, "after").await, body(13), "{what}");
    assert_eq!(read(&store, "small").await, b"tiny", "{what}");
}

/// Opens the store again once the stopped server has let go of it.
async fn reopen(dir: &std::path::Path) -> storage::embedded::EmbeddedStore {
    for _ in 0..100 {
        if let Ok(s) = storage::embedded::EmbeddedStore::open(dir) {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the store cannot be reopened after the server stopped");
}

async fn read(store: &dyn storage::Store, key: &str) -> Vec<u8> {
    use futures_util::StreamExt;
    let (_, mut stream) = store.get_object("bkt", key, None).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

#[tokio::test]
async fn every_step_and_fault_answers_clearly_and_loses_nothing() {
    for step in Step::ALL {
        for fault in Fault::ALL {
            one_case(step, fault).await;
        }
    }
}

/// A real full disk, when the environment names a small filesystem for
/// it (`IMGBUCKET_TEST_FULL_DISK=/mnt/small`, e.g. a 16 MiB tmpfs:
/// `mount -t tmpfs -o size=16m tmpfs /mnt/small`, which needs root; see
/// docs/operations.md). Skipped otherwise.
#[tokio::test]
async fn a_real_full_disk_answers_507_and_recovers() {
    let Some(parent) = std::env::var_os("IMGBUCKET_TEST_FULL_DISK") else {
        eprintln!("skipped: IMGBUCKET_TEST_FULL_DISK is not set");
        return;
    };
    let s = Server::start_with(Options {
        data_parent: Some(parent.into()),
        ..Options::default()
    })
    .await;
    s.mb("bkt").await;
    // Fill the disk with 1 MiB objects until the store refuses one.
    let mut stored = Vec::new();
    let refused = loop {
        let key = format!("/bkt/o{}", stored.len());
        let r = s.req("PUT", &key, &[], body(stored.len() as u8 | 1)).await;
        if r.status != 200 {
            break r;
        }
        stored.push(key);
        assert!(stored.len() < 10_000, "the disk never filled");
    };
    eprintln!(
        "{} objects of 1 MiB fit before the disk was full",
        stored.len()
    );
    refused.expect_error(507, "InsufficientStorage");
    assert!(!stored.is_empty(), "nothing fit on the disk at all");
    assert_eq!(tmp_files(&s), 0, "the refused upload left a temp file");
    // Every acknowledged object reads back whole, on the full disk.
    for (i, key) in stored.iter().enumerate() {
        let got = s.req("GET", key, &[], "").await;
        got.expect(200);
        assert_eq!(&got.body[..], &body(i as u8 | 1)[..], "{key}");
    }
    // Freeing space lets writes succeed again.
    for key in stored.iter().take(3) {
        s.req("DELETE", key, &[], "").await.expect(204);
    }
    s.req("PUT", "/bkt/after", &[], "after").await.expect(200);
}
