//! `?x-imgbucket-explain`: the typed pipeline a processing string (or a
//! stored style) stands for, and its spelling in each dialect, as the
//! console's style editor shows them.

use crate::common::*;

const B: &str = "explained";

async fn explain(s: &Server, query: &str) -> serde_json::Value {
    let r = s
        .get(&format!("/{B}/any.jpg?x-imgbucket-explain&{query}"))
        .await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
}

#[tokio::test]
async fn a_string_is_spelled_in_every_dialect_that_can_say_it() {
    let s = Server::start().await;
    s.mb(B).await;
    // No object is read: the key need not exist.
    let doc = explain(&s, "x-oss-process=image/resize,w_300").await;
    assert_eq!(doc["dialect"], "oss");
    assert_eq!(doc["spellings"]["oss"]["text"], "image/resize,w_300");
    // OSS never enlarges by default; Tencent says so with `>`.
    assert_eq!(
        doc["spellings"]["cos"]["text"],
        "imageMogr2/thumbnail/300x>"
    );
    // UCloud thumbnails always may enlarge: no spelling, and why.
    let errors = doc["spellings"]["us3"]["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{doc}");
    assert!(doc["spellings"]["us3"].get("text").is_none());
    assert!(doc["pipeline"]["ops"].is_array(), "{doc}");

    // From COS, with a flip that only COS can write.
    let doc = explain(&s, "imageMogr2/thumbnail/150x/flip/vertical").await;
    assert_eq!(doc["dialect"], "cos");
    assert_eq!(
        doc["spellings"]["cos"]["text"],
        "imageMogr2/thumbnail/150x/flip/vertical"
    );
    let oss = doc["spellings"]["oss"]["errors"].as_array().unwrap();
    assert!(
        oss.iter().any(|e| e.as_str().unwrap().starts_with("flip")),
        "{doc}"
    );

    // A UCloud string that OSS and COS can both write.
    let doc = explain(&s, "iopcmd=thumbnail&type=4&width=120").await;
    assert_eq!(doc["dialect"], "us3");
    let oss = doc["spellings"]["oss"]["text"].as_str().unwrap();
    assert!(oss.starts_with("image/resize"), "{doc}");
    assert!(doc["spellings"]["cos"]["text"].is_string(), "{doc}");
}

#[tokio::test]
async fn a_style_is_explained_by_its_content() {
    let s = Server::start().await;
    s.mb(B).await;
    s.put(
        &format!("/{B}?style&styleName=small"),
        "<Style><Content>image/resize,w_64,limit_0</Content></Style>",
    )
    .await
    .expect(200);
    let doc = explain(&s, "x-oss-process=style/small").await;
    assert_eq!(doc["spellings"]["oss"]["text"], "image/resize,w_64,limit_0");
    assert_eq!(doc["spellings"]["cos"]["text"], "imageMogr2/thumbnail/64x");
    assert_eq!(
        doc["spellings"]["us3"]["text"],
        "iopcmd=thumbnail&type=4&width=64"
    );
    let r = s
        .get(&format!(
            "/{B}/any.jpg?x-imgbucket-explain&x-oss-process=style/none"
        ))
        .await;
    r.expect_error(404, "NoSuchStyle");
}

#[tokio::test]
async fn bad_strings_and_strangers_are_refused() {
    let s = Server::start().await;
    s.mb(B).await;
    // The dialect's own error, in its envelope.
    let r = s
        .get(&format!(
            "/{B}/any.jpg?x-imgbucket-explain&x-oss-process=image/resize,w_0"
        ))
        .await;
    r.expect_error(400, "InvalidArgument");
    // Nothing to explain.
    let r = s.get(&format!("/{B}/any.jpg?x-imgbucket-explain")).await;
    r.expect_error(400, "InvalidArgument");
    // Styles are the owner's: no explanation for anyone else, even on a
    // public bucket.
    s.req(
        "PUT",
        &format!("/{B}?acl"),
        &[("x-amz-acl", "public-read")],
        "",
    )
    .await
    .expect(200);
    let r = s
        .anon_get(&format!(
            "/{B}/any.jpg?x-imgbucket-explain&x-oss-process=image/resize,w_10"
        ))
        .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
}
