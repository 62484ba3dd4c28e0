//! How JPEG outputs are scanned: a bucket's `jpeg_progressive: auto`
//! answers baseline or progressive, whichever is smaller, and a request
//! that names `interlace` (either way) keeps what it asked, in every
//! dialect; `jpeg_trellis` writes them with trellis quantisation.

use crate::common::*;
use crate::measure::qtable;

const B: &str = "scans";

/// A photo-like texture (smooth gradients with fine detail), big enough
/// for progressive scans to matter.
fn texture(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 23;
        image::Rgba([
            ((x * 255 / w) as u8).wrapping_add(n as u8),
            ((y * 255 / h) as u8).wrapping_add((n * 3) as u8),
            (((x + y) * 127 / (w + h)) as u8).wrapping_add((n * 5) as u8),
            255,
        ])
    });
    jpeg(&img, 92)
}

/// A server with bucket `B` holding `t.jpg`, a 1200×800 texture.
async fn with_texture() -> Server {
    let s = Server::start().await;
    s.mb(B).await;
    s.upload(B, "t.jpg", &texture(1200, 800), "image/jpeg")
        .await;
    s
}

#[tokio::test]
async fn auto_answers_the_smaller_scan_and_a_named_interlace_wins() {
    let s = with_texture().await;
    s.image_config(B, r#"{"jpeg_progressive": "auto"}"#)
        .await
        .expect(200);
    let s = &s;
    let get = |q: String| async move { s.get(&format!("/{B}/t.jpg?{q}")).await };
    for (width, named) in [(80, "image/resize,w_80"), (600, "image/resize,w_600")] {
        let baseline = get(format!("x-oss-process={named}/interlace,0")).await;
        let progressive = get(format!("x-oss-process={named}/interlace,1")).await;
        assert!(!is_progressive(&baseline.body) && is_progressive(&progressive.body));
        let auto = get(format!("x-oss-process={named}")).await;
        auto.expect_image("image/jpeg");
        assert_eq!(auto.dims().0, width);
        let smaller = if progressive.body.len() < baseline.body.len() {
            &progressive
        } else {
            &baseline
        };
        assert_eq!(auto.body, smaller.body, "{width} px");
    }
    // The other dialects' explicit interlace wins too.
    let cos = get("imageMogr2/thumbnail/600x/interlace/0".into()).await;
    assert!(!is_progressive(&cos.body));
    // The setting round-trips and is dropped at its default.
    let cfg = s.get(&format!("/{B}?x-imgbucket-image-config")).await;
    assert!(
        cfg.text().contains("\"jpeg_progressive\":\"auto\""),
        "{}",
        cfg.text()
    );
}

#[tokio::test]
async fn without_the_setting_outputs_stay_baseline() {
    let s = with_texture().await;
    let r = s
        .get(&format!("/{B}/t.jpg?x-oss-process=image/resize,w_600"))
        .await;
    assert!(!is_progressive(&r.body));
    let bad = s.image_config(B, r#"{"jpeg_progressive": "always"}"#).await;
    bad.expect(400);
}

#[tokio::test]
async fn trellis_answers_fewer_bytes_with_the_same_tables_and_its_own_etag() {
    let s = with_texture().await;
    let path = format!("/{B}/t.jpg?x-oss-process=image/resize,w_600/quality,q_80");
    let plain = s.get(&path).await;
    plain.expect_image("image/jpeg");
    s.image_config(B, r#"{"jpeg_trellis": true}"#)
        .await
        .expect(200);
    let trellis = s.get(&path).await;
    trellis.expect_image("image/jpeg");
    assert_eq!(trellis.dims(), plain.dims());
    assert!(!is_progressive(&trellis.body), "baseline stays the default");
    assert!(
        trellis.body.len() < plain.body.len(),
        "{} ≥ {}",
        trellis.body.len(),
        plain.body.len()
    );
    // Quality 80 writes the same tables whichever encoder runs.
    for id in [0, 1] {
        assert_eq!(
            qtable(&trellis.body, id),
            qtable(&plain.body, id),
            "table {id}"
        );
    }
    // Another encoding is another representation: a cache holding the
    // first must not take the second for it.
    assert_ne!(trellis.header("etag"), plain.header("etag"));
    // With `jpeg_progressive: auto` too, the smaller scan of the two.
    s.image_config(B, r#"{"jpeg_trellis": true, "jpeg_progressive": "auto"}"#)
        .await
        .expect(200);
    let both = s.get(&path).await;
    let baseline = s.get(&format!("{path}/interlace,0")).await;
    let progressive = s.get(&format!("{path}/interlace,1")).await;
    let smaller = baseline.body.len().min(progressive.body.len());
    assert_eq!(both.body.len(), smaller);
    assert!(smaller <= trellis.body.len());
    let cfg = s.get(&format!("/{B}?x-imgbucket-image-config")).await;
    assert!(
        cfg.text().contains("\"jpeg_trellis\":true"),
        "{}",
        cfg.text()
    );
    // Not a boolean: refused, and the setting stays.
    s.image_config(B, r#"{"jpeg_trellis": "yes"}"#)
        .await
        .expect(400);
    let cfg = s.get(&format!("/{B}?x-imgbucket-image-config")).await;
    assert!(
        cfg.text().contains("\"jpeg_trellis\":true"),
        "{}",
        cfg.text()
    );
}
