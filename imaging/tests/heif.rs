//! HEIC and AVIF sources (libheif), and HEIC output: the fixtures of
//! `tests/fixtures/heif` (README.md there says how each was made).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use image::RgbaImage;
use imaging::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/heif")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn info(src: &[u8]) -> ImageInfo {
    match run(
        src,
        &Pipeline {
            terminal: Some(Terminal::Info),
            ..Default::default()
        },
    )
    .unwrap()
    {
        Output::Info(i) => i,
        other => panic!("not info: {other:?}"),
    }
}

/// The mean RGB of the rectangle `(x0, y0)`–`(x1, y1)` (exclusive).
fn mean(img: &RgbaImage, x0: u32, y0: u32, x1: u32, y1: u32) -> [f64; 3] {
    let mut sum = [0f64; 3];
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            for c in 0..3 {
                sum[c] += f64::from(p[c]);
            }
        }
    }
    let n = f64::from((x1 - x0) * (y1 - y0));
    sum.map(|s| s / n)
}

#[test]
fn heic_and_avif_sources_are_described_by_info() {
    for (name, format, w, h) in [
        ("alpha.heic", Format::Heic, 320, 200),
        ("alpha.avif", Format::Avif, 320, 200),
        ("10bit.heic", Format::Heic, 320, 200),
        ("12bit.avif", Format::Avif, 320, 200),
        ("odd.heic", Format::Heic, 33, 17),
        // The size as displayed, after the container's rotation.
        ("rotated-o6.heic", Format::Heic, 107, 160),
    ] {
        let i = info(&fixture(name));
        assert_eq!(
            (i.format, i.width, i.height, i.frame_count),
            (format, w, h, 1),
            "{name}"
        );
    }
    // The camera's EXIF is read from the HEIF container.
    let i = info(&fixture("rotated-o6.heic"));
    assert_eq!(i.orientation, Some(6));
    assert!(i.exif.iter().any(|f| f.tag == "Make"), "{:?}", i.exif);
}

#[test]
fn every_source_resizes_to_jpeg_and_png() {
    for name in [
        "alpha.heic",
        "alpha.avif",
        "10bit.heic",
        "12bit.avif",
        "odd.heic",
    ] {
        let src = fixture(name);
        let out = run(&src, &with_format(vec![fit_w(100)], Format::Jpeg)).unwrap();
        let (f, w, _, _) = meta(&out);
        assert_eq!((f, w), (Format::Jpeg, 100), "{name}");
        let out = run(&src, &with_format(vec![fit_w(16)], Format::Png)).unwrap();
        assert_eq!(meta(&out).1, 16, "{name}");
    }
}

#[test]
fn high_bit_depth_sources_keep_their_gradient() {
    // rgb16.png: red rises left to right, green top to bottom, blue 30000/65535.
    for name in ["10bit.heic", "12bit.avif"] {
        let img = decoded(&run(&fixture(name), &with_format(vec![], Format::Png)).unwrap());
        let left = mean(&img, 0, 90, 20, 110);
        let right = mean(&img, 300, 90, 320, 110);
        let top = mean(&img, 150, 0, 170, 20);
        let bottom = mean(&img, 150, 180, 170, 200);
        assert!(
            left[0] < 30.0 && right[0] > 225.0,
            "{name}: red {left:?} {right:?}"
        );
        assert!(
            top[1] < 30.0 && bottom[1] > 225.0,
            "{name}: green {top:?} {bottom:?}"
        );
        assert!((left[2] - 117.0).abs() < 12.0, "{name}: blue {left:?}");
    }
}

#[test]
fn alpha_is_kept_in_png_and_webp_and_flattened_in_jpeg() {
    for name in ["alpha.heic", "alpha.avif"] {
        let src = fixture(name);
        // alpha.png: alpha rises from 0 at the top left to 255 at the
        // bottom right.
        let png = decoded(&run(&src, &with_format(vec![], Format::Png)).unwrap());
        assert!(
            png.get_pixel(2, 2).0[3] < 20,
            "{name}: {:?}",
            png.get_pixel(2, 2)
        );
        assert!(png.get_pixel(317, 197).0[3] > 235, "{name}");
        let webp = decoded(&run(&src, &with_format(vec![], Format::Webp)).unwrap());
        assert!(webp.get_pixel(2, 2).0[3] < 20, "{name}");
        // JPEG has no alpha: the transparent corner becomes white.
        let jpg = decoded(&run(&src, &with_format(vec![], Format::Jpeg)).unwrap());
        assert!(
            near(jpg.get_pixel(2, 2).0, [255, 255, 255, 255], 24),
            "{name}: {:?}",
            jpg.get_pixel(2, 2)
        );
    }
}

#[test]
fn a_rotated_heic_is_displayed_upright_once_not_twice() {
    // The container turns the landscape pixels 90° clockwise; the EXIF
    // says Orientation 6 as well. Auto-orient must not turn them again.
    let src = fixture("rotated-o6.heic");
    let jpeg = std::fs::read(corpus_root().join("orient/testrotate-640x428-o6.jpg")).unwrap();
    let oriented = |src: &[u8]| {
        decoded(
            &run(
                src,
                &with_format(
                    vec![
                        Op::AutoOrient,
                        resize(Geometry::Fit {
                            width: Some(107),
                            height: Some(160),
                        }),
                    ],
                    Format::Png,
                ),
            )
            .unwrap(),
        )
    };
    let from_heic = oriented(&src);
    let from_jpeg = oriented(&jpeg);
    assert_eq!(from_heic.dimensions(), (107, 160));
    assert_eq!(from_jpeg.dimensions(), (107, 160));
    // The same picture: each quarter's mean colour matches the JPEG's.
    for (x0, y0) in [(0, 0), (53, 0), (0, 80), (53, 80)] {
        let a = mean(&from_heic, x0, y0, x0 + 53, y0 + 80);
        let b = mean(&from_jpeg, x0, y0, x0 + 53, y0 + 80);
        for c in 0..3 {
            assert!(
                (a[c] - b[c]).abs() < 10.0,
                "quarter at ({x0},{y0}): {a:?} vs {b:?}"
            );
        }
    }
    // Without auto-orient the picture is upright too: HEIF's rotation is
    // part of the image, not a hint.
    let plain = decoded(&run(&src, &with_format(vec![], Format::Png)).unwrap());
    assert_eq!(plain.dimensions(), (107, 160));
}

#[test]
fn the_icc_profile_and_exif_go_to_a_jpeg_output() {
    let src = fixture("rotated-o6.heic");
    let out = run(&src, &with_format(vec![fit_w(50)], Format::Jpeg)).unwrap();
    let jpeg = bytes(&out);
    let icc = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(jpeg))
        .and_then(|mut d| image::ImageDecoder::icc_profile(&mut d))
        .unwrap()
        .expect("an ICC profile");
    assert_eq!(&icc[36..40], b"acsp");
    // The default policy keeps the camera's make, and the Orientation is
    // reset: the pixels are upright.
    let i = info(jpeg);
    assert!(i.exif.iter().any(|f| f.tag == "Make"), "{:?}", i.exif);
    assert_eq!(i.orientation, Some(1));
}

#[test]
fn a_file_with_more_images_than_the_frame_limit_is_refused_before_decoding() {
    let src = fixture("two-images.heic");
    // Only the primary image is decoded...
    let out = run(&src, &with_format(vec![], Format::Png)).unwrap();
    assert_eq!(meta(&out).1, 33);
    // ...but the container's image count is checked first.
    let limits = Limits {
        max_frames: 1,
        ..Limits::default()
    };
    let err = run_limits(&src, &with_format(vec![], Format::Png), &limits).unwrap_err();
    assert!(err.is_limit(), "{err:?}");
    // So are the sides and the pixel count, from the container alone.
    let limits = Limits {
        max_side: 100,
        ..Limits::default()
    };
    let err = run_limits(
        &fixture("alpha.heic"),
        &with_format(vec![], Format::Png),
        &limits,
    )
    .unwrap_err();
    assert!(err.is_limit(), "{err:?}");
}

#[test]
fn truncated_and_corrupt_files_are_decode_errors() {
    let src = fixture("alpha.heic");
    for cut in [12, 40, src.len() / 2, src.len() - 10] {
        let err = run(&src[..cut], &with_format(vec![fit_w(10)], Format::Png)).unwrap_err();
        assert!(
            matches!(err, Error::Decode(_) | Error::TooLarge { .. }),
            "cut at {cut}: {err:?}"
        );
    }
    let mut flipped = src.clone();
    for b in flipped.iter_mut().skip(400).step_by(7) {
        *b ^= 0x5A;
    }
    // Whatever libheif makes of it, it is an error or an image, never a crash.
    let _ = run(&flipped, &with_format(vec![fit_w(10)], Format::Png));
}

#[cfg(feature = "heic-encode")]
#[test]
fn heic_output_round_trips() {
    let src = std::fs::read(corpus_root().join("orient/testrotate-640x428-o6.jpg")).unwrap();
    let out = run(
        &src,
        &with_format(vec![Op::AutoOrient, fit_w(200)], Format::Heic),
    )
    .unwrap();
    let (f, w, h, _) = meta(&out);
    assert_eq!((f, w, h), (Format::Heic, 200, 299));
    let i = info(bytes(&out));
    assert_eq!((i.format, i.width, i.height), (Format::Heic, 200, 299));
    // The kept EXIF says the pixels are upright.
    assert_eq!(i.orientation, Some(1));
    // And it decodes as it should: the portrait picture, upright.
    let back = decoded(&run(bytes(&out), &with_format(vec![], Format::Png)).unwrap());
    assert_eq!(back.dimensions(), (200, 299));
}

#[cfg(feature = "heic-encode")]
#[test]
fn heic_output_of_a_source_with_a_profile_is_reliable() {
    // The binding's profile setter read past its input, so an encode
    // failed at random ("Invalid color_profile_type"); HEIC outputs carry
    // no profile now. Twenty encodes of a source with one all succeed.
    let src = fixture("rotated-o6.heic");
    for w in 20..40 {
        let out = run(&src, &with_format(vec![fit_w(w)], Format::Heic)).unwrap();
        assert_eq!(meta(&out).1, w);
    }
}
