//! Table-driven tests of the OSS parser: every action, default and error.

use super::*;
use crate::common::b64url_encode;
use crate::testing::Rng;
use imaging::{
    Align, Combine, Font, Oversize, Placement, Rgb, Tile, Watermark, WatermarkImage,
    WatermarkScale, WatermarkText,
};
use imaging::{CircleBox, Rounding};

fn b64(s: &str) -> String {
    b64url_encode(s.as_bytes())
}

fn parse(process: &str) -> Result<Pipeline> {
    match parse_process(process)? {
        Directive::Pipeline(p) => Ok(p),
        Directive::Style(s) => panic!("{process}: unexpected style {s}"),
    }
}

/// A pipeline with these ops and default everything else (OSS rounding).
fn ops(ops: Vec<Op>) -> Pipeline {
    Pipeline {
        ops,
        rounding: Rounding::Nearest,
        ..Default::default()
    }
}

fn with_output(output: OutputOptions) -> Pipeline {
    Pipeline {
        output,
        ..ops(vec![])
    }
}

fn check(process: &str, want: Pipeline) {
    match parse(process) {
        Ok(got) => assert_eq!(got, want, "{process}"),
        Err(e) => panic!("{process}: unexpected error {e}"),
    }
}

/// Asserts the error kind, vendor code, and that the message names every
/// string of `names` and the fragment is part of the input.
fn check_err(process: &str, kind: ErrorKind, code: Option<&str>, names: &[&str]) {
    let e = match parse_process(process) {
        Ok(d) => panic!("{process}: expected an error, got {d:?}"),
        Err(e) => e,
    };
    assert_eq!(e.kind, kind, "{process}: {e}");
    assert_eq!(e.vendor_code.as_deref(), code, "{process}: {e}");
    for n in names {
        assert!(
            e.message.contains(n),
            "{process}: message `{}` lacks `{n}`",
            e.message
        );
    }
    assert!(!e.fragment.is_empty(), "{process}: empty fragment");
    assert!(
        process.contains(&e.fragment),
        "{process}: fragment `{}` not in input",
        e.fragment
    );
}

fn resize(geometry: Geometry) -> Op {
    Op::Resize(Resize {
        geometry,
        enlarge: Enlarge::Never,
    })
}

fn resize_allow(geometry: Geometry) -> Op {
    Op::Resize(Resize {
        geometry,
        enlarge: Enlarge::Allow,
    })
}

fn fit(w: Option<u32>, h: Option<u32>) -> Geometry {
    Geometry::Fit {
        width: w,
        height: h,
    }
}

const FIRST: Op = Op::Frames(FrameSelect::First);

#[test]
fn resize_modes_and_defaults() {
    let white = Rgba::WHITE;
    let cases: Vec<(&str, Op)> = vec![
        ("image/resize,w_200", resize(fit(Some(200), None))),
        ("image/resize,h_100", resize(fit(None, Some(100)))),
        ("image/resize,w_150,h_80", resize(fit(Some(150), Some(80)))),
        (
            "image/resize,m_lfit,w_150,h_80",
            resize(fit(Some(150), Some(80))),
        ),
        (
            "image/resize,m_mfit,w_150,h_80",
            resize(Geometry::Cover {
                width: 150,
                height: 80,
            }),
        ),
        ("image/resize,m_mfit,w_150", resize(fit(Some(150), None))),
        (
            "image/resize,m_fill,w_150,h_80",
            resize(Geometry::Fill {
                width: 150,
                height: 80,
            }),
        ),
        (
            "image/resize,m_fill,w_150",
            resize(Geometry::Fill {
                width: 150,
                height: 150,
            }),
        ),
        (
            "image/resize,m_fill,h_70",
            resize(Geometry::Fill {
                width: 70,
                height: 70,
            }),
        ),
        (
            "image/resize,m_pad,w_150,h_80",
            resize(Geometry::Pad {
                width: 150,
                height: 80,
                color: white,
            }),
        ),
        (
            "image/resize,m_pad,h_100,w_100,color_FF0000",
            resize(Geometry::Pad {
                width: 100,
                height: 100,
                color: Rgba(255, 0, 0, 255),
            }),
        ),
        (
            "image/resize,m_pad,w_10,color_00ff7f",
            resize(Geometry::Pad {
                width: 10,
                height: 10,
                color: Rgba(0, 255, 127, 255),
            }),
        ),
        (
            "image/resize,m_fixed,h_100,w_100",
            resize(Geometry::Stretch {
                width: 100,
                height: 100,
            }),
        ),
        (
            "image/resize,m_fixed,w_150,h_80",
            resize(Geometry::Stretch {
                width: 150,
                height: 80,
            }),
        ),
        (
            "image/resize,l_100",
            resize(Geometry::LongShort {
                long: Some(100),
                short: None,
            }),
        ),
        (
            "image/resize,s_50",
            resize(Geometry::LongShort {
                long: None,
                short: Some(50),
            }),
        ),
        (
            "image/resize,l_100,s_50",
            resize(Geometry::LongShort {
                long: Some(100),
                short: Some(50),
            }),
        ),
        // m + w/h → l/s ignored.
        (
            "image/resize,m_lfit,w_100,l_50",
            resize(fit(Some(100), None)),
        ),
        (
            "image/resize,m_fixed,w_100,h_20,s_5",
            resize(Geometry::Stretch {
                width: 100,
                height: 20,
            }),
        ),
        // no m: l/s win over w/h.
        (
            "image/resize,w_100,l_50",
            resize(Geometry::LongShort {
                long: Some(50),
                short: None,
            }),
        ),
        // m with only l/s: long/short.
        (
            "image/resize,m_fill,l_50",
            resize(Geometry::LongShort {
                long: Some(50),
                short: None,
            }),
        ),
        (
            "image/resize,w_500,limit_0",
            resize_allow(fit(Some(500), None)),
        ),
        ("image/resize,w_500,limit_1", resize(fit(Some(500), None))),
        (
            "image/resize,w_16384,h_1",
            resize(fit(Some(16384), Some(1))),
        ),
        // colour without pad: validated, no effect.
        ("image/resize,w_5,color_000000", resize(fit(Some(5), None))),
        ("image/resize,w_5,", resize(fit(Some(5), None))),
        ("image/resize,,w_5", resize(fit(Some(5), None))),
    ];
    for (process, op) in cases {
        check(process, ops(vec![op]));
    }
}

#[test]
fn resize_percent_freezes_gifs() {
    let half = Geometry::Scale {
        x_permille: Some(500),
        y_permille: Some(500),
    };
    check("image/resize,p_50", ops(vec![FIRST, resize(half.clone())]));
    check(
        "image/resize,p_1000,limit_0",
        ops(vec![
            FIRST,
            resize_allow(Geometry::Scale {
                x_permille: Some(10000),
                y_permille: Some(10000),
            }),
        ]),
    );
    check(
        "image/resize,p_1",
        ops(vec![
            FIRST,
            resize(Geometry::Scale {
                x_permille: Some(10),
                y_permille: Some(10),
            }),
        ]),
    );
    // m is irrelevant to p.
    check(
        "image/resize,m_fixed,p_50",
        ops(vec![FIRST, resize(half.clone())]),
    );
    // one freeze per pipeline, inserted before the first freezing action.
    check(
        "image/crop,w_10/resize,p_50/rotate,90",
        ops(vec![
            Op::Crop(Crop {
                width: Some(10),
                height: None,
                gravity: Gravity::NorthWest,
                dx: 0,
                dy: 0,
            }),
            FIRST,
            resize(half),
            Op::Rotate { degrees: 90 },
        ]),
    );
}

#[test]
fn resize_errors() {
    use ErrorKind::*;
    let cases: &[(&str, ErrorKind, Option<&str>, &[&str])] = &[
        (
            "image/resize,w_0,h_0",
            InvalidArgument,
            Some(EC_RESIZE_SIZE),
            &["`w`", "0"],
        ),
        (
            "image/resize,w_100,h_0",
            InvalidArgument,
            Some(EC_RESIZE_SIZE),
            &["`h`"],
        ),
        (
            "image/resize,w_16385",
            InvalidArgument,
            Some(EC_RESIZE_SIZE),
            &["`w`", "16384"],
        ),
        (
            "image/resize,l_0",
            InvalidArgument,
            Some(EC_RESIZE_SIZE),
            &["`l`"],
        ),
        (
            "image/resize,s_abc",
            InvalidArgument,
            Some(EC_RESIZE_SIZE),
            &["`s`", "abc"],
        ),
        (
            "image/resize,m_foo,w_100",
            InvalidArgument,
            Some(EC_RESIZE_MODE),
            &["foo", "lfit"],
        ),
        (
            "image/resize,m_LFIT,w_100",
            InvalidArgument,
            Some(EC_RESIZE_MODE),
            &["LFIT"],
        ),
        (
            "image/resize,p_0",
            InvalidArgument,
            None,
            &["`p`", "[1, 1000]"],
        ),
        ("image/resize,p_1001", InvalidArgument, None, &["`p`"]),
        (
            "image/resize,p_50,w_100",
            InvalidArgument,
            None,
            &["`p`", "`w`"],
        ),
        (
            "image/resize,limit_2,w_1",
            InvalidArgument,
            None,
            &["`limit`"],
        ),
        (
            "image/resize,m_pad,w_1,color_red",
            InvalidArgument,
            None,
            &["red"],
        ),
        (
            "image/resize,m_pad,w_1,color_#FF0000",
            InvalidArgument,
            None,
            &["#FF0000"],
        ),
        (
            "image/resize",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["resize", "`w`"],
        ),
        (
            "image/resize,m_fill",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["resize"],
        ),
        (
            "image/resize,limit_0",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["resize"],
        ),
        (
            "image/resize,w_",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`w`", "no value"],
        ),
        (
            "image/resize,w_1,w_2",
            InvalidArgument,
            None,
            &["`w`", "more than once"],
        ),
        (
            "image/resize,w_1,P_50",
            InvalidArgument,
            None,
            &["`P`", "unknown"],
        ),
        (
            "image/resize,w_1,x_1,zz_2",
            InvalidArgument,
            None,
            &["`x`", "`zz`"],
        ),
        ("image/resize,100", InvalidArgument, None, &["100"]),
        ("image/resize,_100", InvalidArgument, None, &["_100"]),
        (
            "image/resize,w_-5",
            InvalidArgument,
            Some(EC_RESIZE_SIZE),
            &["-5"],
        ),
        (
            "image/resize,w_99999999999999999999",
            InvalidArgument,
            Some(EC_RESIZE_SIZE),
            &["`w`"],
        ),
    ];
    for (process, kind, code, names) in cases {
        check_err(process, *kind, *code, names);
    }
}

#[test]
fn crop() {
    let c = |w, h, g, dx, dy| {
        Op::Crop(Crop {
            width: w,
            height: h,
            gravity: g,
            dx,
            dy,
        })
    };
    let cases: Vec<(&str, Op)> = vec![
        (
            "image/crop,w_100,h_100",
            c(Some(100), Some(100), Gravity::NorthWest, 0, 0),
        ),
        (
            "image/crop,x_10,y_20,w_100,h_50",
            c(Some(100), Some(50), Gravity::NorthWest, 10, 20),
        ),
        ("image/crop,x_10", c(None, None, Gravity::NorthWest, 10, 0)),
        (
            "image/crop,w_0,h_0,y_5",
            c(None, None, Gravity::NorthWest, 0, 5),
        ),
        (
            "image/crop,w_100,h_100,g_center",
            c(Some(100), Some(100), Gravity::Center, 0, 0),
        ),
        (
            "image/crop,w_1,g_nw",
            c(Some(1), None, Gravity::NorthWest, 0, 0),
        ),
        (
            "image/crop,w_1,g_north",
            c(Some(1), None, Gravity::North, 0, 0),
        ),
        (
            "image/crop,w_1,g_ne",
            c(Some(1), None, Gravity::NorthEast, 0, 0),
        ),
        (
            "image/crop,w_1,g_west",
            c(Some(1), None, Gravity::West, 0, 0),
        ),
        (
            "image/crop,w_1,g_east",
            c(Some(1), None, Gravity::East, 0, 0),
        ),
        (
            "image/crop,w_1,g_sw",
            c(Some(1), None, Gravity::SouthWest, 0, 0),
        ),
        (
            "image/crop,w_1,g_south",
            c(Some(1), None, Gravity::South, 0, 0),
        ),
        (
            "image/crop,w_1,g_se,x_3,y_4",
            c(Some(1), None, Gravity::SouthEast, 3, 4),
        ),
        ("image/crop,g_se", c(None, None, Gravity::SouthEast, 0, 0)),
        (
            "image/crop,w_30000,h_30000,x_30000,y_30000",
            c(Some(30000), Some(30000), Gravity::NorthWest, 30000, 30000),
        ),
    ];
    for (process, op) in cases {
        check(process, ops(vec![op]));
    }
    use ErrorKind::*;
    let errors: &[(&str, ErrorKind, Option<&str>, &[&str])] = &[
        (
            "image/crop,w_100,g_NW",
            InvalidArgument,
            Some(EC_BAD_GRAVITY),
            &["NW", "gravity"],
        ),
        (
            "image/crop,w_100,g_northwest",
            InvalidArgument,
            Some(EC_BAD_GRAVITY),
            &["northwest"],
        ),
        (
            "image/crop,w_100,g_",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`g`"],
        ),
        (
            "image/crop",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["crop"],
        ),
        ("image/crop,x_-1", InvalidArgument, None, &["`x`", "-1"]),
        ("image/crop,w_30001", InvalidArgument, None, &["`w`"]),
        ("image/crop,w_1,r_5", InvalidArgument, None, &["`r`"]),
        ("image/crop,w_abc", InvalidArgument, None, &["abc"]),
    ];
    for (process, kind, code, names) in errors {
        check_err(process, *kind, *code, names);
    }
}

#[test]
fn indexcrop() {
    let ic = |axis, length, index| Op::IndexCrop {
        axis,
        length,
        index,
    };
    let cases: Vec<(&str, Op)> = vec![
        ("image/indexcrop,x_100,i_0", ic(Axis::X, 100, 0)),
        ("image/indexcrop,x_100", ic(Axis::X, 100, 0)),
        ("image/indexcrop,y_50,i_3", ic(Axis::Y, 50, 3)),
        // both valid: y wins.
        ("image/indexcrop,x_100,y_50,i_1", ic(Axis::Y, 50, 1)),
        ("image/indexcrop,i_1,y_50,x_100", ic(Axis::Y, 50, 1)),
        // a large index is not an error (the source comes back unchanged).
        ("image/indexcrop,x_10,i_999999", ic(Axis::X, 10, 999_999)),
    ];
    for (process, op) in cases {
        check(process, ops(vec![op]));
    }
    use ErrorKind::*;
    let errors: &[(&str, ErrorKind, Option<&str>, &[&str])] = &[
        (
            "image/indexcrop,x_0,i_0",
            InvalidArgument,
            Some(EC_INDEX_RANGE),
            &["`x`", "0"],
        ),
        (
            "image/indexcrop,y_0",
            InvalidArgument,
            Some(EC_INDEX_RANGE),
            &["`y`"],
        ),
        (
            "image/indexcrop,x_30001",
            InvalidArgument,
            Some(EC_INDEX_RANGE),
            &["`x`"],
        ),
        (
            "image/indexcrop,y_abc",
            InvalidArgument,
            Some(EC_INDEX_NOT_NUMBER),
            &["`y`", "abc"],
        ),
        (
            "image/indexcrop,x_1.5",
            InvalidArgument,
            Some(EC_INDEX_NOT_NUMBER),
            &["1.5"],
        ),
        (
            "image/indexcrop,x_10,i_x",
            InvalidArgument,
            Some(EC_INDEX_NOT_NUMBER),
            &["`i`"],
        ),
        (
            "image/indexcrop,x_10,i_-1",
            InvalidArgument,
            Some(EC_INDEX_RANGE),
            &["`i`"],
        ),
        (
            "image/indexcrop,x_0,y_10",
            InvalidArgument,
            Some(EC_INDEX_RANGE),
            &["`x`"],
        ),
        (
            "image/indexcrop,i_1",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`x`", "`y`"],
        ),
        ("image/indexcrop,x_10,g_se", InvalidArgument, None, &["`g`"]),
    ];
    for (process, kind, code, names) in errors {
        check_err(process, *kind, *code, names);
    }
}

#[test]
fn circle_and_rounded_corners() {
    check(
        "image/circle,r_100",
        ops(vec![Op::Circle {
            radius: 100,
            bbox: CircleBox::TwoRPlusOne,
        }]),
    );
    check(
        "image/circle,r_1",
        ops(vec![Op::Circle {
            radius: 1,
            bbox: CircleBox::TwoRPlusOne,
        }]),
    );
    check(
        "image/circle,r_4096",
        ops(vec![Op::Circle {
            radius: 4096,
            bbox: CircleBox::TwoRPlusOne,
        }]),
    );
    check(
        "image/rounded-corners,r_10",
        ops(vec![Op::RoundedCorners { radius: 10 }]),
    );
    check(
        "image/rounded-corners,r_4096",
        ops(vec![Op::RoundedCorners { radius: 4096 }]),
    );
    use ErrorKind::*;
    let errors: &[(&str, ErrorKind, Option<&str>, &[&str])] = &[
        (
            "image/circle",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`r`"],
        ),
        (
            "image/circle,r_0",
            InvalidArgument,
            None,
            &["`r`", "[1, 4096]"],
        ),
        ("image/circle,r_4097", InvalidArgument, None, &["`r`"]),
        ("image/circle,100", InvalidArgument, None, &["100"]),
        (
            "image/rounded-corners",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`r`"],
        ),
        ("image/rounded-corners,r_0", InvalidArgument, None, &["`r`"]),
        (
            "image/rounded-corners,r_10,x_1",
            InvalidArgument,
            None,
            &["`x`"],
        ),
    ];
    for (process, kind, code, names) in errors {
        check_err(process, *kind, *code, names);
    }
}

#[test]
fn rotate() {
    check(
        "image/rotate,90",
        ops(vec![FIRST, Op::Rotate { degrees: 90 }]),
    );
    check(
        "image/rotate,359",
        ops(vec![FIRST, Op::Rotate { degrees: 359 }]),
    );
    check(
        "image/rotate,1",
        ops(vec![FIRST, Op::Rotate { degrees: 1 }]),
    );
    // 0 and 360 (≡ 0) rotate nothing; bare rotate is 0.
    check("image/rotate,0", ops(vec![]));
    check("image/rotate,360", ops(vec![]));
    check("image/rotate", ops(vec![]));
    assert_eq!(
        parse("image/rotate,360").unwrap(),
        parse("image/rotate,0").unwrap()
    );
    use ErrorKind::*;
    let errors: &[(&str, ErrorKind, Option<&str>, &[&str])] = &[
        (
            "image/rotate,361",
            InvalidArgument,
            Some(EC_ROTATE),
            &["rotate", "[0, 360]", "361"],
        ),
        (
            "image/rotate,400",
            InvalidArgument,
            Some(EC_ROTATE),
            &["400"],
        ),
        (
            "image/rotate,-90",
            InvalidArgument,
            Some(EC_ROTATE),
            &["-90"],
        ),
        (
            "image/rotate,abc",
            InvalidArgument,
            Some(EC_ROTATE),
            &["abc"],
        ),
        (
            "image/rotate,90,180",
            InvalidArgument,
            Some(EC_ROTATE),
            &["180"],
        ),
        (
            "image/rotate,d_90",
            InvalidArgument,
            Some(EC_ROTATE),
            &["`d`"],
        ),
    ];
    for (process, kind, code, names) in errors {
        check_err(process, *kind, *code, names);
    }
}

#[test]
fn auto_orient_is_hoisted() {
    // Documented example: resize,w_100/auto-orient,1 orients first.
    check(
        "image/resize,w_100/auto-orient,1",
        ops(vec![Op::AutoOrient, resize(fit(Some(100), None))]),
    );
    check("image/auto-orient,1", ops(vec![Op::AutoOrient]));
    check("image/auto-orient", ops(vec![Op::AutoOrient]));
    check("image/auto-orient,0", ops(vec![]));
    check(
        "image/resize,w_100/auto-orient,0",
        ops(vec![resize(fit(Some(100), None))]),
    );
    // At most once, even when repeated.
    check(
        "image/auto-orient,1/rotate,90/auto-orient,1",
        ops(vec![Op::AutoOrient, FIRST, Op::Rotate { degrees: 90 }]),
    );
    check_err(
        "image/auto-orient,2",
        ErrorKind::InvalidArgument,
        None,
        &["auto-orient", "2"],
    );
    check_err(
        "image/auto-orient,v_1",
        ErrorKind::InvalidArgument,
        None,
        &["`v`"],
    );
}

#[test]
fn bright_contrast_sharpen_blur() {
    check("image/bright,50", ops(vec![Op::Bright(50)]));
    check("image/bright,-100", ops(vec![Op::Bright(-100)]));
    check("image/bright,0", ops(vec![Op::Bright(0)]));
    check("image/contrast,100", ops(vec![Op::Contrast(100)]));
    check("image/contrast,-50", ops(vec![Op::Contrast(-50)]));
    check(
        "image/sharpen,100",
        ops(vec![Op::Sharpen {
            sigma_milli: 1000,
            amount_percent: 100,
        }]),
    );
    check(
        "image/sharpen,50",
        ops(vec![Op::Sharpen {
            sigma_milli: 1000,
            amount_percent: 50,
        }]),
    );
    check(
        "image/sharpen,399",
        ops(vec![Op::Sharpen {
            sigma_milli: 1000,
            amount_percent: 399,
        }]),
    );
    let blur = |r: u32, s: u32| {
        Op::Blur(Blur {
            radius: r,
            sigma_milli: s * 1000,
            kind: BlurKind::Gaussian,
            region: None,
        })
    };
    check("image/blur,r_3,s_2", ops(vec![blur(3, 2)]));
    check("image/blur,s_50,r_50", ops(vec![blur(50, 50)]));
    check("image/blur,r_1,s_1", ops(vec![blur(1, 1)]));
    use ErrorKind::*;
    let errors: &[(&str, ErrorKind, Option<&str>, &[&str])] = &[
        (
            "image/bright",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["bright"],
        ),
        (
            "image/bright,101",
            InvalidArgument,
            None,
            &["bright", "[-100, 100]"],
        ),
        ("image/bright,-101", InvalidArgument, None, &["-101"]),
        (
            "image/contrast,x",
            InvalidArgument,
            None,
            &["contrast", "`x`"],
        ),
        (
            "image/contrast",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["contrast"],
        ),
        (
            "image/sharpen,49",
            InvalidArgument,
            None,
            &["sharpen", "[50, 399]"],
        ),
        ("image/sharpen,400", InvalidArgument, None, &["400"]),
        (
            "image/sharpen",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["sharpen"],
        ),
        (
            "image/blur,r_3",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`s`"],
        ),
        (
            "image/blur,s_3",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`r`"],
        ),
        (
            "image/blur,r_0,s_1",
            InvalidArgument,
            None,
            &["`r`", "[1, 50]"],
        ),
        ("image/blur,r_1,s_51", InvalidArgument, None, &["`s`"]),
        ("image/blur,3,2", InvalidArgument, None, &["3"]),
    ];
    for (process, kind, code, names) in errors {
        check_err(process, *kind, *code, names);
    }
}

#[test]
fn output_options() {
    let fmt = |format, only| OutputOptions {
        format: Some(FormatRequest {
            format,
            only_if_source_animated: only,
        }),
        ..Default::default()
    };
    for (v, f) in [
        ("jpg", Format::Jpeg),
        ("jpeg", Format::Jpeg),
        ("png", Format::Png),
        ("webp", Format::Webp),
        ("bmp", Format::Bmp),
        ("tiff", Format::Tiff),
        ("heic", Format::Heic),
        ("avif", Format::Avif),
    ] {
        check(&format!("image/format,{v}"), with_output(fmt(f, false)));
    }
    check("image/format,gif", with_output(fmt(Format::Gif, true)));
    // Format is an output option wherever it is written; the last one wins.
    check(
        "image/format,png/resize,w_10",
        Pipeline {
            output: fmt(Format::Png, false),
            ..ops(vec![resize(fit(Some(10), None))])
        },
    );
    check(
        "image/format,png/format,webp",
        with_output(fmt(Format::Webp, false)),
    );
    let q = |quality| OutputOptions {
        quality: Some(quality),
        ..Default::default()
    };
    check("image/quality,q_90", with_output(q(Quality::Relative(90))));
    check("image/quality,Q_80", with_output(q(Quality::Absolute(80))));
    check(
        "image/quality,q_90,Q_80",
        with_output(q(Quality::Absolute(80))),
    );
    check(
        "image/quality,Q_80,q_90",
        with_output(q(Quality::Absolute(80))),
    );
    check("image/quality,q_1", with_output(q(Quality::Relative(1))));
    check(
        "image/quality,Q_100",
        with_output(q(Quality::Absolute(100))),
    );
    check(
        "image/interlace,1",
        with_output(OutputOptions {
            progressive: true,
            interlace_named: true,
            ..Default::default()
        }),
    );
    check(
        "image/interlace,0",
        with_output(OutputOptions {
            interlace_named: true,
            ..Default::default()
        }),
    );
    // The vendor's documented examples.
    check(
        "image/format,jpg/interlace,1",
        with_output(OutputOptions {
            progressive: true,
            interlace_named: true,
            ..fmt(Format::Jpeg, false)
        }),
    );
    check(
        "image/interlace,1/format,jpg",
        with_output(OutputOptions {
            progressive: true,
            interlace_named: true,
            ..fmt(Format::Jpeg, false)
        }),
    );
    check(
        "image/resize,w_200/format,gif",
        Pipeline {
            output: fmt(Format::Gif, true),
            ..ops(vec![resize(fit(Some(200), None))])
        },
    );
    use ErrorKind::*;
    let errors: &[(&str, ErrorKind, Option<&str>, &[&str])] = &[
        (
            "image/format",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["format", "value"],
        ),
        (
            "image/format,",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["format"],
        ),
        ("image/format,jxl", InvalidArgument, None, &["jxl"]),
        ("image/format,JPG", InvalidArgument, None, &["JPG"]),
        ("image/format,jpg,png", InvalidArgument, None, &["png"]),
        (
            "image/quality",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`q`", "`Q`"],
        ),
        (
            "image/quality,q_0",
            InvalidArgument,
            None,
            &["`q`", "[1, 100]"],
        ),
        ("image/quality,Q_101", InvalidArgument, None, &["`Q`"]),
        ("image/quality,q_50,Q_0", InvalidArgument, None, &["`Q`"]),
        ("image/quality,90", InvalidArgument, None, &["90"]),
        (
            "image/interlace",
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["interlace"],
        ),
        (
            "image/interlace,2",
            InvalidArgument,
            None,
            &["interlace", "2"],
        ),
    ];
    for (process, kind, code, names) in errors {
        check_err(process, *kind, *code, names);
    }
}

fn placement(gravity: Gravity, dx: i32, dy: i32, voffset: i32) -> Placement {
    Placement {
        gravity,
        dx,
        dy,
        voffset,
    }
}

fn image_mark(key: &str) -> WatermarkImage {
    WatermarkImage {
        key: key.into(),
        preprocess: vec![],
        scale: None,
        oversize: Oversize::Shrink,
    }
}

fn text_mark(text: &str) -> WatermarkText {
    WatermarkText {
        text: text.into(),
        font: Font::WqyZenHei,
        size: 40,
        color: Rgb(0, 0, 0),
        shadow: 0,
        rotate: 0,
    }
}

fn default_mark() -> Watermark {
    Watermark {
        image: None,
        text: None,
        combine: Combine {
            text_first: false,
            align: Align::Top,
            interval: 0,
        },
        placement: placement(Gravity::SouthEast, 10, 10, 0),
        opacity: 100,
        tile: None,
    }
}

fn parse_mark(process: &str) -> Watermark {
    let p = parse(process).unwrap_or_else(|e| panic!("{process}: {e}"));
    match p.ops.as_slice() {
        [Op::Watermark(w)] => w.clone(),
        other => panic!("{process}: {other:?}"),
    }
}

#[test]
fn watermark_image_defaults_and_seed_example() {
    // panda.png = cGFuZGEucG5n (Alibaba's documented example).
    assert_eq!(b64("panda.png"), "cGFuZGEucG5n");
    let w = parse_mark("image/watermark,image_cGFuZGEucG5n");
    assert_eq!(
        w,
        Watermark {
            image: Some(image_mark("panda.png")),
            ..default_mark()
        }
    );
    let w = parse_mark("image/watermark,image_cGFuZGEucG5n,t_90,g_se,x_10,y_10");
    assert_eq!(
        w,
        Watermark {
            image: Some(image_mark("panda.png")),
            opacity: 90,
            ..default_mark()
        }
    );
    // Alibaba's documented style example: panda_style.
    let p = parse(
        "image/resize,m_fill,w_300,h_300,limit_0/auto-orient,0/quality,q_90/watermark,image_cGFuZGEucG5n,t_61,g_se,y_10,x_10",
    )
    .unwrap();
    assert_eq!(
        p,
        Pipeline {
            output: OutputOptions {
                quality: Some(Quality::Relative(90)),
                ..Default::default()
            },
            ..ops(vec![
                resize_allow(Geometry::Fill {
                    width: 300,
                    height: 300
                }),
                Op::Watermark(Watermark {
                    image: Some(image_mark("panda.png")),
                    opacity: 61,
                    ..default_mark()
                }),
            ])
        }
    );
    // Alibaba's documented chain with auto-orient after resize: hoisted.
    let p = parse(
        "image/resize,w_300,h_300/auto-orient,1/quality,q_90/format,jpg/watermark,image_cGFuZGEucG5n,t_90,g_se,x_10,y_10",
    )
    .unwrap();
    assert_eq!(p.ops[0], Op::AutoOrient);
    assert_eq!(p.ops[1], resize(fit(Some(300), Some(300))));
    assert_eq!(p.asset_keys(), vec!["panda.png".to_string()]);
}

#[test]
fn watermark_image_with_nested_process() {
    // Alibaba's example: the encoded name of wm/logo.png?x-oss-process=image/resize,P_50.
    let enc = "d20vbG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF81MA";
    assert_eq!(b64("wm/logo.png?x-oss-process=image/resize,P_50"), enc);
    let w = parse_mark(&format!("image/watermark,image_{enc},g_center"));
    assert_eq!(
        w.image,
        Some(WatermarkImage {
            key: "wm/logo.png".into(),
            preprocess: vec![],
            scale: Some(WatermarkScale::PercentOfWidth(50)),
            oversize: Oversize::Shrink,
        })
    );
    assert_eq!(w.placement.gravity, Gravity::Center);
    // Padded form is accepted as well.
    let w2 = parse_mark(&format!("image/watermark,image_{enc}==,g_center"));
    assert_eq!(w, w2);
    // Preprocessing with resize, crop, rotate, indexcrop, rounded-corners, and P.
    let key = "panda.png?x-oss-process=image/resize,w_50,P_30/crop,w_40,g_center/rotate,90/indexcrop,x_10/rounded-corners,r_5";
    let w = parse_mark(&format!("image/watermark,image_{}", b64(key)));
    let img = w.image.unwrap();
    assert_eq!(img.key, "panda.png");
    assert_eq!(img.scale, Some(WatermarkScale::PercentOfWidth(30)));
    assert_eq!(
        img.preprocess,
        vec![
            resize(fit(Some(50), None)),
            Op::Crop(Crop {
                width: Some(40),
                height: None,
                gravity: Gravity::Center,
                dx: 0,
                dy: 0
            }),
            Op::Rotate { degrees: 90 },
            Op::IndexCrop {
                axis: Axis::X,
                length: 10,
                index: 0
            },
            Op::RoundedCorners { radius: 5 },
        ]
    );
    // Seed example "panda.png?x-oss-process=image/resize,w_50".
    let w = parse_mark(&format!(
        "image/watermark,image_{}",
        b64("panda.png?x-oss-process=image/resize,w_50")
    ));
    assert_eq!(
        w.image.unwrap().preprocess,
        vec![resize(fit(Some(50), None))]
    );
    // Errors inside the nested process: the fragment is the outer `image_`
    // parameter, the message quotes the nested part.
    use ErrorKind::*;
    let bad = |nested: &str| format!("image/watermark,image_{}", b64(nested));
    let pre = Some(EC_PREPROCESS);
    let errors: Vec<(String, ErrorKind, Option<&str>, &[&str])> = vec![
        (
            bad("a.png?x-oss-process=image/circle,r_5"),
            InvalidArgument,
            pre,
            &["circle", "not allowed", "circle,r_5"],
        ),
        (
            bad("a.png?x-oss-process=image/watermark,image_YS5wbmc"),
            InvalidArgument,
            pre,
            &["watermark", "not allowed"],
        ),
        (
            bad("a.png?x-oss-process=image/auto-orient,1"),
            InvalidArgument,
            pre,
            &["auto-orient"],
        ),
        (
            bad("a.png?x-oss-process=image/slim,1"),
            InvalidArgument,
            Some(EC_UNKNOWN_ACTION),
            &["slim"],
        ),
        (
            bad("a.png?x-oss-process=image/resize,P_0"),
            InvalidArgument,
            pre,
            &["`P`", "P_0"],
        ),
        (
            bad("a.png?x-oss-process=image/resize,P_101"),
            InvalidArgument,
            pre,
            &["`P`"],
        ),
        (
            bad("a.png?x-oss-process=image/resize,m_x,w_1"),
            InvalidArgument,
            Some(EC_RESIZE_MODE),
            &["`x`"],
        ),
        (
            bad("a.png?x-oss-process=image/resize,P_5/resize,P_6"),
            InvalidArgument,
            pre,
            &["`P`", "more than once"],
        ),
        (
            bad("a.png?x-oss-process=image/rotate,400"),
            InvalidArgument,
            Some(EC_ROTATE),
            &["400"],
        ),
        (
            bad("a.png?x-oss-process=style/x"),
            InvalidArgument,
            pre,
            &["image/"],
        ),
        (
            bad("a.png?x-oss-process="),
            InvalidArgument,
            pre,
            &["image/"],
        ),
        (
            bad("a.png?x-oss-process=image/"),
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["no action"],
        ),
        (
            bad("?x-oss-process=image/resize,P_5"),
            InvalidArgument,
            None,
            &["empty"],
        ),
        (
            bad(""),
            MissingArgument,
            Some(EC_MISSING_VALUE),
            &["`image`"],
        ),
        (bad("/abs.png"), InvalidArgument, None, &["/abs.png"]),
    ];
    for (process, kind, code, names) in &errors {
        check_err(process, *kind, *code, names);
        let e = parse_process(process).unwrap_err();
        assert!(
            e.fragment.starts_with("image_"),
            "{process}: {}",
            e.fragment
        );
    }
}

#[test]
fn watermark_text_and_fonts() {
    // "Hello" text, every default.
    let w = parse_mark(&format!("image/watermark,text_{}", b64("Hello")));
    assert_eq!(
        w,
        Watermark {
            text: Some(text_mark("Hello")),
            ..default_mark()
        }
    );
    let fonts = [
        ("d3F5LXplbmhlaQ", Font::WqyZenHei),
        ("D3F5LXplbmhlaQ==", Font::WqyZenHei),
        ("d3F5LW1pY3JvaGVp", Font::WqyMicroHei),
        ("ZmFuZ3poZW5nc2h1c29uZw==", Font::FangZhengShuSong),
        ("ZmFuZ3poZW5na2FpdGk", Font::FangZhengKaiTi),
        ("ZmFuZ3poZW5naGVpdGk=", Font::FangZhengHeiTi),
        ("ZmFuZ3poZW5nZmFuZ3Nvbmc", Font::FangZhengFangSong),
        ("ZHJvaWRzYW5zZmFsbGJhY2s=", Font::DroidSansFallback),
    ];
    for (enc, font) in fonts {
        if enc.starts_with('D') {
            // The vendor's table prints the first letter upper-cased
            // ("D3F5..."), which decodes to other bytes: refused.
            let e = parse_process(&format!("image/watermark,text_SGk,type_{enc}")).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            continue;
        }
        let w = parse_mark(&format!("image/watermark,text_SGk,type_{enc}"));
        assert_eq!(w.text.unwrap().font, font, "{enc}");
    }
    // Every text companion.
    let w = parse_mark(&format!(
        "image/watermark,text_{},color_FF0000,size_1000,shadow_50,rotate_360,t_0,g_nw,x_0,y_4096,voffset_-1000",
        b64("中文水印")
    ));
    assert_eq!(
        w,
        Watermark {
            text: Some(WatermarkText {
                color: Rgb(255, 0, 0),
                size: 1000,
                shadow: 50,
                rotate: 0,
                ..text_mark("中文水印")
            }),
            opacity: 0,
            placement: placement(Gravity::NorthWest, 0, 4096, -1000),
            ..default_mark()
        }
    );
    // Colour as base64 of #RRGGBB (2019 manual).
    let w = parse_mark(&format!(
        "image/watermark,text_SGk,color_{}",
        b64("#00FF00")
    ));
    assert_eq!(w.text.unwrap().color, Rgb(0, 255, 0));
    let w = parse_mark("image/watermark,text_SGk,color_00ff00,rotate_45,size_1");
    let t = w.text.unwrap();
    assert_eq!((t.color, t.rotate, t.size), (Rgb(0, 255, 0), 45, 1));
    // 64 characters is fine.
    let long = "字".repeat(64);
    assert_eq!(
        parse_mark(&format!("image/watermark,text_{}", b64(&long)))
            .text
            .unwrap()
            .text,
        long
    );
}

#[test]
fn watermark_combined_and_tiled() {
    let w = parse_mark(&format!(
        "image/watermark,image_cGFuZGEucG5n,text_{},order_1,align_1,interval_20,fill_1,padx_5,pady_6,g_west,voffset_30",
        b64("hi")
    ));
    assert_eq!(
        w,
        Watermark {
            image: Some(image_mark("panda.png")),
            text: Some(text_mark("hi")),
            combine: Combine {
                text_first: true,
                align: Align::Center,
                interval: 20
            },
            placement: placement(Gravity::West, 10, 10, 30),
            opacity: 100,
            tile: Some(Tile {
                padx: 5,
                pady: 6,
                degrees: 0
            }),
        }
    );
    let w = parse_mark("image/watermark,text_aGk,align_2,order_0,fill_0,padx_100");
    assert_eq!(
        w.combine,
        Combine {
            text_first: false,
            align: Align::Bottom,
            interval: 0
        }
    );
    assert_eq!(w.tile, None);
}

#[test]
fn watermark_errors() {
    use ErrorKind::*;
    let long = b64(&"a".repeat(65));
    let bad_font = b64("comic-sans");
    let cases: Vec<(String, ErrorKind, Option<&str>, Vec<&str>)> = vec![
        (
            "image/watermark,t_50".into(),
            MissingArgument,
            Some(EC_MISSING_VALUE),
            vec!["`image`", "`text`"],
        ),
        (
            "image/watermark".into(),
            MissingArgument,
            Some(EC_MISSING_VALUE),
            vec!["`image`"],
        ),
        (
            format!("image/watermark,text_{long}"),
            InvalidArgument,
            None,
            vec!["65", "64"],
        ),
        (
            format!("image/watermark,text_SGk,type_{bad_font}"),
            InvalidArgument,
            None,
            vec!["comic-sans", "wqy-zenhei"],
        ),
        (
            "image/watermark,text_SGk,color_red".into(),
            InvalidArgument,
            None,
            vec!["red"],
        ),
        (
            "image/watermark,text_SGk,color_FFFFF".into(),
            InvalidArgument,
            None,
            vec!["FFFFF"],
        ),
        (
            "image/watermark,text_SGk,size_0".into(),
            InvalidArgument,
            None,
            vec!["`size`"],
        ),
        (
            "image/watermark,text_SGk,size_1001".into(),
            InvalidArgument,
            None,
            vec!["`size`"],
        ),
        (
            "image/watermark,text_SGk,shadow_0".into(),
            InvalidArgument,
            None,
            vec!["`shadow`"],
        ),
        (
            "image/watermark,text_SGk,shadow_101".into(),
            InvalidArgument,
            None,
            vec!["`shadow`"],
        ),
        (
            "image/watermark,text_SGk,rotate_361".into(),
            InvalidArgument,
            None,
            vec!["`rotate`"],
        ),
        (
            "image/watermark,text_SGk,t_101".into(),
            InvalidArgument,
            None,
            vec!["`t`"],
        ),
        (
            "image/watermark,text_SGk,g_SE".into(),
            InvalidArgument,
            Some(EC_BAD_GRAVITY),
            vec!["SE"],
        ),
        (
            "image/watermark,text_SGk,x_4097".into(),
            InvalidArgument,
            None,
            vec!["`x`"],
        ),
        (
            "image/watermark,text_SGk,y_-1".into(),
            InvalidArgument,
            None,
            vec!["`y`"],
        ),
        (
            "image/watermark,text_SGk,voffset_1001".into(),
            InvalidArgument,
            None,
            vec!["`voffset`"],
        ),
        (
            "image/watermark,text_SGk,fill_2".into(),
            InvalidArgument,
            None,
            vec!["`fill`"],
        ),
        (
            "image/watermark,text_SGk,padx_4097".into(),
            InvalidArgument,
            None,
            vec!["`padx`"],
        ),
        (
            "image/watermark,text_SGk,order_2".into(),
            InvalidArgument,
            None,
            vec!["`order`"],
        ),
        (
            "image/watermark,text_SGk,align_3".into(),
            InvalidArgument,
            None,
            vec!["`align`"],
        ),
        (
            "image/watermark,text_SGk,interval_1001".into(),
            InvalidArgument,
            None,
            vec!["`interval`"],
        ),
        (
            "image/watermark,text_SGk,P_10".into(),
            InvalidArgument,
            None,
            vec!["`P`"],
        ),
        (
            "image/watermark,text_SGk,foo_1,bar_2".into(),
            InvalidArgument,
            None,
            vec!["`foo`", "`bar`"],
        ),
        // Undecodable base64: the documented message.
        (
            "image/watermark,text_!!!".into(),
            BadRequest,
            None,
            vec!["Input is not base64 decoding."],
        ),
        (
            "image/watermark,image_a".into(),
            BadRequest,
            None,
            vec!["Input is not base64 decoding."],
        ),
        (
            "image/watermark,text_SGk,type_@@".into(),
            BadRequest,
            None,
            vec!["Input is not base64 decoding."],
        ),
        // Text companions are validated even on an image mark.
        (
            "image/watermark,image_cGFuZGEucG5n,size_0".into(),
            InvalidArgument,
            None,
            vec!["`size`"],
        ),
    ];
    for (process, kind, code, names) in &cases {
        check_err(process, *kind, *code, names);
    }
    // An empty text value is missing.
    check_err(
        "image/watermark,text_",
        MissingArgument,
        Some(EC_MISSING_VALUE),
        &["`text`"],
    );
    // At most three image watermarks.
    let four = "image/watermark,image_cGFuZGEucG5n".to_string()
        + &"/watermark,image_cGFuZGEucG5n".repeat(3);
    check_err(&four, InvalidArgument, None, &["3"]);
    let three = "image/watermark,image_cGFuZGEucG5n".to_string()
        + &"/watermark,image_cGFuZGEucG5n".repeat(2)
        + "/watermark,text_SGk";
    assert_eq!(parse(&three).unwrap().ops.len(), 4);
}

#[test]
fn info_and_average_hue() {
    check(
        "image/info",
        Pipeline {
            terminal: Some(Terminal::Info),
            ..ops(vec![])
        },
    );
    check(
        "image/info/",
        Pipeline {
            terminal: Some(Terminal::Info),
            ..ops(vec![])
        },
    );
    check(
        "image/average-hue",
        Pipeline {
            terminal: Some(Terminal::AverageColor),
            ..ops(vec![])
        },
    );
    check(
        "image/resize,w_10/average-hue",
        Pipeline {
            terminal: Some(Terminal::AverageColor),
            ..ops(vec![resize(fit(Some(10), None))])
        },
    );
    use ErrorKind::*;
    let errors: &[(&str, ErrorKind, Option<&str>, &[&str])] = &[
        (
            "image/resize,w_100/info",
            InvalidArgument,
            None,
            &["info", "combined"],
        ),
        (
            "image/info/resize,w_100",
            InvalidArgument,
            None,
            &["info", "resize"],
        ),
        ("image/info/info", InvalidArgument, None, &["info"]),
        ("image/info,1", InvalidArgument, None, &["info", "1"]),
        (
            "image/average-hue/resize,w_1",
            InvalidArgument,
            None,
            &["average-hue", "resize"],
        ),
        ("image/average-hue,x_1", InvalidArgument, None, &["`x`"]),
    ];
    for (process, kind, code, names) in errors {
        check_err(process, *kind, *code, names);
    }
}

#[test]
fn chains_and_documented_examples() {
    // Actions run in order (`docs/oss.md`, "What you can ask for").
    check(
        "image/resize,w_200/rotate,90",
        ops(vec![
            resize(fit(Some(200), None)),
            FIRST,
            Op::Rotate { degrees: 90 },
        ]),
    );
    check(
        "image/crop,w_100,h_100/rounded-corners,r_10/format,png",
        Pipeline {
            output: OutputOptions {
                format: Some(FormatRequest {
                    format: Format::Png,
                    only_if_source_animated: false,
                }),
                ..Default::default()
            },
            ..ops(vec![
                Op::Crop(Crop {
                    width: Some(100),
                    height: Some(100),
                    gravity: Gravity::NorthWest,
                    dx: 0,
                    dy: 0,
                }),
                Op::RoundedCorners { radius: 10 },
            ])
        },
    );
    // Empty steps are skipped.
    check(
        "image/resize,w_200//rotate,90/",
        parse("image/resize,w_200/rotate,90").unwrap(),
    );
    check("image//resize,w_200", parse("image/resize,w_200").unwrap());
}

#[test]
fn process_kinds_styles_and_structure_errors() {
    assert_eq!(
        parse_process("style/panda_style").unwrap(),
        Directive::Style("panda_style".into())
    );
    assert_eq!(
        parse_process("style/a").unwrap(),
        Directive::Style("a".into())
    );
    let name63 = "a.B-_9".repeat(10) + "xyz";
    assert_eq!(
        parse_process(&format!("style/{name63}")).unwrap(),
        Directive::Style(name63.clone())
    );
    use ErrorKind::*;
    let name64 = name63 + "z";
    let errors: Vec<(String, ErrorKind, Option<&str>, Vec<&str>)> = vec![
        (
            "image/slim,1".into(),
            InvalidArgument,
            Some(EC_UNKNOWN_ACTION),
            vec!["slim"],
        ),
        (
            "image/Resize,w_1".into(),
            InvalidArgument,
            Some(EC_UNKNOWN_ACTION),
            vec!["Resize"],
        ),
        (
            "image/resize,w_1/flip,1".into(),
            InvalidArgument,
            Some(EC_UNKNOWN_ACTION),
            vec!["flip"],
        ),
        (
            "image/".into(),
            MissingArgument,
            Some(EC_MISSING_VALUE),
            vec!["no action"],
        ),
        (
            "image".into(),
            MissingArgument,
            Some(EC_MISSING_VALUE),
            vec!["no action"],
        ),
        (
            "image///".into(),
            MissingArgument,
            Some(EC_MISSING_VALUE),
            vec!["no action"],
        ),
        (
            "video/snapshot".into(),
            MissingArgument,
            Some(EC_MISSING_VALUE),
            vec!["`t` is required"],
        ),
        (
            "video/snapshot,t_1,f_gif".into(),
            InvalidArgument,
            None,
            vec!["jpg, jpeg, png"],
        ),
        (
            "video/snapshot,t_1,m_slow".into(),
            InvalidArgument,
            None,
            vec!["one of fast"],
        ),
        (
            "video/transcode,x_1".into(),
            InvalidArgument,
            Some(EC_UNKNOWN_ACTION),
            vec!["transcode"],
        ),
        ("audio/x".into(), InvalidArgument, None, vec!["audio"]),
        ("style/".into(), InvalidArgument, None, vec!["style name"]),
        ("style/a b".into(), InvalidArgument, None, vec!["a b"]),
        ("style/a/b".into(), InvalidArgument, None, vec!["a/b"]),
        (
            format!("style/{name64}"),
            InvalidArgument,
            None,
            vec!["style name"],
        ),
        (
            "image/resize,w_100|sys/saveas,o_dGVzdC5qcGc".into(),
            BadRequest,
            None,
            vec!["sys/saveas", "POST"],
        ),
        (
            "image/resize,w_100/sys/saveas,o_dGVzdC5qcGc".into(),
            BadRequest,
            None,
            vec!["sys/saveas", "POST"],
        ),
        (
            "image/resize,w_100|image/info".into(),
            BadRequest,
            None,
            vec!["POST"],
        ),
        (
            "image/".to_string() + &"rotate,90/".repeat(MAX_STEPS + 1),
            TooManyStages,
            None,
            vec!["33"],
        ),
    ];
    for (process, kind, code, names) in &errors {
        check_err(process, *kind, *code, names);
    }
    // Exactly MAX_STEPS actions are fine.
    assert!(parse(&("image/".to_string() + &"bright,1/".repeat(MAX_STEPS))).is_ok());
    // The empty process (whose fragment is necessarily empty).
    let e = parse_process("").unwrap_err();
    assert_eq!(
        (e.kind, e.vendor_code.as_deref()),
        (MissingArgument, Some(EC_MISSING_VALUE))
    );
}

#[test]
fn query_parsing() {
    let d = crate::parse_query(
        crate::Dialect::Oss,
        "OSSAccessKeyId=LTAI5t&Expires=1700000000&Signature=ab%2Bc%3D&x-oss-process=image%2Fresize%2Cw_200%2Fformat%2Cpng",
    )
    .unwrap();
    let want = parse("image/resize,w_200/format,png").unwrap();
    assert_eq!(d, Directive::Pipeline(want));
    assert_eq!(
        crate::parse_query(
            crate::Dialect::Oss,
            "x-oss-process=style%2Fthumb100&versionId=x"
        )
        .unwrap(),
        Directive::Style("thumb100".into())
    );
    // A standard-alphabet '+' in a base64 value survives query decoding.
    let plus =
        "image/watermark,text_".to_string() + &b64("??>").replace('_', "/").replace('-', "+");
    assert!(plus.contains('+'));
    let p = parse_query(&format!("x-oss-process={}", plus.replace('/', "%2F"))).unwrap();
    let Directive::Pipeline(p) = p else { panic!() };
    match &p.ops[0] {
        Op::Watermark(w) => assert_eq!(w.text.as_ref().unwrap().text, "??>"),
        other => panic!("{other:?}"),
    }
    let e = parse_query("x-oss-process").unwrap_err();
    assert_eq!(
        (e.kind, e.vendor_code.as_deref()),
        (ErrorKind::MissingArgument, Some(EC_MISSING_VALUE))
    );
    let e = parse_query("x-oss-process=").unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingArgument);
    let e = parse_query("x-oss-process=image/info&x-oss-process=image/info").unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("more than once"));
    let e = parse_query("versionId=1").unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingArgument);
    let e = parse_query("x-oss-process=image%2Fresize%2Cw_%FF").unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
}

#[test]
fn styles() {
    // The conformance fixtures' style thumb100.
    assert_eq!(
        parse_style("image/resize,w_100").unwrap(),
        ops(vec![resize(fit(Some(100), None))])
    );
    assert_eq!(
        crate::parse_style(crate::Dialect::Oss, " image/info\n")
            .unwrap()
            .terminal,
        Some(Terminal::Info)
    );
    let e = parse_style("style/other").unwrap_err();
    assert!(e.message.contains("another style"), "{e}");
    assert_eq!(
        parse_style("image/slim,1")
            .unwrap_err()
            .vendor_code
            .as_deref(),
        Some(EC_UNKNOWN_ACTION)
    );
    assert_eq!(
        parse_style("image/resize,w_1|sys/saveas,o_YQ")
            .unwrap_err()
            .kind,
        ErrorKind::BadRequest
    );
    assert!(validate_style_name("panda_style").is_ok());
    assert!(validate_style_name("").is_err());
    assert!(validate_style_name("é").is_err());
}

#[test]
fn saveas() {
    // The vendor's documented body: saves to bucket "test", object "test.jpg".
    let s =
        parse_saveas("x-oss-process=image/resize,w_100|sys/saveas,o_dGVzdC5qcGc,b_dGVzdA").unwrap();
    assert_eq!(
        s,
        SaveAs {
            process: Directive::Pipeline(ops(vec![resize(fit(Some(100), None))])),
            object: "test.jpg".into(),
            bucket: Some("test".into()),
        }
    );
    // Form-encoded, no bucket, trailing newline, style directive.
    let s = parse_saveas(&format!(
        "x-oss-process=style%2Fthumb100%7Csys%2Fsaveas%2Co_{}\n",
        b64("out/f1_100.jpg")
    ))
    .unwrap();
    assert_eq!(s.process, Directive::Style("thumb100".into()));
    assert_eq!((s.object.as_str(), s.bucket), ("out/f1_100.jpg", None));
    // Padded base64 and the order b, o.
    let s = parse_saveas(&format!(
        "x-oss-process=image/info|sys/saveas,b_{},o_{}=",
        b64("examplebucket"),
        b64("a.jpg")
    ))
    .unwrap();
    assert_eq!(s.bucket.as_deref(), Some("examplebucket"));
    assert_eq!(s.object, "a.jpg");

    use ErrorKind::*;
    let long_key = b64(&"k".repeat(1024));
    let cases: Vec<(String, ErrorKind, Vec<&str>)> = vec![
        (
            "x-oss-process=image/resize,w_100|sys/saveas,b_dGVzdA".into(),
            MissingArgument,
            vec!["`o`"],
        ),
        (
            "x-oss-process=image/resize,w_100".into(),
            MissingArgument,
            vec!["sys/saveas"],
        ),
        (
            "x-oss-process=image/resize,w_100|".into(),
            MissingArgument,
            vec!["sys/saveas"],
        ),
        (
            "x-oss-process=|sys/saveas,o_dGVzdC5qcGc".into(),
            MissingArgument,
            vec!["no image process"],
        ),
        (
            "x-oss-process=sys/saveas,o_dGVzdC5qcGc".into(),
            MissingArgument,
            vec!["no image process"],
        ),
        (
            "image/resize,w_100|sys/saveas,o_dGVzdC5qcGc".into(),
            MissingArgument,
            vec!["x-oss-process="],
        ),
        ("".into(), MissingArgument, vec!["x-oss-process="]),
        (
            "x-oss-process=image/resize,w_100|sys/saveas,o_!!".into(),
            BadRequest,
            vec!["Input is not base64 decoding."],
        ),
        (
            "x-oss-process=image/resize,w_100|sys/saveas,o_dGVzdC5qcGc,b_Qg".into(),
            InvalidArgument,
            vec!["bucket name", "`B`"],
        ),
        (
            format!(
                "x-oss-process=image/resize,w_100|sys/saveas,o_dGVzdC5qcGc,b_{}",
                b64("-ab")
            ),
            InvalidArgument,
            vec!["bucket name"],
        ),
        (
            format!(
                "x-oss-process=image/resize,w_100|sys/saveas,o_dGVzdC5qcGc,b_{}",
                b64("Test_Bucket")
            ),
            InvalidArgument,
            vec!["Test_Bucket"],
        ),
        (
            format!("x-oss-process=image/resize,w_100|sys/saveas,o_{long_key}"),
            InvalidArgument,
            vec!["1023"],
        ),
        (
            format!(
                "x-oss-process=image/resize,w_100|sys/saveas,o_{}",
                b64("/abs")
            ),
            InvalidArgument,
            vec!["/abs"],
        ),
        (
            format!(
                "x-oss-process=image/resize,w_100|sys/saveas,o_{}",
                b64("a\nb")
            ),
            InvalidArgument,
            vec!["control"],
        ),
        (
            "x-oss-process=image/resize,w_100|sys/saveas,o_".into(),
            MissingArgument,
            vec!["`o`"],
        ),
        (
            "x-oss-process=image/resize,w_100|sys/saveas,o_YQ,x_1".into(),
            InvalidArgument,
            vec!["`x`"],
        ),
        (
            "x-oss-process=image/resize,w_100|sys/notify,o_YQ".into(),
            InvalidArgument,
            vec!["notify"],
        ),
        (
            "x-oss-process=image/resize,w_100|image/info".into(),
            InvalidArgument,
            vec!["image/info"],
        ),
        (
            "x-oss-process=image/resize,w_100|sys/saveas,o_YQ|sys/saveas,o_Yg".into(),
            InvalidArgument,
            vec!["more than once"],
        ),
        (
            "x-oss-process=image/slim|sys/saveas,o_YQ".into(),
            InvalidArgument,
            vec!["slim"],
        ),
    ];
    for (body, kind, names) in &cases {
        let e = match parse_saveas(body) {
            Ok(s) => panic!("{body}: expected an error, got {s:?}"),
            Err(e) => e,
        };
        assert_eq!(e.kind, *kind, "{body}: {e}");
        for n in names {
            assert!(e.message.contains(n), "{body}: `{}` lacks {n}", e.message);
        }
    }
    // 1023-byte key and 63-char bucket are fine.
    let ok = format!(
        "x-oss-process=image/info|sys/saveas,o_{},b_{}",
        b64(&"k".repeat(1023)),
        b64(&"b".repeat(63))
    );
    assert!(parse_saveas(&ok).is_ok());
}

#[test]
fn fuzz_dictionary_never_panics_and_round_trips() {
    let kinds = [
        "image/", "image/", "image/", "style/", "video/", "", "image", "sys/",
    ];
    let actions = [
        "resize",
        "crop",
        "indexcrop",
        "circle",
        "rounded-corners",
        "rotate",
        "auto-orient",
        "bright",
        "contrast",
        "sharpen",
        "blur",
        "format",
        "quality",
        "interlace",
        "watermark",
        "info",
        "average-hue",
        "slim",
        "sys",
        "saveas",
        "",
        "Resize",
    ];
    let keys = [
        "m", "w", "h", "l", "s", "p", "P", "limit", "color", "x", "y", "g", "i", "r", "q", "Q",
        "t", "voffset", "fill", "padx", "pady", "image", "text", "type", "size", "shadow",
        "rotate", "order", "align", "interval", "o", "b", "",
    ];
    let values = [
        "0",
        "1",
        "2",
        "10",
        "50",
        "90",
        "100",
        "360",
        "399",
        "1000",
        "4096",
        "16384",
        "16385",
        "-1",
        "-100",
        "abc",
        "",
        "lfit",
        "mfit",
        "fill",
        "pad",
        "fixed",
        "nw",
        "se",
        "center",
        "NW",
        "FF0000",
        "jpg",
        "gif",
        "png",
        "cGFuZGEucG5n",
        "d3F5LXplbmhlaQ",
        "SGVsbG8=",
        "d20vbG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF81MA",
        "!!",
        "_",
        "__",
        "%",
        "99999999999999999999999",
        "é",
    ];
    let seps = ["/", "/", "/", ",", ",", "_", "|", "//", ""];
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    // Valid steps, so that mutations of them reach deep into the parser.
    let templates = [
        "resize,w_100",
        "resize,p_50",
        "resize,m_pad,w_10,h_10,color_FF0000",
        "resize,l_30",
        "rotate,90",
        "crop,w_10,h_10,g_se",
        "watermark,text_SGk",
        "watermark,image_cGFuZGEucG5n",
        "format,png",
        "quality,q_80",
        "auto-orient,1",
        "bright,10",
        "blur,r_3,s_2",
        "indexcrop,x_10,i_1",
        "circle,r_5",
        "rounded-corners,r_3",
        "sharpen,100",
        "interlace,1",
        "contrast,-5",
        "average-hue",
        "info",
        "watermark,image_d20vbG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF81MA,g_center",
    ];
    for round in 0..20_000 {
        let structured = round % 2 == 0;
        let mut s = if structured {
            "image/".to_string()
        } else {
            rng.pick(&kinds).to_string()
        };
        let steps = rng.next() % 5;
        for _ in 0..=steps {
            let params = if structured {
                s.push_str(rng.pick(&templates));
                // Mutate one template in four with one random parameter.
                u64::from(rng.next() % 4 == 0)
            } else {
                s.push_str(rng.pick(&actions));
                rng.next() % 5
            };
            for _ in 0..params {
                s.push(',');
                let k = rng.pick(&keys);
                if !k.is_empty() {
                    s.push_str(k);
                    s.push('_');
                }
                s.push_str(rng.pick(&values));
            }
            s.push_str(if structured { "/" } else { rng.pick(&seps) });
        }
        // Never panics; either parses or errors with a non-empty message.
        match parse_process(&s) {
            Ok(Directive::Pipeline(p)) => {
                parsed += 1;
                let canon = p.canonical();
                let back: Pipeline = serde_json::from_str(&canon).unwrap();
                assert_eq!(back, p, "{s}");
                assert_eq!(back.canonical(), canon, "{s}");
                // Deterministic: parsing again gives the same text.
                assert_eq!(parse(&s).unwrap().canonical(), canon, "{s}");
            }
            Ok(Directive::Style(name)) => assert!(validate_style_name(&name).is_ok()),
            Err(e) => {
                assert!(!e.message.is_empty(), "{s}");
                assert_eq!(
                    e.http_status(),
                    if e.kind == ErrorKind::NotImplemented {
                        501
                    } else {
                        400
                    }
                );
            }
        }
        let _ = parse_saveas(&format!("x-oss-process={s}"));
        let _ = parse_query(&format!("x-oss-process={s}"));
    }
    // The dictionary is rich enough that some inputs parse.
    assert!(parsed > 2_000, "only {parsed} inputs parsed");
}

#[test]
fn canonical_is_stable_for_equivalent_requests() {
    let pairs = [
        ("image/resize,w_100,h_50", "image/resize,h_50,w_100"),
        ("image/resize,m_lfit,w_100", "image/resize,w_100"),
        ("image/resize,w_100,limit_1", "image/resize,w_100"),
        ("image/rotate,360", "image/rotate,0"),
        ("image/quality,q_80,Q_70", "image/quality,Q_70"),
        ("image/format,png/resize,w_1", "image/resize,w_1/format,png"),
        (
            "image/resize,w_1/auto-orient,1",
            "image/auto-orient/resize,w_1",
        ),
        (
            "image/watermark,text_SGk,t_100,g_se,x_10,y_10",
            "image/watermark,text_SGk=",
        ),
        (
            "image/watermark,text_SGk,type_d3F5LXplbmhlaQ",
            "image/watermark,text_SGk,color_000000,size_40",
        ),
    ];
    for (a, b) in pairs {
        assert_eq!(
            parse(a).unwrap().canonical(),
            parse(b).unwrap().canonical(),
            "{a} vs {b}"
        );
    }
    assert_ne!(
        parse("image/resize,w_100").unwrap().canonical(),
        parse("image/resize,w_101").unwrap().canonical()
    );
}

#[test]
fn video_snapshot_parses_to_a_frame_then_the_scale_and_format() {
    let Ok(Directive::Pipeline(p)) =
        parse_process("video/snapshot,t_7000,f_png,w_800,h_600,m_fast,ar_auto")
    else {
        panic!("not a pipeline")
    };
    assert_eq!(
        p.video,
        Some(imaging::VideoFrame {
            at_ms: 7000,
            keyframe: true,
            auto_rotate: true,
        })
    );
    assert_eq!(p.output.format.map(|f| f.format), Some(Format::Png));
    assert_eq!(
        p.ops,
        vec![Op::Resize(Resize {
            geometry: Geometry::Stretch {
                width: 800,
                height: 600
            },
            enlarge: Enlarge::Never,
        })]
    );
    // The defaults: the exact frame, JPEG, no rotation, the frame's size.
    let Ok(Directive::Pipeline(p)) = parse_process("video/snapshot,t_0") else {
        panic!("not a pipeline")
    };
    assert_eq!(
        p.video,
        Some(imaging::VideoFrame {
            at_ms: 0,
            keyframe: false,
            auto_rotate: false,
        })
    );
    assert_eq!(p.output.format.map(|f| f.format), Some(Format::Jpeg));
    assert!(p.ops.is_empty());
    // A snapshot can be saved with sys/saveas like an image.
    let s = parse_saveas("x-oss-process=video/snapshot,t_1,w_100|sys/saveas,o_YQ").unwrap();
    assert_eq!(s.object, "a");
}
