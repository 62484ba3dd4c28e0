//! Multipart uploads.

use crate::common::{complete_multipart_xml, xml_all, xml_text, Server, MIN_PART};
use bytes::Bytes;
use md5::{Digest, Md5};

async fn create(s: &Server, path: &str) -> String {
    s.create_upload(path, &[("content-type", "image/jpeg")])
        .await
}

/// Uploads a part; answers its ETag without the quotes.
async fn part(s: &Server, path: &str, id: &str, n: u32, body: Vec<u8>) -> String {
    let etag = s.upload_part(path, id, n, body).await;
    etag.trim_matches('"').to_string()
}

/// The CompleteMultipartUpload document of these parts (unquoted ETags).
fn complete_body(parts: &[(u32, &str)]) -> String {
    let quoted: Vec<_> = parts
        .iter()
        .map(|(n, e)| (*n, format!("\"{e}\"")))
        .collect();
    complete_multipart_xml(&quoted)
}

#[tokio::test]
async fn upload_complete_and_read_back() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let id = create(&s, "/bkt/big.jpg").await;
    let p1: Vec<u8> = (0..MIN_PART).map(|i| (i % 251) as u8).collect();
    let p2 = b"tail".to_vec();
    let e1 = part(&s, "/bkt/big.jpg", &id, 1, p1.clone()).await;
    let e2 = part(&s, "/bkt/big.jpg", &id, 2, p2.clone()).await;
    assert_eq!(e1, hex::encode(Md5::digest(&p1)));

    let lp = s.get(&format!("/bkt/big.jpg?uploadId={id}")).await;
    lp.expect(200);
    assert_eq!(xml_all(&lp.text(), "PartNumber"), vec!["1", "2"]);
    let lp = s
        .get(&format!("/bkt/big.jpg?uploadId={id}&max-parts=1"))
        .await;
    assert_eq!(xml_text(&lp.text(), "IsTruncated").as_deref(), Some("true"));
    assert_eq!(
        xml_text(&lp.text(), "NextPartNumberMarker").as_deref(),
        Some("1")
    );

    let lu = s.get("/bkt?uploads").await;
    lu.expect(200);
    assert_eq!(xml_all(&lu.text(), "UploadId"), vec![id.clone()]);

    let r = s
        .req(
            "POST",
            &format!("/bkt/big.jpg?uploadId={id}"),
            &[],
            complete_body(&[(1, &e1), (2, &e2)]),
        )
        .await;
    r.expect(200);
    let mut cat = Md5::new();
    cat.update(Md5::digest(&p1));
    cat.update(Md5::digest(&p2));
    let want = format!("\"{}-2\"", hex::encode(cat.finalize()));
    assert_eq!(xml_text(&r.text(), "ETag").as_deref(), Some(want.as_str()));
    // The quotes are escaped on the wire, as S3 writes them.
    let escaped = want.replace('"', "&quot;");
    assert!(r.text().contains(&format!("<ETag>{escaped}</ETag>")));

    let g = s.get("/bkt/big.jpg").await;
    g.expect(200);
    assert_eq!(g.body.len(), p1.len() + p2.len());
    assert_eq!(&g.body[..p1.len()], &p1[..]);
    assert_eq!(g.header("content-type"), Some("image/jpeg"));
    let lu = s.get("/bkt?uploads").await;
    assert!(xml_all(&lu.text(), "UploadId").is_empty());
    s.get(&format!("/bkt/big.jpg?uploadId={id}"))
        .await
        .expect_error(404, "NoSuchUpload");
}

#[tokio::test]
async fn multipart_errors() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let path = "/bkt/m";
    let id = create(&s, path).await;
    s.put(&format!("{path}?partNumber=0&uploadId={id}"), "x")
        .await
        .expect_error(400, "InvalidArgument");
    s.put(&format!("{path}?partNumber=10001&uploadId={id}"), "x")
        .await
        .expect_error(400, "InvalidArgument");
    s.put(&format!("{path}?partNumber=1&uploadId=nope"), "x")
        .await
        .expect_error(404, "NoSuchUpload");
    let small = part(&s, path, &id, 1, b"small".to_vec()).await;
    let last = part(&s, path, &id, 2, b"last".to_vec()).await;
    let post = |body: String| {
        let s = &s;
        let id = id.clone();
        async move {
            s.req("POST", &format!("{path}?uploadId={id}"), &[], body)
                .await
        }
    };
    post(complete_body(&[(1, &small), (2, &last)]))
        .await
        .expect_error(400, "EntityTooSmall");
    post(complete_body(&[(2, &last), (1, &small)]))
        .await
        .expect_error(400, "InvalidPartOrder");
    post(complete_body(&[(1, "0123456789abcdef0123456789abcdef")]))
        .await
        .expect_error(400, "InvalidPart");
    post(complete_body(&[(3, &last)]))
        .await
        .expect_error(400, "InvalidPart");
    post("<CompleteMultipartUpload><Part>".into())
        .await
        .expect_error(400, "MalformedXML");
    post("<CompleteMultipartUpload/>".into())
        .await
        .expect_error(400, "MalformedXML");
    // A single small part is fine: the last part has no minimum.
    post(complete_body(&[(2, &last)])).await.expect(200);
    assert_eq!(s.get(path).await.text(), "last");

    let id = create(&s, path).await;
    s.delete(&format!("{path}?uploadId={id}")).await.expect(204);
    s.delete(&format!("{path}?uploadId={id}"))
        .await
        .expect_error(404, "NoSuchUpload");
    s.req("POST", "/nobkt/k?uploads", &[], Bytes::new())
        .await
        .expect_error(404, "NoSuchBucket");
}

#[tokio::test]
async fn upload_part_copy() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let src: Vec<u8> = (0..(MIN_PART + 100)).map(|i| (i % 7) as u8).collect();
    s.put("/bkt/src", src.clone()).await.expect(200);
    let id = create(&s, "/bkt/dst").await;
    let range1 = format!("bytes=0-{}", MIN_PART - 1);
    let r = s
        .req(
            "PUT",
            &format!("/bkt/dst?partNumber=1&uploadId={id}"),
            &[
                ("x-amz-copy-source", "/bkt/src"),
                ("x-amz-copy-source-range", &range1),
            ],
            Bytes::new(),
        )
        .await;
    r.expect(200);
    let e1 = xml_text(&r.text(), "ETag").unwrap().replace('"', "");
    let range2 = format!("bytes={}-{}", MIN_PART, MIN_PART + 99);
    let r = s
        .req(
            "PUT",
            &format!("/bkt/dst?partNumber=2&uploadId={id}"),
            &[
                ("x-amz-copy-source", "bkt/src"),
                ("x-amz-copy-source-range", &range2),
            ],
            Bytes::new(),
        )
        .await;
    r.expect(200);
    let e2 = xml_text(&r.text(), "ETag").unwrap().replace('"', "");
    let too_far = format!("bytes=0-{}", MIN_PART + 100);
    s.req(
        "PUT",
        &format!("/bkt/dst?partNumber=3&uploadId={id}"),
        &[
            ("x-amz-copy-source", "bkt/src"),
            ("x-amz-copy-source-range", &too_far),
        ],
        Bytes::new(),
    )
    .await
    .expect_error(400, "InvalidArgument");
    s.req(
        "POST",
        &format!("/bkt/dst?uploadId={id}"),
        &[],
        complete_body(&[(1, &e1), (2, &e2)]),
    )
    .await
    .expect(200);
    assert_eq!(&s.get("/bkt/dst").await.body[..], &src[..]);
}

#[tokio::test]
async fn conditional_completion() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.put("/bkt/taken", "old").await.expect(200);
    let id = create(&s, "/bkt/taken").await;
    let e1 = part(&s, "/bkt/taken", &id, 1, b"new".to_vec()).await;
    let path = format!("/bkt/taken?uploadId={id}");
    let body = complete_body(&[(1, &e1)]);
    // Create-only over an existing key: refused, and the upload stays open.
    s.req("POST", &path, &[("if-none-match", "*")], body.clone())
        .await
        .expect_error(412, "PreconditionFailed");
    assert_eq!(s.get("/bkt/taken").await.text(), "old");
    s.req("POST", &path, &[("if-match", "\"0123\"")], body.clone())
        .await
        .expect_error(412, "PreconditionFailed");
    let old_etag = format!("\"{:x}\"", Md5::digest(b"old"));
    s.req("POST", &path, &[("if-match", &old_etag)], body)
        .await
        .expect(200);
    assert_eq!(s.get("/bkt/taken").await.text(), "new");
    // Create-only on a free key completes.
    let id = create(&s, "/bkt/free").await;
    let e1 = part(&s, "/bkt/free", &id, 1, b"x".to_vec()).await;
    s.req(
        "POST",
        &format!("/bkt/free?uploadId={id}"),
        &[("if-none-match", "*")],
        complete_body(&[(1, &e1)]),
    )
    .await
    .expect(200);
}
