//! A pipeline in Alibaba OSS syntax: `image/<action>,<k>_<v>/...`, or
//! `video/snapshot,...` (the inverse of `crate::oss`).
//!
//! Two quirks of the OSS parser decide what can be written:
//! * `auto-orient` is hoisted before every other action, so it can only
//!   stand for an `AutoOrient` that comes first;
//! * `resize,p_` and `rotate` add a "first frame only" step, so a pipeline
//!   that keeps an animation cannot scale by a percentage or rotate, and
//!   one that keeps the first frame must do one of them.

use imaging::{
    Blur, BlurKind, Crop, Enlarge, Format, FrameSelect, Geometry, Gravity, Op, Pipeline, Quality,
    Resize, Rgba, Terminal, VideoFrame, Watermark, WatermarkScale,
};

use super::{common_output_checks, first_frame_matters, format_ext, no, op_name, Reasons};
use crate::common::{b64url_encode, snapshot_pipeline, SNAPSHOT_MAX_SIDE};
use crate::Dialect;

const D: Dialect = Dialect::Oss;
const NAME: &str = "Alibaba OSS";
/// Resize targets (`crate::oss`, `MAX_RESIZE`).
const MAX_RESIZE: u32 = 16_384;
/// Crop sizes, offsets and strip lengths (`crate::oss`, `MAX_SIDE`).
const MAX_SIDE: u32 = 30_000;
/// What starts a watermark image's own process inside its name.
const NESTED_PROCESS: &str = "?x-oss-process=";

pub(super) fn spell(p: &Pipeline, r: &mut Reasons) -> String {
    if let Some(frame) = p.video {
        return snapshot(p, frame, r);
    }
    common_output_checks(p, r, D);
    if p.output.strip_metadata {
        r.add(
            "strip metadata",
            format!("{NAME} has no request to drop metadata"),
        );
    }
    let mut steps: Vec<String> = Vec::new();
    orientation(p, r, &mut steps);
    frames(p, r);
    let mut image_marks = 0;
    for op in &p.ops {
        match op {
            Op::AutoOrient | Op::Frames(FrameSelect::First) => {}
            Op::Frames(_) => r.add(
                "frames",
                format!("{NAME} cannot pick frames of an animation"),
            ),
            Op::Watermark(w) => {
                if w.image.is_some() {
                    image_marks += 1;
                }
                if let Some(s) = watermark(w, r) {
                    steps.push(s);
                }
            }
            other => {
                if let Some(s) = step(other, false, r) {
                    steps.push(s);
                }
            }
        }
    }
    if image_marks > crate::oss::MAX_IMAGE_WATERMARKS {
        r.add(
            "watermark",
            format!(
                "{NAME} takes at most {} image watermarks per request",
                crate::oss::MAX_IMAGE_WATERMARKS
            ),
        );
    }
    output(p, r, &mut steps);
    match p.terminal {
        None => {}
        Some(Terminal::Info) => {
            if steps.is_empty() {
                steps.push("info".into());
            } else {
                r.add(
                    "info",
                    format!("{NAME} describes only the unprocessed image (`info` must be the only action)"),
                );
            }
        }
        Some(Terminal::AverageColor) => steps.push("average-hue".into()),
        Some(Terminal::Exif) => r.add("exif", format!("{NAME} has no EXIF-only answer")),
    }
    if steps.is_empty() {
        // The pipeline does nothing: the one action that adds nothing.
        steps.push("auto-orient,0".into());
    }
    if steps.len() > crate::oss::MAX_STEPS {
        r.add(
            "pipeline",
            format!(
                "{NAME} takes at most {} actions, this needs {}",
                crate::oss::MAX_STEPS,
                steps.len()
            ),
        );
    }
    format!("image/{}", steps.join("/"))
}

/// `auto-orient,1`, which the parser hoists: only an `AutoOrient` before
/// every other operation can be written.
fn orientation(p: &Pipeline, r: &mut Reasons, steps: &mut Vec<String>) {
    let mut others = p.ops.iter().filter(|op| !matches!(op, Op::Frames(_)));
    let Some(first) = others.next() else {
        return;
    };
    if *first == Op::AutoOrient {
        steps.push("auto-orient,1".into());
    } else if p.ops.contains(&Op::AutoOrient) {
        r.add(
            "auto-orient",
            format!(
                "{NAME} applies auto-orient before every other action, not after {}",
                op_name(first)
            ),
        );
    }
}

/// Whether the OSS parser adds a "first frame only" step for `op`.
fn freezes(op: &Op) -> bool {
    matches!(
        op,
        Op::Rotate { .. }
            | Op::Resize(Resize {
                geometry: Geometry::Scale { .. },
                ..
            })
    )
}

/// The first frame is kept exactly when the parser adds its step.
fn frames(p: &Pipeline, r: &mut Reasons) {
    if !first_frame_matters(p) {
        return;
    }
    let keeps_first = p.ops.contains(&Op::Frames(FrameSelect::First));
    match p.ops.iter().find(|op| freezes(op)) {
        Some(op) if !keeps_first => r.add(
            op_name(op),
            format!(
                "{NAME} makes an animated image static when it rotates or scales by `p_`; this \
                 pipeline keeps the animation"
            ),
        ),
        None if keeps_first => r.add(
            "frames",
            format!(
                "{NAME} keeps only the first frame of an animation only when it rotates or \
                 scales by `p_`"
            ),
        ),
        _ => {}
    }
}

/// One pixel operation as a step; `preprocess`: inside a watermark image's
/// own process, where fewer actions are allowed.
fn step(op: &Op, preprocess: bool, r: &mut Reasons) -> Option<String> {
    let name = op_name(op);
    if preprocess
        && !matches!(
            op,
            Op::Resize(_)
                | Op::Crop(_)
                | Op::IndexCrop { .. }
                | Op::RoundedCorners { .. }
                | Op::Rotate { .. }
        )
    {
        r.add(
            "watermark",
            format!(
                "{NAME} preprocesses a watermark image only with resize, crop, indexcrop, \
                 rounded-corners and rotate, not {name}"
            ),
        );
        return None;
    }
    match op {
        Op::Resize(rz) => resize(rz, r),
        Op::Crop(c) => crop(c, r),
        Op::IndexCrop {
            axis,
            length,
            index,
        } => {
            let length = r.within(name, "strip lengths", *length, 1..=MAX_SIDE, D)?;
            let key = match axis {
                imaging::Axis::X => "x",
                imaging::Axis::Y => "y",
            };
            Some(format!("indexcrop,{key}_{length},i_{index}"))
        }
        Op::Circle { radius, .. } => {
            let radius = r.within(name, "radii", *radius, 1..=4096, D)?;
            Some(format!("circle,r_{radius}"))
        }
        Op::RoundedCorners { radius } => {
            let radius = r.within(name, "radii", *radius, 1..=4096, D)?;
            Some(format!("rounded-corners,r_{radius}"))
        }
        Op::Rotate { degrees } => {
            let d = r.within(name, "angles", *degrees, 1..=359, D)?;
            Some(format!("rotate,{d}"))
        }
        Op::Bright(v) => Some(format!(
            "bright,{}",
            r.within(name, "values", *v, -100..=100, D)?
        )),
        Op::Contrast(v) => Some(format!(
            "contrast,{}",
            r.within(name, "values", *v, -100..=100, D)?
        )),
        Op::Sharpen {
            sigma_milli,
            amount_percent,
        } => {
            if *sigma_milli != 1000 {
                r.add(name, format!("{NAME} sharpens with a sigma of 1 px only"));
                return None;
            }
            let a = r.within(name, "amounts", *amount_percent, 50..=399, D)?;
            Some(format!("sharpen,{a}"))
        }
        Op::Blur(b) => blur(b, r),
        Op::Flip(_) => no(r, name, format!("{NAME} has no flip")),
        Op::Grayscale => no(r, name, format!("{NAME} has no grayscale")),
        Op::Flood(_) => no(r, name, format!("{NAME} cannot paint the image one colour")),
        Op::AutoOrient | Op::Watermark(_) | Op::Frames(_) => no(
            r,
            "watermark",
            format!("{NAME} cannot apply {name} to a watermark image"),
        ),
    }
}

fn resize(rz: &Resize, r: &mut Reasons) -> Option<String> {
    let limit = match rz.enlarge {
        Enlarge::Never => "",
        Enlarge::Allow => ",limit_0",
        Enlarge::Only => {
            return no(
                r,
                "resize",
                format!("{NAME} has no resize that only enlarges"),
            )
        }
    };
    let side = |r: &mut Reasons, v: u32| r.within("resize", "sides", v, 1..=MAX_RESIZE, D);
    let text = match &rz.geometry {
        Geometry::Fit { width, height } => {
            if width.is_none() && height.is_none() {
                return no(r, "resize", "a fit needs a width or a height".into());
            }
            let mut s = String::from("resize");
            if let Some(w) = width {
                s.push_str(&format!(",w_{}", side(r, *w)?));
            }
            if let Some(h) = height {
                s.push_str(&format!(",h_{}", side(r, *h)?));
            }
            s
        }
        Geometry::Cover { width, height } => {
            format!(
                "resize,m_mfit,w_{},h_{}",
                side(r, *width)?,
                side(r, *height)?
            )
        }
        Geometry::Fill { width, height } => {
            format!(
                "resize,m_fill,w_{},h_{}",
                side(r, *width)?,
                side(r, *height)?
            )
        }
        Geometry::Stretch { width, height } => {
            format!(
                "resize,m_fixed,w_{},h_{}",
                side(r, *width)?,
                side(r, *height)?
            )
        }
        Geometry::Pad {
            width,
            height,
            color,
        } => {
            let (w, h) = (side(r, *width)?, side(r, *height)?);
            let Rgba(red, g, b, a) = *color;
            if a != 255 {
                return no(
                    r,
                    "resize",
                    format!("{NAME} pads with an opaque colour only"),
                );
            }
            format!("resize,m_pad,w_{w},h_{h},color_{red:02X}{g:02X}{b:02X}")
        }
        Geometry::Scale {
            x_permille: Some(x),
            y_permille: Some(y),
        } if x == y && x % 10 == 0 && (10..=10_000).contains(x) => {
            format!("resize,p_{}", x / 10)
        }
        Geometry::Scale { .. } => {
            return no(
                r,
                "resize",
                format!(
                    "{NAME} scales both sides by the same whole percentage (1–1000) only: {}",
                    scale_text(&rz.geometry)
                ),
            )
        }
        Geometry::LongShort { long, short } => {
            let mut s = String::from("resize");
            if let Some(l) = long {
                s.push_str(&format!(",l_{}", side(r, *l)?));
            }
            if let Some(v) = short {
                s.push_str(&format!(",s_{}", side(r, *v)?));
            }
            s
        }
        Geometry::OrientedBox { .. }
        | Geometry::SourceSide { .. }
        | Geometry::Area { .. }
        | Geometry::Canvas { .. } => {
            return no(
                r,
                "resize",
                format!("{NAME} has no {}", geometry_name(&rz.geometry)),
            )
        }
    };
    Some(format!("{text}{limit}"))
}

/// A scale's per mille values as percentages, for reasons.
fn scale_text(g: &Geometry) -> String {
    let pct = |v: Option<u32>| match v {
        Some(m) if m % 10 == 0 => format!("{} %", m / 10),
        Some(m) => format!("{}.{} %", m / 10, m % 10),
        None => "unchanged".into(),
    };
    match g {
        Geometry::Scale {
            x_permille,
            y_permille,
        } => format!("width {}, height {}", pct(*x_permille), pct(*y_permille)),
        _ => String::new(),
    }
}

/// Names of the geometries only some dialects have, for reasons.
pub(super) fn geometry_name(g: &Geometry) -> &'static str {
    match g {
        Geometry::Fit { .. } => "fit",
        Geometry::Cover { .. } => "cover resize",
        Geometry::Fill { .. } => "fill resize (cover, then centre-crop)",
        Geometry::Pad { .. } => "padded resize",
        Geometry::Stretch { .. } => "stretch resize",
        Geometry::Scale { .. } => "percentage scale",
        Geometry::LongShort { .. } => "long/short side target (Alibaba l_/s_)",
        Geometry::OrientedBox { .. } => "box turned to the source's orientation (imageView2/4, /5)",
        Geometry::SourceSide { .. } => "source-side resize (US3 thumbnail types 6, 7)",
        Geometry::Area { .. } => "total-area resize (COS Area@)",
        Geometry::Canvas { .. } => "unscaled canvas (US3 thumbnail type 12)",
    }
}

fn gravity(g: Gravity) -> &'static str {
    match g {
        Gravity::NorthWest => "nw",
        Gravity::North => "north",
        Gravity::NorthEast => "ne",
        Gravity::West => "west",
        Gravity::Center => "center",
        Gravity::East => "east",
        Gravity::SouthWest => "sw",
        Gravity::South => "south",
        Gravity::SouthEast => "se",
    }
}

fn crop(c: &Crop, r: &mut Reasons) -> Option<String> {
    // OSS offsets are added to the cell's origin and are never negative.
    let offset = |r: &mut Reasons, v: i32| {
        let v = u32::try_from(v).ok().or_else(|| {
            r.add(
                "crop",
                format!("{NAME} offsets a crop right and down only, not by {v}"),
            );
            None
        })?;
        r.within("crop", "offsets", v, 0..=MAX_SIDE, D)
    };
    let x = offset(r, c.dx);
    let y = offset(r, c.dy);
    let w = r.within("crop", "sizes", c.width.unwrap_or(0), 0..=MAX_SIDE, D);
    let h = r.within("crop", "sizes", c.height.unwrap_or(0), 0..=MAX_SIDE, D);
    let (x, y, w, h) = (x?, y?, w?, h?);
    // Only what differs from the defaults (origin 0, to the edge, nw); a
    // bare `crop` is refused, so a crop that keeps everything says `x_0`.
    let mut params: Vec<String> = [("x", x), ("y", y), ("w", w), ("h", h)]
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| format!("{k}_{v}"))
        .collect();
    if c.gravity != Gravity::NorthWest {
        params.push(format!("g_{}", gravity(c.gravity)));
    }
    if params.is_empty() {
        params.push("x_0".into());
    }
    Some(format!("crop,{}", params.join(",")))
}

fn blur(b: &Blur, r: &mut Reasons) -> Option<String> {
    if b.kind != BlurKind::Gaussian {
        return no(r, "blur", format!("{NAME} has a Gaussian blur only"));
    }
    if b.region.is_some() {
        return no(r, "blur", format!("{NAME} blurs the whole image only"));
    }
    if b.sigma_milli % 1000 != 0 {
        return no(r, "blur", format!("{NAME} takes a whole sigma in pixels"));
    }
    let radius = r.within("blur", "radii", b.radius, 1..=50, D);
    let sigma = r.within("blur", "sigmas", b.sigma_milli / 1000, 1..=50, D);
    Some(format!("blur,r_{},s_{}", radius?, sigma?))
}

/// Fonts as `type_` names them (`crate::oss::watermark`).
fn font(f: imaging::Font) -> Option<&'static str> {
    use imaging::Font::*;
    Some(match f {
        WqyZenHei => "wqy-zenhei",
        WqyMicroHei => "wqy-microhei",
        FangZhengShuSong => "fangzhengshusong",
        FangZhengKaiTi => "fangzhengkaiti",
        FangZhengHeiTi => "fangzhengheiti",
        FangZhengFangSong => "fangzhengfangsong",
        DroidSansFallback => "droidsansfallback",
        SimSun | LiShu | Tahoma | Arial | TimesNewRoman => return None,
    })
}

fn watermark(w: &Watermark, r: &mut Reasons) -> Option<String> {
    const PART: &str = "watermark";
    let before = r.0.len();
    let mut s = String::from("watermark");
    if let Some(img) = &w.image {
        if let Err(e) = crate::oss::validate_object_key(&img.key) {
            r.add(PART, format!("{NAME} cannot name the mark: {}", e.message));
        }
        if img.key.contains(NESTED_PROCESS) {
            r.add(
                PART,
                format!("{NAME} would read the mark's key as carrying its own process"),
            );
        }
        if img.oversize != imaging::Oversize::Shrink {
            r.add(
                PART,
                format!("{NAME} shrinks a mark larger than the image, never crops it"),
            );
        }
        let mut pre: Vec<String> = img
            .preprocess
            .iter()
            .filter_map(|op| step(op, true, r))
            .collect();
        match img.scale {
            None => {}
            Some(WatermarkScale::PercentOfWidth(p)) => {
                if let Some(p) = r.within(PART, "mark sizes (percent)", p, 1..=100, D) {
                    pre.push(format!("resize,P_{p}"));
                }
            }
            Some(_) => r.add(
                PART,
                format!("{NAME} sizes a mark by a percentage of the image's width only"),
            ),
        }
        let name = if pre.is_empty() {
            img.key.clone()
        } else {
            format!("{}{NESTED_PROCESS}image/{}", img.key, pre.join("/"))
        };
        s.push_str(&format!(",image_{}", b64url_encode(name.as_bytes())));
    }
    if let Some(t) = &w.text {
        let chars = t.text.chars().count();
        r.within(PART, "texts of (characters)", chars, 1..=64, D);
        s.push_str(&format!(",text_{}", b64url_encode(t.text.as_bytes())));
        match font(t.font) {
            Some(f) => s.push_str(&format!(",type_{}", b64url_encode(f.as_bytes()))),
            None => r.add(PART, format!("{NAME} has no font {:?}", t.font)),
        }
        let imaging::Rgb(red, g, b) = t.color;
        s.push_str(&format!(",color_{red:02X}{g:02X}{b:02X}"));
        if let Some(size) = r.within(PART, "text sizes", t.size, 1..=1000, D) {
            s.push_str(&format!(",size_{size}"));
        }
        if t.shadow > 0 {
            s.push_str(&format!(",shadow_{}", t.shadow.min(100)));
            r.within(PART, "shadows", t.shadow, 0..=100, D);
        }
        if t.rotate > 0 {
            s.push_str(&format!(",rotate_{}", t.rotate));
            r.within(PART, "text angles", t.rotate, 0..=359, D);
        }
    }
    if w.image.is_none() && w.text.is_none() {
        r.add(PART, "a mark needs an image or a text");
    }
    let pl = &w.placement;
    let margin = |r: &mut Reasons, v: i32| {
        u32::try_from(v)
            .ok()
            .and_then(|v| r.within(PART, "margins", v, 0..=4096, D))
            .or_else(|| {
                r.add(
                    PART,
                    format!("{NAME} takes margins from 0 to 4096, not {v}"),
                );
                None
            })
    };
    let x = margin(r, pl.dx);
    let y = margin(r, pl.dy);
    let voffset = r.within(PART, "vertical offsets", pl.voffset, -1000..=1000, D);
    let opacity = r.within(PART, "opacities", w.opacity, 0..=100, D);
    if let (Some(x), Some(y), Some(v), Some(t)) = (x, y, voffset, opacity) {
        s.push_str(&format!(",t_{t},g_{},x_{x},y_{y}", gravity(pl.gravity)));
        if v != 0 {
            s.push_str(&format!(",voffset_{v}"));
        }
    }
    if let Some(tile) = &w.tile {
        if tile.degrees != 0 {
            r.add(PART, format!("{NAME} cannot turn a tiled mark"));
        }
        let padx = r.within(PART, "tile gaps", tile.padx, 0..=4096, D);
        let pady = r.within(PART, "tile gaps", tile.pady, 0..=4096, D);
        if let (Some(x), Some(y)) = (padx, pady) {
            s.push_str(&format!(",fill_1,padx_{x},pady_{y}"));
        }
    }
    if w.image.is_some() && w.text.is_some() {
        let c = &w.combine;
        let align = match c.align {
            imaging::Align::Top => 0,
            imaging::Align::Center => 1,
            imaging::Align::Bottom => 2,
        };
        if let Some(i) = r.within(PART, "intervals", c.interval, 0..=1000, D) {
            s.push_str(&format!(
                ",order_{},align_{align},interval_{i}",
                u8::from(c.text_first)
            ));
        }
    }
    (r.0.len() == before).then_some(s)
}

fn output(p: &Pipeline, r: &mut Reasons, steps: &mut Vec<String>) {
    if let Some(f) = p.output.format {
        // `format,gif` converts GIF sources only, and is the only way to
        // ask for GIF.
        if (f.format == Format::Gif) != f.only_if_source_animated {
            let why = if f.format == Format::Gif {
                format!("{NAME} converts to GIF only sources that are GIFs already")
            } else {
                format!("{NAME} converts every source, whatever its format")
            };
            r.add("format", why);
        } else {
            steps.push(format!("format,{}", format_ext(f.format)));
        }
    }
    match p.output.quality {
        None => {}
        Some(Quality::Absolute(q)) => {
            if let Some(q) = r.within("quality", "qualities", q, 1..=100, D) {
                steps.push(format!("quality,Q_{q}"));
            }
        }
        Some(Quality::Relative(q)) => {
            if let Some(q) = r.within("quality", "relative qualities", q, 1..=100, D) {
                steps.push(format!("quality,q_{q}"));
            }
        }
        Some(Quality::Forced(_)) => r.add(
            "quality",
            format!("{NAME} never raises the quality above the source's"),
        ),
        Some(Quality::Floor(_)) => r.add(
            "quality",
            format!("{NAME} has no lowest quality (Tencent lquality)"),
        ),
    }
    if p.output.interlace_named {
        steps.push(format!("interlace,{}", u8::from(p.output.progressive)));
    }
}

/// `video/snapshot,...`: only a pipeline that is exactly a snapshot's.
fn snapshot(p: &Pipeline, frame: VideoFrame, r: &mut Reasons) -> String {
    let (width, height) = match p.ops.as_slice() {
        [] => (0, 0),
        [Op::Resize(Resize {
            geometry: Geometry::Fit { width, height },
            ..
        })] => (width.unwrap_or(0), height.unwrap_or(0)),
        [Op::Resize(Resize {
            geometry: Geometry::Stretch { width, height },
            ..
        })] => (*width, *height),
        _ => (u32::MAX, u32::MAX),
    };
    let format = p.output.format.map(|f| f.format).unwrap_or(Format::Jpeg);
    let fits = width <= SNAPSHOT_MAX_SIDE
        && height <= SNAPSHOT_MAX_SIDE
        && matches!(format, Format::Jpeg | Format::Png)
        && u32::try_from(frame.at_ms).is_ok()
        && snapshot_pipeline(frame, width, height, format) == *p;
    if !fits {
        r.add(
            "video snapshot",
            format!(
                "{NAME} takes a frame of a video only scaled without enlarging and encoded as \
                 JPEG or PNG, with nothing else"
            ),
        );
    }
    let mut s = format!("video/snapshot,t_{},w_{width},h_{height}", frame.at_ms);
    if frame.keyframe {
        s.push_str(",m_fast");
    }
    s.push_str(&format!(",f_{}", format_ext(format)));
    if frame.auto_rotate {
        s.push_str(",ar_auto");
    }
    s
}
