//! The output format by `Accept` (`auto_format` in a bucket's image
//! settings): which format each client gets, `Vary`, validators and the
//! variant cache keyed on the choice, originals and named formats untouched.

use crate::common::*;
use crate::fixtures::*;

const B: &str = "negotiated";

const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
const WEBP_ONLY: &str = "image/webp,image/png,image/*;q=0.8,*/*;q=0.5";

async fn server(setting: &str) -> Server {
    let s = Server::with_fixtures(B).await;
    s.image_config(B, &format!(r#"{{"auto_format": "{setting}"}}"#))
        .await
        .expect(200);
    s
}

fn thumb(key: &str) -> String {
    format!("/{B}/{key}?x-oss-process=image/resize,w_100")
}

fn vary(r: &Resp) -> Option<&str> {
    r.header("vary")
}

#[tokio::test]
async fn each_client_gets_the_best_format_it_names() {
    let s = server("avif_webp").await;
    let avif = s.get_h(&thumb("f1.jpg"), &[("accept", CHROME)]).await;
    avif.expect_image("image/avif");
    assert_eq!(vary(&avif), Some("accept"));
    let webp = s.get_h(&thumb("f1.jpg"), &[("accept", WEBP_ONLY)]).await;
    webp.expect_image("image/webp");
    assert_eq!(webp.dims(), (100, 50));
    // A client naming neither gets the source's format, and the answer
    // still varies by Accept.
    let plain = s.get_h(&thumb("f1.jpg"), &[("accept", "*/*")]).await;
    plain.expect_image("image/jpeg");
    assert_eq!(vary(&plain), Some("accept"));
    let none = s.get(&thumb("f1.jpg")).await;
    none.expect_image("image/jpeg");
    // Three formats, three validators.
    let etags = [&avif, &webp, &plain].map(|r| r.header("etag").unwrap().to_string());
    assert!(etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2]);
    // The cache keeps one variant per choice: a repeat is a hit, with the
    // same bytes, and another client does not get it.
    let again = s.get_h(&thumb("f1.jpg"), &[("accept", WEBP_ONLY)]).await;
    assert_eq!(again.header("x-imgbucket-cache"), Some("hit"));
    assert_eq!(again.body, webp.body);
    let other = s.get_h(&thumb("f1.jpg"), &[("accept", CHROME)]).await;
    other.expect_image("image/avif");
    // A 304 says Vary too.
    let etag = webp.header("etag").unwrap().to_string();
    let r = s
        .get_h(
            &thumb("f1.jpg"),
            &[("accept", WEBP_ONLY), ("if-none-match", &etag)],
        )
        .await;
    r.expect(304);
    assert_eq!(vary(&r), Some("accept"));
}

#[tokio::test]
async fn named_formats_information_and_originals_are_never_negotiated() {
    let s = server("webp").await;
    // A named format wins, and nothing varies.
    let r = s
        .get_h(
            &format!("/{B}/f1.jpg?x-oss-process=image/resize,w_100/format,png"),
            &[("accept", CHROME)],
        )
        .await;
    r.expect_image("image/png");
    assert_eq!(vary(&r), None);
    // `webp` never picks AVIF.
    s.get_h(&thumb("f1.jpg"), &[("accept", CHROME)])
        .await
        .expect_image("image/webp");
    // Information answers stay JSON.
    let r = s
        .get_h(
            &format!("/{B}/f1.jpg?x-oss-process=image/info"),
            &[("accept", CHROME)],
        )
        .await;
    r.expect(200);
    assert_eq!(vary(&r), None);
    // A plain GET is the stored object, byte for byte.
    let r = s
        .get_h(&format!("/{B}/f1.jpg"), &[("accept", CHROME)])
        .await;
    r.expect(200);
    assert_eq!(&r.body[..], &f1()[..]);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    // The other dialects negotiate the same way.
    let r = s
        .get_h(
            &format!("/{B}/f1.jpg?imageMogr2/thumbnail/100x"),
            &[("accept", CHROME)],
        )
        .await;
    r.expect_image("image/webp");
    let r = s
        .get_h(
            &format!("/{B}/f1.jpg?iopcmd=thumbnail&type=4&width=100"),
            &[("accept", WEBP_ONLY)],
        )
        .await;
    r.expect_image("image/webp");
}

#[tokio::test]
async fn animations_become_animated_webp_never_one_frame() {
    let s = server("avif_webp").await;
    let r = s.get_h(&thumb("f5.gif"), &[("accept", CHROME)]).await;
    r.expect_image("image/webp");
    assert!(
        r.body.windows(4).any(|w| w == b"ANIM"),
        "not an animated WebP"
    );
    // A client that takes AVIF but not WebP keeps the GIF.
    let r = s.get_h(&thumb("f5.gif"), &[("accept", "image/avif")]).await;
    r.expect_image("image/gif");
    assert_eq!(gif_frames(&r.body), 10);
}

#[tokio::test]
async fn off_by_default_and_per_bucket_over_the_server() {
    let s = Server::with_fixtures(B).await;
    let r = s.get_h(&thumb("f1.jpg"), &[("accept", CHROME)]).await;
    r.expect_image("image/jpeg");
    assert_eq!(vary(&r), None);
    let processing = imgbucket::config::ProcessingConfig {
        auto_format: imgbucket::config::AutoFormat::Webp,
        ..Default::default()
    };
    let s = Server::with_processing(processing).await;
    s.mb(B).await;
    s.upload(B, "f1.jpg", &f1(), "image/jpeg").await;
    s.get_h(&thumb("f1.jpg"), &[("accept", CHROME)])
        .await
        .expect_image("image/webp");
    // The bucket's `off` wins over the server's `webp`.
    s.image_config(B, r#"{"auto_format": "off"}"#)
        .await
        .expect(200);
    s.get_h(&thumb("f1.jpg"), &[("accept", CHROME)])
        .await
        .expect_image("image/jpeg");
    // An unknown value is refused.
    let r = s.image_config(B, r#"{"auto_format": "jxl"}"#).await;
    assert_eq!(r.status, 400, "{}", r.text());
}
