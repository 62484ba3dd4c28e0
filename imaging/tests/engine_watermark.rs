//! The executor's side of watermarks: fetching the mark from the assets,
//! preprocessing it, and handing it to `watermark::draw`.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use image::{DynamicImage, ImageFormat, RgbaImage};
use imaging::*;

fn mark_op(key: &str, preprocess: Vec<Op>) -> Op {
    Op::Watermark(Watermark {
        image: Some(WatermarkImage {
            key: key.into(),
            preprocess,
            scale: None,
            oversize: Oversize::Shrink,
        }),
        text: None,
        combine: Combine::default(),
        placement: Placement {
            gravity: Gravity::SouthEast,
            dx: 10,
            dy: 10,
            voffset: 0,
        },
        opacity: 100,
        tile: None,
    })
}

fn assets() -> Assets {
    let logo = encode(
        &DynamicImage::ImageRgba8(RgbaImage::from_pixel(50, 50, image::Rgba([0, 0, 0, 255]))),
        ImageFormat::Png,
    );
    let mut a = Assets::default();
    a.images.insert("wm/logo.png".into(), logo);
    a.images
        .insert("wm/bad.png".into(), b"not an image".to_vec());
    a
}

fn white_png() -> Vec<u8> {
    encode(
        &DynamicImage::ImageRgba8(RgbaImage::from_pixel(
            300,
            200,
            image::Rgba([255, 255, 255, 255]),
        )),
        ImageFormat::Png,
    )
}

/// Draws the mark `key` (after `preprocess`) on the white 300×200 PNG.
fn draw(key: &str, preprocess: Vec<Op>) -> Result<Output> {
    let p = Pipeline {
        ops: vec![mark_op(key, preprocess)],
        ..Default::default()
    };
    execute(
        &white_png(),
        &p,
        &assets(),
        &Limits::default(),
        &Engine::new(),
    )
}

#[test]
fn image_mark_is_drawn_bottom_right() {
    let out = draw("wm/logo.png", vec![]).unwrap();
    let img = decoded(&out);
    assert_eq!(
        img.get_pixel(300 - 10 - 25, 200 - 10 - 25).0,
        [0, 0, 0, 255]
    );
    assert_eq!(img.get_pixel(300 - 5, 200 - 5).0, [255, 255, 255, 255]);
    assert_eq!(img.get_pixel(10, 10).0, [255, 255, 255, 255]);
}

#[test]
fn mark_preprocessing_runs_before_drawing() {
    // The 50×50 mark cut to 20×20 covers less of the corner.
    let pre = vec![Op::Crop(Crop {
        width: Some(20),
        height: Some(20),
        gravity: Gravity::NorthWest,
        dx: 0,
        dy: 0,
    })];
    let out = draw("wm/logo.png", pre).unwrap();
    let img = decoded(&out);
    assert_eq!(
        img.get_pixel(300 - 10 - 10, 200 - 10 - 10).0,
        [0, 0, 0, 255]
    );
    assert_eq!(
        img.get_pixel(300 - 10 - 40, 200 - 10 - 40).0,
        [255, 255, 255, 255]
    );
}

#[test]
fn missing_or_bad_mark_is_a_watermark_error() {
    for key in ["wm/none.png", "wm/bad.png"] {
        let r = draw(key, vec![]);
        assert!(matches!(r, Err(Error::Watermark(_))), "{key}: {r:?}");
    }
}
