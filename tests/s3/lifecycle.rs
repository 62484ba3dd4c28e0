//! Bucket lifecycle over real HTTP: Put/Get/DeleteBucketLifecycle and S3's
//! refusals, the rules going with their bucket, the owner-only rule, and
//! the sweeper (days of one second, a tick every 200 ms) deleting expired
//! objects and aborting stale uploads while leaving everything else.

use crate::common::{b64_std, solid_png, Options, Server};
use imgbucket::lifecycle::SweepSettings;
use std::time::{Duration, Instant};

const RULES: &str = r#"<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule>
    <ID>tmp</ID>
    <Filter><Prefix>tmp/</Prefix></Filter>
    <Status>Enabled</Status>
    <Expiration><Days>1</Days></Expiration>
  </Rule>
  <Rule>
    <ID>old-uploads</ID>
    <Prefix>up/</Prefix>
    <Status>Enabled</Status>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>
  </Rule>
  <Rule>
    <ID>off</ID>
    <Filter/>
    <Status>Disabled</Status>
    <Expiration><Days>1</Days></Expiration>
  </Rule>
</LifecycleConfiguration>"#;

/// `Content-MD5` of a body, as SDKs send it on this PUT.
fn md5_b64(body: &str) -> String {
    use md5::Digest;
    b64_std(&md5::Md5::digest(body.as_bytes()))
}

/// PutBucketLifecycleConfiguration with `Content-MD5`.
async fn put_rules(s: &Server, bucket: &str, doc: &str) -> crate::common::Resp {
    let md5 = md5_b64(doc);
    s.req(
        "PUT",
        &format!("/{bucket}?lifecycle"),
        &[("content-md5", &md5)],
        doc.to_string(),
    )
    .await
}

#[tokio::test]
async fn put_get_delete_bucket_lifecycle() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.get("/bkt?lifecycle")
        .await
        .expect_error(404, "NoSuchLifecycleConfiguration");
    // S3 requires a digest of this body.
    s.put("/bkt?lifecycle", RULES)
        .await
        .expect_error(400, "InvalidRequest");
    put_rules(&s, "bkt", RULES).await.expect(200);
    let got = s.get("/bkt?lifecycle").await;
    got.expect(200);
    let doc = got.text();
    for part in [
        "<ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
        "<ID>old-uploads</ID><Prefix>up/</Prefix>",
        "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
        "<Filter/><Status>Disabled</Status>",
    ] {
        assert!(doc.contains(part), "{part} missing from {doc}");
    }
    // What GET answers, PUT takes back unchanged; a checksum header does
    // as well as Content-MD5.
    let crc =
        imgbucket::auth::checksum_base64(imgbucket::auth::ChecksumAlgorithm::Crc32, &got.body);
    s.req(
        "PUT",
        "/bkt?lifecycle",
        &[("x-amz-checksum-crc32", &crc)],
        got.body.clone(),
    )
    .await
    .expect(200);
    assert_eq!(s.get("/bkt?lifecycle").await.text(), doc);
    // A wrong digest is refused, and changes nothing.
    s.req(
        "PUT",
        "/bkt?lifecycle",
        &[("content-md5", &md5_b64("other"))],
        RULES,
    )
    .await
    .expect_error(400, "BadDigest");
    s.delete("/bkt?lifecycle").await.expect(204);
    s.get("/bkt?lifecycle")
        .await
        .expect_error(404, "NoSuchLifecycleConfiguration");
    s.delete("/bkt?lifecycle").await.expect(204);
    put_rules(&s, "nosuch", RULES)
        .await
        .expect_error(404, "NoSuchBucket");
    s.get("/nosuch?lifecycle")
        .await
        .expect_error(404, "NoSuchBucket");
}

#[tokio::test]
async fn bad_configurations_are_refused_as_s3_does() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let rule = |body: &str| {
        format!("<LifecycleConfiguration><Rule>{body}</Rule></LifecycleConfiguration>")
    };
    let exp = |e: &str| {
        rule(&format!(
            "<ID>r</ID><Filter/><Status>Enabled</Status><Expiration>{e}</Expiration>"
        ))
    };
    let days = "<Expiration><Days>1</Days></Expiration>";
    let many: String = (0..1001)
        .map(|i| format!("<Rule><ID>{i}</ID><Filter/><Status>Enabled</Status>{days}</Rule>"))
        .collect();
    let cases = [
        ("<LifecycleConfiguration><Rule>".to_string(), 400, "MalformedXML"),
        (exp("<Days>0</Days>"), 400, "InvalidArgument"),
        (exp("<Date>2030-01-01T12:00:00Z</Date>"), 400, "InvalidArgument"),
        (
            exp("<Days>1</Days><Date>2030-01-01T00:00:00Z</Date>"),
            400,
            "MalformedXML",
        ),
        (
            format!("<LifecycleConfiguration>{many}</LifecycleConfiguration>"),
            400,
            "MalformedXML",
        ),
        (
            format!(
                "<LifecycleConfiguration>{0}{0}</LifecycleConfiguration>",
                format!("<Rule><ID>a</ID><Filter/><Status>Enabled</Status>{days}</Rule>")
            ),
            400,
            "InvalidArgument",
        ),
        (
            rule(&format!(
                "<ID>{}</ID><Filter/><Status>Enabled</Status>{days}",
                "i".repeat(256)
            )),
            400,
            "InvalidArgument",
        ),
        (
            rule("<ID>r</ID><Filter/><Status>Enabled</Status>"),
            400,
            "InvalidRequest",
        ),
        (
            rule("<ID>r</ID><Filter/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>"),
            501,
            "NotImplemented",
        ),
        (
            rule("<ID>r</ID><Filter><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>"),
            400,
            "InvalidRequest",
        ),
        (
            rule("<ID>r</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>"),
            400,
            "InvalidRequest",
        ),
    ];
    for (doc, status, code) in &cases {
        let r = put_rules(&s, "bkt", doc).await;
        assert_eq!(r.status.as_u16(), *status, "{doc:.200}: {}", r.text());
        assert_eq!(r.code(), *code, "{doc:.200}");
    }
    // The 501 names what it cannot act on.
    let r = put_rules(&s, "bkt", &cases[8].0).await;
    assert!(r.text().contains("Transition"), "{}", r.text());
    // Nothing was stored by any of them.
    s.get("/bkt?lifecycle")
        .await
        .expect_error(404, "NoSuchLifecycleConfiguration");
}

#[tokio::test]
async fn rules_go_with_their_bucket_and_only_the_owner_sees_them() {
    let s = Server::start().await;
    s.mb_public("pub").await;
    put_rules(&s, "pub", RULES).await.expect(200);
    // Anyone may list a public-read bucket, not read or change its rules.
    s.anon_get("/pub?lifecycle")
        .await
        .expect_error(403, "AccessDenied");
    s.anon("DELETE", "/pub?lifecycle", &[], "")
        .await
        .expect_error(403, "AccessDenied");
    s.delete("/pub").await.expect(204);
    s.mb("pub").await;
    s.get("/pub?lifecycle")
        .await
        .expect_error(404, "NoSuchLifecycleConfiguration");
}

/// Polls `check` until it holds, up to `limit`.
async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn the_sweeper_expires_objects_and_aborts_uploads() {
    let s = Server::start_with(Options {
        lifecycle: Some(SweepSettings {
            interval: Duration::from_millis(200),
            day: Duration::from_secs(1),
            max_deletes: 100,
            max_reads: 100,
        }),
        ..Options::default()
    })
    .await;
    s.mb("bkt").await;
    s.mb("other").await;
    put_rules(&s, "bkt", RULES).await.expect(200);
    let png = solid_png(40, 20, [200, 10, 10, 255]);
    s.upload("bkt", "tmp/a.png", &png, "image/png").await;
    s.upload("bkt", "keep/b", b"stays", "text/plain").await;
    s.upload("other", "tmp/c", b"no rules here", "text/plain")
        .await;
    let old = s.create_upload("/bkt/up/big", &[]).await;
    let kept = s.create_upload("/bkt/elsewhere/big", &[]).await;
    // A processed variant of the doomed object, now in the cache.
    let processed = "/bkt/tmp/a.png?x-oss-process=image/resize,w_10";
    s.get(processed).await.expect(200);
    s.get(processed).await.expect(200);

    // A day is a second: due within two, swept within the next tick.
    let gone = eventually(Duration::from_secs(8), async || {
        s.head("/bkt/tmp/a.png").await.status == 404
    })
    .await;
    assert!(gone, "tmp/a.png was not expired");
    let aborted = eventually(Duration::from_secs(4), async || {
        s.get(&format!("/bkt/up/big?uploadId={old}")).await.status == 404
    })
    .await;
    assert!(aborted, "up/big was not aborted");
    // The variant is not served once its source is gone.
    s.get(processed).await.expect_error(404, "NoSuchKey");
    // Everything else stays: other prefixes, other buckets, other uploads.
    s.get("/bkt/keep/b").await.expect(200);
    s.get("/other/tmp/c").await.expect(200);
    s.get(&format!("/bkt/elsewhere/big?uploadId={kept}"))
        .await
        .expect(200);
    s.stop().await;
}
