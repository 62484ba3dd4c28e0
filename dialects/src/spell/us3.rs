//! A pipeline in UCloud US3 syntax: `iopcmd=<command>&k=v|iopcmd=...`
//! (the inverse of `crate::us3`).
//!
//! Each operation is one stage. The output format and quality are
//! request-wide but US3 writes them in a `convert` stage, which must name a
//! format; `interlace` also converts to JPEG, so progressive output needs
//! a format (a later `convert` sets one other than JPEG); a frame picked by
//! `convert`'s `fr` is a stage in its place among the operations.

use imaging::{
    Blur, BlurKind, Crop, Format, FrameSelect, Geometry, Gravity, Op, Pipeline, Quality, Resize,
    Rgb, Rgba, SideChoice, Terminal, Watermark,
};

use super::oss::geometry_name;
use super::{common_output_checks, format_ext, milli_decimal, no, op_name, Mark, Reasons};
use crate::common::b64url_encode;
use crate::Dialect;

const D: Dialect = Dialect::Us3;
const NAME: &str = "UCloud US3";
/// Thumbnail sides, crop sizes and offsets (`crate::us3`).
const MAX_SIDE: u32 = 10_000;

pub(super) fn spell(p: &Pipeline, r: &mut Reasons) -> String {
    if p.video.is_some() {
        r.add("video snapshot", format!("{NAME} has no video snapshot"));
    }
    common_output_checks(p, r, D);
    if p.output.strip_metadata {
        r.add(
            "strip metadata",
            format!("{NAME} has no request to drop metadata"),
        );
    }
    let dst = destination(p, r);
    let mut stages: Vec<String> = Vec::new();
    // `gifmode=2` on a thumbnail keeps the first frame; [`super::effect`]
    // has made the position of `Frames(First)` irrelevant.
    let mut first_frame = p.ops.contains(&Op::Frames(FrameSelect::First));
    let mut picked_frame = false;
    for op in &p.ops {
        let stage = match op {
            Op::Frames(FrameSelect::First) => None,
            Op::Frames(FrameSelect::AtPermille(m)) => {
                picked_frame = true;
                match dst {
                    Some(d) => Some(format!("iopcmd=convert&dst={d}&fr={}", milli_decimal(*m))),
                    None => {
                        r.add(
                            "frames",
                            format!(
                                "{NAME} picks a frame only in `convert`, which also names an \
                                 output format (jpg, png, bmp or webp); this pipeline has none"
                            ),
                        );
                        None
                    }
                }
            }
            Op::Resize(rz) => thumbnail(rz, r).map(|mut s| {
                if std::mem::take(&mut first_frame) {
                    s.push_str("&gifmode=2");
                }
                s
            }),
            other => stage(other, r),
        };
        stages.extend(stage);
    }
    if first_frame {
        r.add(
            "frames",
            format!(
                "{NAME} keeps only the first frame of an animation only with a thumbnail's \
                 `gifmode=2`, and this pipeline has no resize"
            ),
        );
    }
    output(p, r, dst, picked_frame, &mut stages);
    match p.terminal {
        None => {}
        Some(Terminal::Info) => stages.push("iopcmd=imageinfo".into()),
        Some(Terminal::AverageColor) => stages.push("iopcmd=averagehue".into()),
        Some(Terminal::Exif) => {
            if stages.is_empty() {
                stages.push("iopcmd=exif".into());
            } else {
                r.add(
                    "exif",
                    format!("{NAME} answers EXIF only for the unprocessed image"),
                );
            }
        }
    }
    if stages.is_empty() {
        // The pipeline does nothing: the one command that adds nothing.
        stages.push("iopcmd=auto-orient&value=0".into());
    }
    if stages.len() > crate::us3::MAX_STAGES {
        r.add(
            "pipeline",
            format!(
                "at most {} stages in one request, this needs {}",
                crate::us3::MAX_STAGES,
                stages.len()
            ),
        );
    }
    stages.join("|")
}

/// The `dst` of `convert` for the pipeline's format, if it has one US3
/// can write.
fn destination(p: &Pipeline, r: &mut Reasons) -> Option<&'static str> {
    let f = p.output.format?;
    if f.only_if_source_animated {
        r.add(
            "format",
            format!("{NAME} converts every source, whatever its format"),
        );
        return None;
    }
    match f.format {
        Format::Jpeg | Format::Png | Format::Bmp | Format::Webp => Some(format_ext(f.format)),
        other => {
            r.add(
                "format",
                format!(
                    "{NAME} converts to jpg, png, bmp or webp only, not {}",
                    format_ext(other)
                ),
            );
            None
        }
    }
}

fn output(
    p: &Pipeline,
    r: &mut Reasons,
    dst: Option<&str>,
    picked_frame: bool,
    stages: &mut Vec<String>,
) {
    let quality = match p.output.quality {
        None => String::new(),
        Some(Quality::Absolute(q)) => format!("&Q={q}"),
        Some(Quality::Relative(q)) => format!("&q={q}"),
        Some(Quality::Forced(_)) => {
            r.add(
                "quality",
                format!("{NAME} never raises the quality above the source's"),
            );
            String::new()
        }
        Some(Quality::Floor(_)) => {
            r.add(
                "quality",
                format!("{NAME} has no lowest quality (Tencent lquality)"),
            );
            String::new()
        }
    };
    if let Some(q) = p.output.quality {
        let v = match q {
            Quality::Absolute(v)
            | Quality::Relative(v)
            | Quality::Forced(v)
            | Quality::Floor(v) => v,
        };
        r.within("quality", "qualities", v, 0..=100, D);
    }
    if p.output.interlace_named && !p.output.progressive {
        // `value=0` names baseline and leaves the format alone.
        stages.push("iopcmd=interlace&value=0".into());
    }
    if p.output.progressive {
        // `interlace` also sets JPEG; a `convert` after it sets any other
        // format back.
        if dst.is_some() {
            stages.push("iopcmd=interlace".into());
        } else {
            r.add(
                "interlace",
                format!(
                    "{NAME} `interlace` also converts the image to JPEG, and this pipeline keeps \
                     the source's format"
                ),
            );
        }
    }
    match dst {
        // A format already written by a frame pick needs no second
        // `convert`, unless it must carry the quality or follow
        // `interlace`.
        Some(d) if !picked_frame || !quality.is_empty() || p.output.progressive => {
            stages.push(format!("iopcmd=convert&dst={d}{quality}"));
        }
        Some(_) => {}
        None if p.output.quality.is_some() => r.add(
            "quality",
            format!(
                "{NAME} sets the quality only in `convert`, which also names an output format \
                 (jpg, png, bmp or webp); this pipeline has none"
            ),
        ),
        None => {}
    }
}

/// Colours as `color=` takes them: hex digits without `#` (a raw `#`
/// would start a URL fragment).
fn colour(c: Rgba) -> String {
    let Rgba(red, g, b, a) = c;
    if a == 255 {
        format!("{red:02X}{g:02X}{b:02X}")
    } else {
        format!("{red:02X}{g:02X}{b:02X}{a:02X}")
    }
}

fn thumbnail(rz: &Resize, r: &mut Reasons) -> Option<String> {
    if rz.enlarge != imaging::Enlarge::Allow {
        let how = match rz.enlarge {
            imaging::Enlarge::Never => "never enlarge",
            _ => "only enlarge",
        };
        return no(
            r,
            "resize",
            format!("{NAME} thumbnails may always enlarge; this one must {how}"),
        );
    }
    let side = |r: &mut Reasons, v: u32| r.within("resize", "sides", v, 1..=MAX_SIDE, D);
    let t = |ty: u32, rest: String| Some(format!("iopcmd=thumbnail&type={ty}{rest}"));
    let pct = |r: &mut Reasons, m: u32| {
        if m % 10 == 0 {
            r.within("resize", "scales (percent)", m / 10, 1..=1000, D)
        } else {
            r.add(
                "resize",
                format!(
                    "{NAME} scales by a whole percentage, not {}.{} %",
                    m / 10,
                    m % 10
                ),
            );
            None
        }
    };
    match &rz.geometry {
        Geometry::Scale {
            x_permille,
            y_permille,
        } => match (x_permille, y_permille) {
            (Some(x), Some(y)) if x == y => t(1, format!("&scale={}", pct(r, *x)?)),
            (None, Some(y)) => t(2, format!("&scale={}", pct(r, *y)?)),
            (Some(x), None) => t(3, format!("&scale={}", pct(r, *x)?)),
            _ => no(
                r,
                "resize",
                format!("{NAME} scales one side or both by the same percentage only"),
            ),
        },
        Geometry::Fit {
            width: Some(w),
            height: None,
        } => t(4, format!("&width={}", side(r, *w)?)),
        Geometry::Fit {
            width: None,
            height: Some(h),
        } => t(5, format!("&height={}", side(r, *h)?)),
        Geometry::Fit {
            width: Some(w),
            height: Some(h),
        } => t(
            9,
            format!("&width={}&height={}", side(r, *w)?, side(r, *h)?),
        ),
        Geometry::Fit { .. } => no(r, "resize", "a fit needs a width or a height".into()),
        Geometry::SourceSide {
            which,
            width,
            height,
        } => {
            let ty = match which {
                SideChoice::Longer => 6,
                SideChoice::Shorter => 7,
            };
            t(
                ty,
                format!("&width={}&height={}", side(r, *width)?, side(r, *height)?),
            )
        }
        Geometry::Fill { width, height } => t(
            8,
            format!("&width={}&height={}", side(r, *width)?, side(r, *height)?),
        ),
        Geometry::Cover { width, height } => t(
            10,
            format!("&width={}&height={}", side(r, *width)?, side(r, *height)?),
        ),
        Geometry::Stretch { width, height } => t(
            11,
            format!("&width={}&height={}", side(r, *width)?, side(r, *height)?),
        ),
        Geometry::Canvas {
            width,
            height,
            color,
        } => t(
            12,
            format!(
                "&width={}&height={}&color={}",
                side(r, *width)?,
                side(r, *height)?,
                colour(*color)
            ),
        ),
        Geometry::Pad {
            width,
            height,
            color,
        } => t(
            15,
            format!(
                "&width={}&height={}&color={}",
                side(r, *width)?,
                side(r, *height)?,
                colour(*color)
            ),
        ),
        Geometry::LongShort { .. } | Geometry::OrientedBox { .. } | Geometry::Area { .. } => no(
            r,
            "resize",
            format!("{NAME} has no {}", geometry_name(&rz.geometry)),
        ),
    }
}

fn gravity(g: Gravity) -> &'static str {
    match g {
        Gravity::NorthWest => "NorthWest",
        Gravity::North => "North",
        Gravity::NorthEast => "NorthEast",
        Gravity::West => "West",
        Gravity::Center => "Center",
        Gravity::East => "East",
        Gravity::SouthWest => "SouthWest",
        Gravity::South => "South",
        Gravity::SouthEast => "SouthEast",
    }
}

/// `width`/`height`/`ax`/`ay` or `gravity` of a region, as `crop` and
/// `blur` read them: a gravity places the region with no offset, without
/// one the region's corner is at (`ax`, `ay`).
fn region(c: &Crop, part: &str, r: &mut Reasons) -> Option<String> {
    let w = r.within(part, "sizes", c.width.unwrap_or(0), 0..=MAX_SIDE, D);
    let h = r.within(part, "sizes", c.height.unwrap_or(0), 0..=MAX_SIDE, D);
    let (ax, ay, g) = if c.gravity == Gravity::NorthWest {
        let offset = |r: &mut Reasons, v: i32| {
            u32::try_from(v)
                .ok()
                .and_then(|v| r.within(part, "offsets", v, 0..=MAX_SIDE, D))
                .or_else(|| {
                    r.add(
                        part,
                        format!("{NAME} offsets a region right and down only, not by {v}"),
                    );
                    None
                })
        };
        let (ax, ay) = (offset(r, c.dx), offset(r, c.dy));
        (ax?, ay?, None)
    } else if c.dx == 0 && c.dy == 0 {
        (0, 0, Some(gravity(c.gravity)))
    } else {
        return no(
            r,
            part,
            format!(
                "{NAME} places a region by a gravity or by its top-left corner, not by an offset \
                 from {}",
                gravity(c.gravity)
            ),
        );
    };
    // Only what differs from the defaults (0: to the edge, at 0).
    let mut s = String::new();
    for (k, v) in [("width", w?), ("height", h?), ("ax", ax), ("ay", ay)] {
        if v > 0 {
            s.push_str(&format!("&{k}={v}"));
        }
    }
    if let Some(g) = g {
        s.push_str(&format!("&gravity={g}"));
    }
    Some(s)
}

/// One operation (not a resize nor a frame selection) as a stage.
fn stage(op: &Op, r: &mut Reasons) -> Option<String> {
    let name = op_name(op);
    let radius = |r: &mut Reasons, v: u32| r.within(name, "radii", v, 1..=4096, D);
    match op {
        Op::AutoOrient => Some("iopcmd=auto-orient".into()),
        Op::Crop(c) => Some(format!("iopcmd=crop{}", region(c, name, r)?)),
        Op::IndexCrop {
            axis,
            length,
            index,
        } => {
            let key = match axis {
                imaging::Axis::X => "x",
                imaging::Axis::Y => "y",
            };
            let length = r.within(name, "strip lengths", *length, 1..=u32::MAX, D)?;
            Some(format!("iopcmd=indexcrop&{key}={length}&i={index}"))
        }
        Op::Circle { radius: v, .. } => Some(format!("iopcmd=circle&r={}", radius(r, *v)?)),
        Op::RoundedCorners { radius: v } => {
            Some(format!("iopcmd=rounded-corners&r={}", radius(r, *v)?))
        }
        Op::Rotate { degrees } => Some(format!(
            "iopcmd=rotate&degree={}",
            r.within(name, "angles", *degrees, 1..=359, D)?
        )),
        // US3 turns ±100 into a flood, so only the open range is theirs.
        Op::Bright(v) => Some(format!("iopcmd=bright&value={}", within_open(r, name, *v)?)),
        Op::Contrast(v) => Some(format!(
            "iopcmd=contrast&value={}",
            within_open(r, name, *v)?
        )),
        Op::Flood(Rgb(255, 255, 255)) => Some("iopcmd=bright&value=100".into()),
        Op::Flood(Rgb(0, 0, 0)) => Some("iopcmd=bright&value=-100".into()),
        Op::Flood(_) => no(
            r,
            name,
            format!("{NAME} paints the image only white or black (bright ±100)"),
        ),
        Op::Sharpen {
            sigma_milli,
            amount_percent,
        } => {
            if *amount_percent != 100 {
                return no(
                    r,
                    name,
                    format!("{NAME} sharpens with a fixed amount of 100 %, not {amount_percent} %"),
                );
            }
            if sigma_milli % 1000 == 0 {
                let s = r.within(name, "sigmas", sigma_milli / 1000, 1..=300, D)?;
                Some(format!("iopcmd=sharpen&sigma={s}"))
            } else if sigma_milli % 500 == 0 {
                // `radius` alone: sigma = radius / 2.
                let radius = r.within(name, "radii", sigma_milli / 500, 1..=300, D)?;
                Some(format!("iopcmd=sharpen&radius={radius}"))
            } else {
                no(
                    r,
                    name,
                    format!("{NAME} takes a sigma in half pixels, not {sigma_milli} thousandths"),
                )
            }
        }
        Op::Blur(b) => blur(b, r),
        Op::Watermark(w) => watermark(w, r),
        Op::Flip(_) => no(r, name, format!("{NAME} has no flip")),
        Op::Grayscale => no(r, name, format!("{NAME} has no grayscale")),
        Op::Frames(FrameSelect::AtMost(_)) => no(
            r,
            name,
            format!("{NAME} cannot keep a number of evenly spaced frames"),
        ),
        // Handled by the caller.
        Op::Resize(_) | Op::Frames(_) => None,
    }
}

/// A bright or contrast value US3 reads as one: its ±100 are floods.
fn within_open(r: &mut Reasons, name: &str, v: i32) -> Option<i32> {
    if v.abs() == 100 {
        r.add(
            name,
            format!("{NAME} turns {name} {v} into an all-white or all-black image"),
        );
        return None;
    }
    r.within(name, "values", v, -99..=99, D)
}

fn blur(b: &Blur, r: &mut Reasons) -> Option<String> {
    let ty = match b.kind {
        BlurKind::Box => 1,
        BlurKind::Gaussian => 2,
    };
    if b.sigma_milli % 1000 != 0 {
        return no(r, "blur", format!("{NAME} takes a whole sigma in pixels"));
    }
    let radius = r.within("blur", "radii", b.radius, 0..=50, D);
    let sigma = r.within("blur", "sigmas", b.sigma_milli / 1000, 0..=50, D);
    let (radius, sigma) = (radius?, sigma?);
    if radius == 0 && sigma == 0 {
        return no(
            r,
            "blur",
            format!("{NAME} blurs nothing with radius and sigma 0"),
        );
    }
    let area = match &b.region {
        None => String::new(),
        Some(c) => {
            let whole = c.width.is_none() && c.height.is_none() && c.dx == 0 && c.dy == 0;
            if whole {
                return no(
                    r,
                    "blur",
                    format!("{NAME} cannot name a region that is the whole image"),
                );
            }
            region(c, "blur", r)?
        }
    };
    Some(format!(
        "iopcmd=blur&type={ty}&radius={radius}&sigma={sigma}{area}"
    ))
}

/// A font name the US3 parser reads back as `f`.
fn font(f: imaging::Font) -> Option<&'static str> {
    use imaging::Font::*;
    Some(match f {
        SimSun => "simsun",
        LiShu => "lishu",
        FangZhengFangSong => "fangzhengfangsong",
        FangZhengHeiTi => "fangzhengheiti",
        FangZhengKaiTi => "fangzhengkaiti",
        FangZhengShuSong => "fangzhengshusong",
        WqyMicroHei => "wenquanyiweimihei",
        WqyZenHei => "wenquanyizhenghei",
        DroidSansFallback => "droidsansfallback",
        Tahoma | Arial | TimesNewRoman => return None,
    })
}

fn watermark(w: &Watermark, r: &mut Reasons) -> Option<String> {
    const PART: &str = "watermark";
    let before = r.0.len();
    let mut s = match super::single_mark(w, NAME, r)? {
        Mark::Image(img) => {
            if img.scale.is_some() {
                r.add(PART, format!("{NAME} draws a mark image at its own size"));
            }
            if img.oversize != imaging::Oversize::Shrink {
                r.add(
                    PART,
                    format!("{NAME} shrinks a mark larger than the image, never crops it"),
                );
            }
            let mut url = super::mark_url(&img.key, r);
            if !img.preprocess.is_empty() {
                // The mark's own stages ride in the URL's query.
                let pre = Pipeline {
                    ops: img.preprocess.clone(),
                    ..Pipeline::default()
                };
                let mut inner = Reasons::default();
                let text = spell(&pre, &mut inner);
                for why in inner.0 {
                    r.add(PART, format!("its image's preprocessing: {why}"));
                }
                url.push('?');
                url.push_str(&text);
            }
            format!(
                "iopcmd=watermark&type=2&imageurl={}",
                b64url_encode(url.as_bytes())
            )
        }
        Mark::Text(t) => {
            let mut s = format!(
                "iopcmd=watermark&type=1&text={}",
                b64url_encode(t.text.as_bytes())
            );
            match font(t.font) {
                Some(f) => s.push_str(&format!("&font={}", b64url_encode(f.as_bytes()))),
                None => r.add(PART, format!("{NAME} has no font {:?}", t.font)),
            }
            if let Some(size) = r.within(PART, "text sizes", t.size, 1..=100, D) {
                s.push_str(&format!("&fontsize={size}"));
            }
            let Rgb(red, g, b) = t.color;
            let fill = b64url_encode(format!("#{red:02X}{g:02X}{b:02X}").as_bytes());
            s.push_str(&format!("&fill={fill}"));
            if let Some(d) = r.within(PART, "text angles", t.rotate, 0..=359, D) {
                if d > 0 {
                    s.push_str(&format!("&rotate={d}"));
                }
            }
            if t.shadow != 0 {
                r.add(PART, format!("{NAME} has no text shadow"));
            }
            s
        }
    };
    if let Some(o) = r.within(PART, "opacities", w.opacity, 1..=100, D) {
        s.push_str(&format!("&opacity={o}"));
    }
    let pl = &w.placement;
    if pl.voffset != 0 {
        r.add(
            PART,
            format!("{NAME} has no vertical offset from the middle line"),
        );
    }
    if pl.gravity == Gravity::NorthWest {
        let at = |r: &mut Reasons, v: i32| {
            u32::try_from(v)
                .ok()
                .and_then(|v| r.within(PART, "positions", v, 0..=MAX_SIDE, D))
                .or_else(|| {
                    r.add(
                        PART,
                        format!("{NAME} places a mark right and down only, not by {v}"),
                    );
                    None
                })
        };
        if let (Some(x), Some(y)) = (at(r, pl.dx), at(r, pl.dy)) {
            s.push_str(&format!("&ax={x}&ay={y}"));
        }
    } else if pl.dx == 0 && pl.dy == 0 {
        s.push_str(&format!("&gravity={}", gravity(pl.gravity)));
    } else {
        r.add(
            PART,
            format!(
                "{NAME} places a mark in a gravity cell with no margin, or by its top-left corner"
            ),
        );
    }
    if w.tile.is_some() {
        r.add(PART, format!("{NAME} cannot tile a mark"));
    }
    (r.0.len() == before).then_some(s)
}
