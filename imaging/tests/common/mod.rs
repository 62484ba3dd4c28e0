//! Helpers shared by the integration tests: synthetic images encoded with
//! the `image` crate (JPEG with libjpeg-turbo), pipelines, decoding of
//! outputs for assertions, the real-photo corpus, and a seeded random
//! generator. One copy of each.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, RgbaImage};
use imaging::{
    Assets, Engine, Enlarge, Format, FormatRequest, Geometry, Limits, Op, Output, OutputOptions,
    Pipeline, Resize,
};

pub fn encode(img: &DynamicImage, f: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, f).unwrap();
    out.into_inner()
}

/// A JPEG at the given IJG quality, via libjpeg-turbo (YCbCr 4:2:0).
pub fn jpeg(img: &RgbaImage, quality: i32) -> Vec<u8> {
    let rgb = DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2).unwrap();
    compress(c, rgb.as_raw(), w, h, turbojpeg::PixelFormat::RGB, quality)
}

/// A CMYK JPEG (no subsampling) of `w`×`h` CMYK `pixels`, as
/// libjpeg-turbo writes it (Adobe convention: 255 = no ink).
pub fn cmyk_jpeg(pixels: &[u8], w: usize, h: usize, quality: i32) -> Vec<u8> {
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_colorspace(turbojpeg::Colorspace::CMYK).unwrap();
    c.set_subsamp(turbojpeg::Subsamp::None).unwrap();
    compress(c, pixels, w, h, turbojpeg::PixelFormat::CMYK, quality)
}

fn compress(
    mut c: turbojpeg::Compressor,
    pixels: &[u8],
    w: usize,
    h: usize,
    format: turbojpeg::PixelFormat,
    quality: i32,
) -> Vec<u8> {
    c.set_quality(quality).unwrap();
    let image = turbojpeg::Image {
        pixels,
        width: w,
        pitch: w * format.size(),
        height: h,
        format,
    };
    c.compress_to_vec(image).unwrap()
}

/// Left half red, right half blue.
pub fn halves(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            image::Rgba([255, 0, 0, 255])
        } else {
            image::Rgba([0, 0, 255, 255])
        }
    })
}

pub fn run(src: &[u8], p: &Pipeline) -> imaging::Result<Output> {
    imaging::execute(
        src,
        p,
        &Assets::default(),
        &Limits::default(),
        &Engine::new(),
    )
}

pub fn run_limits(src: &[u8], p: &Pipeline, l: &Limits) -> imaging::Result<Output> {
    imaging::execute(src, p, &Assets::default(), l, &Engine::new())
}

/// The image of an `Output::Image`, decoded.
pub fn decoded(o: &Output) -> RgbaImage {
    match o {
        Output::Image { bytes, .. } => image::load_from_memory(bytes).unwrap().to_rgba8(),
        other => panic!("not an image: {other:?}"),
    }
}

/// The format, width, height and quality of an `Output::Image`.
pub fn meta(o: &Output) -> (Format, u32, u32, Option<u8>) {
    match o {
        Output::Image {
            format,
            width,
            height,
            quality,
            ..
        } => (*format, *width, *height, *quality),
        other => panic!("not an image: {other:?}"),
    }
}

pub fn bytes(o: &Output) -> &[u8] {
    match o {
        Output::Image { bytes, .. } => bytes,
        other => panic!("not an image: {other:?}"),
    }
}

pub fn near(a: [u8; 4], b: [u8; 4], tol: i32) -> bool {
    a.iter()
        .zip(b.iter())
        .all(|(x, y)| (*x as i32 - *y as i32).abs() <= tol)
}

/// The shared real-photo corpus, `shared/corpus` beside the repository
/// (as CI lays it out): `../../shared/corpus` from this crate.
pub fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// The files of the corpus folder `sub`, sorted. Fails, naming the path,
/// when the folder is missing or empty: a corpus test must never pass by
/// checking nothing.
pub fn corpus_files(sub: &str) -> Vec<PathBuf> {
    let dir = corpus_root().join(sub);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the real-photo corpus is missing: expected the folder {} \
             (`shared/corpus/{sub}` beside the repository): {e}",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "the real-photo corpus folder {} is empty",
        dir.display()
    );
    files
}

/// `Op::Resize` of `geometry`, enlarging allowed.
pub fn resize(geometry: Geometry) -> Op {
    Op::Resize(Resize {
        geometry,
        enlarge: Enlarge::Allow,
    })
}

/// Resize to `w` wide, aspect kept.
pub fn fit_w(w: u32) -> Op {
    resize(Geometry::Fit {
        width: Some(w),
        height: None,
    })
}

/// A pipeline of `ops` with these output options.
pub fn pipeline(ops: Vec<Op>, output: OutputOptions) -> Pipeline {
    Pipeline {
        ops,
        output,
        ..Default::default()
    }
}

/// An unconditional output format request.
pub fn fmt(f: Format) -> Option<FormatRequest> {
    Some(FormatRequest {
        format: f,
        only_if_source_animated: false,
    })
}

/// A pipeline of `ops` that writes format `f`.
pub fn with_format(ops: Vec<Op>, f: Format) -> Pipeline {
    pipeline(
        ops,
        OutputOptions {
            format: fmt(f),
            ..Default::default()
        },
    )
}

/// The seeded generator of the root crate's tests (one copy for the
/// workspace's tests).
#[path = "../../../tests/common/rng.rs"]
mod rng;
#[allow(unused_imports)]
pub use rng::Rng;

/// A minimal big-endian EXIF body (TIFF header + IFD0) holding only an
/// Orientation tag.
pub fn exif_orientation(o: u16) -> Vec<u8> {
    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
    t.extend_from_slice(&1u16.to_be_bytes());
    t.extend_from_slice(&0x0112u16.to_be_bytes());
    t.extend_from_slice(&3u16.to_be_bytes());
    t.extend_from_slice(&1u32.to_be_bytes());
    t.extend_from_slice(&o.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&0u32.to_be_bytes());
    t
}

/// Inserts an APPn segment right after SOI.
pub fn with_app(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The marker bytes of a JPEG up to the first scan.
pub fn jpeg_markers(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 3 < data.len() && data[i] == 0xFF {
        let m = data[i + 1];
        out.push(m);
        if m == 0xDA {
            break;
        }
        i += 2 + u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
    }
    out
}

/// CRC-32 (IEEE) for hand-made PNG chunks.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A PNG whose IHDR claims w×h, followed by a tiny (invalid) IDAT.
pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], body: &[u8]| {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(body);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A GIF whose screen and single image claim w×h (w, h ≤ 65535).
pub fn gif_header_only(w: u16, h: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0]); // global table of 2 colours
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&[2, 2, 0x4C, 0x01, 0]); // LZW min size, one tiny block
    out.push(0x3B);
    out
}

/// A GIF with a `screen` logical screen and `frames` images of `frame`
/// size at `at` (a few bytes whatever the sizes claimed).
pub fn gif_frames(screen: (u16, u16), at: (u16, u16), frame: (u16, u16), frames: usize) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&screen.0.to_le_bytes());
    out.extend_from_slice(&screen.1.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0]);
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    for _ in 0..frames {
        out.push(0x2C);
        out.extend_from_slice(&at.0.to_le_bytes());
        out.extend_from_slice(&at.1.to_le_bytes());
        out.extend_from_slice(&frame.0.to_le_bytes());
        out.extend_from_slice(&frame.1.to_le_bytes());
        out.push(0);
        out.extend_from_slice(&[2, 2, 0x4C, 0x01, 0]);
    }
    out.push(0x3B);
    out
}

/// A baseline JPEG header (SOI, SOF0) claiming w×h, then EOI.
pub fn jpeg_header_only(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8];
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}
