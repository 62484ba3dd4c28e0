//! Tencent COS/CI download-time processing conformance over real HTTP:
//! every imageMogr2 operation of docs/cos-dialect.md, imageView2 modes,
//! watermark/1 and /2, the information processors' exact JSON (§2.6),
//! pipelines, percent-encoded syntax, COS-signed URLs, and the XML error
//! envelope with `X-ErrNo` (§2.9), measured as measure.rs does.

use crate::common::*;
use crate::fixtures::*;
use crate::measure::*;
use image::Rgba;

const B: &str = "examplebucket-1250000000";
const ORIGIN: &str = "http://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com";

/// PNG 400×300: F6's halves, plus a 10 px green frame on the right and
/// bottom edges (to see crop margins).
fn framed_png() -> Vec<u8> {
    png(&image::RgbaImage::from_fn(400, 300, |x, y| {
        if x >= 390 || y >= 290 {
            Rgba(GREEN)
        } else if x < 200 {
            Rgba(RED)
        } else {
            Rgba(BLUE)
        }
    }))
}

/// The colour ramp: red rises, blue falls along x, green along y.
fn ramp() -> Vec<u8> {
    ramp_png(|v, y| [v, (y * 2) as u8, 255 - v, 255])
}

/// A noisy photo-like JPEG 1000×500 at quality 85 (compresses badly, so
/// size limits bite).
fn noisy_jpg() -> Vec<u8> {
    let mut rng = Rng::new(12345);
    let img = image::RgbaImage::from_fn(1000, 500, |x, y| {
        let n = rng.byte() / 4;
        Rgba([
            (x / 4) as u8 ^ n,
            (y / 2) as u8 ^ n,
            ((x + y) / 6) as u8 ^ n,
            255,
        ])
    });
    jpeg(&img, 85)
}

async fn server() -> Server {
    let s = Server::with_fixtures(B).await;
    s.upload(B, "f7.jpg", &f7(), "image/jpeg").await;
    s.upload(B, "f10.jpg", &with_icc(&f10()), "image/jpeg")
        .await;
    s.upload(B, "f12.gif", &gif_anim(100, 100, 40), "image/gif")
        .await;
    s.upload(B, "framed.png", &framed_png(), "image/png").await;
    s.upload(B, "soft.png", &soft_edge_png(), "image/png").await;
    s.upload(B, "ramp.png", &ramp(), "image/png").await;
    s.upload(B, "noisy.jpg", &noisy_jpg(), "image/jpeg").await;
    s.upload(B, "white.jpg", &white_jpg(), "image/jpeg").await;
    s
}

async fn get(s: &Server, key: &str, processing: &str) -> Resp {
    s.get(&format!("/{B}/{key}?{processing}")).await
}

/// Asserts that `key` processed by `<prefix><bad>` is the -106 syntax
/// error (COS envelope), for each `bad`.
async fn malformed(s: &Server, key: &str, prefix: &str, bads: &[impl AsRef<str>]) {
    for bad in bads {
        let q = format!("{prefix}{}", bad.as_ref());
        get(s, key, &q).await.cos_error(400, Some("-106"));
    }
}

#[tokio::test]
async fn thumbnail_geometries_exact_sizes() {
    let s = server().await;
    // F9 400×300; Tencent rounds to nearest.
    let table: &[(&str, (u32, u32))] = &[
        ("!50p", (200, 150)),
        ("!33p", (132, 99)),
        ("!50.5p", (202, 152)),
        ("!150p", (600, 450)),
        ("!50px", (200, 300)),
        ("!x50p", (400, 150)),
        ("200x", (200, 150)),
        ("101x", (101, 76)),
        ("x150", (200, 150)),
        ("100x100", (100, 75)),
        ("800x800", (800, 600)),
        ("100x100%3E", (100, 75)),
        ("1000x1000%3E", (400, 300)),
        ("1000x1000%3C", (1000, 750)),
        ("100x100%3C", (400, 300)),
        ("!100x100r", (133, 100)),
        ("!100x200r", (267, 200)),
        ("100x100!", (100, 100)),
        ("100x100%21", (100, 100)),
        ("10000@", (115, 86)),
        ("120000@", (400, 300)),
    ];
    for (key, ct) in [("f9.jpg", "image/jpeg"), ("f6.png", "image/png")] {
        for (g, want) in table {
            let r = get(&s, key, &format!("imageMogr2/thumbnail/{g}")).await;
            r.expect_image(ct);
            assert_eq!(r.dims(), *want, "{key} thumbnail/{g}");
        }
    }
    // Animated images keep their frames through a thumbnail.
    let r = get(&s, "f5.gif", "imageMogr2/thumbnail/!50p").await;
    r.expect_image("image/gif");
    assert_eq!(r.dims(), (100, 50));
    assert_eq!(gif_frames(&r.body), 10);
    // Output sides over 9 999: -442 (-447 is the source's resolution).
    let r = get(&s, "f9.jpg", "imageMogr2/thumbnail/10000x").await;
    r.cos_error(400, Some("-442"));
    malformed(
        &s,
        "f9.jpg",
        "imageMogr2/thumbnail/",
        &[
            "abc",
            "0x0",
            "!0p",
            "!1001p",
            "x",
            "100x100z",
            "100x100!r",
            "-5x",
        ],
    )
    .await;
}

/// docs/cos-dialect.md [T-scale-zh-2025]: "animated images are never
/// enlarged" (the executor's rule: only it knows the source is animated).
#[tokio::test]
async fn animated_never_enlarged() {
    let s = server().await;
    let r = get(&s, "f5.gif", "imageMogr2/thumbnail/!200p").await;
    r.expect_image("image/gif");
    assert_eq!(r.dims(), (200, 100));
    assert_eq!(gif_frames(&r.body), 10);
}

#[tokio::test]
async fn pad_and_colour() {
    let s = server().await;
    let r = get(
        &s,
        "f6.png",
        &format!(
            "imageMogr2/thumbnail/100x100/pad/1/color/{}",
            b64("#00FF00")
        ),
    )
    .await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 100));
    assert!(near(*img.get_pixel(50, 2), GREEN, 2));
    assert!(near(*img.get_pixel(50, 97), GREEN, 2));
    assert!(near(*img.get_pixel(10, 50), RED, 2));
    assert!(near(*img.get_pixel(90, 50), BLUE, 2));
    // Padded base64 and the default (white).
    let img = get(
        &s,
        "f6.png",
        "imageMogr2/thumbnail/100x100/pad/1/color/IzAwRkYwMA==",
    )
    .await
    .image();
    assert!(near(*img.get_pixel(50, 2), GREEN, 2));
    let img = get(&s, "f6.png", "imageMogr2/thumbnail/100x100/pad/1")
        .await
        .image();
    assert!(near(*img.get_pixel(50, 2), WHITE, 2));
    // Shrink-only with pad: the canvas is still W×H.
    let img = get(&s, "f6.png", "imageMogr2/thumbnail/50x100%3E/pad/1")
        .await
        .image();
    assert_eq!(img.dimensions(), (50, 100));
    malformed(
        &s,
        "f6.png",
        "imageMogr2/",
        &[
            "thumbnail/100x/pad/1".to_string(),
            "thumbnail/100x100/pad/2".to_string(),
            "thumbnail/100x100/pad/1/color/notb64!".to_string(),
            format!("thumbnail/100x100/pad/1/color/{}", b64("green")),
            "pad/1".to_string(),
        ],
    )
    .await;
}

#[tokio::test]
async fn cut_crop_gravity_offsets() {
    let s = server().await;
    let all = |img: &image::RgbaImage, c: [u8; 4]| img.pixels().all(|p| near(*p, c, 2));
    let r = get(&s, "framed.png", "imageMogr2/cut/100x50x250x10").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 50));
    assert!(all(&img, BLUE));
    let img = get(&s, "framed.png", "imageMogr2/cut/100x50x150x0")
        .await
        .image();
    assert!(near(*img.get_pixel(49, 5), RED, 2) && near(*img.get_pixel(50, 5), BLUE, 2));
    // Tencent's values lie within the source: a cut running past the edge
    // is refused, not clipped, and so is a start outside (the other
    // dialects clip); a cut reaching the edge exactly is fine.
    get(&s, "framed.png", "imageMogr2/cut/300x300x300x200")
        .await
        .cos_error(400, Some("-106"));
    get(&s, "framed.png", "imageMogr2/cut/10x10x500x0")
        .await
        .cos_error(400, Some("-106"));
    assert_eq!(
        get(&s, "framed.png", "imageMogr2/cut/100x100x300x200")
            .await
            .dims(),
        (100, 100)
    );
    // A crop larger than the source, or pushed past its edge, likewise.
    get(&s, "framed.png", "imageMogr2/crop/500x")
        .await
        .cos_error(400, Some("-106"));
    get(&s, "framed.png", "imageMogr2/crop/100x100/dx/350")
        .await
        .cos_error(400, Some("-106"));
    // crop with one side keeps the other; default gravity north-west.
    assert_eq!(
        get(&s, "framed.png", "imageMogr2/crop/200x").await.dims(),
        (200, 300)
    );
    assert_eq!(
        get(&s, "framed.png", "imageMogr2/crop/x100").await.dims(),
        (400, 100)
    );
    assert!(all(
        &get(&s, "framed.png", "imageMogr2/crop/100x100")
            .await
            .image(),
        RED
    ));
    // South-east touches the green frame; dx/dy move inward past it.
    let img = get(&s, "framed.png", "imageMogr2/crop/100x50/gravity/southeast")
        .await
        .image();
    assert_eq!(img.dimensions(), (100, 50));
    assert!(near(*img.get_pixel(99, 20), GREEN, 2));
    assert!(near(*img.get_pixel(50, 49), GREEN, 2));
    let img = get(
        &s,
        "framed.png",
        "imageMogr2/crop/100x50/gravity/SouthEast/dx/10/dy/10",
    )
    .await
    .image();
    assert!(all(&img, BLUE));
    // Centre ignores dx/dy; north/south ignore dx; west/east ignore dy.
    let centre = get(&s, "framed.png", "imageMogr2/crop/100x100/gravity/center")
        .await
        .image();
    let centre_dx = get(
        &s,
        "framed.png",
        "imageMogr2/crop/100x100/gravity/center/dx/50/dy/50",
    )
    .await
    .image();
    assert_eq!(centre, centre_dx);
    assert!(near(*centre.get_pixel(49, 50), RED, 2));
    assert!(near(*centre.get_pixel(50, 50), BLUE, 2));
    let south = get(
        &s,
        "framed.png",
        "imageMogr2/crop/100x20/gravity/south/dx/80",
    )
    .await
    .image();
    assert!(near(*south.get_pixel(49, 19), GREEN, 2));
    assert!(near(*south.get_pixel(49, 5), RED, 2));
    let east = get(
        &s,
        "framed.png",
        "imageMogr2/crop/20x100/gravity/east/dy/80",
    )
    .await
    .image();
    assert!(near(*east.get_pixel(19, 50), GREEN, 2));
    let west = get(
        &s,
        "framed.png",
        "imageMogr2/crop/20x100/gravity/west/dx/20",
    )
    .await
    .image();
    assert!(all(&west, RED));
    malformed(
        &s,
        "framed.png",
        "imageMogr2/",
        &[
            "crop/100x100/gravity/middle",
            "crop/0x100",
            "crop/axb",
            "gravity/center",
            "crop/100x100/dx/-1",
            "cut/100x100x0",
            "cut/0x10x0x0",
        ],
    )
    .await;
}

#[tokio::test]
async fn iradius_rradius_scrop() {
    let s = server().await;
    let r = get(&s, "f6.png", "imageMogr2/iradius/50").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 100));
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(50, 50).0[3], 255);
    let img = get(&s, "f9.jpg", "imageMogr2/iradius/50").await.image();
    assert_eq!(img.dimensions(), (100, 100));
    assert!(near(*img.get_pixel(1, 1), WHITE, 24));
    let r = get(&s, "f6.png", "imageMogr2/rradius/60").await;
    let img = r.image();
    assert_eq!(img.dimensions(), (400, 300));
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(399, 0).0[3], 0);
    assert_eq!(img.get_pixel(200, 150).0[3], 255);
    let img = get(&s, "f9.jpg", "imageMogr2/rradius/60").await.image();
    assert!(near(*img.get_pixel(1, 1), WHITE, 24));
    // Not for GIF, iradius neither (even a radius that would fit).
    let r = get(&s, "f5.gif", "imageMogr2/rradius/20").await;
    r.cos_error(400, Some("-443"));
    let r = get(&s, "f5.gif", "imageMogr2/iradius/20").await;
    r.cos_error(400, Some("-443"));
    // 0 < r < short side / 2: on the 400×300 source, 149 works, 150 is
    // refused (the others clamp it).
    get(&s, "f9.jpg", "imageMogr2/iradius/149")
        .await
        .expect_image("image/jpeg");
    for q in [
        "imageMogr2/iradius/150",
        "imageMogr2/rradius/150",
        "imageMogr2/rradius/400",
    ] {
        let r = get(&s, "f9.jpg", q).await;
        r.cos_error(400, Some("-443"));
        assert!(
            r.text().contains("half the short side"),
            "{q}: {}",
            r.text()
        );
    }
    // scrop: no face found → the source.
    let r = get(&s, "f9.jpg", "imageMogr2/scrop/100x100").await;
    r.expect_image("image/jpeg");
    assert_eq!(r.dims(), (400, 300));
    malformed(
        &s,
        "f9.jpg",
        "imageMogr2/",
        &[
            "iradius/0",
            "iradius/x",
            "rradius/-1",
            "scrop/100x",
            "scrop/abc",
        ],
    )
    .await;
}

#[tokio::test]
async fn rotate_auto_orient_flip() {
    let s = server().await;
    let img = get(&s, "f6.png", "imageMogr2/rotate/90").await.image();
    assert_eq!(img.dimensions(), (300, 400));
    assert!(near(*img.get_pixel(150, 10), RED, 2));
    let (w, h) = get(&s, "f6.png", "imageMogr2/rotate/30").await.dims();
    // 400·cos30 + 300·sin30 = 496.4, 400·sin30 + 300·cos30 = 459.8.
    assert!(
        (495..=498).contains(&w) && (458..=461).contains(&h),
        "{w}x{h}"
    );
    let img = get(&s, "f3.jpg", "imageMogr2/auto-orient").await.image();
    assert_eq!(img.dimensions(), (600, 1000));
    assert!(near(*img.get_pixel(450, 500), RED, 24));
    assert_eq!(
        get(&s, "f3.jpg", "imageMogr2/thumbnail/!50p").await.dims(),
        (500, 300)
    );
    assert_eq!(
        get(&s, "f3.jpg", "imageMogr2/auto-orient/thumbnail/300x")
            .await
            .dims(),
        (300, 500)
    );
    let img = get(&s, "f6.png", "imageMogr2/flip/horizontal")
        .await
        .image();
    assert!(near(*img.get_pixel(10, 10), BLUE, 2));
    let img = get(&s, "framed.png", "imageMogr2/flip/vertical")
        .await
        .image();
    assert!(near(*img.get_pixel(10, 5), GREEN, 2));
    assert!(near(*img.get_pixel(10, 295), RED, 2));
    malformed(
        &s,
        "f6.png",
        "imageMogr2/",
        &["rotate/361", "rotate/-1", "flip/diagonal", "rotate"],
    )
    .await;
}

#[tokio::test]
async fn format_cgif_interlace() {
    let s = server().await;
    for (f, ct, fmt) in [
        ("jpg", "image/jpeg", image::ImageFormat::Jpeg),
        ("yjpeg", "image/jpeg", image::ImageFormat::Jpeg),
        ("png", "image/png", image::ImageFormat::Png),
        ("webp", "image/webp", image::ImageFormat::WebP),
        ("bmp", "image/bmp", image::ImageFormat::Bmp),
        ("gif", "image/gif", image::ImageFormat::Gif),
    ] {
        let r = get(&s, "f9.jpg", &format!("imageMogr2/format/{f}")).await;
        r.expect_image(ct);
        assert_eq!(image::guess_format(&r.body).unwrap(), fmt, "{f}");
        assert_eq!(r.dims(), (400, 300));
    }
    // Transparent → white when writing JPEG.
    let img = get(&s, "f2.png", "imageMogr2/format/jpg").await.image();
    assert!(near(*img.get_pixel(150, 150), WHITE, 24));
    // Animated GIF → WebP keeps the animation (animated formats interconvert).
    let r = get(&s, "f5.gif", "imageMogr2/format/webp").await;
    r.expect_image("image/webp");
    // AVIF is encoded (no decoder here: the container's size is checked).
    let r = get(&s, "f9.jpg", "imageMogr2/thumbnail/200x/format/avif").await;
    r.expect_image("image/avif");
    assert_eq!(avif_size(&r.body), (200, 150));
    // HEIF is encoded (x265 through libheif) and reads back.
    let r = get(&s, "f9.jpg", "imageMogr2/thumbnail/200x/format/heif").await;
    r.expect_image("image/heic");
    s.upload(B, "out.heif", &r.body, "image/heic").await;
    let r = get(&s, "out.heif", "imageMogr2/format/png").await;
    r.expect_image("image/png");
    assert_eq!(r.dims(), (200, 150));
    for f in ["tpg"] {
        let r = get(&s, "f9.jpg", &format!("imageMogr2/format/{f}")).await;
        r.cos_error(501, r.header("x-errno"));
        assert_eq!(
            xml_text(&r.text(), "Code").as_deref(),
            Some("NotImplemented")
        );
    }
    get(&s, "f9.jpg", "imageMogr2/format/tiff")
        .await
        .cos_error(400, Some("-106"));
    // cgif: frame reduction.
    let r = get(&s, "f5.gif", "imageMogr2/cgif/5").await;
    r.expect_image("image/gif");
    assert_eq!(gif_frames(&r.body), 5);
    assert_eq!(
        gif_frames(&get(&s, "f5.gif", "imageMogr2/cgif/100").await.body),
        10
    );
    assert_eq!(
        gif_frames(&get(&s, "f12.gif", "imageMogr2/cgif/1").await.body),
        30
    );
    assert_eq!(
        gif_frames(&get(&s, "f12.gif", "imageMogr2/cgif/20").await.body),
        20
    );
    malformed(&s, "f5.gif", "imageMogr2/", &["cgif/0", "cgif/101"]).await;
    // interlace: SOF2 and no SOF0; ignored for PNG output.
    let r = get(&s, "f9.jpg", "imageMogr2/interlace/1").await;
    r.expect_image("image/jpeg");
    assert!(is_progressive(&r.body));
    let r = get(&s, "f6.png", "imageMogr2/format/jpg/interlace/1").await;
    assert!(is_progressive(&r.body));
    let r = get(&s, "f6.png", "imageMogr2/interlace/1").await;
    r.expect_image("image/png");
    let r = get(&s, "f9.jpg", "imageMogr2/interlace/0/rotate/90").await;
    assert!(!is_progressive(&r.body));
    get(&s, "f9.jpg", "imageMogr2/interlace/2")
        .await
        .cos_error(400, Some("-106"));
}

#[tokio::test]
async fn quality_rquality_lquality() {
    let s = server().await;
    let q = |r: &Resp| jpeg_quality(&r.body);
    assert_eq!(jpeg_quality(&f9()), 90);
    let cases: &[(&str, u32)] = &[
        // absolute: min(source 90, value); `!` forces.
        ("quality/50", 50),
        ("quality/95", 90),
        ("quality/95!", 95),
        ("quality/95%21", 95),
        ("quality/30!", 30),
        // relative: 90 × 50 % = 45.
        ("rquality/50", 45),
        ("rquality/100", 90),
        // floor: max(source 90, value).
        ("lquality/80", 90),
        ("lquality/95", 95),
        // the last quality wins.
        ("quality/50/rquality/50", 45),
    ];
    for (op, want) in cases {
        let r = get(&s, "f9.jpg", &format!("imageMogr2/{op}")).await;
        r.expect_image("image/jpeg");
        let got = q(&r);
        assert!(got.abs_diff(*want) <= 1, "{op}: quality {got}, want {want}");
    }
    // imageView2's q/rq/lq.
    for (op, want) in [("q/50", 50), ("q/95!", 95), ("rq/50", 45), ("lq/95", 95)] {
        let r = get(&s, "f9.jpg", &format!("imageView2/2/w/400/{op}")).await;
        let got = q(&r);
        assert!(got.abs_diff(want) <= 1, "imageView2 {op}: {got}");
    }
    // WebP output accepts quality; PNG ignores it.
    get(&s, "f9.jpg", "imageMogr2/format/webp/quality/50")
        .await
        .expect_image("image/webp");
    get(&s, "f6.png", "imageMogr2/quality/50")
        .await
        .expect_image("image/png");
    malformed(
        &s,
        "f9.jpg",
        "imageMogr2/",
        &[
            "quality/101",
            "quality/-1",
            "rquality/abc",
            "lquality/101",
            "quality/50!!",
        ],
    )
    .await;
}

#[tokio::test]
async fn effects_blur_bright_contrast_sharpen_grayscale() {
    let s = server().await;
    let img = get(&s, "f6.png", "imageMogr2/blur/8x5").await.image();
    assert_eq!(img.dimensions(), (400, 300));
    let p = img.get_pixel(199, 150).0;
    assert!(p[0] < 250 && p[2] > 5, "{p:?}");
    assert!(near(*img.get_pixel(20, 150), RED, 2));
    get(&s, "f6.png", "imageMogr2/blur/1x0.5").await.expect(200);
    let base = decode(&ramp());
    let (m0, sd0) = (mean_luma(&base), luma_std(&base));
    let up = mean_luma(&get(&s, "ramp.png", "imageMogr2/bright/50").await.image());
    let down = mean_luma(&get(&s, "ramp.png", "imageMogr2/bright/-50").await.image());
    assert!(up > m0 + 10.0 && down < m0 - 10.0, "{down} {m0} {up}");
    let more = luma_std(&get(&s, "ramp.png", "imageMogr2/contrast/50").await.image());
    let less = luma_std(&get(&s, "ramp.png", "imageMogr2/contrast/-50").await.image());
    assert!(more > sd0 * 1.1 && less < sd0 * 0.9, "{less} {sd0} {more}");
    // Tencent's ±100 is not UCloud's flood: the image keeps some structure.
    let img = get(&s, "ramp.png", "imageMogr2/bright/100").await.image();
    assert!(mean_luma(&img) > m0);
    let img = get(&s, "soft.png", "imageMogr2/sharpen/200").await.image();
    let row: Vec<u8> = (0..200).map(|x| img.get_pixel(x, 50).0[0]).collect();
    assert!(
        row.iter().min().unwrap() < &60 && row.iter().max().unwrap() > &196,
        "{row:?}"
    );
    // grayscale: R = G = B everywhere (PNG, exact).
    let r = get(&s, "ramp.png", "imageMogr2/grayscale/1").await;
    r.expect_image("image/png");
    assert!(r
        .image()
        .pixels()
        .all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
    let img = get(&s, "ramp.png", "imageMogr2/grayscale/0").await.image();
    assert_eq!(img, base);
    malformed(
        &s,
        "ramp.png",
        "imageMogr2/",
        &[
            "blur/0x1",
            "blur/51x1",
            "blur/5",
            "blur/5x0",
            "bright/101",
            "contrast/-101",
            "sharpen/9",
            "sharpen/301",
            "grayscale/2",
        ],
    )
    .await;
}

#[tokio::test]
async fn strip_size_limit_ignore_error() {
    let s = server().await;
    let src = with_icc(&f10());
    assert!(jpeg_has_exif(&src) && jpeg_has_icc(&src));
    let r = get(&s, "f10.jpg", "imageMogr2/strip").await;
    r.expect_image("image/jpeg");
    assert!(!jpeg_has_exif(&r.body) && !jpeg_has_icc(&r.body));
    assert_eq!(r.dims(), (640, 427));
    let r = get(&s, "f10.jpg", "imageMogr2/thumbnail/320x/strip").await;
    assert!(!jpeg_has_exif(&r.body) && !jpeg_has_icc(&r.body));
    // Without strip the metadata survives processing.
    let r = get(&s, "f10.jpg", "imageMogr2/thumbnail/320x").await;
    assert!(jpeg_has_exif(&r.body), "EXIF dropped without strip");
    // size-limit: output ≤ N KB.
    let noisy = noisy_jpg();
    for n in [30u64, 60, 120] {
        let r = get(&s, "noisy.jpg", &format!("imageMogr2/size-limit/{n}k")).await;
        r.expect_image("image/jpeg");
        assert!(
            r.body.len() as u64 <= n * 1024,
            "{n}k: {} bytes (source {})",
            r.body.len(),
            noisy.len()
        );
        assert_eq!(r.dims(), (1000, 500));
    }
    let r = get(&s, "noisy.jpg", "imageMogr2/size-limit/1m").await;
    assert!(r.body.len() <= 1024 * 1024);
    // `!`: never larger than the source.
    for n in ["30k!", "30k%21", "100000k!"] {
        let r = get(&s, "noisy.jpg", &format!("imageMogr2/size-limit/{n}")).await;
        r.expect_image("image/jpeg");
        assert!(r.body.len() <= noisy.len(), "{n}");
    }
    malformed(
        &s,
        "noisy.jpg",
        "imageMogr2/",
        &[
            "size-limit/0k",
            "size-limit/10",
            "size-limit/10g",
            "size-limit/k",
        ],
    )
    .await;
    // ignore-error/1: an over-limit request answers the source.
    for q in [
        "imageMogr2/thumbnail/12000x/ignore-error/1",
        "imageMogr2/ignore-error/1/thumbnail/10000x",
    ] {
        let r = get(&s, "f9.jpg", q).await;
        r.expect_image("image/jpeg");
        assert_eq!(r.dims(), (400, 300), "{q}");
        assert_eq!(&r.body[..], &f9()[..], "{q}");
    }
    // Without it: -442. Syntax errors are not forgiven.
    get(&s, "f9.jpg", "imageMogr2/thumbnail/12000x")
        .await
        .cos_error(400, Some("-442"));
    get(&s, "f9.jpg", "imageMogr2/thumbnail/abc/ignore-error/1")
        .await
        .cos_error(400, Some("-106"));
}

#[tokio::test]
async fn imageview2_modes() {
    let s = server().await;
    for (q, want) in [
        ("imageView2/1/w/500/h/400", (500, 400)),
        ("imageView2/1/w/200", (200, 200)),
        ("imageView2/2/w/500/h/400", (500, 250)),
        ("imageView2/2/w/500", (500, 250)),
        ("imageView2/2/h/100", (200, 100)),
        ("imageView2/3/w/500/h/400", (800, 400)),
        ("imageView2/3/w/200", (400, 200)),
        ("imageView2/4/w/400/h/300", (600, 300)),
        // One value stands for both edges: short ≥ 400 binds.
        ("imageView2/4/w/400", (800, 400)),
        ("imageView2/5/w/500/h/400", (500, 400)),
        ("imageView2/5/w/300", (300, 300)),
        ("imageView2/5/h/200", (200, 200)),
    ] {
        let r = get(&s, "f7.jpg", q).await;
        r.expect_image("image/jpeg");
        assert_eq!(r.dims(), want, "{q}");
    }
    let r = get(&s, "f7.jpg", "imageView2/1/w/100/h/100/format/png").await;
    r.expect_image("image/png");
    assert_eq!(r.dims(), (100, 100));
    // Mode 1 crops the centre: both halves survive.
    let img = r.image();
    assert!(near(*img.get_pixel(5, 50), RED, 2));
    assert!(near(*img.get_pixel(95, 50), BLUE, 2));
    // Mode 5 on the landscape source: cover 500×400 (800×400), centre
    // crop x 150..650, so the red/blue edge sits at x = 250.
    let r = get(&s, "f7.jpg", "imageView2/5/w/500/h/400/format/png").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (500, 400));
    assert!(near(*img.get_pixel(240, 200), RED, 2));
    assert!(near(*img.get_pixel(260, 200), BLUE, 2));
    // The same request on a portrait source turns the box: 400×500, the
    // red/blue edge (top/bottom) at y = 250.
    let portrait = image::imageops::rotate90(&halves(1000, 500));
    s.upload(B, "f7p.png", &png(&portrait), "image/png").await;
    let r = get(&s, "f7p.png", "imageView2/5/w/500/h/400").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (400, 500));
    assert!(near(*img.get_pixel(200, 240), RED, 2));
    assert!(near(*img.get_pixel(200, 260), BLUE, 2));
    let r = get(&s, "f7p.png", "imageView2/4/w/500/h/400").await;
    assert_eq!(r.dims(), (400, 800));
    malformed(
        &s,
        "f7.jpg",
        "",
        &[
            "imageView2/6/w/100",
            "imageView2/0/w/100",
            "imageView2/2",
            "imageView2/5",
            "imageView2/5/w/0",
            "imageView2/2/w/100/format/tiff",
            "imageView2/2/w/100/x/1",
        ],
    )
    .await;
}

#[tokio::test]
async fn watermark_image() {
    let s = server().await;
    let url = b64(&format!("{ORIGIN}/wm/logo.png"));
    // Defaults: south-east, no margin, dissolve 90 (~ 10 % white through).
    let r = get(&s, "white.jpg", &format!("watermark/1/image/{url}")).await;
    r.expect_image("image/jpeg");
    let img = r.image();
    let p = img.get_pixel(375, 275).0;
    assert!((10..=50).contains(&p[0]), "{p:?}");
    assert!(near(*img.get_pixel(340, 240), WHITE, 24));
    // gravity + dx/dy, dissolve 100.
    let img = get(
        &s,
        "white.jpg",
        &format!("watermark/1/image/{url}/gravity/northwest/dx/20/dy/30/dissolve/100"),
    )
    .await
    .image();
    assert!(near(*img.get_pixel(15, 25), WHITE, 24));
    assert!(near(*img.get_pixel(25, 35), BLACK, 24));
    assert!(near(*img.get_pixel(65, 75), BLACK, 24));
    assert!(near(*img.get_pixel(75, 85), WHITE, 24));
    let img = get(
        &s,
        "white.jpg",
        &format!("watermark/1/image/{url}/gravity/center/dissolve/50"),
    )
    .await
    .image();
    let p = img.get_pixel(200, 150).0;
    assert!((100..=156).contains(&p[0]), "{p:?}");
    // blogo: a mark larger than the image is shrunk (1) or cropped (2).
    let big = b64(&format!("{ORIGIN}/wm/big.png"));
    let img = get(
        &s,
        "white.jpg",
        &format!("watermark/1/image/{big}/blogo/1/dissolve/100"),
    )
    .await
    .image();
    assert!(near(*img.get_pixel(50, 150), WHITE, 24));
    assert!(near(*img.get_pixel(300, 150), BLACK, 24));
    let img = get(
        &s,
        "white.jpg",
        &format!("watermark/1/image/{big}/blogo/2/dissolve/100"),
    )
    .await
    .image();
    assert!(img.pixels().all(|p| near(*p, BLACK, 24)));
    // scatype/spcent: 500 ‰ of the width → a 200×200 mark.
    let img = get(
        &s,
        "white.jpg",
        &format!("watermark/1/image/{url}/scatype/1/spcent/500/dissolve/100"),
    )
    .await
    .image();
    assert!(near(*img.get_pixel(210, 110), BLACK, 24));
    assert!(near(*img.get_pixel(190, 150), WHITE, 24));
    assert!(near(*img.get_pixel(300, 90), WHITE, 24));
    // batch: tiled over the image.
    let img = get(
        &s,
        "white.jpg",
        &format!("watermark/1/image/{url}/batch/1/dissolve/100"),
    )
    .await
    .image();
    for (x0, y0) in [(0, 0), (300, 0), (0, 200), (300, 200)] {
        assert!(
            dark_in(&img, x0, y0, x0 + 100, y0 + 100, 60.0) > 500,
            "no tile near ({x0},{y0})"
        );
    }
    get(
        &s,
        "white.jpg",
        &format!("watermark/1/image/{url}/batch/1/degree/45"),
    )
    .await
    .expect(200);
    // Missing mark, bad URLs, bad parameters.
    let missing = b64(&format!("{ORIGIN}/wm/none.png"));
    get(&s, "white.jpg", &format!("watermark/1/image/{missing}"))
        .await
        .cos_error(400, Some("-106"));
    malformed(
        &s,
        "white.jpg",
        "",
        &[
            format!(
                "watermark/1/image/{}",
                b64(&format!("https://{}/wm/logo.png", &ORIGIN[7..]))
            ),
            format!("watermark/1/image/{}", b64("wm/logo.png")),
            "watermark/1/image/%21%21".to_string(),
            "watermark/1/gravity/center".to_string(),
            format!("watermark/1/image/{url}/dissolve/0"),
            format!("watermark/1/image/{url}/dissolve/101"),
            format!("watermark/1/image/{url}/scatype/1"),
            format!("watermark/1/image/{url}/scatype/3/spcent/251"),
            format!("watermark/1/image/{url}/gravity/nowhere"),
            format!("watermark/1/image/{url}/blogo/3"),
            format!("watermark/1/image/{url}/fontsize/10"),
            "watermark/5/image/x".to_string(),
        ],
    )
    .await;
}

#[tokio::test]
async fn watermark_text_and_blind() {
    let s = server().await;
    let text = b64("腾讯云水印");
    let red = b64("#FF0000");
    for font in [
        "simsun宋体.ttc",
        "宋体",
        "simhei黑体.ttf",
        "tahoma.ttf",
        "STLiti华文隶书.ttf",
    ] {
        let r = get(
            &s,
            "white.jpg",
            &format!(
                "watermark/2/text/{text}/font/{}/fill/{red}/fontsize/30/dissolve/100",
                b64(font)
            ),
        )
        .await;
        r.expect_image("image/jpeg");
        let img = r.image();
        // Default gravity south-east: red ink only there.
        let reds = |x0: u32, y0: u32, x1: u32, y1: u32| {
            let mut n = 0;
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = img.get_pixel(x, y).0;
                    if p[0] > 180 && p[1] < 100 && p[2] < 100 {
                        n += 1;
                    }
                }
            }
            n
        };
        assert!(reds(266, 200, 400, 300) > 50, "{font}: no red ink in SE");
        assert_eq!(reds(0, 0, 266, 200), 0, "{font}: ink outside SE");
    }
    // Default fill #3D3D3D, gravity north-west + dx/dy.
    let img = get(
        &s,
        "white.jpg",
        &format!("watermark/2/text/{text}/gravity/northwest/dx/100/dy/100/fontsize/30"),
    )
    .await
    .image();
    assert_eq!(dark_in(&img, 0, 0, 95, 300, 128.0), 0);
    assert!(dark_in(&img, 95, 95, 400, 200, 128.0) > 50);
    // Shadow and batch are accepted; batch tiles the text.
    get(
        &s,
        "white.jpg",
        &format!("watermark/2/text/{text}/shadow/50"),
    )
    .await
    .expect(200);
    let img = get(
        &s,
        "white.jpg",
        &format!(
            "watermark/2/text/{text}/batch/1/degree/30/fill/{}",
            b64("#000000")
        ),
    )
    .await
    .image();
    assert!(dark_in(&img, 0, 0, 200, 150, 128.0) > 20);
    assert!(dark_in(&img, 200, 150, 400, 300, 128.0) > 20);
    // Image then text, two stages.
    let url = b64(&format!("{ORIGIN}/wm/logo.png"));
    let img = get(
        &s,
        "white.jpg",
        &format!(
            "watermark/1/image/{url}/gravity/northwest/dissolve/100|watermark/2/text/{text}/fill/{red}"
        ),
    )
    .await
    .image();
    assert!(near(*img.get_pixel(25, 25), BLACK, 24));
    malformed(
        &s,
        "white.jpg",
        "",
        &[
            "watermark/2".to_string(),
            "watermark/2/text/".to_string(),
            "watermark/2/text/%21%21".to_string(),
            format!("watermark/2/text/{text}/font/{}", b64("nosuchfont.ttf")),
            format!("watermark/2/text/{text}/fill/{}", b64("red")),
            format!("watermark/2/text/{text}/fontsize/0"),
            format!("watermark/2/text/{text}/shadow/101"),
            format!("watermark/2/text/{text}/image/{url}"),
        ],
    )
    .await;
    // Blind watermarks: 501 without X-ErrNo.
    for q in [
        format!("watermark/3/type/3/text/{}", b64("abc")),
        format!("watermark/4/type/3/text/{}", b64("abc")),
    ] {
        let r = get(&s, "white.jpg", &q).await;
        r.cos_error(501, None);
        assert_eq!(
            xml_text(&r.text(), "Code").as_deref(),
            Some("NotImplemented")
        );
    }
}

#[tokio::test]
async fn information_processors_exact_json() {
    let s = server().await;
    use md5::Digest;
    let r = get(&s, "f9.jpg", "imageInfo").await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let want = serde_json::json!({
        "format": "jpeg",
        "width": "400",
        "height": "300",
        "size": f9().len().to_string(),
        "md5": hex::encode(md5::Md5::digest(f9())),
        "frame_count": "1",
    });
    assert_eq!(r.json(), want);
    let j = get(&s, "f6.png", "imageInfo").await.json();
    assert_eq!(
        (&j["format"], &j["width"], &j["height"]),
        (&"png".into(), &"400".into(), &"300".into())
    );
    let j = get(&s, "f5.gif", "imageInfo").await.json();
    assert_eq!(
        (&j["format"], &j["frame_count"]),
        (&"gif".into(), &"10".into())
    );
    // After processing, the processed image.
    let j = get(
        &s,
        "f9.jpg",
        "imageMogr2/thumbnail/!50p/format/png|imageInfo",
    )
    .await
    .json();
    assert_eq!(
        (&j["format"], &j["width"], &j["height"]),
        (&"png".into(), &"200".into(), &"150".into())
    );
    // exif.
    let r = get(&s, "f10.jpg", "exif").await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    for (tag, val) in [
        ("Make", "TestCam"),
        ("Model", "T1"),
        ("DateTime", "2020:01:02 03:04:05"),
        ("Orientation", "1"),
    ] {
        assert_eq!(j[tag]["val"], val, "{tag}: {j}");
        assert!(j[tag]["type"].is_u64(), "{j}");
    }
    assert_eq!(j["Make"]["type"], 2);
    assert_eq!(j["Orientation"]["type"], 3);
    let r = get(&s, "f9.jpg", "exif").await;
    r.expect(200);
    assert_eq!(r.json(), serde_json::json!({"error": "no exif data"}));
    // imageAve.
    let r = get(&s, "f11.png", "imageAve").await;
    r.expect(200);
    assert_eq!(r.json(), serde_json::json!({"RGB": "0x0080FF"}));
    assert_eq!(
        get(&s, "f6.png", "imageAve").await.json(),
        serde_json::json!({"RGB": "0x800080"})
    );
    // Terminals end the pipeline; `?imageInfo=` is the same key.
    get(&s, "f9.jpg", "imageInfo=").await.expect(200);
    get(&s, "f9.jpg", "imageInfo|imageMogr2/rotate/90")
        .await
        .cos_error(400, Some("-106"));
}

#[tokio::test]
async fn pipelines_encoding_and_signatures() {
    let s = server().await;
    // | and %7C, left to right.
    for sep in ["|", "%7C", "%7c"] {
        let r = get(
            &s,
            "f9.jpg",
            &format!("imageMogr2/rotate/90{sep}imageMogr2/thumbnail/!50p"),
        )
        .await;
        assert_eq!(r.dims(), (150, 200), "{sep}");
    }
    // Several operations in one stage, in the order written.
    assert_eq!(
        get(
            &s,
            "f9.jpg",
            "imageMogr2/rotate/90/thumbnail/!50p/format/png"
        )
        .await
        .dims(),
        (150, 200)
    );
    // 10 stages are fine, 11 are not.
    let ten = ["imageMogr2/rotate/90"; 10].join("|");
    let r = get(&s, "f9.jpg", &ten).await;
    r.expect_image("image/jpeg");
    assert_eq!(r.dims(), (400, 300));
    let eleven = ["imageMogr2/rotate/90"; 11].join("|");
    get(&s, "f9.jpg", &eleven)
        .await
        .cos_error(400, Some("-106"));
    let eleven = ["imageMogr2/rotate/90"; 11].join("%7C");
    get(&s, "f9.jpg", &eleven)
        .await
        .cos_error(400, Some("-106"));
    // Fully percent-encoded key (as the COS SDK sends it).
    let r = get(&s, "f9.jpg", "imageMogr2%2Fthumbnail%2F100x100%3E=").await;
    assert_eq!(r.dims(), (100, 75));
    // q-sign-* in the query: a presigned COS URL carrying the processing.
    s.mb_public("pubbucket-1250000000").await;
    s.upload("pubbucket-1250000000", "f9.jpg", &f9(), "image/jpeg")
        .await;
    let path = format!("/{B}/f9.jpg?imageMogr2/thumbnail/200x");
    let h = s.vendor_headers(Vendor::Cos, &s.creds, "GET", None, &path, &[]);
    // As the SDK writes a presigned URL: the values encoded once more
    // (`q-url-param-list=imagemogr2%252fthumbnail...`, seeds 003/004).
    let auth = h["authorization"]
        .to_str()
        .unwrap()
        .replace('%', "%25")
        .replace(';', "%3B");
    let host = h["host"].to_str().unwrap().to_string();
    let r = s
        .anon(
            "GET",
            &format!("/{B}/f9.jpg?{auth}&imageMogr2/thumbnail/200x"),
            &[("host", &host)],
            "",
        )
        .await;
    r.expect_image("image/jpeg");
    assert_eq!(r.dims(), (200, 150));
    // Foreign parameters around the processing key are ignored.
    let r = get(
        &s,
        "f9.jpg",
        "versionId=null&imageMogr2/thumbnail/200x&response-cache-control=no-cache",
    )
    .await;
    r.expect_image("image/jpeg");
    assert_eq!(r.dims(), (200, 150));
    // Anonymous on a public-read bucket, and Range ignored.
    let r = s
        .anon(
            "GET",
            "/pubbucket-1250000000/f9.jpg?imageMogr2/thumbnail/200x",
            &[("range", "bytes=0-9")],
            "",
        )
        .await;
    r.expect_image("image/jpeg");
    assert_eq!(r.dims(), (200, 150));
    // Shape errors.
    malformed(
        &s,
        "f9.jpg",
        "",
        &[
            "imageMogr2/rotate/90||imageMogr2/rotate/90",
            "imageMogr2/rotate/90|resize/100",
            "imageMogr2/thumbnail/100x&imageMogr2/rotate/90",
            "imageMogr2//rotate/90",
            "imageMogr2/minsize/1",
            "imageMogr2/slim",
            "imageMogr2/thumbnail/100x/thumbnail",
        ],
    )
    .await;
}

#[tokio::test]
async fn documented_errors_carry_x_errno() {
    let s = server().await;
    s.upload(B, "notimage.jpg", b"plain text, not an image", "text/plain")
        .await;
    s.upload(B, "tall.png", &png_bomb(100, 30_001), "image/png")
        .await;
    // -6101 missing object (404 NoSuchKey).
    let r = get(&s, "none.jpg", "imageMogr2/thumbnail/!50p").await;
    assert_eq!(r.cos_error(404, Some("-6101")), "NoSuchKey");
    // -443 not an image.
    let r = get(&s, "notimage.jpg", "imageMogr2/thumbnail/!50p").await;
    r.cos_error(400, Some("-443"));
    // -447 source side over 30 000 (also with ignore-error: the source is
    // then answered).
    let r = get(&s, "tall.png", "imageMogr2/thumbnail/!50p").await;
    r.cos_error(400, Some("-447"));
    // -106 malformed, with InvalidArgument.
    let r = get(&s, "f9.jpg", "imageMogr2/thumbnail/abc").await;
    assert_eq!(r.cos_error(400, Some("-106")), "InvalidArgument");
    // -105: a missing style through a separator is a plain GET of the
    // literal key (404 NoSuchKey, S3 envelope); through a Pic-Operations
    // rule it is the COS error (covered by cos_persist).
    // 403 -154: source protection for anonymous processing.
    s.mb_public("protected-1250000000").await;
    s.upload("protected-1250000000", "f9.jpg", &f9(), "image/jpeg")
        .await;
    s.image_config("protected-1250000000", r#"{"protect_source": true}"#)
        .await
        .expect(200);
    let r = s
        .anon_get("/protected-1250000000/f9.jpg?imageMogr2/thumbnail/!50p")
        .await;
    assert_eq!(r.cos_error(403, Some("-154")), "AccessDenied");
    // 501s have no X-ErrNo.
    let r = get(&s, "f9.jpg", "imageMogr2/rcrop/1x2").await;
    r.cos_error(501, None);
}
