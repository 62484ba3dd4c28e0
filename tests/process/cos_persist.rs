//! Tencent COS persistent processing over HTTP (docs/cos-dialect.md): the
//! `Pic-Operations` header on PUT, on CompleteMultipartUpload and on
//! `POST ?image_process`, against an in-process server. Every output is
//! read back with a GET and decoded.

use crate::common::*;
use crate::fixtures::*;
use bytes::Bytes;
use imgbucket::config::{LimitOverrides, ProcessingConfig};

const B: &str = "examplebucket";

async fn server() -> Server {
    let s = Server::start().await;
    s.mb(B).await;
    s
}

/// PUT with a `Pic-Operations` header.
async fn put_pic(s: &Server, path: &str, ops: &str, data: &[u8]) -> Resp {
    s.req(
        "PUT",
        path,
        &[("pic-operations", ops), ("content-type", "image/jpeg")],
        Bytes::copy_from_slice(data),
    )
    .await
}

/// Starts a multipart upload of `key` with `data` as its one part; answers
/// the path to complete it at (`/<B>/<key>?uploadId=...`) and the
/// CompleteMultipartUpload document that names the part.
async fn one_part_upload(s: &Server, key: &str, data: &[u8]) -> (String, String) {
    let path = format!("/{B}/{key}");
    let upload_id = s.create_upload(&path, &[]).await;
    let etag = s
        .upload_part(&path, &upload_id, 1, Bytes::copy_from_slice(data))
        .await;
    let complete = complete_multipart_xml(&[(1, etag)]);
    (format!("{path}?uploadId={upload_id}"), complete)
}

fn x(doc: &str, tag: &str) -> String {
    xml_text(doc, tag).unwrap_or_else(|| panic!("no <{tag}> in {doc}"))
}

/// Asserts one output `<Object>` against the stored object: key, location,
/// format, size, dimensions, ETag, and the decoded image's size.
async fn check_output(
    s: &Server,
    obj: &str,
    bucket: &str,
    key: &str,
    format: &str,
    dims: (u32, u32),
) -> Resp {
    assert_eq!(x(obj, "Key"), key);
    assert_eq!(
        x(obj, "Location"),
        format!("{bucket}.{}/{key}", s.addr),
        "{obj}"
    );
    assert_eq!(x(obj, "Format"), format);
    assert_eq!(x(obj, "Width"), dims.0.to_string());
    assert_eq!(x(obj, "Height"), dims.1.to_string());
    let got = s.get(&format!("/{bucket}/{key}")).await;
    got.expect(200);
    assert_eq!(x(obj, "Size"), got.body.len().to_string());
    assert_eq!(x(obj, "ETag"), got.header("etag").unwrap());
    assert_eq!(x(obj, "ETag"), format!("\"{}\"", md5_hex(&got.body)));
    let mime = if format == "jpeg" {
        "image/jpeg".to_string()
    } else {
        format!("image/{format}")
    };
    assert_eq!(got.header("content-type"), Some(mime.as_str()));
    assert_eq!(got.dims(), dims);
    let q: u32 = x(obj, "Quality").parse().unwrap();
    assert!((1..=100).contains(&q), "{obj}");
    got
}

#[tokio::test]
async fn put_with_two_rules_stores_original_and_outputs() {
    let s = server().await;
    let src = f1();
    let ops = r#"{"is_pic_info":0,"rules":[
        {"fileid":"/thumbs/a.png","rule":"imageMogr2/thumbnail/!50p/format/png"},
        {"fileid":"small/b.jpg","rule":"imageMogr2/thumbnail/100x|imageMogr2/quality/60"}]}"#
        .replace('\n', "");
    let r = put_pic(&s, &format!("/{B}/photos/f1.jpg"), &ops, &src).await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let doc = r.text();
    assert!(doc.contains("<UploadResult><OriginalInfo>"), "{doc}");
    let orig = x(&doc, "OriginalInfo");
    assert_eq!(x(&orig, "Key"), "photos/f1.jpg");
    assert_eq!(
        x(&orig, "Location"),
        format!("{B}.{}/photos/f1.jpg", s.addr)
    );
    assert_eq!(x(&orig, "ETag"), format!("\"{}\"", md5_hex(&src)));
    assert_eq!(r.header("etag"), Some(x(&orig, "ETag").as_str()));
    assert!(!orig.contains("<ImageInfo>"), "is_pic_info 0: {orig}");
    // The original is stored unchanged.
    let got = s.get(&format!("/{B}/photos/f1.jpg")).await;
    got.expect(200);
    assert_eq!(got.body.as_ref(), src.as_slice());
    let objs = elements(&x(&doc, "ProcessResults"), "Object");
    assert_eq!(objs.len(), 2, "{doc}");
    let a = check_output(&s, &objs[0], B, "thumbs/a.png", "png", (200, 100)).await;
    assert_eq!(x(&objs[0], "Quality"), "100");
    assert!(a.body.starts_with(b"\x89PNG"));
    // Relative fileid: in the source key's directory.
    let b = check_output(&s, &objs[1], B, "photos/small/b.jpg", "jpeg", (100, 50)).await;
    assert_eq!(x(&objs[1], "Quality"), "60");
    assert!(b.body.starts_with(&[0xFF, 0xD8]));
}

#[tokio::test]
async fn is_pic_info_describes_the_original() {
    let s = server().await;
    let ops = r#"{"is_pic_info":1,"rules":[{"fileid":"t.png","rule":"imageMogr2/thumbnail/40x/format/png"}]}"#;
    let r = put_pic(&s, &format!("/{B}/f1.jpg"), ops, &f1()).await;
    r.expect(200);
    let doc = r.text();
    let info = x(&doc, "ImageInfo");
    assert_eq!(x(&info, "Format"), "JPEG");
    assert_eq!(x(&info, "Width"), "400");
    assert_eq!(x(&info, "Height"), "200");
    let q: i32 = x(&info, "Quality").parse().unwrap();
    assert!((88..=92).contains(&q), "quality estimate {q}");
    // Half red, half blue: about 0x7F007F.
    let ave = x(&info, "Ave");
    assert!(ave.starts_with("0x") && ave.len() == 8, "{ave}");
    let ch = |i: usize| i32::from_str_radix(&ave[2 + 2 * i..4 + 2 * i], 16).unwrap();
    assert!(
        (ch(0) - 127).abs() <= 8 && ch(1) <= 8 && (ch(2) - 127).abs() <= 8,
        "{ave}"
    );
    assert_eq!(x(&info, "Orientation"), "1");
    // Element order as documented.
    let order = [
        "<Format>",
        "<Width>",
        "<Height>",
        "<Quality>",
        "<Ave>",
        "<Orientation>",
    ];
    let pos: Vec<usize> = order.iter().map(|t| info.find(t).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{info}");
    check_output(
        &s,
        &elements(&doc, "Object")[0],
        B,
        "t.png",
        "png",
        (40, 20),
    )
    .await;

    // The EXIF orientation is reported as stored; a PNG has quality 100.
    let r = put_pic(&s, &format!("/{B}/f3.jpg"), r#"{"is_pic_info":1}"#, &f3()).await;
    r.expect(200);
    let info = x(&r.text(), "ImageInfo");
    assert_eq!(x(&info, "Orientation"), "6");
    assert_eq!(
        (x(&info, "Width"), x(&info, "Height")),
        ("1000".into(), "600".into())
    );
    assert!(elements(&r.text(), "Object").is_empty());
    let r = put_pic(
        &s,
        &format!("/{B}/f11.png"),
        r#"{"is_pic_info":"1","rules":[]}"#,
        &f11(),
    )
    .await;
    r.expect(200);
    let info = x(&r.text(), "ImageInfo");
    assert_eq!(x(&info, "Format"), "PNG");
    assert_eq!(x(&info, "Quality"), "100");
    assert_eq!(x(&info, "Ave"), "0x0080FF");
}

#[tokio::test]
async fn fileid_equal_to_the_source_overwrites_it() {
    let s = server().await;
    let src = f1();
    let ops = r#"{"rules":[{"fileid":"/dir/f1.jpg","rule":"imageMogr2/thumbnail/!25p"}]}"#;
    let r = put_pic(&s, &format!("/{B}/dir/f1.jpg"), ops, &src).await;
    r.expect(200);
    let doc = r.text();
    // OriginalInfo describes what was uploaded...
    assert_eq!(x(&doc, "ETag"), format!("\"{}\"", md5_hex(&src)));
    // ...and the key now holds the processed image.
    let o = &elements(&doc, "Object")[0];
    let got = check_output(&s, o, B, "dir/f1.jpg", "jpeg", (100, 50)).await;
    assert_ne!(got.body.as_ref(), src.as_slice());
    // Relative form of the same key.
    let ops = r#"{"rules":[{"fileid":"f1.jpg","rule":"imageMogr2/thumbnail/50x"}]}"#;
    let r = put_pic(&s, &format!("/{B}/dir/f1.jpg"), ops, &src).await;
    r.expect(200);
    assert_eq!(s.get(&format!("/{B}/dir/f1.jpg")).await.dims(), (50, 25));
}

#[tokio::test]
async fn target_bucket_other_and_unknown() {
    let s = server().await;
    s.mb("otherbucket").await;
    let ops = r#"{"rules":[{"bucket":"otherbucket","fileid":"out/x.webp","rule":"imageMogr2/format/webp"},
                           {"fileid":"same.png","rule":"imageMogr2/format/png"}]}"#
        .replace('\n', "");
    let r = put_pic(&s, &format!("/{B}/in/f1.jpg"), &ops, &f1()).await;
    r.expect(200);
    let objs = elements(&r.text(), "Object");
    // `fileid` is relative to the source key's directory, in the target bucket too.
    check_output(
        &s,
        &objs[0],
        "otherbucket",
        "in/out/x.webp",
        "webp",
        (400, 200),
    )
    .await;
    check_output(&s, &objs[1], B, "in/same.png", "png", (400, 200)).await;
    s.get(&format!("/{B}/in/out/x.webp")).await.expect(404);

    // An unknown target bucket: refused before anything is stored.
    let ops =
        r#"{"rules":[{"bucket":"nosuchbucket","fileid":"x.png","rule":"imageMogr2/format/png"}]}"#;
    let r = put_pic(&s, &format!("/{B}/denied.jpg"), ops, &f1()).await;
    assert_eq!(r.cos_error(403, None), "AccessDenied");
    s.get(&format!("/{B}/denied.jpg")).await.expect(404);
    // An invalid bucket name is malformed.
    let ops =
        r#"{"rules":[{"bucket":"Bad_Name","fileid":"x.png","rule":"imageMogr2/format/png"}]}"#;
    let r = put_pic(&s, &format!("/{B}/denied.jpg"), ops, &f1()).await;
    assert_eq!(r.cos_error(400, Some("-106")), "InvalidArgument");
    s.get(&format!("/{B}/denied.jpg")).await.expect(404);
}

#[tokio::test]
async fn malformed_headers_store_nothing() {
    let s = server().await;
    let key = format!("/{B}/bad.jpg");
    let six = format!(
        r#"{{"rules":[{}]}}"#,
        [r#"{"fileid":"a.png","rule":"imageMogr2/format/png"}"#; 6].join(",")
    );
    for (ops, what) in [
        ("{not json", "malformed JSON"),
        (r#"["rules"]"#, "not an object"),
        (six.as_str(), "six rules"),
        (
            r#"{"rules":[{"rule":"imageMogr2/format/png"}]}"#,
            "no fileid",
        ),
        (
            r#"{"rules":[{"fileid":"a/","rule":"imageMogr2/format/png"}]}"#,
            "fileid ending in /",
        ),
        (
            r#"{"rules":[{"fileid":"../a.png","rule":"imageMogr2/format/png"}]}"#,
            "dot-dot fileid",
        ),
        (
            r#"{"rules":[{"fileid":"a.png","rule":"imageMogr2/bogus/1"}]}"#,
            "unknown operation",
        ),
        (
            r#"{"rules":[{"fileid":"a.png","rule":"imageMogr2/thumbnail/999999x"}]}"#,
            "side over the parser's maximum",
        ),
        (
            r#"{"rules":[{"fileid":"a.png","rule":"imageInfo"}]}"#,
            "information rule",
        ),
        (r#"{"is_pic_info":2}"#, "is_pic_info 2"),
    ] {
        let r = put_pic(&s, &key, ops, &f1()).await;
        assert_eq!(r.status.as_u16(), 400, "{what}: {}", r.text());
        assert_eq!(r.cos_error(400, Some("-106")), "InvalidArgument");
        s.get(&key).await.expect(404);
        s.get(&format!("/{B}/a.png")).await.expect(404);
    }
    // An unknown style is -105 / 404, also before storing.
    let ops = r#"{"rules":[{"fileid":"a.png","rule":"style/nosuchstyle"}]}"#;
    let r = put_pic(&s, &key, ops, &f1()).await;
    assert_eq!(r.cos_error(404, Some("-105")), "NoSuchStyle");
    s.get(&key).await.expect(404);
}

#[tokio::test]
async fn style_rule() {
    let s = server().await;
    let body = "<AddStyle><StyleName>thumb</StyleName><StyleBody>imageMogr2/thumbnail/80x/format/png</StyleBody></AddStyle>";
    s.req("PUT", &format!("/{B}?style"), &[], body)
        .await
        .expect(200);
    let ops = r#"{"rules":[{"fileid":"styled.png","rule":"style/thumb"}]}"#;
    let r = put_pic(&s, &format!("/{B}/f1.jpg"), ops, &f1()).await;
    r.expect(200);
    check_output(
        &s,
        &elements(&r.text(), "Object")[0],
        B,
        "styled.png",
        "png",
        (80, 40),
    )
    .await;
    // The same style at download time, by separator (as docs/cos.md says).
    s.image_config(B, r#"{"separators":["-"]}"#)
        .await
        .expect(200);
    assert_eq!(s.get(&format!("/{B}/f1.jpg-thumb")).await.dims(), (80, 40));
    // A style written in another dialect works in a rule too.
    s.req(
        "PUT",
        &format!("/{B}?style&styleName=ossthumb"),
        &[],
        "<Style><Content>image/resize,w_60/format,png</Content></Style>",
    )
    .await
    .expect(200);
    let ops = r#"{"rules":[{"fileid":"oss.png","rule":"style/ossthumb"}]}"#;
    let r = put_pic(&s, &format!("/{B}/f1.jpg"), ops, &f1()).await;
    r.expect(200);
    check_output(
        &s,
        &elements(&r.text(), "Object")[0],
        B,
        "oss.png",
        "png",
        (60, 30),
    )
    .await;
}

#[tokio::test]
async fn failing_rule_keeps_the_original_and_writes_no_output() {
    let s = server().await;
    let src = f1();
    // The first rule is fine; the second asks for a 20 000 px wide output,
    // over the 9 999 px cap: only execution finds that out.
    let ops = r#"{"rules":[{"fileid":"ok.png","rule":"imageMogr2/format/png"},
                           {"fileid":"huge.jpg","rule":"imageMogr2/thumbnail/20000x"}]}"#
        .replace('\n', "");
    let r = put_pic(&s, &format!("/{B}/keep.jpg"), &ops, &src).await;
    assert_eq!(r.cos_error(400, Some("-442")), "InvalidArgument");
    let got = s.get(&format!("/{B}/keep.jpg")).await;
    got.expect(200);
    assert_eq!(got.body.as_ref(), src.as_slice());
    s.get(&format!("/{B}/ok.png")).await.expect(404);
    s.get(&format!("/{B}/huge.jpg")).await.expect(404);

    // A body that is no image: stored, the rule fails with -443.
    let ops = r#"{"rules":[{"fileid":"t.png","rule":"imageMogr2/format/png"}]}"#;
    let r = put_pic(
        &s,
        &format!("/{B}/notimage.jpg"),
        ops,
        b"hello, not an image",
    )
    .await;
    assert_eq!(r.cos_error(400, Some("-443")), "InvalidArgument");
    s.get(&format!("/{B}/notimage.jpg")).await.expect(200);
    s.get(&format!("/{B}/t.png")).await.expect(404);
}

#[tokio::test]
async fn body_over_the_cos_source_limit() {
    let cfg = ProcessingConfig {
        cos: LimitOverrides {
            max_source_bytes: Some(4096),
            ..Default::default()
        },
        ..Default::default()
    };
    let s = Server::with_processing(cfg).await;
    s.mb(B).await;
    let big = f9();
    assert!(big.len() > 4096);
    let ops = r#"{"rules":[{"fileid":"t.png","rule":"imageMogr2/format/png"}]}"#;
    let r = put_pic(&s, &format!("/{B}/big.jpg"), ops, &big).await;
    assert_eq!(r.cos_error(400, Some("-167")), "InvalidArgument");
    s.get(&format!("/{B}/big.jpg")).await.expect(404);
    // The same bytes as a multipart upload: refused at completion, before
    // anything is assembled, and the upload stays open.
    let (path, complete) = one_part_upload(&s, "mp.jpg", &big).await;
    let r = s
        .req("POST", &path, &[("pic-operations", ops)], complete.clone())
        .await;
    assert_eq!(r.cos_error(400, Some("-167")), "InvalidArgument");
    s.get(&format!("/{B}/mp.jpg")).await.expect(404);
    s.get(&format!("/{B}/t.png")).await.expect(404);
    s.req("POST", &path, &[], complete).await.expect(200);
    assert_eq!(
        s.get(&format!("/{B}/mp.jpg")).await.body.as_ref(),
        big.as_slice()
    );
    // Without the header the same body is a plain upload.
    s.upload(B, "big.jpg", &big, "image/jpeg").await;
    // In-cloud processing of it is refused by size too.
    let r = s
        .req(
            "POST",
            &format!("/{B}/big.jpg?image_process"),
            &[("pic-operations", ops)],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.cos_error(400, Some("-167")), "InvalidArgument");
    s.get(&format!("/{B}/t.png")).await.expect(404);
    // A small one goes through.
    let r = put_pic(
        &s,
        &format!("/{B}/small.png"),
        ops,
        &solid_png(20, 10, [9, 9, 9, 255]),
    )
    .await;
    r.expect(200);
    assert_eq!(s.get(&format!("/{B}/t.png")).await.dims(), (20, 10));
}

#[tokio::test]
async fn complete_multipart_upload_with_pic_operations() {
    let s = server().await;
    let src = f9();
    let (path, complete) = one_part_upload(&s, "mp/f9.jpg", &src).await;
    let ops = r#"{"is_pic_info":1,"rules":[{"fileid":"thumb.png","rule":"imageMogr2/thumbnail/200x/format/png"}]}"#;
    let r = s
        .req("POST", &path, &[("pic-operations", ops)], complete)
        .await;
    r.expect(200);
    let doc = r.text();
    let orig = x(&doc, "OriginalInfo");
    assert_eq!(x(&orig, "Key"), "mp/f9.jpg");
    let stored = s.get(&format!("/{B}/mp/f9.jpg")).await;
    assert_eq!(stored.body.as_ref(), src.as_slice());
    assert_eq!(x(&orig, "ETag"), stored.header("etag").unwrap());
    assert_eq!(x(&orig, "Width"), "400");
    check_output(
        &s,
        &elements(&doc, "Object")[0],
        B,
        "mp/thumb.png",
        "png",
        (200, 150),
    )
    .await;

    // A malformed header on Complete leaves the upload open.
    let (path, complete) = one_part_upload(&s, "mp/g.jpg", &src).await;
    let r = s
        .req("POST", &path, &[("pic-operations", "{")], complete.clone())
        .await;
    assert_eq!(r.cos_error(400, Some("-106")), "InvalidArgument");
    s.get(&format!("/{B}/mp/g.jpg")).await.expect(404);
    s.req("POST", &path, &[], complete).await.expect(200);
}

#[tokio::test]
async fn image_process_on_stored_objects() {
    let s = server().await;
    let src = f1();
    s.upload(B, "cloud/f1.jpg", &src, "image/jpeg").await;
    let ops = r#"{"is_pic_info":1,"rules":[{"fileid":"/cloud/out.png","rule":"imageMogr2/crop/100x50/gravity/center/format/png"}]}"#;
    let r = s
        .req(
            "POST",
            &format!("/{B}/cloud/f1.jpg?image_process"),
            &[("pic-operations", ops)],
            Bytes::new(),
        )
        .await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let doc = r.text();
    let orig = x(&doc, "OriginalInfo");
    assert_eq!(x(&orig, "Key"), "cloud/f1.jpg");
    assert_eq!(x(&orig, "ETag"), format!("\"{}\"", md5_hex(&src)));
    assert_eq!(x(&orig, "Format"), "JPEG");
    check_output(
        &s,
        &elements(&doc, "Object")[0],
        B,
        "cloud/out.png",
        "png",
        (100, 50),
    )
    .await;
    // The source is untouched.
    assert_eq!(
        s.get(&format!("/{B}/cloud/f1.jpg")).await.body.as_ref(),
        src.as_slice()
    );

    // A rule writing to the source's own key replaces it, and then
    // OriginalInfo reports the object now stored there: the result's ETag
    // (Tencent's 2025 revision), as the response's ETag header does.
    s.upload(B, "cloud/self.jpg", &src, "image/jpeg").await;
    let ops = r#"{"rules":[{"fileid":"self.jpg","rule":"imageMogr2/thumbnail/!50p"}]}"#;
    let r = s
        .req(
            "POST",
            &format!("/{B}/cloud/self.jpg?image_process"),
            &[("pic-operations", ops)],
            Bytes::new(),
        )
        .await;
    r.expect(200);
    let doc = r.text();
    let result_etag = x(&elements(&doc, "Object")[0], "ETag");
    assert_ne!(result_etag, format!("\"{}\"", md5_hex(&src)));
    assert_eq!(x(&x(&doc, "OriginalInfo"), "ETag"), result_etag);
    assert_eq!(r.header("etag"), Some(result_etag.as_str()));
    let stored = s.head(&format!("/{B}/cloud/self.jpg")).await;
    assert_eq!(stored.header("etag"), Some(result_etag.as_str()));
    assert_eq!(
        s.get(&format!("/{B}/cloud/self.jpg")).await.dims(),
        (200, 100)
    );

    // Missing object: 404 NoSuchKey, -6101.
    let r = s
        .req(
            "POST",
            &format!("/{B}/cloud/missing.jpg?image_process"),
            &[("pic-operations", ops)],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.cos_error(404, Some("-6101")), "NoSuchKey");
    // Without the header: 400 -106.
    let r = s
        .req(
            "POST",
            &format!("/{B}/cloud/f1.jpg?image_process"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.cos_error(400, Some("-106")), "InvalidArgument");
    // Anonymous: refused by the S3 layer.
    let r = s
        .anon(
            "POST",
            &format!("/{B}/cloud/f1.jpg?image_process"),
            &[("pic-operations", ops)],
            "",
        )
        .await;
    r.expect(403);
}

#[tokio::test]
async fn location_follows_a_cos_host() {
    let s = server().await;
    s.mb("otherbucket").await;
    // Virtual-host style with a COS host name (`<bucket>.cos.<region>.myqcloud.com`,
    // which the COS SDK always sends): locations keep that shape, for another
    // target bucket too.
    let host = format!("{B}.cos.ap-guangzhou.myqcloud.com");
    let ops = r#"{"rules":[{"fileid":"l.png","rule":"imageMogr2/format/png"},
                           {"bucket":"otherbucket","fileid":"/o.png","rule":"imageMogr2/format/png"}]}"#
        .replace('\n', "");
    let r = s
        .req(
            "PUT",
            "/loc.jpg",
            &[("pic-operations", &ops), ("host", &host)],
            Bytes::from(f4()),
        )
        .await;
    r.expect(200);
    let doc = r.text();
    assert_eq!(x(&doc, "Location"), format!("{host}/loc.jpg"));
    let objs = elements(&doc, "Object");
    assert_eq!(x(&objs[0], "Location"), format!("{host}/l.png"));
    assert_eq!(
        x(&objs[1], "Location"),
        "otherbucket.cos.ap-guangzhou.myqcloud.com/o.png"
    );
    s.get(&format!("/{B}/loc.jpg")).await.expect(200);
    s.get("/otherbucket/o.png").await.expect(200);
}
