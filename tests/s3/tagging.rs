//! Object tagging over real HTTP: Put/Get/DeleteObjectTagging, tags given
//! on upload (`x-amz-tagging` on PutObject and CreateMultipartUpload, the
//! `tagging-directive` of CopyObject), `x-amz-tagging-count` on GET and
//! HEAD, S3's limits as `InvalidTag`, who may read them, and the same
//! through a gateway node.

use crate::common::{complete_multipart_xml, xml_all, Options, Server};
use bytes::Bytes;

/// The tags of an object as GetObjectTagging lists them, key → value.
async fn tags(s: &Server, path: &str) -> Vec<(String, String)> {
    let r = s.get(&format!("{path}?tagging")).await;
    r.expect(200);
    let doc = r.text();
    assert!(doc.contains("<Tagging"), "{doc}");
    xml_all(&doc, "Key")
        .into_iter()
        .zip(xml_all(&doc, "Value"))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn tagging_doc(list: &[(&str, &str)]) -> String {
    let mut doc =
        String::from(r#"<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>"#);
    for (k, v) in list {
        doc.push_str(&format!("<Tag><Key>{k}</Key><Value>{v}</Value></Tag>"));
    }
    doc.push_str("</TagSet></Tagging>");
    doc
}

#[tokio::test]
async fn tags_are_set_on_upload_replaced_and_deleted() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.req(
        "PUT",
        "/bkt/k.txt",
        &[("x-amz-tagging", "project=blue&owner=ann%20lee")],
        "hello",
    )
    .await
    .expect(200);
    assert_eq!(
        tags(&s, "/bkt/k.txt").await,
        pairs(&[("owner", "ann lee"), ("project", "blue")])
    );
    for method in ["GET", "HEAD"] {
        let r = s.req(method, "/bkt/k.txt", &[], Bytes::new()).await;
        r.expect(200);
        assert_eq!(r.header("x-amz-tagging-count"), Some("2"), "{method}");
    }
    let before = s.get("/bkt/k.txt").await;
    // PutObjectTagging replaces the whole set and leaves the bytes, the
    // ETag and the other attributes as they were.
    s.put("/bkt/k.txt?tagging", tagging_doc(&[("类别", "照片")]))
        .await
        .expect(200);
    assert_eq!(tags(&s, "/bkt/k.txt").await, pairs(&[("类别", "照片")]));
    let after = s.get("/bkt/k.txt").await;
    assert_eq!(after.body, before.body);
    assert_eq!(after.header("etag"), before.header("etag"));
    assert_eq!(after.header("content-type"), before.header("content-type"));
    assert_eq!(after.header("x-amz-tagging-count"), Some("1"));
    s.delete("/bkt/k.txt?tagging").await.expect(204);
    assert!(tags(&s, "/bkt/k.txt").await.is_empty());
    assert_eq!(
        s.get("/bkt/k.txt").await.header("x-amz-tagging-count"),
        None
    );
    // An object written without tags has none; an overwrite takes its own.
    s.put("/bkt/k.txt", "again").await.expect(200);
    assert!(tags(&s, "/bkt/k.txt").await.is_empty());
}

#[tokio::test]
async fn bad_tag_sets_are_refused_and_change_nothing() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.req("PUT", "/bkt/k", &[("x-amz-tagging", "a=1")], "x")
        .await
        .expect(200);
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    let eleven: Vec<(&str, &str)> = eleven
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let long_key = "k".repeat(129);
    for (doc, code) in [
        (tagging_doc(&eleven), "InvalidTag"),
        (tagging_doc(&[("a", "1"), ("a", "2")]), "InvalidTag"),
        (tagging_doc(&[(&long_key, "v")]), "InvalidTag"),
        (tagging_doc(&[("aws:x", "v")]), "InvalidTag"),
        (tagging_doc(&[("k", "a*b")]), "InvalidTag"),
        (
            "<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>".into(),
            "MalformedXML",
        ),
        ("not xml".into(), "MalformedXML"),
    ] {
        s.put("/bkt/k?tagging", doc).await.expect_error(400, code);
    }
    assert_eq!(tags(&s, "/bkt/k").await, pairs(&[("a", "1")]));
    // A PutObject with a bad header stores nothing.
    s.req("PUT", "/bkt/new", &[("x-amz-tagging", "a=1&a=2")], "x")
        .await
        .expect_error(400, "InvalidArgument");
    s.req("PUT", "/bkt/new", &[("x-amz-tagging", "a=*")], "x")
        .await
        .expect_error(400, "InvalidTag");
    s.get("/bkt/new").await.expect_error(404, "NoSuchKey");
    s.get("/bkt/new?tagging")
        .await
        .expect_error(404, "NoSuchKey");
    s.put("/bkt/new?tagging", tagging_doc(&[("a", "1")]))
        .await
        .expect_error(404, "NoSuchKey");
    s.delete("/bkt/new?tagging")
        .await
        .expect_error(404, "NoSuchKey");
    s.get("/nobkt/k?tagging")
        .await
        .expect_error(404, "NoSuchBucket");
    s.req("POST", "/bkt/k?tagging", &[], Bytes::new())
        .await
        .expect_error(405, "MethodNotAllowed");
}

#[tokio::test]
async fn copies_follow_the_tagging_directive() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.req("PUT", "/bkt/src", &[("x-amz-tagging", "a=1&b=2")], "body")
        .await
        .expect(200);
    let copy = |dest: &'static str, headers: Vec<(&'static str, &'static str)>| {
        let s = &s;
        async move {
            let mut h = vec![("x-amz-copy-source", "/bkt/src")];
            h.extend(headers);
            s.req("PUT", dest, &h, Bytes::new()).await.expect(200);
        }
    };
    // COPY, the default: the source's tags, whatever the metadata directive.
    copy("/bkt/plain", vec![]).await;
    assert_eq!(
        tags(&s, "/bkt/plain").await,
        pairs(&[("a", "1"), ("b", "2")])
    );
    copy(
        "/bkt/meta-replaced",
        vec![
            ("x-amz-metadata-directive", "REPLACE"),
            ("x-amz-tagging", "ignored=1"),
        ],
    )
    .await;
    assert_eq!(
        tags(&s, "/bkt/meta-replaced").await,
        pairs(&[("a", "1"), ("b", "2")])
    );
    // REPLACE: the request's, none when it sends none.
    copy(
        "/bkt/replaced",
        vec![
            ("x-amz-tagging-directive", "REPLACE"),
            ("x-amz-tagging", "c=3"),
        ],
    )
    .await;
    assert_eq!(tags(&s, "/bkt/replaced").await, pairs(&[("c", "3")]));
    copy("/bkt/cleared", vec![("x-amz-tagging-directive", "REPLACE")]).await;
    assert!(tags(&s, "/bkt/cleared").await.is_empty());
    // Onto itself with new metadata: the tags stay unless replaced.
    copy("/bkt/src", vec![("x-amz-metadata-directive", "REPLACE")]).await;
    assert_eq!(tags(&s, "/bkt/src").await, pairs(&[("a", "1"), ("b", "2")]));
    s.req(
        "PUT",
        "/bkt/x",
        &[
            ("x-amz-copy-source", "/bkt/src"),
            ("x-amz-tagging-directive", "MERGE"),
        ],
        Bytes::new(),
    )
    .await
    .expect_error(400, "InvalidArgument");
}

#[tokio::test]
async fn a_multipart_upload_keeps_the_tags_it_was_created_with() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let id = s
        .create_upload("/bkt/big", &[("x-amz-tagging", "kind=video")])
        .await;
    let etag = s.upload_part("/bkt/big", &id, 1, vec![7u8; 1000]).await;
    s.req(
        "POST",
        &format!("/bkt/big?uploadId={id}"),
        &[],
        complete_multipart_xml(&[(1, etag)]),
    )
    .await
    .expect(200);
    assert_eq!(tags(&s, "/bkt/big").await, pairs(&[("kind", "video")]));
}

#[tokio::test]
async fn reading_an_objects_tags_is_not_reading_the_object() {
    let s = Server::start().await;
    s.mb_public("pub").await;
    s.req("PUT", "/pub/k", &[("x-amz-tagging", "secret=1")], "x")
        .await
        .expect(200);
    // A public-read bucket lets anyone read the object, not its tags
    // (no ACL grants tagging on S3).
    s.anon_get("/pub/k").await.expect(200);
    s.anon_get("/pub/k?tagging")
        .await
        .expect_error(403, "AccessDenied");
    s.anon("PUT", "/pub/k?tagging", &[], tagging_doc(&[("a", "b")]))
        .await
        .expect_error(403, "AccessDenied");
    assert_eq!(tags(&s, "/pub/k").await, pairs(&[("secret", "1")]));
}

#[tokio::test]
async fn tags_survive_a_gateway_node() {
    let backend = Server::start().await;
    let gw = Server::start_with(Options {
        gateway_over: Some(backend.addr),
        ..Options::default()
    })
    .await;
    gw.mb("bkt").await;
    gw.req("PUT", "/bkt/k", &[("x-amz-tagging", "a=1")], "hello")
        .await
        .expect(200);
    assert_eq!(tags(&gw, "/bkt/k").await, pairs(&[("a", "1")]));
    gw.put("/bkt/k?tagging", tagging_doc(&[("类别", "照片 1")]))
        .await
        .expect(200);
    assert_eq!(tags(&gw, "/bkt/k").await, pairs(&[("类别", "照片 1")]));
    let r = gw.get("/bkt/k").await;
    assert_eq!(r.body.as_ref(), b"hello");
    assert_eq!(r.header("x-amz-tagging-count"), Some("1"));
    gw.delete("/bkt/k?tagging").await.expect(204);
    assert!(tags(&gw, "/bkt/k").await.is_empty());
}

#[tokio::test]
async fn a_bucket_has_its_own_tag_set() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.get("/bkt?tagging")
        .await
        .expect_error(404, "NoSuchTagSet");
    s.put(
        "/bkt?tagging",
        tagging_doc(&[("cost-centre", "42"), ("类别", "照片")]),
    )
    .await
    .expect(204);
    assert_eq!(
        tags(&s, "/bkt").await,
        pairs(&[("cost-centre", "42"), ("类别", "照片")])
    );
    // Up to 50 tags; one more, or a bad one, changes nothing.
    let fifty: Vec<(String, String)> = (0..51).map(|i| (format!("k{i:02}"), "v".into())).collect();
    let fifty: Vec<(&str, &str)> = fifty
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.put("/bkt?tagging", tagging_doc(&fifty))
        .await
        .expect_error(400, "InvalidTag");
    s.put("/bkt?tagging", tagging_doc(&[("aws:x", "1")]))
        .await
        .expect_error(400, "InvalidTag");
    assert_eq!(tags(&s, "/bkt").await.len(), 2);
    s.put("/bkt?tagging", tagging_doc(&fifty[..50]))
        .await
        .expect(204);
    assert_eq!(tags(&s, "/bkt").await.len(), 50);
    // Objects are not tagged by their bucket, nor listed differently.
    s.put("/bkt/k", "x").await.expect(200);
    assert!(tags(&s, "/bkt/k").await.is_empty());
    assert_eq!(xml_all(&s.get("/bkt").await.text(), "Key"), ["k"]);
    // Owner-only, and only on an existing bucket.
    s.anon_get("/bkt?tagging")
        .await
        .expect_error(403, "AccessDenied");
    s.get("/nobkt?tagging")
        .await
        .expect_error(404, "NoSuchBucket");
    s.delete("/bkt?tagging").await.expect(204);
    s.get("/bkt?tagging")
        .await
        .expect_error(404, "NoSuchTagSet");
    s.delete("/bkt?tagging").await.expect(204);
}
