//! One `imageView2/<mode>/...` stage, Tencent's quick thumbnail template:
//! five resize modes plus format and quality (`docs/cos-dialect.md`,
//! "Operations").

use super::stage::{absolute_quality, format, items, u32_of};
use super::{Build, MAX_SIDE};
use crate::common::parse_int_in;
use crate::error::{DialectError, Result};
use imaging::{Enlarge, Format, FormatRequest, Geometry, Op, Quality, Resize};

/// One `imageView2/<mode>/...` stage.
pub(super) fn view2(rest: &str, stage: &str, b: &mut Build) -> Result<()> {
    let (mode, params) = rest.split_once('/').unwrap_or((rest, ""));
    let mode = parse_int_in("imageView2 mode", mode, 1, 5).map_err(|e| e.with_fragment(stage))?;
    let list = if params.is_empty() {
        Vec::new()
    } else {
        items(params, stage, &[])?
    };
    let mut width = None;
    let mut height = None;
    let mut seen: Vec<&str> = Vec::new();
    for it in &list {
        if seen.contains(&it.name.as_str()) {
            return Err(DialectError::invalid(
                format!("`{}` is given twice", it.name),
                it.fragment(),
            ));
        }
        seen.push(&it.name);
        let v = it.value.as_deref().unwrap_or("");
        let frag = it.fragment();
        match it.name.as_str() {
            "w" => width = Some(u32_of(it, 1, MAX_SIDE)?),
            "h" => height = Some(u32_of(it, 1, MAX_SIDE)?),
            "format" => {
                let f = format(v, &frag)?;
                if matches!(f, Format::Avif | Format::Heic) || v == "yjpeg" {
                    return Err(DialectError::invalid(
                        format!("imageView2 format must be jpg, bmp, gif, png or webp; got `{v}`"),
                        frag,
                    ));
                }
                b.output.format = Some(FormatRequest {
                    format: f,
                    only_if_source_animated: false,
                });
            }
            "q" => {
                b.output.quality =
                    Some(absolute_quality("q", v).map_err(|e| e.with_fragment(&frag))?)
            }
            "rq" => b.output.quality = Some(Quality::Relative(u32_of(it, 0, 100)? as u8)),
            "lq" => b.output.quality = Some(Quality::Floor(u32_of(it, 0, 100)? as u8)),
            other => {
                return Err(DialectError::invalid(
                    format!("unknown imageView2 parameter `{other}`"),
                    frag,
                ))
            }
        }
    }
    let ops = mode_ops(mode, width, height, stage)?;
    if ops.is_empty() && list.is_empty() {
        return Err(DialectError::missing("imageView2 needs /w/ or /h/", stage));
    }
    // With only format/quality the template resizes nothing.
    b.ops.extend(ops);
    Ok(())
}

/// The resize of `mode` for the `w`/`h` given (none when neither is).
fn mode_ops(mode: i64, width: Option<u32>, height: Option<u32>, stage: &str) -> Result<Vec<Op>> {
    let square = |w: Option<u32>, h: Option<u32>| match (w, h) {
        (Some(w), Some(h)) => Some((w, h)),
        (Some(v), None) | (None, Some(v)) => Some((v, v)),
        (None, None) => None,
    };
    let resize = |geometry, enlarge| Op::Resize(Resize { geometry, enlarge });
    let allow = Enlarge::Allow;
    let ops: Vec<Op> = match mode {
        1 => square(width, height)
            .map(|(width, height)| vec![resize(Geometry::Fill { width, height }, allow)])
            .unwrap_or_default(),
        2 if width.is_some() || height.is_some() => {
            vec![resize(Geometry::Fit { width, height }, allow)]
        }
        2 => Vec::new(),
        3 => square(width, height)
            .map(|(width, height)| vec![resize(Geometry::Cover { width, height }, allow)])
            .unwrap_or_default(),
        // Long edge ≥ w and short edge ≥ h, the box turned like the source;
        // mode 5 then centre-crops to that box. One value stands for both
        // (vendor: "the other side takes the same value" / "a square").
        4 | 5 => square(width, height)
            .map(|(long, short)| {
                let crop = mode == 5;
                vec![resize(Geometry::OrientedBox { long, short, crop }, allow)]
            })
            .unwrap_or_default(),
        _ => {
            return Err(DialectError::invalid(
                format!("imageView2 mode must be 1 to 5, got {mode}"),
                stage,
            ))
        }
    };
    Ok(ops)
}
