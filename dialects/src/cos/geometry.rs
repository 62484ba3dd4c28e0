//! The geometry of `imageMogr2`: `thumbnail` sizes (`WxH`, `!Sp`,
//! `Area@`...) with `pad`, `cut`/`crop` sizes and Tencent's crop margins.

use super::stage::{int_of, Companions};
use super::MAX_SIDE;
use crate::common::{parse_b64_hash_rrggbb, parse_int_in, parse_milli};
use crate::error::{DialectError, Result};
use imaging::{Enlarge, Geometry, Gravity, Rgb, Rgba};

/// Tencent's crop margins → the pipeline's origin offsets (see the module
/// doc): inward from the anchored edge, ignored on the centre axes.
pub(super) fn crop_offsets(g: Gravity, dx: i32, dy: i32) -> (i32, i32) {
    use Gravity::*;
    let x = match g {
        North | Center | South => 0,
        NorthEast | East | SouthEast => -dx,
        NorthWest | West | SouthWest => dx,
    };
    let y = match g {
        West | Center | East => 0,
        SouthWest | South | SouthEast => -dy,
        NorthWest | North | NorthEast => dy,
    };
    (x, y)
}

/// `n` non-negative integers joined by `x` (`cut/WxHxDXxDY`).
pub(super) fn numbers(value: &str, n: usize) -> Result<Vec<u64>> {
    let parts: Vec<&str> = value.split('x').collect();
    let bad = || {
        DialectError::invalid(
            format!("expected {n} integers joined by `x`, got `{value}`"),
            value,
        )
    };
    if parts.len() != n {
        return Err(bad());
    }
    parts
        .iter()
        .map(|p| {
            if p.is_empty() || p.len() > 9 || !p.bytes().all(|c| c.is_ascii_digit()) {
                Err(bad())
            } else {
                p.parse::<u64>().map_err(|_| bad())
            }
        })
        .collect()
}

/// `<W>x`, `x<H>` or `<W>x<H>`, each side in [1, MAX_SIDE].
pub(super) fn sides(value: &str) -> Result<(Option<u32>, Option<u32>)> {
    let (w, h) = value.split_once('x').ok_or_else(|| {
        DialectError::invalid(
            format!("expected <W>x, x<H> or <W>x<H>, got `{value}`"),
            value,
        )
    })?;
    let side = |name: &str, s: &str| -> Result<Option<u32>> {
        if s.is_empty() {
            Ok(None)
        } else {
            parse_int_in(name, s, 1, i64::from(MAX_SIDE)).map(|n| Some(n as u32))
        }
    };
    let out = (side("width", w)?, side("height", h)?);
    if out == (None, None) {
        return Err(DialectError::invalid(
            format!("expected <W>x, x<H> or <W>x<H>, got `{value}`"),
            value,
        ));
    }
    Ok(out)
}

/// A percentage `S` (decimals allowed) in (0, 1000] → per mille.
fn percent(value: &str) -> Result<u32> {
    Ok(parse_milli("scale percentage", value, 100, 1_000_000)? / 100)
}

/// The `thumbnail` geometries (`docs/cos-dialect.md`, "Operations").
pub(super) fn thumbnail_geometry(value: &str) -> Result<(Geometry, Enlarge)> {
    let allow = Enlarge::Allow;
    if let Some(area) = value.strip_suffix('@') {
        let max_pixels = parse_int_in("area", area, 1, 1_000_000_000)? as u64;
        return Ok((Geometry::Area { max_pixels }, allow));
    }
    if let Some(rest) = value.strip_prefix('!') {
        if let Some(wh) = rest.strip_suffix('r') {
            let (w, h) = sides(wh)?;
            let (Some(width), Some(height)) = (w, h) else {
                return Err(DialectError::invalid("`!<W>x<H>r` needs both sides", value));
            };
            return Ok((Geometry::Cover { width, height }, allow));
        }
        if let Some(s) = rest.strip_suffix("px") {
            return Ok((
                Geometry::Scale {
                    x_permille: Some(percent(s)?),
                    y_permille: None,
                },
                allow,
            ));
        }
        if let Some(s) = rest.strip_prefix('x').and_then(|s| s.strip_suffix('p')) {
            return Ok((
                Geometry::Scale {
                    x_permille: None,
                    y_permille: Some(percent(s)?),
                },
                allow,
            ));
        }
        if let Some(s) = rest.strip_suffix('p') {
            let p = percent(s)?;
            return Ok((
                Geometry::Scale {
                    x_permille: Some(p),
                    y_permille: Some(p),
                },
                allow,
            ));
        }
        return Err(DialectError::invalid(
            format!("unknown thumbnail geometry `{value}`"),
            value,
        ));
    }
    if let Some(wh) = value.strip_suffix('!') {
        let (w, h) = sides(wh)?;
        let (Some(width), Some(height)) = (w, h) else {
            return Err(DialectError::invalid("`<W>x<H>!` needs both sides", value));
        };
        return Ok((Geometry::Stretch { width, height }, allow));
    }
    let (wh, enlarge) = if let Some(wh) = value.strip_suffix('>') {
        (wh, Enlarge::Never)
    } else if let Some(wh) = value.strip_suffix('<') {
        (wh, Enlarge::Only)
    } else {
        (value, Enlarge::Allow)
    };
    let (width, height) = sides(wh)?;
    Ok((Geometry::Fit { width, height }, enlarge))
}

/// `/pad/1` (with `/color/`) turns a two-sided fit into a padded canvas.
pub(super) fn apply_pad(geometry: Geometry, comp: &Companions) -> Result<Geometry> {
    let Some(pad) = comp.get("pad") else {
        return Ok(geometry);
    };
    if int_of(pad, 0, 1)? == 0 {
        return Ok(geometry);
    }
    let color = match comp.value("color") {
        None => Rgba::WHITE,
        Some((v, frag)) => {
            let Rgb(r, g, b) = parse_b64_hash_rrggbb(v).map_err(|e| e.with_fragment(frag))?;
            Rgba(r, g, b, 255)
        }
    };
    match geometry {
        Geometry::Fit {
            width: Some(width),
            height: Some(height),
        } => Ok(Geometry::Pad {
            width,
            height,
            color,
        }),
        _ => Err(DialectError::invalid(
            "`pad/1` needs a `thumbnail/<W>x<H>` geometry",
            pad.fragment(),
        )),
    }
}
