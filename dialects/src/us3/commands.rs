//! US3 stages → one [`imaging::Pipeline`]: the command of each stage is
//! dispatched, its parameters consumed (any left over is an error), and
//! the pipeline rounds sizes toward zero, as UCloud does
//! (`docs/us3-dialect.md`, "Commands").

use super::params::{missing_param, Params};
use super::request::Stage;
use super::thumbnail::thumbnail;
use super::watermark::watermark;
use crate::common::parse_milli;
use crate::error::{DialectError, ErrorKind, Result};
use imaging::{
    Blur, BlurKind, Crop, Format, FormatRequest, FrameSelect, Gravity, Op, OutputOptions, Pipeline,
    Quality, Rgb, Terminal,
};

/// The pipeline being assembled.
#[derive(Default)]
pub(super) struct Build {
    pub(super) ops: Vec<Op>,
    pub(super) output: OutputOptions,
    pub(super) terminal: Option<Terminal>,
}

/// The pipeline of `stages`, in order; an information command must be the
/// last stage.
pub(super) fn build(stages: Vec<Stage>) -> Result<Pipeline> {
    let mut b = Build::default();
    for (i, mut stage) in stages.into_iter().enumerate() {
        if let Some(t) = b.terminal {
            return Err(DialectError::bad_request(
                format!("`{}` must be the last stage", terminal_name(t)),
                stage.raw_cmd,
            ));
        }
        let cmd = stage.cmd.clone();
        let p = &mut stage.params;
        match cmd.as_str() {
            "imageinfo" => b.terminal = Some(Terminal::Info),
            "averagehue" => b.terminal = Some(Terminal::AverageColor),
            "exif" => {
                // US3: "not supported for processed images".
                if i > 0 {
                    return Err(DialectError::bad_request(
                        "`iopcmd=exif` is not available on processed images",
                        stage.raw_cmd,
                    ));
                }
                b.terminal = Some(Terminal::Exif);
            }
            "thumbnail" => thumbnail(p, &mut b)?,
            "crop" => {
                let crop = region(p, "width", "height")?;
                b.ops.push(Op::Crop(crop));
            }
            "indexcrop" => indexcrop(p, &mut b)?,
            "circle" => {
                let radius = p.req_u32(&cmd, "r", 1, 4096)?;
                b.ops.push(Op::Circle {
                    radius,
                    bbox: super::RULES.circle_box,
                });
            }
            "rounded-corners" => {
                let radius = p.req_u32(&cmd, "r", 1, 4096)?;
                b.ops.push(Op::RoundedCorners { radius });
            }
            "rotate" => {
                // 0 and 360 leave the image (and an animation) as it is:
                // no operation, as the OSS parser does.
                let degrees = p.req_u32(&cmd, "degree", 0, 360)? % 360;
                if degrees != 0 {
                    b.ops.push(Op::Rotate { degrees });
                }
            }
            "auto-orient" => {
                if p.u32("value", 0, 1)?.unwrap_or(1) == 1 {
                    b.ops.push(Op::AutoOrient);
                }
            }
            "bright" | "contrast" => b.ops.push(bright_contrast(p, &cmd)?),
            "sharpen" => sharpen(p, &cmd, &mut b)?,
            "blur" => blur(p, &mut b)?,
            "watermark" => watermark(p, &cmd, &mut b)?,
            "convert" => convert(p, &cmd, &mut b)?,
            "interlace" => interlace(p, &mut b)?,
            _ => {
                return Err(DialectError::new(
                    ErrorKind::UnknownAction,
                    format!("unsupported iopcmd `{cmd}`"),
                    stage.raw_cmd,
                ))
            }
        }
        p.finish(&cmd)?;
    }
    Ok(Pipeline {
        ops: b.ops,
        rounding: super::RULES.rounding,
        output: b.output,
        terminal: b.terminal,
        on_limit_error: Default::default(),
        video: None,
        bounds: super::RULES.bounds,
    })
}

fn terminal_name(t: Terminal) -> &'static str {
    match t {
        Terminal::Info => "iopcmd=imageinfo",
        Terminal::Exif => "iopcmd=exif",
        Terminal::AverageColor => "iopcmd=averagehue",
    }
}

/// `bright` or `contrast` (`cmd`), `value` in [-100, 100].
fn bright_contrast(p: &mut Params, cmd: &str) -> Result<Op> {
    let v = p
        .i32("value", -100, 100)?
        .ok_or_else(|| missing_param(cmd, "value"))?;
    // US3: ≥ 100 gives an all-white image, ≤ −100 all-black, stated for
    // both commands.
    Ok(match v {
        100 => Op::Flood(Rgb(255, 255, 255)),
        -100 => Op::Flood(Rgb(0, 0, 0)),
        v if cmd == "bright" => Op::Bright(v),
        v => Op::Contrast(v),
    })
}

/// `interlace`: `value=1` (the default) is progressive JPEG.
fn interlace(p: &mut Params, b: &mut Build) -> Result<()> {
    b.output.interlace_named = true;
    if p.u32("value", 0, 1)?.unwrap_or(1) == 1 {
        // Newest text: non-JPEG images are converted to JPEG.
        b.output.progressive = true;
        b.output.format = Some(FormatRequest {
            format: Format::Jpeg,
            only_if_source_animated: false,
        });
    } else {
        b.output.progressive = false;
    }
    Ok(())
}

/// `width`/`height`/`ax`/`ay`/`gravity` as `crop` and `blur` take them:
/// 0 = to the edge, `gravity` beats the anchor.
fn region(p: &mut Params, wname: &str, hname: &str) -> Result<Crop> {
    let nonzero = |v: Option<u32>| v.filter(|&n| n > 0);
    let width = nonzero(p.u32(wname, 0, 10_000)?);
    let height = nonzero(p.u32(hname, 0, 10_000)?);
    let ax = p.i32("ax", 0, 10_000)?.unwrap_or(0);
    let ay = p.i32("ay", 0, 10_000)?.unwrap_or(0);
    Ok(match p.gravity()? {
        Some(gravity) => Crop {
            width,
            height,
            gravity,
            dx: 0,
            dy: 0,
        },
        None => Crop {
            width,
            height,
            gravity: Gravity::NorthWest,
            dx: ax,
            dy: ay,
        },
    })
}

fn indexcrop(p: &mut Params, b: &mut Build) -> Result<()> {
    const CMD: &str = "indexcrop";
    let x = p.u32("x", 1, u32::MAX)?;
    let y = p.u32("y", 1, u32::MAX)?;
    let index = p.u32("i", 0, u32::MAX)?.unwrap_or(0);
    // "When both x and y are legal, y prevails."
    let (axis, length) = match (x, y) {
        (_, Some(y)) => (imaging::Axis::Y, y),
        (Some(x), None) => (imaging::Axis::X, x),
        (None, None) => return Err(missing_param(CMD, "x` or `y")),
    };
    b.ops.push(Op::IndexCrop {
        axis,
        length,
        index,
    });
    Ok(())
}

fn sharpen(p: &mut Params, cmd: &str, b: &mut Build) -> Result<()> {
    // Union of the 2022-06 and current ranges (`docs/us3-dialect.md`,
    // "Commands").
    let radius = p.u32("radius", 0, 300)?;
    let sigma = p.u32("sigma", 0, 300)?;
    if radius.is_none() && sigma.is_none() {
        return Err(missing_param(cmd, "sigma"));
    }
    let radius = radius.unwrap_or(0);
    let sigma_milli = match sigma.unwrap_or(0) {
        0 => radius * 500,
        s => s * 1000,
    };
    if sigma_milli > 0 {
        b.ops.push(Op::Sharpen {
            sigma_milli,
            amount_percent: 100,
        });
    }
    Ok(())
}

fn blur(p: &mut Params, b: &mut Build) -> Result<()> {
    // 2022-06 text: 0/1; current: 1 = ordinary, 2 = Gaussian.
    let kind = match p.u32("type", 0, 2)?.unwrap_or(1) {
        2 => BlurKind::Gaussian,
        _ => BlurKind::Box,
    };
    let radius = p.u32("radius", 0, 50)?.unwrap_or(0);
    let sigma = p.u32("sigma", 0, 50)?.unwrap_or(0);
    let area = region(p, "width", "height")?;
    let whole = area.width.is_none() && area.height.is_none() && area.dx == 0 && area.dy == 0;
    if radius == 0 && sigma == 0 {
        // Nothing to blur with: the vendor's defaults leave the image as is.
        return Ok(());
    }
    b.ops.push(Op::Blur(Blur {
        radius,
        sigma_milli: sigma * 1000,
        kind,
        region: if whole { None } else { Some(area) },
    }));
    Ok(())
}

fn convert(p: &mut Params, cmd: &str, b: &mut Build) -> Result<()> {
    let dst = p.get("dst").ok_or_else(|| missing_param(cmd, "dst"))?;
    let format = match dst.value.as_str() {
        "jpg" => Format::Jpeg,
        "png" => Format::Png,
        "bmp" => Format::Bmp,
        "webp" => Format::Webp,
        _ => {
            return Err(DialectError::invalid(
                format!("`dst` must be jpg, png, bmp or webp, got `{}`", dst.value),
                dst.raw,
            ))
        }
    };
    let absolute = p.u32("Q", 0, 100)?;
    let relative = p.u32("q", 0, 100)?;
    // Both given → Q wins.
    let quality = match (absolute, relative) {
        (Some(q), _) => Some(Quality::Absolute(q as u8)),
        (None, Some(q)) => Some(Quality::Relative(q as u8)),
        (None, None) => None,
    };
    if let Some(fr) = p.get("fr") {
        let permille =
            parse_milli("fr", &fr.value, 0, 1000).map_err(|e| e.with_fragment(&fr.raw))?;
        b.ops.push(Op::Frames(FrameSelect::AtPermille(permille)));
    }
    b.output.format = Some(FormatRequest {
        format,
        only_if_source_animated: false,
    });
    if quality.is_some() {
        b.output.quality = quality;
    }
    Ok(())
}
