//! OSS styles (API, by parameter, by separator), source protection and
//! `sys/saveas` over HTTP (docs/oss-dialect.md, docs/styles.md).

use crate::common::*;
use crate::fixtures::{camera_jpeg, with_icc};
use crate::measure::{jpeg_has_exif, jpeg_has_icc, jpeg_segments};

const B: &str = "examplebucket";

async fn server() -> Server {
    let s = Server::start().await;
    s.mb_public(B).await;
    s.fixtures(B).await;
    s
}

/// PUTs the OSS style `name` with this content.
async fn put_style(s: &Server, name: &str, content: &str) -> Resp {
    let body = format!("<Style><Content>{content}</Content></Style>");
    s.put(&format!("/{B}?style&styleName={name}"), body).await
}

#[tokio::test]
async fn oss_style_api_crud_and_use() {
    let s = server().await;
    put_style(&s, "thumb100", "image/resize,w_100")
        .await
        .expect(200);
    let r = s.get(&format!("/{B}?style&styleName=thumb100")).await;
    r.expect(200);
    assert_eq!(r.xml("Name").as_deref(), Some("thumb100"));
    assert_eq!(r.xml("Content").as_deref(), Some("image/resize,w_100"));
    assert!(r.xml("CreateTime").is_some_and(|t| t.ends_with("GMT")));
    assert!(r.xml("LastModifyTime").is_some());
    put_style(&s, "small", "image/resize,w_10")
        .await
        .expect(200);
    let r = s.get(&format!("/{B}?style")).await;
    r.expect(200);
    assert!(r.text().starts_with("<?xml") || r.text().contains("<StyleList>"));
    assert_eq!(r.text().matches("<Style>").count(), 2, "{}", r.text());
    // By parameter.
    let r = s
        .get(&format!("/{B}/f1.jpg?x-oss-process=style/thumb100"))
        .await;
    assert_eq!(r.dims(), (100, 50));
    // Delete.
    s.delete(&format!("/{B}?style&styleName=small"))
        .await
        .expect(204);
    s.get(&format!("/{B}?style&styleName=small"))
        .await
        .oss_error(404, "NoSuchStyle");
    s.get(&format!("/{B}/f1.jpg?x-oss-process=style/small"))
        .await
        .oss_error(404, "NoSuchStyle");
}

#[tokio::test]
async fn oss_style_validation() {
    let s = server().await;
    // Bad name.
    put_style(&s, "bad%20name", "image/resize,w_1")
        .await
        .oss_error(400, "InvalidArgument");
    // Content that does not parse.
    put_style(&s, "broken", "image/slim,1")
        .await
        .oss_error(400, "InvalidArgument");
    // Not XML.
    s.put(&format!("/{B}?style&styleName=x"), "nonsense")
        .await
        .expect(400);
    // At most 50 styles.
    for i in 0..50 {
        put_style(&s, &format!("s{i}"), "image/resize,w_5")
            .await
            .expect(200);
    }
    let r = put_style(&s, "s50", "image/resize,w_5").await;
    r.expect(400);
    // Replacing an existing one is still allowed.
    put_style(&s, "s0", "image/resize,w_6").await.expect(200);
    // Anonymous management is refused even on a public-read bucket.
    s.anon_get(&format!("/{B}?style")).await.expect(403);
}

#[tokio::test]
async fn style_by_separator_including_legacy() {
    let s = server().await;
    put_style(&s, "thumb100", "image/resize,w_100")
        .await
        .expect(200);
    // Without a configured separator, the literal key is looked up.
    s.get(&format!("/{B}/f1.jpg!thumb100")).await.expect(404);
    s.image_config(B, r#"{"separators": ["!", "@!", "-"]}"#)
        .await
        .expect(200);
    let cfg = s.get(&format!("/{B}?x-imgbucket-image-config")).await;
    cfg.expect(200);
    assert_eq!(cfg.json()["separators"][1], "@!");
    for sep in ["!", "@!", "-"] {
        let r = s.get(&format!("/{B}/f1.jpg{sep}thumb100")).await;
        r.expect(200);
        assert_eq!(r.dims(), (100, 50), "{sep}");
        assert!(r.header("etag").is_some());
    }
    // Anonymous access through a style works on a public bucket.
    let r = s.anon_get(&format!("/{B}/f1.jpg!thumb100")).await;
    assert_eq!(r.dims(), (100, 50));
    // A bad separator is refused.
    s.image_config(B, r##"{"separators": ["#"]}"##)
        .await
        .oss_error(400, "InvalidArgument");
}

#[tokio::test]
async fn source_protection() {
    let s = server().await;
    put_style(&s, "thumb100", "image/resize,w_100")
        .await
        .expect(200);
    s.image_config(
        B,
        r#"{"separators": ["!"], "protect_source": true, "protected_suffixes": [".jpg"]}"#,
    )
    .await
    .expect(200);
    // Anonymous: the original and free-form processing are refused...
    s.anon_get(&format!("/{B}/f1.jpg")).await.expect(403);
    s.anon_get(&format!("/{B}/f1.jpg?x-oss-process=image/resize,w_10"))
        .await
        .oss_error(403, "AccessDenied");
    // ...style access works (parameter and separator)...
    s.anon_get(&format!("/{B}/f1.jpg?x-oss-process=style/thumb100"))
        .await
        .expect(200);
    s.anon_get(&format!("/{B}/f1.jpg!thumb100"))
        .await
        .expect(200);
    // ...other suffixes are not protected, and signed requests still work.
    s.anon_get(&format!("/{B}/f2.png")).await.expect(200);
    s.get(&format!("/{B}/f1.jpg")).await.expect(200);
    s.get(&format!("/{B}/f1.jpg?x-oss-process=image/resize,w_10"))
        .await
        .expect(200);
    // COS envelope for a COS request.
    let r = s
        .anon_get(&format!("/{B}/f1.jpg?imageMogr2/thumbnail/!50p"))
        .await;
    r.expect(403);
    assert_eq!(r.header("x-errno"), Some("-154"));
}

#[tokio::test]
async fn saveas_writes_the_result() {
    let s = server().await;
    s.mb("target-bucket").await;
    let body = format!(
        "x-oss-process=image/resize,w_100|sys/saveas,o_{},b_{}",
        b64("out/f1_100.jpg"),
        b64("target-bucket")
    );
    let r = s
        .req("POST", &format!("/{B}/f1.jpg?x-oss-process"), &[], body)
        .await;
    r.expect(200);
    let j = r.json();
    assert_eq!(j["bucket"], "target-bucket");
    assert_eq!(j["object"], "out/f1_100.jpg");
    assert_eq!(j["status"], "OK");
    let saved = s.get("/target-bucket/out/f1_100.jpg").await;
    saved.expect(200);
    assert_eq!(saved.header("content-type"), Some("image/jpeg"));
    assert_eq!(j["fileSize"], saved.body.len() as u64);
    assert_eq!(saved.dims(), (100, 50));
    // Default bucket = the source's; a style as the process.
    put_style(&s, "thumb100", "image/resize,w_100")
        .await
        .expect(200);
    let body = format!(
        "x-oss-process=style/thumb100|sys/saveas,o_{}",
        b64("styled.jpg")
    );
    s.req("POST", &format!("/{B}/f9.jpg?x-oss-process"), &[], body)
        .await
        .expect(200);
    assert_eq!(s.get(&format!("/{B}/styled.jpg")).await.dims(), (100, 75));
    // A failed process writes nothing.
    let body = format!(
        "x-oss-process=image/crop,x_900,y_0,w_10,h_10|sys/saveas,o_{}",
        b64("never.jpg")
    );
    s.req("POST", &format!("/{B}/f1.jpg?x-oss-process"), &[], body)
        .await
        .oss_error(400, "BadRequest");
    s.get(&format!("/{B}/never.jpg")).await.expect(404);
    // Missing target bucket.
    let body = format!(
        "x-oss-process=image/resize,w_10|sys/saveas,o_{},b_{}",
        b64("x.jpg"),
        b64("no-such-bucket")
    );
    s.req("POST", &format!("/{B}/f1.jpg?x-oss-process"), &[], body)
        .await
        .oss_error(404, "NoSuchBucket");
    // Missing o_.
    let r = s
        .req(
            "POST",
            &format!("/{B}/f1.jpg?x-oss-process"),
            &[],
            "x-oss-process=image/resize,w_10|sys/saveas",
        )
        .await;
    r.expect(400);
    // Anonymous saveas is refused even on a public-read bucket.
    s.anon("POST", &format!("/{B}/f1.jpg?x-oss-process"), &[], "")
        .await
        .expect(403);
}

/// The EXIF fields of a JPEG's APP1 segment (tag, IFD, shown value).
fn exif_tags(jpeg: &[u8]) -> Vec<(exif::Tag, exif::In, String)> {
    let Some((_, app1)) = jpeg_segments(jpeg)
        .into_iter()
        .find(|(m, d)| *m == 0xE1 && d.starts_with(b"Exif\0\0"))
    else {
        return Vec::new();
    };
    let parsed = exif::Reader::new().read_raw(app1[6..].to_vec()).unwrap();
    parsed
        .fields()
        .map(|f| (f.tag, f.ifd_num, f.display_value().to_string()))
        .collect()
}

fn tag_value(tags: &[(exif::Tag, exif::In, String)], tag: exif::Tag) -> Option<&str> {
    tags.iter()
        .find(|(t, i, _)| *t == tag && *i == exif::In::PRIMARY)
        .map(|(_, _, v)| v.as_str())
}

/// The APP1 segment's size in bytes (0 without one).
fn exif_len(jpeg: &[u8]) -> usize {
    jpeg_segments(jpeg)
        .iter()
        .find(|(m, d)| *m == 0xE1 && d.starts_with(b"Exif\0\0"))
        .map_or(0, |(_, d)| d.len())
}

/// The bucket's `metadata` setting decides what a processed JPEG keeps of
/// the camera's EXIF; the camera's preview of the original never survives,
/// and the size tags give the output's size (docs/styles.md, "Metadata").
#[tokio::test]
async fn metadata_policy_is_a_bucket_setting() {
    use exif::Tag;
    let s = server().await;
    let src = with_icc(&camera_jpeg());
    let src_tags = exif_tags(&src);
    assert!(src_tags.iter().any(|(_, i, _)| *i == exif::In::THUMBNAIL));
    s.put(&format!("/{B}/camera.jpg"), src.clone())
        .await
        .expect(200);
    let thumb = format!("/{B}/camera.jpg?x-oss-process=image/resize,w_300");

    // The default is `safe`: the description of the picture only.
    let cfg = s.get(&format!("/{B}?x-imgbucket-image-config")).await;
    cfg.expect(200);
    assert_eq!(cfg.json()["metadata"], "safe");
    let safe = s.get(&thumb).await;
    safe.expect_image("image/jpeg");
    assert_eq!(safe.dims(), (300, 200));
    let tags = exif_tags(&safe.body);
    assert_eq!(tag_value(&tags, Tag::Make), Some("\"Cam\""));
    assert_eq!(tag_value(&tags, Tag::PixelXDimension), Some("300"));
    assert_eq!(tag_value(&tags, Tag::PixelYDimension), Some("200"));
    for gone in [Tag::MakerNote, Tag::GPSLatitudeRef] {
        assert_eq!(tag_value(&tags, gone), None, "{gone} kept by safe");
    }
    assert!(tags.iter().all(|(_, i, _)| *i == exif::In::PRIMARY));
    assert!(jpeg_has_icc(&safe.body));
    assert!(exif_len(&safe.body) < 200, "{}", exif_len(&safe.body));

    // `keep`: every tag, the maker note's bytes where they were, no preview.
    s.image_config(B, r#"{"metadata": "keep"}"#)
        .await
        .expect(200);
    let keep = s.get(&thumb).await;
    keep.expect_image("image/jpeg");
    let tags = exif_tags(&keep.body);
    assert!(tag_value(&tags, Tag::MakerNote).is_some());
    assert_eq!(tag_value(&tags, Tag::GPSLatitudeRef), Some("N"));
    assert_eq!(tag_value(&tags, Tag::PixelXDimension), Some("300"));
    assert!(tags.iter().all(|(_, i, _)| *i == exif::In::PRIMARY));
    // Cut where IFD1 began (the fixture's byte 4122), after the 6-byte
    // `Exif\0\0`: IFD1 and the preview are gone.
    assert_eq!(exif_len(&keep.body), 6 + 4122, "of {}", exif_len(&src));
    assert_ne!(keep.header("etag"), safe.header("etag"));

    // `strip`: the colour profile only.
    s.image_config(B, r#"{"metadata": "strip"}"#)
        .await
        .expect(200);
    let strip = s.get(&thumb).await;
    assert!(!jpeg_has_exif(&strip.body) && jpeg_has_icc(&strip.body));

    // Other values are refused, and the original is served as stored.
    let bad = s.image_config(B, r#"{"metadata": "all"}"#).await;
    bad.expect(400);
    assert_eq!(s.get(&format!("/{B}/camera.jpg")).await.body, src);
}
