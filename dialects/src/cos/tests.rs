//! Table-driven tests of the COS parser: every imageMogr2 operation and
//! thumbnail geometry, imageView2 modes, watermarks, information
//! processors, the query envelope, Pic-Operations and their errors.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::common::b64url_encode;
use crate::testing::Rng;
use imaging::Rounding;
use imaging::{
    Blur, BlurKind, CircleBox, Combine, Crop, Enlarge, FlipAxis, Font, Format, FormatRequest,
    FrameSelect, Geometry, Gravity, OutputOptions, Oversize, Placement, Quality, Resize, Rgb, Rgba,
    SizeLimit, Tile, Watermark, WatermarkImage, WatermarkScale, WatermarkText,
};

fn b64(s: &str) -> String {
    b64url_encode(s.as_bytes())
}

fn pipe(ops: Vec<Op>) -> Pipeline {
    Pipeline {
        ops,
        rounding: Rounding::Nearest,
        ..Pipeline::default()
    }
}

fn resize(geometry: Geometry, enlarge: Enlarge) -> Op {
    Op::Resize(Resize { geometry, enlarge })
}

fn fit(width: Option<u32>, height: Option<u32>) -> Geometry {
    Geometry::Fit { width, height }
}

/// Every COS pipeline refuses out-of-image values (Tencent's rule); the
/// rest must equal `want`.
#[track_caller]
fn check(query: &str, want: Pipeline) {
    match parse_query(query) {
        Ok(Directive::Pipeline(got)) => {
            assert_eq!(got.bounds, imaging::Bounds::Refuse, "{query}");
            let got = Pipeline {
                bounds: imaging::Bounds::Clip,
                ..got
            };
            assert_eq!(got, want, "{query}")
        }
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
            let code = if kind == ErrorKind::NotImplemented {
                None
            } else {
                Some(ERRNO_MALFORMED)
            };
            assert_eq!(e.vendor_code.as_deref(), code, "{query}");
            assert!(
                e.message.contains(needle) || e.fragment.contains(needle),
                "{query}: `{needle}` not in {e}"
            );
        }
        Ok(d) => panic!("{query}: expected an error, got {d:?}"),
    }
}

#[test]
fn thumbnail_geometries() {
    let scale = |x, y| Geometry::Scale {
        x_permille: x,
        y_permille: y,
    };
    let cases: Vec<(&str, Geometry, Enlarge)> = vec![
        ("!50p", scale(Some(500), Some(500)), Enlarge::Allow),
        ("!50.5p", scale(Some(505), Some(505)), Enlarge::Allow),
        ("!200p", scale(Some(2000), Some(2000)), Enlarge::Allow),
        ("!1000p", scale(Some(10_000), Some(10_000)), Enlarge::Allow),
        ("!50px", scale(Some(500), None), Enlarge::Allow),
        ("!x50p", scale(None, Some(500)), Enlarge::Allow),
        ("300x", fit(Some(300), None), Enlarge::Allow),
        ("x200", fit(None, Some(200)), Enlarge::Allow),
        ("300x200", fit(Some(300), Some(200)), Enlarge::Allow),
        ("300x200>", fit(Some(300), Some(200)), Enlarge::Never),
        ("300x200<", fit(Some(300), Some(200)), Enlarge::Only),
        ("300x>", fit(Some(300), None), Enlarge::Never),
        (
            "!300x200r",
            Geometry::Cover {
                width: 300,
                height: 200,
            },
            Enlarge::Allow,
        ),
        (
            "300x200!",
            Geometry::Stretch {
                width: 300,
                height: 200,
            },
            Enlarge::Allow,
        ),
        (
            "150000@",
            Geometry::Area {
                max_pixels: 150_000,
            },
            Enlarge::Allow,
        ),
    ];
    for (geometry_text, geometry, enlarge) in cases {
        check_ops(
            &format!("imageMogr2/thumbnail/{geometry_text}"),
            vec![resize(geometry.clone(), enlarge)],
        );
    }
    // Clients percent-encode `<`, `>`, `!`, `|`.
    check_ops(
        "imageMogr2/thumbnail/300x200%3E",
        vec![resize(fit(Some(300), Some(200)), Enlarge::Never)],
    );
    check_ops(
        "imageMogr2/thumbnail/300x200%3c",
        vec![resize(fit(Some(300), Some(200)), Enlarge::Only)],
    );
    check_ops(
        "imageMogr2%2Fthumbnail%2F%2150p",
        vec![resize(scale(Some(500), Some(500)), Enlarge::Allow)],
    );
    for bad in [
        "",
        "abc",
        "x",
        "0x100",
        "100x0",
        "!0p",
        "!1001p",
        "!p",
        "!50",
        "!100xr",
        "100x!",
        "@",
        "0@",
        "-5x",
        "50000x50001",
        "1.5x2",
    ] {
        check_err(
            &format!("imageMogr2/thumbnail/{bad}"),
            if bad.is_empty() {
                ErrorKind::MissingArgument
            } else {
                ErrorKind::InvalidArgument
            },
            if bad.is_empty() { "thumbnail" } else { bad },
        );
    }
}

#[test]
fn thumbnail_pad_and_colour() {
    check_ops(
        &format!(
            "imageMogr2/thumbnail/300x200/pad/1/color/{}",
            b64("#FF0000")
        ),
        vec![resize(
            Geometry::Pad {
                width: 300,
                height: 200,
                color: Rgba(255, 0, 0, 255),
            },
            Enlarge::Allow,
        )],
    );
    // Default white; companions may come first; shrink-only kept.
    check_ops(
        "imageMogr2/pad/1/thumbnail/300x200%3E",
        vec![resize(
            Geometry::Pad {
                width: 300,
                height: 200,
                color: Rgba::WHITE,
            },
            Enlarge::Never,
        )],
    );
    check_ops(
        "imageMogr2/thumbnail/300x200/pad/0",
        vec![resize(fit(Some(300), Some(200)), Enlarge::Allow)],
    );
    check_err(
        "imageMogr2/thumbnail/300x/pad/1",
        ErrorKind::InvalidArgument,
        "pad",
    );
    check_err(
        "imageMogr2/rotate/90/pad/1",
        ErrorKind::InvalidArgument,
        "needs a `thumbnail`",
    );
    check_err(
        &format!("imageMogr2/thumbnail/3x2/pad/1/color/{}", b64("FF0000")),
        ErrorKind::InvalidArgument,
        "#RRGGBB",
    );
    check_err(
        "imageMogr2/thumbnail/3x2/pad/1/color/!!",
        ErrorKind::BadRequest,
        "base64",
    );
    check_err(
        "imageMogr2/thumbnail/3x2/pad/1/pad/1",
        ErrorKind::InvalidArgument,
        "twice",
    );
}

#[test]
fn cut_crop_and_shapes() {
    let crop = |width, height, gravity, dx, dy| {
        Op::Crop(Crop {
            width,
            height,
            gravity,
            dx,
            dy,
        })
    };
    use Gravity::*;
    check_ops(
        "imageMogr2/cut/300x200x10x20",
        vec![crop(Some(300), Some(200), NorthWest, 10, 20)],
    );
    check_ops(
        "imageMogr2/crop/300x",
        vec![crop(Some(300), None, NorthWest, 0, 0)],
    );
    check_ops(
        "imageMogr2/crop/x200",
        vec![crop(None, Some(200), NorthWest, 0, 0)],
    );
    // Gravity/offset rules: centre ignores both, north/south ignore dx,
    // west/east ignore dy; right/bottom margins point inward.
    let cases = [
        ("center", Center, 0, 0),
        ("north", North, 0, 20),
        ("south", South, 0, -20),
        ("west", West, 10, 0),
        ("east", East, -10, 0),
        ("northwest", NorthWest, 10, 20),
        ("NorthEast", NorthEast, -10, 20),
        ("southwest", SouthWest, 10, -20),
        ("SouthEast", SouthEast, -10, -20),
    ];
    for (name, g, dx, dy) in cases {
        check_ops(
            &format!("imageMogr2/crop/300x200/gravity/{name}/dx/10/dy/20"),
            vec![crop(Some(300), Some(200), g, dx, dy)],
        );
    }
    for (q, kind, needle) in [
        (
            "imageMogr2/cut/300x200x10",
            ErrorKind::InvalidArgument,
            "cut",
        ),
        (
            "imageMogr2/cut/0x200x10x10",
            ErrorKind::InvalidArgument,
            "width",
        ),
        ("imageMogr2/cut/3x2x-1x0", ErrorKind::InvalidArgument, "cut"),
        ("imageMogr2/crop/x", ErrorKind::InvalidArgument, "crop"),
        ("imageMogr2/crop/300", ErrorKind::InvalidArgument, "300"),
        (
            "imageMogr2/crop/3x2/gravity/middle",
            ErrorKind::InvalidArgument,
            "gravity",
        ),
        (
            "imageMogr2/crop/3x2/dx/-5",
            ErrorKind::InvalidArgument,
            "dx",
        ),
        (
            "imageMogr2/gravity/center",
            ErrorKind::InvalidArgument,
            "needs a `crop`",
        ),
        ("imageMogr2/crop", ErrorKind::MissingArgument, "crop"),
    ] {
        check_err(q, kind, needle);
    }

    check_ops(
        "imageMogr2/iradius/100",
        vec![Op::Circle {
            radius: 100,
            bbox: CircleBox::TwoR,
        }],
    );
    check_ops(
        "imageMogr2/rradius/30",
        vec![Op::RoundedCorners { radius: 30 }],
    );
    check_err(
        "imageMogr2/iradius/0",
        ErrorKind::InvalidArgument,
        "iradius",
    );
    check_err(
        "imageMogr2/rradius/x",
        ErrorKind::InvalidArgument,
        "rradius",
    );
    // Face-aware crop: no detector, so "no face" → the source: nothing.
    check_ops("imageMogr2/scrop/100x100", vec![]);
    check_ops(
        "imageMogr2/scrop/100x100/rotate/90",
        vec![Op::Rotate { degrees: 90 }],
    );
    check_err("imageMogr2/scrop/100x", ErrorKind::InvalidArgument, "scrop");
    check_err("imageMogr2/rcrop/1x2", ErrorKind::NotImplemented, "rcrop");
}

#[test]
fn orientation_and_effects() {
    check_ops("imageMogr2/rotate/90", vec![Op::Rotate { degrees: 90 }]);
    check_ops("imageMogr2/rotate/360", vec![]);
    check_ops("imageMogr2/rotate/0", vec![]);
    check_err(
        "imageMogr2/rotate/361",
        ErrorKind::InvalidArgument,
        "rotate",
    );
    check_err("imageMogr2/rotate", ErrorKind::MissingArgument, "rotate");
    check_ops("imageMogr2/auto-orient", vec![Op::AutoOrient]);
    check_ops(
        "imageMogr2/auto-orient/thumbnail/100x",
        vec![Op::AutoOrient, resize(fit(Some(100), None), Enlarge::Allow)],
    );
    check_ops("imageMogr2/auto-orient/1", vec![Op::AutoOrient]);
    check_ops("imageMogr2/auto-orient/0", vec![]);
    check_ops(
        "imageMogr2/flip/vertical",
        vec![Op::Flip(FlipAxis::Vertical)],
    );
    check_ops(
        "imageMogr2/flip/horizontal",
        vec![Op::Flip(FlipAxis::Horizontal)],
    );
    check_err(
        "imageMogr2/flip/diagonal",
        ErrorKind::InvalidArgument,
        "flip",
    );

    check_ops(
        "imageMogr2/blur/8x5",
        vec![Op::Blur(Blur {
            radius: 8,
            sigma_milli: 5000,
            kind: BlurKind::Gaussian,
            region: None,
        })],
    );
    check_ops(
        "imageMogr2/blur/1x0.5",
        vec![Op::Blur(Blur {
            radius: 1,
            sigma_milli: 500,
            kind: BlurKind::Gaussian,
            region: None,
        })],
    );
    for bad in ["0x5", "51x5", "8x0", "8", "8x", "x5"] {
        check_err(
            &format!("imageMogr2/blur/{bad}"),
            ErrorKind::InvalidArgument,
            "blur",
        );
    }
    check_ops("imageMogr2/bright/70", vec![Op::Bright(70)]);
    // No UCloud flood quirk in Tencent.
    check_ops("imageMogr2/bright/100", vec![Op::Bright(100)]);
    check_ops("imageMogr2/contrast/-50", vec![Op::Contrast(-50)]);
    check_err(
        "imageMogr2/bright/101",
        ErrorKind::InvalidArgument,
        "bright",
    );
    check_err(
        "imageMogr2/contrast/-101",
        ErrorKind::InvalidArgument,
        "contrast",
    );
    check_ops(
        "imageMogr2/sharpen/70",
        vec![Op::Sharpen {
            sigma_milli: 1000,
            amount_percent: 70,
        }],
    );
    check_err(
        "imageMogr2/sharpen/9",
        ErrorKind::InvalidArgument,
        "sharpen",
    );
    check_err(
        "imageMogr2/sharpen/301",
        ErrorKind::InvalidArgument,
        "sharpen",
    );
    check_ops("imageMogr2/grayscale/1", vec![Op::Grayscale]);
    check_ops("imageMogr2/grayscale/0", vec![]);
    check_err(
        "imageMogr2/grayscale/2",
        ErrorKind::InvalidArgument,
        "grayscale",
    );
    check_err("imageMogr2/minsize/1", ErrorKind::UnknownAction, "minsize");
}

#[test]
fn format_quality_and_output() {
    let out = |output: OutputOptions| Pipeline {
        output,
        ..pipe(vec![])
    };
    let fmt = |format| {
        Some(FormatRequest {
            format,
            only_if_source_animated: false,
        })
    };
    for (name, format) in [
        ("jpg", Format::Jpeg),
        ("yjpeg", Format::Jpeg),
        ("png", Format::Png),
        ("webp", Format::Webp),
        ("bmp", Format::Bmp),
        ("gif", Format::Gif),
        ("avif", Format::Avif),
        ("heif", Format::Heic),
    ] {
        check(
            &format!("imageMogr2/format/{name}"),
            out(OutputOptions {
                format: fmt(format),
                ..Default::default()
            }),
        );
    }
    check_err("imageMogr2/format/tpg", ErrorKind::NotImplemented, "TPG");
    check_err(
        "imageMogr2/format/tiff",
        ErrorKind::InvalidArgument,
        "format",
    );
    check_err(
        "imageMogr2/format/JPG",
        ErrorKind::InvalidArgument,
        "format",
    );

    let quality = |q| {
        out(OutputOptions {
            quality: Some(q),
            ..Default::default()
        })
    };
    check("imageMogr2/quality/80", quality(Quality::Absolute(80)));
    check("imageMogr2/quality/80!", quality(Quality::Forced(80)));
    check("imageMogr2/quality/80%21", quality(Quality::Forced(80)));
    check("imageMogr2/rquality/80", quality(Quality::Relative(80)));
    check("imageMogr2/lquality/80", quality(Quality::Floor(80)));
    check_err(
        "imageMogr2/quality/101",
        ErrorKind::InvalidArgument,
        "quality",
    );
    check_err(
        "imageMogr2/quality/!",
        ErrorKind::InvalidArgument,
        "quality",
    );
    check_err(
        "imageMogr2/rquality/-1",
        ErrorKind::InvalidArgument,
        "rquality",
    );

    check(
        "imageMogr2/format/jpg/interlace/1",
        out(OutputOptions {
            format: fmt(Format::Jpeg),
            progressive: true,
            interlace_named: true,
            ..Default::default()
        }),
    );
    check(
        "imageMogr2/interlace/0",
        out(OutputOptions {
            interlace_named: true,
            ..Default::default()
        }),
    );
    check_err(
        "imageMogr2/interlace/2",
        ErrorKind::InvalidArgument,
        "interlace",
    );
    check(
        "imageMogr2/strip",
        out(OutputOptions {
            strip_metadata: true,
            ..Default::default()
        }),
    );
    for (text, max_bytes, bang) in [
        ("15k", 15 * 1024, false),
        ("15k!", 15 * 1024, true),
        ("2m", 2 * 1024 * 1024, false),
        ("2M%21", 2 * 1024 * 1024, true),
    ] {
        check(
            &format!("imageMogr2/size-limit/{text}"),
            out(OutputOptions {
                size_limit: Some(SizeLimit {
                    max_bytes,
                    source_if_not_smaller: bang,
                }),
                ..Default::default()
            }),
        );
    }
    for bad in ["15", "k", "0k", "1.5m", "15g"] {
        check_err(
            &format!("imageMogr2/size-limit/{bad}"),
            ErrorKind::InvalidArgument,
            "size-limit",
        );
    }

    check_ops(
        "imageMogr2/cgif/20",
        vec![Op::Frames(FrameSelect::AtMost(20))],
    );
    check_ops(
        "imageMogr2/cgif/1",
        vec![Op::Frames(FrameSelect::AtMost(30))],
    );
    check_err("imageMogr2/cgif/101", ErrorKind::InvalidArgument, "cgif");
    check_err("imageMogr2/cgif/0", ErrorKind::InvalidArgument, "cgif");

    // ignore-error applies to the whole request, wherever it is written.
    check(
        "imageMogr2/ignore-error/1/thumbnail/100x",
        Pipeline {
            on_limit_error: OnLimitError::ReturnSource,
            ..pipe(vec![resize(fit(Some(100), None), Enlarge::Allow)])
        },
    );
    check(
        "imageMogr2/thumbnail/100x/ignore-error/0",
        pipe(vec![resize(fit(Some(100), None), Enlarge::Allow)]),
    );
    check_err(
        "imageMogr2/ignore-error/2",
        ErrorKind::InvalidArgument,
        "ignore-error",
    );
}

#[test]
fn operations_apply_in_order_across_stages() {
    check(
        "imageMogr2/thumbnail/!50p/rotate/90/format/png/quality/80|imageMogr2/blur/2x1|imageInfo",
        Pipeline {
            ops: vec![
                resize(
                    Geometry::Scale {
                        x_permille: Some(500),
                        y_permille: Some(500),
                    },
                    Enlarge::Allow,
                ),
                Op::Rotate { degrees: 90 },
                Op::Blur(Blur {
                    radius: 2,
                    sigma_milli: 1000,
                    kind: BlurKind::Gaussian,
                    region: None,
                }),
            ],
            output: OutputOptions {
                format: Some(FormatRequest {
                    format: Format::Png,
                    only_if_source_animated: false,
                }),
                quality: Some(Quality::Absolute(80)),
                ..Default::default()
            },
            terminal: Some(Terminal::Info),
            ..pipe(vec![])
        },
    );
    // Encoded pipe, trailing slash.
    check_ops(
        "imageMogr2/rotate/90/%7CimageMogr2/rotate/180",
        vec![Op::Rotate { degrees: 90 }, Op::Rotate { degrees: 180 }],
    );
    let ten = ["imageMogr2/rotate/1"; MAX_STAGES].join("|");
    assert!(parse_query(&ten).is_ok());
    let eleven = ["imageMogr2/rotate/1"; MAX_STAGES + 1].join("|");
    check_err(&eleven, ErrorKind::TooManyStages, "at most 10");
    check_err(
        "imageMogr2/rotate/90||imageMogr2/rotate/90",
        ErrorKind::BadRequest,
        "empty stage",
    );
    check_err(
        "imageMogr2/rotate//90",
        ErrorKind::MissingArgument,
        "rotate",
    );
    check_err("imageMogr2/", ErrorKind::MissingArgument, "no operation");
    check_err(
        "imageMogr2/rotate/90|imageSlim",
        ErrorKind::UnknownAction,
        "imageSlim",
    );
}

#[test]
fn image_view2_modes() {
    let view = |q: &str| format!("imageView2/{q}");
    // The doc examples on a 1000×500 source: 500×400, 500×250, 800×400.
    check_ops(
        &view("1/w/500/h/400"),
        vec![resize(
            Geometry::Fill {
                width: 500,
                height: 400,
            },
            Enlarge::Allow,
        )],
    );
    check_ops(
        &view("2/w/500/h/400"),
        vec![resize(fit(Some(500), Some(400)), Enlarge::Allow)],
    );
    check_ops(
        &view("3/w/500/h/400"),
        vec![resize(
            Geometry::Cover {
                width: 500,
                height: 400,
            },
            Enlarge::Allow,
        )],
    );
    // One value: square for 1 and 3, free side for 2.
    check_ops(
        &view("1/w/200"),
        vec![resize(
            Geometry::Fill {
                width: 200,
                height: 200,
            },
            Enlarge::Allow,
        )],
    );
    check_ops(
        &view("3/h/300"),
        vec![resize(
            Geometry::Cover {
                width: 300,
                height: 300,
            },
            Enlarge::Allow,
        )],
    );
    check_ops(
        &view("2/h/300"),
        vec![resize(fit(None, Some(300)), Enlarge::Allow)],
    );
    check(
        &view("2/w/500/format/webp/q/80!"),
        Pipeline {
            output: OutputOptions {
                format: Some(FormatRequest {
                    format: Format::Webp,
                    only_if_source_animated: false,
                }),
                quality: Some(Quality::Forced(80)),
                ..Default::default()
            },
            ..pipe(vec![resize(fit(Some(500), None), Enlarge::Allow)])
        },
    );
    for (params, q) in [
        ("q/70", Quality::Absolute(70)),
        ("rq/70", Quality::Relative(70)),
        ("lq/70", Quality::Floor(70)),
    ] {
        check(
            &view(&format!("2/w/500/{params}")),
            Pipeline {
                output: OutputOptions {
                    quality: Some(q),
                    ..Default::default()
                },
                ..pipe(vec![resize(fit(Some(500), None), Enlarge::Allow)])
            },
        );
    }
    // Modes 4 and 5: long edge ≥ w, short edge ≥ h, the box turned like
    // the source; 5 then centre-crops. One value stands for both.
    let boxed = |long, short, crop| Geometry::OrientedBox { long, short, crop };
    for (q, geometry) in [
        ("4/w/500/h/400", boxed(500, 400, false)),
        ("4/w/500", boxed(500, 500, false)),
        ("4/h/400", boxed(400, 400, false)),
        ("5/w/500/h/400", boxed(500, 400, true)),
        ("5/w/300", boxed(300, 300, true)),
        ("5/h/200", boxed(200, 200, true)),
    ] {
        check_ops(&view(q), vec![resize(geometry, Enlarge::Allow)]);
    }
    for (q, kind, needle) in [
        ("0/w/5", ErrorKind::InvalidArgument, "mode"),
        ("4", ErrorKind::MissingArgument, "/w/"),
        ("6/w/5", ErrorKind::InvalidArgument, "mode"),
        ("5", ErrorKind::MissingArgument, "/w/"),
        ("1", ErrorKind::MissingArgument, "/w/"),
        ("1/w/0", ErrorKind::InvalidArgument, "w"),
        ("1/w/5/w/6", ErrorKind::InvalidArgument, "twice"),
        ("1/w/5/x/6", ErrorKind::InvalidArgument, "`x`"),
        ("1/w/5/format/avif", ErrorKind::InvalidArgument, "format"),
        ("1/w/5/format/yjpeg", ErrorKind::InvalidArgument, "format"),
        ("1/w", ErrorKind::MissingArgument, "w"),
    ] {
        check_err(&view(q), kind, needle);
    }
}

#[test]
fn image_watermarks() {
    let url = b64("http://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/wm/logo.png");
    let mark = |key: &str, scale, oversize, placement, opacity, tile| {
        Op::Watermark(Watermark {
            image: Some(WatermarkImage {
                key: key.into(),
                preprocess: vec![],
                scale,
                oversize,
            }),
            text: None,
            combine: Combine::default(),
            placement,
            opacity,
            tile,
        })
    };
    let at = |gravity, dx, dy| Placement {
        gravity,
        dx,
        dy,
        voffset: 0,
    };
    // Defaults: south-east, no margin, dissolve 90, shrink when too big.
    check_ops(
        &format!("watermark/1/image/{url}"),
        vec![mark(
            "wm/logo.png",
            None,
            Oversize::Shrink,
            at(Gravity::SouthEast, 0, 0),
            90,
            None,
        )],
    );
    check_ops(
        &format!(
            "watermark/1/image/{url}/gravity/northwest/dx/10/dy/20/blogo/2/scatype/1/spcent/500/dissolve/50"
        ),
        vec![mark(
            "wm/logo.png",
            Some(WatermarkScale::PermilleOfWidth(500)),
            Oversize::Crop,
            at(Gravity::NorthWest, 10, 20),
            50,
            None,
        )],
    );
    for (t, scale) in [
        ("2/spcent/1000", WatermarkScale::PermilleOfHeight(1000)),
        ("3/spcent/250", WatermarkScale::PermilleOfArea(250)),
    ] {
        check_ops(
            &format!("watermark/1/image/{url}/scatype/{t}/blogo/1"),
            vec![mark(
                "wm/logo.png",
                Some(scale),
                Oversize::Shrink,
                at(Gravity::SouthEast, 0, 0),
                90,
                None,
            )],
        );
    }
    check_ops(
        &format!("watermark/1/image/{url}/batch/1/degree/45"),
        vec![mark(
            "wm/logo.png",
            None,
            Oversize::Shrink,
            at(Gravity::SouthEast, 0, 0),
            90,
            Some(Tile {
                padx: 0,
                pady: 0,
                degrees: 45,
            }),
        )],
    );
    // degree without batch: no tiling.
    check_ops(
        &format!("watermark/1/image/{url}/degree/45"),
        vec![mark(
            "wm/logo.png",
            None,
            Oversize::Shrink,
            at(Gravity::SouthEast, 0, 0),
            90,
            None,
        )],
    );
    // The signed example of the vendor's pages, padded base64 included,
    // and the key of a percent-encoded path.
    check_ops(
        "q-sign-algorithm=sha1&q-ak=AKID&q-sign-time=1;2&q-key-time=1;2&q-header-list=&q-url-param-list=watermark%252f1%252fimage&q-signature=26a4&watermark/1/image/aHR0cDovL2V4YW1wbGVzLTEyNTEwMDAwMDQucGljc2gubXlxY2xvdWQuY29tL3NodWl5aW4uanBn/gravity/southeast",
        vec![mark(
            "shuiyin.jpg",
            None,
            Oversize::Shrink,
            at(Gravity::SouthEast, 0, 0),
            90,
            None,
        )],
    );
    check_ops(
        &format!("watermark/1/image/{}", b64("http://h/dir/a%20b.png?x=1")),
        vec![mark(
            "dir/a b.png",
            None,
            Oversize::Shrink,
            at(Gravity::SouthEast, 0, 0),
            90,
            None,
        )],
    );
    let errors = [
        ("watermark/1", ErrorKind::MissingArgument, "/image/"),
        (
            "watermark/1/gravity/center",
            ErrorKind::MissingArgument,
            "/image/",
        ),
        ("watermark/5/image/aGk", ErrorKind::InvalidArgument, "kind"),
        ("watermark/1/image/%25%25", ErrorKind::BadRequest, "base64"),
    ];
    for (q, kind, needle) in errors {
        check_err(q, kind, needle);
    }
    for bad in [
        "https://h/k.png",
        "//h/k.png",
        "h/k.png",
        "http://h",
        "http://h/",
    ] {
        check_err(
            &format!("watermark/1/image/{}", b64(bad)),
            ErrorKind::InvalidArgument,
            "watermark image URL",
        );
    }
    for (params, kind, needle) in [
        ("scatype/1", ErrorKind::MissingArgument, "spcent"),
        ("spcent/10", ErrorKind::MissingArgument, "scatype"),
        ("scatype/3/spcent/251", ErrorKind::InvalidArgument, "spcent"),
        ("scatype/4/spcent/1", ErrorKind::InvalidArgument, "scatype"),
        ("dissolve/0", ErrorKind::InvalidArgument, "dissolve"),
        ("blogo/3", ErrorKind::InvalidArgument, "blogo"),
        ("degree/361", ErrorKind::InvalidArgument, "degree"),
        ("fontsize/10", ErrorKind::InvalidArgument, "fontsize"),
        ("gravity/up", ErrorKind::InvalidArgument, "gravity"),
    ] {
        check_err(&format!("watermark/1/image/{url}/{params}"), kind, needle);
    }
    for q in ["watermark/3/type/1/image/aGk", "watermark/4/type/1"] {
        check_err(q, ErrorKind::NotImplemented, "blind");
    }
}

#[test]
fn text_watermarks() {
    let text = |t: &str, font, size, color, shadow| WatermarkText {
        text: t.into(),
        font,
        size,
        color,
        shadow,
        rotate: 0,
    };
    let mark = |t, placement, opacity, tile| {
        Op::Watermark(Watermark {
            image: None,
            text: Some(t),
            combine: Combine::default(),
            placement,
            opacity,
            tile,
        })
    };
    let se = Placement {
        gravity: Gravity::SouthEast,
        dx: 0,
        dy: 0,
        voffset: 0,
    };
    // Defaults: tahoma, 13 pt = 17 px, #3D3D3D, dissolve 90.
    check_ops(
        &format!("watermark/2/text/{}", b64("腾讯云")),
        vec![mark(
            text("腾讯云", Font::Tahoma, 17, Rgb(0x3D, 0x3D, 0x3D), 0),
            se.clone(),
            90,
            None,
        )],
    );
    check_ops(
        &format!(
            "watermark/2/text/{}/font/{}/fontsize/24/fill/{}/dissolve/80/gravity/north/dx/5/dy/6/batch/1/degree/30/shadow/50",
            b64("hi"),
            b64("simhei黑体.ttf"),
            b64("#FF0000")
        ),
        vec![mark(
            text("hi", Font::FangZhengHeiTi, 32, Rgb(255, 0, 0), 50),
            Placement {
                gravity: Gravity::North,
                dx: 5,
                dy: 6,
                voffset: 0,
            },
            80,
            Some(Tile {
                padx: 0,
                pady: 0,
                degrees: 30,
            }),
        )],
    );
    // Padded base64 (the `=` is part of the value-less key).
    check_ops(
        "watermark/2/text/5LitYQ==/fill/IzAwMDAwMA",
        vec![mark(
            text("中a", Font::Tahoma, 17, Rgb(0, 0, 0), 0),
            se.clone(),
            90,
            None,
        )],
    );
    for (name, font) in [
        ("tahoma.ttf", Font::Tahoma),
        ("arial.ttf", Font::Arial),
        ("simsun宋体.ttc", Font::SimSun),
        ("宋体", Font::SimSun),
        ("simfang仿宋.ttf", Font::FangZhengFangSong),
        ("simkai楷体.ttf", Font::FangZhengKaiTi),
        ("STLiti华文隶书.ttf", Font::LiShu),
        ("STZhongsong华文中宋.ttf", Font::FangZhengShuSong),
        ("STHeiti Light华文黑体.ttc", Font::FangZhengHeiTi),
        ("STHupo华文琥珀.ttf", Font::DroidSansFallback),
        ("msyh.ttf", Font::WqyMicroHei),
        ("微软雅黑", Font::WqyMicroHei),
    ] {
        let q = format!("watermark/2/text/{}/font/{}", b64("x"), b64(name));
        let Directive::Pipeline(p) = parse_query(&q).unwrap() else {
            panic!("{name}")
        };
        let Op::Watermark(w) = &p.ops[0] else {
            panic!()
        };
        assert_eq!(w.text.as_ref().unwrap().font, font, "{name}");
    }
    let t = b64("x");
    for (params, kind, needle) in [
        ("", ErrorKind::MissingArgument, "/text/"),
        ("/text/", ErrorKind::MissingArgument, "text"),
        (
            &format!("/text/{t}/font/{}", b64("comic.ttf")),
            ErrorKind::InvalidArgument,
            "font",
        ),
        (
            &format!("/text/{t}/fill/{}", b64("red")),
            ErrorKind::InvalidArgument,
            "#RRGGBB",
        ),
        (
            &format!("/text/{t}/shadow/101"),
            ErrorKind::InvalidArgument,
            "shadow",
        ),
        (
            &format!("/text/{t}/fontsize/0"),
            ErrorKind::InvalidArgument,
            "fontsize",
        ),
        (
            &format!("/text/{t}/spcent/5"),
            ErrorKind::InvalidArgument,
            "spcent",
        ),
        (
            &format!("/text/{t}/text/{t}"),
            ErrorKind::InvalidArgument,
            "twice",
        ),
    ] {
        check_err(&format!("watermark/2{params}"), kind, needle);
    }
    // Image then text, chained with `|` (`docs/cos-dialect.md`, "Request forms").
    let q = format!(
        "watermark/1/image/{}%7Cwatermark/2/text/{}",
        b64("http://h/wm.png"),
        b64("t")
    );
    let Directive::Pipeline(p) = parse_query(&q).unwrap() else {
        panic!()
    };
    assert_eq!(p.ops.len(), 2);
    assert_eq!(p.asset_keys(), vec!["wm.png".to_string()]);
}

#[test]
fn information_processors() {
    let terminal = |ops, t| Pipeline {
        terminal: Some(t),
        ..pipe(ops)
    };
    check("imageInfo", terminal(vec![], Terminal::Info));
    check("imageInfo=", terminal(vec![], Terminal::Info));
    check("exif", terminal(vec![], Terminal::Exif));
    check("imageAve", terminal(vec![], Terminal::AverageColor));
    check(
        "imageMogr2/rotate/90|imageAve",
        terminal(vec![Op::Rotate { degrees: 90 }], Terminal::AverageColor),
    );
    check_err(
        "imageInfo|imageMogr2/rotate/90",
        ErrorKind::BadRequest,
        "last stage",
    );
    check_err("imageAve|exif", ErrorKind::BadRequest, "last stage");
    check(
        "q-sign-algorithm=sha1&q-ak=AKID&q-signature=x&imageInfo",
        terminal(vec![], Terminal::Info),
    );
}

#[test]
fn query_envelope_styles_and_errors() {
    // The vendor's documented examples, with and without a signature.
    let png = Pipeline {
        output: OutputOptions {
            format: Some(FormatRequest {
                format: Format::Png,
                only_if_source_animated: false,
            }),
            ..Default::default()
        },
        ..pipe(vec![])
    };
    check("imageMogr2/format/png", png.clone());
    check(
        "q-sign-algorithm=<signature>&imageMogr2/format/png",
        png.clone(),
    );
    check("imageMogr2/format/png&versionId=7", png.clone());
    check("q-signature=%FF%FE&imageMogr2/format/png", png);
    check_err("imageMogr2/rotate/%FF", ErrorKind::BadRequest, "UTF-8");
    let strip = Pipeline {
        output: OutputOptions {
            strip_metadata: true,
            ..Default::default()
        },
        ..pipe(vec![])
    };
    check("imageMogr2/strip", strip.clone());
    check(
        "q-sign-algorithm=sha1&q-ak=AKID&q-sign-time=1593342360;1593342720&imageMogr2/strip",
        strip,
    );
    check_err(
        "imageMogr2/strip&imageInfo",
        ErrorKind::BadRequest,
        "only one processing string",
    );
    check_err("versionId=3", ErrorKind::MissingArgument, "no processing");
    // A video snapshot: the frame, then the scale and format asked for.
    let Directive::Pipeline(p) =
        parse_query("ci-process=snapshot&time=1.5&width=320&format=png&mode=keyframe").unwrap()
    else {
        panic!("not a pipeline")
    };
    assert_eq!(
        p.video,
        Some(imaging::VideoFrame {
            at_ms: 1500,
            keyframe: true,
            auto_rotate: true,
        })
    );
    assert_eq!(
        p.output.format.map(|f| f.format),
        Some(imaging::Format::Png)
    );
    assert_eq!(p.ops.len(), 1);
    check_err("ci-process=snapshot", ErrorKind::MissingArgument, "`time`");
    check_err(
        "ci-process=snapshot&time=1&rotate=left",
        ErrorKind::InvalidArgument,
        "one of auto, off",
    );

    // style/<name> is a rule (and query) form, never a style body's.
    assert_eq!(
        parse_rule("style/half").unwrap(),
        Directive::Style("half".into())
    );
    assert_eq!(
        parse_query("style/half").unwrap(),
        Directive::Style("half".into())
    );
    for (text, needle) in [
        ("style/", "style name"),
        ("style/a|imageInfo", "cannot be combined"),
        ("imageInfo|style/a", "last stage"),
        ("imageMogr2/rotate/1|style/a", "cannot be combined"),
    ] {
        let e = parse_rule(text).unwrap_err();
        assert!(e.message.contains(needle), "{text}: {e}");
        assert_eq!(e.vendor_code.as_deref(), Some(ERRNO_MALFORMED));
    }
    let e = parse_style("style/half").unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    // The conformance fixtures' style `half`.
    assert_eq!(
        parse_style("imageMogr2/thumbnail/!50p").unwrap(),
        Pipeline {
            bounds: imaging::Bounds::Refuse,
            ..pipe(vec![resize(
                Geometry::Scale {
                    x_permille: Some(500),
                    y_permille: Some(500)
                },
                Enlarge::Allow
            )])
        }
    );
}

#[test]
fn pic_operations_header() {
    let ops = parse_pic_operations(
        r#"{"is_pic_info": 1,
            "rules": [{"bucket": "examplebucket-1250000000", "fileid": "out/a.png",
                       "rule": "imageMogr2/thumbnail/!50p/format/png"},
                      {"fileid": "/abs/b.jpg", "rule": "style/half"}]}"#,
    )
    .unwrap();
    assert!(ops.is_pic_info);
    assert_eq!(ops.rules.len(), 2);
    assert_eq!(
        ops.rules[0].bucket.as_deref(),
        Some("examplebucket-1250000000")
    );
    assert_eq!(ops.rules[0].fileid, "out/a.png");
    assert_eq!(ops.rules[0].rule, "imageMogr2/thumbnail/!50p/format/png");
    assert_eq!(
        ops.rules[0].directive,
        Directive::Pipeline(Pipeline {
            output: OutputOptions {
                format: Some(FormatRequest {
                    format: Format::Png,
                    only_if_source_animated: false,
                }),
                ..Default::default()
            },
            bounds: imaging::Bounds::Refuse,
            ..pipe(vec![resize(
                Geometry::Scale {
                    x_permille: Some(500),
                    y_permille: Some(500),
                },
                Enlarge::Allow,
            )])
        })
    );
    assert_eq!(ops.rules[1].bucket, None);
    assert_eq!(ops.rules[1].directive, Directive::Style("half".into()));

    // is_pic_info absent / "0"; rules absent.
    let ops = parse_pic_operations(r#"{"is_pic_info": "0"}"#).unwrap();
    assert!(!ops.is_pic_info && ops.rules.is_empty());
    // A multi-line rule as the vendor's pages show it would not be valid
    // JSON; a piped one is.
    let ops =
        parse_pic_operations(r#"{"rules":[{"fileid":"x","rule":"imageMogr2/strip|imageAve"}]}"#)
            .unwrap();
    assert!(
        matches!(&ops.rules[0].directive, Directive::Pipeline(p) if p.terminal == Some(Terminal::AverageColor))
    );

    let rule = r#"{"fileid":"o","rule":"imageMogr2/strip"}"#;
    let six = format!(r#"{{"rules":[{}]}}"#, [rule; 6].join(","));
    let five = format!(r#"{{"rules":[{}]}}"#, [rule; 5].join(","));
    assert_eq!(parse_pic_operations(&five).unwrap().rules.len(), 5);
    let cases: Vec<(&str, ErrorKind, &str)> = vec![
        ("not json", ErrorKind::BadRequest, "JSON"),
        ("[1]", ErrorKind::BadRequest, "object"),
        (
            r#"{"is_pic_info": 2}"#,
            ErrorKind::InvalidArgument,
            "is_pic_info",
        ),
        (r#"{"rules": {}}"#, ErrorKind::InvalidArgument, "array"),
        (r#"{"rules": [1]}"#, ErrorKind::InvalidArgument, "object"),
        (
            r#"{"rules": [{"rule": "imageAve"}]}"#,
            ErrorKind::MissingArgument,
            "fileid",
        ),
        (
            r#"{"rules": [{"fileid": "x"}]}"#,
            ErrorKind::MissingArgument,
            "rule",
        ),
        (
            r#"{"rules": [{"fileid": "", "rule": "imageAve"}]}"#,
            ErrorKind::InvalidArgument,
            "fileid",
        ),
        (
            r#"{"rules": [{"fileid": "d/", "rule": "imageAve"}]}"#,
            ErrorKind::InvalidArgument,
            "fileid",
        ),
        (
            r#"{"rules": [{"fileid": "x", "rule": 5}]}"#,
            ErrorKind::InvalidArgument,
            "rule",
        ),
        (
            r#"{"rules": [{"fileid": "x", "rule": "imageMogr2/rotate/999"}]}"#,
            ErrorKind::InvalidArgument,
            "rotate",
        ),
        (
            r#"{"rules": [{"fileid": "x", "bucket": 1, "rule": "imageAve"}]}"#,
            ErrorKind::InvalidArgument,
            "bucket",
        ),
        (&six, ErrorKind::TooManyStages, "at most 5"),
    ];
    for (header, kind, needle) in cases {
        let e = parse_pic_operations(header).unwrap_err();
        assert_eq!(e.kind, kind, "{header}: {e}");
        assert_eq!(e.vendor_code.as_deref(), Some(ERRNO_MALFORMED), "{header}");
        assert!(e.message.contains(needle), "{header}: {e}");
    }
}

#[test]
fn fileid_resolution() {
    for (source, fileid, want) in [
        // The vendor's example.
        ("/p1/test1.jpg", "p2/test2.jpg", "p1/p2/test2.jpg"),
        ("p1/test1.jpg", "p2/test2.jpg", "p1/p2/test2.jpg"),
        ("test1.jpg", "out.png", "out.png"),
        ("dir/f1.jpg", "/abs/out.png", "abs/out.png"),
        ("dir/f1.jpg", "f1.jpg", "dir/f1.jpg"),
        ("a/b/c.jpg", "d.jpg", "a/b/d.jpg"),
    ] {
        assert_eq!(
            resolve_fileid(source, fileid).unwrap(),
            want,
            "{source} + {fileid}"
        );
    }
    for fileid in ["", "dir/", "/", "../x.jpg", "a/./b", "/a/../b"] {
        let e = resolve_fileid("dir/f1.jpg", fileid).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{fileid}");
        assert_eq!(e.vendor_code.as_deref(), Some(ERRNO_MALFORMED));
    }
}

#[test]
fn json_renderers() {
    use imaging::{ExifField, ImageInfo};
    let info = ImageInfo {
        format: Format::Jpeg,
        width: 960,
        height: 540,
        file_size: 158_421,
        frame_count: 1,
        quality: Some(90),
        orientation: None,
        exif: vec![],
    };
    // The documented sample, values as strings.
    assert_eq!(
        info_json(&info, "77a16fa70e2eba652fb42e8a639c52f2"),
        serde_json::json!({"format": "jpeg", "width": "960", "height": "540", "size": "158421",
                           "md5": "77a16fa70e2eba652fb42e8a639c52f2", "frame_count": "1"})
    );
    let gif = ImageInfo {
        format: Format::Gif,
        frame_count: 10,
        ..info
    };
    let v = info_json(&gif, "x");
    assert_eq!(
        (v["format"].as_str(), v["frame_count"].as_str()),
        (Some("gif"), Some("10"))
    );

    assert_eq!(exif_json(&[]), serde_json::json!({"error": "no exif data"}));
    let fields = [
        ExifField {
            tag: "Make".into(),
            value: "TestCam".into(),
            type_code: 2,
        },
        ExifField {
            tag: "Orientation".into(),
            value: "1".into(),
            type_code: 3,
        },
    ];
    assert_eq!(
        exif_json(&fields),
        serde_json::json!({"Make": {"val": "TestCam", "type": 2}, "Orientation": {"val": "1", "type": 3}})
    );
    assert_eq!(
        average_hue_json(Rgb(0x73, 0x62, 0x46)),
        serde_json::json!({"RGB": "0x736246"})
    );
}

/// The documented sizes (1000×500 source) through the engine's size
/// arithmetic (`imaging::geometry::plan_resize`).
#[test]
fn documented_sizes_through_the_engine_arithmetic() {
    let table = [
        ("imageView2/1/w/500/h/400", (500, 400)),
        ("imageView2/2/w/500/h/400", (500, 250)),
        ("imageView2/3/w/500/h/400", (800, 400)),
        // Mode 4: long ≥ 500 and short ≥ 400 → factor max(0.5, 0.8).
        ("imageView2/4/w/500/h/400", (800, 400)),
        ("imageView2/4/w/1200/h/100", (1200, 600)),
        // One value stands for both edges: short ≥ 300 binds → 600×300.
        ("imageView2/4/w/300", (600, 300)),
        // Mode 5: the mode-4 cover, then a centre crop to 500×400.
        ("imageView2/5/w/500/h/400", (500, 400)),
        ("imageView2/5/w/300", (300, 300)),
        ("imageMogr2/thumbnail/!50p", (500, 250)),
        ("imageMogr2/thumbnail/!50px", (500, 500)),
        ("imageMogr2/thumbnail/!x50p", (1000, 250)),
        ("imageMogr2/thumbnail/300x", (300, 150)),
        ("imageMogr2/thumbnail/x100", (200, 100)),
        ("imageMogr2/thumbnail/300x200", (300, 150)),
        ("imageMogr2/thumbnail/2000x2000", (2000, 1000)),
        ("imageMogr2/thumbnail/2000x2000%3E", (1000, 500)),
        ("imageMogr2/thumbnail/300x200%3C", (1000, 500)),
        ("imageMogr2/thumbnail/2000x1500%3C", (2000, 1000)),
        ("imageMogr2/thumbnail/!300x200r", (400, 200)),
        ("imageMogr2/thumbnail/300x200!", (300, 200)),
        ("imageMogr2/thumbnail/300x200/pad/1", (300, 200)),
        ("imageMogr2/thumbnail/150000@", (547, 273)),
    ];
    for (q, want) in table {
        let Ok(Directive::Pipeline(p)) = parse_query(q) else {
            panic!("{q}")
        };
        let mut size = (1000, 500);
        for op in &p.ops {
            if let Op::Resize(r) = op {
                size = imaging::geometry::plan_resize(size.0, size.1, r, p.rounding).output_size();
            }
        }
        assert_eq!(size, want, "{q}");
    }
}

/// Deterministic fuzzing from a token dictionary: the parsers never panic,
/// and every refusal carries X-ErrNo -106 (or is a 501) and a message.
#[test]
fn fuzzed_queries_never_panic() {
    const TOKENS: &[&str] = &[
        "imageMogr2/",
        "imageView2/",
        "watermark/",
        "imageInfo",
        "exif",
        "imageAve",
        "style/",
        "/",
        "/",
        "/",
        "|",
        "%7C",
        "&",
        "=",
        "thumbnail/",
        "crop/",
        "cut/",
        "gravity/",
        "dx/",
        "dy/",
        "pad/",
        "color/",
        "iradius/",
        "rradius/",
        "rotate/",
        "format/",
        "quality/",
        "cgif/",
        "blur/",
        "size-limit/",
        "auto-orient",
        "strip",
        "ignore-error/",
        "w/",
        "h/",
        "q/",
        "image/",
        "text/",
        "font/",
        "fill/",
        "scatype/",
        "spcent/",
        "batch/",
        "degree/",
        "1",
        "2",
        "4",
        "0",
        "-5",
        "300x200",
        "!50p",
        "!x50p",
        "x",
        "@",
        "!",
        "%3E",
        "%3C",
        ">",
        "r",
        "p",
        "k",
        "m",
        "50000",
        "99999999999999999999",
        "0.5",
        "%",
        "%2",
        "%FF",
        "aHR0cDovL2gvaw",
        "I0ZGMDAwMA",
        "5Lit",
        "==",
        "中",
        "q-sign-algorithm=sha1&",
    ];
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = rng.below(14);
        let q: String = (0..len).map(|_| rng.pick(TOKENS)).collect();
        if let Err(e) = parse_query(&q) {
            if e.kind != ErrorKind::NotImplemented {
                assert_eq!(e.vendor_code.as_deref(), Some(ERRNO_MALFORMED), "{q}");
            }
            assert!(!e.message.is_empty(), "{q}");
        }
        let _ = parse_style(&q);
        let _ = parse_rule(&q);
        let _ = resolve_fileid(&q, &q);
        let _ = parse_pic_operations(&format!(r#"{{"rules":[{{"fileid":"a","rule":"{q}"}}]}}"#));
    }
}

#[test]
fn sdk_encoded_key_with_empty_value() {
    // cos-python-sdk-v5 `ci_get_object(Rule=...)` sends `{Rule: ''}` as a
    // query parameter: the whole string percent-encoded, then `=`.
    let enc = "imageMogr2%2Fthumbnail%2F100x%2F=";
    let Directive::Pipeline(sdk) = parse_query(enc).unwrap() else {
        panic!()
    };
    let Directive::Pipeline(plain) = parse_query("imageMogr2/thumbnail/100x/").unwrap() else {
        panic!()
    };
    assert_eq!(sdk, plain);
    // Unencoded, the trailing `=` stays part of the string (base64 padding
    // in watermark text), so a thumbnail with a stray `=` is still refused.
    assert!(parse_query("imageMogr2/thumbnail/100x=").is_err());
}

#[test]
fn operations_are_capped_across_stages() {
    // Issue #13: one stage repeating an operation 100 times.
    let hundred = format!("imageMogr2{}", "/blur/50x50".repeat(100));
    check_err(&hundred, ErrorKind::TooManyStages, "at most 32 operations");
    // Exactly MAX_OPS operations, spread over stages, are fine.
    let stage = format!("imageMogr2{}", "/rotate/1".repeat(MAX_OPS / 2));
    let ok = [stage.as_str(); 2].join("|");
    assert!(parse_query(&ok).is_ok());
    let over = [stage.as_str(), stage.as_str(), "imageMogr2/rotate/1"].join("|");
    check_err(&over, ErrorKind::TooManyStages, "at most 32 operations");
}
