//! UCloud US3 (`iopcmd`) conformance over real HTTP: every command of
//! docs/us3-dialect.md against the conformance fixtures (generated here), with
//! the A.1 verification conventions (exact sizes, pixel colours ±2 on
//! lossless and ±24 on lossy outputs, BT.601 luma, frame counts by
//! decoding, SOF2 for progressive), pipelines, styles, and the US3 JSON
//! error envelope for every refusal.

use crate::common::*;
use crate::fixtures::*;
use crate::measure::*;
use image::Rgba;

const B: &str = "examplebucket";

/// The host a US3 user would put in a watermark `imageurl`.
const HOST: &str = "http://examplebucket.cn-bj.ufileos.com";

/// PNG 200×100: a horizontal grey ramp 40 → 215 (for bright/contrast).
fn ramp() -> Vec<u8> {
    ramp_png(|v, _| [v, v, v, 255])
}

async fn server() -> Server {
    let s = Server::with_fixtures(B).await;
    s.upload(B, "f10.jpg", &f10(), "image/jpeg").await;
    s.upload(B, "f12.gif", &gif_anim(100, 100, 40), "image/gif")
        .await;
    s.upload(B, "white.jpg", &white_jpg(), "image/jpeg").await;
    s.upload(B, "ramp.png", &ramp(), "image/png").await;
    s.upload(B, "soft.png", &soft_edge_png(), "image/png").await;
    s
}

async fn get(s: &Server, key: &str, query: &str) -> Resp {
    s.get(&format!("/{B}/{key}?{query}")).await
}

/// Asserts that `key` processed by `<prefix><bad>` is refused with the US3
/// error envelope (400), for each `bad`.
async fn refused(s: &Server, key: &str, prefix: &str, bads: &[impl AsRef<str>]) {
    for bad in bads {
        let q = format!("{prefix}{}", bad.as_ref());
        get(s, key, &q).await.us3_error(400);
    }
}

#[tokio::test]
async fn imageinfo_has_numeric_sizes() {
    let s = server().await;
    for (key, w, h, f) in [
        ("f9.jpg", 400, 300, "JPEG"),
        ("f6.png", 400, 300, "PNG"),
        ("f5.gif", 200, 100, "GIF"),
        ("f10.jpg", 640, 427, "JPEG"),
    ] {
        let r = get(&s, key, "iopcmd=imageinfo").await;
        r.expect(200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let j = r.json();
        assert!(j["width"].is_u64() && j["height"].is_u64(), "{j}");
        assert_eq!(
            (j["width"].as_u64(), j["height"].as_u64()),
            (Some(w), Some(h))
        );
        assert_eq!(j["format"], f, "{key}");
    }
    // After another stage it describes the processed image.
    let j = get(
        &s,
        "f9.jpg",
        "iopcmd=thumbnail&type=1&scale=50|iopcmd=imageinfo",
    )
    .await
    .json();
    assert_eq!(
        (j["width"].as_u64(), j["height"].as_u64()),
        (Some(200), Some(150))
    );
    let j = get(&s, "f9.jpg", "iopcmd=convert&dst=png|iopcmd=imageinfo")
        .await
        .json();
    assert_eq!(j["format"], "PNG");
    // imageinfo is a terminal: nothing may follow it.
    get(&s, "f9.jpg", "iopcmd=imageinfo|iopcmd=rotate&degree=90")
        .await
        .us3_error(400);
}

#[tokio::test]
async fn exif_map_or_empty_object() {
    let s = server().await;
    let r = get(&s, "f10.jpg", "iopcmd=exif").await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    assert_eq!(j["Make"], "TestCam", "{j}");
    assert_eq!(j["Model"], "T1");
    assert_eq!(j["DateTime"], "2020:01:02 03:04:05");
    assert_eq!(j["Orientation"], "1");
    assert!(
        j.as_object().unwrap().values().all(|v| v.is_string()),
        "{j}"
    );
    let j = get(&s, "f3.jpg", "iopcmd=exif").await.json();
    assert_eq!(j["Orientation"], "6");
    // No EXIF → {}.
    for key in ["f9.jpg", "f6.png", "f5.gif"] {
        let r = get(&s, key, "iopcmd=exif").await;
        r.expect(200);
        assert_eq!(r.text(), "{}", "{key}");
    }
    // Not available on processed images.
    get(
        &s,
        "f10.jpg",
        "iopcmd=thumbnail&type=1&scale=50|iopcmd=exif",
    )
    .await
    .us3_error(400);
}

#[tokio::test]
async fn thumbnail_table_exact_sizes() {
    let s = server().await;
    // docs/us3-dialect.md, source 400×300, sizes truncated; more than the
    // table of `us3`: a type 8 height, and enlargement (allowed).
    let more: &[(&str, (u32, u32))] = &[
        ("type=8&width=50&height=20", (50, 20)),
        ("type=1&scale=150", (600, 450)),
        ("type=4&width=800", (800, 600)),
    ];
    let table = crate::us3::THUMBNAIL_TABLE.iter().chain(more);
    for (key, ct) in [("f9.jpg", "image/jpeg"), ("f6.png", "image/png")] {
        for (q, want) in table.clone() {
            let r = get(&s, key, &format!("iopcmd=thumbnail&{q}")).await;
            r.expect_image(ct);
            assert_eq!(r.dims(), *want, "{key} {q}");
        }
    }
    // Type 8: the crop is centred (cover 66×50 of a red|blue image, then
    // 50×50 from the middle: both colours survive).
    let img = get(&s, "f6.png", "iopcmd=thumbnail&type=8&width=50")
        .await
        .image();
    assert!(near(*img.get_pixel(2, 25), RED, 2));
    assert!(near(*img.get_pixel(47, 25), BLUE, 2));
}

#[tokio::test]
async fn thumbnail_pad_colour_notations() {
    let s = server().await;
    // F6 (PNG, exact colours) into 100×100: image 100×75 at y 12..87,
    // pad rows above and below. Type 12: 600×600 canvas, image centred.
    let cases: &[(&str, [u8; 4])] = &[
        ("green", [0, 128, 0, 255]),
        ("yellow", [255, 255, 0, 255]),
        ("rgb(0,255,0)", GREEN),
        ("rgb(10,%2020,%2030)", [10, 20, 30, 255]),
        ("%2300FF00", GREEN),
        ("%23ABCDEF", [0xAB, 0xCD, 0xEF, 255]),
        ("%23FFFF0080", [255, 255, 0, 128]),
        ("rgba(255,255,0,0.5)", [255, 255, 0, 128]),
    ];
    for (c, want) in cases {
        let r = get(
            &s,
            "f6.png",
            &format!("iopcmd=thumbnail&type=15&width=100&height=100&color={c}"),
        )
        .await;
        r.expect_image("image/png");
        let img = r.image();
        assert_eq!(img.dimensions(), (100, 100));
        let pad = *img.get_pixel(50, 2);
        assert!(near(pad, *want, 2), "type 15 {c}: {pad:?}");
        assert!(near(*img.get_pixel(50, 97), *want, 2), "{c}");
        // The image itself sits in the middle.
        assert!(near(*img.get_pixel(10, 50), RED, 2), "{c}");
        assert!(near(*img.get_pixel(90, 50), BLUE, 2), "{c}");

        let img = get(
            &s,
            "f6.png",
            &format!("iopcmd=thumbnail&type=12&width=600&height=600&color={c}"),
        )
        .await
        .image();
        assert_eq!(img.dimensions(), (600, 600));
        assert!(near(*img.get_pixel(5, 5), *want, 2), "type 12 {c}");
        assert!(near(*img.get_pixel(595, 595), *want, 2), "type 12 {c}");
        // Unscaled source centred: x 100..500, y 150..450.
        assert!(near(*img.get_pixel(101, 151), RED, 2), "{c}");
        assert!(near(*img.get_pixel(498, 448), BLUE, 2), "{c}");
        assert!(near(*img.get_pixel(300, 149), *want, 2), "{c}");
    }
    // Default pad colour: white.
    let img = get(
        &s,
        "f6.png",
        "iopcmd=thumbnail&type=15&width=100&height=100",
    )
    .await
    .image();
    assert!(near(*img.get_pixel(50, 2), WHITE, 2));
    // JPEG output: colour approximately (±24).
    let img = get(
        &s,
        "f9.jpg",
        "iopcmd=thumbnail&type=15&width=100&height=100&color=%230000FF",
    )
    .await
    .image();
    assert!(near(*img.get_pixel(50, 2), BLUE, 24));
    // Type 12 needs a canvas larger than the source.
    get(
        &s,
        "f9.jpg",
        "iopcmd=thumbnail&type=12&width=100&height=100",
    )
    .await
    .us3_error(400);
    refused(
        &s,
        "f9.jpg",
        "iopcmd=thumbnail&type=15&width=100&height=100&color=",
        &[
            "notacolour",
            "rgb(1,2)",
            "rgb(300,0,0)",
            "%23GG0000",
            "rgba(0,0,0,2)",
        ],
    )
    .await;
}

#[tokio::test]
async fn gifmode_frame_counts() {
    let s = server().await;
    let anim = |q: &str| format!("iopcmd=thumbnail&type=1&scale=50{q}");
    // Default (1): every frame (the budget never runs out here).
    for q in [
        "",
        "&gifmode=1",
        "&gifmode=3",
        "&gifmode=4",
        "&gifmode=5",
        "&gifmode=6",
    ] {
        let r = get(&s, "f12.gif", &anim(q)).await;
        r.expect_image("image/gif");
        assert_eq!(gif_frames(&r.body), 40, "{q}");
        assert_eq!(r.dims(), (50, 50));
    }
    // 2: the first frame only, still a GIF.
    let r = get(&s, "f12.gif", &anim("&gifmode=2&giftimeout=10")).await;
    r.expect_image("image/gif");
    let frames = gif_decode(&r.body);
    assert_eq!(frames.len(), 1);
    assert!(near(*frames[0].get_pixel(25, 25), BLUE, 24));
    // F5 keeps its 10 frames through a crop.
    let r = get(&s, "f5.gif", "iopcmd=crop&width=50&height=50").await;
    r.expect_image("image/gif");
    assert_eq!(gif_frames(&r.body), 10);
    for bad in [
        "&gifmode=0",
        "&gifmode=7",
        "&giftimeout=0",
        "&giftimeout=61",
    ] {
        get(&s, "f12.gif", &anim(bad)).await.us3_error(400);
    }
}

#[tokio::test]
async fn crop_anchor_gravity_and_edges() {
    let s = server().await;
    // Anchor.
    let r = get(&s, "f6.png", "iopcmd=crop&width=100&height=50&ax=250&ay=10").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 50));
    assert!(img.pixels().all(|p| near(*p, BLUE, 2)));
    let img = get(&s, "f6.png", "iopcmd=crop&width=100&height=50&ax=150&ay=0")
        .await
        .image();
    assert!(near(*img.get_pixel(49, 10), RED, 2));
    assert!(near(*img.get_pixel(50, 10), BLUE, 2));
    // Gravity beats the anchor: (0,0) would be red, south-east is blue.
    let img = get(
        &s,
        "f6.png",
        "iopcmd=crop&width=100&height=50&ax=0&ay=0&gravity=SouthEast",
    )
    .await
    .image();
    assert_eq!(img.dimensions(), (100, 50));
    assert!(img.pixels().all(|p| near(*p, BLUE, 2)));
    // Each cell of the grid (names case-insensitive).
    for (g, want) in [
        ("NorthWest", RED),
        ("West", RED),
        ("SouthWest", RED),
        ("northeast", BLUE),
        ("East", BLUE),
        ("SouthEast", BLUE),
    ] {
        let img = get(
            &s,
            "f6.png",
            &format!("iopcmd=crop&width=150&height=100&gravity={g}"),
        )
        .await
        .image();
        assert_eq!(img.dimensions(), (150, 100), "{g}");
        assert!(img.pixels().all(|p| near(*p, want, 2)), "{g}");
    }
    // North / Center / South: centred horizontally (x 150..250).
    for g in ["North", "Center", "South"] {
        let img = get(
            &s,
            "f6.png",
            &format!("iopcmd=crop&width=100&height=100&gravity={g}"),
        )
        .await
        .image();
        assert!(near(*img.get_pixel(49, 50), RED, 2), "{g}");
        assert!(near(*img.get_pixel(50, 50), BLUE, 2), "{g}");
    }
    // 0 = to the edge.
    let r = get(&s, "f6.png", "iopcmd=crop&width=0&height=100&ax=300").await;
    assert_eq!(r.dims(), (100, 100));
    let r = get(&s, "f6.png", "iopcmd=crop&ax=100&ay=100").await;
    assert_eq!(r.dims(), (300, 200));
    // A region running past the edge is clipped.
    let r = get(
        &s,
        "f6.png",
        "iopcmd=crop&width=300&height=300&ax=300&ay=200",
    )
    .await;
    assert_eq!(r.dims(), (100, 100));
    // Start outside the image.
    get(&s, "f6.png", "iopcmd=crop&width=10&height=10&ax=500")
        .await
        .us3_error(400);
    get(&s, "f6.png", "iopcmd=crop&width=10&gravity=Middle")
        .await
        .us3_error(400);
    get(&s, "f6.png", "iopcmd=crop&width=10001")
        .await
        .us3_error(400);
}

#[tokio::test]
async fn indexcrop_strips() {
    let s = server().await;
    let r = get(&s, "f6.png", "iopcmd=indexcrop&x=150&i=1").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (150, 300));
    // Strip 1 covers x 150..300: red up to 200.
    assert!(near(*img.get_pixel(49, 10), RED, 2));
    assert!(near(*img.get_pixel(50, 10), BLUE, 2));
    // The last strip is shorter (ceil division).
    assert_eq!(
        get(&s, "f6.png", "iopcmd=indexcrop&x=150&i=2").await.dims(),
        (100, 300)
    );
    assert_eq!(
        get(&s, "f6.png", "iopcmd=indexcrop&y=100").await.dims(),
        (400, 100)
    );
    // Both x and y valid: y wins.
    assert_eq!(
        get(&s, "f6.png", "iopcmd=indexcrop&x=100&y=100&i=2")
            .await
            .dims(),
        (400, 100)
    );
    // Past the last strip: the source unchanged.
    for q in ["iopcmd=indexcrop&x=150&i=3", "iopcmd=indexcrop&y=100&i=99"] {
        let r = get(&s, "f6.png", q).await;
        r.expect_image("image/png");
        assert!(r.body[..] == f6()[..] || r.dims() == (400, 300), "{q}");
        assert_eq!(r.image(), decode(&f6()));
    }
    refused(
        &s,
        "f6.png",
        "iopcmd=indexcrop&",
        &["x=0", "y=abc", "i=-1", "i=1"],
    )
    .await;
}

#[tokio::test]
async fn circle_and_rounded_corners() {
    let s = server().await;
    // PNG: 2r square, transparent outside.
    let r = get(&s, "f6.png", "iopcmd=circle&r=50").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 100));
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(99, 99).0[3], 0);
    assert_eq!(img.get_pixel(50, 50).0[3], 255);
    // JPEG: white outside.
    let r = get(&s, "f9.jpg", "iopcmd=circle&r=50").await;
    r.expect_image("image/jpeg");
    let img = r.image();
    assert_eq!(img.dimensions(), (100, 100));
    assert!(near(*img.get_pixel(1, 1), WHITE, 24));
    // Over half the short side: clamped to 150.
    assert_eq!(
        get(&s, "f6.png", "iopcmd=circle&r=4096").await.dims(),
        (300, 300)
    );
    // Converting to JPEG after the circle: white (decided at encode time).
    let img = get(&s, "f6.png", "iopcmd=circle&r=50|iopcmd=convert&dst=jpg")
        .await
        .image();
    assert!(near(*img.get_pixel(1, 1), WHITE, 24));

    let r = get(&s, "f6.png", "iopcmd=rounded-corners&r=50").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (400, 300));
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(399, 299).0[3], 0);
    assert_eq!(img.get_pixel(200, 0).0[3], 255);
    assert_eq!(img.get_pixel(25, 25).0[3], 255);
    let img = get(&s, "f9.jpg", "iopcmd=rounded-corners&r=50")
        .await
        .image();
    assert_eq!(img.dimensions(), (400, 300));
    assert!(near(*img.get_pixel(1, 1), WHITE, 24));
    assert!(near(*img.get_pixel(100, 150), RED, 24));
    refused(
        &s,
        "f6.png",
        "iopcmd=",
        &[
            "circle&r=0",
            "circle&r=4097",
            "circle",
            "rounded-corners&r=0",
            "rounded-corners&r=abc",
        ],
    )
    .await;
}

#[tokio::test]
async fn rotate_and_auto_orient() {
    let s = server().await;
    // Clockwise: the left (red) column becomes the top row.
    let img = get(&s, "f6.png", "iopcmd=rotate&degree=90").await.image();
    assert_eq!(img.dimensions(), (300, 400));
    assert!(near(*img.get_pixel(150, 10), RED, 2));
    assert!(near(*img.get_pixel(150, 390), BLUE, 2));
    let img = get(&s, "f6.png", "iopcmd=rotate&degree=270").await.image();
    assert!(near(*img.get_pixel(150, 10), BLUE, 2));
    let img = get(&s, "f6.png", "iopcmd=rotate&degree=180").await.image();
    assert_eq!(img.dimensions(), (400, 300));
    assert!(near(*img.get_pixel(10, 150), BLUE, 2));
    // 45°: the canvas grows to the rotated bounding box (≈ 495×495).
    let (w, h) = get(&s, "f6.png", "iopcmd=rotate&degree=45").await.dims();
    assert!(
        (493..=497).contains(&w) && (493..=497).contains(&h),
        "{w}x{h}"
    );
    assert_eq!(
        get(&s, "f6.png", "iopcmd=rotate&degree=360").await.dims(),
        (400, 300)
    );
    get(&s, "f6.png", "iopcmd=rotate&degree=361")
        .await
        .us3_error(400);
    get(&s, "f6.png", "iopcmd=rotate").await.us3_error(400);

    // F3: stored 1000×600 (red top), EXIF 6 → displayed 600×1000, red right.
    let r = get(&s, "f3.jpg", "iopcmd=auto-orient&value=1").await;
    r.expect_image("image/jpeg");
    let img = r.image();
    assert_eq!(img.dimensions(), (600, 1000));
    assert!(near(*img.get_pixel(450, 500), RED, 24));
    assert!(near(*img.get_pixel(150, 500), BLUE, 24));
    assert_eq!(
        get(&s, "f3.jpg", "iopcmd=auto-orient").await.dims(),
        (600, 1000)
    );
    // value=0 and no auto-orient: pixels as stored.
    assert_eq!(
        get(&s, "f3.jpg", "iopcmd=auto-orient&value=0").await.dims(),
        (1000, 600)
    );
    assert_eq!(
        get(&s, "f3.jpg", "iopcmd=thumbnail&type=1&scale=50")
            .await
            .dims(),
        (500, 300)
    );
    // In a pipeline, in order.
    assert_eq!(
        get(
            &s,
            "f3.jpg",
            "iopcmd=auto-orient&value=1|iopcmd=thumbnail&type=4&width=300"
        )
        .await
        .dims(),
        (300, 500)
    );
    get(&s, "f3.jpg", "iopcmd=auto-orient&value=2")
        .await
        .us3_error(400);
}

#[tokio::test]
async fn bright_and_contrast() {
    let s = server().await;
    let base = decode(&ramp());
    let (m0, sd0) = (mean_luma(&base), luma_std(&base));
    for cmd in ["bright", "contrast"] {
        let img = get(&s, "ramp.png", &format!("iopcmd={cmd}&value=100"))
            .await
            .image();
        assert!(img.pixels().all(|p| near(*p, WHITE, 0)), "{cmd} 100");
        let img = get(&s, "ramp.png", &format!("iopcmd={cmd}&value=-100"))
            .await
            .image();
        assert!(img.pixels().all(|p| near(*p, BLACK, 0)), "{cmd} -100");
        refused(
            &s,
            "ramp.png",
            "iopcmd={cmd}&value=",
            &["101", "-101", "abc", ""],
        )
        .await;
    }
    let up = mean_luma(&get(&s, "ramp.png", "iopcmd=bright&value=50").await.image());
    let down = mean_luma(&get(&s, "ramp.png", "iopcmd=bright&value=-50").await.image());
    assert!(up > m0 + 10.0 && down < m0 - 10.0, "{down} {m0} {up}");
    let same = get(&s, "ramp.png", "iopcmd=bright&value=0").await.image();
    assert!((mean_luma(&same) - m0).abs() < 0.5);
    let more = luma_std(
        &get(&s, "ramp.png", "iopcmd=contrast&value=50")
            .await
            .image(),
    );
    let less = luma_std(
        &get(&s, "ramp.png", "iopcmd=contrast&value=-50")
            .await
            .image(),
    );
    assert!(more > sd0 * 1.1 && less < sd0 * 0.9, "{less} {sd0} {more}");
    // JPEG: all white at bright 100 within the lossy tolerance.
    let img = get(&s, "f9.jpg", "iopcmd=bright&value=100").await.image();
    assert!(img.pixels().all(|p| near(*p, WHITE, 24)));
}

#[tokio::test]
async fn sharpen_and_blur() {
    let s = server().await;
    let soft = decode(&soft_edge_png());
    let r = get(&s, "soft.png", "iopcmd=sharpen&radius=3&sigma=2").await;
    r.expect_image("image/png");
    let img = r.image();
    assert_eq!(img.dimensions(), (200, 100));
    // Overshoot on both sides of the ramp, flat areas unchanged.
    let row: Vec<u8> = (0..200).map(|x| img.get_pixel(x, 50).0[0]).collect();
    assert!(
        row.iter().min().unwrap() < &60 && row.iter().max().unwrap() > &196,
        "{row:?}"
    );
    assert_eq!(img.get_pixel(5, 50), soft.get_pixel(5, 50));
    assert_eq!(img.get_pixel(195, 50), soft.get_pixel(195, 50));
    // Older range accepted (radius up to 300).
    get(&s, "soft.png", "iopcmd=sharpen&radius=100&sigma=30")
        .await
        .expect(200);
    refused(
        &s,
        "soft.png",
        "iopcmd=sharpen&",
        &["radius=301", "sigma=301", "radius=-1", ""],
    )
    .await;

    let base = decode(&f6());
    // Whole image, Gaussian and ordinary: the red|blue edge gets mixed.
    for ty in ["1", "2", "0"] {
        let img = get(
            &s,
            "f6.png",
            &format!("iopcmd=blur&type={ty}&radius=5&sigma=3"),
        )
        .await
        .image();
        assert_eq!(img.dimensions(), (400, 300));
        let p = img.get_pixel(199, 150).0;
        assert!(p[0] < 250 && p[2] > 5, "type {ty}: {p:?}");
        assert!(near(*img.get_pixel(20, 150), RED, 2));
    }
    // A local region: pixels outside it are unchanged.
    let check_region = |img: &image::RgbaImage, x0: u32, y0: u32, x1: u32, y1: u32| {
        for (x, y, p) in img.enumerate_pixels() {
            let inside = (x0..x1).contains(&x) && (y0..y1).contains(&y);
            if !inside {
                assert_eq!(p, base.get_pixel(x, y), "({x},{y}) outside the region");
            }
        }
        assert_ne!(
            img.get_pixel(199, (y0 + y1) / 2),
            base.get_pixel(199, (y0 + y1) / 2)
        );
    };
    let img = get(
        &s,
        "f6.png",
        "iopcmd=blur&type=2&radius=5&sigma=3&width=100&height=100&ax=150&ay=100",
    )
    .await
    .image();
    check_region(&img, 150, 100, 250, 200);
    let img = get(
        &s,
        "f6.png",
        "iopcmd=blur&type=2&radius=5&sigma=3&width=100&height=60&gravity=Center&ax=0&ay=0",
    )
    .await
    .image();
    check_region(&img, 150, 120, 250, 180);
    refused(
        &s,
        "f6.png",
        "iopcmd=blur&radius=5&",
        &[
            "radius=51",
            "sigma=51",
            "type=3",
            "width=10001",
            "gravity=Nowhere",
        ],
    )
    .await;
}

#[tokio::test]
async fn averagehue() {
    let s = server().await;
    let r = get(&s, "f11.png", "iopcmd=averagehue").await;
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"{"RGB":"0x0080FF"}"#);
    let j = get(&s, "f4.jpg", "iopcmd=averagehue").await.json();
    let v = u32::from_str_radix(j["RGB"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let (r_, g, b) = (v >> 16, (v >> 8) & 255, v & 255);
    assert!(r_ < 24 && g < 24 && b > 231, "{j}");
    // F6: half red, half blue.
    let j = get(&s, "f6.png", "iopcmd=averagehue").await.json();
    assert_eq!(j["RGB"], "0x800080");
}

#[tokio::test]
async fn watermark_text_cjk_font() {
    let s = server().await;
    let text = b64("水印文字");
    let black = b64("#000000");
    // SimSun by its Chinese name (5a6L5L2T = 宋体), south-east cell.
    let r = get(
        &s,
        "white.jpg",
        &format!(
            "iopcmd=watermark&type=1&text={text}&font=5a6L5L2T&fontsize=40&fill={black}&gravity=SouthEast"
        ),
    )
    .await;
    r.expect_image("image/jpeg");
    let img = r.image();
    assert_eq!(img.dimensions(), (400, 300));
    assert!(
        dark_in(&img, 266, 200, 400, 300, 100.0) > 100,
        "no ink in the SE cell"
    );
    assert_eq!(
        dark_in(&img, 0, 0, 266, 200, 100.0),
        0,
        "ink outside the SE cell"
    );
    // Every font of the table, by name (ASCII, case-insensitive).
    for font in [
        "SimSun",
        "LiShu",
        "FangZhengFangSong",
        "FangZhengHeiTi",
        "FangZhengKaiTi",
        "FangZhengShuSong",
        "WenQuanWeiMiHei",
        "WenQuanYiZhengHei",
        "DroidSansFallback",
        "simsun",
    ] {
        let img = get(
            &s,
            "white.jpg",
            &format!(
                "iopcmd=watermark&type=1&text={text}&font={}&fontsize=30&fill={black}&gravity=NorthWest",
                b64(font)
            ),
        )
        .await
        .image();
        assert!(dark_in(&img, 0, 0, 133, 100, 100.0) > 50, "{font}");
        assert_eq!(dark_in(&img, 133, 100, 400, 300, 100.0), 0, "{font}");
    }
    // Defaults: SimSun, white fill, mark at (10, 10): on black, light ink
    // near the top-left corner.
    s.upload(B, "black.png", &solid_png(400, 300, BLACK), "image/png")
        .await;
    let img = get(
        &s,
        "black.png",
        &format!("iopcmd=watermark&type=1&text={}", b64("Hi 你好")),
    )
    .await
    .image();
    let light = img.enumerate_pixels().filter(|(_, _, p)| luma(p) > 128.0);
    let (mut minx, mut miny, mut n) = (u32::MAX, u32::MAX, 0);
    for (x, y, _) in light {
        minx = minx.min(x);
        miny = miny.min(y);
        n += 1;
    }
    assert!(n > 5, "no white ink");
    assert!(
        (8..40).contains(&minx) && (8..40).contains(&miny),
        "{minx},{miny}"
    );
    refused(
        &s,
        "white.jpg",
        "iopcmd=watermark&type=1&",
        &[
            "text=".to_string(),
            "text=%21%21%21".to_string(),
            format!("text={text}&font={}", b64("Comic Sans")),
            format!("text={text}&fontsize=0"),
            format!("text={text}&fontsize=101"),
            format!("text={text}&opacity=0"),
            format!("text={text}&fill={}", b64("nocolour")),
            format!("text={text}&rotate=361"),
            "".to_string(),
        ],
    )
    .await;
    get(
        &s,
        "white.jpg",
        &format!("iopcmd=watermark&type=3&text={text}"),
    )
    .await
    .us3_error(400);
}

#[tokio::test]
async fn watermark_image_from_bucket_url() {
    let s = server().await;
    let url = b64(&format!("{HOST}/wm/logo.png"));
    // Gravity: the mark in the cell, no margin.
    let r = get(
        &s,
        "white.jpg",
        &format!("iopcmd=watermark&type=2&imageurl={url}&gravity=NorthWest"),
    )
    .await;
    r.expect_image("image/jpeg");
    let img = r.image();
    assert!(near(*img.get_pixel(25, 25), BLACK, 24));
    assert!(near(*img.get_pixel(100, 100), WHITE, 24));
    let img = get(
        &s,
        "white.jpg",
        &format!("iopcmd=watermark&type=2&imageurl={url}&gravity=SouthEast&ax=0&ay=0"),
    )
    .await
    .image();
    assert!(near(*img.get_pixel(375, 275), BLACK, 24));
    assert!(near(*img.get_pixel(25, 25), WHITE, 24));
    // Anchor (default 10, 10): the mark covers 10..60.
    let img = get(
        &s,
        "white.jpg",
        &format!("iopcmd=watermark&type=2&imageurl={url}"),
    )
    .await
    .image();
    assert!(near(*img.get_pixel(5, 5), WHITE, 24));
    assert!(near(*img.get_pixel(35, 35), BLACK, 24));
    let img = get(
        &s,
        "white.jpg",
        &format!("iopcmd=watermark&type=2&imageurl={url}&ax=200&ay=100"),
    )
    .await
    .image();
    assert!(near(*img.get_pixel(225, 125), BLACK, 24));
    assert!(near(*img.get_pixel(35, 35), WHITE, 24));
    // Opacity 50: mid grey.
    let img = get(
        &s,
        "white.jpg",
        &format!("iopcmd=watermark&type=2&imageurl={url}&gravity=Center&opacity=50"),
    )
    .await
    .image();
    let p = img.get_pixel(200, 150).0;
    assert!((100..=156).contains(&p[0]), "{p:?}");
    // The mark's own preprocessing (iopcmd stages in its URL): 25×25.
    let small = b64(&format!(
        "{HOST}/wm/logo.png?iopcmd=thumbnail&type=1&scale=50"
    ));
    let img = get(
        &s,
        "white.jpg",
        &format!("iopcmd=watermark&type=2&imageurl={small}&gravity=NorthWest"),
    )
    .await
    .image();
    assert!(near(*img.get_pixel(20, 20), BLACK, 24));
    assert!(near(*img.get_pixel(35, 35), WHITE, 24));
    // A text stage then an image stage (combined marks).
    let r = get(
        &s,
        "white.jpg",
        &format!(
            "iopcmd=watermark&type=2&imageurl={url}&gravity=NorthWest|iopcmd=watermark&type=1&text={}&fill={}&gravity=SouthEast&fontsize=30",
            b64("水印"),
            b64("#000000")
        ),
    )
    .await;
    let img = r.image();
    assert!(near(*img.get_pixel(25, 25), BLACK, 24));
    assert!(dark_in(&img, 266, 200, 400, 300, 100.0) > 50);
    // Missing mark object, and bad URLs.
    let missing = b64(&format!("{HOST}/wm/none.png"));
    get(
        &s,
        "white.jpg",
        &format!("iopcmd=watermark&type=2&imageurl={missing}"),
    )
    .await
    .us3_error(400);
    let bad_urls = [
        b64("ftp://host/wm/logo.png"),
        b64("not a url"),
        b64(&format!("{HOST}/")),
        "%21%21".to_string(),
    ];
    refused(
        &s,
        "white.jpg",
        "iopcmd=watermark&type=2&imageurl=",
        &bad_urls,
    )
    .await;
    get(&s, "white.jpg", "iopcmd=watermark&type=2")
        .await
        .us3_error(400);
}

#[tokio::test]
async fn convert_formats_quality_and_frames() {
    let s = server().await;
    for (dst, ct, f) in [
        ("jpg", "image/jpeg", image::ImageFormat::Jpeg),
        ("png", "image/png", image::ImageFormat::Png),
        ("bmp", "image/bmp", image::ImageFormat::Bmp),
        ("webp", "image/webp", image::ImageFormat::WebP),
    ] {
        for key in ["f9.jpg", "f6.png"] {
            let r = get(&s, key, &format!("iopcmd=convert&dst={dst}")).await;
            r.expect_image(ct);
            assert_eq!(image::guess_format(&r.body).unwrap(), f, "{key} → {dst}");
            assert_eq!(r.dims(), (400, 300));
        }
    }
    // Transparency flattened onto white for JPEG.
    let img = get(&s, "f2.png", "iopcmd=convert&dst=jpg").await.image();
    assert!(near(*img.get_pixel(150, 150), WHITE, 24));
    // Q absolute, q relative (source F9 is quality 90), both → Q.
    let q = |body: &[u8]| jpeg_quality(body);
    assert_eq!(q(&f9()), 90);
    let r = get(&s, "f9.jpg", "iopcmd=convert&dst=jpg&Q=30").await;
    assert!((29..=31).contains(&q(&r.body)), "Q=30 → {}", q(&r.body));
    let r = get(&s, "f9.jpg", "iopcmd=convert&dst=jpg&q=50").await;
    assert!((44..=46).contains(&q(&r.body)), "q=50 → {}", q(&r.body));
    let r = get(&s, "f9.jpg", "iopcmd=convert&dst=jpg&Q=30&q=50").await;
    assert!((29..=31).contains(&q(&r.body)), "both → {}", q(&r.body));
    // fr: the frame at that fractional position of F12 (40 frames, frame k
    // red = k·255/39).
    for (fr, lo, hi) in [
        ("0", 0u8, 8u8),
        ("0.0", 0, 8),
        ("1", 247, 255),
        ("0.5", 110, 145),
    ] {
        let r = get(&s, "f12.gif", &format!("iopcmd=convert&dst=png&fr={fr}")).await;
        r.expect_image("image/png");
        let img = r.image();
        assert_eq!(img.dimensions(), (100, 100));
        let red = img.get_pixel(50, 50).0[0];
        assert!((lo..=hi).contains(&red), "fr={fr}: red {red}");
    }
    refused(
        &s,
        "f9.jpg",
        "iopcmd=convert&",
        &[
            "dst=gif",
            "dst=tiff",
            "dst=JPG",
            "",
            "dst=jpg&Q=101",
            "dst=jpg&q=-1",
            "dst=png&fr=1.5",
            "dst=png&fr=x",
        ],
    )
    .await;
}

#[tokio::test]
async fn interlace_gives_progressive_jpeg() {
    let s = server().await;
    let r = get(&s, "f9.jpg", "iopcmd=interlace&value=1").await;
    r.expect_image("image/jpeg");
    assert!(is_progressive(&r.body));
    assert_eq!(r.dims(), (400, 300));
    // A PNG source is converted to JPEG (newest vendor text).
    let r = get(&s, "f6.png", "iopcmd=interlace&value=1").await;
    r.expect_image("image/jpeg");
    assert!(is_progressive(&r.body));
    // value=0: baseline.
    let r = get(
        &s,
        "f9.jpg",
        "iopcmd=interlace&value=0|iopcmd=rotate&degree=90",
    )
    .await;
    r.expect_image("image/jpeg");
    assert!(!is_progressive(&r.body));
    assert!(r.body.windows(2).any(|w| w == [0xFF, 0xC0]));
    get(&s, "f9.jpg", "iopcmd=interlace&value=2")
        .await
        .us3_error(400);
}

#[tokio::test]
async fn pipelines_signatures_and_range() {
    let s = server().await;
    for sep in ["|", "%7C", "%7c"] {
        let r = get(
            &s,
            "f6.png",
            &format!("iopcmd=rotate&degree=90{sep}iopcmd=thumbnail&type=1&scale=50"),
        )
        .await;
        r.expect_image("image/png");
        assert_eq!(r.dims(), (150, 200), "{sep}");
    }
    // Three stages, run left to right.
    let r = get(
        &s,
        "f6.png",
        "iopcmd=crop&width=200&height=300|iopcmd=rotate&degree=90|iopcmd=convert&dst=jpg",
    )
    .await;
    r.expect_image("image/jpeg");
    assert_eq!(r.dims(), (300, 200));
    assert!(r.image().pixels().all(|p| near(*p, RED, 24)));
    // A signed US3 URL: its parameters (before, between and after the
    // commands) are verified, then ignored by the parser.
    let sig = ucloud_signature("GET", &format!("/{B}/f9.jpg"), "9999999999");
    let signed = format!("UCloudPublicKey={ACCESS_KEY}&Signature={sig}&Expires=9999999999");
    for q in [
        format!("{signed}&iopcmd=thumbnail&type=4&width=100"),
        format!("iopcmd=thumbnail&type=4&width=100&{signed}"),
        format!("iopcmd=rotate&degree=90|iopcmd=thumbnail&type=4&width=75&{signed}"),
    ] {
        let r = s.anon_get(&format!("/{B}/f9.jpg?{q}")).await;
        r.expect_image("image/jpeg");
        assert_eq!(
            r.dims().0,
            if q.contains("rotate") { 75 } else { 100 },
            "{q}"
        );
    }
    // A forged one is refused.
    s.anon_get(&format!(
        "/{B}/f9.jpg?UCloudPublicKey={ACCESS_KEY}&Signature={}&Expires=9999999999&iopcmd=thumbnail&type=4&width=100",
        ucloud_signature("GET", "/other/key", "9999999999")
    ))
    .await
    .expect_error(403, "SignatureDoesNotMatch");
    // Anonymous on a public-read bucket.
    s.mb_public("pubbucket").await;
    s.upload("pubbucket", "f9.jpg", &f9(), "image/jpeg").await;
    let r = s
        .anon_get("/pubbucket/f9.jpg?iopcmd=thumbnail&type=4&width=100")
        .await;
    r.expect_image("image/jpeg");
    assert_eq!(r.dims(), (100, 75));
    // Range is ignored: the whole processed image with 200.
    let r = s
        .get_h(
            &format!("/{B}/f9.jpg?iopcmd=thumbnail&type=4&width=100"),
            &[("range", "bytes=0-9")],
        )
        .await;
    r.expect_image("image/jpeg");
    assert!(r.body.len() > 10);
    assert_eq!(r.dims(), (100, 75));
    // Pipeline shape errors.
    refused(
        &s,
        "f9.jpg",
        "",
        &[
            "iopcmd=rotate&degree=90|thumbnail&type=1&scale=50",
            "iopcmd=rotate&degree=90||iopcmd=rotate&degree=90",
            "iopcmd=rotate&degree=90&iopcmd=rotate&degree=90",
            "iopcmd=rotate&degree=90&degree=180",
            "iopcmd=rotate&degree=90&scale=50",
            "iopcmd=",
        ],
    )
    .await;
    let many = ["iopcmd=rotate&degree=90"; 21].join("|");
    get(&s, "f9.jpg", &many).await.us3_error(400);
    let twenty = ["iopcmd=rotate&degree=90"; 20].join("|");
    get(&s, "f9.jpg", &twenty).await.expect(200);
}

#[tokio::test]
async fn styles_new_and_old_forms() {
    let s = server().await;
    let r = s
        .req(
            "PUT",
            &format!("/{B}?iopstyle&styleName=style1"),
            &[],
            "iopcmd=thumbnail&type=4&width=100",
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["RetCode"], 0);
    s.req(
        "PUT",
        &format!("/{B}?iopstyle&styleName=two.stage-1"),
        &[],
        "iopcmd=rotate&degree=90|iopcmd=thumbnail&type=4&width=60",
    )
    .await
    .expect(200);
    for q in ["iopstyle=style1", "iopcmd=style1"] {
        let r = get(&s, "f9.jpg", q).await;
        r.expect_image("image/jpeg");
        assert_eq!(r.dims(), (100, 75), "{q}");
    }
    assert_eq!(
        get(&s, "f9.jpg", "iopstyle=two.stage-1").await.dims(),
        (60, 80)
    );
    assert_eq!(
        get(&s, "f9.jpg", "iopcmd=two.stage-1").await.dims(),
        (60, 80)
    );
    // List.
    let j = s.get(&format!("/{B}?iopstyle")).await.json();
    assert_eq!(j["RetCode"], 0);
    assert_eq!(j["Styles"].as_array().unwrap().len(), 2, "{j}");
    // Unknown styles, both forms: 404, never the original.
    get(&s, "f9.jpg", "iopstyle=nostyle").await.us3_error(404);
    get(&s, "f9.jpg", "iopcmd=nostyle").await.us3_error(404);
    // A style cannot be combined with commands, nor named twice.
    get(&s, "f9.jpg", "iopstyle=style1&iopcmd=rotate&degree=90")
        .await
        .us3_error(400);
    get(&s, "f9.jpg", "iopstyle=style1|iopcmd=rotate&degree=90")
        .await
        .us3_error(400);
    get(&s, "f9.jpg", "iopstyle=").await.us3_error(400);
    // Bad style bodies and names are refused when stored.
    for (name, body) in [
        ("bad", "iopcmd=thumbnail&type=99"),
        ("bad", "iopstyle=style1"),
        ("bad", ""),
        ("bad%20name", "iopcmd=rotate&degree=90"),
    ] {
        let r = s
            .req("PUT", &format!("/{B}?iopstyle&styleName={name}"), &[], body)
            .await;
        r.us3_error(400);
    }
    s.delete(&format!("/{B}?iopstyle&styleName=style1"))
        .await
        .expect(204);
    get(&s, "f9.jpg", "iopstyle=style1").await.us3_error(404);
    s.get(&format!("/{B}?iopstyle&styleName=style1"))
        .await
        .us3_error(404);
}

#[tokio::test]
async fn unsupported_commands_are_errors_never_the_original() {
    let s = server().await;
    for q in [
        "iopcmd=nosuchcmd&x=1",
        "iopcmd=resize&width=100",
        "iopcmd=Thumbnail&type=1&scale=50",
        "iopcmd=rotate&degree=90|iopcmd=flip",
        "iopcmd=videothumb&time=1",
    ] {
        let r = get(&s, "f9.jpg", q).await;
        assert!(r.status.is_client_error(), "{q}: {}", r.status);
        r.us3_error(r.status.as_u16());
        assert_ne!(&r.body[..], &f9()[..]);
    }
    // Case-sensitive commands: `ImageInfo` is no command (read as the old
    // style form, which has no such style here).
    get(&s, "f9.jpg", "iopcmd=ImageInfo").await.us3_error(404);
}

#[tokio::test]
async fn documented_errors_use_the_json_envelope() {
    let s = server().await;
    s.upload(B, "notimage.jpg", b"this is not an image", "image/jpeg")
        .await;
    for (key, q, status) in [
        ("f9.jpg", "iopcmd=thumbnail", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=0&scale=10", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=16&scale=10", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=1", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=1&scale=0", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=1&scale=1001", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=1&scale=10000", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=4", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=4&width=0", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=4&width=10001", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=5&width=50", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=6&width=50", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=11&height=50", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=4&width=abc", 400),
        ("f9.jpg", "iopcmd=thumbnail&type=4&width=50&widht=50", 400),
        ("f9.jpg", "iopcmd=crop&width=10&height=10&ax=400", 400),
        ("f9.jpg", "iopcmd=indexcrop", 400),
        ("f9.jpg", "iopcmd=exif|iopcmd=imageinfo", 400),
        ("f9.jpg", "iopcmd=averagehue|iopcmd=rotate&degree=1", 400),
        ("notimage.jpg", "iopcmd=thumbnail&type=1&scale=50", 400),
        ("notimage.jpg", "iopcmd=imageinfo", 400),
        ("none.jpg", "iopcmd=thumbnail&type=1&scale=50", 404),
        ("none.jpg", "iopcmd=imageinfo", 404),
    ] {
        let r = get(&s, key, q).await;
        let msg = r.us3_error(status);
        assert!(!msg.contains("internal"), "{q}: {msg}");
    }
    // The message names the bad parameter.
    let msg = get(&s, "f9.jpg", "iopcmd=thumbnail&type=4&width=50&widht=50")
        .await
        .us3_error(400);
    assert!(msg.contains("widht"), "{msg}");
    let msg = get(&s, "f9.jpg", "iopcmd=rotate&degree=999")
        .await
        .us3_error(400);
    assert!(msg.contains("degree"), "{msg}");
    // A missing bucket: 404 in the same envelope.
    s.get("/nosuchbucket/f9.jpg?iopcmd=imageinfo")
        .await
        .us3_error(404);
}

#[tokio::test]
async fn source_side_limit() {
    let s = server().await;
    for (key, w, h) in [
        ("tall.png", 100, 10_001),
        ("wide.png", 10_001, 10),
        ("huge.png", 12_000, 12_000),
    ] {
        s.upload(B, key, &png_bomb(w, h), "image/png").await;
        for q in [
            "iopcmd=thumbnail&type=1&scale=10",
            "iopcmd=rotate&degree=90",
        ] {
            let msg = get(&s, key, q).await.us3_error(400);
            assert!(!msg.is_empty(), "{key}");
        }
    }
    // 10 000 exactly is accepted (a real, cheap image: 10000×20).
    let img = image::RgbaImage::from_pixel(10_000, 20, Rgba([9, 9, 9, 255]));
    s.upload(B, "edge.png", &png(&img), "image/png").await;
    let r = get(&s, "edge.png", "iopcmd=thumbnail&type=1&scale=10").await;
    r.expect_image("image/png");
    assert_eq!(r.dims(), (1000, 2));
}

/// A US3 presigned-URL signature by the test admin, URL-encoded.
fn ucloud_signature(method: &str, resource: &str, expires: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET_KEY.as_bytes()).expect("any key");
    mac.update(format!("{method}\n\n\n{expires}\n{resource}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    sig.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}
