//! End-to-end tests of `imaging::execute`: decode → operations → encode,
//! with real encoders on synthetic images.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use image::{DynamicImage, ImageFormat, RgbaImage};
use imaging::*;

fn resize(g: Geometry) -> Op {
    Op::Resize(Resize {
        geometry: g,
        enlarge: Enlarge::Allow,
    })
}

fn with_format(ops: Vec<Op>, f: Format) -> Pipeline {
    Pipeline {
        ops,
        output: OutputOptions {
            format: Some(FormatRequest {
                format: f,
                only_if_source_animated: false,
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn jpeg_resize_to_jpeg() {
    let src = jpeg(&halves(400, 200), 90);
    let p = Pipeline {
        ops: vec![resize(Geometry::Fit {
            width: Some(150),
            height: Some(80),
        })],
        ..Default::default()
    };
    let out = run(&src, &p).unwrap();
    let Output::Image {
        format,
        width,
        height,
        quality,
        ..
    } = &out
    else {
        panic!()
    };
    assert_eq!((*format, *width, *height), (Format::Jpeg, 150, 75));
    assert_eq!(*quality, Some(90));
    let img = decoded(&out);
    assert_eq!(img.dimensions(), (150, 75));
    assert!(near(img.get_pixel(10, 30).0, [255, 0, 0, 255], 24));
    assert!(near(img.get_pixel(140, 30).0, [0, 0, 255, 255], 24));
}

#[test]
fn shrink_on_load_keeps_exact_geometry() {
    // 1000×500 → 101 wide: decoded at 1/4 (250×125) then resampled; the
    // size must still be computed from the full-size header.
    let src = jpeg(&halves(1000, 500), 85);
    let p = Pipeline {
        ops: vec![resize(Geometry::Fit {
            width: Some(101),
            height: None,
        })],
        ..Default::default()
    };
    let out = run(&src, &p).unwrap();
    let img = decoded(&out);
    assert_eq!(img.dimensions(), (101, 51));
    assert!(near(img.get_pixel(5, 25).0, [255, 0, 0, 255], 24));
    assert!(near(img.get_pixel(95, 25).0, [0, 0, 255, 255], 24));
}

#[test]
fn png_alpha_to_jpeg_is_flattened_on_white_and_png_keeps_alpha() {
    let mut img = RgbaImage::from_pixel(100, 100, image::Rgba([0, 255, 0, 255]));
    for y in 40..60 {
        for x in 40..60 {
            img.put_pixel(x, y, image::Rgba([0, 0, 0, 0]));
        }
    }
    let src = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    let out = run(&src, &with_format(vec![], Format::Jpeg)).unwrap();
    let j = decoded(&out);
    assert!(
        near(j.get_pixel(50, 50).0, [255, 255, 255, 255], 12),
        "{:?}",
        j.get_pixel(50, 50)
    );
    assert!(near(j.get_pixel(10, 10).0, [0, 255, 0, 255], 24));

    let out = run(
        &src,
        &with_format(
            vec![resize(Geometry::Fit {
                width: Some(50),
                height: None,
            })],
            Format::Png,
        ),
    )
    .unwrap();
    let p = decoded(&out);
    assert_eq!(p.dimensions(), (50, 50));
    assert_eq!(p.get_pixel(25, 25).0[3], 0);
    // No dark halo: an edge pixel keeps its green colour where visible.
    let e = p.get_pixel(19, 25).0;
    assert!(e[3] == 0 || e[1] > 200, "{e:?}");
}

#[test]
fn webp_and_gif_outputs() {
    let src = jpeg(&halves(200, 100), 90);
    for f in [
        Format::Webp,
        Format::Gif,
        Format::Png,
        Format::Bmp,
        Format::Tiff,
    ] {
        let out = run(
            &src,
            &with_format(
                vec![resize(Geometry::Fit {
                    width: Some(100),
                    height: None,
                })],
                f,
            ),
        )
        .unwrap();
        let Output::Image { format, bytes, .. } = &out else {
            panic!()
        };
        assert_eq!(*format, f);
        assert_eq!(imaging::sniff(bytes), Some(f));
        let img = decoded(&out);
        assert_eq!(img.dimensions(), (100, 50));
        assert!(
            near(img.get_pixel(10, 25).0, [255, 0, 0, 255], 30),
            "{f:?} {:?}",
            img.get_pixel(10, 25)
        );
    }
    let out = run(&src, &with_format(vec![], Format::Avif));
    assert!(matches!(out, Err(Error::NotImplemented(_))));
}
