//! Real photos from the shared corpus (`shared/corpus` beside the
//! repository; the tests fail when it is absent): large JPEGs (baseline and
//! progressive), EXIF-rotated ones, PNGs with alpha and animated GIFs.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use imaging::*;

fn average(src: &[u8], ops: Vec<Op>) -> Rgb {
    let p = Pipeline {
        ops,
        terminal: Some(Terminal::AverageColor),
        ..Default::default()
    };
    match run(src, &p).unwrap() {
        Output::AverageColor(c) => c,
        o => panic!("{o:?}"),
    }
}

fn close(a: Rgb, b: Rgb, tol: i32) -> bool {
    (a.0 as i32 - b.0 as i32).abs() <= tol
        && (a.1 as i32 - b.1 as i32).abs() <= tol
        && (a.2 as i32 - b.2 as i32).abs() <= tol
}

#[test]
fn corpus_jpegs_thumbnail() {
    for f in corpus_files("jpeg") {
        let src = std::fs::read(&f).unwrap();
        let info = probe(&src, &Limits::default()).unwrap();
        assert_eq!(info.format, Format::Jpeg);
        assert!(info.quality.is_some(), "{f:?}");
        let p = Pipeline {
            ops: vec![fit_w(300)],
            output: OutputOptions {
                quality: Some(Quality::Forced(80)),
                ..Default::default()
            },
            ..Default::default()
        };
        let out = run(&src, &p).unwrap();
        let want_h = (info.height as f64 * 300.0 / info.width as f64).round() as u32;
        let (_, width, height, quality) = meta(&out);
        assert_eq!((width, height, quality), (300, want_h, Some(80)), "{f:?}");
        let img = decoded(&out);
        assert_eq!(img.dimensions(), (300, want_h));
        // The thumbnail has the colours of the photo: its mean matches the
        // source's (computed on an independent 1/8 DCT decode).
        let thumb_png = encode(
            &image::DynamicImage::ImageRgba8(img),
            image::ImageFormat::Png,
        );
        let a = average(&thumb_png, vec![]);
        let b = average(&src, vec![]);
        assert!(close(a, b, 6), "{f:?}: {a:?} vs {b:?}");
    }
}

#[test]
fn corpus_orientation() {
    for f in corpus_files("orient") {
        let src = std::fs::read(&f).unwrap();
        let info = probe(&src, &Limits::default()).unwrap();
        let o = info
            .orientation
            .expect("orient corpus files carry an Orientation tag");
        let swap = o >= 5;
        let want = if swap {
            (info.height, info.width)
        } else {
            (info.width, info.height)
        };
        let p = Pipeline {
            ops: vec![Op::AutoOrient],
            output: OutputOptions::default(),
            ..Default::default()
        };
        let out = run(&src, &p).unwrap();
        let Output::Image {
            width,
            height,
            bytes,
            ..
        } = &out
        else {
            panic!()
        };
        assert_eq!((*width, *height), want, "{f:?}");
        assert_eq!(
            probe(bytes, &Limits::default()).unwrap().orientation,
            Some(1)
        );
        // The shrink-on-load path gives the same picture as the full decode.
        let small = run(
            &src,
            &Pipeline {
                ops: vec![Op::AutoOrient, fit_w(200)],
                ..Default::default()
            },
        )
        .unwrap();
        let (_, width, height, _) = meta(&small);
        assert_eq!(width, 200);
        assert_eq!(
            height,
            (want.1 as f64 * 200.0 / want.0 as f64).round() as u32
        );
        // Same content as the non-rotated original when the corpus has it.
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let plain = name.rsplit_once('-').map(|(base, _)| format!("{base}.jpg"));
        if let Some(orig) = plain
            .map(|p| corpus_root().join("jpeg").join(p))
            .filter(|p| p.is_file())
        {
            let orig = std::fs::read(orig).unwrap();
            let a = decoded(&small);
            // The pixels are untouched copies of the original with the tag
            // set: rotating the original the same way must match.
            let degrees = match o {
                3 => 180,
                6 => 90,
                8 => 270,
                _ => 0,
            };
            let rotated = Pipeline {
                ops: vec![Op::Rotate { degrees }, fit_w(200)],
                ..Default::default()
            };
            let b = decoded(&run(&orig, &rotated).unwrap());
            assert_eq!(a.dimensions(), b.dimensions(), "{name}");
            if degrees > 0 {
                let diff: u64 = a
                    .as_raw()
                    .iter()
                    .zip(b.as_raw())
                    .map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as u64)
                    .sum();
                let mean = diff as f64 / a.as_raw().len() as f64;
                eprintln!("{name}: mean abs diff vs rotated original {mean:.2}");
                assert!(mean < 4.0, "{name}: mean abs diff {mean}");
            }
        }
    }
}

#[test]
fn corpus_pngs_and_gifs() {
    for f in corpus_files("png") {
        let src = std::fs::read(&f).unwrap();
        // To JPEG, and in its own format.
        for (p, want) in [
            (with_format(vec![fit_w(256)], Format::Jpeg), Format::Jpeg),
            (
                pipeline(vec![fit_w(256)], OutputOptions::default()),
                Format::Png,
            ),
        ] {
            let out = run(&src, &p).unwrap();
            assert!(
                matches!(out, Output::Image { format, width: 256, .. } if format == want),
                "{f:?}"
            );
        }
    }
    for f in corpus_files("gif") {
        let src = std::fs::read(&f).unwrap();
        let info = probe(&src, &Limits::default()).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        // Files are named <what>-<W>x<H>-<N>f.gif.
        let n: u32 = name
            .trim_end_matches(".gif")
            .rsplit('-')
            .next()
            .unwrap()
            .trim_end_matches('f')
            .parse()
            .unwrap();
        assert_eq!(info.frame_count, n, "{name}");
        let out = run(
            &src,
            &Pipeline {
                ops: vec![fit_w(120)],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            probe(bytes(&out), &Limits::default()).unwrap().frame_count,
            n,
            "{name}"
        );
    }
}

/// The APP1 EXIF segment's length in a JPEG (0 without one).
fn exif_segment_len(jpeg: &[u8]) -> usize {
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if marker == 0xDA {
            break;
        }
        if marker == 0xE1 && jpeg[at + 4..].starts_with(b"Exif\0\0") {
            return len;
        }
        at += 2 + len;
    }
    0
}

/// Real camera EXIF (issue: a 300 px thumbnail weighed 65.7 KB, 41.7 KB
/// of it the source's EXIF): the default policy keeps a few hundred bytes
/// of it, `keep` everything but the preview, `strip` nothing.
#[test]
fn corpus_camera_exif_fits_the_thumbnail() {
    let src =
        std::fs::read(corpus_root().join("jpeg/elephants-5640x3172-progressive.jpg")).unwrap();
    let source_exif = exif_segment_len(&src);
    assert!(source_exif > 41_000, "{source_exif}");
    let thumb = |metadata: MetadataPolicy| {
        let p = Pipeline {
            ops: vec![fit_w(300)],
            output: OutputOptions {
                metadata,
                ..Default::default()
            },
            ..Default::default()
        };
        match run(&src, &p).unwrap() {
            Output::Image { bytes, .. } => bytes,
            o => panic!("{o:?}"),
        }
    };
    let safe = thumb(MetadataPolicy::default());
    assert!(safe.len() <= 30_000, "default policy: {} bytes", safe.len());
    assert!((1..1_000).contains(&exif_segment_len(&safe)));
    // The 33 KB maker note stays; the 7.2 KB preview and IFD1 go.
    let keep = exif_segment_len(&thumb(MetadataPolicy::Keep));
    assert!((33_290..source_exif - 7_249).contains(&keep), "{keep}");
    assert_eq!(exif_segment_len(&thumb(MetadataPolicy::Strip)), 0);
}
