//! Tencent Cloud COS / Cloud Infinite parser (dialects.md §2): the
//! value-less processing key of a GET (`?imageMogr2/...|watermark/1/...`),
//! style bodies, and the `Pic-Operations` header of upload-time and
//! in-cloud processing.
//!
//! Decisions this parser makes where the vendor is silent (all **design**):
//! * The processing key is the query component whose first stage starts
//!   with `imageMogr2/`, `imageView2/`, `watermark/`, `style/` or is
//!   `imageInfo`/`exif`/`imageAve`; the whole component is percent-decoded
//!   (`%3C %3E %7C %21 ...`) before parsing, `=` included (padded base64).
//!   Every other component (the `q-sign-*` signature, `versionId`...) is
//!   ignored. Two processing components are refused.
//! * Inside one `imageMogr2` stage operations apply in the order written;
//!   `pad`/`color` belong to the stage's `thumbnail`, `gravity`/`dx`/`dy` to
//!   its `crop`, `ignore-error` to the whole request.
//! * `crop` offsets are margins from the gravity cell's edges, as in
//!   ImageMagick (which the syntax follows): `dx` moves the region inward from
//!   the left or right edge, `dy` from the top or bottom edge; the centre
//!   column ignores `dx` and the middle row `dy` (vendor rule).
//! * `scrop` (face-aware crop) answers the source when no face is found;
//!   this build has no face detector, so it is validated and adds nothing.
//!   `rcrop` needs the source's aspect ratio to choose a region and is
//!   refused as not implemented (501), like `watermark/3` and `/4` (blind
//!   watermarks), `format/tpg` (a proprietary codec) and
//!   `ci-process=snapshot`.
//! * `imageView2` modes 4 and 5 take `w` as the long edge and `h` as the
//!   short one, the box turned to the source's orientation (a square source
//!   counts as landscape); one value stands for both, as the vendor says.
//! * `iradius` above half the short side is clamped by the engine (as the
//!   other vendors do) rather than refused.
//! * `cgif/1` keeps at most 30 frames, `cgif/n` at most n, both evenly
//!   spaced ([`FrameSelect::AtMost`]); the vendor's `cgif/1` keeps the first
//!   30, a difference only for animations longer than 30 frames.
//! * `sharpen/v` (10–300) is an unsharp mask of σ = 1 px and amount v %.
//! * Watermark images: `http://` URLs only (vendor rule); the host is not
//!   checked (the parser does not know the bucket's domains), the path is
//!   the key in the source's bucket, a query on the URL is ignored. Font
//!   sizes are points at 96 dpi (px = round(pt × 4 / 3)).
//! * Errors carry `X-ErrNo` `-106` ("malformed URL", [`ERRNO_MALFORMED`])
//!   except not-implemented ones, which carry none.

use crate::common::{
    b64url_decode_str, gravity_long_name, parse_hash_rrggbb, parse_int_in, percent_decode,
    raw_params,
};
use crate::error::{DialectError, ErrorKind, Result};
use crate::us3::parse_milli;
use crate::Directive;
use imaging::{
    Blur, BlurKind, CircleBox, Combine, Crop, Enlarge, FlipAxis, Font, Format, FormatRequest,
    FrameSelect, Geometry, Gravity, OnLimitError, Op, Oversize, Pipeline, Placement, Quality,
    Resize, Rgb, Rgba, Rounding, SizeLimit, Terminal, Tile, Watermark, WatermarkImage,
    WatermarkScale, WatermarkText,
};

#[cfg(test)]
mod tests;

/// `X-ErrNo` of a malformed processing request (dialects.md §2.9).
pub const ERRNO_MALFORMED: &str = "-106";

/// Most stages joined by `|` (dialects.md §2.2).
pub const MAX_STAGES: usize = 10;

/// Most rules in one `Pic-Operations` header (dialects.md §2.7).
pub const MAX_RULES: usize = 5;

/// Largest width/height a geometry may name: the vendor's largest
/// documented side (50 000, strip page); the configurable output cap
/// (9 999 by default) is the executor's.
const MAX_SIDE: u32 = 50_000;

/// Parses the processing part of a GET's raw (undecoded) query.
pub fn parse_query(raw_query: &str) -> Result<Directive> {
    query(raw_query).map_err(tag)
}

/// Parses a stored style's content (`imageMogr2/...|watermark/...`).
pub fn parse_style(content: &str) -> Result<Pipeline> {
    match processing(content, false).map_err(tag)? {
        Directive::Pipeline(p) => Ok(p),
        Directive::Style(name) => Err(tag(DialectError::bad_request(
            "a style cannot refer to another style",
            name,
        ))),
    }
}

/// Parses one `Pic-Operations` rule: a processing string or `style/<name>`.
pub fn parse_rule(rule: &str) -> Result<Directive> {
    processing(rule, true).map_err(tag)
}

/// The body of `imageInfo` (dialects.md §2.6): every value a string.
/// `md5` is the hex MD5 of the described bytes, which the engine does not
/// compute (for a stored, unprocessed object it is its ETag's MD5).
pub fn image_info_json(info: &imaging::ImageInfo, md5: &str) -> serde_json::Value {
    serde_json::json!({
        "format": format_name(info.format),
        "width": info.width.to_string(),
        "height": info.height.to_string(),
        "size": info.file_size.to_string(),
        "md5": md5,
        "frame_count": info.frame_count.to_string(),
    })
}

/// The body of `exif`: `{"<Tag>": {"val": "<string>", "type": <TIFF type>}}`
/// (dialects.md §2.6, inferred shape); no EXIF gives
/// `{"error": "no exif data"}` as Tencent documents.
pub fn exif_json(fields: &[imaging::ExifField]) -> serde_json::Value {
    if fields.is_empty() {
        return serde_json::json!({ "error": "no exif data" });
    }
    let mut map = serde_json::Map::new();
    for f in fields {
        map.entry(f.tag.clone())
            .or_insert_with(|| serde_json::json!({ "val": f.value, "type": f.type_code }));
    }
    serde_json::Value::Object(map)
}

/// The body of `imageAve`: `{"RGB": "0xRRGGBB"}`.
pub fn image_ave_json(color: Rgb) -> serde_json::Value {
    let Rgb(r, g, b) = color;
    serde_json::json!({ "RGB": format!("0x{r:02X}{g:02X}{b:02X}") })
}

/// Tencent's lower-case format names (`jpeg` as in the documented sample).
fn format_name(format: Format) -> &'static str {
    match format {
        Format::Jpeg => "jpeg",
        Format::Png => "png",
        Format::Webp => "webp",
        Format::Bmp => "bmp",
        Format::Gif => "gif",
        Format::Tiff => "tiff",
        Format::Avif => "avif",
        Format::Heic => "heif",
    }
}

fn tag(e: DialectError) -> DialectError {
    if e.kind == ErrorKind::NotImplemented {
        e
    } else {
        e.or_code(ERRNO_MALFORMED)
    }
}

const PROCESSOR_PREFIXES: [&str; 4] = ["imageMogr2/", "imageView2/", "watermark/", "style/"];
const INFO_PROCESSORS: [&str; 3] = ["imageInfo", "exif", "imageAve"];

/// Whether a decoded query component is a processing string.
fn is_processing(text: &str) -> bool {
    let first = text.split('|').next().unwrap_or("");
    PROCESSOR_PREFIXES.iter().any(|p| first.starts_with(p)) || INFO_PROCESSORS.contains(&first)
}

fn query(raw_query: &str) -> Result<Directive> {
    let mut found: Option<String> = None;
    for p in raw_params(raw_query) {
        let key = percent_decode(p.key).unwrap_or_else(|_| p.key.to_string());
        if key == "ci-process" {
            let value = p.value.map(percent_decode).transpose()?;
            if value.as_deref() == Some("snapshot") {
                return Err(DialectError::not_implemented(
                    "video snapshots (ci-process=snapshot) are not implemented",
                    p.raw,
                ));
            }
            continue;
        }
        let mut whole = match percent_decode(p.raw) {
            Ok(w) => w,
            // Not UTF-8: an error only if it is ours (a foreign parameter,
            // a signature say, is none of our business).
            Err(e) if is_processing(p.raw) => return Err(e.with_fragment(p.raw)),
            Err(_) => continue,
        };
        // `?imageInfo=` is the value-less key written with an empty value.
        // The COS SDK (`ci_get_object`, `get_presigned_url(Params=...)`)
        // sends the processing string as a percent-encoded key with an
        // empty value (`imageMogr2%2Fthumbnail%2F100x=`): the `=` is the
        // separator. Only an encoded key is read so: in a plain one, a
        // trailing `=` may be base64 padding.
        if p.value == Some("")
            && (INFO_PROCESSORS.contains(&key.as_str())
                || (p.key.contains('%') && is_processing(&key)))
        {
            whole = key;
        }
        if !is_processing(&whole) {
            continue;
        }
        if found.is_some() {
            return Err(DialectError::bad_request(
                "only one processing string per request: join stages with `|`",
                p.raw,
            ));
        }
        found = Some(whole);
    }
    match found {
        Some(text) => processing(&text, true),
        None => Err(DialectError::missing(
            "no processing string (imageMogr2/..., imageView2/..., watermark/..., imageInfo, \
             exif, imageAve)",
            raw_query,
        )),
    }
}

/// Parses decoded processing text; `allow_style` admits `style/<name>`.
fn processing(text: &str, allow_style: bool) -> Result<Directive> {
    let stages: Vec<&str> = text.split('|').collect();
    if stages.len() > MAX_STAGES {
        return Err(DialectError::new(
            ErrorKind::TooManyStages,
            format!(
                "at most {MAX_STAGES} stages are allowed, got {}",
                stages.len()
            ),
            text,
        ));
    }
    if let Some(name) = stages[0].strip_prefix("style/") {
        if !allow_style {
            return Err(DialectError::bad_request(
                "a style cannot refer to another style",
                stages[0],
            ));
        }
        if stages.len() > 1 {
            return Err(DialectError::bad_request(
                "`style/<name>` cannot be combined with other stages",
                text,
            ));
        }
        if name.is_empty() || name.contains('/') {
            return Err(DialectError::invalid(
                format!("bad style name `{name}`"),
                stages[0],
            ));
        }
        return Ok(Directive::Style(name.to_string()));
    }
    let mut b = Build::default();
    for stage in stages {
        if let Some(t) = b.terminal {
            return Err(DialectError::bad_request(
                format!("`{}` must be the last stage", terminal_name(t)),
                stage,
            ));
        }
        if stage.is_empty() {
            return Err(DialectError::bad_request("empty stage", text));
        }
        match stage {
            "imageInfo" => b.terminal = Some(Terminal::Info),
            "exif" => b.terminal = Some(Terminal::Exif),
            "imageAve" => b.terminal = Some(Terminal::AverageColor),
            _ => {
                if let Some(rest) = stage.strip_prefix("imageMogr2/") {
                    mogr(rest, stage, &mut b)?;
                } else if let Some(rest) = stage.strip_prefix("imageView2/") {
                    view2(rest, stage, &mut b)?;
                } else if let Some(rest) = stage.strip_prefix("watermark/") {
                    watermark(rest, stage, &mut b)?;
                } else if stage.starts_with("style/") {
                    return Err(DialectError::bad_request(
                        "`style/<name>` cannot be combined with other stages",
                        stage,
                    ));
                } else {
                    let name = stage.split('/').next().unwrap_or(stage);
                    return Err(DialectError::new(
                        ErrorKind::UnknownAction,
                        format!("unknown processor `{name}`"),
                        stage,
                    ));
                }
            }
        }
    }
    Ok(Directive::Pipeline(Pipeline {
        ops: b.ops,
        rounding: Rounding::Nearest,
        output: b.output,
        terminal: b.terminal,
        on_limit_error: b.on_limit_error,
    }))
}

fn terminal_name(t: Terminal) -> &'static str {
    match t {
        Terminal::Info => "imageInfo",
        Terminal::Exif => "exif",
        Terminal::AverageColor => "imageAve",
    }
}

/// The pipeline being assembled.
#[derive(Default)]
struct Build {
    ops: Vec<Op>,
    output: imaging::OutputOptions,
    terminal: Option<Terminal>,
    on_limit_error: OnLimitError,
}

/// One `name/value` item of a stage.
#[derive(Debug, Clone)]
struct Item {
    name: String,
    value: Option<String>,
}

impl Item {
    fn fragment(&self) -> String {
        match &self.value {
            Some(v) => format!("{}/{v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Splits `a/1/b/2` into items; `flags` take no value (an explicit `0`/`1`
/// after one is accepted too: it cannot be misread as an operation).
fn items(rest: &str, stage: &str, flags: &[&str]) -> Result<Vec<Item>> {
    let tokens: Vec<&str> = rest.split('/').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let name = tokens[i];
        if name.is_empty() {
            // A trailing `/` is harmless; an empty name elsewhere is not.
            if i + 1 == tokens.len() && i > 0 {
                break;
            }
            return Err(DialectError::bad_request(
                "empty operation name (`//`)",
                stage,
            ));
        }
        if flags.contains(&name) {
            let value = match tokens.get(i + 1) {
                Some(&v) if v == "0" || v == "1" => {
                    i += 1;
                    Some(v.to_string())
                }
                _ => None,
            };
            out.push(Item {
                name: name.to_string(),
                value,
            });
            i += 1;
            continue;
        }
        match tokens.get(i + 1) {
            Some(v) if !v.is_empty() => out.push(Item {
                name: name.to_string(),
                value: Some((*v).to_string()),
            }),
            _ => {
                return Err(DialectError::missing(
                    format!("`{name}` needs a value"),
                    name,
                ))
            }
        }
        i += 2;
    }
    Ok(out)
}

/// Looks up single-use companion parameters of a stage.
struct Companions {
    items: Vec<Item>,
}

impl Companions {
    fn take(items: &mut Vec<Item>, names: &[&str]) -> Result<Companions> {
        let mut found: Vec<Item> = Vec::new();
        let mut rest = Vec::new();
        for it in items.drain(..) {
            if names.contains(&it.name.as_str()) {
                if found.iter().any(|f| f.name == it.name) {
                    return Err(DialectError::invalid(
                        format!("`{}` is given twice", it.name),
                        it.fragment(),
                    ));
                }
                found.push(it);
            } else {
                rest.push(it);
            }
        }
        *items = rest;
        Ok(Companions { items: found })
    }

    fn get(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.name == name)
    }

    fn value(&self, name: &str) -> Option<(&str, String)> {
        self.get(name)
            .and_then(|i| i.value.as_deref().map(|v| (v, i.fragment())))
    }

    fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.value(name) {
            None => Ok(None),
            Some((v, frag)) => parse_int_in(name, v, min, max)
                .map(Some)
                .map_err(|e| e.with_fragment(frag)),
        }
    }

    fn gravity(&self) -> Result<Option<Gravity>> {
        match self.value("gravity") {
            None => Ok(None),
            Some((v, frag)) => gravity(v, &frag).map(Some),
        }
    }
}

fn gravity(value: &str, fragment: &str) -> Result<Gravity> {
    gravity_long_name(value).ok_or_else(|| {
        DialectError::invalid(
            format!(
                "gravity must be one of northwest, north, northeast, west, center, east, \
                 southwest, south, southeast; got `{value}`"
            ),
            fragment,
        )
    })
}

fn int_of(item: &Item, min: i64, max: i64) -> Result<i64> {
    let v = item.value.as_deref().unwrap_or("");
    parse_int_in(&item.name, v, min, max).map_err(|e| e.with_fragment(item.fragment()))
}

fn u32_of(item: &Item, min: u32, max: u32) -> Result<u32> {
    int_of(item, i64::from(min), i64::from(max)).map(|n| n as u32)
}

/// One `imageMogr2/...` stage.
fn mogr(rest: &str, stage: &str, b: &mut Build) -> Result<()> {
    let mut list = if rest.is_empty() {
        Vec::new()
    } else {
        items(rest, stage, &["auto-orient", "strip"])?
    };
    if list.is_empty() {
        return Err(DialectError::missing(
            "`imageMogr2` has no operation",
            stage,
        ));
    }
    let comp = Companions::take(
        &mut list,
        &["pad", "color", "gravity", "dx", "dy", "ignore-error"],
    )?;
    let has = |name: &str| list.iter().any(|i| i.name == name);
    for (companion, owner) in [
        ("pad", "thumbnail"),
        ("gravity", "crop"),
        ("dx", "crop"),
        ("dy", "crop"),
    ] {
        if let Some(it) = comp.get(companion) {
            if !has(owner) {
                return Err(DialectError::invalid(
                    format!("`{companion}` needs a `{owner}` in the same imageMogr2 stage"),
                    it.fragment(),
                ));
            }
        }
    }
    if let Some(v) = comp.int("ignore-error", 0, 1)? {
        b.on_limit_error = if v == 1 {
            OnLimitError::ReturnSource
        } else {
            OnLimitError::Fail
        };
    }
    for it in &list {
        let v = it.value.as_deref().unwrap_or("");
        let frag = it.fragment();
        let with = |e: DialectError| e.with_fragment(frag.clone());
        match it.name.as_str() {
            "thumbnail" => {
                let (geometry, enlarge) = thumbnail_geometry(v).map_err(with)?;
                let geometry = apply_pad(geometry, &comp)?;
                b.ops.push(Op::Resize(Resize { geometry, enlarge }));
            }
            "cut" => {
                let n = numbers(v, 4).map_err(with)?;
                let (w, h, dx, dy) = (n[0], n[1], n[2], n[3]);
                for (name, val, min) in [
                    ("width", w, 1),
                    ("height", h, 1),
                    ("dx", dx, 0),
                    ("dy", dy, 0),
                ] {
                    if val < min || val > u64::from(MAX_SIDE) {
                        return Err(DialectError::invalid(
                            format!("cut {name} must be in [{min}, {MAX_SIDE}], got {val}"),
                            frag,
                        ));
                    }
                }
                b.ops.push(Op::Crop(Crop {
                    width: Some(w as u32),
                    height: Some(h as u32),
                    gravity: Gravity::NorthWest,
                    dx: dx as i32,
                    dy: dy as i32,
                }));
            }
            "crop" => {
                let (width, height) = sides(v).map_err(with)?;
                if width.is_none() && height.is_none() {
                    return Err(DialectError::invalid(
                        "crop needs a width or a height",
                        frag,
                    ));
                }
                let gravity = comp.gravity()?.unwrap_or(Gravity::NorthWest);
                let dx = comp.int("dx", 0, i64::from(MAX_SIDE))?.unwrap_or(0) as i32;
                let dy = comp.int("dy", 0, i64::from(MAX_SIDE))?.unwrap_or(0) as i32;
                let (dx, dy) = crop_offsets(gravity, dx, dy);
                b.ops.push(Op::Crop(Crop {
                    width,
                    height,
                    gravity,
                    dx,
                    dy,
                }));
            }
            "iradius" => b.ops.push(Op::Circle {
                radius: u32_of(it, 1, MAX_SIDE)?,
                bbox: CircleBox::TwoR,
            }),
            "rradius" => b.ops.push(Op::RoundedCorners {
                radius: u32_of(it, 1, MAX_SIDE)?,
            }),
            "scrop" => {
                // Validated; without a face detector "no face found" holds
                // and the vendor then answers the source.
                let (w, h) = sides(v).map_err(with)?;
                if w.is_none() || h.is_none() {
                    return Err(DialectError::invalid("scrop needs <W>x<H>", frag));
                }
            }
            "rcrop" => {
                return Err(DialectError::not_implemented(
                    "adaptive aspect crop (rcrop) is not implemented",
                    frag,
                ))
            }
            "rotate" => {
                // 0 and 360 are no operation (as in the OSS parser).
                let degrees = u32_of(it, 0, 360)? % 360;
                if degrees != 0 {
                    b.ops.push(Op::Rotate { degrees });
                }
            }
            "auto-orient" => {
                if it.value.as_deref() != Some("0") {
                    b.ops.push(Op::AutoOrient);
                }
            }
            "flip" => b.ops.push(Op::Flip(match v.to_ascii_lowercase().as_str() {
                "vertical" => FlipAxis::Vertical,
                "horizontal" => FlipAxis::Horizontal,
                _ => {
                    return Err(DialectError::invalid(
                        format!("flip must be vertical or horizontal, got `{v}`"),
                        frag,
                    ))
                }
            })),
            "format" => {
                b.output.format = Some(FormatRequest {
                    format: format(v, &frag)?,
                    only_if_source_animated: false,
                })
            }
            "cgif" => {
                let n = u32_of(it, 1, 100)?;
                // `1`: the default of 30 frames.
                let n = if n == 1 { 30 } else { n };
                b.ops.push(Op::Frames(FrameSelect::AtMost(n)));
            }
            "interlace" => b.output.progressive = u32_of(it, 0, 1)? == 1,
            "quality" => {
                let (digits, forced) = match v.strip_suffix('!') {
                    Some(d) => (d, true),
                    None => (v, false),
                };
                let q = parse_int_in("quality", digits, 0, 100).map_err(with)? as u8;
                b.output.quality = Some(if forced {
                    Quality::Forced(q)
                } else {
                    Quality::Absolute(q)
                });
            }
            "rquality" => b.output.quality = Some(Quality::Relative(u32_of(it, 0, 100)? as u8)),
            "lquality" => b.output.quality = Some(Quality::Floor(u32_of(it, 0, 100)? as u8)),
            "blur" => {
                let (r, s) = v.split_once('x').ok_or_else(|| {
                    DialectError::invalid(
                        format!("blur must be <radius>x<sigma>, got `{v}`"),
                        &frag,
                    )
                })?;
                let radius = parse_int_in("blur radius", r, 1, 50).map_err(with)? as u32;
                let sigma_milli = parse_milli("blur sigma", s, 1, 50_000).map_err(with)?;
                b.ops.push(Op::Blur(Blur {
                    radius,
                    sigma_milli,
                    kind: BlurKind::Gaussian,
                    region: None,
                }));
            }
            "bright" => b.ops.push(Op::Bright(int_of(it, -100, 100)? as i32)),
            "contrast" => b.ops.push(Op::Contrast(int_of(it, -100, 100)? as i32)),
            "sharpen" => b.ops.push(Op::Sharpen {
                sigma_milli: 1000,
                amount_percent: u32_of(it, 10, 300)?,
            }),
            "grayscale" => {
                if u32_of(it, 0, 1)? == 1 {
                    b.ops.push(Op::Grayscale);
                }
            }
            "strip" => {
                if it.value.as_deref() != Some("0") {
                    b.output.strip_metadata = true;
                }
            }
            "size-limit" => b.output.size_limit = Some(size_limit(v).map_err(with)?),
            other => {
                return Err(DialectError::new(
                    ErrorKind::UnknownAction,
                    format!("unknown imageMogr2 operation `{other}`"),
                    frag,
                ))
            }
        }
    }
    Ok(())
}

/// Tencent's crop margins → the pipeline's origin offsets (see the module
/// doc): inward from the anchored edge, ignored on the centre axes.
fn crop_offsets(g: Gravity, dx: i32, dy: i32) -> (i32, i32) {
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
fn numbers(value: &str, n: usize) -> Result<Vec<u64>> {
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
fn sides(value: &str) -> Result<(Option<u32>, Option<u32>)> {
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

/// The geometries of dialects.md §2.3.
fn thumbnail_geometry(value: &str) -> Result<(Geometry, Enlarge)> {
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
fn apply_pad(geometry: Geometry, comp: &Companions) -> Result<Geometry> {
    let Some(pad) = comp.get("pad") else {
        return Ok(geometry);
    };
    if int_of(pad, 0, 1)? == 0 {
        return Ok(geometry);
    }
    let color = match comp.value("color") {
        None => Rgba::WHITE,
        Some((v, frag)) => {
            let Rgb(r, g, b) = b64_color(v).map_err(|e| e.with_fragment(frag))?;
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

/// A colour written as base64url of `#RRGGBB`.
fn b64_color(value: &str) -> Result<Rgb> {
    let text = b64url_decode_str(value)?;
    parse_hash_rrggbb(&text)
}

fn format(value: &str, fragment: &str) -> Result<Format> {
    Ok(match value {
        "jpg" | "yjpeg" => Format::Jpeg,
        "png" => Format::Png,
        "webp" => Format::Webp,
        "bmp" => Format::Bmp,
        "gif" => Format::Gif,
        "avif" => Format::Avif,
        "heif" => Format::Heic,
        "tpg" => {
            return Err(DialectError::not_implemented(
                "the TPG format is not implemented",
                fragment,
            ))
        }
        _ => {
            return Err(DialectError::invalid(
                format!(
                    "format must be jpg, png, webp, bmp, gif, yjpeg, avif or heif; got `{value}`"
                ),
                fragment,
            ))
        }
    })
}

/// `<n>k`, `<n>m`, optionally followed by `!`.
fn size_limit(value: &str) -> Result<SizeLimit> {
    let (body, bang) = match value.strip_suffix('!') {
        Some(b) => (b, true),
        None => (value, false),
    };
    let unit = match body.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => 1024u64,
        Some('m') => 1024 * 1024,
        _ => {
            return Err(DialectError::invalid(
                format!("size-limit must be <n>k or <n>m (optionally with `!`), got `{value}`"),
                value,
            ))
        }
    };
    let n = parse_int_in("size-limit", &body[..body.len() - 1], 1, 1_000_000)? as u64;
    Ok(SizeLimit {
        max_bytes: n * unit,
        source_if_not_smaller: bang,
    })
}

/// One `imageView2/<mode>/...` stage.
fn view2(rest: &str, stage: &str, b: &mut Build) -> Result<()> {
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
                let (digits, forced) = match v.strip_suffix('!') {
                    Some(d) => (d, true),
                    None => (v, false),
                };
                let q =
                    parse_int_in("q", digits, 0, 100).map_err(|e| e.with_fragment(&frag))? as u8;
                b.output.quality = Some(if forced {
                    Quality::Forced(q)
                } else {
                    Quality::Absolute(q)
                });
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
    if ops.is_empty() && list.is_empty() {
        return Err(DialectError::missing("imageView2 needs /w/ or /h/", stage));
    }
    // With only format/quality the template resizes nothing.
    b.ops.extend(ops);
    Ok(())
}

/// One `watermark/<kind>/...` stage.
fn watermark(rest: &str, stage: &str, b: &mut Build) -> Result<()> {
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
        &[
            "image", "gravity", "dx", "dy", "blogo", "scatype", "spcent", "dissolve", "batch",
            "degree",
        ]
    } else {
        &[
            "text", "font", "fontsize", "fill", "dissolve", "gravity", "dx", "dy", "batch",
            "degree", "shadow",
        ]
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
    let tile = match c.int("batch", 0, 1)? {
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
    };
    let (image, text) = if kind == "1" {
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
            (Some(_), None) => {
                return Err(DialectError::missing("`scatype` needs `spcent`", stage))
            }
            (None, Some(it)) => {
                return Err(DialectError::missing(
                    "`spcent` needs `scatype`",
                    it.fragment(),
                ))
            }
        };
        let image = WatermarkImage {
            key,
            preprocess: Vec::new(),
            scale,
            oversize,
        };
        (Some(image), None)
    } else {
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
            Some((v, frag)) => b64_color(v).map_err(|e| e.with_fragment(frag))?,
        };
        let shadow = c.int("shadow", 0, 100)?.unwrap_or(0) as u8;
        let text = WatermarkText {
            text,
            font,
            // Points at 96 dpi, rounded.
            size: (points * 4 + 1) / 3,
            color,
            shadow,
            rotate: 0,
        };
        (None, Some(text))
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

/// The object key named by a watermark image URL: `http://<host>/<key>`.
fn watermark_key(url: &str) -> Result<String> {
    let bad = |why: &str| DialectError::invalid(format!("watermark image URL {why}: `{url}`"), url);
    let rest = match url.get(..7) {
        Some(s) if s.eq_ignore_ascii_case("http://") => &url[7..],
        _ => return Err(bad("must start with http://")),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let path = rest.find('/').map_or("", |i| &rest[i + 1..]);
    let key = percent_decode(path)?;
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

/// A parsed `Pic-Operations` header (dialects.md §2.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicOperations {
    /// `is_pic_info: 1`: answer with the source's information too.
    pub is_pic_info: bool,
    /// At most [`MAX_RULES`]; empty when the header has no `rules`.
    pub rules: Vec<PicRule>,
}

/// One output object of a `Pic-Operations` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicRule {
    /// Target bucket; `None` = the source's bucket.
    pub bucket: Option<String>,
    /// The `fileid` as written; resolve it with [`resolve_fileid`].
    pub fileid: String,
    /// The `rule` text as written (echoed in responses, logs).
    pub rule: String,
    /// The parsed rule: a pipeline or a style to resolve.
    pub directive: Directive,
}

/// Parses a `Pic-Operations` header value.
pub fn parse_pic_operations(header_value: &str) -> Result<PicOperations> {
    pic_operations(header_value).map_err(tag)
}

fn pic_operations(header_value: &str) -> Result<PicOperations> {
    use serde_json::Value;
    let bad = |why: String| DialectError::bad_request(why, header_value);
    let json: Value = serde_json::from_str(header_value)
        .map_err(|e| bad(format!("Pic-Operations is not valid JSON: {e}")))?;
    let Value::Object(obj) = json else {
        return Err(bad("Pic-Operations must be a JSON object".into()));
    };
    let is_pic_info = match obj.get("is_pic_info") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(Value::String(s)) if s == "0" => false,
        Some(Value::String(s)) if s == "1" => true,
        Some(other) => {
            return Err(DialectError::invalid(
                format!("`is_pic_info` must be 0 or 1, got {other}"),
                other.to_string(),
            ))
        }
    };
    let rules = match obj.get("rules") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(DialectError::invalid(
                "`rules` must be an array",
                other.to_string(),
            ))
        }
    };
    if rules.len() > MAX_RULES {
        return Err(DialectError::new(
            ErrorKind::TooManyStages,
            format!("at most {MAX_RULES} rules are allowed, got {}", rules.len()),
            header_value,
        ));
    }
    let mut out = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let Value::Object(r) = rule else {
            return Err(DialectError::invalid(
                format!("rule {} must be an object", i + 1),
                rule.to_string(),
            ));
        };
        let string = |name: &str, required: bool| -> Result<Option<String>> {
            match r.get(name) {
                None | Some(Value::Null) if !required => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                None | Some(Value::Null) => Err(DialectError::missing(
                    format!("rule {} has no `{name}`", i + 1),
                    rule.to_string(),
                )),
                Some(other) => Err(DialectError::invalid(
                    format!("rule {}: `{name}` must be a non-empty string", i + 1),
                    other.to_string(),
                )),
            }
        };
        let fileid = string("fileid", true)?.unwrap_or_default();
        if fileid.ends_with('/') {
            return Err(DialectError::invalid(
                "`fileid` must not end with `/`",
                fileid,
            ));
        }
        let text = string("rule", true)?.unwrap_or_default();
        let bucket = string("bucket", false)?;
        let directive = processing(&text, true)?;
        out.push(PicRule {
            bucket,
            fileid,
            rule: text,
            directive,
        });
    }
    Ok(PicOperations {
        is_pic_info,
        rules: out,
    })
}

/// The object key a rule's `fileid` names, for a source stored at
/// `source_key`: a `fileid` starting with `/` is absolute in the bucket,
/// any other is relative to the source key's directory
/// (`/p1/test1.jpg` + `p2/test2.jpg` → `p1/p2/test2.jpg`). Keys are
/// returned without a leading `/`; `.`/`..` segments are refused rather
/// than resolved.
pub fn resolve_fileid(source_key: &str, fileid: &str) -> Result<String> {
    let bad = |why: &str| {
        DialectError::invalid(format!("fileid {why}: `{fileid}`"), fileid)
            .with_code(ERRNO_MALFORMED)
    };
    if fileid.is_empty() || fileid.ends_with('/') {
        return Err(bad("must name an object (not empty, not ending with `/`)"));
    }
    let key = match fileid.strip_prefix('/') {
        Some(abs) => abs.trim_start_matches('/').to_string(),
        None => {
            let source = source_key.trim_start_matches('/');
            let dir = source.rfind('/').map_or("", |i| &source[..=i]);
            format!("{dir}{fileid}")
        }
    };
    if key.is_empty() {
        return Err(bad("must name an object"));
    }
    if key.split('/').any(|s| s == "." || s == "..") {
        return Err(bad("must not contain `.` or `..` segments"));
    }
    Ok(key)
}
