//! Processing requests signed the vendors' way: OSS V1 header and
//! presigned URLs carrying `x-oss-process` (covered by the signature, as
//! DESIGN.md requires), a COS-signed `imageMogr2` GET, and the COS shape of
//! the style list for COS-signed requests. The bucket is private, so every
//! success below is a verified signature.

use crate::common::*;
use http::Method;
use imgbucket::auth::sign;
use std::time::SystemTime;

const B: &str = "examplebucket";

/// A GET signed as `cos-python-sdk-v5` signs it.
async fn cos_get(s: &Server, path: &str) -> Resp {
    let h = s.vendor_headers(Vendor::Cos, &s.creds, "GET", None, path, &[]);
    s.send_headers("GET", path, h, "").await
}

#[tokio::test]
async fn oss_v1_header_signature_covers_the_process() {
    let s = Server::with_fixtures(B).await;
    let path = format!("/{B}/f1.jpg?x-oss-process=image/resize,w_100");
    let h = s.vendor_headers(Vendor::OssV1, &s.creds, "GET", None, &path, &[]);
    let r = s.send_headers("GET", &path, h.clone(), "").await;
    r.expect(200);
    assert_eq!(r.dims(), (100, 50));
    // The same signature with another process string does not verify.
    let other = format!("/{B}/f1.jpg?x-oss-process=image/resize,w_200");
    let r = s.send_headers("GET", &other, h, "").await;
    r.expect(403);
}

#[tokio::test]
async fn oss_v1_presigned_url_with_process() {
    let s = Server::with_fixtures(B).await;
    let expires = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let uri = s.uri(&format!("/{B}/f1.jpg?x-oss-process=image/info"));
    let signed = sign::presign_oss_v1(&Method::GET, &uri, &s.creds, expires, None).unwrap();
    let r = s.get_url(&signed).await;
    r.expect(200);
    assert_eq!(r.json()["ImageWidth"]["value"], "400");
}

#[tokio::test]
async fn cos_signed_processing_and_style_list() {
    let s = Server::with_fixtures(B).await;
    let add = "<AddStyle><StyleName>half</StyleName><StyleBody>imageMogr2/thumbnail/!50p</StyleBody></AddStyle>";
    s.req("PUT", &format!("/{B}?style"), &[], add)
        .await
        .expect(200);
    let r = cos_get(&s, &format!("/{B}/f9.jpg?imageMogr2/thumbnail/!50p")).await;
    r.expect(200);
    assert_eq!(r.dims(), (200, 150));
    let r = cos_get(&s, &format!("/{B}?style")).await;
    r.expect(200);
    let doc = r.text();
    assert_eq!(xml_text(&doc, "StyleName").as_deref(), Some("half"));
    assert_eq!(
        xml_text(&doc, "StyleBody").as_deref(),
        Some("imageMogr2/thumbnail/!50p")
    );
    assert!(doc.contains("<StyleRule>"), "{doc}");
}
