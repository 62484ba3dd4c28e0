//! End-to-end tests of `imaging::execute`: decode → operations → encode,
//! with real encoders on synthetic images.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use image::{DynamicImage, ImageFormat, RgbaImage};
use imaging::*;

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
    let (format, width, height, quality) = meta(&out);
    assert_eq!((format, width, height), (Format::Jpeg, 150, 75));
    assert_eq!(quality, Some(90));
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
        ops: vec![fit_w(101)],
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

    let out = run(&src, &with_format(vec![fit_w(50)], Format::Png)).unwrap();
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
        let out = run(&src, &with_format(vec![fit_w(100)], f)).unwrap();
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
    // AVIF: no decoder here, so the container is checked: the brand, the
    // image size in its `ispe` box, and a reported quality.
    let out = run(&src, &with_format(vec![], Format::Avif)).unwrap();
    let Output::Image {
        bytes,
        format: Format::Avif,
        width: 200,
        height: 100,
        quality: Some(_),
    } = &out
    else {
        panic!("{out:?}")
    };
    assert_eq!(imaging::sniff(bytes), Some(Format::Avif));
    let ispe = bytes.windows(4).position(|w| w == b"ispe").unwrap();
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((be(ispe + 8), be(ispe + 12)), (200, 100));
    // HEIC through libheif's x265, when the build has it.
    let out = run(&src, &with_format(vec![], Format::Heic));
    if cfg!(feature = "heic-encode") {
        let (format, w, h, _) = meta(out.as_ref().unwrap());
        assert_eq!((format, w, h), (Format::Heic, 200, 100));
        assert_eq!(
            imaging::sniff(common::bytes(out.as_ref().unwrap())),
            Some(Format::Heic)
        );
    } else {
        assert!(matches!(out, Err(Error::NotImplemented(_))));
    }
}

#[test]
fn identity_returns_the_source_and_engine_is_shareable() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Engine>();
    let src = jpeg(&halves(64, 32), 90);
    let out = run(&src, &Pipeline::default()).unwrap();
    assert_eq!(bytes(&out), &src[..]);
    assert!(matches!(
        out,
        Output::Image {
            format: Format::Jpeg,
            width: 64,
            height: 32,
            ..
        }
    ));
}

#[test]
fn every_geometry_runs_end_to_end() {
    let src = jpeg(&halves(200, 100), 90);
    let white = Rgba::WHITE;
    let cases: Vec<(Geometry, (u32, u32))> = vec![
        (
            Geometry::Fit {
                width: Some(150),
                height: Some(80),
            },
            (150, 75),
        ),
        (
            Geometry::Cover {
                width: 150,
                height: 80,
            },
            (160, 80),
        ),
        (
            Geometry::Fill {
                width: 150,
                height: 80,
            },
            (150, 80),
        ),
        (
            Geometry::Pad {
                width: 150,
                height: 80,
                color: white,
            },
            (150, 80),
        ),
        (
            Geometry::Stretch {
                width: 150,
                height: 80,
            },
            (150, 80),
        ),
        (
            Geometry::Scale {
                x_permille: Some(500),
                y_permille: None,
            },
            (100, 100),
        ),
        (
            Geometry::LongShort {
                long: Some(100),
                short: None,
            },
            (100, 50),
        ),
        (
            Geometry::SourceSide {
                which: SideChoice::Shorter,
                width: 10,
                height: 20,
            },
            (40, 20),
        ),
        (Geometry::Area { max_pixels: 5000 }, (100, 50)),
        (
            Geometry::Canvas {
                width: 300,
                height: 300,
                color: Rgba(255, 0, 0, 255),
            },
            (300, 300),
        ),
    ];
    for (g, want) in cases {
        let p = Pipeline {
            ops: vec![resize(g.clone())],
            ..Default::default()
        };
        let img = decoded(&run(&src, &p).unwrap());
        assert_eq!(img.dimensions(), want, "{g:?}");
    }
    // Pad fills the bands with the colour; Canvas centres the image.
    let p = Pipeline {
        ops: vec![resize(Geometry::Pad {
            width: 200,
            height: 200,
            color: Rgba(0, 255, 0, 255),
        })],
        ..Default::default()
    };
    let img = decoded(&run(&src, &p).unwrap());
    assert!(near(img.get_pixel(100, 5).0, [0, 255, 0, 255], 30));
    assert!(near(img.get_pixel(20, 100).0, [255, 0, 0, 255], 30));
    let p = Pipeline {
        ops: vec![resize(Geometry::Canvas {
            width: 400,
            height: 200,
            color: Rgba(0, 255, 0, 255),
        })],
        ..Default::default()
    };
    let img = decoded(&run(&src, &p).unwrap());
    assert!(near(img.get_pixel(50, 100).0, [0, 255, 0, 255], 30));
    assert!(near(img.get_pixel(150, 100).0, [255, 0, 0, 255], 30));
    assert!(near(img.get_pixel(250, 100).0, [0, 0, 255, 255], 30));
}

#[test]
fn crop_flip_rotate_indexcrop_shapes() {
    let src = encode(
        &DynamicImage::ImageRgba8(halves(200, 100)),
        ImageFormat::Png,
    );
    let run_ops = |ops: Vec<Op>| {
        decoded(
            &run(
                &src,
                &Pipeline {
                    ops,
                    ..Default::default()
                },
            )
            .unwrap(),
        )
    };
    let img = run_ops(vec![Op::Crop(Crop {
        width: Some(50),
        height: Some(50),
        gravity: Gravity::SouthEast,
        dx: 0,
        dy: 0,
    })]);
    assert_eq!(img.dimensions(), (50, 50));
    assert_eq!(img.get_pixel(0, 0).0, [0, 0, 255, 255]);
    let img = run_ops(vec![Op::Flip(FlipAxis::Horizontal)]);
    assert_eq!(img.get_pixel(0, 0).0, [0, 0, 255, 255]);
    let img = run_ops(vec![Op::Rotate { degrees: 90 }]);
    assert_eq!(img.dimensions(), (100, 200));
    assert_eq!(img.get_pixel(50, 10).0, [255, 0, 0, 255]);
    assert_eq!(img.get_pixel(50, 190).0, [0, 0, 255, 255]);
    let img = run_ops(vec![Op::IndexCrop {
        axis: Axis::X,
        length: 60,
        index: 3,
    }]);
    assert_eq!(img.dimensions(), (20, 100));
    let img = run_ops(vec![Op::IndexCrop {
        axis: Axis::X,
        length: 60,
        index: 4,
    }]);
    assert_eq!(img.dimensions(), (200, 100));
    // Arbitrary rotation grows the canvas with transparent corners; in
    // JPEG output they become white.
    let img = run_ops(vec![Op::Rotate { degrees: 45 }]);
    assert!(img.width() > 200 && img.get_pixel(0, 0).0[3] == 0);
    let p = Pipeline {
        ops: vec![Op::Circle {
            radius: 40,
            bbox: CircleBox::TwoRPlusOne,
        }],
        output: OutputOptions {
            format: fmt(Format::Jpeg),
            ..Default::default()
        },
        ..Default::default()
    };
    let img = decoded(&run(&src, &p).unwrap());
    assert_eq!(img.dimensions(), (81, 81));
    assert!(near(img.get_pixel(0, 0).0, [255, 255, 255, 255], 10));
    // The rotate limit applies to arbitrary angles only.
    let l = Limits {
        max_rotate_side: Some(150),
        ..Default::default()
    };
    let p = Pipeline {
        ops: vec![Op::Rotate { degrees: 30 }],
        ..Default::default()
    };
    assert!(matches!(
        run_limits(&src, &p, &l),
        Err(Error::TooLarge { .. })
    ));
    let p = Pipeline {
        ops: vec![Op::Rotate { degrees: 270 }],
        ..Default::default()
    };
    assert!(run_limits(&src, &p, &l).is_ok());
}
