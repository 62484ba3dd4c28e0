//! UCloud US3 (`iopcmd`) parser (dialects.md §3).
//!
//! A request is a pipeline of stages joined by `|` (raw or `%7C`), each
//! stage an `iopcmd=<command>` followed by its own `&k=v` parameters:
//! `?iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40`.
//!
//! Decisions this parser makes where the vendor is silent (all **design**):
//! * Signature parameters of every vendor (`UCloudPublicKey`, `Signature`,
//!   `Expires`, `q-*`, `X-Amz-*`, ...) and S3's `versionId`/`response-*`
//!   are ignored wherever they sit. Other parameters before the first
//!   `iopcmd` of a query are not ours and are ignored too; inside a stage an
//!   unknown parameter is an error (a typo must not be silently dropped).
//! * `iopstyle=<name>` must stand alone. The old form `iopcmd=<name>` (a
//!   value that is no command) is read as a style name when it is the only
//!   stage, has no parameter and looks like a style name: the caller then
//!   answers "no such style" with an error when the bucket has none, so an
//!   unsupported `iopcmd` is still never answered with the original image.
//! * Thumbnail types map onto [`Geometry`] variants whose executor semantics
//!   give the sizes of the vendor's 400×300 table under
//!   [`Rounding::Truncate`]; type 12's "canvas must exceed the source" needs
//!   the source size, so the executor checks it.
//! * `gifmode`: 2 (first frame only) → [`FrameSelect::First`]; 1 and 3–6
//!   only differ in what is dropped when the vendor's time budget runs out,
//!   and this engine processes every frame (under `Limits::max_frames`), so
//!   they add nothing. `giftimeout` is validated and ignored.
//! * `watermark`: `gravity` beats `ax`/`ay` as in `crop` (the mark sits in
//!   the cell with no margin); without it the mark's top-left corner is at
//!   (`ax`, `ay`), default (10, 10). An image mark's `imageurl` may name any
//!   http(s) host: its path is taken as a key of the source's bucket (the
//!   vendor recommends the bucket's own URL), and `iopcmd` stages in the
//!   URL's query become the mark's preprocessing.
//! * `sharpen`: US3 follows ImageMagick's `-sharpen radiusxsigma`: `sigma`
//!   is the Gaussian's standard deviation in pixels and the amount is 100 %;
//!   `radius` only bounds the kernel, which the engine derives from sigma,
//!   except that `sigma=0` with a radius uses sigma = radius / 2. Both 0 →
//!   no operation.
//! * `auto-orient`/`interlace` without `value` mean `value=1`; `convert`'s
//!   `fr` emits a frame selection only when given.
//! * Every error carries US3 `RetCode` `-1` ([`RET_CODE`], dialects.md §3.3).

use crate::common::{
    b64url_decode_str, gravity_long_name, parse_int_in, percent_decode, raw_params,
};
use crate::error::{DialectError, ErrorKind, Result};
use crate::Directive;
use imaging::{
    Blur, BlurKind, CircleBox, Combine, Crop, Enlarge, Font, Format, FormatRequest, FrameSelect,
    Geometry, Gravity, Op, OutputOptions, Pipeline, Placement, Quality, Resize, Rgb, Rgba,
    Rounding, SideChoice, Terminal, Watermark, WatermarkImage, WatermarkText,
};

#[cfg(test)]
mod tests;

/// The `RetCode` of every US3 processing error: UCloud publishes no codes
/// for image processing, so parameter errors use `-1` (dialects.md §3.3).
pub const RET_CODE: &str = "-1";

/// Most stages accepted in one request. US3 documents no limit; this keeps
/// a hostile URL from queuing unbounded work (design).
pub const MAX_STAGES: usize = 20;

/// Parses the processing part of a GET's raw (undecoded) query.
pub fn parse_query(raw_query: &str) -> Result<Directive> {
    parse_text(raw_query, Origin::Query).map_err(|e| e.or_code(RET_CODE))
}

/// Parses a stored style's content (`iopcmd=a&k=v|iopcmd=b&k=v`).
pub fn parse_style(content: &str) -> Result<Pipeline> {
    match parse_text(content, Origin::Style).map_err(|e| e.or_code(RET_CODE))? {
        Directive::Pipeline(p) => Ok(p),
        // parse_text never yields a style for style content; keep the
        // error path rather than trusting that.
        Directive::Style(name) => Err(DialectError::bad_request(
            "a style cannot refer to another style",
            name,
        )
        .with_code(RET_CODE)),
    }
}

/// The body of `iopcmd=imageinfo` (dialects.md §3.2): numeric sizes and
/// the upper-case format name, `{"width": 640, "height": 480, "format": "JPEG"}`.
pub fn imageinfo_json(info: &imaging::ImageInfo) -> serde_json::Value {
    serde_json::json!({
        "width": info.width,
        "height": info.height,
        "format": format_name(info.format),
    })
}

/// The body of `iopcmd=exif`: every tag as a string, thumbnail tags
/// prefixed `thumbnail:`; an image without EXIF gives `{}`.
pub fn exif_json(fields: &[imaging::ExifField]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for f in fields {
        // The first occurrence wins (the primary image's, listed first).
        map.entry(f.tag.clone())
            .or_insert_with(|| serde_json::Value::String(f.value.clone()));
    }
    serde_json::Value::Object(map)
}

/// The body of `iopcmd=averagehue`: `{"RGB": "0xRRGGBB"}` (the vendor does
/// not document one; the other vendors' shape, dialects.md §3.2).
pub fn averagehue_json(color: Rgb) -> serde_json::Value {
    let Rgb(r, g, b) = color;
    serde_json::json!({ "RGB": format!("0x{r:02X}{g:02X}{b:02X}") })
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Jpeg => "JPEG",
        Format::Png => "PNG",
        Format::Webp => "WEBP",
        Format::Bmp => "BMP",
        Format::Gif => "GIF",
        Format::Tiff => "TIFF",
        Format::Avif => "AVIF",
        Format::Heic => "HEIC",
    }
}

/// Where the text comes from: a request's query (which may carry foreign
/// parameters and the style forms) or a style's stored body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Query,
    Style,
}

/// The commands of dialects.md §3.2, case-sensitive.
const COMMANDS: [&str; 17] = [
    "imageinfo",
    "exif",
    "thumbnail",
    "crop",
    "indexcrop",
    "circle",
    "rounded-corners",
    "rotate",
    "auto-orient",
    "bright",
    "contrast",
    "sharpen",
    "blur",
    "averagehue",
    "watermark",
    "convert",
    "interlace",
];

/// Parameters that belong to signatures or to the storage API, never to
/// processing, whatever vendor wrote them (dialects.md §0.3).
fn is_foreign_param(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    matches!(
        key,
        "UCloudPublicKey" | "Signature" | "Expires" | "OSSAccessKeyId" | "versionId"
    ) || lower.starts_with("q-")
        || lower.starts_with("x-amz-")
        || lower.starts_with("x-oss-")
        || lower.starts_with("response-")
        || lower == "security-token"
}

/// A decoded `k=v` pair and how it was written.
#[derive(Debug, Clone)]
struct Param {
    key: String,
    value: String,
    raw: String,
}

/// One `iopcmd=` stage.
#[derive(Debug)]
struct Stage {
    cmd: String,
    raw_cmd: String,
    params: Params,
}

/// Splits on `|` and on its percent-encoded form.
fn split_pipes(text: &str) -> Vec<String> {
    text.replace("%7C", "|")
        .replace("%7c", "|")
        .split('|')
        .map(str::to_string)
        .collect()
}

fn decode_param(raw: &crate::common::RawParam<'_>) -> Result<Param> {
    let key = percent_decode(raw.key).map_err(|e| e.with_fragment(raw.raw))?;
    let value = match raw.value {
        Some(v) => percent_decode(v).map_err(|e| e.with_fragment(raw.raw))?,
        None => String::new(),
    };
    Ok(Param {
        key,
        value,
        raw: raw.raw.to_string(),
    })
}

/// Style names as the old `iopcmd=<name>` form may carry them.
fn looks_like_style_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn parse_text(text: &str, origin: Origin) -> Result<Directive> {
    let text = text.strip_prefix('?').unwrap_or(text);
    let pieces = split_pipes(text);
    if pieces.len() > MAX_STAGES {
        return Err(DialectError::new(
            ErrorKind::TooManyStages,
            format!(
                "at most {MAX_STAGES} stages are accepted, got {}",
                pieces.len()
            ),
            text,
        ));
    }
    let mut stages: Vec<Stage> = Vec::new();
    let mut style: Option<Param> = None;
    for (i, piece) in pieces.iter().enumerate() {
        let mut current: Option<Stage> = None;
        let mut seen_any = false;
        for raw in raw_params(piece) {
            // Foreign parameters are skipped before their value is decoded:
            // whatever they hold is not ours to refuse.
            let foreign = |key: &str| origin == Origin::Query && is_foreign_param(key);
            if foreign(raw.key) {
                continue;
            }
            let p = decode_param(&raw)?;
            if foreign(&p.key) {
                continue;
            }
            let first = !seen_any;
            seen_any = true;
            match p.key.as_str() {
                "iopstyle" => {
                    if origin == Origin::Style {
                        return Err(DialectError::bad_request(
                            "a style cannot refer to another style",
                            p.raw,
                        ));
                    }
                    if style.is_some() {
                        return Err(DialectError::bad_request(
                            "`iopstyle` may appear only once",
                            p.raw,
                        ));
                    }
                    style = Some(p);
                }
                "iopcmd" => {
                    if current.is_some() {
                        return Err(DialectError::bad_request(
                            "one `iopcmd` per stage: join stages with `|`",
                            p.raw,
                        ));
                    }
                    if p.value.is_empty() {
                        return Err(DialectError::missing("`iopcmd` has no command", p.raw));
                    }
                    current = Some(Stage {
                        cmd: p.value.clone(),
                        raw_cmd: p.raw,
                        params: Params::new(),
                    });
                }
                _ => match current.as_mut() {
                    Some(stage) => stage.params.push(p)?,
                    // Text before the first `iopcmd` of a query is other
                    // parameters of the GET; a later stage must start with
                    // its command, and a style body has nothing else.
                    None if i == 0 && origin == Origin::Query => {}
                    None => {
                        let why = if first && i > 0 {
                            format!("stage {} must begin with `iopcmd=`", i + 1)
                        } else {
                            "parameter outside any `iopcmd` stage".to_string()
                        };
                        return Err(DialectError::bad_request(why, p.raw));
                    }
                },
            }
        }
        match current {
            Some(stage) => stages.push(stage),
            // Checked below: `iopstyle` must stand alone.
            None if style.is_some() => {}
            None => {
                return Err(DialectError::missing(
                    format!("stage {} has no `iopcmd`", i + 1),
                    piece.as_str(),
                ))
            }
        }
    }

    if let Some(p) = style {
        if !stages.is_empty() {
            return Err(DialectError::bad_request(
                "`iopstyle` cannot be combined with `iopcmd`",
                p.raw,
            ));
        }
        if p.value.is_empty() {
            return Err(DialectError::missing("`iopstyle` has no style name", p.raw));
        }
        return Ok(Directive::Style(p.value));
    }

    // The beta form `iopcmd=<styleName>`.
    if origin == Origin::Query && stages.len() == 1 {
        let s = &stages[0];
        if !COMMANDS.contains(&s.cmd.as_str())
            && s.params.is_empty()
            && looks_like_style_name(&s.cmd)
        {
            return Ok(Directive::Style(s.cmd.clone()));
        }
    }

    build(stages).map(Directive::Pipeline)
}

/// The parameters of one stage, each to be consumed exactly once.
#[derive(Debug, Default)]
struct Params {
    items: Vec<Param>,
    used: Vec<bool>,
}

impl Params {
    fn new() -> Self {
        Params::default()
    }

    fn push(&mut self, p: Param) -> Result<()> {
        if self.items.iter().any(|q| q.key == p.key) {
            return Err(DialectError::invalid(
                format!("parameter `{}` is given twice", p.key),
                p.raw,
            ));
        }
        self.items.push(p);
        self.used.push(false);
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The value of `name`, marking it consumed.
    fn get(&mut self, name: &str) -> Option<Param> {
        let i = self.items.iter().position(|p| p.key == name)?;
        self.used[i] = true;
        Some(self.items[i].clone())
    }

    /// Marks `name` as known but deliberately ignored.
    fn ignore(&mut self, name: &str) {
        let _ = self.get(name);
    }

    fn int(&mut self, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(p) => parse_int_in(name, &p.value, min, max)
                .map(Some)
                .map_err(|e| e.with_fragment(p.raw)),
        }
    }

    fn u32(&mut self, name: &str, min: u32, max: u32) -> Result<Option<u32>> {
        Ok(self
            .int(name, i64::from(min), i64::from(max))?
            .and_then(|n| u32::try_from(n).ok()))
    }

    fn i32(&mut self, name: &str, min: i32, max: i32) -> Result<Option<i32>> {
        Ok(self
            .int(name, i64::from(min), i64::from(max))?
            .and_then(|n| i32::try_from(n).ok()))
    }

    fn req_u32(&mut self, cmd: &str, name: &str, min: u32, max: u32) -> Result<u32> {
        self.u32(name, min, max)?
            .ok_or_else(|| missing_param(cmd, name))
    }

    fn gravity(&mut self) -> Result<Option<Gravity>> {
        match self.get("gravity") {
            None => Ok(None),
            Some(p) => gravity_long_name(&p.value).map(Some).ok_or_else(|| {
                DialectError::invalid(
                    format!(
                        "`gravity` must be one of NorthWest, North, NorthEast, West, Center, \
                         East, SouthWest, South, SouthEast; got `{}`",
                        p.value
                    ),
                    p.raw,
                )
            }),
        }
    }

    /// Fails on the first parameter nobody consumed.
    fn finish(&self, cmd: &str) -> Result<()> {
        match self.items.iter().zip(&self.used).find(|(_, used)| !**used) {
            None => Ok(()),
            Some((p, _)) => Err(DialectError::invalid(
                format!("unknown parameter `{}` for `iopcmd={cmd}`", p.key),
                p.raw.clone(),
            )),
        }
    }
}

fn missing_param(cmd: &str, name: &str) -> DialectError {
    DialectError::missing(
        format!("`iopcmd={cmd}` requires `{name}`"),
        format!("iopcmd={cmd}"),
    )
}

/// The pipeline being assembled.
#[derive(Default)]
struct Build {
    ops: Vec<Op>,
    output: OutputOptions,
    terminal: Option<Terminal>,
}

fn build(stages: Vec<Stage>) -> Result<Pipeline> {
    let mut b = Build::default();
    for (i, mut stage) in stages.into_iter().enumerate() {
        if let Some(t) = b.terminal {
            return Err(DialectError::bad_request(
                format!("`{}` must be the last stage", terminal_name(t)),
                stage.raw_cmd,
            ));
        }
        let cmd = stage.cmd.clone();
        let p = &mut stage.params;
        match cmd.as_str() {
            "imageinfo" => b.terminal = Some(Terminal::Info),
            "averagehue" => b.terminal = Some(Terminal::AverageColor),
            "exif" => {
                // US3: "not supported for processed images".
                if i > 0 {
                    return Err(DialectError::bad_request(
                        "`iopcmd=exif` is not available on processed images",
                        stage.raw_cmd,
                    ));
                }
                b.terminal = Some(Terminal::Exif);
            }
            "thumbnail" => thumbnail(p, &mut b)?,
            "crop" => {
                let crop = region(p, "width", "height")?;
                b.ops.push(Op::Crop(crop));
            }
            "indexcrop" => indexcrop(p, &mut b)?,
            "circle" => {
                let radius = p.req_u32(&cmd, "r", 1, 4096)?;
                b.ops.push(Op::Circle {
                    radius,
                    bbox: CircleBox::TwoR,
                });
            }
            "rounded-corners" => {
                let radius = p.req_u32(&cmd, "r", 1, 4096)?;
                b.ops.push(Op::RoundedCorners { radius });
            }
            "rotate" => {
                // 0 and 360 leave the image (and an animation) as it is:
                // no operation, as the OSS parser does.
                let degrees = p.req_u32(&cmd, "degree", 0, 360)? % 360;
                if degrees != 0 {
                    b.ops.push(Op::Rotate { degrees });
                }
            }
            "auto-orient" => {
                if p.u32("value", 0, 1)?.unwrap_or(1) == 1 {
                    b.ops.push(Op::AutoOrient);
                }
            }
            "bright" | "contrast" => {
                let v = p
                    .i32("value", -100, 100)?
                    .ok_or_else(|| missing_param(&cmd, "value"))?;
                // US3: ≥ 100 gives an all-white image, ≤ −100 all-black,
                // stated for both commands.
                b.ops.push(match v {
                    100 => Op::Flood(Rgb(255, 255, 255)),
                    -100 => Op::Flood(Rgb(0, 0, 0)),
                    v if cmd == "bright" => Op::Bright(v),
                    v => Op::Contrast(v),
                });
            }
            "sharpen" => sharpen(p, &cmd, &mut b)?,
            "blur" => blur(p, &mut b)?,
            "watermark" => watermark(p, &cmd, &mut b)?,
            "convert" => convert(p, &cmd, &mut b)?,
            "interlace" => {
                if p.u32("value", 0, 1)?.unwrap_or(1) == 1 {
                    // Newest text: non-JPEG images are converted to JPEG.
                    b.output.progressive = true;
                    b.output.format = Some(FormatRequest {
                        format: Format::Jpeg,
                        only_if_source_animated: false,
                    });
                } else {
                    b.output.progressive = false;
                }
            }
            _ => {
                return Err(DialectError::new(
                    ErrorKind::UnknownAction,
                    format!("unsupported iopcmd `{cmd}`"),
                    stage.raw_cmd,
                ))
            }
        }
        p.finish(&cmd)?;
    }
    Ok(Pipeline {
        ops: b.ops,
        rounding: Rounding::Truncate,
        output: b.output,
        terminal: b.terminal,
        on_limit_error: Default::default(),
    })
}

fn terminal_name(t: Terminal) -> &'static str {
    match t {
        Terminal::Info => "iopcmd=imageinfo",
        Terminal::Exif => "iopcmd=exif",
        Terminal::AverageColor => "iopcmd=averagehue",
    }
}

fn thumbnail(p: &mut Params, b: &mut Build) -> Result<()> {
    const CMD: &str = "thumbnail";
    let ty = p.req_u32(CMD, "type", 1, 15)?;
    let width = p.u32("width", 1, 10_000)?;
    let height = p.u32("height", 1, 10_000)?;
    // 2022-08 and later: at most 1000 % (dialects.md §5.2).
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

/// `width`/`height`/`ax`/`ay`/`gravity` as `crop` and `blur` take them:
/// 0 = to the edge, `gravity` beats the anchor.
fn region(p: &mut Params, wname: &str, hname: &str) -> Result<Crop> {
    let nonzero = |v: Option<u32>| v.filter(|&n| n > 0);
    let width = nonzero(p.u32(wname, 0, 10_000)?);
    let height = nonzero(p.u32(hname, 0, 10_000)?);
    let ax = p.i32("ax", 0, 10_000)?.unwrap_or(0);
    let ay = p.i32("ay", 0, 10_000)?.unwrap_or(0);
    Ok(match p.gravity()? {
        Some(gravity) => Crop {
            width,
            height,
            gravity,
            dx: 0,
            dy: 0,
        },
        None => Crop {
            width,
            height,
            gravity: Gravity::NorthWest,
            dx: ax,
            dy: ay,
        },
    })
}

fn indexcrop(p: &mut Params, b: &mut Build) -> Result<()> {
    const CMD: &str = "indexcrop";
    let x = p.u32("x", 1, u32::MAX)?;
    let y = p.u32("y", 1, u32::MAX)?;
    let index = p.u32("i", 0, u32::MAX)?.unwrap_or(0);
    // "When both x and y are legal, y prevails."
    let (axis, length) = match (x, y) {
        (_, Some(y)) => (imaging::Axis::Y, y),
        (Some(x), None) => (imaging::Axis::X, x),
        (None, None) => return Err(missing_param(CMD, "x` or `y")),
    };
    b.ops.push(Op::IndexCrop {
        axis,
        length,
        index,
    });
    Ok(())
}

fn sharpen(p: &mut Params, cmd: &str, b: &mut Build) -> Result<()> {
    // Union of the 2022-06 and current ranges (dialects.md §5.2).
    let radius = p.u32("radius", 0, 300)?;
    let sigma = p.u32("sigma", 0, 300)?;
    if radius.is_none() && sigma.is_none() {
        return Err(missing_param(cmd, "sigma"));
    }
    let radius = radius.unwrap_or(0);
    let sigma_milli = match sigma.unwrap_or(0) {
        0 => radius * 500,
        s => s * 1000,
    };
    if sigma_milli > 0 {
        b.ops.push(Op::Sharpen {
            sigma_milli,
            amount_percent: 100,
        });
    }
    Ok(())
}

fn blur(p: &mut Params, b: &mut Build) -> Result<()> {
    // 2022-06 text: 0/1; current: 1 = ordinary, 2 = Gaussian (§5.2).
    let kind = match p.u32("type", 0, 2)?.unwrap_or(1) {
        2 => BlurKind::Gaussian,
        _ => BlurKind::Box,
    };
    let radius = p.u32("radius", 0, 50)?.unwrap_or(0);
    let sigma = p.u32("sigma", 0, 50)?.unwrap_or(0);
    let area = region(p, "width", "height")?;
    let whole = area.width.is_none() && area.height.is_none() && area.dx == 0 && area.dy == 0;
    if radius == 0 && sigma == 0 {
        // Nothing to blur with: the vendor's defaults leave the image as is.
        return Ok(());
    }
    b.ops.push(Op::Blur(Blur {
        radius,
        sigma_milli: sigma * 1000,
        kind,
        region: if whole { None } else { Some(area) },
    }));
    Ok(())
}

fn watermark(p: &mut Params, cmd: &str, b: &mut Build) -> Result<()> {
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
        let text = WatermarkText {
            text: text_value,
            font,
            size,
            color,
            shadow: 0,
            rotate,
        };
        (None, Some(text))
    } else {
        let url = p
            .get("imageurl")
            .ok_or_else(|| missing_param(cmd, "imageurl"))?;
        let decoded = b64url_decode_str(&url.value).map_err(|e| e.with_fragment(&url.raw))?;
        let (key, preprocess) =
            watermark_source(&decoded).map_err(|e| e.with_fragment(&url.raw))?;
        let image = WatermarkImage {
            key,
            preprocess,
            scale: None,
            oversize: Default::default(),
        };
        (Some(image), None)
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
    let path = before_query
        .find('/')
        .map_or("", |i| &before_query[i + 1..]);
    let key = percent_decode(path)?;
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

fn convert(p: &mut Params, cmd: &str, b: &mut Build) -> Result<()> {
    let dst = p.get("dst").ok_or_else(|| missing_param(cmd, "dst"))?;
    let format = match dst.value.as_str() {
        "jpg" => Format::Jpeg,
        "png" => Format::Png,
        "bmp" => Format::Bmp,
        "webp" => Format::Webp,
        _ => {
            return Err(DialectError::invalid(
                format!("`dst` must be jpg, png, bmp or webp, got `{}`", dst.value),
                dst.raw,
            ))
        }
    };
    let absolute = p.u32("Q", 0, 100)?;
    let relative = p.u32("q", 0, 100)?;
    // Both given → Q wins.
    let quality = match (absolute, relative) {
        (Some(q), _) => Some(Quality::Absolute(q as u8)),
        (None, Some(q)) => Some(Quality::Relative(q as u8)),
        (None, None) => None,
    };
    if let Some(fr) = p.get("fr") {
        let permille =
            parse_milli("fr", &fr.value, 0, 1000).map_err(|e| e.with_fragment(&fr.raw))?;
        b.ops.push(Op::Frames(FrameSelect::AtPermille(permille)));
    }
    b.output.format = Some(FormatRequest {
        format,
        only_if_source_animated: false,
    });
    if quality.is_some() {
        b.output.quality = quality;
    }
    Ok(())
}

/// Parses a non-negative decimal (`12`, `0.25`, `.5`, `37.5`) into
/// thousandths, truncating digits past the third decimal, and checks it
/// against `[min_milli, max_milli]`. Shared by the US3 and COS parsers
/// (fractions: US3 `fr`, COS percentages and blur sigma).
pub(crate) fn parse_milli(name: &str, value: &str, min_milli: u64, max_milli: u64) -> Result<u32> {
    let bad = || {
        DialectError::invalid(
            format!(
                "`{name}` must be a decimal number in [{}, {}], got `{value}`",
                milli_text(min_milli),
                milli_text(max_milli)
            ),
            value,
        )
    };
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
        || (value.contains('.') && frac.is_empty())
        || int.len() > 12
    {
        return Err(bad());
    }
    let whole: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut milli = whole * 1000;
    for (i, d) in frac.bytes().take(3).enumerate() {
        milli += u64::from(d - b'0') * [100, 10, 1][i];
    }
    if milli < min_milli || milli > max_milli {
        return Err(bad());
    }
    u32::try_from(milli).map_err(|_| bad())
}

fn milli_text(m: u64) -> String {
    if m % 1000 == 0 {
        (m / 1000).to_string()
    } else {
        format!("{}.{:03}", m / 1000, m % 1000)
            .trim_end_matches('0')
            .to_string()
    }
}

/// The font names of the US3 watermark table (dialects.md §3.2), ASCII
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

/// A US3 colour: a name (`red`), `rgb(r,g,b)`, `rgba(r,g,b,a)` with alpha in
/// [0, 1], `#RGB`, `#RRGGBB`, `#RRGGBBAA` (`%23` already decoded), or the
/// same hex digits without `#`.
pub(crate) fn parse_color(value: &str) -> Result<Rgba> {
    let bad = || {
        DialectError::invalid(
            format!(
                "colour must be a name, rgb(r,g,b), rgba(r,g,b,a), #RRGGBB or #RRGGBBAA; \
                 got `{value}`"
            ),
            value,
        )
    };
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    if let Some(inner) = lower
        .strip_prefix("rgba(")
        .or_else(|| lower.strip_prefix("rgb("))
        .and_then(|s| s.strip_suffix(')'))
    {
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let with_alpha = lower.starts_with("rgba(");
        if parts.len() != if with_alpha { 4 } else { 3 } {
            return Err(bad());
        }
        let channel = |s: &str| s.parse::<u8>().map_err(|_| bad());
        let alpha = if with_alpha {
            let a = parse_milli("alpha", parts[3], 0, 1000).map_err(|_| bad())?;
            // 0..=1000 → 0..=255, rounded.
            ((a * 255 + 500) / 1000) as u8
        } else {
            255
        };
        return Ok(Rgba(
            channel(parts[0])?,
            channel(parts[1])?,
            channel(parts[2])?,
            alpha,
        ));
    }
    let hex = lower.strip_prefix('#').unwrap_or(&lower);
    if hex.bytes().all(|c| c.is_ascii_hexdigit()) && matches!(hex.len(), 3 | 6 | 8) {
        let digits: Vec<u8> = hex
            .bytes()
            .map(|c| match c {
                b'0'..=b'9' => c - b'0',
                _ => c - b'a' + 10,
            })
            .collect();
        return Ok(match digits.len() {
            3 => Rgba(digits[0] * 17, digits[1] * 17, digits[2] * 17, 255),
            6 => Rgba(
                digits[0] * 16 + digits[1],
                digits[2] * 16 + digits[3],
                digits[4] * 16 + digits[5],
                255,
            ),
            _ => Rgba(
                digits[0] * 16 + digits[1],
                digits[2] * 16 + digits[3],
                digits[4] * 16 + digits[5],
                digits[6] * 16 + digits[7],
            ),
        });
    }
    if lower.starts_with('#') {
        return Err(bad());
    }
    named_color(&lower).ok_or_else(bad)
}

/// The CSS/X11 colour names most used in URLs (lower case).
fn named_color(name: &str) -> Option<Rgba> {
    let rgb = |r, g, b| Some(Rgba(r, g, b, 255));
    match name {
        "transparent" => Some(Rgba(0, 0, 0, 0)),
        "black" => rgb(0, 0, 0),
        "white" => rgb(255, 255, 255),
        "red" => rgb(255, 0, 0),
        "lime" => rgb(0, 255, 0),
        "green" => rgb(0, 128, 0),
        "blue" => rgb(0, 0, 255),
        "yellow" => rgb(255, 255, 0),
        "cyan" | "aqua" => rgb(0, 255, 255),
        "magenta" | "fuchsia" => rgb(255, 0, 255),
        "silver" => rgb(192, 192, 192),
        "gray" | "grey" => rgb(128, 128, 128),
        "darkgray" | "darkgrey" => rgb(169, 169, 169),
        "lightgray" | "lightgrey" => rgb(211, 211, 211),
        "maroon" => rgb(128, 0, 0),
        "olive" => rgb(128, 128, 0),
        "purple" => rgb(128, 0, 128),
        "teal" => rgb(0, 128, 128),
        "navy" => rgb(0, 0, 128),
        "orange" => rgb(255, 165, 0),
        "pink" => rgb(255, 192, 203),
        "brown" => rgb(165, 42, 42),
        "gold" => rgb(255, 215, 0),
        "violet" => rgb(238, 130, 238),
        "indigo" => rgb(75, 0, 130),
        "beige" => rgb(245, 245, 220),
        "ivory" => rgb(255, 255, 240),
        "khaki" => rgb(240, 230, 140),
        "coral" => rgb(255, 127, 80),
        "salmon" => rgb(250, 128, 114),
        "tomato" => rgb(255, 99, 71),
        "crimson" => rgb(220, 20, 60),
        "orchid" => rgb(218, 112, 214),
        "plum" => rgb(221, 160, 221),
        "tan" => rgb(210, 180, 140),
        "chocolate" => rgb(210, 105, 30),
        "skyblue" => rgb(135, 206, 235),
        "darkblue" => rgb(0, 0, 139),
        "darkred" => rgb(139, 0, 0),
        "darkgreen" => rgb(0, 100, 0),
        "lightblue" => rgb(173, 216, 230),
        "lightgreen" => rgb(144, 238, 144),
        "whitesmoke" => rgb(245, 245, 245),
        "snow" => rgb(255, 250, 250),
        _ => None,
    }
}
