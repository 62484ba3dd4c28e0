//! Alibaba OSS `x-oss-process` over HTTP: every documented example of
//! docs/oss-dialect.md against an in-process server, with the spec's fixtures.

use crate::common::*;
use crate::fixtures::*;
use crate::measure::avif_size;

const B: &str = "examplebucket";

fn p(key: &str, process: &str) -> String {
    format!("/{B}/{key}?x-oss-process={process}")
}

/// The size of `key` processed by `process`.
async fn dims(s: &Server, key: &str, process: &str) -> (u32, u32) {
    s.get(&p(key, process)).await.dims()
}

#[tokio::test]
async fn resize_modes_worked_example() {
    let s = Server::with_fixtures(B).await;
    s.upload(B, "s200.jpg", &jpeg(&halves(200, 100), 90), "image/jpeg")
        .await;
    for (mode, want) in [
        ("lfit", (150, 75)),
        ("mfit", (160, 80)),
        ("fill", (150, 80)),
        ("pad", (150, 80)),
        ("fixed", (150, 80)),
    ] {
        let r = s
            .get(&p("s200.jpg", &format!("image/resize,m_{mode},w_150,h_80")))
            .await;
        r.expect(200);
        assert_eq!(r.header("content-type"), Some("image/jpeg"), "{mode}");
        assert_eq!(r.dims(), want, "{mode}");
    }
    // pad: the 150×75 image is centred on white.
    let img = s
        .get(&p("s200.jpg", "image/resize,m_pad,w_150,h_80"))
        .await
        .image();
    assert!(near(*img.get_pixel(75, 0), WHITE, 24));
    // limit_1 (default) never enlarges; limit_0 does.
    assert_eq!(dims(&s, "f1.jpg", "image/resize,w_800").await, (400, 200));
    assert_eq!(
        dims(&s, "f1.jpg", "image/resize,w_800,limit_0").await,
        (800, 400)
    );
    // Percent.
    assert_eq!(dims(&s, "f1.jpg", "image/resize,p_50").await, (200, 100));
}

#[tokio::test]
async fn crop_gravity_and_outside_start() {
    let s = Server::with_fixtures(B).await;
    let r = s.get(&p("f1.jpg", "image/crop,w_100,h_50,g_se")).await;
    r.expect(200);
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 50));
    assert!(near(*img.get_pixel(50, 25), BLUE, 24));
    let img = s
        .get(&p("f1.jpg", "image/crop,w_100,h_50,g_nw"))
        .await
        .image();
    assert!(near(*img.get_pixel(50, 25), RED, 24));
    // A region running past the edge is clipped.
    assert_eq!(
        dims(&s, "f1.jpg", "image/crop,x_350,y_0,w_100,h_100").await,
        (50, 100)
    );
    let r = s.get(&p("f1.jpg", "image/crop,x_500,y_10,w_10,h_10")).await;
    r.oss_error(400, "BadRequest");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("Advance cut's position is out of image.")
    );
}

#[tokio::test]
async fn indexcrop_strip_and_out_of_range_source() {
    let s = Server::with_fixtures(B).await;
    let r = s.get(&p("f1.jpg", "image/indexcrop,x_100,i_3")).await;
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 200));
    assert!(near(*img.get_pixel(50, 100), BLUE, 24));
    // Index past the last strip: the source unchanged.
    let r = s.get(&p("f1.jpg", "image/indexcrop,x_100,i_10")).await;
    r.expect(200);
    assert_eq!(r.dims(), (400, 200));
    let r = s.get(&p("f1.jpg", "image/indexcrop,x_0,i_0")).await;
    r.oss_error(400, "InvalidArgument");
    assert_eq!(r.xml("EC").as_deref(), Some("0040-00000230"));
}

#[tokio::test]
async fn circle_white_on_jpeg_transparent_on_png() {
    let s = Server::with_fixtures(B).await;
    let r = s.get(&p("f4.jpg", "image/circle,r_40")).await;
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    let img = r.image();
    assert_eq!(img.dimensions(), (81, 81));
    assert!(near(*img.get_pixel(0, 0), WHITE, 24));
    assert!(near(*img.get_pixel(40, 40), BLUE, 24));
    let r = s.get(&p("f11.png", "image/circle,r_40")).await;
    assert_eq!(r.header("content-type"), Some("image/png"));
    let img = r.image();
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert!(near(*img.get_pixel(40, 40), [0, 128, 255, 255], 2));
    // r beyond half the short side: (short-1)/2.
    assert_eq!(dims(&s, "f4.jpg", "image/circle,r_500").await, (99, 99));
}

#[tokio::test]
async fn rotate_and_auto_orient_hoisting() {
    let s = Server::with_fixtures(B).await;
    assert_eq!(dims(&s, "f1.jpg", "image/rotate,90").await, (200, 400));
    // F3: stored 1000×600, orientation 6 → displayed 600×1000, red right.
    // auto-orient runs before the resize wherever it is written.
    let img = s
        .get(&p("f3.jpg", "image/resize,w_100/auto-orient,1"))
        .await
        .image();
    assert_eq!(img.dimensions(), (100, 167));
    assert!(near(*img.get_pixel(90, 80), RED, 40));
    assert!(near(*img.get_pixel(10, 80), BLUE, 40));
    // Without auto-orient the stored pixels are used.
    assert_eq!(dims(&s, "f3.jpg", "image/resize,w_100").await, (100, 60));
}

#[tokio::test]
async fn format_conversions_and_content_type() {
    let s = Server::with_fixtures(B).await;
    for (fmt, mime) in [
        ("png", "image/png"),
        ("webp", "image/webp"),
        ("bmp", "image/bmp"),
        ("jpg", "image/jpeg"),
        ("tiff", "image/tiff"),
    ] {
        let r = s.get(&p("f1.jpg", &format!("image/format,{fmt}"))).await;
        r.expect(200);
        assert_eq!(r.header("content-type"), Some(mime), "{fmt}");
        assert_eq!(r.dims(), (400, 200), "{fmt}");
    }
    // Transparency flattened onto white in JPEG.
    let r = s.get(&p("f2.png", "image/format,jpg")).await;
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert!(near(*r.image().get_pixel(150, 150), WHITE, 24));
    // format,gif on a non-GIF keeps the source format.
    let r = s.get(&p("f1.jpg", "image/format,gif")).await;
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    // A GIF stays animated through a resize.
    let r = s.get(&p("f5.gif", "image/resize,w_100")).await;
    assert_eq!(r.header("content-type"), Some("image/gif"));
    assert_eq!(gif_frames(&r.body), 10);
    // AVIF and HEIC are encoded, and read back as sources.
    let r = s.get(&p("f1.jpg", "image/resize,w_100/format,avif")).await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("image/avif"));
    assert_eq!(avif_size(&r.body), (100, 50));
    let r = s.get(&p("f1.jpg", "image/resize,w_100/format,heic")).await;
    r.expect_image("image/heic");
    s.upload(B, "out.heic", &r.body, "image/heic").await;
    let r = s.get(&p("out.heic", "image/resize,w_50/format,png")).await;
    r.expect_image("image/png");
    assert_eq!(r.dims(), (50, 25));
    let r = s.get(&p("out.heic", "image/info")).await;
    r.expect(200);
    assert_eq!(r.json()["Format"]["value"], "heic");
}

#[tokio::test]
async fn quality_and_interlace() {
    let s = Server::with_fixtures(B).await;
    let original = f1().len();
    let q30 = s.get(&p("f1.jpg", "image/quality,Q_30")).await;
    q30.expect(200);
    assert!(
        q30.body.len() < original,
        "{} !< {original}",
        q30.body.len()
    );
    let q95 = s.get(&p("f1.jpg", "image/quality,q_95")).await;
    assert!(q30.body.len() < q95.body.len());
    let r = s.get(&p("f1.jpg", "image/interlace,1")).await;
    assert!(is_progressive(&r.body));
    let r = s.get(&p("f1.jpg", "image/resize,w_100")).await;
    assert!(!is_progressive(&r.body));
}

#[tokio::test]
async fn info_and_average_hue_json() {
    let s = Server::with_fixtures(B).await;
    let r = s.get(&p("f1.jpg", "image/info")).await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    assert_eq!(j["ImageWidth"]["value"], "400");
    assert_eq!(j["ImageHeight"]["value"], "200");
    assert_eq!(j["Format"]["value"], "jpg");
    assert_eq!(j["FileSize"]["value"], f1().len().to_string());
    // EXIF tags are merged in.
    let j = s.get(&p("f3.jpg", "image/info")).await.json();
    assert_eq!(j["Orientation"]["value"], "6");
    let r = s.get(&p("f4.jpg", "image/average-hue")).await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let rgb = r.json()["RGB"].as_str().unwrap().to_string();
    let v = u32::from_str_radix(rgb.trim_start_matches("0x"), 16).unwrap();
    let (red, green, blue) = (v >> 16, (v >> 8) & 0xFF, v & 0xFF);
    assert!(red < 24 && green < 24 && blue > 230, "{rgb}");
    // info cannot be combined with other actions.
    s.get(&p("f1.jpg", "image/resize,w_100/info"))
        .await
        .oss_error(400, "InvalidArgument");
}

#[tokio::test]
async fn watermarks_image_and_text() {
    let s = Server::with_fixtures(B).await;
    // The 50×50 black logo at the bottom-right corner, 10 px margins.
    let wm = format!(
        "image/watermark,image_{},g_se,x_10,y_10",
        b64("wm/logo.png")
    );
    let r = s.get(&p("f11.png", &wm)).await;
    r.expect(200);
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 100));
    assert!(near(*img.get_pixel(60, 60), BLACK, 2));
    assert!(near(*img.get_pixel(20, 20), [0, 128, 255, 255], 2));
    // Text: some pixels become the text colour (red here).
    let wm = format!(
        "image/watermark,text_{},color_FF0000,size_40,g_center",
        b64("Hello")
    );
    let r = s.get(&p("f4.jpg", &wm)).await;
    r.expect(200);
    let img = r.image();
    let reddish = img
        .pixels()
        .filter(|px| px.0[0] > 150 && px.0[2] < 120)
        .count();
    assert!(reddish > 20, "no text drawn ({reddish} red pixels)");
    // A missing watermark object.
    let wm = format!("image/watermark,image_{}", b64("wm/none.png"));
    s.get(&p("f4.jpg", &wm))
        .await
        .oss_error(400, "WatermarkError");
}

#[tokio::test]
async fn errors_in_the_oss_envelope() {
    let s = Server::with_fixtures(B).await;
    let r = s.get(&p("f1.jpg", "image/slim,1")).await;
    r.oss_error(400, "InvalidArgument");
    assert_eq!(r.xml("EC").as_deref(), Some("0040-00000213"));
    assert!(r.xml("Message").unwrap().contains("slim"));
    s.get(&p("f1.jpg", "image/resize,w_0,h_0"))
        .await
        .oss_error(400, "InvalidArgument");
    let r = s.get(&p("f1.jpg", "image/watermark,text_%%%%")).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
    let r = s
        .get(&p("f1.jpg", "image/watermark,image_not*base64!"))
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
    s.get(&p("missing.jpg", "image/resize,w_10"))
        .await
        .oss_error(404, "NoSuchKey");
    s.get(&p("f1.jpg", "style/nostyle"))
        .await
        .oss_error(404, "NoSuchStyle");
    // sys/saveas in a GET.
    s.get(&p("f1.jpg", "image/resize,w_10|sys/saveas,o_b3V0"))
        .await
        .oss_error(400, "BadRequest");
    // A snapshot of an object that is no video: ffmpeg reads no frame.
    s.get(&p("f1.jpg", "video/snapshot,t_1000"))
        .await
        .oss_error(400, "InvalidArgument");
    // An empty process string.
    let r = s.get(&format!("/{B}/f1.jpg?x-oss-process=")).await;
    assert!(r.status.is_client_error(), "{}", r.text());
    // Not an image at all: a 4xx, never a 500.
    s.upload(B, "text.jpg", b"this is not a jpeg", "image/jpeg")
        .await;
    let r = s.get(&p("text.jpg", "image/resize,w_10")).await;
    r.oss_error(400, "InvalidArgument");
}

#[tokio::test]
async fn decompression_bomb_is_refused_and_the_server_keeps_serving() {
    let s = Server::with_fixtures(B).await;
    s.upload(B, "bomb.png", &png_bomb(60_000, 60_000), "image/png")
        .await;
    let r = s.get(&p("bomb.png", "image/resize,w_100")).await;
    r.oss_error(400, "ImageTooLarge");
    s.upload(B, "wide.png", &png_bomb(20_000, 20_000), "image/png")
        .await;
    // 400 Mpx: under the side limit, over 250 Mpx.
    s.get(&p("wide.png", "image/resize,w_100"))
        .await
        .oss_error(400, "ImageTooLarge");
    s.get(&p("f1.jpg", "image/resize,w_100")).await.expect(200);
}

#[tokio::test]
async fn source_over_the_byte_limit_is_refused_before_reading() {
    let mut cfg = imgbucket::config::ProcessingConfig::default();
    cfg.oss.max_source_bytes = Some(1000);
    let s = Server::with_processing(cfg).await;
    s.mb(B).await;
    s.upload(B, "f1.jpg", &f1(), "image/jpeg").await;
    let r = s.get(&p("f1.jpg", "image/resize,w_100")).await;
    r.oss_error(400, "ImageTooLarge");
    // The plain object is still served.
    s.get(&format!("/{B}/f1.jpg")).await.expect(200);
}

#[tokio::test]
async fn processed_etag_conditional_get_and_range_ignored() {
    processed_validators_on(Server::with_fixtures(B).await).await;
}

#[tokio::test]
async fn without_a_cache_the_same_validators_and_limits_hold() {
    // With the cache off, an unconditional request reads the source with
    // one GET and no HEAD; conditional ones still compare first.
    let no_cache = || imgbucket::config::ProcessingConfig {
        cache_bytes: 0,
        ..Default::default()
    };
    let s = Server::with_processing(no_cache()).await;
    s.mb(B).await;
    s.fixtures(B).await;
    processed_validators_on(s).await;
    let mut cfg = no_cache();
    cfg.oss.max_source_bytes = Some(1000);
    let s = Server::with_processing(cfg).await;
    s.mb(B).await;
    s.upload(B, "f1.jpg", &f1(), "image/jpeg").await;
    s.get(&p("f1.jpg", "image/resize,w_100"))
        .await
        .oss_error(400, "ImageTooLarge");
    s.get(&p("nope.jpg", "image/resize,w_100"))
        .await
        .oss_error(404, "NoSuchKey");
}

async fn processed_validators_on(s: Server) {
    let url = p("f1.jpg", "image/resize,w_100");
    let r = s.get(&url).await;
    r.expect(200);
    let etag = r.header("etag").unwrap().to_string();
    let plain = s.get(&format!("/{B}/f1.jpg")).await;
    assert_ne!(Some(etag.as_str()), plain.header("etag"));
    assert_eq!(etag.len(), 34);
    assert_eq!(r.header("last-modified"), plain.header("last-modified"));
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    // Same pipeline → same ETag; a different one → different.
    assert_eq!(s.get(&url).await.header("etag"), Some(etag.as_str()));
    let other = s.get(&p("f1.jpg", "image/resize,w_101")).await;
    assert_ne!(other.header("etag"), Some(etag.as_str()));
    // If-None-Match → 304 with the ETag.
    let r304 = s.get_h(&url, &[("if-none-match", &etag)]).await;
    r304.expect(304);
    assert!(r304.body.is_empty());
    assert_eq!(r304.header("etag"), Some(etag.as_str()));
    let lm = r.header("last-modified").unwrap().to_string();
    s.get_h(&url, &[("if-modified-since", &lm)])
        .await
        .expect(304);
    s.get_h(&url, &[("if-none-match", "\"other\"")])
        .await
        .expect(200);
    // HEAD answers the processed variant's headers, without a body.
    let head = s.req("HEAD", &url, &[], bytes::Bytes::new()).await;
    head.expect(200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    assert_eq!(head.header("content-length"), r.header("content-length"));
    assert_eq!(head.header("content-type"), Some("image/jpeg"));
    // Range is ignored: the whole image, 200.
    let ranged = s.get_h(&url, &[("range", "bytes=0-9")]).await;
    ranged.expect(200);
    assert_eq!(ranged.body, r.body);
    assert!(ranged.header("content-range").is_none());
    // A source overwrite changes the processed ETag.
    s.upload(B, "f1.jpg", &f9(), "image/jpeg").await;
    let after = s.get(&url).await;
    assert_ne!(after.header("etag"), Some(etag.as_str()));
    assert_eq!(after.dims(), (100, 75));
}

#[tokio::test]
async fn variants_are_cached_on_disk() {
    let s = Server::with_fixtures(B).await;
    let before = s.cache_files();
    let url = p("f1.jpg", "image/resize,w_120");
    let a = s.get(&url).await;
    assert_eq!(a.header("x-imgbucket-cache"), Some("miss"));
    assert_eq!(s.cache_files(), before + 1);
    let b = s.get(&url).await;
    assert_eq!(b.header("x-imgbucket-cache"), Some("hit"));
    assert_eq!(a.body, b.body);
    assert_eq!(a.header("etag"), b.header("etag"));
    assert_eq!(s.cache_files(), before + 1);
    // Concurrent identical requests: computed once, the others wait for it.
    let url = p("f9.jpg", "image/resize,w_77");
    let (x, y, z) = tokio::join!(s.get(&url), s.get(&url), s.get(&url));
    assert_eq!(x.body, y.body);
    assert_eq!(y.body, z.body);
    let misses = [&x, &y, &z]
        .iter()
        .filter(|r| r.header("x-imgbucket-cache") == Some("miss"))
        .count();
    assert_eq!(misses, 1);
    assert_eq!(s.cache_files(), before + 2);
    // A source overwrite is a new key: recomputed, never the stale variant.
    s.upload(B, "f9.jpg", &f1(), "image/jpeg").await;
    let r = s.get(&url).await;
    assert_eq!(r.header("x-imgbucket-cache"), Some("miss"));
    assert_eq!(r.dims(), (77, 39));
}

#[tokio::test]
async fn a_variant_held_in_memory_never_outlives_its_source() {
    // Small variants are also held in memory (`cache_memory_bytes`); the
    // key names the source version, so an overwrite or a delete must not
    // reach the old one there either.
    let s = Server::with_fixtures(B).await;
    s.upload(B, "hot.jpg", &f1(), "image/jpeg").await;
    let url = p("hot.jpg", "image/resize,w_100");
    let old = s.get(&url).await;
    assert_eq!(old.header("x-imgbucket-cache"), Some("miss"));
    assert_eq!(old.dims(), (100, 50));
    // Without its file, the hit can only have come from memory.
    let root = s.dir.path().join("cache");
    for shard in std::fs::read_dir(&root).unwrap().flatten() {
        if shard.file_name().len() == 2 {
            std::fs::remove_dir_all(shard.path()).unwrap();
        }
    }
    let hit = s.get(&url).await;
    assert_eq!(hit.header("x-imgbucket-cache"), Some("hit"));
    assert_eq!(hit.body, old.body);
    // Overwritten: computed again from the new source, although the old
    // variant is still in memory.
    s.upload(B, "hot.jpg", &f9(), "image/jpeg").await;
    let new = s.get(&url).await;
    assert_eq!(new.header("x-imgbucket-cache"), Some("miss"));
    assert_eq!(new.dims(), (100, 75));
    assert_ne!(new.header("etag"), old.header("etag"));
    let again = s.get(&url).await;
    assert_eq!(again.header("x-imgbucket-cache"), Some("hit"));
    assert_eq!(again.body, new.body);
    // Deleted: no variant of it is served.
    s.delete(&format!("/{B}/hot.jpg")).await.expect(204);
    s.get(&url).await.oss_error(404, "NoSuchKey");
}

#[tokio::test]
async fn anonymous_processing_on_public_read_bucket_only() {
    let s = Server::start().await;
    s.mb_public("pub-bucket").await;
    s.mb("priv-bucket").await;
    s.upload("pub-bucket", "f1.jpg", &f1(), "image/jpeg").await;
    s.upload("priv-bucket", "f1.jpg", &f1(), "image/jpeg").await;
    let r = s
        .anon_get("/pub-bucket/f1.jpg?x-oss-process=image/resize,w_100")
        .await;
    r.expect(200);
    assert_eq!(r.dims(), (100, 50));
    let r = s
        .anon_get("/priv-bucket/f1.jpg?x-oss-process=image/resize,w_100")
        .await;
    r.expect(403);
}

#[tokio::test]
async fn many_slow_requests_do_not_block_plain_requests() {
    let cfg = imgbucket::config::ProcessingConfig {
        concurrency: 1,
        cache_bytes: 0,
        ..Default::default()
    };
    let s = Server::with_processing(cfg).await;
    s.mb(B).await;
    s.upload(B, "big.png", &png(&halves(1200, 800)), "image/png")
        .await;
    s.upload(B, "small.txt", b"hello", "text/plain").await;
    let heavy = p("big.png", "image/blur,r_30,s_30");
    let started = std::time::Instant::now();
    let (a, b, plain) = tokio::join!(s.get(&heavy), s.get(&heavy), async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let r = s.get(&format!("/{B}/small.txt")).await;
        (r, started.elapsed())
    });
    a.expect(200);
    b.expect(200);
    plain.0.expect(200);
    let total = started.elapsed();
    assert!(
        plain.1 < total,
        "plain GET ({:?}) waited for processing ({total:?})",
        plain.1
    );
}

#[tokio::test]
async fn effects_shapes_and_their_refusals() {
    let s = Server::with_fixtures(B).await;
    let mean = |img: &image::RgbaImage| {
        img.pixels()
            .map(|p| p.0[0] as u64 + p.0[1] as u64 + p.0[2] as u64)
            .sum::<u64>()
            / (img.width() * img.height()) as u64
    };
    let base = s.get(&p("f1.jpg", "image/resize,w_100")).await.image();
    let bright = s
        .get(&p("f1.jpg", "image/resize,w_100/bright,50"))
        .await
        .image();
    assert!(mean(&bright) > mean(&base) + 30);
    let dark = s
        .get(&p("f1.jpg", "image/resize,w_100/bright,-50"))
        .await
        .image();
    assert!(mean(&dark) + 30 < mean(&base));
    for action in ["contrast,50", "sharpen,100", "blur,r_3,s_2"] {
        let r = s.get(&p("f1.jpg", &format!("image/{action}"))).await;
        r.expect(200);
        assert_eq!(r.dims(), (400, 200), "{action}");
    }
    // Rounded corners keep the size; corners transparent on PNG.
    let img = s
        .get(&p("f11.png", "image/rounded-corners,r_30"))
        .await
        .image();
    assert_eq!(img.dimensions(), (100, 100));
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(50, 50).0[3], 255);
    // ...but not on an animated GIF.
    let r = s.get(&p("f5.gif", "image/rounded-corners,r_30")).await;
    assert!(r.status.is_client_error(), "{}", r.text());
    // Arbitrary-angle rotate refuses sources over 4096 px.
    s.upload(B, "long.png", &png(&halves(4200, 8)), "image/png")
        .await;
    let r = s.get(&p("long.png", "image/rotate,45")).await;
    assert!(r.status.is_client_error(), "{}", r.text());
    assert_eq!(s.get(&p("f1.jpg", "image/rotate,45")).await.status, 200);
    // Watermark image with its own preprocessing (P_ = % of the main image).
    let mark = b64("wm/big.png?x-oss-process=image/resize,P_20");
    let r = s
        .get(&p(
            "f1.jpg",
            &format!("image/watermark,image_{mark},g_nw,x_0,y_0"),
        ))
        .await;
    r.expect(200);
    let img = r.image();
    assert!(near(*img.get_pixel(10, 10), BLACK, 40));
    assert!(near(*img.get_pixel(150, 150), RED, 40));
}

#[tokio::test]
async fn cache_stays_within_its_bound() {
    let cfg = imgbucket::config::ProcessingConfig {
        cache_bytes: 40_000,
        ..Default::default()
    };
    let s = Server::with_processing(cfg).await;
    s.mb(B).await;
    s.upload(B, "f6.png", &f6(), "image/png").await;
    for w in 100..120 {
        s.get(&p("f6.png", &format!("image/resize,w_{w}/format,bmp")))
            .await
            .expect(200);
    }
    let mut total = 0;
    let root = s.dir.path().join("cache");
    for shard in std::fs::read_dir(&root).unwrap().flatten() {
        if shard.file_name().len() == 2 {
            for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
                total += f.metadata().unwrap().len();
            }
        }
    }
    assert!(total > 0 && total <= 40_000, "cache holds {total} bytes");
    // The most recent variant is still cached.
    let r = s.get(&p("f6.png", "image/resize,w_119/format,bmp")).await;
    assert_eq!(r.header("x-imgbucket-cache"), Some("hit"));
}
