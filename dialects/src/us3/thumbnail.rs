//! `iopcmd=thumbnail`: the fifteen thumbnail types mapped onto the
//! engine's geometries, which give the sizes of UCloud's 400×300 table
//! when rounded toward zero (`docs/us3-dialect.md`, "Commands").

use super::color::parse_color;
use super::commands::Build;
use super::params::{missing_param, Params};
use crate::error::{DialectError, Result};
use imaging::{Enlarge, FrameSelect, Geometry, Op, Resize, Rgba, SideChoice};

/// `iopcmd=thumbnail`: `type` 1–15 with `width`/`height`/`scale`, `color`
/// for the padded types, `gifmode`.
pub(super) fn thumbnail(p: &mut Params, b: &mut Build) -> Result<()> {
    const CMD: &str = "thumbnail";
    let ty = p.req_u32(CMD, "type", 1, 15)?;
    let width = p.u32("width", 1, 10_000)?;
    let height = p.u32("height", 1, 10_000)?;
    // 2022-08 and later: at most 1000 % (`docs/us3-dialect.md`, "Commands").
    let scale = p.u32("scale", 1, 1000)?;
    let color = match p.get("color") {
        Some(c) => parse_color(&c.value).map_err(|e| e.with_fragment(c.raw))?,
        None => Rgba::WHITE,
    };
    let gifmode = p.u32("gifmode", 1, 6)?.unwrap_or(1);
    let _timeout = p.u32("giftimeout", 1, 60)?;

    let need = |v: Option<u32>, name: &str| v.ok_or_else(|| missing_param(CMD, name));
    let both = || Ok::<_, DialectError>((need(width, "width")?, need(height, "height")?));
    let permille = |s: u32| s * 10;
    let geometry = match ty {
        1 => {
            let s = permille(need(scale, "scale")?);
            Geometry::Scale {
                x_permille: Some(s),
                y_permille: Some(s),
            }
        }
        2 => Geometry::Scale {
            x_permille: None,
            y_permille: Some(permille(need(scale, "scale")?)),
        },
        3 => Geometry::Scale {
            x_permille: Some(permille(need(scale, "scale")?)),
            y_permille: None,
        },
        4 => Geometry::Fit {
            width: Some(need(width, "width")?),
            height: None,
        },
        5 => Geometry::Fit {
            width: None,
            height: Some(need(height, "height")?),
        },
        6 | 7 => {
            let (width, height) = both()?;
            Geometry::SourceSide {
                which: if ty == 6 {
                    SideChoice::Longer
                } else {
                    SideChoice::Shorter
                },
                width,
                height,
            }
        }
        8 | 13 => {
            // "If only the width or the height is given, the other side
            // takes the same value."
            let (width, height) = match (width, height) {
                (Some(w), Some(h)) => (w, h),
                (Some(w), None) => (w, w),
                (None, Some(h)) => (h, h),
                (None, None) => return Err(missing_param(CMD, "width")),
            };
            Geometry::Fill { width, height }
        }
        9 | 14 => {
            if width.is_none() && height.is_none() {
                return Err(missing_param(CMD, "width"));
            }
            Geometry::Fit { width, height }
        }
        10 => {
            let (width, height) = both()?;
            Geometry::Cover { width, height }
        }
        11 => {
            let (width, height) = both()?;
            Geometry::Stretch { width, height }
        }
        12 => {
            let (width, height) = both()?;
            Geometry::Canvas {
                width,
                height,
                color,
            }
        }
        _ => {
            // 15: fit inside, then pad to exactly w×h.
            let (width, height) = both()?;
            Geometry::Pad {
                width,
                height,
                color,
            }
        }
    };
    if gifmode == 2 {
        // "Return the first frame, still in GIF format."
        b.ops.push(Op::Frames(FrameSelect::First));
    }
    b.ops.push(Op::Resize(Resize {
        geometry,
        enlarge: Enlarge::Allow,
    }));
    Ok(())
}
