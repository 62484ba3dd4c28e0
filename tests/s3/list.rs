//! Listings: V1 and V2 pagination, delimiters, URL encoding, tokens,
//! versions.

use crate::common::{xml_all, xml_text, Server};
use bytes::Bytes;

const KEYS: &[&str] = &["a/1", "a/2", "a/b/3", "b", "c d+e", "dé/ü", "z"];

async fn populated() -> Server {
    let s = Server::start().await;
    s.mb("bkt").await;
    for k in KEYS {
        let path = format!(
            "/bkt/{}",
            percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC)
        );
        s.put(&path, "x").await.expect(200);
    }
    s
}

#[tokio::test]
async fn v2_paginates_with_tokens() {
    let s = populated().await;
    let mut got = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/bkt?list-type=2&max-keys=3".to_string();
        if let Some(t) = &token {
            path.push_str(&format!(
                "&continuation-token={}",
                percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        let r = s.get(&path).await;
        r.expect(200);
        let doc = r.text();
        let keys = xml_all(&doc, "Key");
        assert_eq!(xml_text(&doc, "KeyCount"), Some(keys.len().to_string()));
        assert!(!doc.contains("<Owner>"), "no owner without fetch-owner");
        got.extend(keys);
        pages += 1;
        match xml_text(&doc, "NextContinuationToken") {
            Some(t) => {
                assert_eq!(xml_text(&doc, "IsTruncated").as_deref(), Some("true"));
                // The token is opaque: not simply the last key.
                assert_ne!(Some(&t), got.last());
                token = Some(t);
            }
            None => {
                assert_eq!(xml_text(&doc, "IsTruncated").as_deref(), Some("false"));
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(got, KEYS);

    let r = s.get("/bkt?list-type=2&start-after=b").await;
    assert_eq!(xml_all(&r.text(), "Key").len(), 3);
    assert_eq!(xml_text(&r.text(), "StartAfter").as_deref(), Some("b"));
    let r = s.get("/bkt?list-type=2&fetch-owner=true&max-keys=1").await;
    assert!(r.text().contains("<Owner><ID>"));
}

#[tokio::test]
async fn v2_rejects_forged_tokens() {
    let s = populated().await;
    for bad in ["", "AAAA", "bm90LWEtdG9rZW4", "a%2Fb"] {
        s.get(&format!("/bkt?list-type=2&continuation-token={bad}"))
            .await
            .expect_error(400, "InvalidArgument");
    }
    // A real token with one character changed.
    let r = s.get("/bkt?list-type=2&max-keys=1").await;
    let t = xml_text(&r.text(), "NextContinuationToken").unwrap();
    let mut forged: Vec<char> = t.chars().collect();
    forged[2] = if forged[2] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    s.get(&format!("/bkt?list-type=2&continuation-token={forged}"))
        .await
        .expect_error(400, "InvalidArgument");
}

#[tokio::test]
async fn delimiter_and_prefix() {
    let s = populated().await;
    let r = s.get("/bkt?list-type=2&delimiter=/").await;
    let doc = r.text();
    assert_eq!(xml_all(&doc, "Prefix"), vec!["", "a/", "dé/"]);
    assert_eq!(xml_all(&doc, "Key"), vec!["b", "c d+e", "z"]);
    assert_eq!(xml_text(&doc, "KeyCount").as_deref(), Some("5"));

    let r = s.get("/bkt?list-type=2&delimiter=/&prefix=a/").await;
    let doc = r.text();
    assert_eq!(xml_all(&doc, "Key"), vec!["a/1", "a/2"]);
    assert!(doc.contains("<CommonPrefixes><Prefix>a/b/</Prefix></CommonPrefixes>"));
}

#[tokio::test]
async fn url_encoding() {
    let s = populated().await;
    let r = s
        .get("/bkt?list-type=2&encoding-type=url&prefix=c%20")
        .await;
    let doc = r.text();
    assert_eq!(xml_all(&doc, "Key"), vec!["c%20d%2Be"]);
    assert_eq!(xml_text(&doc, "Prefix").as_deref(), Some("c%20"));
    assert_eq!(xml_text(&doc, "EncodingType").as_deref(), Some("url"));
    let r = s.get("/bkt?encoding-type=url&delimiter=/&prefix=d").await;
    assert!(
        r.text().contains("<Prefix>d%C3%A9/</Prefix>"),
        "{}",
        r.text()
    );
    s.get("/bkt?encoding-type=xml")
        .await
        .expect_error(400, "InvalidArgument");
}

#[tokio::test]
async fn v1_markers() {
    let s = populated().await;
    let r = s.get("/bkt?max-keys=2").await;
    let doc = r.text();
    assert_eq!(xml_all(&doc, "Key"), vec!["a/1", "a/2"]);
    assert_eq!(xml_text(&doc, "IsTruncated").as_deref(), Some("true"));
    assert!(
        xml_text(&doc, "NextMarker").is_none(),
        "NextMarker only with a delimiter"
    );
    assert!(doc.contains("<Owner>"));
    let r = s.get("/bkt?max-keys=2&marker=a/2").await;
    assert_eq!(xml_all(&r.text(), "Key"), vec!["a/b/3", "b"]);
    let r = s.get("/bkt?max-keys=2&delimiter=/").await;
    let doc = r.text();
    assert_eq!(xml_text(&doc, "NextMarker").as_deref(), Some("b"));
    let r = s.get("/bkt?max-keys=0").await;
    r.expect(200);
    assert!(xml_all(&r.text(), "Key").is_empty());
    assert_eq!(xml_text(&r.text(), "IsTruncated").as_deref(), Some("false"));
    let r = s.get("/bkt?max-keys=100000").await;
    assert_eq!(xml_text(&r.text(), "MaxKeys").as_deref(), Some("1000"));
    s.get("/bkt?max-keys=-1")
        .await
        .expect_error(400, "InvalidArgument");
    s.get("/bkt?max-keys=ten")
        .await
        .expect_error(400, "InvalidArgument");
    s.get("/nobkt").await.expect_error(404, "NoSuchBucket");
    s.get("/nobkt?max-keys=0")
        .await
        .expect_error(404, "NoSuchBucket");
}

#[tokio::test]
async fn versions_of_an_unversioned_bucket() {
    let s = populated().await;
    let r = s.get("/bkt?versions&max-keys=4").await;
    r.expect(200);
    let doc = r.text();
    assert_eq!(xml_all(&doc, "Version").len(), 4);
    assert_eq!(xml_all(&doc, "VersionId"), vec!["null"; 4]);
    assert_eq!(xml_all(&doc, "IsLatest"), vec!["true"; 4]);
    assert_eq!(xml_text(&doc, "NextKeyMarker").as_deref(), Some("b"));
    let r = s.get("/bkt?versions&key-marker=b").await;
    assert_eq!(xml_all(&r.text(), "Version").len(), 3);
    let _ = Bytes::new();
}

#[tokio::test]
async fn keys_xml_cannot_carry_need_url_encoding() {
    // Issue #13: a key holding \x01 is stored (S3 accepts it) but a
    // listing without encoding-type=url is refused rather than written
    // as a document no XML parser accepts.
    let s = Server::start().await;
    s.mb("ctl").await;
    s.put("/ctl/a%01b", "x").await.expect(200);
    s.put("/ctl/plain", "x").await.expect(200);
    for q in ["", "?list-type=2", "?versions", "?delimiter=b"] {
        let r = s.get(&format!("/ctl{q}")).await;
        r.expect_error(400, "InvalidArgument");
        assert!(r.text().contains("encoding-type=url"), "{}", r.text());
        assert!(!r.text().contains('\u{1}'));
    }
    let r = s.get("/ctl?list-type=2&encoding-type=url").await;
    r.expect(200);
    assert_eq!(xml_all(&r.text(), "Key"), vec!["a%01b", "plain"]);
    // A listing whose page holds no such key is unaffected.
    s.get("/ctl?prefix=p").await.expect(200);
    // Error messages never echo the raw byte either.
    let r = s.get("/ctl?list-type=2&max-keys=%00").await;
    assert!(r.status.as_u16() >= 400);
    assert!(!r.text().contains('\0'), "{:?}", r.text());
}
