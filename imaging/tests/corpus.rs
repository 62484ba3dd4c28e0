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
