//! OSS `watermark` step: image, text, or both (`docs/oss-dialect.md`,
//! "Actions": `watermark`).
//!
//! The image parameter is the URL-safe base64 of an object key of the same
//! bucket, optionally followed by `?x-oss-process=image/...`: that nested
//! process is parsed here into `WatermarkImage.preprocess`, its `P_` into
//! `WatermarkScale::PercentOfWidth`.

use imaging::{
    Align, Combine, Font, Oversize, Placement, Rgb, Tile, Watermark, WatermarkImage,
    WatermarkScale, WatermarkText,
};

use super::step::{Param, Step};
use super::{
    parse_gravity, parse_preprocess, validate_object_key, EC_MISSING_VALUE, EC_PREPROCESS,
};
use crate::common;
use crate::error::{DialectError, Result};

const KEYS: [&str; 18] = [
    "t", "g", "x", "y", "voffset", "fill", "padx", "pady", "image", "text", "type", "color",
    "size", "shadow", "rotate", "order", "align", "interval",
];

/// Longest text, in characters (Alibaba's `watermark` page).
const MAX_TEXT_CHARS: usize = 64;

/// The marker that starts a watermark image's own processing.
const NESTED_PROCESS: &str = "?x-oss-process=";

/// Font names of `type_` (decoded) → engine fonts.
const FONTS: [(&str, Font); 7] = [
    ("wqy-zenhei", Font::WqyZenHei),
    ("wqy-microhei", Font::WqyMicroHei),
    ("fangzhengshusong", Font::FangZhengShuSong),
    ("fangzhengkaiti", Font::FangZhengKaiTi),
    ("fangzhengheiti", Font::FangZhengHeiTi),
    ("fangzhengfangsong", Font::FangZhengFangSong),
    ("droidsansfallback", Font::DroidSansFallback),
];

pub(super) fn parse(step: &Step<'_>) -> Result<Watermark> {
    step.expect_keys(&KEYS)?;
    let image = step.get("image").map(parse_image).transpose()?;
    // The text's companions are parsed (and so validated) even without a
    // text, so a typo is reported rather than silently ignored.
    let style = parse_text_style(step)?;
    let text = step.get("text").map(|p| parse_text(p, style)).transpose()?;
    if image.is_none() && text.is_none() {
        return Err(
            DialectError::missing("watermark: `image` or `text` is required", step.raw)
                .with_code(EC_MISSING_VALUE),
        );
    }
    // Likewise, tiling and image+text keys are validated even when unused.
    let opacity = step.uint_or("t", 0, 100, 100)?;
    let gravity = parse_gravity(step, "g", imaging::Gravity::SouthEast)?;
    let dx = step.uint_or("x", 0, 4096, 10)?;
    let dy = step.uint_or("y", 0, 4096, 10)?;
    let voffset = step.int_or("voffset", -1000, 1000, 0)?;
    let fill = step.uint_or("fill", 0, 1, 0)?;
    let padx = step.uint_or("padx", 0, 4096, 0)?;
    let pady = step.uint_or("pady", 0, 4096, 0)?;
    let order = step.uint_or("order", 0, 1, 0)?;
    let align = match step.uint_or("align", 0, 2, 0)? {
        0 => Align::Top,
        1 => Align::Center,
        _ => Align::Bottom,
    };
    let interval = step.uint_or("interval", 0, 1000, 0)?;
    let to_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    Ok(Watermark {
        image,
        text,
        combine: Combine {
            text_first: order == 1,
            align,
            interval,
        },
        placement: Placement {
            gravity,
            dx: to_i32(dx),
            dy: to_i32(dy),
            voffset: i32::try_from(voffset).unwrap_or(0),
        },
        opacity: u8::try_from(opacity).unwrap_or(100),
        tile: (fill == 1).then_some(Tile {
            padx,
            pady,
            degrees: 0,
        }),
    })
}

/// `image_<b64(key[?x-oss-process=image/...])>`.
fn parse_image(p: Param<'_>) -> Result<WatermarkImage> {
    let decoded = common::b64url_decode_str(p.value).map_err(|e| e.with_fragment(p.raw))?;
    let (key, nested) = match decoded.split_once(NESTED_PROCESS) {
        Some((key, process)) => (key, Some(process)),
        None => (decoded.as_str(), None),
    };
    validate_object_key(key).map_err(|e| {
        DialectError {
            message: format!("watermark image: {}", e.message),
            ..e
        }
        .with_fragment(p.raw)
    })?;
    let (preprocess, percent) = match nested {
        None => (Vec::new(), None),
        Some(process) => {
            // A user may have percent-encoded the nested process before
            // base64-encoding the whole name.
            let process = common::percent_decode(process).unwrap_or_else(|_| process.to_string());
            let body = process.strip_prefix("image/").ok_or_else(|| {
                DialectError::invalid(
                    format!(
                        "watermark image: the nested process `{process}` must start with image/"
                    ),
                    p.raw,
                )
                .with_code(EC_PREPROCESS)
            })?;
            // The nested fragment is not part of the request as sent (it is
            // inside the base64), so the message carries it and the
            // fragment points at the `image_` parameter.
            parse_preprocess(body).map_err(|e| {
                let message = format!(
                    "watermark image preprocessing: {} (in `{}`)",
                    e.message, e.fragment
                );
                DialectError { message, ..e }
                    .with_fragment(p.raw)
                    .or_code(EC_PREPROCESS)
            })?
        }
    };
    Ok(WatermarkImage {
        key: key.to_string(),
        preprocess,
        scale: percent.map(WatermarkScale::PercentOfWidth),
        oversize: Oversize::Shrink,
    })
}

/// The companions of `text_`: `type color size shadow rotate`.
#[derive(Clone, Copy)]
struct TextStyle {
    font: Font,
    color: Rgb,
    size: u32,
    shadow: u8,
    rotate: u32,
}

fn parse_text_style(step: &Step<'_>) -> Result<TextStyle> {
    let font = match step.get("type") {
        None => Font::WqyZenHei,
        Some(t) => {
            let name = common::b64url_decode_str(t.value).map_err(|e| e.with_fragment(t.raw))?;
            FONTS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    let names: Vec<&str> = FONTS.iter().map(|(n, _)| *n).collect();
                    DialectError::invalid(
                        format!(
                            "watermark: unknown font `{name}`; expected one of {}",
                            names.join(", ")
                        ),
                        t.raw,
                    )
                })?
        }
    };
    let color = match step.get("color") {
        None => Rgb(0, 0, 0),
        Some(c) => parse_color(c)?,
    };
    let size = step.uint_or("size", 1, 1000, 40)?;
    let shadow = step.uint_or("shadow", 1, 100, 0)?;
    let rotate = step.uint_or("rotate", 0, 360, 0)? % 360;
    Ok(TextStyle {
        font,
        color,
        size,
        shadow: u8::try_from(shadow).unwrap_or(0),
        rotate,
    })
}

/// `text_<b64(utf-8, ≤ 64 characters)>`.
fn parse_text(p: Param<'_>, style: TextStyle) -> Result<WatermarkText> {
    let text = common::b64url_decode_str(p.value).map_err(|e| e.with_fragment(p.raw))?;
    let chars = text.chars().count();
    if chars == 0 {
        return Err(DialectError::missing("watermark: the text is empty", p.raw)
            .with_code(EC_MISSING_VALUE));
    }
    if chars > MAX_TEXT_CHARS {
        return Err(DialectError::invalid(
            format!("watermark: the text has {chars} characters; at most {MAX_TEXT_CHARS}"),
            p.raw,
        ));
    }
    Ok(WatermarkText {
        text,
        font: style.font,
        size: style.size,
        color: style.color,
        shadow: style.shadow,
        rotate: style.rotate,
    })
}

/// `color_RRGGBB`, or the 2019 manual's `color_<b64("#RRGGBB")>`: plain hex
/// first (the two cannot be confused: the base64 of `#RRGGBB` is 10 symbols).
fn parse_color(c: Param<'_>) -> Result<Rgb> {
    if let Ok(rgb) = common::parse_rrggbb(c.value) {
        return Ok(rgb);
    }
    common::parse_b64_hash_rrggbb(c.value).map_err(|_| {
        DialectError::invalid(
            format!(
                "watermark: invalid colour `{}`; expected RRGGBB or base64 of #RRGGBB",
                c.value
            ),
            c.raw,
        )
    })
}
