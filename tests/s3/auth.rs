//! Authentication and authorization as seen over the wire.

use crate::common::{Options, Server, ACCESS_KEY, REGION};
use bytes::Bytes;
use http::{HeaderMap, Method};
use imgbucket::auth::sign::{self, Credentials};
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn anonymous_access_follows_the_canned_acl() {
    let s = Server::start().await;
    s.mb("private").await;
    s.mb_public("public").await;
    s.put("/private/k", "secret").await.expect(200);
    s.put("/public/k", "open").await.expect(200);

    s.anon_get("/private/k")
        .await
        .expect_error(403, "AccessDenied");
    s.anon_get("/private")
        .await
        .expect_error(403, "AccessDenied");
    s.anon_get("/").await.expect_error(403, "AccessDenied");
    // A missing bucket looks the same as a private one to strangers.
    s.anon_get("/missing/k")
        .await
        .expect_error(403, "AccessDenied");

    let r = s.anon_get("/public/k").await;
    r.expect(200);
    assert_eq!(r.text(), "open");
    s.anon("HEAD", "/public/k", &[], Bytes::new())
        .await
        .expect(200);
    s.anon_get("/public").await.expect(200);
    s.anon_get("/public?list-type=2").await.expect(200);
    s.anon_get("/public/missing")
        .await
        .expect_error(404, "NoSuchKey");
    // Reads only.
    s.anon("PUT", "/public/k2", &[], "x")
        .await
        .expect_error(403, "AccessDenied");
    s.anon("DELETE", "/public/k", &[], Bytes::new())
        .await
        .expect_error(403, "AccessDenied");
    s.anon_get("/public?acl")
        .await
        .expect_error(403, "AccessDenied");
    // READ on a bucket lists its uploads too, as on AWS.
    s.anon_get("/public?uploads").await.expect(200);
    assert_eq!(s.get("/public/k").await.text(), "open");
}

/// An object's own ACL is settled on the same read that serves it (the
/// front door leaves that step to the GET or HEAD handler): no way of
/// reading a denied object tells anything of it, not even its ETag.
#[tokio::test]
async fn an_objects_own_acl_decides_every_way_of_reading_it() {
    let s = Server::start().await;
    s.mb_public("public").await;
    s.mb("private").await;
    s.req(
        "PUT",
        "/public/closed",
        &[("x-amz-acl", "private")],
        "secret",
    )
    .await
    .expect(200);
    s.req(
        "PUT",
        "/private/open",
        &[("x-amz-acl", "public-read")],
        "open",
    )
    .await
    .expect(200);
    let etag = s
        .get("/public/closed")
        .await
        .header("etag")
        .map(str::to_string)
        .expect("an ETag");
    // (method, headers, path)
    type Read<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let denied: [Read; 6] = [
        ("GET", &[], "/public/closed"),
        ("HEAD", &[], "/public/closed"),
        ("GET", &[("range", "bytes=0-1")], "/public/closed"),
        ("GET", &[("if-none-match", &etag)], "/public/closed"),
        ("GET", &[("if-match", "\"nope\"")], "/public/closed"),
        ("GET", &[], "/public/closed?partNumber=1"),
    ];
    for (method, headers, path) in denied {
        let r = s.anon(method, path, headers, Bytes::new()).await;
        assert_eq!(r.status, 403, "{method} {path} {headers:?}");
        assert!(r.header("etag").is_none(), "{method} {path} {headers:?}");
    }
    let r = s.anon_get("/private/open").await;
    r.expect(200);
    assert_eq!(r.text(), "open");
    s.anon("HEAD", "/private/open", &[], Bytes::new())
        .await
        .expect(200);
    let r = s
        .anon(
            "GET",
            "/private/open",
            &[("range", "bytes=1-2")],
            Bytes::new(),
        )
        .await;
    r.expect(206);
    assert_eq!(r.text(), "pe");
    // Missing keys: told to whoever may list the bucket, refused to others.
    s.anon("HEAD", "/public/missing", &[], Bytes::new())
        .await
        .expect(404);
    s.anon("HEAD", "/private/missing", &[], Bytes::new())
        .await
        .expect(403);
    s.anon(
        "GET",
        "/private/missing",
        &[("range", "bytes=0-1")],
        Bytes::new(),
    )
    .await
    .expect_error(403, "AccessDenied");
    // The owner reads the object the ACL closes to others.
    assert_eq!(s.get("/public/closed").await.text(), "secret");
}

#[tokio::test]
async fn bad_credentials() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let wrong_secret = Credentials::new(ACCESS_KEY, "not-the-secret", REGION);
    let unknown = Credentials::new("AKIDUNKNOWN", "whatever", REGION);
    let (now, skewed) = (
        SystemTime::now(),
        SystemTime::now() - Duration::from_secs(3600),
    );
    for (creds, at, code) in [
        (&wrong_secret, now, "SignatureDoesNotMatch"),
        (&unknown, now, "InvalidAccessKeyId"),
        (&s.creds, skewed, "RequestTimeTooSkewed"),
    ] {
        s.req_as(creds, at, "GET", "/bkt", &[], Bytes::new())
            .await
            .expect_error(403, code);
    }
    // A HEAD error has no body but keeps the status.
    let r = s
        .req_as(&wrong_secret, SystemTime::now(), "HEAD", "/bkt", &[], "")
        .await;
    r.expect(403);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn tampered_body_is_not_stored() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let signed_for = sign::payload_sha256(b"original");
    let r = s
        .req_hashed(&s.creds, &signed_for, "PUT", "/bkt/k", "tampered")
        .await;
    r.expect_error(400, "XAmzContentSHA256Mismatch");
    s.get("/bkt/k").await.expect_error(404, "NoSuchKey");
}

#[tokio::test]
async fn presigned_urls() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.put("/bkt/k", "presigned").await.expect(200);
    let uri = s.uri("/bkt/k");
    let url = sign::presign_v4(
        &Method::GET,
        &uri,
        &s.creds,
        SystemTime::now(),
        Duration::from_secs(300),
    )
    .unwrap();
    let r = s.get_url(&url).await;
    r.expect(200);
    assert_eq!(r.text(), "presigned");

    let old = SystemTime::now() - Duration::from_secs(7200);
    let url = sign::presign_v4(&Method::GET, &uri, &s.creds, old, Duration::from_secs(60)).unwrap();
    let r = s.get_url(&url).await;
    r.expect_error(403, "AccessDenied");

    // SigV2 query presign, as `aws s3 presign` produces for us-east-1.
    let expires = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let url = sign::presign_v2(&Method::GET, &uri, &s.creds, expires, None).unwrap();
    let r = s.get_url(&url).await;
    r.expect(200);
}

#[tokio::test]
async fn aws_chunked_signed_upload() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let uri = s.uri("/bkt/chunked");
    let mut h = HeaderMap::new();
    h.insert("content-encoding", "aws-chunked".parse().unwrap());
    h.insert(
        "x-amz-decoded-content-length",
        data.len().to_string().parse().unwrap(),
    );
    let len = sign::aws_chunked_len(data.len() as u64, 65536, true, None);
    h.insert("content-length", len.to_string().parse().unwrap());
    let now = SystemTime::now();
    let seed = sign::sign_v4_request(
        &Method::PUT,
        &uri,
        &mut h,
        sign::STREAMING_SIGNED,
        &s.creds,
        now,
    )
    .unwrap();
    let body = sign::aws_chunked_signed(&data, 65536, &seed, &s.creds, now, None);
    s.send_headers("PUT", "/bkt/chunked", h, body)
        .await
        .expect(200);
    let g = s.get("/bkt/chunked").await;
    assert_eq!(&g.body[..], &data[..]);
    // aws-chunked is a transfer detail, never the stored encoding.
    assert!(g.header("content-encoding").is_none());
}

#[tokio::test]
async fn virtual_host_style() {
    let s = Server::start_with(Options {
        domain: Some("s3.local"),
        ..Options::default()
    })
    .await;
    s.mb("vbkt").await;
    let host = format!("vbkt.s3.local:{}", s.addr.port());
    let r = s
        .req("PUT", "/dir/k.txt", &[("host", &host)], "vhost")
        .await;
    r.expect(200);
    assert_eq!(s.get("/vbkt/dir/k.txt").await.text(), "vhost");
    let r = s.get_h("/?list-type=2", &[("host", &host)]).await;
    r.expect(200);
    assert!(r.text().contains("<Key>dir/k.txt</Key>"));
}
