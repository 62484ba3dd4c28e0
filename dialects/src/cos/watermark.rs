//! One `watermark/<kind>/...` stage: an image mark (`watermark/1`) or a
//! text mark (`watermark/2`), optionally tiled (`docs/cos-dialect.md`,
//! "Operations"). Blind watermarks (`/3`, `/4`) are not implemented.

use super::stage::{items, Companions};
use super::{Build, MAX_SIDE};
use crate::common::{b64url_decode_str, parse_b64_hash_rrggbb, url_path_key};
use crate::error::{DialectError, Result};
use imaging::{
    Combine, Font, Gravity, Op, Oversize, Placement, Rgb, Tile, Watermark, WatermarkImage,
    WatermarkScale, WatermarkText,
};

/// The items `watermark/1` (image) takes.
const IMAGE_ITEMS: [&str; 10] = [
    "image", "gravity", "dx", "dy", "blogo", "scatype", "spcent", "dissolve", "batch", "degree",
];

/// The items `watermark/2` (text) takes.
const TEXT_ITEMS: [&str; 11] = [
    "text", "font", "fontsize", "fill", "dissolve", "gravity", "dx", "dy", "batch", "degree",
    "shadow",
];

/// One `watermark/<kind>/...` stage (`rest` is what follows `watermark/`).
pub(super) fn watermark(rest: &str, stage: &str, b: &mut Build) -> Result<()> {
    let (kind, params) = rest.split_once('/').unwrap_or((rest, ""));
    match kind {
        "1" | "2" => {}
        "3" | "4" => {
            return Err(DialectError::not_implemented(
                "blind watermarks (watermark/3 and watermark/4) are not implemented",
                stage,
            ))
        }
        _ => {
            return Err(DialectError::invalid(
                format!("watermark kind must be 1 (image) or 2 (text), got `{kind}`"),
                stage,
            ))
        }
    }
    let mut list = if params.is_empty() {
        Vec::new()
    } else {
        items(params, stage, &[])?
    };
    let names: &[&str] = if kind == "1" {
        &IMAGE_ITEMS
    } else {
        &TEXT_ITEMS
    };
    let c = Companions::take(&mut list, names)?;
    if let Some(it) = list.first() {
        return Err(DialectError::invalid(
            format!("unknown parameter `{}` for watermark/{kind}", it.name),
            it.fragment(),
        ));
    }
    let gravity = c.gravity()?.unwrap_or(Gravity::SouthEast);
    let dx = c.int("dx", 0, i64::from(MAX_SIDE))?.unwrap_or(0) as i32;
    let dy = c.int("dy", 0, i64::from(MAX_SIDE))?.unwrap_or(0) as i32;
    let opacity = c.int("dissolve", 1, 100)?.unwrap_or(90) as u8;
    let tile = tile(&c)?;
    let (image, text) = if kind == "1" {
        (Some(image_mark(&c, stage)?), None)
    } else {
        (None, Some(text_mark(&c, stage)?))
    };
    b.ops.push(Op::Watermark(Watermark {
        image,
        text,
        combine: Combine::default(),
        placement: Placement {
            gravity,
            dx,
            dy,
            voffset: 0,
        },
        opacity,
        tile,
    }));
    Ok(())
}

/// `batch/1` tiles the mark, turned by `degree`; `degree` alone is
/// validated and means nothing.
fn tile(c: &Companions) -> Result<Option<Tile>> {
    Ok(match c.int("batch", 0, 1)? {
        Some(1) => Some(Tile {
            padx: 0,
            pady: 0,
            degrees: c.int("degree", 0, 360)?.unwrap_or(0) as u32 % 360,
        }),
        // `degree` only means something with `batch/1`.
        _ => {
            c.int("degree", 0, 360)?;
            None
        }
    })
}

/// `watermark/1`: the mark's object (`image`), how it is sized against the
/// main image (`scatype`/`spcent`) and what happens when it is larger
/// (`blogo`).
fn image_mark(c: &Companions, stage: &str) -> Result<WatermarkImage> {
    let (v, frag) = c
        .value("image")
        .ok_or_else(|| DialectError::missing("watermark/1 needs /image/", stage))?;
    let url = b64url_decode_str(v).map_err(|e| e.with_fragment(&frag))?;
    let key = watermark_key(&url).map_err(|e| e.with_fragment(&frag))?;
    let oversize = match c.int("blogo", 1, 2)? {
        Some(2) => Oversize::Crop,
        _ => Oversize::Shrink,
    };
    let scale = match (c.int("scatype", 1, 3)?, c.get("spcent")) {
        (None, None) => None,
        (Some(t), Some(_)) => {
            let max = if t == 3 { 250 } else { 1000 };
            let p = c.int("spcent", 1, max)?.unwrap_or(1) as u32;
            Some(match t {
                1 => WatermarkScale::PermilleOfWidth(p),
                2 => WatermarkScale::PermilleOfHeight(p),
                _ => WatermarkScale::PermilleOfArea(p),
            })
        }
        (Some(_), None) => return Err(DialectError::missing("`scatype` needs `spcent`", stage)),
        (None, Some(it)) => {
            return Err(DialectError::missing(
                "`spcent` needs `scatype`",
                it.fragment(),
            ))
        }
    };
    Ok(WatermarkImage {
        key,
        preprocess: Vec::new(),
        scale,
        oversize,
    })
}

/// `watermark/2`: the text, its font, size in points, colour and shadow.
fn text_mark(c: &Companions, stage: &str) -> Result<WatermarkText> {
    let (v, frag) = c
        .value("text")
        .ok_or_else(|| DialectError::missing("watermark/2 needs /text/", stage))?;
    let text = b64url_decode_str(v).map_err(|e| e.with_fragment(&frag))?;
    if text.is_empty() {
        return Err(DialectError::invalid("watermark text is empty", frag));
    }
    let font = match c.value("font") {
        None => Font::Tahoma,
        Some((v, frag)) => {
            let name = b64url_decode_str(v).map_err(|e| e.with_fragment(&frag))?;
            font_by_name(&name).ok_or_else(|| {
                DialectError::invalid(format!("unknown watermark font `{name}`"), frag)
            })?
        }
    };
    let points = c.int("fontsize", 1, 1000)?.unwrap_or(13) as u32;
    let color = match c.value("fill") {
        None => Rgb(0x3D, 0x3D, 0x3D),
        Some((v, frag)) => parse_b64_hash_rrggbb(v).map_err(|e| e.with_fragment(frag))?,
    };
    let shadow = c.int("shadow", 0, 100)?.unwrap_or(0) as u8;
    Ok(WatermarkText {
        text,
        font,
        // Points at 96 dpi, rounded.
        size: (points * 4 + 1) / 3,
        color,
        shadow,
        rotate: 0,
    })
}

/// The object key named by a watermark image URL: `http://<host>/<key>`.
fn watermark_key(url: &str) -> Result<String> {
    let bad = |why: &str| DialectError::invalid(format!("watermark image URL {why}: `{url}`"), url);
    let rest = match url.get(..7) {
        Some(s) if s.eq_ignore_ascii_case("http://") => &url[7..],
        _ => return Err(bad("must start with http://")),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let key = url_path_key(rest)?;
    if key.is_empty() {
        return Err(bad("has no object path"));
    }
    Ok(key)
}

/// Tencent's watermark fonts (file names such as `simsun宋体.ttc`, matched on
/// their ASCII part, case-insensitively, or on the Chinese name) → the
/// engine's fonts. Decorative CJK faces without an equivalent fall back to
/// Droid Sans Fallback.
fn font_by_name(name: &str) -> Option<Font> {
    let lower = name.trim().to_ascii_lowercase();
    let stem = [".ttf", ".ttc", ".otf"]
        .iter()
        .find_map(|ext| lower.strip_suffix(ext))
        .unwrap_or(&lower);
    let prefix: String = stem.chars().take_while(char::is_ascii).collect();
    let cjk = stem[prefix.len()..].trim();
    let ascii = prefix.trim();
    let by_ascii = match ascii {
        "" => None,
        "tahoma" => Some(Font::Tahoma),
        "arial" => Some(Font::Arial),
        "times" | "timesnewroman" | "times new roman" => Some(Font::TimesNewRoman),
        "simsun" | "stsong" => Some(Font::SimSun),
        "simfang" | "stfangsong" => Some(Font::FangZhengFangSong),
        "simhei" | "stheiti light" | "stheiti" => Some(Font::FangZhengHeiTi),
        "simkai" | "stkaiti" => Some(Font::FangZhengKaiTi),
        "stliti" => Some(Font::LiShu),
        "stzhongsong" => Some(Font::FangZhengShuSong),
        "msyh" | "msyhbd" => Some(Font::WqyMicroHei),
        "sthupo" | "stxingkai" | "stxinwei" | "stcaiyun" => Some(Font::DroidSansFallback),
        _ => return None,
    };
    by_ascii.or(match cjk {
        "宋体" | "华文宋体" => Some(Font::SimSun),
        "仿宋" | "华文仿宋" => Some(Font::FangZhengFangSong),
        "黑体" | "华文黑体" => Some(Font::FangZhengHeiTi),
        "楷体" | "华文楷体" => Some(Font::FangZhengKaiTi),
        "华文隶书" | "隶书" => Some(Font::LiShu),
        "华文中宋" => Some(Font::FangZhengShuSong),
        "微软雅黑" => Some(Font::WqyMicroHei),
        "华文琥珀" | "华文行楷" | "华文新魏" | "华文彩云" => {
            Some(Font::DroidSansFallback)
        }
        _ => None,
    })
}
