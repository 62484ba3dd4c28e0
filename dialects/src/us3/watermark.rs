//! `iopcmd=watermark`: a text mark (`type=1`) or an image mark (`type=2`)
//! whose URL may carry its own `iopcmd` preprocessing
//! (`docs/us3-dialect.md`, "Commands").

use super::color::parse_color;
use super::commands::Build;
use super::params::{missing_param, Params};
use super::request::{parse_text, Origin};
use crate::common::{b64url_decode_str, raw_params, url_path_key};
use crate::error::{DialectError, Result};
use crate::Directive;
use imaging::{
    Combine, Font, Gravity, Op, OutputOptions, Placement, Rgb, Rgba, Watermark, WatermarkImage,
    WatermarkText,
};

/// `iopcmd=watermark`: `type=1` text, `type=2` image; placed by `gravity`
/// or by its top-left corner (`ax`, `ay`).
pub(super) fn watermark(p: &mut Params, cmd: &str, b: &mut Build) -> Result<()> {
    let ty = p.req_u32(cmd, "type", 1, 2)?;
    let opacity = p.u32("opacity", 1, 100)?.unwrap_or(100);
    let gravity = p.gravity()?;
    let ax = p.i32("ax", 0, 10_000)?.unwrap_or(10);
    let ay = p.i32("ay", 0, 10_000)?.unwrap_or(10);
    // Removed from the vendor's text after 2022; accepted and ignored.
    p.ignore("direction");
    let placement = match gravity {
        Some(gravity) => Placement {
            gravity,
            dx: 0,
            dy: 0,
            voffset: 0,
        },
        None => Placement {
            gravity: Gravity::NorthWest,
            dx: ax,
            dy: ay,
            voffset: 0,
        },
    };
    let (image, text) = if ty == 1 {
        (None, Some(text_mark(p, cmd)?))
    } else {
        (Some(image_mark(p, cmd)?), None)
    };
    b.ops.push(Op::Watermark(Watermark {
        image,
        text,
        combine: Combine::default(),
        placement,
        opacity: opacity as u8,
        tile: None,
    }));
    Ok(())
}

/// `type=1`: `text`, `font`, `fontsize` (px), `rotate` and `fill`, an
/// opaque colour.
fn text_mark(p: &mut Params, cmd: &str) -> Result<WatermarkText> {
    let text = p.get("text").ok_or_else(|| missing_param(cmd, "text"))?;
    let text_value = b64url_decode_str(&text.value).map_err(|e| e.with_fragment(&text.raw))?;
    if text_value.is_empty() {
        return Err(DialectError::invalid("watermark `text` is empty", text.raw));
    }
    let font = match p.get("font") {
        None => Font::SimSun,
        Some(f) => {
            let name = b64url_decode_str(&f.value).map_err(|e| e.with_fragment(&f.raw))?;
            font_by_name(&name).ok_or_else(|| {
                DialectError::invalid(format!("unknown watermark font `{name}`"), f.raw)
            })?
        }
    };
    let size = p.u32("fontsize", 1, 100)?.unwrap_or(10);
    let rotate = p.u32("rotate", 0, 360)?.unwrap_or(0) % 360;
    let color = match p.get("fill") {
        None => Rgb(255, 255, 255),
        Some(f) => {
            let name = b64url_decode_str(&f.value).map_err(|e| e.with_fragment(&f.raw))?;
            let Rgba(r, g, bl, a) = parse_color(&name).map_err(|e| e.with_fragment(&f.raw))?;
            if a != 255 {
                return Err(DialectError::invalid(
                    "watermark `fill` must be an opaque colour",
                    f.raw,
                ));
            }
            Rgb(r, g, bl)
        }
    };
    Ok(WatermarkText {
        text: text_value,
        font,
        size,
        color,
        shadow: 0,
        rotate,
    })
}

/// `type=2`: the mark named by `imageurl`, with its preprocessing.
fn image_mark(p: &mut Params, cmd: &str) -> Result<WatermarkImage> {
    let url = p
        .get("imageurl")
        .ok_or_else(|| missing_param(cmd, "imageurl"))?;
    let decoded = b64url_decode_str(&url.value).map_err(|e| e.with_fragment(&url.raw))?;
    let (key, preprocess) = watermark_source(&decoded).map_err(|e| e.with_fragment(&url.raw))?;
    Ok(WatermarkImage {
        key,
        preprocess,
        scale: None,
        oversize: Default::default(),
    })
}

/// The object key (and preprocessing) named by a watermark `imageurl`:
/// `http(s)://<any host>/<key>[?iopcmd=...]`.
fn watermark_source(url: &str) -> Result<(String, Vec<Op>)> {
    let bad =
        |why: &str| DialectError::invalid(format!("watermark `imageurl` {why}: `{url}`"), url);
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("must be an http:// or https:// URL"))?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(bad("must be an http:// or https:// URL"));
    }
    let rest = rest.split('#').next().unwrap_or("");
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let key = url_path_key(before_query)?;
    if key.is_empty() {
        return Err(bad("has no object path"));
    }
    let preprocess = match query {
        Some(q) if raw_params(q).iter().any(|p| p.key == "iopcmd") => {
            let Directive::Pipeline(p) = parse_text(q, Origin::Query)? else {
                return Err(bad("cannot name a style"));
            };
            // Only pixel operations make sense on a mark, and nested marks
            // would need assets the caller does not fetch.
            if p.terminal.is_some()
                || p.output != OutputOptions::default()
                || p.ops.iter().any(|op| matches!(op, Op::Watermark(_)))
            {
                return Err(bad(
                    "may only carry pixel operations (no information, format or watermark \
                     commands)",
                ));
            }
            p.ops
        }
        _ => Vec::new(),
    };
    Ok((key, preprocess))
}

/// The font names of the US3 watermark table (`docs/us3-dialect.md`,
/// "Commands": `watermark`), ASCII
/// case-insensitive, plus their Chinese names.
fn font_by_name(name: &str) -> Option<Font> {
    Some(match name.to_ascii_lowercase().as_str() {
        "simsun" | "宋体" => Font::SimSun,
        "lishu" | "隶书" => Font::LiShu,
        "fangzhengfangsong" | "方正仿宋" => Font::FangZhengFangSong,
        "fangzhengheiti" | "方正黑体" => Font::FangZhengHeiTi,
        "fangzhengkaiti" | "方正楷体" => Font::FangZhengKaiTi,
        "fangzhengshusong" | "方正书宋" => Font::FangZhengShuSong,
        "wenquanweimihei" | "wenquanyiweimihei" | "文泉驿微米黑" => Font::WqyMicroHei,
        "wenquanyizhenghei" | "wenquanzhenghei" | "文泉驿正黑" => Font::WqyZenHei,
        "droidsansfallback" => Font::DroidSansFallback,
        _ => return None,
    })
}
