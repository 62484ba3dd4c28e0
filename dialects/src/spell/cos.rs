//! A pipeline in Tencent COS syntax: `imageMogr2/...|imageView2/...|
//! watermark/2/...|imageInfo` (the inverse of `crate::cos`).
//!
//! Operations go into `imageMogr2` stages in order. A stage's companions
//! (`pad`/`color` of its `thumbnail`, `gravity`/`dx`/`dy` of its `crop`)
//! belong to the whole stage, so a second thumbnail or crop starts a new
//! stage; `imageView2` and watermarks are stages of their own. Output
//! options are request-wide and go into the last `imageMogr2` stage.

use imaging::{
    Crop, Enlarge, Format, FrameSelect, Geometry, Gravity, Op, Pipeline, Quality, Resize, Rgb,
    Rgba, Terminal, Watermark, WatermarkScale,
};

use super::oss::geometry_name;
use super::{common_output_checks, format_ext, milli_decimal, no, op_name, Mark, Reasons};
use crate::common::b64url_encode;
use crate::Dialect;

const D: Dialect = Dialect::Cos;
const NAME: &str = "Tencent COS";
/// Geometry sides and crop margins (`crate::cos`, `MAX_SIDE`).
const MAX_SIDE: u32 = 50_000;

/// The stages being written.
#[derive(Default)]
struct Stages {
    done: Vec<String>,
    /// Items of the open `imageMogr2` stage.
    mogr: Vec<String>,
    has_thumbnail: bool,
    has_crop: bool,
}

impl Stages {
    fn close_mogr(&mut self) {
        if !self.mogr.is_empty() {
            self.done
                .push(format!("imageMogr2/{}", self.mogr.join("/")));
        }
        self.mogr.clear();
        self.has_thumbnail = false;
        self.has_crop = false;
    }

    /// A whole stage of its own (`imageView2`, `watermark`).
    fn stage(&mut self, text: String) {
        self.close_mogr();
        self.done.push(text);
    }

    fn thumbnail(&mut self, items: String) {
        if self.has_thumbnail {
            self.close_mogr();
        }
        self.has_thumbnail = true;
        self.mogr.push(items);
    }

    fn crop(&mut self, items: String) {
        if self.has_crop {
            self.close_mogr();
        }
        self.has_crop = true;
        self.mogr.push(items);
    }
}

pub(super) fn spell(p: &Pipeline, r: &mut Reasons) -> String {
    if p.video.is_some() {
        r.add(
            "video snapshot",
            format!("{NAME} takes a frame of a video only with `ci-process=snapshot` in a query, not in a style"),
        );
    }
    common_output_checks(p, r, D);
    let mut st = Stages::default();
    let mut op_count = 0;
    for op in &p.ops {
        op_count += 1;
        match op {
            Op::Resize(rz) => resize(rz, r, &mut st),
            Op::Crop(c) => {
                if let Some(items) = crop(c, r) {
                    st.crop(items);
                }
            }
            Op::Watermark(w) => {
                if let Some(text) = watermark(w, r) {
                    st.stage(text);
                }
            }
            other => {
                if let Some(item) = item(other, r) {
                    st.mogr.push(item);
                }
            }
        }
    }
    if p.on_limit_error == imaging::OnLimitError::ReturnSource {
        st.mogr.push("ignore-error/1".into());
    }
    st.mogr.extend(output(p, r));
    st.close_mogr();
    if let Some(t) = p.terminal {
        st.done.push(
            match t {
                Terminal::Info => "imageInfo",
                Terminal::Exif => "exif",
                Terminal::AverageColor => "imageAve",
            }
            .into(),
        );
    }
    if st.done.is_empty() {
        // The pipeline does nothing: the one item that adds nothing.
        st.done.push("imageMogr2/auto-orient/0".into());
    }
    if st.done.len() > crate::cos::MAX_STAGES {
        r.add(
            "pipeline",
            format!(
                "{NAME} takes at most {} stages, this needs {}",
                crate::cos::MAX_STAGES,
                st.done.len()
            ),
        );
    }
    if op_count > crate::cos::MAX_OPS {
        r.add(
            "pipeline",
            format!(
                "at most {} operations in one request, this has {op_count}",
                crate::cos::MAX_OPS
            ),
        );
    }
    st.done.join("|")
}

/// An operation that is one plain `imageMogr2` item.
fn item(op: &Op, r: &mut Reasons) -> Option<String> {
    let name = op_name(op);
    let radius = |r: &mut Reasons, v: u32| r.within(name, "radii", v, 1..=MAX_SIDE, D);
    match op {
        Op::AutoOrient => Some("auto-orient".into()),
        Op::Circle { radius: v, .. } => Some(format!("iradius/{}", radius(r, *v)?)),
        Op::RoundedCorners { radius: v } => Some(format!("rradius/{}", radius(r, *v)?)),
        Op::Rotate { degrees } => Some(format!(
            "rotate/{}",
            r.within(name, "angles", *degrees, 1..=359, D)?
        )),
        Op::Flip(axis) => Some(
            match axis {
                imaging::FlipAxis::Horizontal => "flip/horizontal",
                imaging::FlipAxis::Vertical => "flip/vertical",
            }
            .into(),
        ),
        Op::Bright(v) => Some(format!(
            "bright/{}",
            r.within(name, "values", *v, -100..=100, D)?
        )),
        Op::Contrast(v) => Some(format!(
            "contrast/{}",
            r.within(name, "values", *v, -100..=100, D)?
        )),
        Op::Sharpen {
            sigma_milli,
            amount_percent,
        } => {
            if *sigma_milli != 1000 {
                return no(
                    r,
                    name,
                    format!("{NAME} sharpens with a sigma of 1 px only"),
                );
            }
            Some(format!(
                "sharpen/{}",
                r.within(name, "amounts", *amount_percent, 10..=300, D)?
            ))
        }
        Op::Blur(b) => {
            if b.kind != imaging::BlurKind::Gaussian {
                return no(r, name, format!("{NAME} has a Gaussian blur only"));
            }
            if b.region.is_some() {
                return no(r, name, format!("{NAME} blurs the whole image only"));
            }
            let radius = r.within(name, "radii", b.radius, 1..=50, D);
            let sigma = r.within(name, "sigmas (thousandths)", b.sigma_milli, 1..=50_000, D);
            Some(format!("blur/{}x{}", radius?, milli_decimal(sigma?)))
        }
        Op::Grayscale => Some("grayscale/1".into()),
        Op::Frames(FrameSelect::AtMost(n)) => {
            // `cgif/1` means 30 frames, so 1 cannot be written.
            Some(format!(
                "cgif/{}",
                r.within(name, "frame counts", *n, 2..=100, D)?
            ))
        }
        Op::Frames(FrameSelect::First) => no(
            r,
            name,
            format!(
                "{NAME} cannot keep only the first frame of an animation (cgif keeps 2 or more)"
            ),
        ),
        Op::Frames(FrameSelect::AtPermille(_)) => no(
            r,
            name,
            format!("{NAME} cannot pick one frame at a fraction of an animation"),
        ),
        Op::IndexCrop { .. } => no(r, name, format!("{NAME} has no index crop")),
        Op::Flood(_) => no(r, name, format!("{NAME} cannot paint the image one colour")),
        // Handled by the caller.
        Op::Resize(_) | Op::Crop(_) | Op::Watermark(_) => None,
    }
}

/// `<W>x<H>` with an empty side for `None`, after range checks.
fn sides(r: &mut Reasons, part: &str, w: Option<u32>, h: Option<u32>) -> Option<String> {
    let w = w.map(|v| r.within(part, "sides", v, 1..=MAX_SIDE, D));
    let h = h.map(|v| r.within(part, "sides", v, 1..=MAX_SIDE, D));
    let text = |v: Option<Option<u32>>| match v {
        Some(Some(n)) => Some(n.to_string()),
        Some(None) => None,
        None => Some(String::new()),
    };
    Some(format!("{}x{}", text(w)?, text(h)?))
}

/// A per mille scale as COS writes a percentage (one decimal).
fn percent(r: &mut Reasons, permille: u32) -> Option<String> {
    let p = r.within("resize", "scales (per mille)", permille, 1..=10_000, D)?;
    Some(if p % 10 == 0 {
        (p / 10).to_string()
    } else {
        format!("{}.{}", p / 10, p % 10)
    })
}

fn resize(rz: &Resize, r: &mut Reasons, st: &mut Stages) {
    let suffix = match rz.enlarge {
        Enlarge::Allow => "",
        Enlarge::Never => ">",
        Enlarge::Only => "<",
    };
    let fit_like = matches!(rz.geometry, Geometry::Fit { .. } | Geometry::Pad { .. });
    if !fit_like && rz.enlarge != Enlarge::Allow {
        let how = match rz.enlarge {
            Enlarge::Never => "never enlarges",
            _ => "only enlarges",
        };
        r.add(
            "resize",
            format!(
                "{NAME} has no {} that {how} (only `<W>x<H>` takes `>` or `<`)",
                geometry_name(&rz.geometry)
            ),
        );
        return;
    }
    let thumb = |st: &mut Stages, g: Option<String>| {
        if let Some(g) = g {
            st.thumbnail(format!("thumbnail/{g}"));
        }
    };
    match &rz.geometry {
        Geometry::Fit { width, height } => {
            let g = sides(r, "resize", *width, *height).map(|s| format!("{s}{suffix}"));
            thumb(st, g);
        }
        Geometry::Pad {
            width,
            height,
            color,
        } => {
            let Rgba(red, g, b, a) = *color;
            if a != 255 {
                r.add("resize", format!("{NAME} pads with an opaque colour only"));
                return;
            }
            let colour = b64url_encode(format!("#{red:02X}{g:02X}{b:02X}").as_bytes());
            let g = sides(r, "resize", Some(*width), Some(*height))
                .map(|s| format!("{s}{suffix}/pad/1/color/{colour}"));
            thumb(st, g);
        }
        Geometry::Cover { width, height } => {
            let g = sides(r, "resize", Some(*width), Some(*height)).map(|s| format!("!{s}r"));
            thumb(st, g);
        }
        Geometry::Stretch { width, height } => {
            let g = sides(r, "resize", Some(*width), Some(*height)).map(|s| format!("{s}!"));
            thumb(st, g);
        }
        Geometry::Scale {
            x_permille,
            y_permille,
        } => {
            let g = match (x_permille, y_permille) {
                (Some(x), Some(y)) if x == y => percent(r, *x).map(|p| format!("!{p}p")),
                (Some(x), None) => percent(r, *x).map(|p| format!("!{p}px")),
                (None, Some(y)) => percent(r, *y).map(|p| format!("!x{p}p")),
                _ => {
                    r.add(
                        "resize",
                        format!("{NAME} scales one side or both by the same percentage only"),
                    );
                    None
                }
            };
            thumb(st, g);
        }
        Geometry::Area { max_pixels } => {
            let g = r
                .within("resize", "areas", *max_pixels, 1..=1_000_000_000, D)
                .map(|a| format!("{a}@"));
            thumb(st, g);
        }
        Geometry::Fill { width, height } => {
            if let Some(view) = view2(r, 1, *width, *height) {
                st.stage(view);
            }
        }
        Geometry::OrientedBox { long, short, crop } => {
            if let Some(view) = view2(r, if *crop { 5 } else { 4 }, *long, *short) {
                st.stage(view);
            }
        }
        Geometry::LongShort { .. } | Geometry::SourceSide { .. } | Geometry::Canvas { .. } => {
            r.add(
                "resize",
                format!("{NAME} has no {}", geometry_name(&rz.geometry)),
            );
        }
    }
}

fn view2(r: &mut Reasons, mode: u8, w: u32, h: u32) -> Option<String> {
    let w = r.within("resize", "sides", w, 1..=MAX_SIDE, D);
    let h = r.within("resize", "sides", h, 1..=MAX_SIDE, D);
    Some(format!("imageView2/{mode}/w/{}/h/{}", w?, h?))
}

fn gravity(g: Gravity) -> &'static str {
    match g {
        Gravity::NorthWest => "northwest",
        Gravity::North => "north",
        Gravity::NorthEast => "northeast",
        Gravity::West => "west",
        Gravity::Center => "center",
        Gravity::East => "east",
        Gravity::SouthWest => "southwest",
        Gravity::South => "south",
        Gravity::SouthEast => "southeast",
    }
}

/// Where a gravity cell sits on one axis: the low edge, the middle, the
/// high edge.
#[derive(PartialEq)]
enum Edge {
    Low,
    Middle,
    High,
}

fn edges(g: Gravity) -> (Edge, Edge) {
    use Gravity::*;
    let x = match g {
        NorthWest | West | SouthWest => Edge::Low,
        North | Center | South => Edge::Middle,
        NorthEast | East | SouthEast => Edge::High,
    };
    let y = match g {
        NorthWest | North | NorthEast => Edge::Low,
        West | Center | East => Edge::Middle,
        SouthWest | South | SouthEast => Edge::High,
    };
    (x, y)
}

/// The margin COS writes for an origin offset on one axis: inward from
/// the anchored edge, none on the middle axis (the inverse of the
/// parser's `crop_offsets`).
fn margin(edge: Edge, offset: i32) -> Option<u32> {
    match edge {
        Edge::Low => u32::try_from(offset).ok(),
        Edge::High => offset.checked_neg().and_then(|v| u32::try_from(v).ok()),
        Edge::Middle => (offset == 0).then_some(0),
    }
}

fn crop(c: &Crop, r: &mut Reasons) -> Option<String> {
    if c.width.is_none() && c.height.is_none() {
        return no(r, "crop", format!("{NAME} crops need a width or a height"));
    }
    let (ex, ey) = edges(c.gravity);
    let (Some(mx), Some(my)) = (margin(ex, c.dx), margin(ey, c.dy)) else {
        return no(
            r,
            "crop",
            format!(
                "{NAME} offsets a crop inward from the {} cell's edges only (none on its middle \
                 axis), not by ({}, {})",
                gravity(c.gravity),
                c.dx,
                c.dy
            ),
        );
    };
    let mx = r.within("crop", "margins", mx, 0..=MAX_SIDE, D);
    let my = r.within("crop", "margins", my, 0..=MAX_SIDE, D);
    let size = sides(r, "crop", c.width, c.height);
    let mut s = format!("crop/{}/gravity/{}", size?, gravity(c.gravity));
    let (mx, my) = (mx?, my?);
    if mx > 0 {
        s.push_str(&format!("/dx/{mx}"));
    }
    if my > 0 {
        s.push_str(&format!("/dy/{my}"));
    }
    Some(s)
}

/// A font name the COS parser reads back as `f`.
fn font(f: imaging::Font) -> Option<&'static str> {
    use imaging::Font::*;
    Some(match f {
        Tahoma => "tahoma.ttf",
        Arial => "arial.ttf",
        TimesNewRoman => "times.ttf",
        SimSun => "simsun.ttc",
        FangZhengFangSong => "simfang.ttf",
        FangZhengHeiTi => "simhei.ttf",
        FangZhengKaiTi => "simkai.ttf",
        LiShu => "STLiti.ttf",
        FangZhengShuSong => "STZhongsong.ttf",
        WqyMicroHei => "msyh.ttf",
        DroidSansFallback => "STHupo.ttf",
        WqyZenHei => return None,
    })
}

fn watermark(w: &Watermark, r: &mut Reasons) -> Option<String> {
    const PART: &str = "watermark";
    let before = r.0.len();
    let mut s = match super::single_mark(w, NAME, r)? {
        Mark::Image(img) => {
            if !img.preprocess.is_empty() {
                r.add(PART, format!("{NAME} cannot preprocess a mark image"));
            }
            let url = super::mark_url(&img.key, r);
            let mut s = format!("watermark/1/image/{}", b64url_encode(url.as_bytes()));
            if img.oversize == imaging::Oversize::Crop {
                s.push_str("/blogo/2");
            }
            let scale = match img.scale {
                None => None,
                Some(WatermarkScale::PermilleOfWidth(p)) => Some((1, p, 1000)),
                Some(WatermarkScale::PermilleOfHeight(p)) => Some((2, p, 1000)),
                Some(WatermarkScale::PermilleOfArea(p)) => Some((3, p, 250)),
                Some(WatermarkScale::PercentOfWidth(_)) => {
                    r.add(
                        PART,
                        format!(
                            "{NAME} sizes a mark in per mille (scatype/spcent), not Alibaba's P_"
                        ),
                    );
                    None
                }
            };
            if let Some((ty, p, max)) = scale {
                if let Some(p) = r.within(PART, "mark sizes (per mille)", p, 1..=max, D) {
                    s.push_str(&format!("/scatype/{ty}/spcent/{p}"));
                }
            }
            s
        }
        Mark::Text(t) => {
            let mut s = format!("watermark/2/text/{}", b64url_encode(t.text.as_bytes()));
            match font(t.font) {
                Some(f) => s.push_str(&format!("/font/{}", b64url_encode(f.as_bytes()))),
                None => r.add(PART, format!("{NAME} has no font {:?}", t.font)),
            }
            // Sizes are points at 96 dpi: px = round(pt × 4 / 3), so only
            // some pixel sizes can be written.
            match (1..=1000u32).find(|pt| (pt * 4 + 1) / 3 == t.size) {
                Some(pt) => s.push_str(&format!("/fontsize/{pt}")),
                None => r.add(
                    PART,
                    format!(
                        "{NAME} sizes text in points (4/3 px each), which cannot give {} px",
                        t.size
                    ),
                ),
            }
            let Rgb(red, g, b) = t.color;
            let fill = b64url_encode(format!("#{red:02X}{g:02X}{b:02X}").as_bytes());
            s.push_str(&format!("/fill/{fill}"));
            if let Some(sh) = r.within(PART, "shadows", t.shadow, 0..=100, D) {
                if sh > 0 {
                    s.push_str(&format!("/shadow/{sh}"));
                }
            }
            if t.rotate != 0 {
                r.add(PART, format!("{NAME} cannot turn a text mark"));
            }
            s
        }
    };
    let pl = &w.placement;
    if pl.voffset != 0 {
        r.add(
            PART,
            format!("{NAME} has no vertical offset from the middle line"),
        );
    }
    let margin = |r: &mut Reasons, v: i32| {
        u32::try_from(v)
            .ok()
            .and_then(|v| r.within(PART, "margins", v, 0..=MAX_SIDE, D))
            .or_else(|| {
                r.add(PART, format!("{NAME} takes margins from 0, not {v}"));
                None
            })
    };
    let dx = margin(r, pl.dx);
    let dy = margin(r, pl.dy);
    let opacity = r.within(PART, "opacities", w.opacity, 1..=100, D);
    if let (Some(dx), Some(dy), Some(o)) = (dx, dy, opacity) {
        s.push_str(&format!("/gravity/{}", gravity(pl.gravity)));
        for (k, v) in [("dx", dx), ("dy", dy)] {
            if v > 0 {
                s.push_str(&format!("/{k}/{v}"));
            }
        }
        s.push_str(&format!("/dissolve/{o}"));
    }
    if let Some(tile) = &w.tile {
        if tile.padx != 0 || tile.pady != 0 {
            r.add(PART, format!("{NAME} tiles marks without gaps"));
        }
        if let Some(d) = r.within(PART, "tile angles", tile.degrees, 0..=359, D) {
            s.push_str(&format!("/batch/1/degree/{d}"));
        }
    }
    (r.0.len() == before).then_some(s)
}

/// The output items.
fn output(p: &Pipeline, r: &mut Reasons) -> Vec<String> {
    let mut items = Vec::new();
    let o = &p.output;
    if let Some(f) = o.format {
        if f.only_if_source_animated {
            r.add(
                "format",
                format!("{NAME} converts every source, whatever its format"),
            );
        }
        match f.format {
            Format::Tiff => r.add("format", format!("{NAME} cannot encode TIFF")),
            Format::Heic => items.push("format/heif".into()),
            other => items.push(format!("format/{}", format_ext(other))),
        }
    }
    let q = |r: &mut Reasons, v: u8| r.within("quality", "qualities", v, 0..=100, D);
    match o.quality {
        None => {}
        Some(Quality::Absolute(v)) => items.extend(q(r, v).map(|v| format!("quality/{v}"))),
        Some(Quality::Forced(v)) => items.extend(q(r, v).map(|v| format!("quality/{v}!"))),
        Some(Quality::Relative(v)) => items.extend(q(r, v).map(|v| format!("rquality/{v}"))),
        Some(Quality::Floor(v)) => items.extend(q(r, v).map(|v| format!("lquality/{v}"))),
    }
    if o.interlace_named {
        items.push(format!("interlace/{}", u8::from(o.progressive)));
    }
    if o.strip_metadata {
        items.push("strip".into());
    }
    if let Some(limit) = o.size_limit {
        let bang = if limit.source_if_not_smaller { "!" } else { "" };
        let (n, unit) = if limit.max_bytes % (1024 * 1024) == 0 {
            (limit.max_bytes / (1024 * 1024), "m")
        } else {
            (limit.max_bytes / 1024, "k")
        };
        if limit.max_bytes % 1024 != 0 || !(1..=1_000_000).contains(&n) {
            r.add(
                "size-limit",
                format!(
                    "{NAME} takes a size limit in whole KiB or MiB (at most 1 000 000), not {} bytes",
                    limit.max_bytes
                ),
            );
        } else {
            items.push(format!("size-limit/{n}{unit}{bang}"));
        }
    }
    items
}
