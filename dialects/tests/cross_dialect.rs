//! The same operation written in each dialect (ops-matrix.md) must give an
//! equal `Pipeline`, up to `rounding` (a dialect rule).
//!
//! Each row names the abstract operation, the explicit pipeline it means,
//! and its spelling in every dialect that has it. The OSS column is checked
//! against `want` directly; the COS and US3 columns are checked against the
//! same `want` (rounding aside), so the three agree by transitivity.
//!
//! COS/US3 helper: fill the `cos` / `us3` columns (`None` = not filled yet
//! or no equivalent; say which in a comment).

#![allow(clippy::unwrap_used)]

use dialects::{parse_query, Dialect, Directive};
use imaging::*;

struct Case {
    /// ops-matrix.md row and name.
    what: &'static str,
    want: Pipeline,
    /// The `x-oss-process` value (raw query form).
    oss: Option<&'static str>,
    /// The raw query of a COS GET.
    cos: Option<&'static str>,
    /// The raw query of a US3 GET.
    us3: Option<&'static str>,
    /// OSS makes animated GIFs static on this operation (`p_`, `rotate`),
    /// the others do not: its extra `Frames(First)` is not a disagreement.
    oss_freezes_gif: bool,
}

fn pipeline(ops: Vec<Op>) -> Pipeline {
    Pipeline {
        ops,
        ..Pipeline::default()
    }
}

fn output(output: OutputOptions) -> Pipeline {
    Pipeline {
        output,
        ..Pipeline::default()
    }
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

fn crop(width: u32, height: u32, gravity: Gravity, dx: i32, dy: i32) -> Op {
    Op::Crop(Crop {
        width: Some(width),
        height: Some(height),
        gravity,
        dx,
        dy,
    })
}

fn cases() -> Vec<Case> {
    let case = |what, want, oss| Case {
        what,
        want,
        oss: Some(oss),
        cos: None,
        us3: None,
        oss_freezes_gif: false,
    };
    vec![
        case(
            "1 resize-fit",
            pipeline(vec![resize(Geometry::Fit {
                width: Some(300),
                height: Some(200),
            })]),
            "image/resize,m_lfit,w_300,h_200",
        ),
        case(
            "1 resize-fit, enlarging allowed",
            pipeline(vec![resize_allow(Geometry::Fit {
                width: Some(300),
                height: Some(200),
            })]),
            "image/resize,w_300,h_200,limit_0",
        ),
        case(
            "2 resize-cover",
            pipeline(vec![resize(Geometry::Cover {
                width: 300,
                height: 200,
            })]),
            "image/resize,m_mfit,w_300,h_200",
        ),
        case(
            "3 resize-fill",
            pipeline(vec![resize(Geometry::Fill {
                width: 300,
                height: 200,
            })]),
            "image/resize,m_fill,w_300,h_200",
        ),
        case(
            "4 pad",
            pipeline(vec![resize(Geometry::Pad {
                width: 300,
                height: 200,
                color: Rgba(255, 0, 0, 255),
            })]),
            "image/resize,m_pad,w_300,h_200,color_FF0000",
        ),
        case(
            "5 stretch",
            pipeline(vec![resize(Geometry::Stretch {
                width: 300,
                height: 200,
            })]),
            "image/resize,m_fixed,w_300,h_200",
        ),
        case(
            "6 single-side scale (width)",
            pipeline(vec![resize(Geometry::Fit {
                width: Some(100),
                height: None,
            })]),
            "image/resize,w_100",
        ),
        case(
            "6 single-side scale (height)",
            pipeline(vec![resize(Geometry::Fit {
                width: None,
                height: Some(100),
            })]),
            "image/resize,h_100",
        ),
        Case {
            oss_freezes_gif: true,
            ..case(
                "7 percentage scale",
                pipeline(vec![resize_allow(Geometry::Scale {
                    x_permille: Some(500),
                    y_permille: Some(500),
                })]),
                "image/resize,p_50,limit_0",
            )
        },
        case(
            "8 long side target",
            pipeline(vec![resize(Geometry::LongShort {
                long: Some(100),
                short: None,
            })]),
            "image/resize,l_100",
        ),
        case(
            "11 crop at offset",
            pipeline(vec![crop(100, 50, Gravity::NorthWest, 10, 20)]),
            "image/crop,x_10,y_20,w_100,h_50",
        ),
        case(
            "12 gravity crop",
            pipeline(vec![crop(100, 50, Gravity::SouthEast, 5, 6)]),
            "image/crop,w_100,h_50,g_se,x_5,y_6",
        ),
        case(
            "13 index crop",
            pipeline(vec![Op::IndexCrop {
                axis: Axis::Y,
                length: 50,
                index: 2,
            }]),
            "image/indexcrop,y_50,i_2",
        ),
        case(
            "15 rounded corners",
            pipeline(vec![Op::RoundedCorners { radius: 30 }]),
            "image/rounded-corners,r_30",
        ),
        Case {
            oss_freezes_gif: true,
            ..case(
                "17 rotate",
                pipeline(vec![Op::Rotate { degrees: 90 }]),
                "image/rotate,90",
            )
        },
        case(
            "19 auto-orient",
            pipeline(vec![Op::AutoOrient]),
            "image/auto-orient,1",
        ),
        case(
            "20 brightness",
            pipeline(vec![Op::Bright(50)]),
            "image/bright,50",
        ),
        case(
            "21 contrast",
            pipeline(vec![Op::Contrast(-30)]),
            "image/contrast,-30",
        ),
        case(
            "23 blur",
            pipeline(vec![Op::Blur(Blur {
                radius: 3,
                sigma_milli: 2000,
                kind: BlurKind::Gaussian,
                region: None,
            })]),
            "image/blur,r_3,s_2",
        ),
        case(
            "25 format conversion",
            output(OutputOptions {
                format: Some(FormatRequest {
                    format: Format::Png,
                    only_if_source_animated: false,
                }),
                ..OutputOptions::default()
            }),
            "image/format,png",
        ),
        case(
            "26 quality absolute",
            output(OutputOptions {
                quality: Some(Quality::Absolute(80)),
                ..OutputOptions::default()
            }),
            "image/quality,Q_80",
        ),
        case(
            "27 quality relative",
            output(OutputOptions {
                quality: Some(Quality::Relative(80)),
                ..OutputOptions::default()
            }),
            "image/quality,q_80",
        ),
        case(
            "29 progressive JPEG",
            output(OutputOptions {
                progressive: true,
                ..OutputOptions::default()
            }),
            "image/interlace,1",
        ),
        case(
            "37 info",
            Pipeline {
                terminal: Some(Terminal::Info),
                ..Pipeline::default()
            },
            "image/info",
        ),
        case(
            "39 average colour",
            Pipeline {
                terminal: Some(Terminal::AverageColor),
                ..Pipeline::default()
            },
            "image/average-hue",
        ),
        Case {
            oss_freezes_gif: true,
            ..case(
                "47 chaining: resize then rotate",
                pipeline(vec![
                    resize(Geometry::Fit {
                        width: Some(200),
                        height: None,
                    }),
                    Op::Rotate { degrees: 90 },
                ]),
                "image/resize,w_200/rotate,90",
            )
        },
        // COS/US3 helper: add rows for operations OSS lacks (9 area, 18 flip,
        // 24 grayscale, 28 quality floor, 30 strip, 31 size cap...) with
        // `oss: None`, and fill the `cos`/`us3` columns above.
    ]
}

/// Parses a raw GET query in `dialect` into a pipeline.
fn parse(dialect: Dialect, raw_query: &str) -> Pipeline {
    match parse_query(dialect, raw_query) {
        Ok(Directive::Pipeline(p)) => p,
        Ok(Directive::Style(s)) => panic!("{dialect:?} {raw_query}: unexpected style {s}"),
        Err(e) => panic!("{dialect:?} {raw_query}: {e}"),
    }
}

/// The pipeline with the dialect-specific parts neutralised: rounding, and
/// (when the case says so) OSS's GIF freeze.
fn comparable(mut p: Pipeline, drop_freeze: bool) -> Pipeline {
    p.rounding = Rounding::default();
    if drop_freeze {
        p.ops.retain(|op| *op != Op::Frames(FrameSelect::First));
    }
    p
}

#[test]
fn every_dialect_gives_the_same_pipeline() {
    let mut compared = 0;
    for case in cases() {
        let want = comparable(case.want.clone(), false);
        if let Some(oss) = case.oss {
            let query = format!("x-oss-process={oss}");
            assert_eq!(
                dialects::detect(&query),
                Some(Dialect::Oss),
                "{}",
                case.what
            );
            let got = parse(Dialect::Oss, &query);
            assert_eq!(got.rounding, Rounding::Nearest, "{}", case.what);
            if case.oss_freezes_gif {
                assert!(
                    got.ops.contains(&Op::Frames(FrameSelect::First)),
                    "{}",
                    case.what
                );
            }
            assert_eq!(
                comparable(got, case.oss_freezes_gif),
                want,
                "{}: OSS `{oss}`",
                case.what
            );
            compared += 1;
        }
        if let Some(cos) = case.cos {
            assert_eq!(dialects::detect(cos), Some(Dialect::Cos), "{}", case.what);
            let got = parse(Dialect::Cos, cos);
            assert_eq!(comparable(got, false), want, "{}: COS `{cos}`", case.what);
            compared += 1;
        }
        if let Some(us3) = case.us3 {
            assert_eq!(dialects::detect(us3), Some(Dialect::Us3), "{}", case.what);
            let got = parse(Dialect::Us3, us3);
            assert_eq!(got.rounding, Rounding::Truncate, "{}", case.what);
            assert_eq!(comparable(got, false), want, "{}: US3 `{us3}`", case.what);
            compared += 1;
        }
    }
    assert!(compared >= 25, "only {compared} spellings compared");
}

/// Styles resolve to the same pipelines as the direct requests
/// (Appendix A: OSS `thumb100` = `image/resize,w_100`).
#[test]
fn styles_match_direct_requests() {
    let style = dialects::parse_style(Dialect::Oss, "image/resize,w_100").unwrap();
    assert_eq!(
        style,
        parse(Dialect::Oss, "x-oss-process=image/resize,w_100")
    );
    assert_eq!(
        parse_query(Dialect::Oss, "x-oss-process=style/thumb100").unwrap(),
        Directive::Style("thumb100".into())
    );
    // COS/US3 helper: Appendix A styles `half` (COS) and `style1` (US3).
}
