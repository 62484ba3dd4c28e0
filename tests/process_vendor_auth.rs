//! Processing requests signed the vendors' way: OSS V1 header and
//! presigned URLs carrying `x-oss-process` (covered by the signature, as
//! DESIGN.md requires), a COS-signed `imageMogr2` GET, and the COS shape of
//! the style list for COS-signed requests. The bucket is private, so every
//! success below is a verified signature.
#![allow(clippy::unwrap_used)]

mod process_support;

use http::{HeaderMap, Method};
use imgbucket::auth::sign;
use process_support::*;
use std::time::{Duration, SystemTime};

const B: &str = "examplebucket";

async fn server() -> Server {
    let s = Server::start().await;
    s.mb(B).await;
    s.fixtures(B).await;
    s
}

fn pairs(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string()))
        .collect()
}

async fn send_signed(s: &Server, method: &str, path: &str, h: &HeaderMap) -> Resp {
    let owned = pairs(h);
    let refs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.anon(method, path, &refs).await
}

#[tokio::test]
async fn oss_v1_header_signature_covers_the_process() {
    let s = server().await;
    let path = format!("/{B}/f1.jpg?x-oss-process=image/resize,w_100");
    let mut h = HeaderMap::new();
    sign::sign_oss_v1_request(
        &Method::GET,
        &s.uri(&path),
        &mut h,
        &s.creds,
        SystemTime::now(),
        None,
    )
    .unwrap();
    let r = send_signed(&s, "GET", &path, &h).await;
    r.expect(200);
    assert_eq!(r.dims(), (100, 50));
    // The same signature with another process string does not verify.
    let other = format!("/{B}/f1.jpg?x-oss-process=image/resize,w_200");
    let r = send_signed(&s, "GET", &other, &h).await;
    r.expect(403);
}

#[tokio::test]
async fn oss_v1_presigned_url_with_process() {
    let s = server().await;
    let expires = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let uri = s.uri(&format!("/{B}/f1.jpg?x-oss-process=image/info"));
    let signed = sign::presign_oss_v1(&Method::GET, &uri, &s.creds, expires, None).unwrap();
    let r = s
        .anon("GET", signed.path_and_query().unwrap().as_str(), &[])
        .await;
    r.expect(200);
    assert_eq!(r.json()["ImageWidth"]["value"], "400");
}

#[tokio::test]
async fn cos_signed_processing_and_style_list() {
    let s = server().await;
    let add = "<AddStyle><StyleName>half</StyleName><StyleBody>imageMogr2/thumbnail/!50p</StyleBody></AddStyle>";
    s.req("PUT", &format!("/{B}?style"), &[], add)
        .await
        .expect(200);
    let cos_headers = |path: &str| {
        let mut h = HeaderMap::new();
        sign::sign_cos_request(
            &Method::GET,
            &s.uri(path),
            &mut h,
            &s.creds,
            SystemTime::now(),
            Duration::from_secs(600),
        )
        .unwrap();
        h
    };
    let path = format!("/{B}/f9.jpg?imageMogr2/thumbnail/!50p");
    let r = send_signed(&s, "GET", &path, &cos_headers(&path)).await;
    r.expect(200);
    assert_eq!(r.dims(), (200, 150));
    let path = format!("/{B}?style");
    let r = send_signed(&s, "GET", &path, &cos_headers(&path)).await;
    r.expect(200);
    let doc = r.text();
    assert_eq!(xml_text(&doc, "StyleName").as_deref(), Some("half"));
    assert_eq!(
        xml_text(&doc, "StyleBody").as_deref(),
        Some("imageMogr2/thumbnail/!50p")
    );
    assert!(doc.contains("<StyleRule>"), "{doc}");
}
