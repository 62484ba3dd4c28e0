//! One `imageMogr2/...` stage: its items are checked against their
//! companions, then each becomes an operation or an output option, in the
//! order written (`docs/cos-dialect.md`, "Operations").

use super::geometry::{apply_pad, crop_offsets, numbers, sides, thumbnail_geometry};
use super::stage::{absolute_quality, format, int_of, items, u32_of, Companions, Item};
use super::{Build, MAX_SIDE};
use crate::common::{parse_int_in, parse_milli};
use crate::error::{DialectError, ErrorKind, Result};
use imaging::{
    Blur, BlurKind, Crop, FlipAxis, FormatRequest, FrameSelect, Gravity, OnLimitError, Op, Quality,
    Resize, SizeLimit,
};

/// Companions: items that qualify an operation of the stage (or, for
/// `ignore-error`, the whole request) rather than being one.
const COMPANIONS: [&str; 6] = ["pad", "color", "gravity", "dx", "dy", "ignore-error"];

/// Which operation each companion needs in the same stage.
const OWNERS: [(&str, &str); 4] = [
    ("pad", "thumbnail"),
    ("gravity", "crop"),
    ("dx", "crop"),
    ("dy", "crop"),
];

/// One `imageMogr2/...` stage (`rest` is what follows `imageMogr2/`).
pub(super) fn mogr(rest: &str, stage: &str, b: &mut Build) -> Result<()> {
    let mut list = if rest.is_empty() {
        Vec::new()
    } else {
        items(rest, stage, &["auto-orient", "strip"])?
    };
    if list.is_empty() {
        return Err(DialectError::missing(
            "`imageMogr2` has no operation",
            stage,
        ));
    }
    let comp = Companions::take(&mut list, &COMPANIONS)?;
    check_owners(&list, &comp)?;
    if let Some(v) = comp.int("ignore-error", 0, 1)? {
        b.on_limit_error = if v == 1 {
            OnLimitError::ReturnSource
        } else {
            OnLimitError::Fail
        };
    }
    for it in &list {
        operation(it, &comp, b)?;
    }
    Ok(())
}

/// A companion without the operation it belongs to is refused.
fn check_owners(list: &[Item], comp: &Companions) -> Result<()> {
    let has = |name: &str| list.iter().any(|i| i.name == name);
    for (companion, owner) in OWNERS {
        if let Some(it) = comp.get(companion) {
            if !has(owner) {
                return Err(DialectError::invalid(
                    format!("`{companion}` needs a `{owner}` in the same imageMogr2 stage"),
                    it.fragment(),
                ));
            }
        }
    }
    Ok(())
}

/// One item of the stage: an operation appended to the pipeline, or an
/// output option set on it.
fn operation(it: &Item, comp: &Companions, b: &mut Build) -> Result<()> {
    let v = it.value.as_deref().unwrap_or("");
    let frag = it.fragment();
    let with = |e: DialectError| e.with_fragment(frag.clone());
    match it.name.as_str() {
        "thumbnail" => {
            let (geometry, enlarge) = thumbnail_geometry(v).map_err(with)?;
            let geometry = apply_pad(geometry, comp)?;
            b.ops.push(Op::Resize(Resize { geometry, enlarge }));
        }
        "cut" => b.ops.push(Op::Crop(cut(v, &frag)?)),
        "crop" => b.ops.push(Op::Crop(crop(v, &frag, comp)?)),
        "iradius" => b.ops.push(Op::Circle {
            radius: u32_of(it, 1, MAX_SIDE)?,
            bbox: super::RULES.circle_box,
        }),
        "rradius" => b.ops.push(Op::RoundedCorners {
            radius: u32_of(it, 1, MAX_SIDE)?,
        }),
        "scrop" => {
            // Validated; without a face detector "no face found" holds
            // and the vendor then answers the source.
            let (w, h) = sides(v).map_err(with)?;
            if w.is_none() || h.is_none() {
                return Err(DialectError::invalid("scrop needs <W>x<H>", frag));
            }
        }
        "rcrop" => {
            return Err(DialectError::not_implemented(
                "adaptive aspect crop (rcrop) is not implemented",
                frag,
            ))
        }
        "rotate" => {
            // 0 and 360 are no operation (as in the OSS parser).
            let degrees = u32_of(it, 0, 360)? % 360;
            if degrees != 0 {
                b.ops.push(Op::Rotate { degrees });
            }
        }
        "auto-orient" => {
            if it.value.as_deref() != Some("0") {
                b.ops.push(Op::AutoOrient);
            }
        }
        "flip" => b.ops.push(Op::Flip(flip(v, &frag)?)),
        "blur" => b.ops.push(Op::Blur(blur(v, &frag)?)),
        "bright" => b.ops.push(Op::Bright(int_of(it, -100, 100)? as i32)),
        "contrast" => b.ops.push(Op::Contrast(int_of(it, -100, 100)? as i32)),
        "sharpen" => b.ops.push(Op::Sharpen {
            sigma_milli: 1000,
            amount_percent: u32_of(it, 10, 300)?,
        }),
        "grayscale" => {
            if u32_of(it, 0, 1)? == 1 {
                b.ops.push(Op::Grayscale);
            }
        }
        "cgif" => {
            let n = u32_of(it, 1, 100)?;
            // `1`: the default of 30 frames.
            let n = if n == 1 { 30 } else { n };
            b.ops.push(Op::Frames(FrameSelect::AtMost(n)));
        }
        _ => output_option(it, b)?,
    }
    Ok(())
}

/// The items that set how the result is encoded rather than its pixels;
/// anything else is an unknown operation.
fn output_option(it: &Item, b: &mut Build) -> Result<()> {
    let v = it.value.as_deref().unwrap_or("");
    let frag = it.fragment();
    match it.name.as_str() {
        "format" => {
            b.output.format = Some(FormatRequest {
                format: format(v, &frag)?,
                only_if_source_animated: false,
            })
        }
        "interlace" => {
            b.output.progressive = u32_of(it, 0, 1)? == 1;
            b.output.interlace_named = true;
        }
        "quality" => {
            b.output.quality =
                Some(absolute_quality("quality", v).map_err(|e| e.with_fragment(frag))?)
        }
        "rquality" => b.output.quality = Some(Quality::Relative(u32_of(it, 0, 100)? as u8)),
        "lquality" => b.output.quality = Some(Quality::Floor(u32_of(it, 0, 100)? as u8)),
        "strip" => {
            if it.value.as_deref() != Some("0") {
                b.output.strip_metadata = true;
            }
        }
        "size-limit" => {
            b.output.size_limit = Some(size_limit(v).map_err(|e| e.with_fragment(frag))?)
        }
        other => {
            return Err(DialectError::new(
                ErrorKind::UnknownAction,
                format!("unknown imageMogr2 operation `{other}`"),
                frag,
            ))
        }
    }
    Ok(())
}

/// `cut/<W>x<H>x<DX>x<DY>`: a region from the top-left corner.
fn cut(value: &str, frag: &str) -> Result<Crop> {
    let n = numbers(value, 4).map_err(|e| e.with_fragment(frag))?;
    let (w, h, dx, dy) = (n[0], n[1], n[2], n[3]);
    for (name, val, min) in [
        ("width", w, 1),
        ("height", h, 1),
        ("dx", dx, 0),
        ("dy", dy, 0),
    ] {
        if val < min || val > u64::from(MAX_SIDE) {
            return Err(DialectError::invalid(
                format!("cut {name} must be in [{min}, {MAX_SIDE}], got {val}"),
                frag,
            ));
        }
    }
    Ok(Crop {
        width: Some(w as u32),
        height: Some(h as u32),
        gravity: Gravity::NorthWest,
        dx: dx as i32,
        dy: dy as i32,
    })
}

/// `crop/<W>x<H>` with the stage's `gravity`, `dx` and `dy`.
fn crop(value: &str, frag: &str, comp: &Companions) -> Result<Crop> {
    let (width, height) = sides(value).map_err(|e| e.with_fragment(frag))?;
    if width.is_none() && height.is_none() {
        return Err(DialectError::invalid(
            "crop needs a width or a height",
            frag,
        ));
    }
    let gravity = comp.gravity()?.unwrap_or(Gravity::NorthWest);
    let dx = comp.int("dx", 0, i64::from(MAX_SIDE))?.unwrap_or(0) as i32;
    let dy = comp.int("dy", 0, i64::from(MAX_SIDE))?.unwrap_or(0) as i32;
    let (dx, dy) = crop_offsets(gravity, dx, dy);
    Ok(Crop {
        width,
        height,
        gravity,
        dx,
        dy,
    })
}

/// `flip/vertical` or `flip/horizontal`, any case.
fn flip(value: &str, frag: &str) -> Result<FlipAxis> {
    match value.to_ascii_lowercase().as_str() {
        "vertical" => Ok(FlipAxis::Vertical),
        "horizontal" => Ok(FlipAxis::Horizontal),
        _ => Err(DialectError::invalid(
            format!("flip must be vertical or horizontal, got `{value}`"),
            frag,
        )),
    }
}

/// `blur/<radius>x<sigma>`: Gaussian, radius 1–50, sigma (0, 50].
fn blur(value: &str, frag: &str) -> Result<Blur> {
    let (r, s) = value.split_once('x').ok_or_else(|| {
        DialectError::invalid(
            format!("blur must be <radius>x<sigma>, got `{value}`"),
            frag,
        )
    })?;
    let with = |e: DialectError| e.with_fragment(frag);
    let radius = parse_int_in("blur radius", r, 1, 50).map_err(with)? as u32;
    let sigma_milli = parse_milli("blur sigma", s, 1, 50_000).map_err(with)?;
    Ok(Blur {
        radius,
        sigma_milli,
        kind: BlurKind::Gaussian,
        region: None,
    })
}

/// `<n>k`, `<n>m`, optionally followed by `!`.
fn size_limit(value: &str) -> Result<SizeLimit> {
    let (body, bang) = match value.strip_suffix('!') {
        Some(b) => (b, true),
        None => (value, false),
    };
    let unit = match body.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => 1024u64,
        Some('m') => 1024 * 1024,
        _ => {
            return Err(DialectError::invalid(
                format!("size-limit must be <n>k or <n>m (optionally with `!`), got `{value}`"),
                value,
            ))
        }
    };
    let n = parse_int_in("size-limit", &body[..body.len() - 1], 1, 1_000_000)? as u64;
    Ok(SizeLimit {
        max_bytes: n * unit,
        source_if_not_smaller: bang,
    })
}
