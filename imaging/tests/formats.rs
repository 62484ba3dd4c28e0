//! Formats, animation, metadata and quality: what the encoder keeps,
//! drops and estimates.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;

use common::*;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, RgbaImage};
use imaging::*;

fn animated_gif(n: u8, delay_ms: u32) -> Vec<u8> {
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        enc.set_repeat(image::codecs::gif::Repeat::Infinite)
            .unwrap();
        let frames = (0..n).map(|k| {
            let c = if k % 2 == 0 {
                [255, 0, 0, 255]
            } else {
                [0, 0, 255, 255]
            };
            image::Frame::from_parts(
                RgbaImage::from_pixel(200, 100, image::Rgba(c)),
                0,
                0,
                image::Delay::from_numer_denom_ms(delay_ms, 1),
            )
        });
        enc.encode_frames(frames).unwrap();
    }
    gif
}

fn gif_frames(bytes: &[u8]) -> Vec<image::Frame> {
    image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap()
}

#[test]
fn animated_gif_resize_keeps_frames_and_delays() {
    let src = animated_gif(10, 100);
    let out = run(&src, &pipeline(vec![fit_w(100)], OutputOptions::default())).unwrap();
    let (format, width, height, _) = meta(&out);
    assert_eq!((format, width, height), (Format::Gif, 100, 50));
    let frames = gif_frames(bytes(&out));
    assert_eq!(frames.len(), 10);
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(f.delay().numer_denom_ms(), (100, 1));
        assert_eq!(f.buffer().dimensions(), (100, 50));
        let want = if k % 2 == 0 {
            [255, 0, 0, 255]
        } else {
            [0, 0, 255, 255]
        };
        assert!(near(f.buffer().get_pixel(50, 25).0, want, 8), "frame {k}");
    }
    // Info counts frames without decoding.
    let info = probe(&src, &Limits::default()).unwrap();
    assert_eq!((info.frame_count, info.width, info.height), (10, 200, 100));
}

#[test]
fn frame_selection_and_static_outputs() {
    let src = animated_gif(10, 100);
    let first = run(
        &src,
        &pipeline(
            vec![Op::Frames(FrameSelect::First)],
            OutputOptions::default(),
        ),
    )
    .unwrap();
    assert_eq!(gif_frames(bytes(&first)).len(), 1);
    let five = run(
        &src,
        &pipeline(
            vec![Op::Frames(FrameSelect::AtMost(5))],
            OutputOptions::default(),
        ),
    )
    .unwrap();
    let f = gif_frames(bytes(&five));
    assert_eq!(f.len(), 5);
    // Total duration kept: 5 frames × 200 ms.
    assert!(f.iter().all(|x| x.delay().numer_denom_ms() == (200, 1)));
    let pick = run(
        &src,
        &pipeline(
            vec![Op::Frames(FrameSelect::AtPermille(500))],
            OutputOptions::default(),
        ),
    )
    .unwrap();
    let f = gif_frames(bytes(&pick));
    assert_eq!(f.len(), 1);
    // Frame 5 of 10 (odd index) is blue.
    assert!(near(f[0].buffer().get_pixel(5, 5).0, [0, 0, 255, 255], 8));
}

#[test]
fn gif_to_png_is_the_first_frame_and_format_gif_only_converts_gifs() {
    let src = animated_gif(4, 50);
    let out = run(&src, &with_format(vec![], Format::Png)).unwrap();
    assert!(matches!(
        out,
        Output::Image {
            format: Format::Png,
            ..
        }
    ));
    assert!(near(decoded(&out).get_pixel(1, 1).0, [255, 0, 0, 255], 0));
    // A frame pick still works when the output is a still format.
    let ten = animated_gif(10, 100);
    let o = OutputOptions {
        format: fmt(Format::Png),
        ..Default::default()
    };
    let out = run(
        &ten,
        &pipeline(vec![Op::Frames(FrameSelect::AtPermille(500))], o),
    )
    .unwrap();
    assert!(near(decoded(&out).get_pixel(1, 1).0, [0, 0, 255, 255], 0));
    // Alibaba format,gif on a JPEG keeps JPEG.
    let jpg = jpeg(&halves(64, 32), 90);
    let only = OutputOptions {
        format: Some(FormatRequest {
            format: Format::Gif,
            only_if_source_animated: true,
        }),
        ..Default::default()
    };
    let out = run(&jpg, &pipeline(vec![], only.clone())).unwrap();
    assert!(matches!(
        out,
        Output::Image {
            format: Format::Jpeg,
            ..
        }
    ));
    let out = run(&src, &pipeline(vec![fit_w(50)], only)).unwrap();
    assert_eq!(gif_frames(bytes(&out)).len(), 4);
}

#[test]
fn animated_webp_output() {
    let src = animated_gif(3, 100);
    let out = run(&src, &with_format(vec![], Format::Webp)).unwrap();
    let b = bytes(&out);
    assert_eq!(sniff(b), Some(Format::Webp));
    assert_eq!(probe(b, &Limits::default()).unwrap().frame_count, 3);
    // And back: an animated WebP source resized into a GIF keeps its frames.
    let o = OutputOptions {
        format: fmt(Format::Gif),
        ..Default::default()
    };
    let back = run(b, &pipeline(vec![fit_w(50)], o)).unwrap();
    let frames = gif_frames(bytes(&back));
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].buffer().dimensions(), (50, 25));
    assert_eq!(frames[0].delay().numer_denom_ms(), (100, 1));
    assert!(near(
        frames[1].buffer().get_pixel(25, 12).0,
        [0, 0, 255, 255],
        30
    ));
}

#[test]
fn quality_estimate_and_resolution() {
    let src = jpeg(&halves(256, 128), 75);
    let info = probe(&src, &Limits::default()).unwrap();
    let q = info.quality.unwrap();
    assert!((74..=76).contains(&q), "estimated {q}");
    let with_q = |q| OutputOptions {
        quality: Some(q),
        ..Default::default()
    };
    let out_q = |o: Output| match o {
        Output::Image { quality, bytes, .. } => (
            quality.unwrap(),
            probe(&bytes, &Limits::default()).unwrap().quality.unwrap(),
        ),
        _ => panic!(),
    };
    // Absolute never raises above the source; Forced does; Relative scales.
    let (q, est) = out_q(run(&src, &pipeline(vec![], with_q(Quality::Absolute(90)))).unwrap());
    assert_eq!(q, 75);
    assert!((74..=76).contains(&est));
    let (q, _) = out_q(run(&src, &pipeline(vec![], with_q(Quality::Absolute(50)))).unwrap());
    assert_eq!(q, 50);
    let (q, est) = out_q(run(&src, &pipeline(vec![], with_q(Quality::Forced(90)))).unwrap());
    assert_eq!(q, 90);
    assert!((89..=91).contains(&est));
    let (q, _) = out_q(run(&src, &pipeline(vec![], with_q(Quality::Relative(80)))).unwrap());
    assert_eq!(q, 60);
    let (q, _) = out_q(run(&src, &pipeline(vec![], with_q(Quality::Floor(80)))).unwrap());
    assert_eq!(q, 80);
    // Non-JPEG source: relative acts as absolute.
    assert_eq!(
        resolve_quality(Some(Quality::Relative(70)), None, Format::Webp),
        70
    );
    assert_eq!(resolve_quality(None, None, Format::Png), DEFAULT_QUALITY);
    assert_eq!(
        resolve_quality(None, Some(98), Format::Jpeg),
        MAX_DEFAULT_QUALITY
    );
}

#[test]
fn progressive_output_has_sof2_only() {
    let src = jpeg(&halves(256, 128), 90);
    let out = run(
        &src,
        &pipeline(
            vec![fit_w(100)],
            OutputOptions {
                progressive: true,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    let m = jpeg_markers(bytes(&out));
    assert!(m.contains(&0xC2) && !m.contains(&0xC0), "{m:x?}");
    let out = run(&src, &pipeline(vec![fit_w(100)], OutputOptions::default())).unwrap();
    let m = jpeg_markers(bytes(&out));
    assert!(m.contains(&0xC0) && !m.contains(&0xC2), "{m:x?}");
    // A PNG source converted with progressive set becomes a progressive JPEG.
    let png = encode(&DynamicImage::ImageRgba8(halves(64, 64)), ImageFormat::Png);
    let o = OutputOptions {
        format: fmt(Format::Jpeg),
        progressive: true,
        ..Default::default()
    };
    assert!(jpeg_markers(bytes(&run(&png, &pipeline(vec![], o)).unwrap())).contains(&0xC2));
}

#[test]
fn icc_profile_kept_or_stripped() {
    // Any bytes work for the container; use a recognisable fake profile.
    let mut profile: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    // Only the data colour space field matters to the engine.
    profile[16..20].copy_from_slice(b"RGB ");
    let mut payload = b"ICC_PROFILE\0\x01\x01".to_vec();
    payload.extend_from_slice(&profile);
    let src = with_app(&jpeg(&halves(256, 128), 90), 0xE2, &payload);
    let out = run(&src, &pipeline(vec![fit_w(100)], OutputOptions::default())).unwrap();
    let b = bytes(&out);
    let pos = b
        .windows(12)
        .position(|w| w == b"ICC_PROFILE\0")
        .expect("ICC kept");
    assert_eq!(&b[pos + 14..pos + 14 + profile.len()], &profile[..]);
    let stripped = run(
        &src,
        &pipeline(
            vec![fit_w(100)],
            OutputOptions {
                strip_metadata: true,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    assert!(!bytes(&stripped).windows(12).any(|w| w == b"ICC_PROFILE\0"));
    // JPEG → PNG carries it as iCCP.
    let out = run(&src, &with_format(vec![], Format::Png)).unwrap();
    let mut d = image::codecs::png::PngDecoder::new(Cursor::new(bytes(&out))).unwrap();
    assert_eq!(d.icc_profile().unwrap().as_deref(), Some(&profile[..]));
    // A CMYK or grey profile does not fit the RGB output: dropped.
    let mut cmyk = profile.clone();
    cmyk[16..20].copy_from_slice(b"CMYK");
    let mut payload = b"ICC_PROFILE\0\x01\x01".to_vec();
    payload.extend_from_slice(&cmyk);
    let src = with_app(&jpeg(&halves(256, 128), 90), 0xE2, &payload);
    let out = run(&src, &pipeline(vec![fit_w(100)], OutputOptions::default())).unwrap();
    assert!(!bytes(&out).windows(12).any(|w| w == b"ICC_PROFILE\0"));
}

#[test]
fn exif_is_kept_with_orientation_reset_after_auto_orient() {
    let src = with_app(
        &jpeg(&halves(64, 32), 90),
        0xE1,
        &[b"Exif\0\0".as_slice(), &exif_orientation(6)].concat(),
    );
    let kept = run(
        &src,
        &pipeline(
            vec![],
            OutputOptions {
                quality: Some(Quality::Forced(80)),
                ..Default::default()
            },
        ),
    )
    .unwrap();
    assert_eq!(
        probe(bytes(&kept), &Limits::default()).unwrap().orientation,
        Some(6)
    );
    let oriented = run(
        &src,
        &pipeline(vec![Op::AutoOrient], OutputOptions::default()),
    )
    .unwrap();
    let info = probe(bytes(&oriented), &Limits::default()).unwrap();
    assert_eq!(
        (info.width, info.height, info.orientation),
        (32, 64, Some(1))
    );
    let stripped = run(
        &src,
        &pipeline(
            vec![],
            OutputOptions {
                strip_metadata: true,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    assert_eq!(
        probe(bytes(&stripped), &Limits::default())
            .unwrap()
            .orientation,
        None
    );
}

/// Every EXIF orientation, end to end through JPEG: the displayed image is
/// 64×32 with a red 16×16 block top-left on blue; the stored image puts
/// the block where the EXIF definition says displayed (0,0) is stored.
#[test]
fn all_eight_orientations_end_to_end() {
    for o in 1..=8u16 {
        let swap = o >= 5;
        let (sw, sh) = if swap { (32, 64) } else { (64, 32) };
        let (x, y) = match o {
            1 | 5 => (0, 0),
            2 | 8 => (sw - 16, 0),
            3 | 7 => (sw - 16, sh - 16),
            _ => (0, sh - 16), // 4, 6
        };
        let stored = RgbaImage::from_fn(sw, sh, |px, py| {
            if px >= x && px < x + 16 && py >= y && py < y + 16 {
                image::Rgba([255, 0, 0, 255])
            } else {
                image::Rgba([0, 0, 255, 255])
            }
        });
        let src = with_app(
            &jpeg(&stored, 95),
            0xE1,
            &[b"Exif\0\0".as_slice(), &exif_orientation(o)].concat(),
        );
        let out = run(
            &src,
            &pipeline(vec![Op::AutoOrient], OutputOptions::default()),
        )
        .unwrap();
        let img = decoded(&out);
        assert_eq!(img.dimensions(), (64, 32), "orientation {o}");
        assert!(
            near(img.get_pixel(4, 4).0, [255, 0, 0, 255], 40),
            "orientation {o}: {:?}",
            img.get_pixel(4, 4)
        );
        assert!(
            near(img.get_pixel(60, 28).0, [0, 0, 255, 255], 40),
            "orientation {o}"
        );
        assert!(
            near(img.get_pixel(4, 28).0, [0, 0, 255, 255], 40),
            "orientation {o}"
        );
        // Without auto-orient the pixels stay as stored.
        let raw = decoded(&run(&src, &pipeline(vec![], OutputOptions::default())).unwrap());
        assert_eq!(raw.dimensions(), (sw, sh));
        // Auto-orient then shrink-on-load resize: the size follows the
        // oriented image.
        let big = RgbaImage::from_fn(sw * 20, sh * 20, |px, py| {
            *stored.get_pixel(px / 20, py / 20)
        });
        let src = with_app(
            &jpeg(&big, 90),
            0xE1,
            &[b"Exif\0\0".as_slice(), &exif_orientation(o)].concat(),
        );
        let out = run(
            &src,
            &pipeline(vec![Op::AutoOrient, fit_w(128)], OutputOptions::default()),
        )
        .unwrap();
        let img = decoded(&out);
        assert_eq!(img.dimensions(), (128, 64), "orientation {o}");
        assert!(
            near(img.get_pixel(8, 8).0, [255, 0, 0, 255], 40),
            "orientation {o}"
        );
        assert!(
            near(img.get_pixel(120, 56).0, [0, 0, 255, 255], 40),
            "orientation {o}"
        );
    }
}

#[test]
fn terminals() {
    let src = with_app(
        &jpeg(&halves(64, 32), 90),
        0xE1,
        &[b"Exif\0\0".as_slice(), &exif_orientation(3)].concat(),
    );
    let p = Pipeline {
        terminal: Some(Terminal::Info),
        ..Default::default()
    };
    let Output::Info(info) = run(&src, &p).unwrap() else {
        panic!()
    };
    assert_eq!(
        (info.format, info.width, info.height, info.frame_count),
        (Format::Jpeg, 64, 32, 1)
    );
    assert_eq!(info.file_size, src.len() as u64);
    assert_eq!(info.orientation, Some(3));
    let f = info.exif.iter().find(|f| f.tag == "Orientation").unwrap();
    assert_eq!((f.value.as_str(), f.type_code), ("3", 3));
    let p = Pipeline {
        terminal: Some(Terminal::Exif),
        ..Default::default()
    };
    let Output::Exif(fields) = run(&src, &p).unwrap() else {
        panic!()
    };
    assert!(fields.iter().any(|f| f.tag == "Orientation"));
    let plain = jpeg(&halves(64, 32), 90);
    let Output::Exif(fields) = run(&plain, &p).unwrap() else {
        panic!()
    };
    assert!(fields.is_empty());
    // Average colour: half red, half blue.
    let png = encode(&DynamicImage::ImageRgba8(halves(64, 32)), ImageFormat::Png);
    let p = Pipeline {
        terminal: Some(Terminal::AverageColor),
        ..Default::default()
    };
    assert_eq!(
        run(&png, &p).unwrap(),
        Output::AverageColor(Rgb(128, 0, 128))
    );
    let Output::AverageColor(Rgb(r, g, b)) = run(&plain, &p).unwrap() else {
        panic!()
    };
    assert!(
        (r as i32 - 128).abs() < 12 && g < 12 && (b as i32 - 128).abs() < 12,
        "{r} {g} {b}"
    );
    // Transparent pixels do not count.
    let mut a = RgbaImage::from_pixel(10, 10, image::Rgba([0, 0, 0, 0]));
    a.put_pixel(0, 0, image::Rgba([10, 20, 30, 255]));
    let png = encode(&DynamicImage::ImageRgba8(a), ImageFormat::Png);
    assert_eq!(
        run(&png, &p).unwrap(),
        Output::AverageColor(Rgb(10, 20, 30))
    );
    // Info after operations describes the result.
    let p = Pipeline {
        ops: vec![fit_w(32)],
        terminal: Some(Terminal::Info),
        ..Default::default()
    };
    let Output::Info(info) = run(&plain, &p).unwrap() else {
        panic!()
    };
    assert_eq!((info.width, info.height), (32, 16));
}

#[test]
fn size_limit_binary_searches_quality() {
    let noisy = RgbaImage::from_fn(300, 200, |x, y| {
        let v = ((x * 7919 + y * 104729) % 251) as u8;
        image::Rgba([v, v.wrapping_mul(3), v.wrapping_mul(7), 255])
    });
    let src = jpeg(&noisy, 95);
    let full = run(&src, &pipeline(vec![], OutputOptions::default())).unwrap();
    let target = bytes(&full).len() as u64 / 2;
    let o = OutputOptions {
        size_limit: Some(SizeLimit {
            max_bytes: target,
            source_if_not_smaller: false,
        }),
        ..Default::default()
    };
    let out = run(&src, &pipeline(vec![], o)).unwrap();
    assert!((bytes(&out).len() as u64) <= target);
    let q = meta(&out).3.unwrap();
    assert!(q < 90, "{q}");
    // `!`: the result is not smaller than the source → the source.
    let o = OutputOptions {
        quality: Some(Quality::Forced(100)),
        size_limit: Some(SizeLimit {
            max_bytes: u64::MAX,
            source_if_not_smaller: true,
        }),
        ..Default::default()
    };
    let out = run(&src, &pipeline(vec![], o)).unwrap();
    assert_eq!(bytes(&out), &src[..]);
}

#[test]
fn cmyk_jpeg_is_decoded_through_the_fallback() {
    // libjpeg-turbo writes CMYK JPEGs (Adobe convention) but cannot convert
    // them to RGB; the engine must still read them. Pure red = C0 M100 Y100
    // K0, stored inverted as Photoshop (and every CMYK JPEG in the wild)
    // does: 255 = no ink.
    let (w, h) = (32usize, 16usize);
    let px: Vec<u8> = (0..w * h).flat_map(|_| [255u8, 0, 0, 255]).collect();
    let src = cmyk_jpeg(&px, w, h, 95);
    let out = run(&src, &with_format(vec![fit_w(16)], Format::Png)).unwrap();
    let img = decoded(&out);
    assert_eq!(img.dimensions(), (16, 8));
    assert!(
        near(img.get_pixel(8, 4).0, [255, 0, 0, 255], 30),
        "{:?}",
        img.get_pixel(8, 4)
    );
}

/// Files whose header makes libjpeg warn and go on, where TurboJPEG's
/// header read stops: stray bytes before a marker, a JFIF version 2, an
/// Adobe transform code libjpeg does not know (it then assumes YCbCr). A
/// resize to a fifth decodes at 1/2, and gives the same output as the file
/// without the oddity: libjpeg-turbo's shrink-on-load of the same data, not
/// the image crate's full-size decode, which would take 4 times the memory
/// the job was priced at.
#[test]
fn header_warnings_keep_the_shrink_on_load() {
    let src = jpeg(&halves(500, 300), 85);
    assert_eq!(&src[2..4], &[0xFF, 0xE0], "a JFIF APP0 of 16 bytes first");
    let job = with_format(vec![fit_w(100)], Format::Png);
    let expected = bytes(&run(&src, &job).unwrap()).to_vec();

    let mut jfif2 = src.clone();
    jfif2[11] = 2;
    let stray = [&src[..20], &[1, 2, 3], &src[20..]].concat();
    let adobe = |transform: u8| {
        let without_jfif = [&src[..2], &src[20..]].concat();
        with_app(
            &without_jfif,
            0xEE,
            &[b'A', b'd', b'o', b'b', b'e', 0, 100, 0, 0, 0, 0, transform],
        )
    };
    assert_eq!(bytes(&run(&adobe(1), &job).unwrap()), &expected[..]);
    for (what, file) in [
        ("JFIF 2.01", jfif2),
        ("stray bytes", stray),
        ("Adobe transform 7", adobe(7)),
    ] {
        let out = run(&file, &job).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(bytes(&out), &expected[..], "{what}");
    }
}
