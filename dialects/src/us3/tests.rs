//! Table-driven tests of the US3 parser: every command, every thumbnail
//! type of the vendor's 400×300 table, every documented range and error.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::common::{b64url_encode, parse_milli};
use crate::error::ErrorKind;
use crate::testing::Rng;
use imaging::{
    Axis, Blur, BlurKind, CircleBox, Combine, Crop, Enlarge, Font, Format, FormatRequest,
    FrameSelect, Geometry, Gravity, Op, OutputOptions, Placement, Quality, Resize, Rgb, Rgba,
    Rounding, SideChoice, Terminal, Watermark, WatermarkImage, WatermarkText,
};

fn b64(s: &str) -> String {
    b64url_encode(s.as_bytes())
}

fn pipe(ops: Vec<Op>) -> Pipeline {
    Pipeline {
        ops,
        rounding: Rounding::Truncate,
        ..Pipeline::default()
    }
}

fn resize(geometry: Geometry) -> Op {
    Op::Resize(Resize {
        geometry,
        enlarge: Enlarge::Allow,
    })
}

#[track_caller]
fn check(query: &str, want: Pipeline) {
    match parse_query(query) {
        Ok(Directive::Pipeline(got)) => assert_eq!(got, want, "{query}"),
        other => panic!("{query}: expected a pipeline, got {other:?}"),
    }
}

#[track_caller]
fn check_ops(query: &str, ops: Vec<Op>) {
    check(query, pipe(ops));
}

#[track_caller]
fn check_err(query: &str, kind: ErrorKind, needle: &str) {
    match parse_query(query) {
        Err(e) => {
            assert_eq!(e.kind, kind, "{query}: {e}");
            assert_eq!(e.vendor_code.as_deref(), Some(RET_CODE), "{query}");
            assert!(
                e.message.contains(needle) || e.fragment.contains(needle),
                "{query}: `{needle}` not in {e}"
            );
        }
        Ok(d) => panic!("{query}: expected an error, got {d:?}"),
    }
}

/// `docs/us3.md`, "`thumbnail` types": the table for a 400×300 source. The
/// size in the comment is what the executor must produce with
/// `Rounding::Truncate` (checked end-to-end by the HTTP tests); here the
/// geometry is asserted.
#[test]
fn thumbnail_types_of_the_vendor_table() {
    let red = Rgba(255, 0, 0, 255);
    let cases: Vec<(&str, Geometry)> = vec![
        // 40×30
        (
            "type=1&scale=10",
            Geometry::Scale {
                x_permille: Some(100),
                y_permille: Some(100),
            },
        ),
        // 400×30
        (
            "type=2&scale=10",
            Geometry::Scale {
                x_permille: None,
                y_permille: Some(100),
            },
        ),
        // 40×300
        (
            "type=3&scale=10",
            Geometry::Scale {
                x_permille: Some(100),
                y_permille: None,
            },
        ),
        // 50×37
        (
            "type=4&width=50",
            Geometry::Fit {
                width: Some(50),
                height: None,
            },
        ),
        // 66×50
        (
            "type=5&height=50",
            Geometry::Fit {
                width: None,
                height: Some(50),
            },
        ),
        // 50×37
        (
            "type=6&width=50&height=10",
            Geometry::SourceSide {
                which: SideChoice::Longer,
                width: 50,
                height: 10,
            },
        ),
        // 13×10
        (
            "type=7&width=50&height=10",
            Geometry::SourceSide {
                which: SideChoice::Shorter,
                width: 50,
                height: 10,
            },
        ),
        // 66×50 → 50×50
        (
            "type=8&width=50",
            Geometry::Fill {
                width: 50,
                height: 50,
            },
        ),
        (
            "type=8&height=40",
            Geometry::Fill {
                width: 40,
                height: 40,
            },
        ),
        // 50×37
        (
            "type=9&width=50&height=50",
            Geometry::Fit {
                width: Some(50),
                height: Some(50),
            },
        ),
        // 66×50
        (
            "type=10&width=50&height=50",
            Geometry::Cover {
                width: 50,
                height: 50,
            },
        ),
        // 50×50
        (
            "type=11&width=50&height=50",
            Geometry::Stretch {
                width: 50,
                height: 50,
            },
        ),
        // 600×600, red border
        (
            "type=12&width=600&height=600&color=red",
            Geometry::Canvas {
                width: 600,
                height: 600,
                color: red,
            },
        ),
        // 133×100 → 50×100
        (
            "type=13&width=50&height=100",
            Geometry::Fill {
                width: 50,
                height: 100,
            },
        ),
        // 50×37
        (
            "type=14&width=50&height=50",
            Geometry::Fit {
                width: Some(50),
                height: Some(50),
            },
        ),
        // 50×50, red bars
        (
            "type=15&width=50&height=50&color=red",
            Geometry::Pad {
                width: 50,
                height: 50,
                color: red,
            },
        ),
        // Defaults: white fill.
        (
            "type=15&width=50&height=50",
            Geometry::Pad {
                width: 50,
                height: 50,
                color: Rgba::WHITE,
            },
        ),
        // Extremes of the documented ranges.
        (
            "type=1&scale=1000",
            Geometry::Scale {
                x_permille: Some(10_000),
                y_permille: Some(10_000),
            },
        ),
        (
            "type=11&width=10000&height=1",
            Geometry::Stretch {
                width: 10_000,
                height: 1,
            },
        ),
    ];
    for (params, geometry) in cases {
        check_ops(
            &format!("iopcmd=thumbnail&{params}"),
            vec![resize(geometry)],
        );
    }
}

#[test]
fn thumbnail_colour_notations() {
    let cases = [
        ("red", Rgba(255, 0, 0, 255)),
        ("Red", Rgba(255, 0, 0, 255)),
        ("rgb(1,2,3)", Rgba(1, 2, 3, 255)),
        ("rgb(%201,%202,%203)", Rgba(1, 2, 3, 255)),
        ("rgba(10,20,30,0.5)", Rgba(10, 20, 30, 128)),
        ("rgba(10,20,30,0)", Rgba(10, 20, 30, 0)),
        ("rgba(10,20,30,1)", Rgba(10, 20, 30, 255)),
        ("%23FF8000", Rgba(255, 128, 0, 255)),
        ("%23ff800080", Rgba(255, 128, 0, 128)),
        ("%23F80", Rgba(255, 136, 0, 255)),
        ("FF8000", Rgba(255, 128, 0, 255)),
        ("transparent", Rgba(0, 0, 0, 0)),
        ("grey", Rgba(128, 128, 128, 255)),
    ];
    for (text, color) in cases {
        check_ops(
            &format!("iopcmd=thumbnail&type=12&width=600&height=600&color={text}"),
            vec![resize(Geometry::Canvas {
                width: 600,
                height: 600,
                color,
            })],
        );
    }
    // A raw `#` would start the URL fragment; a decoded one still parses
    // (styles are stored decoded-equivalent).
    assert!(parse_style("iopcmd=thumbnail&type=15&width=5&height=5&color=#00FF00").is_ok());
    for bad in [
        "nosuchcolour",
        "rgb(1,2)",
        "rgb(1,2,300)",
        "rgba(1,2,3,2)",
        "%23GG0000",
        "%2312345",
        "rgb(1,2,3",
    ] {
        check_err(
            &format!("iopcmd=thumbnail&type=15&width=5&height=5&color={bad}"),
            ErrorKind::InvalidArgument,
            "colour",
        );
    }
}

#[test]
fn thumbnail_gif_modes() {
    let fit = resize(Geometry::Fit {
        width: Some(50),
        height: None,
    });
    check_ops(
        "iopcmd=thumbnail&type=4&width=50&gifmode=2",
        vec![Op::Frames(FrameSelect::First), fit.clone()],
    );
    for mode in [1, 3, 4, 5, 6] {
        check_ops(
            &format!("iopcmd=thumbnail&type=4&width=50&gifmode={mode}&giftimeout=60"),
            vec![fit.clone()],
        );
    }
    check_err(
        "iopcmd=thumbnail&type=4&width=50&gifmode=7",
        ErrorKind::InvalidArgument,
        "gifmode",
    );
    check_err(
        "iopcmd=thumbnail&type=4&width=50&giftimeout=0",
        ErrorKind::InvalidArgument,
        "giftimeout",
    );
}

#[test]
fn thumbnail_errors() {
    let cases = [
        ("type=0&scale=10", ErrorKind::InvalidArgument, "type"),
        ("type=16&scale=10", ErrorKind::InvalidArgument, "type"),
        ("type=x&scale=10", ErrorKind::InvalidArgument, "type"),
        ("scale=10", ErrorKind::MissingArgument, "type"),
        ("type=1", ErrorKind::MissingArgument, "scale"),
        ("type=1&scale=0", ErrorKind::InvalidArgument, "scale"),
        // 1000 % is the current maximum (the old 10000 is refused).
        ("type=1&scale=1001", ErrorKind::InvalidArgument, "scale"),
        ("type=4", ErrorKind::MissingArgument, "width"),
        ("type=4&width=0", ErrorKind::InvalidArgument, "width"),
        ("type=4&width=10001", ErrorKind::InvalidArgument, "width"),
        ("type=5&width=50", ErrorKind::MissingArgument, "height"),
        ("type=6&width=50", ErrorKind::MissingArgument, "height"),
        ("type=8", ErrorKind::MissingArgument, "width"),
        ("type=9", ErrorKind::MissingArgument, "width"),
        ("type=10&width=5", ErrorKind::MissingArgument, "height"),
        ("type=11&height=5", ErrorKind::MissingArgument, "width"),
        ("type=12&width=5", ErrorKind::MissingArgument, "height"),
        ("type=15&width=5", ErrorKind::MissingArgument, "height"),
        (
            "type=4&width=5&widht=6",
            ErrorKind::InvalidArgument,
            "widht",
        ),
        (
            "type=4&width=5&width=6",
            ErrorKind::InvalidArgument,
            "twice",
        ),
    ];
    for (params, kind, needle) in cases {
        check_err(&format!("iopcmd=thumbnail&{params}"), kind, needle);
    }
}

#[test]
fn crop_and_indexcrop() {
    let crop = |width, height, gravity, dx, dy| {
        Op::Crop(Crop {
            width,
            height,
            gravity,
            dx,
            dy,
        })
    };
    let nw = Gravity::NorthWest;
    check_ops(
        "iopcmd=crop&width=100&height=50&ax=10&ay=20",
        vec![crop(Some(100), Some(50), nw, 10, 20)],
    );
    // gravity beats the anchor.
    check_ops(
        "iopcmd=crop&width=100&height=50&ax=10&ay=20&gravity=SouthEast",
        vec![crop(Some(100), Some(50), Gravity::SouthEast, 0, 0)],
    );
    check_ops(
        "iopcmd=crop&width=100&height=100&gravity=center",
        vec![crop(Some(100), Some(100), Gravity::Center, 0, 0)],
    );
    // 0 = to the edge.
    check_ops(
        "iopcmd=crop&width=0&height=50&ax=5",
        vec![crop(None, Some(50), nw, 5, 0)],
    );
    check_ops("iopcmd=crop&ay=7", vec![crop(None, None, nw, 0, 7)]);
    check_err(
        "iopcmd=crop&width=10001",
        ErrorKind::InvalidArgument,
        "width",
    );
    check_err("iopcmd=crop&ax=-1", ErrorKind::InvalidArgument, "ax");
    check_err(
        "iopcmd=crop&width=5&gravity=Middle",
        ErrorKind::InvalidArgument,
        "gravity",
    );

    let strip = |axis, length, index| Op::IndexCrop {
        axis,
        length,
        index,
    };
    check_ops("iopcmd=indexcrop&x=100&i=2", vec![strip(Axis::X, 100, 2)]);
    check_ops("iopcmd=indexcrop&y=30", vec![strip(Axis::Y, 30, 0)]);
    // Both valid: y wins. An index past the end is the executor's "source
    // unchanged", not a parse error.
    check_ops(
        "iopcmd=indexcrop&x=100&y=30&i=1",
        vec![strip(Axis::Y, 30, 1)],
    );
    check_ops(
        "iopcmd=indexcrop&x=1&i=99999",
        vec![strip(Axis::X, 1, 99_999)],
    );
    check_err("iopcmd=indexcrop&i=1", ErrorKind::MissingArgument, "`x`");
    check_err("iopcmd=indexcrop&x=0", ErrorKind::InvalidArgument, "x");
    check_err("iopcmd=indexcrop&y=abc", ErrorKind::InvalidArgument, "y");
    check_err("iopcmd=indexcrop&x=5&i=-1", ErrorKind::InvalidArgument, "i");
}

#[test]
fn shapes_rotation_orientation() {
    check_ops(
        "iopcmd=circle&r=100",
        vec![Op::Circle {
            radius: 100,
            bbox: CircleBox::TwoR,
        }],
    );
    check_ops(
        "iopcmd=circle&r=4096",
        vec![Op::Circle {
            radius: 4096,
            bbox: CircleBox::TwoR,
        }],
    );
    check_err("iopcmd=circle&r=0", ErrorKind::InvalidArgument, "r");
    check_err("iopcmd=circle&r=4097", ErrorKind::InvalidArgument, "r");
    check_err("iopcmd=circle", ErrorKind::MissingArgument, "r");
    check_ops(
        "iopcmd=rounded-corners&r=30",
        vec![Op::RoundedCorners { radius: 30 }],
    );
    check_err(
        "iopcmd=rounded-corners&r=5000",
        ErrorKind::InvalidArgument,
        "r",
    );
    check_ops("iopcmd=rotate&degree=90", vec![Op::Rotate { degrees: 90 }]);
    check_ops("iopcmd=rotate&degree=360", vec![]);
    check_ops("iopcmd=rotate&degree=0", vec![]);
    check_ops("iopcmd=rotate&degree=45", vec![Op::Rotate { degrees: 45 }]);
    check_err(
        "iopcmd=rotate&degree=361",
        ErrorKind::InvalidArgument,
        "degree",
    );
    check_err("iopcmd=rotate", ErrorKind::MissingArgument, "degree");
    check_ops("iopcmd=auto-orient&value=1", vec![Op::AutoOrient]);
    check_ops("iopcmd=auto-orient", vec![Op::AutoOrient]);
    check_ops("iopcmd=auto-orient&value=0", vec![]);
    check_err(
        "iopcmd=auto-orient&value=2",
        ErrorKind::InvalidArgument,
        "value",
    );
}

#[test]
fn bright_and_contrast_with_the_flood_quirk() {
    let white = Op::Flood(Rgb(255, 255, 255));
    let black = Op::Flood(Rgb(0, 0, 0));
    check_ops("iopcmd=bright&value=50", vec![Op::Bright(50)]);
    check_ops("iopcmd=bright&value=-99", vec![Op::Bright(-99)]);
    check_ops("iopcmd=bright&value=100", vec![white.clone()]);
    check_ops("iopcmd=bright&value=-100", vec![black.clone()]);
    check_ops("iopcmd=contrast&value=-30", vec![Op::Contrast(-30)]);
    check_ops("iopcmd=contrast&value=100", vec![white]);
    check_ops("iopcmd=contrast&value=-100", vec![black]);
    check_err(
        "iopcmd=bright&value=101",
        ErrorKind::InvalidArgument,
        "value",
    );
    check_err(
        "iopcmd=contrast&value=-101",
        ErrorKind::InvalidArgument,
        "value",
    );
    check_err("iopcmd=bright", ErrorKind::MissingArgument, "value");
}

#[test]
fn sharpen_and_blur() {
    let sharpen = |sigma_milli| Op::Sharpen {
        sigma_milli,
        amount_percent: 100,
    };
    check_ops("iopcmd=sharpen&radius=5&sigma=2", vec![sharpen(2000)]);
    check_ops("iopcmd=sharpen&sigma=300", vec![sharpen(300_000)]);
    // sigma 0: derived from the radius.
    check_ops("iopcmd=sharpen&radius=10&sigma=0", vec![sharpen(5000)]);
    check_ops("iopcmd=sharpen&radius=0&sigma=0", vec![]);
    check_err(
        "iopcmd=sharpen&sigma=301",
        ErrorKind::InvalidArgument,
        "sigma",
    );
    check_err("iopcmd=sharpen", ErrorKind::MissingArgument, "sigma");

    let blur = |radius, sigma_milli, kind, region| {
        Op::Blur(Blur {
            radius,
            sigma_milli,
            kind,
            region,
        })
    };
    check_ops(
        "iopcmd=blur&type=2&radius=5&sigma=3",
        vec![blur(5, 3000, BlurKind::Gaussian, None)],
    );
    for ordinary in ["type=1&", "type=0&", ""] {
        check_ops(
            &format!("iopcmd=blur&{ordinary}radius=4&sigma=2"),
            vec![blur(4, 2000, BlurKind::Box, None)],
        );
    }
    check_ops(
        "iopcmd=blur&type=2&radius=5&sigma=3&width=100&height=50&ax=10&ay=20",
        vec![blur(
            5,
            3000,
            BlurKind::Gaussian,
            Some(Crop {
                width: Some(100),
                height: Some(50),
                gravity: Gravity::NorthWest,
                dx: 10,
                dy: 20,
            }),
        )],
    );
    check_ops(
        "iopcmd=blur&type=2&radius=5&sigma=3&width=100&height=50&ax=10&gravity=Center",
        vec![blur(
            5,
            3000,
            BlurKind::Gaussian,
            Some(Crop {
                width: Some(100),
                height: Some(50),
                gravity: Gravity::Center,
                dx: 0,
                dy: 0,
            }),
        )],
    );
    // width/height 0 with no offset = the whole image.
    check_ops(
        "iopcmd=blur&type=2&radius=5&sigma=3&width=0&height=0",
        vec![blur(5, 3000, BlurKind::Gaussian, None)],
    );
    check_ops("iopcmd=blur&type=2", vec![]);
    check_err(
        "iopcmd=blur&type=3&radius=1",
        ErrorKind::InvalidArgument,
        "type",
    );
    check_err(
        "iopcmd=blur&radius=51",
        ErrorKind::InvalidArgument,
        "radius",
    );
    check_err("iopcmd=blur&sigma=51", ErrorKind::InvalidArgument, "sigma");
}

#[test]
fn information_commands_are_terminal() {
    let terminal = |ops, t| Pipeline {
        terminal: Some(t),
        ..pipe(ops)
    };
    check("iopcmd=imageinfo", terminal(vec![], Terminal::Info));
    check("iopcmd=exif", terminal(vec![], Terminal::Exif));
    check(
        "iopcmd=averagehue",
        terminal(vec![], Terminal::AverageColor),
    );
    check(
        "iopcmd=rotate&degree=90|iopcmd=imageinfo",
        terminal(vec![Op::Rotate { degrees: 90 }], Terminal::Info),
    );
    check(
        "iopcmd=rotate&degree=90|iopcmd=averagehue",
        terminal(vec![Op::Rotate { degrees: 90 }], Terminal::AverageColor),
    );
    check_err(
        "iopcmd=rotate&degree=90|iopcmd=exif",
        ErrorKind::BadRequest,
        "not available on processed images",
    );
    check_err(
        "iopcmd=imageinfo|iopcmd=rotate&degree=90",
        ErrorKind::BadRequest,
        "last stage",
    );
    check_err(
        "iopcmd=exif|iopcmd=imageinfo",
        ErrorKind::BadRequest,
        "last stage",
    );
    check_err("iopcmd=imageinfo&x=1", ErrorKind::InvalidArgument, "`x`");
    // Case-sensitive, as documented.
    check_err(
        "iopcmd=imageinfo|iopcmd=ImageInfo",
        ErrorKind::BadRequest,
        "last stage",
    );
    check_err(
        "iopcmd=rotate&degree=1|iopcmd=ImageInfo",
        ErrorKind::UnknownAction,
        "ImageInfo",
    );
}

#[test]
fn text_watermark() {
    let text = b64("水印 text");
    let q = format!(
        "iopcmd=watermark&type=1&text={text}&font={}&fontsize=24&fill={}&rotate=30&opacity=50&gravity=SouthEast&ax=5&ay=6",
        b64("FangZhengHeiTi"),
        b64("#FF0000")
    );
    let want = Op::Watermark(Watermark {
        image: None,
        text: Some(WatermarkText {
            text: "水印 text".into(),
            font: Font::FangZhengHeiTi,
            size: 24,
            color: Rgb(255, 0, 0),
            shadow: 0,
            rotate: 30,
        }),
        combine: Combine::default(),
        placement: Placement {
            gravity: Gravity::SouthEast,
            dx: 0,
            dy: 0,
            voffset: 0,
        },
        opacity: 50,
        tile: None,
    });
    check_ops(&q, vec![want]);

    // Defaults: SimSun, 10 px, white, opaque, anchored at (10, 10).
    let want = Op::Watermark(Watermark {
        image: None,
        text: Some(WatermarkText {
            text: "hi".into(),
            font: Font::SimSun,
            size: 10,
            color: Rgb(255, 255, 255),
            shadow: 0,
            rotate: 0,
        }),
        combine: Combine::default(),
        placement: Placement {
            gravity: Gravity::NorthWest,
            dx: 10,
            dy: 10,
            voffset: 0,
        },
        opacity: 100,
        tile: None,
    });
    check_ops(
        &format!("iopcmd=watermark&type=1&text={}", b64("hi")),
        vec![want.clone()],
    );
    // The documented encodings of SimSun (names are case-insensitive) and a
    // named fill; `direction` (removed by the vendor) is ignored.
    for font in ["U2ltU3Vu", "5a6L5L2T", "c2ltc3Vu"] {
        check_ops(
            &format!(
                "iopcmd=watermark&type=1&text={}&font={font}&fill={}&direction=north",
                b64("hi"),
                b64("white")
            ),
            vec![want.clone()],
        );
    }
    let fonts = [
        ("LiShu", Font::LiShu),
        ("FangZhengFangSong", Font::FangZhengFangSong),
        ("FangZhengKaiTi", Font::FangZhengKaiTi),
        ("FangZhengShuSong", Font::FangZhengShuSong),
        ("WenQuanWeiMiHei", Font::WqyMicroHei),
        ("WenQuanYiZhengHei", Font::WqyZenHei),
        ("DroidSansFallback", Font::DroidSansFallback),
    ];
    for (name, font) in fonts {
        let d = parse_query(&format!(
            "iopcmd=watermark&type=1&text={}&font={}",
            b64("x"),
            b64(name)
        ))
        .unwrap();
        let Directive::Pipeline(p) = d else { panic!() };
        let Op::Watermark(w) = &p.ops[0] else {
            panic!()
        };
        assert_eq!(w.text.as_ref().unwrap().font, font, "{name}");
    }

    let errors = [
        ("type=1", ErrorKind::MissingArgument, "text"),
        ("type=3&text=aGk", ErrorKind::InvalidArgument, "type"),
        ("text=aGk", ErrorKind::MissingArgument, "type"),
        ("type=1&text=!!!", ErrorKind::BadRequest, "base64"),
        (
            "type=1&text=aGk&font=Q29taWM",
            ErrorKind::InvalidArgument,
            "font",
        ),
        (
            "type=1&text=aGk&fontsize=101",
            ErrorKind::InvalidArgument,
            "fontsize",
        ),
        (
            "type=1&text=aGk&opacity=0",
            ErrorKind::InvalidArgument,
            "opacity",
        ),
        (
            "type=1&text=aGk&rotate=361",
            ErrorKind::InvalidArgument,
            "rotate",
        ),
        (
            "type=1&text=aGk&fill=cHVjZQ",
            ErrorKind::InvalidArgument,
            "colour",
        ),
        (
            "type=1&text=aGk&imageurl=aGk",
            ErrorKind::InvalidArgument,
            "imageurl",
        ),
    ];
    for (params, kind, needle) in errors {
        check_err(&format!("iopcmd=watermark&{params}"), kind, needle);
    }
}

#[test]
fn image_watermark() {
    let url = b64("http://examplebucket.cn-bj.ufileos.com/wm/logo.png");
    let mark = |key: &str, preprocess, placement, opacity| {
        Op::Watermark(Watermark {
            image: Some(WatermarkImage {
                key: key.into(),
                preprocess,
                scale: None,
                oversize: Default::default(),
            }),
            text: None,
            combine: Combine::default(),
            placement,
            opacity,
            tile: None,
        })
    };
    let at = |gravity, dx, dy| Placement {
        gravity,
        dx,
        dy,
        voffset: 0,
    };
    check_ops(
        &format!("iopcmd=watermark&type=2&imageurl={url}&ax=20&ay=30&opacity=80"),
        vec![mark(
            "wm/logo.png",
            vec![],
            at(Gravity::NorthWest, 20, 30),
            80,
        )],
    );
    check_ops(
        &format!("iopcmd=watermark&type=2&imageurl={url}&gravity=Center"),
        vec![mark("wm/logo.png", vec![], at(Gravity::Center, 0, 0), 100)],
    );
    // Any host, https, a percent-encoded path; iopcmd stages in the URL's
    // query preprocess the mark, its signature is ignored.
    let url = b64(
        "https://cdn.example.com/wm/my%20logo.png?UCloudPublicKey=k&Signature=s&iopcmd=thumbnail&type=1&scale=50",
    );
    check_ops(
        &format!("iopcmd=watermark&type=2&imageurl={url}"),
        vec![mark(
            "wm/my logo.png",
            vec![resize(Geometry::Scale {
                x_permille: Some(500),
                y_permille: Some(500),
            })],
            at(Gravity::NorthWest, 10, 10),
            100,
        )],
    );
    // Pipes inside a watermark's URL are the URL's business, not the
    // request's: they are percent-encoded inside the base64 anyway.
    for bad in [
        "ftp://h/k",
        "examplebucket/wm/logo.png",
        "http://host-only",
        "http://host/",
        "http://h/k?iopcmd=imageinfo",
        "http://h/k?iopcmd=convert&dst=png",
    ] {
        check_err(
            &format!("iopcmd=watermark&type=2&imageurl={}", b64(bad)),
            ErrorKind::InvalidArgument,
            "imageurl",
        );
    }
    check_err(
        "iopcmd=watermark&type=2",
        ErrorKind::MissingArgument,
        "imageurl",
    );
    check_err(
        &format!(
            "iopcmd=watermark&type=2&imageurl={}&fontsize=5",
            b64("http://h/k")
        ),
        ErrorKind::InvalidArgument,
        "fontsize",
    );
}

#[test]
fn convert_and_interlace() {
    let out = |format, quality, progressive| Pipeline {
        output: OutputOptions {
            format: Some(FormatRequest {
                format,
                only_if_source_animated: false,
            }),
            quality,
            progressive,
            interlace_named: progressive,
            ..OutputOptions::default()
        },
        ..pipe(vec![])
    };
    check("iopcmd=convert&dst=png", out(Format::Png, None, false));
    check("iopcmd=convert&dst=bmp", out(Format::Bmp, None, false));
    check(
        "iopcmd=convert&dst=jpg&Q=80",
        out(Format::Jpeg, Some(Quality::Absolute(80)), false),
    );
    check(
        "iopcmd=convert&dst=webp&q=70",
        out(Format::Webp, Some(Quality::Relative(70)), false),
    );
    // Both → Q.
    check(
        "iopcmd=convert&dst=jpg&q=70&Q=60",
        out(Format::Jpeg, Some(Quality::Absolute(60)), false),
    );
    check(
        "iopcmd=convert&dst=png&fr=0.5",
        Pipeline {
            ops: vec![Op::Frames(FrameSelect::AtPermille(500))],
            ..out(Format::Png, None, false)
        },
    );
    check(
        "iopcmd=convert&dst=png&fr=1",
        Pipeline {
            ops: vec![Op::Frames(FrameSelect::AtPermille(1000))],
            ..out(Format::Png, None, false)
        },
    );
    for (params, kind, needle) in [
        ("dst=gif", ErrorKind::InvalidArgument, "dst"),
        ("dst=JPG", ErrorKind::InvalidArgument, "dst"),
        ("Q=80", ErrorKind::MissingArgument, "dst"),
        ("dst=jpg&Q=101", ErrorKind::InvalidArgument, "Q"),
        ("dst=jpg&fr=1.5", ErrorKind::InvalidArgument, "fr"),
        ("dst=jpg&fr=-0.5", ErrorKind::InvalidArgument, "fr"),
        ("dst=jpg&fr=abc", ErrorKind::InvalidArgument, "fr"),
    ] {
        check_err(&format!("iopcmd=convert&{params}"), kind, needle);
    }

    // Interlace converts to progressive JPEG (newest text).
    check("iopcmd=interlace&value=1", out(Format::Jpeg, None, true));
    check("iopcmd=interlace", out(Format::Jpeg, None, true));
    check(
        "iopcmd=interlace&value=0",
        Pipeline {
            output: OutputOptions {
                interlace_named: true,
                ..OutputOptions::default()
            },
            ..pipe(vec![])
        },
    );
    // Output options apply once, the last writer wins.
    check(
        "iopcmd=convert&dst=png|iopcmd=interlace&value=1",
        out(Format::Jpeg, None, true),
    );
    check(
        "iopcmd=interlace&value=1|iopcmd=convert&dst=webp&Q=90",
        out(Format::Webp, Some(Quality::Absolute(90)), true),
    );
}

#[test]
fn pipelines_signatures_and_foreign_parameters() {
    let rotate_then_scale = vec![
        Op::Rotate { degrees: 180 },
        resize(Geometry::Scale {
            x_permille: Some(400),
            y_permille: Some(400),
        }),
    ];
    // The documented example, with raw and encoded pipes.
    for q in [
        "iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40",
        "iopcmd=rotate&degree=180%7Ciopcmd=thumbnail&type=1&scale=40",
        "iopcmd=rotate&degree=180%7ciopcmd=thumbnail&type=1&scale=40",
        "?iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40",
        // Signed URL parameters, wherever they sit.
        "UCloudPublicKey=pk&Signature=abc%3D&Expires=1700000000&iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40",
        "iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40&UCloudPublicKey=pk&Signature=abc%3D&Expires=1",
        "iopcmd=rotate&UCloudPublicKey=pk&degree=180|Signature=x&iopcmd=thumbnail&type=1&scale=40",
        // Other parameters of the GET before the first command.
        "versionId=3&cache=1&iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40",
        "X-Amz-Date=1&iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40&X-Amz-Signature=f",
        // A foreign value that is not even UTF-8 is still not ours.
        "Signature=%FF%FE&iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40",
    ] {
        check_ops(q, rotate_then_scale.clone());
    }
    // The same text is a valid style body.
    assert_eq!(
        parse_style("iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40").unwrap(),
        pipe(rotate_then_scale)
    );

    check_err(
        "iopcmd=rotate&degree=90|degree=90",
        ErrorKind::BadRequest,
        "must begin with `iopcmd=`",
    );
    check_err(
        "iopcmd=rotate&degree=90&iopcmd=rotate&degree=90",
        ErrorKind::BadRequest,
        "one `iopcmd` per stage",
    );
    check_err(
        "iopcmd=rotate&degree=90|",
        ErrorKind::MissingArgument,
        "stage 2",
    );
    check_err("iopcmd=", ErrorKind::MissingArgument, "no command");
    check_err("iopcmd=rotate&degree=%FF", ErrorKind::BadRequest, "UTF-8");
    check_err("foo=1", ErrorKind::MissingArgument, "iopcmd");
    let many = ["iopcmd=rotate&degree=1"; MAX_STAGES + 1].join("|");
    check_err(&many, ErrorKind::TooManyStages, "at most");
    let enough = ["iopcmd=rotate&degree=1"; MAX_STAGES].join("|");
    assert!(parse_query(&enough).is_ok());
    // Unknown parameter inside a stage.
    check_err(
        "iopcmd=rotate&degree=90&degre=5",
        ErrorKind::InvalidArgument,
        "degre",
    );
    // A style body has no foreign parameters.
    let e = parse_style("Signature=x&iopcmd=rotate&degree=90").unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(e.vendor_code.as_deref(), Some(RET_CODE));
}

#[test]
fn styles_and_unknown_commands() {
    let style = |q: &str| match parse_query(q) {
        Ok(Directive::Style(name)) => name,
        other => panic!("{q}: {other:?}"),
    };
    assert_eq!(style("iopstyle=style1"), "style1");
    assert_eq!(
        style("iopstyle=style1&UCloudPublicKey=k&Signature=s"),
        "style1"
    );
    // The beta form.
    assert_eq!(style("iopcmd=style1"), "style1");
    assert_eq!(style("iopcmd=thumb_100.v2&Expires=5"), "thumb_100.v2");
    check_err("iopstyle=", ErrorKind::MissingArgument, "iopstyle");
    check_err(
        "iopstyle=a&iopcmd=rotate&degree=9",
        ErrorKind::BadRequest,
        "cannot be combined",
    );
    check_err(
        "iopstyle=a|iopcmd=rotate&degree=9",
        ErrorKind::BadRequest,
        "cannot be combined",
    );
    check_err("iopstyle=a&iopstyle=b", ErrorKind::BadRequest, "once");
    // An unknown command with parameters or in a pipeline is an error,
    // never the original image.
    check_err("iopcmd=slim&v=1", ErrorKind::UnknownAction, "slim");
    check_err(
        "iopcmd=rotate&degree=9|iopcmd=style1",
        ErrorKind::UnknownAction,
        "style1",
    );
    check_err("iopcmd=th%2Fumb", ErrorKind::UnknownAction, "iopcmd");
    // Inside a style body, neither style form is allowed.
    for body in ["iopcmd=style1", "iopstyle=style1"] {
        let e = parse_style(body).unwrap_err();
        assert_eq!(e.vendor_code.as_deref(), Some(RET_CODE), "{body}");
        assert!(
            matches!(e.kind, ErrorKind::UnknownAction | ErrorKind::BadRequest),
            "{body}: {e}"
        );
    }
    // The conformance fixtures' style1 body.
    assert_eq!(
        parse_style("iopcmd=thumbnail&type=4&width=100").unwrap(),
        pipe(vec![resize(Geometry::Fit {
            width: Some(100),
            height: None
        })])
    );
}

#[test]
fn decimal_helper() {
    assert_eq!(parse_milli("f", "0", 0, 1000).unwrap(), 0);
    assert_eq!(parse_milli("f", "0.25", 0, 1000).unwrap(), 250);
    assert_eq!(parse_milli("f", ".5", 0, 1000).unwrap(), 500);
    assert_eq!(parse_milli("f", "0.33333", 0, 1000).unwrap(), 333);
    assert_eq!(parse_milli("f", "37.5", 0, 100_000).unwrap(), 37_500);
    for bad in ["", ".", "1.", "-1", "1e3", "a", "1.2.3", "99999999999999"] {
        assert!(parse_milli("f", bad, 0, u64::MAX).is_err(), "{bad}");
    }
    let e = parse_milli("fr", "1.5", 0, 1000).unwrap_err();
    assert!(e.message.contains("[0, 1]"), "{}", e.message);
}

#[test]
fn json_renderers() {
    use imaging::{ExifField, ImageInfo};
    let field = |tag: &str, value: &str, type_code| ExifField {
        tag: tag.into(),
        value: value.into(),
        type_code,
    };
    let info = ImageInfo {
        format: Format::Jpeg,
        width: 640,
        height: 480,
        file_size: 12345,
        frame_count: 1,
        quality: Some(90),
        orientation: Some(1),
        exif: vec![field("Orientation", "1", 3)],
    };
    assert_eq!(
        info_json(&info),
        serde_json::json!({"width": 640, "height": 480, "format": "JPEG"})
    );
    assert_eq!(
        info_json(&ImageInfo {
            format: Format::Webp,
            ..info
        })["format"],
        "WEBP"
    );
    assert_eq!(
        exif_json(&[
            field("Orientation", "1", 3),
            field("XResolution", "72/1", 5),
            field("thumbnail:Compression", "6", 3),
        ]),
        serde_json::json!({"Orientation": "1", "XResolution": "72/1", "thumbnail:Compression": "6"})
    );
    assert_eq!(exif_json(&[]), serde_json::json!({}));
    assert_eq!(
        average_hue_json(Rgb(0x73, 0x62, 0x46)),
        serde_json::json!({"RGB": "0x736246"})
    );
    assert_eq!(
        average_hue_json(Rgb(0, 10, 255)),
        serde_json::json!({"RGB": "0x000AFF"})
    );
}

/// The sizes of the vendor's 400×300 table, through the engine's size
/// arithmetic (`imaging::geometry::plan_resize`) under the parsed rounding.
#[test]
fn thumbnail_table_sizes_through_the_engine_arithmetic() {
    let table = [
        ("type=1&scale=10", (40, 30)),
        ("type=2&scale=10", (400, 30)),
        ("type=3&scale=10", (40, 300)),
        ("type=4&width=50", (50, 37)),
        ("type=5&height=50", (66, 50)),
        ("type=6&width=50&height=10", (50, 37)),
        ("type=7&width=50&height=10", (13, 10)),
        ("type=8&width=50", (50, 50)),
        ("type=9&width=50&height=50", (50, 37)),
        ("type=10&width=50&height=50", (66, 50)),
        ("type=11&width=50&height=50", (50, 50)),
        ("type=12&width=600&height=600&color=red", (600, 600)),
        ("type=13&width=50&height=100", (50, 100)),
        ("type=14&width=50&height=50", (50, 37)),
        ("type=15&width=50&height=50&color=red", (50, 50)),
    ];
    for (params, want) in table {
        let q = format!("iopcmd=thumbnail&{params}");
        let Ok(Directive::Pipeline(p)) = parse_query(&q) else {
            panic!("{q}")
        };
        let mut size = (400, 300);
        for op in &p.ops {
            if let Op::Resize(r) = op {
                size = imaging::geometry::plan_resize(size.0, size.1, r, p.rounding).output_size();
            }
        }
        assert_eq!(size, want, "{q}");
    }
}

/// Deterministic fuzzing from a token dictionary: the parser never panics,
/// and every refusal carries the RetCode and a message.
#[test]
fn fuzzed_queries_never_panic() {
    const TOKENS: &[&str] = &[
        "iopcmd=",
        "iopstyle=",
        "thumbnail",
        "crop",
        "indexcrop",
        "watermark",
        "convert",
        "blur",
        "sharpen",
        "bright",
        "exif",
        "imageinfo",
        "averagehue",
        "interlace",
        "circle",
        "&",
        "&",
        "|",
        "%7C",
        "%7c",
        "=",
        "type=",
        "width=",
        "height=",
        "scale=",
        "color=",
        "gravity=",
        "ax=",
        "ay=",
        "x=",
        "y=",
        "i=",
        "r=",
        "degree=",
        "value=",
        "radius=",
        "sigma=",
        "text=",
        "font=",
        "fill=",
        "imageurl=",
        "dst=",
        "Q=",
        "q=",
        "fr=",
        "0",
        "1",
        "15",
        "-1",
        "100",
        "10000",
        "99999999999999999999",
        "0.5",
        ".",
        "%",
        "%2",
        "%23",
        "%FF",
        "rgb(",
        "rgba(",
        ")",
        ",",
        "red",
        "Center",
        "aGk",
        "aHR0cDovL2gvaw",
        "5a6L5L2T",
        "中",
        "Signature=",
        "?",
    ];
    let mut rng = Rng::new(0x2545_F491_4F6C_DD1D);
    for _ in 0..20_000 {
        let len = rng.below(12);
        let q: String = (0..len).map(|_| rng.pick(TOKENS)).collect();
        if let Err(e) = parse_query(&q) {
            assert_eq!(e.vendor_code.as_deref(), Some(RET_CODE), "{q}");
            assert!(!e.message.is_empty(), "{q}");
        }
        let _ = parse_style(&q);
    }
}
