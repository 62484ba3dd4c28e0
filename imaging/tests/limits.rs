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
fn gif_frames_are_checked_not_only_the_screen() {
    // Issue #13: a 100×100 screen with one 16000×15000 frame (240 Mpx,
    // under every screen-based limit) is refused from its descriptor.
    let bomb = gif_frames((100, 100), (0, 0), (16_000, 15_000), 1);
    assert!(bomb.len() < 100);
    too_large(run(&bomb, &thumb()), "GIF frame right edge");
    assert!(matches!(
        probe(&bomb, &Limits::default()),
        Err(Error::TooLarge { .. })
    ));
    // A frame placed past the bottom edge, in a later frame.
    let mut later = gif_frames((100, 100), (0, 0), (10, 10), 2);
    later.pop();
    later.extend_from_slice(&gif_frames((100, 100), (0, 95), (10, 10), 1)[19..]);
    too_large(run(&later, &thumb()), "GIF frame bottom edge");
    // A frame exactly filling the screen passes the header checks (and
    // then fails on the fake pixel data, which is not a limit).
    let fits = gif_frames((100, 100), (90, 90), (10, 10), 1);
    assert_eq!(probe(&fits, &Limits::default()).unwrap().width, 100);
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

fn blur50() -> Op {
    Op::Blur(Blur {
        radius: 50,
        sigma_milli: 50_000,
        kind: BlurKind::Gaussian,
        region: None,
    })
}

#[test]
fn the_work_budget_is_checked_before_decoding() {
    // Issue #13: repeated heavy ops are priced from the header. Under a
    // budget that one blur of this image fits and ten do not, the ten are
    // refused, and the bomb header proves nothing was decoded.
    let src = jpeg(&halves(400, 300), 90);
    let one_blur = 400 * 300 * imaging::budget::blur_weight(50);
    let l = Limits {
        max_work: 3 * one_blur,
        ..Default::default()
    };
    assert!(run_limits(
        &src,
        &pipeline(vec![blur50()], OutputOptions::default()),
        &l
    )
    .is_ok());
    let ten = pipeline(vec![blur50(); 10], OutputOptions::default());
    too_large(run_limits(&src, &ten, &l), "estimated work");
    // From the header only: a 10 Mpx claim with no pixel data behind it.
    let fake = jpeg_header_only(3872, 2592);
    let l = Limits::default();
    too_large(run_limits(&fake, &ten, &l), "estimated work");
    // Tencent's ignore-error answers with the source instead.
    let forgiving = Pipeline {
        on_limit_error: OnLimitError::ReturnSource,
        ..ten
    };
    let l = Limits {
        max_work: 3 * one_blur,
        ..Default::default()
    };
    assert_eq!(bytes(&run_limits(&src, &forgiving, &l).unwrap()), &src[..]);
}

#[test]
fn padding_a_thumbnail_to_a_huge_canvas_is_refused() {
    // Issue #13: `resize,m_pad,w_16384,h_16384,limit_0` on 64×64.
    let src = jpeg(&halves(64, 64), 90);
    let pad = pipeline(
        vec![resize(Geometry::Pad {
            width: 16_384,
            height: 16_384,
            color: Rgba::WHITE,
        })],
        OutputOptions::default(),
    );
    too_large(run(&src, &pad), "output pixels");
    // Within the growth limit, padding works.
    let l = Limits {
        max_output_pixels: 200 * 200,
        ..Default::default()
    };
    let small = pipeline(
        vec![resize(Geometry::Pad {
            width: 200,
            height: 200,
            color: Rgba::WHITE,
        })],
        OutputOptions::default(),
    );
    assert_eq!(meta(&run_limits(&src, &small, &l).unwrap()).1, 200);
    let canvas = pipeline(
        vec![resize(Geometry::Canvas {
            width: 300,
            height: 200,
            color: Rgba::WHITE,
        })],
        OutputOptions::default(),
    );
    too_large(run_limits(&src, &canvas, &l), "output pixels");
    let rotate = pipeline(vec![Op::Rotate { degrees: 45 }], OutputOptions::default());
    let l = Limits {
        max_output_pixels: 64 * 64,
        ..Default::default()
    };
    too_large(run_limits(&src, &rotate, &l), "output pixels");
}

#[test]
fn a_cancelled_job_stops_at_its_next_checkpoint() {
    let src = jpeg(&halves(64, 64), 90);
    let p = pipeline(vec![blur50()], OutputOptions::default());
    let engine = Engine::new();
    let limits = Limits::default();
    let cancel = Cancel::never();
    cancel.cancel();
    let r = engine.execute_cancellable(&src, &p, &Assets::default(), &limits, &cancel);
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    let late = Cancel::with_deadline(Some(std::time::Instant::now()));
    let r = engine.execute_cancellable(&src, &p, &Assets::default(), &limits, &late);
    assert!(matches!(r, Err(Error::DeadlineExceeded)), "{r:?}");

    // Cancelled while blurring: a 4000×2000 image, blurred 30 times, stops
    // within a band of rows, long before the blurs would end.
    let big = jpeg(&halves(4000, 2000), 80);
    let heavy = pipeline(vec![blur50(); 30], OutputOptions::default());
    let cancel = Cancel::never();
    let job = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let r = Engine::new().execute_cancellable(
                &big,
                &heavy,
                &Assets::default(),
                &Limits {
                    max_work: u64::MAX,
                    ..Default::default()
                },
                &cancel,
            );
            (r, started.elapsed())
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let asked = std::time::Instant::now();
    cancel.cancel();
    let (r, _) = job.join().unwrap();
    let stop = asked.elapsed();
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    // One band of 256 rows × 4000 px is milliseconds; a second is slack
    // for a loaded machine.
    assert!(stop < std::time::Duration::from_secs(1), "{stop:?}");
}

/// A RIFF WebP of `chunks` (fourcc, data) after a VP8X header for a
/// `w`×`h` canvas.
fn webp_with(w: u32, h: u32, animated: bool, chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    let mut vp8x = vec![if animated { 0x02 } else { 0 }, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut all = vec![(b"VP8X", vp8x)];
    all.extend(chunks.iter().map(|(id, d)| (*id, d.clone())));
    for (id, data) in all {
        body.extend_from_slice(id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The first bytes of a VP8 key frame of `w`×`h`.
fn vp8_header(w: u16, h: u16) -> Vec<u8> {
    let mut d = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
    d.extend_from_slice(&w.to_le_bytes());
    d.extend_from_slice(&h.to_le_bytes());
    d.extend_from_slice(&[0; 16]);
    d
}

fn refused_as_corrupt(r: Result<Output>, what: &str) {
    match r {
        Err(Error::Decode(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("expected a Decode error naming {what:?}, got {other:?}"),
    }
}

/// Found by the `image_execute` fuzz target: an 11×16 canvas over a VP8
/// frame declaring 9048×16383; the decoder allocated 148 MB for it,
/// sized from the bitstream, past every limit checked on the canvas.
#[test]
fn webp_bitstream_larger_than_its_canvas_is_refused_before_decoding() {
    for found in [
        &include_bytes!("data/fuzz-webp-frame-over-canvas.webp")[..],
        &include_bytes!("data/fuzz-webp-frame-over-canvas-2.webp")[..],
    ] {
        assert!(probe(found, &Limits::default()).is_err());
        refused_as_corrupt(run(found, &thumb()), "canvas");
    }
    let still = webp_with(16, 16, false, &[(b"VP8 ", vp8_header(9000, 16000))]);
    refused_as_corrupt(run(&still, &thumb()), "9000x16000 on a 16x16 canvas");
}

#[test]
fn webp_frames_are_checked_not_only_the_canvas() {
    let anmf = |x: u32, y: u32, w: u32, h: u32, bits: Vec<u8>| {
        let mut d = Vec::new();
        for v in [x / 2, y / 2, w - 1, h - 1, 100] {
            d.extend_from_slice(&v.to_le_bytes()[..3]);
        }
        d.push(0);
        d.extend_from_slice(b"VP8 ");
        d.extend_from_slice(&(bits.len() as u32).to_le_bytes());
        d.extend_from_slice(&bits);
        d
    };
    let anim = vec![0u8; 6];
    // A frame outside the canvas.
    let outside = webp_with(
        100,
        100,
        true,
        &[
            (b"ANIM", anim.clone()),
            (b"ANMF", anmf(90, 0, 20, 20, vp8_header(20, 20))),
        ],
    );
    refused_as_corrupt(run(&outside, &thumb()), "outside the 100x100 canvas");
    // A frame whose bitstream is larger than its rectangle.
    let lying = webp_with(
        100,
        100,
        true,
        &[
            (b"ANIM", anim),
            (b"ANMF", anmf(0, 0, 10, 10, vp8_header(15000, 15000))),
        ],
    );
    refused_as_corrupt(run(&lying, &thumb()), "15000x15000 in a 10x10 rectangle");
}

/// A classic TIFF with one entry: `count` values of `type_code` at
/// `offset`, after an 8-byte header and before the image data.
fn tiff_with_entry(type_code: u16, count: u32, offset: u32) -> Vec<u8> {
    let mut d = b"II*\0".to_vec();
    d.extend_from_slice(&8u32.to_le_bytes());
    d.extend_from_slice(&1u16.to_le_bytes());
    d.extend_from_slice(&256u16.to_le_bytes()); // ImageWidth
    d.extend_from_slice(&type_code.to_le_bytes());
    d.extend_from_slice(&count.to_le_bytes());
    d.extend_from_slice(&offset.to_le_bytes());
    d.extend_from_slice(&0u32.to_le_bytes());
    d.extend_from_slice(&[0; 64]);
    d
}

/// Found by the `image_execute` fuzz target: a 400-byte TIFF whose entry
/// declared millions of values; the `tiff` crate reserved 242 MB for them
/// before reading. Values that reach past the end of the file are refused
/// before that crate sees the file.
#[test]
fn tiff_entries_past_the_end_of_the_file_are_refused_before_decoding() {
    let found = include_bytes!("data/fuzz-tiff-entry-past-eof.tiff");
    refused_as_corrupt(run(found, &thumb()), "past the end of the file");
    // Ten million SHORTs at offset 8: 20 MB in a 90-byte file.
    let forged = tiff_with_entry(3, 10_000_000, 8);
    refused_as_corrupt(run(&forged, &thumb()), "past the end of the file");
    // The same entry with values that fit is left to the decoder, which
    // finds the rest of the header missing.
    let fits = tiff_with_entry(3, 8, 26);
    match run(&fits, &thumb()) {
        Err(Error::Decode(m)) => assert!(!m.contains("past the end"), "{m}"),
        other => panic!("expected a decoder error, got {other:?}"),
    }
    // Real TIFFs still decode.
    let img = image::DynamicImage::new_rgb8(64, 48);
    let tiff = encode(&img, image::ImageFormat::Tiff);
    assert!(run(&tiff, &thumb()).is_ok());
}
