//! Helpers shared by the integration tests: synthetic images encoded with
//! the `image` crate, and decoding of outputs for assertions.
#![allow(dead_code)]

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbaImage};
use imaging::{Assets, Engine, Limits, Output, Pipeline};

pub fn encode(img: &DynamicImage, f: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, f).unwrap();
    out.into_inner()
}

/// A JPEG at the given IJG quality, via libjpeg-turbo.
pub fn jpeg(img: &RgbaImage, quality: i32) -> Vec<u8> {
    let rgb = DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_quality(quality).unwrap();
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2).unwrap();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let image = turbojpeg::Image {
        pixels: rgb.as_raw().as_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
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

pub fn corpus(sub: &str) -> Option<std::path::PathBuf> {
    for base in [
        "/work/shared/corpus",
        "../shared/corpus",
        "../../shared/corpus",
    ] {
        let p = std::path::Path::new(base).join(sub);
        if p.is_dir() {
            return Some(p);
        }
    }
    None
}
