//! The same operation written in each dialect (the operations the three
//! vendors share, each dialect's reading described in `docs/oss-dialect.md`,
//! `docs/cos-dialect.md` and `docs/us3-dialect.md`) must give an equal
//! `Pipeline`, up to `rounding` (a dialect rule).
//!
//! Each row names the abstract operation, the explicit pipeline it means,
//! and its spelling in every dialect that has it. The OSS column is checked
//! against `want` directly; the COS and US3 columns are checked against the
//! same `want` (rounding aside), so the three agree by transitivity.
//!
//! The COS/US3 columns live in `fill_cos_us3_columns` and `cos_us3_rows`
//! (`None` = no equivalent, with the reason in a comment).

#![allow(clippy::unwrap_used)]

use dialects::{parse_query, Dialect, Directive};
use imaging::*;

struct Case {
    /// The operation's row number and name.
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
    let mut rows = vec![
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
                interlace_named: true,
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
        // The COS/US3 columns of these rows are filled by
        // `fill_cos_us3_columns`; operations OSS lacks are in `cos_us3_rows`.
    ];
    fill_cos_us3_columns(&mut rows);
    rows.extend(cos_us3_rows());
    rows
}

/// Parses a raw GET query in `dialect` into a pipeline.
fn parse(dialect: Dialect, raw_query: &str) -> Pipeline {
    match parse_query(dialect, raw_query) {
        Ok(Directive::Pipeline(p)) => p,
        Ok(Directive::Style(s)) => panic!("{dialect:?} {raw_query}: unexpected style {s}"),
        Err(e) => panic!("{dialect:?} {raw_query}: {e}"),
    }
}

/// The pipeline with the dialect-specific parts neutralised: rounding,
/// bounds (Tencent refuses what the others clip), and (when the case says
/// so) OSS's GIF freeze.
fn comparable(mut p: Pipeline, drop_freeze: bool) -> Pipeline {
    p.rounding = Rounding::default();
    p.bounds = Bounds::default();
    if drop_freeze {
        p.ops.retain(|op| *op != Op::Frames(FrameSelect::First));
    }
    // `combine` only means something when a mark has both an image and a
    // text (OSS); a single mark's value is whatever its parser defaulted
    // (OSS align_0 = Top, the others `Combine::default()`).
    for op in &mut p.ops {
        if let Op::Watermark(w) = op {
            if w.image.is_none() || w.text.is_none() {
                w.combine = Combine::default();
            }
        }
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
            assert_eq!(got.bounds, Bounds::Refuse, "{}", case.what);
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
    assert!(compared >= 100, "only {compared} spellings compared");
}

/// Styles resolve to the same pipelines as the direct requests
/// (the conformance fixtures: OSS `thumb100` = `image/resize,w_100`).
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
    // The conformance fixtures: COS `half` = `imageMogr2/thumbnail/!50p`, US3 `style1` =
    // `iopcmd=thumbnail&type=4&width=100`.
    let half = dialects::parse_style(Dialect::Cos, "imageMogr2/thumbnail/!50p").unwrap();
    assert_eq!(half, parse(Dialect::Cos, "imageMogr2/thumbnail/!50p"));
    let style1 = dialects::parse_style(Dialect::Us3, "iopcmd=thumbnail&type=4&width=100").unwrap();
    assert_eq!(
        style1,
        parse(Dialect::Us3, "iopcmd=thumbnail&type=4&width=100")
    );
    assert_eq!(
        parse_query(Dialect::Us3, "iopstyle=style1").unwrap(),
        Directive::Style("style1".into())
    );
    assert_eq!(
        dialects::cos::parse_rule("style/half").unwrap(),
        Directive::Style("half".into())
    );
}

/// The COS and US3 spellings of the OSS rows above, by row name. `None` =
/// no equivalent, for the reason in the comment; rows whose OSS default
/// differs from the other vendors' (OSS never enlarges by default, COS and
/// US3 do) are repeated in [`cos_us3_rows`] in their enlarging form.
fn fill_cos_us3_columns(rows: &mut [Case]) {
    let columns: &[(&str, Option<&'static str>, Option<&'static str>)] = &[
        // US3 has no shrink-only resize: every thumbnail type may enlarge.
        (
            "1 resize-fit",
            Some("imageMogr2/thumbnail/300x200%3E"),
            None,
        ),
        (
            "1 resize-fit, enlarging allowed",
            Some("imageMogr2/thumbnail/300x200"),
            Some("iopcmd=thumbnail&type=9&width=300&height=200"),
        ),
        // COS `!WxHr` and US3 10 may enlarge: see the `limit_0` row.
        ("2 resize-cover", None, None),
        // COS imageView2/1 and US3 8/13 may enlarge: see the `limit_0` row.
        ("3 resize-fill", None, None),
        (
            "4 pad",
            Some("imageMogr2/thumbnail/300x200%3E/pad/1/color/I0ZGMDAwMA"),
            None,
        ),
        // COS `WxH!` and US3 11 may enlarge: see the `limit_0` row.
        ("5 stretch", None, None),
        (
            "6 single-side scale (width)",
            Some("imageMogr2/thumbnail/100x%3E"),
            None,
        ),
        (
            "6 single-side scale (height)",
            Some("imageMogr2/thumbnail/x100%3E"),
            None,
        ),
        (
            "7 percentage scale",
            Some("imageMogr2/thumbnail/!50p"),
            Some("iopcmd=thumbnail&type=1&scale=50"),
        ),
        // Alibaba's ratio-based long side has no COS/US3 twin (US3 6/7 use
        // the source's longer side, COS imageView2/4 is a minimum).
        ("8 long side target", None, None),
        (
            "11 crop at offset",
            Some("imageMogr2/cut/100x50x10x20"),
            Some("iopcmd=crop&width=100&height=50&ax=10&ay=20"),
        ),
        // Offsets differ: OSS adds x/y to the cell origin, COS margins point
        // inward, US3 ignores ax/ay with a gravity. See the row without
        // offsets in `cos_us3_rows`.
        ("12 gravity crop", None, None),
        (
            "13 index crop",
            None, // COS has no index crop.
            Some("iopcmd=indexcrop&y=50&i=2"),
        ),
        (
            "15 rounded corners",
            Some("imageMogr2/rradius/30"),
            Some("iopcmd=rounded-corners&r=30"),
        ),
        (
            "17 rotate",
            Some("imageMogr2/rotate/90"),
            Some("iopcmd=rotate&degree=90"),
        ),
        (
            "19 auto-orient",
            Some("imageMogr2/auto-orient"),
            Some("iopcmd=auto-orient&value=1"),
        ),
        (
            "20 brightness",
            Some("imageMogr2/bright/50"),
            Some("iopcmd=bright&value=50"),
        ),
        (
            "21 contrast",
            Some("imageMogr2/contrast/-30"),
            Some("iopcmd=contrast&value=-30"),
        ),
        (
            "23 blur",
            Some("imageMogr2/blur/3x2"),
            Some("iopcmd=blur&type=2&radius=3&sigma=2"),
        ),
        // US3 `convert` always names a format: see the rows with `dst`.
        (
            "25 format conversion",
            Some("imageMogr2/format/png"),
            Some("iopcmd=convert&dst=png"),
        ),
        ("26 quality absolute", Some("imageMogr2/quality/80"), None),
        ("27 quality relative", Some("imageMogr2/rquality/80"), None),
        // US3 interlace also converts to JPEG: see the row with a format.
        ("29 progressive JPEG", Some("imageMogr2/interlace/1"), None),
        ("37 info", Some("imageInfo"), Some("iopcmd=imageinfo")),
        (
            "39 average colour",
            Some("imageAve"),
            Some("iopcmd=averagehue"),
        ),
        (
            "47 chaining: resize then rotate",
            Some("imageMogr2/thumbnail/200x%3E/rotate/90"),
            None,
        ),
    ];
    for row in rows.iter_mut() {
        if let Some((_, cos, us3)) = columns.iter().find(|(what, _, _)| *what == row.what) {
            row.cos = *cos;
            row.us3 = *us3;
        }
    }
}

/// Rows for spellings the OSS table does not hold: OSS `limit_0` forms
/// matching COS/US3 resizes (which may enlarge), operations OSS lacks,
/// and COS/US3-only equivalences.
fn cos_us3_rows() -> Vec<Case> {
    let row = |what, want, oss, cos, us3| Case {
        what,
        want,
        oss,
        cos,
        us3,
        oss_freezes_gif: false,
    };
    let jpeg = Some(FormatRequest {
        format: Format::Jpeg,
        only_if_source_animated: false,
    });
    let text_mark = Watermark {
        image: None,
        text: Some(WatermarkText {
            text: "hi".into(),
            font: Font::FangZhengHeiTi,
            size: 40,
            color: Rgb(255, 0, 0),
            shadow: 0,
            rotate: 0,
        }),
        combine: Combine::default(),
        placement: Placement {
            gravity: Gravity::SouthEast,
            dx: 0,
            dy: 0,
            voffset: 0,
        },
        opacity: 90,
        tile: None,
    };
    let image_mark = Watermark {
        image: Some(WatermarkImage {
            key: "wm/logo.png".into(),
            preprocess: vec![],
            scale: None,
            oversize: Oversize::Shrink,
        }),
        text: None,
        ..text_mark.clone()
    };
    vec![
        row(
            "1 resize-fit (imageView2/2, US3 14)",
            pipeline(vec![resize_allow(Geometry::Fit {
                width: Some(300),
                height: Some(200),
            })]),
            Some("image/resize,m_lfit,w_300,h_200,limit_0"),
            Some("imageView2/2/w/300/h/200"),
            Some("iopcmd=thumbnail&type=14&width=300&height=200"),
        ),
        row(
            "2 resize-cover, enlarging allowed",
            pipeline(vec![resize_allow(Geometry::Cover {
                width: 300,
                height: 200,
            })]),
            Some("image/resize,m_mfit,w_300,h_200,limit_0"),
            Some("imageMogr2/thumbnail/!300x200r"),
            Some("iopcmd=thumbnail&type=10&width=300&height=200"),
        ),
        row(
            "2 resize-cover (imageView2/3)",
            pipeline(vec![resize_allow(Geometry::Cover {
                width: 300,
                height: 200,
            })]),
            None,
            Some("imageView2/3/w/300/h/200"),
            None,
        ),
        row(
            "3 resize-fill, enlarging allowed",
            pipeline(vec![resize_allow(Geometry::Fill {
                width: 300,
                height: 200,
            })]),
            Some("image/resize,m_fill,w_300,h_200,limit_0"),
            Some("imageView2/1/w/300/h/200"),
            Some("iopcmd=thumbnail&type=8&width=300&height=200"),
        ),
        row(
            "3 resize-fill (US3 13)",
            pipeline(vec![resize_allow(Geometry::Fill {
                width: 300,
                height: 200,
            })]),
            None,
            None,
            Some("iopcmd=thumbnail&type=13&width=300&height=200"),
        ),
        row(
            "4 pad, enlarging allowed",
            pipeline(vec![resize_allow(Geometry::Pad {
                width: 300,
                height: 200,
                color: Rgba(255, 0, 0, 255),
            })]),
            Some("image/resize,m_pad,w_300,h_200,color_FF0000,limit_0"),
            Some("imageMogr2/thumbnail/300x200/pad/1/color/I0ZGMDAwMA"),
            Some("iopcmd=thumbnail&type=15&width=300&height=200&color=%23FF0000"),
        ),
        row(
            "5 stretch, enlarging allowed",
            pipeline(vec![resize_allow(Geometry::Stretch {
                width: 300,
                height: 200,
            })]),
            Some("image/resize,m_fixed,w_300,h_200,limit_0"),
            Some("imageMogr2/thumbnail/300x200!"),
            Some("iopcmd=thumbnail&type=11&width=300&height=200"),
        ),
        row(
            "6 single-side scale (width), enlarging allowed",
            pipeline(vec![resize_allow(Geometry::Fit {
                width: Some(100),
                height: None,
            })]),
            Some("image/resize,w_100,limit_0"),
            Some("imageMogr2/thumbnail/100x"),
            Some("iopcmd=thumbnail&type=4&width=100"),
        ),
        row(
            "6 single-side scale (height), enlarging allowed",
            pipeline(vec![resize_allow(Geometry::Fit {
                width: None,
                height: Some(100),
            })]),
            Some("image/resize,h_100,limit_0"),
            Some("imageMogr2/thumbnail/x100"),
            Some("iopcmd=thumbnail&type=5&height=100"),
        ),
        row(
            "7 percentage scale, one side",
            pipeline(vec![resize_allow(Geometry::Scale {
                x_permille: None,
                y_permille: Some(500),
            })]),
            None,
            Some("imageMogr2/thumbnail/!x50p"),
            Some("iopcmd=thumbnail&type=2&scale=50"),
        ),
        row(
            "9 area-bounded scale",
            pipeline(vec![resize_allow(Geometry::Area { max_pixels: 10_000 })]),
            None,
            Some("imageMogr2/thumbnail/10000@"),
            None,
        ),
        row(
            "12 gravity crop without offsets",
            pipeline(vec![crop(100, 50, Gravity::SouthEast, 0, 0)]),
            Some("image/crop,w_100,h_50,g_se"),
            Some("imageMogr2/crop/100x50/gravity/southeast"),
            Some("iopcmd=crop&width=100&height=50&gravity=SouthEast"),
        ),
        row(
            "12 gravity crop, offsets from the top-left cell",
            pipeline(vec![crop(100, 50, Gravity::NorthWest, 5, 6)]),
            Some("image/crop,w_100,h_50,g_nw,x_5,y_6"),
            Some("imageMogr2/crop/100x50/gravity/northwest/dx/5/dy/6"),
            Some("iopcmd=crop&width=100&height=50&ax=5&ay=6"),
        ),
        // OSS gives the (2r+1) square (`CircleBox::TwoRPlusOne`); see
        // `circle_differs_only_in_its_box`.
        row(
            "14 circle",
            pipeline(vec![Op::Circle {
                radius: 100,
                bbox: CircleBox::TwoR,
            }]),
            None,
            Some("imageMogr2/iradius/100"),
            Some("iopcmd=circle&r=100"),
        ),
        row(
            "17 rotate by a full turn: no operation",
            pipeline(vec![]),
            Some("image/rotate,360"),
            Some("imageMogr2/rotate/360"),
            Some("iopcmd=rotate&degree=360"),
        ),
        row(
            "18 flip",
            pipeline(vec![Op::Flip(FlipAxis::Vertical)]),
            None,
            Some("imageMogr2/flip/vertical"),
            None,
        ),
        row(
            "24 grayscale",
            pipeline(vec![Op::Grayscale]),
            None,
            Some("imageMogr2/grayscale/1"),
            None,
        ),
        row(
            "25 format conversion to JPEG",
            output(OutputOptions {
                format: jpeg,
                ..OutputOptions::default()
            }),
            Some("image/format,jpg"),
            Some("imageMogr2/format/jpg"),
            Some("iopcmd=convert&dst=jpg"),
        ),
        row(
            "26 quality absolute, with a format",
            output(OutputOptions {
                format: jpeg,
                quality: Some(Quality::Absolute(80)),
                ..OutputOptions::default()
            }),
            Some("image/format,jpg/quality,Q_80"),
            Some("imageMogr2/format/jpg/quality/80"),
            Some("iopcmd=convert&dst=jpg&Q=80"),
        ),
        row(
            "27 quality relative, with a format",
            output(OutputOptions {
                format: jpeg,
                quality: Some(Quality::Relative(80)),
                ..OutputOptions::default()
            }),
            Some("image/format,jpg/quality,q_80"),
            Some("imageMogr2/format/jpg/rquality/80"),
            Some("iopcmd=convert&dst=jpg&q=80"),
        ),
        row(
            "26 quality absolute (imageView2)",
            pipeline_with(
                vec![resize_allow(Geometry::Fit {
                    width: Some(300),
                    height: None,
                })],
                OutputOptions {
                    quality: Some(Quality::Absolute(80)),
                    ..OutputOptions::default()
                },
            ),
            Some("image/resize,w_300,limit_0/quality,Q_80"),
            Some("imageView2/2/w/300/q/80"),
            None, // US3 `convert` always sets a format too.
        ),
        row(
            "28 quality floor",
            output(OutputOptions {
                quality: Some(Quality::Floor(80)),
                ..OutputOptions::default()
            }),
            None,
            Some("imageMogr2/lquality/80"),
            None,
        ),
        row(
            "29 progressive JPEG, converting to JPEG",
            output(OutputOptions {
                format: jpeg,
                progressive: true,
                interlace_named: true,
                ..OutputOptions::default()
            }),
            Some("image/format,jpg/interlace,1"),
            Some("imageMogr2/format/jpg/interlace/1"),
            Some("iopcmd=interlace&value=1"),
        ),
        row(
            "30 strip metadata",
            output(OutputOptions {
                strip_metadata: true,
                ..OutputOptions::default()
            }),
            None,
            Some("imageMogr2/strip"),
            None,
        ),
        row(
            "31 output size cap",
            output(OutputOptions {
                size_limit: Some(SizeLimit {
                    max_bytes: 15 * 1024,
                    source_if_not_smaller: true,
                }),
                ..OutputOptions::default()
            }),
            None,
            Some("imageMogr2/size-limit/15k!"),
            None,
        ),
        row(
            "32 watermark — image",
            pipeline(vec![Op::Watermark(image_mark)]),
            Some("image/watermark,image_d20vbG9nby5wbmc,t_90,g_se,x_0,y_0"),
            Some("watermark/1/image/aHR0cDovL2V4YW1wbGVidWNrZXQtMTI1MDAwMDAwMC5jb3MuYXAtZ3Vhbmd6aG91Lm15cWNsb3VkLmNvbS93bS9sb2dvLnBuZw"),
            Some("iopcmd=watermark&type=2&imageurl=aHR0cDovL2V4YW1wbGVidWNrZXQuY24tYmoudWZpbGVvcy5jb20vd20vbG9nby5wbmc&opacity=90&gravity=SouthEast"),
        ),
        // COS font sizes are points: 30 pt = 40 px.
        row(
            "33 watermark — text",
            pipeline(vec![Op::Watermark(text_mark)]),
            Some("image/watermark,text_aGk,type_ZmFuZ3poZW5naGVpdGk,color_FF0000,size_40,t_90,g_se,x_0,y_0"),
            Some("watermark/2/text/aGk/font/c2ltaGVp6buR5L2TLnR0Zg/fontsize/30/fill/I0ZGMDAwMA/gravity/southeast"),
            Some("iopcmd=watermark&type=1&text=aGk&font=RmFuZ1poZW5nSGVpVGk&fontsize=40&fill=I0ZGMDAwMA&opacity=90&gravity=SouthEast"),
        ),
        // OSS merges EXIF into `info`.
        row(
            "38 EXIF",
            Pipeline {
                terminal: Some(Terminal::Exif),
                ..Pipeline::default()
            },
            None,
            Some("exif"),
            Some("iopcmd=exif"),
        ),
        row(
            "47 chaining: resize then rotate, enlarging allowed",
            pipeline(vec![
                resize_allow(Geometry::Fit {
                    width: Some(200),
                    height: None,
                }),
                Op::Rotate { degrees: 90 },
            ]),
            None,
            Some("imageMogr2/thumbnail/200x|imageMogr2/rotate/90"),
            Some("iopcmd=thumbnail&type=4&width=200|iopcmd=rotate&degree=90"),
        ),
    ]
}

fn pipeline_with(ops: Vec<Op>, output: OutputOptions) -> Pipeline {
    Pipeline {
        ops,
        output,
        ..Pipeline::default()
    }
}

/// Circle crops agree except for the output box: Alibaba's (2r+1) square,
/// Tencent's and UCloud's 2r square (pipeline.rs `CircleBox`).
#[test]
fn circle_differs_only_in_its_box() {
    let mut oss = parse(Dialect::Oss, "x-oss-process=image/circle,r_100");
    for op in &mut oss.ops {
        if let Op::Circle { bbox, .. } = op {
            assert_eq!(*bbox, CircleBox::TwoRPlusOne);
            *bbox = CircleBox::TwoR;
        }
    }
    assert_eq!(
        comparable(oss, false),
        comparable(parse(Dialect::Cos, "imageMogr2/iradius/100"), false)
    );
}
