//! Limits are checked from the headers, before any pixel buffer exists: a
//! decompression bomb (tiny file, huge claimed size) must fail with
//! `TooLarge` instantly. Were the 100000×100000 (40 GB RGBA) images
//! allocated, these tests would abort instead of failing cleanly.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use imaging::*;

fn thumb() -> Pipeline {
    pipeline(vec![fit_w(100)], OutputOptions::default())
}

fn too_large(r: Result<Output>, what_part: &str) {
    match r {
        Err(Error::TooLarge { what, .. }) => assert!(what.contains(what_part), "{what}"),
        other => panic!("expected TooLarge({what_part}), got {other:?}"),
    }
}

#[test]
fn bombs_are_refused_from_the_header() {
    too_large(run(&png_header_only(100_000, 100_000), &thumb()), "width");
    too_large(run(&gif_header_only(60_000, 60_000), &thumb()), "width");
    too_large(run(&jpeg_header_only(60_000, 60_000), &thumb()), "width");
    // Within the side limit but over the pixel budget (400 Mpx > 250 Mpx).
    too_large(run(&png_header_only(20_000, 20_000), &thumb()), "pixels");
    too_large(run(&gif_header_only(20_000, 20_000), &thumb()), "pixels");
    too_large(run(&jpeg_header_only(20_000, 20_000), &thumb()), "pixels");
    // probe refuses them too.
    assert!(matches!(
        probe(&png_header_only(100_000, 100_000), &Limits::default()),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn one_pixel_over_the_side_limit() {
    too_large(run(&png_header_only(30_001, 1), &thumb()), "width");
    too_large(run(&png_header_only(1, 30_001), &thumb()), "height");
    // 30000 is allowed by the header check (and then fails to decode the
    // fake pixel data, which is a Decode error, not a limit).
    assert!(matches!(
        run(&png_header_only(30_000, 1), &thumb()),
        Err(Error::Decode(_))
    ));
}

#[test]
fn animated_pixels_count_every_frame() {
    // 9 frames of 640×360 = 2 Mpx: refused under a 1 Mpx budget.
    let mut frames = Vec::new();
    for k in 0..9u8 {
        frames.push(image::Frame::new(image::RgbaImage::from_pixel(
            640,
            360,
            image::Rgba([k * 20, 0, 0, 255]),
        )));
    }
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        enc.encode_frames(frames).unwrap();
    }
    let l = Limits {
        max_pixels: 1_000_000,
        ..Default::default()
    };
    too_large(run_limits(&gif, &thumb(), &l), "pixels");
    let l = Limits {
        max_frames: 5,
        ..Default::default()
    };
    too_large(run_limits(&gif, &thumb(), &l), "frames");
    assert!(run(&gif, &thumb()).is_ok());
}

#[test]
fn source_bytes_and_output_side() {
    let src = jpeg(&halves(200, 100), 90);
    let l = Limits {
        max_source_bytes: 100,
        ..Default::default()
    };
    too_large(run_limits(&src, &thumb(), &l), "bytes");
    let big = Pipeline {
        ops: vec![fit_w(20_000)],
        ..Default::default()
    };
    too_large(run(&src, &big), "output");
}

#[test]
fn on_limit_error_returns_the_source() {
    let src = jpeg(&halves(200, 100), 90);
    let mut p = Pipeline {
        ops: vec![fit_w(20_000)],
        ..Default::default()
    };
    p.on_limit_error = OnLimitError::ReturnSource;
    let out = run(&src, &p).unwrap();
    assert_eq!(bytes(&out), &src[..]);
    let (format, width, height, _) = meta(&out);
    assert_eq!((width, height, format), (200, 100, Format::Jpeg));
    // Other errors are not forgiven.
    p.ops = vec![Op::Crop(Crop {
        width: Some(10),
        height: Some(10),
        gravity: Gravity::NorthWest,
        dx: 500,
        dy: 0,
    })];
    assert!(matches!(run(&src, &p), Err(Error::CropOutside)));
}

#[test]
fn truncated_and_corrupt_inputs_are_decode_errors() {
    let src = jpeg(&halves(400, 200), 90);
    let r = run(&src[..src.len() / 2], &thumb());
    assert!(matches!(r, Err(Error::Decode(_))), "{r:?}");
    let mut bad = src.clone();
    let n = bad.len();
    for (i, b) in bad[n / 3..n - 2].iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    // Corrupt entropy data either decodes to garbage or fails; never panics.
    let _ = run(&bad, &thumb());
    for cut in [3, 10, 40, 100] {
        assert!(run(&src[..cut], &thumb()).is_err());
    }
    assert!(matches!(
        run(b"hello world", &thumb()),
        Err(Error::Decode(_))
    ));
    assert!(matches!(run(&[], &thumb()), Err(Error::Decode(_))));
    let png = encode(
        &image::DynamicImage::ImageRgba8(halves(64, 64)),
        image::ImageFormat::Png,
    );
    assert!(matches!(
        run(&png[..png.len() / 2], &thumb()),
        Err(Error::Decode(_))
    ));
    let gif = encode(
        &image::DynamicImage::ImageRgba8(halves(64, 64)),
        image::ImageFormat::Gif,
    );
    assert!(run(&gif[..20], &thumb()).is_err());
}

/// Deterministic mutation fuzzing: damaged files of every format must give
/// an error or an image, never a panic.
#[test]
fn mutated_inputs_never_panic() {
    let base = halves(48, 32);
    let dynimg = image::DynamicImage::ImageRgba8(base.clone());
    let mut sources = vec![
        jpeg(&base, 80),
        encode(&dynimg, image::ImageFormat::Png),
        encode(&dynimg, image::ImageFormat::Gif),
        encode(&dynimg, image::ImageFormat::Bmp),
        encode(&dynimg, image::ImageFormat::Tiff),
        encode(&dynimg, image::ImageFormat::WebP),
    ];
    sources.push(with_app(
        &jpeg(&base, 80),
        0xE1,
        &[b"Exif\0\0".as_slice(), &exif_orientation(6)].concat(),
    ));
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let p = Pipeline {
        ops: vec![Op::AutoOrient, fit_w(20)],
        ..Default::default()
    };
    let info = Pipeline {
        terminal: Some(Terminal::Info),
        ..Default::default()
    };
    for src in &sources {
        for _ in 0..300 {
            let mut m = src.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(m.len() as u64) as usize;
                m[i] = rng.next() as u8;
            }
            if rng.below(5) == 0 {
                m.truncate(rng.below(m.len() as u64) as usize);
            }
            let _ = run(&m, &p);
            let _ = run(&m, &info);
        }
    }
}
