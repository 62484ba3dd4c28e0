//! The vendors' SDKs on the wire, in-process: requests signed as `oss2` and
//! `cos-python-sdk-v5` sign them, addressed as they address buckets
//! (vendor virtual hosts, the configured domain), with the vendors' header
//! prefixes. Checks host → bucket routing, the `x-oss-*`/`x-cos-*` twins of
//! S3 headers in both directions, namespace-free vendor XML, error shapes
//! and the vendors' multipart minimums. The Python suites
//! (`s3-compat-tests/test_sdk_*.py`) run the real SDKs.

use crate::common::{complete_multipart_xml, harness, xml_text, Options, Resp, Server, Vendor};
use bytes::Bytes;
use imgbucket::auth::sign::Credentials;
use imgbucket::config::Limits;

const COS_BUCKET: &str = "examplebucket-1250000000";
const COS_HOST: &str = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com";
const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// A request signed as `oss2.Auth` (V1) signs it; `host` defaults to the
/// server's address (path style).
async fn oss(
    s: &Server,
    creds: &Credentials,
    method: &str,
    host: Option<&str>,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let h = s.vendor_headers(Vendor::OssV1, creds, method, host, path, headers);
    s.send_headers(method, path, h, Bytes::copy_from_slice(body))
        .await
}

/// A request signed as `cos-python-sdk-v5` signs it, sent (like
/// `CosConfig(IP=..., Port=...)` does) to the server with the bucket's COS
/// host name.
async fn cos(
    s: &Server,
    creds: &Credentials,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let h = s.vendor_headers(Vendor::Cos, creds, method, Some(host), path, headers);
    s.send_headers(method, path, h, Bytes::copy_from_slice(body))
        .await
}

fn wrong(s: &Server) -> Credentials {
    Credentials::new(&s.creds.access_key, "not-the-secret", &s.creds.region)
}

#[tokio::test]
async fn cos_host_names_the_bucket_with_its_appid() {
    let s = Server::start().await;
    // COS bucket names keep the appid suffix, and pass S3's naming rules.
    s.mb(COS_BUCKET).await;
    let r = cos(
        &s,
        &s.creds,
        "PUT",
        COS_HOST,
        "/a/k.txt",
        &[("x-cos-meta-color", "blue")],
        b"hello",
    )
    .await;
    r.expect(200);
    assert!(r.header("x-cos-request-id").is_some());
    // With a port, as the SDK sends it when the endpoint has one.
    let host = format!("{COS_HOST}:8080");
    let r = cos(&s, &s.creds, "GET", &host, "/a/k.txt", &[], b"").await;
    r.expect(200);
    assert_eq!(&r.body[..], b"hello");
    assert_eq!(r.header("x-cos-meta-color"), Some("blue"));
    assert_eq!(r.header("x-amz-meta-color"), None);
    assert_eq!(r.header("x-cos-request-id"), r.header("x-amz-request-id"));
    // The metadata is the object's: S3 clients see it under x-amz-meta-.
    let r = s.get(&format!("/{COS_BUCKET}/a/k.txt")).await;
    r.expect(200);
    assert_eq!(r.header("x-amz-meta-color"), Some("blue"));
    assert_eq!(r.header("x-cos-meta-color"), None);
    // Listing by host: COS XML carries no S3 namespace.
    let r = cos(&s, &s.creds, "GET", COS_HOST, "/", &[], b"").await;
    r.expect(200);
    assert!(!r.text().contains("xmlns"), "{}", r.text());
    assert_eq!(xml_text(&r.text(), "Key").as_deref(), Some("a/k.txt"));
    // The service host names no bucket: ListBuckets.
    let r = cos(
        &s,
        &s.creds,
        "GET",
        "service.cos.myqcloud.com",
        "/",
        &[],
        b"",
    )
    .await;
    r.expect(200);
    assert!(
        r.text().contains(&format!("<Name>{COS_BUCKET}</Name>")),
        "{}",
        r.text()
    );
    s.stop().await;
}

#[tokio::test]
async fn oss_and_us3_hosts_name_buckets() {
    let s = Server::start().await;
    s.mb("photos").await;
    let host = "photos.oss-cn-hangzhou.aliyuncs.com";
    oss(
        &s,
        &s.creds,
        "PUT",
        Some(host),
        "/cat.txt",
        &[("x-oss-meta-pet", "cat")],
        b"meow",
    )
    .await
    .expect(200);
    let r = oss(&s, &s.creds, "GET", Some(host), "/cat.txt", &[], b"").await;
    r.expect(200);
    assert_eq!(&r.body[..], b"meow");
    assert_eq!(r.header("x-oss-meta-pet"), Some("cat"));
    assert!(r.header("x-oss-request-id").is_some());
    // UCloud's host style, anonymously on a public-read bucket.
    oss(
        &s,
        &s.creds,
        "PUT",
        None,
        "/photos?acl",
        &[("x-oss-acl", "public-read")],
        b"",
    )
    .await
    .expect(200);
    let h = harness::header_map(&[("host", "photos.cn-bj.ufileos.com")]);
    let r = s.send_headers("GET", "/cat.txt", h, Bytes::new()).await;
    r.expect(200);
    assert_eq!(&r.body[..], b"meow");
    s.stop().await;
}

#[tokio::test]
async fn configured_domain_serves_cos_requests() {
    let s = Server::start_with(Options {
        domain: Some("cos.example.test"),
        ..Options::default()
    })
    .await;
    s.mb(COS_BUCKET).await;
    let host = format!("{COS_BUCKET}.cos.example.test");
    cos(&s, &s.creds, "PUT", &host, "/k", &[], b"by domain")
        .await
        .expect(200);
    let r = cos(&s, &s.creds, "GET", &host, "/k", &[], b"").await;
    r.expect(200);
    assert_eq!(&r.body[..], b"by domain");
    s.stop().await;
}

#[tokio::test]
async fn copies_take_vendor_headers() {
    let s = Server::start().await;
    s.mb(COS_BUCKET).await;
    s.mb("ossb").await;
    cos(
        &s,
        &s.creds,
        "PUT",
        COS_HOST,
        "/src",
        &[("x-cos-meta-a", "1")],
        b"copy me",
    )
    .await
    .expect(200);
    // COS names the source by host, and says `Replaced`.
    let src = format!("{COS_HOST}/src");
    let r = cos(
        &s,
        &s.creds,
        "PUT",
        COS_HOST,
        "/dst",
        &[
            ("x-cos-copy-source", &src),
            ("x-cos-metadata-directive", "Replaced"),
            ("x-cos-meta-b", "2"),
        ],
        b"",
    )
    .await;
    r.expect(200);
    assert!(r.text().contains("<CopyObjectResult>"), "{}", r.text());
    let r = cos(&s, &s.creds, "HEAD", COS_HOST, "/dst", &[], b"").await;
    r.expect(200);
    assert_eq!(r.header("x-cos-meta-b"), Some("2"));
    assert_eq!(r.header("x-cos-meta-a"), None);
    // OSS: `/bucket/key`, metadata copied by default.
    let source = format!("/{COS_BUCKET}/src");
    oss(
        &s,
        &s.creds,
        "PUT",
        None,
        "/ossb/copy",
        &[("x-oss-copy-source", &source)],
        b"",
    )
    .await
    .expect(200);
    let r = oss(&s, &s.creds, "GET", None, "/ossb/copy", &[], b"").await;
    assert_eq!(&r.body[..], b"copy me");
    assert_eq!(r.header("x-oss-meta-a"), Some("1"));
    // A failed copy-source condition, through the OSS twin.
    let r = oss(
        &s,
        &s.creds,
        "PUT",
        None,
        "/ossb/copy2",
        &[
            ("x-oss-copy-source", &source),
            ("x-oss-copy-source-if-match", "\"nope\""),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 412);
    s.stop().await;
}

#[tokio::test]
async fn oss_xml_is_what_oss2_parses() {
    let s = Server::start().await;
    s.mb("ossx").await;
    oss(&s, &s.creds, "PUT", None, "/ossx/k", &[], b"x")
        .await
        .expect(200);
    let r = oss(&s, &s.creds, "GET", None, "/ossx?max-keys=1", &[], b"").await;
    r.expect(200);
    let doc = r.text();
    assert!(doc.contains("<ListBucketResult>"), "{doc}");
    assert!(!doc.contains(S3_NS), "{doc}");
    assert!(doc.contains("<Type>Normal</Type>"), "{doc}");
    let lm = xml_text(&doc, "LastModified").unwrap();
    assert!(lm.ends_with(".000Z"), "{lm}");
    // oss2's first ListObjectsV2 page sends an empty token.
    let r = oss(
        &s,
        &s.creds,
        "GET",
        None,
        "/ossx?list-type=2&continuation-token=",
        &[],
        b"",
    )
    .await;
    r.expect(200);
    // The same listing for an S3 client keeps S3's namespace and shape.
    let r = s.get("/ossx?max-keys=1").await;
    assert!(r.text().contains(S3_NS));
    assert!(!r.text().contains("<Type>"));
    s.get("/ossx?list-type=2&continuation-token=")
        .await
        .expect_error(400, "InvalidArgument");
    // ACLs as one word.
    oss(
        &s,
        &s.creds,
        "PUT",
        None,
        "/ossx?acl",
        &[("x-oss-acl", "public-read")],
        b"",
    )
    .await
    .expect(200);
    let r = oss(&s, &s.creds, "GET", None, "/ossx?acl", &[], b"").await;
    assert!(
        r.text().contains("<Grant>public-read</Grant>"),
        "{}",
        r.text()
    );
    // A truncated V1 page names its resume point even without a delimiter
    // (oss2 pages with NextMarker).
    oss(&s, &s.creds, "PUT", None, "/ossx/l", &[], b"y")
        .await
        .expect(200);
    let r = oss(&s, &s.creds, "GET", None, "/ossx?max-keys=1", &[], b"").await;
    assert_eq!(xml_text(&r.text(), "NextMarker").as_deref(), Some("k"));
    assert!(!s
        .get("/ossx?max-keys=1")
        .await
        .text()
        .contains("NextMarker"));
    // Regions as oss-<region>; buckets with their location.
    let r = oss(&s, &s.creds, "GET", None, "/ossx?location", &[], b"").await;
    assert!(r
        .text()
        .contains("<LocationConstraint>oss-us-east-1</LocationConstraint>"));
    let r = oss(&s, &s.creds, "GET", None, "/", &[], b"").await;
    assert!(
        r.text().contains("<Location>oss-us-east-1</Location>"),
        "{}",
        r.text()
    );
    assert!(xml_text(&r.text(), "CreationDate")
        .unwrap()
        .ends_with(".000Z"));
    // Bucket info and statistics.
    let r = oss(&s, &s.creds, "GET", None, "/ossx?bucketInfo", &[], b"").await;
    assert_eq!(xml_text(&r.text(), "Name").as_deref(), Some("ossx"));
    assert!(
        r.text().contains("<Grant>public-read</Grant>"),
        "{}",
        r.text()
    );
    let r = oss(&s, &s.creds, "GET", None, "/ossx?stat", &[], b"").await;
    assert_eq!(xml_text(&r.text(), "ObjectCount").as_deref(), Some("2"));
    assert_eq!(xml_text(&r.text(), "Storage").as_deref(), Some("2"));
    // Both upload markers, empty on the last page.
    let r = oss(&s, &s.creds, "GET", None, "/ossx?uploads", &[], b"").await;
    assert!(
        r.text().contains("<NextKeyMarker></NextKeyMarker>"),
        "{}",
        r.text()
    );
    assert!(r
        .text()
        .contains("<NextUploadIdMarker></NextUploadIdMarker>"));
    // Create-only writes are refused as OSS refuses them; the CRC-64 of
    // what is stored comes back, and only to vendor clients.
    let forbid = [("x-oss-forbid-overwrite", "true")];
    let r = oss(&s, &s.creds, "PUT", None, "/ossx/k", &forbid, b"z").await;
    r.expect_error(409, "FileAlreadyExists");
    assert!(r.text().contains("<HostId>"), "{}", r.text());
    let r = oss(
        &s,
        &s.creds,
        "PUT",
        None,
        "/ossx/new",
        &forbid,
        b"123456789",
    )
    .await;
    r.expect(200);
    // The CRC-64/XZ catalogue check value of "123456789".
    let check = 0x995D_C9BB_DF19_39FAu64.to_string();
    assert_eq!(r.header("x-oss-hash-crc64ecma"), Some(check.as_str()));
    let r = oss(&s, &s.creds, "HEAD", None, "/ossx/new", &[], b"").await;
    assert_eq!(r.header("x-oss-hash-crc64ecma"), Some(check.as_str()));
    let r = s.get("/ossx/new").await;
    assert_eq!(r.header("x-oss-hash-crc64ecma"), None);
    s.stop().await;
}

#[tokio::test]
async fn errors_come_in_each_vendors_shape() {
    let s = Server::start().await;
    s.mb("errs").await;
    s.mb(COS_BUCKET).await;
    let r = oss(&s, &wrong(&s), "GET", None, "/errs/k", &[], b"").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "SignatureDoesNotMatch");
    let doc = r.text();
    assert!(
        doc.contains("<HostId>") && doc.contains("<RequestId>"),
        "{doc}"
    );
    assert_eq!(
        xml_text(&doc, "RequestId").as_deref(),
        r.header("x-oss-request-id")
    );
    let r = oss(&s, &s.creds, "GET", None, "/errs/missing", &[], b"").await;
    assert_eq!((r.status.as_u16(), r.code().as_str()), (404, "NoSuchKey"));
    let r = cos(&s, &s.creds, "GET", COS_HOST, "/missing", &[], b"").await;
    assert_eq!((r.status.as_u16(), r.code().as_str()), (404, "NoSuchKey"));
    let doc = r.text();
    // COS: Code, Message, Resource, RequestId, TraceId; no namespace.
    for tag in ["Message", "Resource", "RequestId", "TraceId"] {
        assert!(xml_text(&doc, tag).is_some(), "{tag} in {doc}");
    }
    assert_eq!(
        xml_text(&doc, "RequestId").as_deref(),
        r.header("x-cos-request-id")
    );
    let r = cos(&s, &wrong(&s), "PUT", COS_HOST, "/k", &[], b"x").await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (403, "SignatureDoesNotMatch")
    );
    // S3 errors stay S3's.
    let r = s.get("/errs/missing").await;
    r.expect_error(404, "NoSuchKey");
    assert!(!r.text().contains("<HostId>") && !r.text().contains("<TraceId>"));
    assert!(r.header("x-oss-request-id").is_none());
    s.stop().await;
}

/// Starts an upload, sends parts of these sizes and completes it, with
/// every request signed as `vendor` (`"oss"` or `"cos"`) signs it.
async fn multipart(s: &Server, vendor: &str, sizes: &[usize]) -> Resp {
    let (host, base) = match vendor {
        "oss" => (None, "/mpb/obj".to_string()),
        _ => (Some(COS_HOST), "/obj".to_string()),
    };
    let send = |method: &'static str, path: String, body: Vec<u8>| async move {
        match host {
            None => oss(s, &s.creds, method, None, &path, &[], &body).await,
            Some(h) => cos(s, &s.creds, method, h, &path, &[], &body).await,
        }
    };
    let r = send("POST", format!("{base}?uploads"), vec![]).await;
    r.expect(200);
    assert!(!r.text().contains(S3_NS), "{}", r.text());
    let upload_id = xml_text(&r.text(), "UploadId").unwrap();
    let mut parts = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let n = i as u32 + 1;
        let r = send(
            "PUT",
            format!("{base}?partNumber={n}&uploadId={upload_id}"),
            vec![b'a'; *size],
        )
        .await;
        r.expect(200);
        parts.push((n, r.header("etag").unwrap().to_string()));
    }
    let doc = complete_multipart_xml(&parts);
    send(
        "POST",
        format!("{base}?uploadId={upload_id}"),
        doc.into_bytes(),
    )
    .await
}

#[tokio::test]
async fn multipart_minimum_follows_the_signing_vendor() {
    // The default 5 MiB S3 minimum is configured.
    let s = Server::start_with(Options {
        limits: Limits::default(),
        ..Options::default()
    })
    .await;
    s.mb("mpb").await;
    s.mb(COS_BUCKET).await;
    // OSS: 100 KiB parts are fine, 99 KiB are not.
    multipart(&s, "oss", &[100 * 1024, 100 * 1024, 10])
        .await
        .expect(200);
    let r = multipart(&s, "oss", &[99 * 1024, 10]).await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (400, "EntityTooSmall")
    );
    assert!(r.text().contains("<HostId>"));
    // COS: 1 MiB.
    multipart(&s, "cos", &[1024 * 1024, 10]).await.expect(200);
    let r = multipart(&s, "cos", &[1024 * 1024 - 1, 10]).await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (400, "EntityTooSmall")
    );
    // S3 keeps its own 5 MiB.
    let upload_id = s.create_upload("/mpb/s3obj", &[]).await;
    let mut parts = Vec::new();
    for n in 1..=2 {
        let etag = s
            .upload_part("/mpb/s3obj", &upload_id, n, vec![b'a'; 1024 * 1024])
            .await;
        parts.push((n, etag));
    }
    let doc = complete_multipart_xml(&parts);
    s.req(
        "POST",
        &format!("/mpb/s3obj?uploadId={upload_id}"),
        &[],
        doc,
    )
    .await
    .expect_error(400, "EntityTooSmall");
    s.stop().await;
}
