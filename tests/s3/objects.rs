//! Object operations: put/get/head/delete, ranges, conditions, copy, bulk
//! delete, metadata and integrity headers.

use crate::common::{b64_std, md5_hex, xml_all, xml_text, Resp, Server};
use bytes::Bytes;
use imgbucket::auth::{checksum_base64, ChecksumAlgorithm};
use md5::{Digest, Md5};

async fn with_object(body: &'static str) -> Server {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.put("/bkt/obj.txt", body).await.expect(200);
    s
}

#[tokio::test]
async fn put_get_head_round_trip() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let body = b"hello, imgbucket".to_vec();
    let r = s
        .req(
            "PUT",
            "/bkt/dir/hello%20world.txt",
            &[
                ("content-type", "text/plain"),
                ("x-amz-meta-Color", "blue"),
                ("cache-control", "max-age=60"),
                ("content-disposition", "inline"),
                ("content-language", "en"),
                ("expires", "Thu, 01 Dec 2050 16:00:00 GMT"),
            ],
            body.clone(),
        )
        .await;
    r.expect(200);
    let etag = format!("\"{}\"", md5_hex(&body));
    assert_eq!(r.header("etag"), Some(etag.as_str()));

    let g = s.get("/bkt/dir/hello%20world.txt").await;
    g.expect(200);
    assert_eq!(&g.body[..], &body[..]);
    assert_eq!(g.header("etag"), Some(etag.as_str()));
    assert_eq!(g.header("content-type"), Some("text/plain"));
    assert_eq!(g.header("x-amz-meta-color"), Some("blue"));
    assert_eq!(g.header("cache-control"), Some("max-age=60"));
    assert_eq!(g.header("content-disposition"), Some("inline"));
    assert_eq!(g.header("content-language"), Some("en"));
    assert_eq!(g.header("expires"), Some("Thu, 01 Dec 2050 16:00:00 GMT"));
    assert_eq!(g.header("content-length"), Some("16"));
    assert!(g.header("last-modified").unwrap().ends_with(" GMT"));

    let h = s.head("/bkt/dir/hello%20world.txt").await;
    h.expect(200);
    assert!(h.body.is_empty());
    assert_eq!(h.header("content-length"), Some("16"));
    assert_eq!(h.header("etag"), Some(etag.as_str()));

    // Default content type.
    s.put("/bkt/plain", "x").await.expect(200);
    assert_eq!(
        s.get("/bkt/plain").await.header("content-type"),
        Some("binary/octet-stream")
    );
    // Overwrite.
    s.put("/bkt/plain", "second").await.expect(200);
    assert_eq!(&s.get("/bkt/plain").await.body[..], b"second");
    // Empty object.
    s.put("/bkt/empty", Bytes::new()).await.expect(200);
    let e = s.get("/bkt/empty").await;
    e.expect(200);
    assert!(e.body.is_empty());
    assert_eq!(
        e.header("etag"),
        Some("\"d41d8cd98f00b204e9800998ecf8427e\"")
    );
}

#[tokio::test]
async fn missing_things() {
    let s = with_object("data").await;
    let r = s.get("/bkt/nope").await;
    r.expect_error(404, "NoSuchKey");
    assert_eq!(xml_text(&r.text(), "Key").as_deref(), Some("nope"));
    assert_eq!(
        xml_text(&r.text(), "Resource").as_deref(),
        Some("/bkt/nope")
    );
    let h = s.head("/bkt/nope").await;
    h.expect(404);
    assert!(h.body.is_empty());
    s.get("/nobkt/k").await.expect_error(404, "NoSuchBucket");
    s.put("/nobkt/k", "x")
        .await
        .expect_error(404, "NoSuchBucket");
    s.delete("/bkt/nope").await.expect(204);
    s.delete("/bkt/obj.txt").await.expect(204);
    s.get("/bkt/obj.txt").await.expect_error(404, "NoSuchKey");
    s.delete("/nobkt/k").await.expect_error(404, "NoSuchBucket");
    let long = format!("/bkt/{}", "k".repeat(1025));
    s.put(&long, "x").await.expect_error(400, "KeyTooLongError");
}

#[tokio::test]
async fn ranges() {
    let s = with_object("0123456789").await;
    let cases = [
        ("bytes=0-4", 206, "01234", Some("bytes 0-4/10")),
        ("bytes=5-", 206, "56789", Some("bytes 5-9/10")),
        ("bytes=-3", 206, "789", Some("bytes 7-9/10")),
        ("bytes=8-100", 206, "89", Some("bytes 8-9/10")),
        ("bytes=5-2", 200, "0123456789", None),
        ("bytes=0-1,4-5", 200, "0123456789", None),
    ];
    for (range, status, body, content_range) in cases {
        let r = s.get_h("/bkt/obj.txt", &[("range", range)]).await;
        r.expect(status);
        assert_eq!(r.text(), body, "{range}");
        assert_eq!(r.header("content-range"), content_range, "{range}");
        assert_eq!(
            r.header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }
    let r = s.get_h("/bkt/obj.txt", &[("range", "bytes=10-")]).await;
    r.expect_error(416, "InvalidRange");
    assert_eq!(r.header("content-range"), Some("bytes */10"));
    let h = s
        .req(
            "HEAD",
            "/bkt/obj.txt",
            &[("range", "bytes=2-3")],
            Bytes::new(),
        )
        .await;
    h.expect(206);
    assert_eq!(h.header("content-length"), Some("2"));
    assert_eq!(h.header("content-range"), Some("bytes 2-3/10"));
}

#[tokio::test]
async fn conditional_requests() {
    let s = with_object("data").await;
    let etag = format!("\"{}\"", md5_hex(b"data"));
    let lm = s
        .get("/bkt/obj.txt")
        .await
        .header("last-modified")
        .unwrap()
        .to_string();
    let past = "Sat, 01 Jan 2000 00:00:00 GMT";
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    let get = |h: Vec<(&'static str, String)>| {
        let s = &s;
        async move {
            let hs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            s.get_h("/bkt/obj.txt", &hs).await
        }
    };
    get(vec![("if-match", etag.clone())]).await.expect(200);
    get(vec![("if-match", "\"other\"".into())])
        .await
        .expect_error(412, "PreconditionFailed");
    let nm = get(vec![("if-none-match", etag.clone())]).await;
    nm.expect(304);
    assert!(nm.body.is_empty());
    assert_eq!(nm.header("etag"), Some(etag.as_str()));
    get(vec![("if-none-match", "\"other\"".into())])
        .await
        .expect(200);
    get(vec![("if-modified-since", lm.clone())])
        .await
        .expect(304);
    get(vec![("if-modified-since", future.into())])
        .await
        .expect(304);
    get(vec![("if-modified-since", past.into())])
        .await
        .expect(200);
    get(vec![("if-unmodified-since", past.into())])
        .await
        .expect_error(412, "PreconditionFailed");
    get(vec![("if-unmodified-since", lm.clone())])
        .await
        .expect(200);
    // S3 precedence: a true If-Match wins over a false If-Unmodified-Since,
    // a false If-None-Match wins over If-Modified-Since.
    get(vec![
        ("if-match", etag.clone()),
        ("if-unmodified-since", past.into()),
    ])
    .await
    .expect(200);
    get(vec![
        ("if-none-match", "\"other\"".into()),
        ("if-modified-since", future.into()),
    ])
    .await
    .expect(200);
    let h = s
        .req(
            "HEAD",
            "/bkt/obj.txt",
            &[("if-match", "\"x\"")],
            Bytes::new(),
        )
        .await;
    h.expect(412);
    assert!(h.body.is_empty());
}

#[tokio::test]
async fn response_overrides() {
    let s = with_object("data").await;
    let r = s
        .get("/bkt/obj.txt?response-content-type=image%2Fpng&response-content-disposition=attachment%3B%20filename%3Da.png&response-cache-control=no-cache")
        .await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=a.png")
    );
    assert_eq!(r.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn content_md5_and_checksums() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let good = b64_std(&Md5::digest(b"abc"));
    s.req("PUT", "/bkt/a", &[("content-md5", &good)], "abc")
        .await
        .expect(200);
    let wrong = b64_std(&Md5::digest(b"xyz"));
    s.req("PUT", "/bkt/b", &[("content-md5", &wrong)], "abc")
        .await
        .expect_error(400, "BadDigest");
    s.get("/bkt/b").await.expect_error(404, "NoSuchKey");
    s.req("PUT", "/bkt/b", &[("content-md5", "notbase64!")], "abc")
        .await
        .expect_error(400, "InvalidDigest");

    let crc = checksum_base64(ChecksumAlgorithm::Crc32, b"abc");
    let put = s
        .req("PUT", "/bkt/c", &[("x-amz-checksum-crc32", &crc)], "abc")
        .await;
    put.expect(200);
    assert_eq!(put.header("x-amz-checksum-crc32"), Some(crc.as_str()));
    let plain = s.get("/bkt/c").await;
    assert!(plain.header("x-amz-checksum-crc32").is_none());
    let with = s
        .get_h("/bkt/c", &[("x-amz-checksum-mode", "ENABLED")])
        .await;
    assert_eq!(with.header("x-amz-checksum-crc32"), Some(crc.as_str()));
    let bad = checksum_base64(ChecksumAlgorithm::Crc32, b"abd");
    s.req("PUT", "/bkt/d", &[("x-amz-checksum-crc32", &bad)], "abc")
        .await
        .expect_error(400, "BadDigest");
    s.get("/bkt/d").await.expect_error(404, "NoSuchKey");
}

#[tokio::test]
async fn delete_objects() {
    let s = Server::start().await;
    s.mb("bkt").await;
    for k in ["a", "b", "c"] {
        s.put(&format!("/bkt/{k}"), "x").await.expect(200);
    }
    let long = "k".repeat(1100);
    let body = format!(
        "<Delete><Object><Key>a</Key></Object><Object><Key>zz-absent</Key></Object><Object><Key>{long}</Key></Object></Delete>"
    );
    let r = s.req("POST", "/bkt?delete", &[], body).await;
    r.expect(200);
    let doc = r.text();
    assert_eq!(xml_all(&doc, "Deleted").len(), 2, "{doc}");
    assert!(doc.contains("<Code>KeyTooLongError</Code>"));
    s.get("/bkt/a").await.expect_error(404, "NoSuchKey");

    let quiet = "<Delete><Quiet>true</Quiet><Object><Key>b</Key></Object><Object><Key>c</Key></Object></Delete>";
    let r = s.req("POST", "/bkt?delete", &[], quiet).await;
    r.expect(200);
    assert!(!r.text().contains("<Deleted>"));
    let list = s.get("/bkt?list-type=2").await;
    assert_eq!(xml_text(&list.text(), "KeyCount").as_deref(), Some("0"));

    s.req("POST", "/bkt?delete", &[], "<Delete><Object>")
        .await
        .expect_error(400, "MalformedXML");
    s.req("POST", "/bkt?delete", &[], "<Delete></Delete>")
        .await
        .expect_error(400, "MalformedXML");
    let many = format!(
        "<Delete>{}</Delete>",
        "<Object><Key>k</Key></Object>".repeat(1001)
    );
    s.req("POST", "/bkt?delete", &[], many)
        .await
        .expect_error(400, "MalformedXML");
    s.req(
        "POST",
        "/nobkt?delete",
        &[],
        "<Delete><Object><Key>k</Key></Object></Delete>",
    )
    .await
    .expect_error(404, "NoSuchBucket");
}

/// A request that must be refused: (path, headers, status, error code).
type Refusal<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

/// A CopyObject (PUT with `x-amz-copy-source` among `headers`).
async fn copy(s: &Server, dst: &str, headers: &[(&str, &str)]) -> Resp {
    s.req("PUT", dst, headers, Bytes::new()).await
}

#[tokio::test]
async fn copy_object() {
    let s = Server::start().await;
    s.mb("src").await;
    s.mb("dst").await;
    s.req(
        "PUT",
        "/src/a%20b",
        &[("content-type", "text/x-a"), ("x-amz-meta-k", "v")],
        "payload",
    )
    .await
    .expect(200);
    let etag = format!("\"{}\"", md5_hex(b"payload"));
    const SRC: (&str, &str) = ("x-amz-copy-source", "/src/a%20b");

    let r = copy(&s, "/dst/copy", &[SRC]).await;
    r.expect(200);
    assert_eq!(xml_text(&r.text(), "ETag").as_deref(), Some(etag.as_str()));
    let escaped = etag.replace('"', "&quot;");
    assert!(r.text().contains(&format!("<ETag>{escaped}</ETag>")));
    assert!(xml_text(&r.text(), "LastModified").unwrap().ends_with('Z'));
    let g = s.get("/dst/copy").await;
    assert_eq!(g.text(), "payload");
    assert_eq!(g.header("content-type"), Some("text/x-a"));
    assert_eq!(g.header("x-amz-meta-k"), Some("v"));

    let replace = ("x-amz-metadata-directive", "REPLACE");
    let r = copy(
        &s,
        "/dst/replaced",
        &[
            ("x-amz-copy-source", "src/a%20b"),
            replace,
            ("content-type", "text/y"),
        ],
    )
    .await;
    r.expect(200);
    let g = s.get("/dst/replaced").await;
    assert_eq!(g.header("content-type"), Some("text/y"));
    assert!(g.header("x-amz-meta-k").is_none());

    // Onto itself: only with REPLACE, and then only the metadata changes.
    copy(&s, "/src/a%20b", &[SRC])
        .await
        .expect_error(400, "InvalidRequest");
    copy(&s, "/src/a%20b", &[SRC, replace, ("x-amz-meta-new", "1")])
        .await
        .expect(200);
    let g = s.get("/src/a%20b").await;
    assert_eq!(g.header("x-amz-meta-new"), Some("1"));
    assert_eq!(g.header("etag"), Some(etag.as_str()));
    assert_eq!(g.text(), "payload");

    let if_match = |e| ("x-amz-copy-source-if-match", e);
    let if_none_match = ("x-amz-copy-source-if-none-match", etag.as_str());
    let refused: [Refusal; 6] = [
        (
            "/dst/x",
            &[SRC, if_match("\"nope\"")],
            412,
            "PreconditionFailed",
        ),
        ("/dst/x", &[SRC, if_none_match], 412, "PreconditionFailed"),
        (
            "/dst/y",
            &[("x-amz-copy-source", "/src/missing")],
            404,
            "NoSuchKey",
        ),
        (
            "/dst/y",
            &[("x-amz-copy-source", "/nosrc/k")],
            404,
            "NoSuchBucket",
        ),
        (
            "/dst/y",
            &[("x-amz-copy-source", "nokey")],
            400,
            "InvalidArgument",
        ),
        (
            "/dst/y",
            &[SRC, ("x-amz-metadata-directive", "MOVE")],
            400,
            "InvalidArgument",
        ),
    ];
    for (dst, headers, status, code) in refused {
        copy(&s, dst, headers).await.expect_error(status, code);
    }
    copy(&s, "/dst/x", &[SRC, if_match(&etag)])
        .await
        .expect(200);
}

#[tokio::test]
async fn conditional_writes() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.req("PUT", "/bkt/once", &[("if-none-match", "*")], "first")
        .await
        .expect(200);
    let refused = s
        .req("PUT", "/bkt/once", &[("if-none-match", "*")], "second")
        .await;
    // Refused before its body was read: the connection is not reusable,
    // and the client must be told so (oss2 reused it and failed).
    assert_eq!(refused.header("connection"), Some("close"));
    refused.expect_error(412, "PreconditionFailed");
    assert_eq!(s.get("/bkt/once").await.text(), "first");
    let etag = format!("\"{}\"", md5_hex(b"first"));
    s.req("PUT", "/bkt/once", &[("if-match", "\"other\"")], "third")
        .await
        .expect_error(412, "PreconditionFailed");
    s.req("PUT", "/bkt/once", &[("if-match", &etag)], "fourth")
        .await
        .expect(200);
    assert_eq!(s.get("/bkt/once").await.text(), "fourth");
    s.req("PUT", "/bkt/absent", &[("if-match", &etag)], "x")
        .await
        .expect_error(404, "NoSuchKey");
    s.req("PUT", "/bkt/absent", &[("if-match", "*")], "x")
        .await
        .expect_error(404, "NoSuchKey");
    let both = [("if-match", "*"), ("if-none-match", "*")];
    s.req("PUT", "/bkt/once", &both, "x")
        .await
        .expect_error(400, "InvalidRequest");
    assert_eq!(s.get("/bkt/once").await.text(), "fourth");
}
