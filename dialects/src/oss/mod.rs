//! Alibaba Cloud OSS IMG (`x-oss-process`) → [`imaging::Pipeline`]
//! (`docs/oss-dialect.md`).
//!
//! Grammar: `image/<action>,<k>_<v>,.../<action>,...`, `style/<name>`, or
//! `video/snapshot,...` (501 here: there is no video decoder). Parameters
//! split at the FIRST `_` (base64 values contain `_`); key letters are
//! case-sensitive (`q` ≠ `Q`, `p` ≠ `P`).
//!
//! Vendor quirks applied here (the executor never sees them):
//! * `auto-orient,1` is hoisted to the front of the pipeline wherever it is
//!   written (`docs/oss-dialect.md`, "Actions"); `auto-orient,0` adds
//!   nothing.
//! * Alibaba makes an animated GIF static when it is reduced by `p_` or
//!   rotated (Alibaba's `resize` and `rotate` pages; `docs/oss-dialect.md`,
//!   "Actions"). Whether the source is animated is only known to the
//!   executor, so the parser emits `Op::Frames(First)` before the first
//!   such resize/rotate (a no-op on static sources by contract).
//! * `format`, `quality` and `interlace` are encoding options, applied once
//!   at the end whatever their position; the last one given wins.
//!   `format,gif` sets `only_if_source_animated` (a non-GIF source keeps its
//!   format) (`docs/oss-dialect.md`, "Actions": `format`).
//!
//! Decisions where the vendor is silent (also listed in `docs/oss-dialect.md`):
//! * Unknown parameters in an action are rejected (`InvalidArgument` naming
//!   them), as newer OSS does; a key given twice is rejected too, so one URL
//!   cannot mean two things.
//! * Empty steps (`//`, a trailing `/`) and empty parameters (`,,`, a
//!   trailing `,`) are skipped; a process with no action at all is
//!   `MissingArgument` (EC 0040-00000207).
//! * `resize`: with `m` and `w`/`h`, `l`/`s` are ignored (Alibaba's `resize`
//!   page); without `m`, `l`/`s` win over `w`/`h` (the reading that gives
//!   the documented rule its meaning). `fill`/`pad`/`fixed` with a single
//!   side use it for both ("with fixed width and height, the image is scaled
//!   assuming equal width and height", the 2019 manual). `mfit` with one
//!   side equals `lfit`. `p` with any of `w h l s` is refused. `limit_1` (default) also applies to `p`
//!   above 100. Zero or out-of-range `w`/`h`/`l`/`s` carry EC
//!   0040-00000321 (documented for `w_0,h_0`).
//! * `crop` `w_0`/`h_0` mean "to the edge" (the documented range starts at 0);
//!   sizes and offsets are bounded by 30 000 (the largest accepted source
//!   side). A bare `crop` is `MissingArgument`.
//! * `indexcrop`: both `x` and `y` are validated; when both are valid `y`
//!   wins (Alibaba's `indexcrop` page). Non-numbers carry EC 0040-00000224,
//!   zero/out-of-range EC 0040-00000230.
//! * `rotate,0` and `rotate,360` add no operation (and so no GIF freeze);
//!   an invalid angle carries EC 0040-00000217 (OSS error-center page).
//! * `sharpen,v` (50–399) → unsharp mask with sigma 1 px and amount v %
//!   (100, the recommended value, adds the full high-pass once).
//! * `blur,r_R,s_S` → Gaussian, kernel radius R, sigma S px.
//! * Every "required value absent" error (`image/format`, `blur` without
//!   `s_`, `watermark` without `image_`/`text_`) carries EC 0040-00000207.
//! * `info` must be the only action; `average-hue` must be the last one.
//! * A process string has at most [`MAX_STEPS`] actions (`TooManyStages`).
//! * Watermark image preprocessing accepts `resize` (plus `P_`), `crop`,
//!   `indexcrop`, `rounded-corners` and `rotate` ("scaling, cropping except
//!   incircle, rotation", Alibaba's `watermark` page); watermark images are
//!   never animated, so no GIF freeze is emitted there. At most 3 image watermarks per request.
//!   Preprocessing errors carry EC 0040-00000373 (OSS: "an image
//!   pre-processing parameter is invalid", e.g. a nested watermark) unless a
//!   more precise code applies.

mod json;
mod step;
mod watermark;

pub use json::{average_hue_json, format_name, info_json};

#[cfg(test)]
mod tests;

use imaging::{
    Axis, Blur, BlurKind, Crop, Enlarge, Format, FormatRequest, FrameSelect, Geometry, Gravity, Op,
    OutputOptions, Pipeline, Quality, Resize, Rgba, Terminal, VideoFrame,
};

use crate::common::{self, NumberFault};
use crate::error::{DialectError, ErrorKind, Result};
use crate::Directive;
use step::Step;

/// What this dialect's parser sets on every pipeline.
const RULES: crate::HouseRules = crate::Dialect::Oss.house_rules();

/// EC of "an action with a required value missing" (`image/format`).
pub const EC_MISSING_VALUE: &str = "0040-00000207";
/// EC of an invalid gravity name (`g_NW`).
pub const EC_BAD_GRAVITY: &str = "0040-00000209";
/// EC of an unknown action (`image/slim,1`).
pub const EC_UNKNOWN_ACTION: &str = "0040-00000213";
/// EC of an invalid `rotate` value (`rotate,abc`, `rotate,400`).
pub const EC_ROTATE: &str = "0040-00000217";
/// EC of an invalid watermark-image preprocessing (e.g. a nested watermark).
pub const EC_PREPROCESS: &str = "0040-00000373";
/// EC of a non-numeric indexcrop value (`y_abc`).
pub const EC_INDEX_NOT_NUMBER: &str = "0040-00000224";
/// EC of an out-of-range indexcrop length (`x_0`).
pub const EC_INDEX_RANGE: &str = "0040-00000230";
/// EC of an unknown resize mode (`m_foo`).
pub const EC_RESIZE_MODE: &str = "0040-00000311";
/// EC of a zero/out-of-range resize size (`w_0,h_0`).
pub const EC_RESIZE_SIZE: &str = "0040-00000321";

/// Most actions accepted in one process string (a request of thousands of
/// `rotate,90` steps would otherwise cost thousands of full-image passes).
pub const MAX_STEPS: usize = 32;
/// Most image watermarks in one request (`docs/oss-dialect.md`, "Actions":
/// `watermark`).
pub const MAX_IMAGE_WATERMARKS: usize = 3;
/// Bound of crop sizes/offsets and strip lengths: the largest source side
/// OSS accepts (`docs/oss.md`, "Limits": `max_side`).
const MAX_SIDE: u32 = 30_000;
/// Bound of resize targets (current OSS, `docs/oss-dialect.md`, "Actions":
/// `resize`; the 2019 manual said 4096).
const MAX_RESIZE: u32 = 16_384;

/// Every action name of `image/...`, for telling "unknown" from "not
/// allowed here".
const IMAGE_ACTIONS: [&str; 17] = [
    "resize",
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
    "format",
    "quality",
    "interlace",
    "watermark",
    "info",
    "average-hue",
];

/// Alibaba's processing limits (`docs/oss.md`, "Limits"): 20 MiB sources,
/// 30 000 px sides, 250 Mpx, output sides ≤ 16 384, 1 000 frames, and no
/// arbitrary-angle rotation of sources over 4 096 px. The server's
/// configuration may override each of them.
pub fn limits() -> imaging::Limits {
    imaging::Limits {
        max_source_bytes: 20 * 1024 * 1024,
        max_side: 30_000,
        max_pixels: 250_000_000,
        max_output_side: 16_384,
        max_frames: 1000,
        max_rotate_side: Some(4096),
        max_output_pixels: imaging::DEFAULT_MAX_OUTPUT_PIXELS,
        max_work: imaging::budget::DEFAULT_MAX_WORK,
    }
}

/// Parses the `x-oss-process` parameter of a GET's raw (undecoded) query;
/// other parameters (signatures, `versionId`...) are ignored.
pub fn parse_query(raw_query: &str) -> Result<Directive> {
    let mut found = None;
    for p in common::raw_params(raw_query) {
        if common::decoded_key(&p) != "x-oss-process" {
            continue;
        }
        if found.is_some() {
            return Err(DialectError::invalid(
                "x-oss-process is given more than once",
                p.raw,
            ));
        }
        found = Some(p);
    }
    let Some(param) = found else {
        return Err(
            DialectError::missing("the query has no x-oss-process parameter", raw_query)
                .with_code(EC_MISSING_VALUE),
        );
    };
    let process = common::percent_decode(param.value.unwrap_or_default())?;
    parse_process(&process)
}

/// Parses a GET process string (already percent-decoded): `image/...`,
/// `style/<name>` or `video/...`. `sys/saveas` is refused here: it is only
/// valid in a POST body ([`parse_saveas`]).
pub fn parse_process(process: &str) -> Result<Directive> {
    if let Some((_, after)) = process.split_once('|') {
        let msg = if after.trim_start().starts_with("sys/saveas") {
            "sys/saveas is only allowed in the body of a POST request"
        } else {
            "`|` pipes are only allowed in the body of a POST request"
        };
        return Err(DialectError::bad_request(msg, process));
    }
    parse_chain_head(process)
}

/// Parses a stored style's content: an `image/...` process string.
pub fn parse_style(content: &str) -> Result<Pipeline> {
    match parse_process(content.trim())? {
        Directive::Pipeline(p) => Ok(p),
        Directive::Style(name) => Err(DialectError::invalid(
            format!("a style cannot refer to another style (`style/{name}`)"),
            content,
        )),
    }
}

/// Checks an OSS style name: 1–63 characters of `[A-Za-z0-9_.-]`
/// (`docs/oss.md`, "Styles, separators and source protection").
pub fn validate_style_name(name: &str) -> Result<()> {
    let ok = (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(DialectError::invalid(
            format!("invalid style name `{name}`: 1–63 characters of A–Z a–z 0–9 _ . -"),
            name,
        ))
    }
}

/// Checks an OSS object key: 1–1023 bytes of UTF-8, not starting with `/`
/// or `\`, no control characters.
pub fn validate_object_key(key: &str) -> Result<()> {
    let problem = if key.is_empty() {
        Some("is empty")
    } else if key.len() > 1023 {
        Some("is longer than 1023 bytes")
    } else if key.starts_with('/') || key.starts_with('\\') {
        Some("starts with `/` or `\\`")
    } else if key.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    };
    match problem {
        Some(p) => Err(DialectError::invalid(
            format!("object name `{key}` {p}"),
            key,
        )),
        None => Ok(()),
    }
}

/// Checks an OSS bucket name: 3–63 bytes of lower-case letters, digits and
/// `-`, starting and ending with a letter or digit.
pub fn validate_bucket_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && b.first().is_some_and(|c| *c != b'-')
        && b.last().is_some_and(|c| *c != b'-');
    if ok {
        Ok(())
    } else {
        Err(DialectError::invalid(
            format!(
                "invalid bucket name `{name}`: 3–63 characters of a–z 0–9 -, \
                 starting and ending with a letter or digit"
            ),
            name,
        ))
    }
}

/// A persistent-processing request: the POST body
/// `x-oss-process=<chain>|sys/saveas,o_<b64 key>[,b_<b64 bucket>]`
/// (`docs/oss.md`, "Saving a result (`sys/saveas`)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveAs {
    /// What to apply before saving: a pipeline or a style to resolve.
    pub process: Directive,
    /// Target object key (decoded, validated).
    pub object: String,
    /// Target bucket (decoded, validated); `None` = the source's bucket.
    pub bucket: Option<String>,
}

/// Parses the body of `POST /<key>?x-oss-process`.
///
/// The body is `x-oss-process=<process>|sys/saveas,...`; it may be
/// percent-encoded (form encoding) and end with whitespace. `+` is kept as
/// is: form encoders write spaces as `+`, but no valid process contains a
/// space, while standard-alphabet base64 contains `+`.
pub fn parse_saveas(body: &str) -> Result<SaveAs> {
    let body = body.trim();
    let value = common::raw_params(body)
        .into_iter()
        .find(|p| common::decoded_key(p) == "x-oss-process")
        .and_then(|p| p.value)
        .ok_or_else(|| {
            DialectError::missing("the body has no `x-oss-process=` field", body)
                .with_code(EC_MISSING_VALUE)
        })?;
    let chain = common::percent_decode(value)?;
    let mut stages = chain.split('|');
    let head = stages.next().unwrap_or_default().trim();
    if head.is_empty() || head.starts_with("sys/") {
        return Err(
            DialectError::missing("no image process before sys/saveas", chain.as_str())
                .with_code(EC_MISSING_VALUE),
        );
    }
    let process = parse_chain_head(head)?;
    let mut target = None;
    for stage in stages.map(str::trim).filter(|s| !s.is_empty()) {
        let Some(rest) = stage.strip_prefix("sys/") else {
            return Err(DialectError::invalid(
                format!("unexpected pipe stage `{stage}`; expected sys/saveas"),
                stage,
            ));
        };
        let step = Step::parse(rest)?;
        if step.action != "saveas" {
            return Err(DialectError::invalid(
                format!("unknown sys action `{}`; expected saveas", step.action),
                stage,
            )
            .with_code(EC_UNKNOWN_ACTION));
        }
        if target.is_some() {
            return Err(DialectError::invalid(
                "sys/saveas is given more than once",
                stage,
            ));
        }
        step.expect_keys(&["o", "b"])?;
        let o = step.required("o")?;
        let object = common::b64url_decode_str(o.value).map_err(|e| e.with_fragment(o.raw))?;
        validate_object_key(&object).map_err(|e| e.with_fragment(o.raw))?;
        let bucket = match step.get("b") {
            Some(b) => {
                let name =
                    common::b64url_decode_str(b.value).map_err(|e| e.with_fragment(b.raw))?;
                validate_bucket_name(&name).map_err(|e| e.with_fragment(b.raw))?;
                Some(name)
            }
            None => None,
        };
        target = Some((object, bucket));
    }
    let (object, bucket) = target.ok_or_else(|| {
        DialectError::missing("the body has no sys/saveas stage", chain.as_str())
            .with_code(EC_MISSING_VALUE)
    })?;
    Ok(SaveAs {
        process,
        object,
        bucket,
    })
}

/// `snapshot,t_<ms>[,w_<px>][,h_<px>][,m_fast][,f_jpg|png][,ar_auto]`: the
/// frame at t ms (the key frame before it with `m_fast`), scaled to w×h
/// (0 or absent: from the other side; both 0: the video's size), as JPEG
/// (default) or PNG, turned by the video's rotation only with `ar_auto`.
fn parse_snapshot(body: &str) -> Result<Pipeline> {
    let step = Step::parse(body)?;
    step.expect_keys(&["t", "w", "h", "m", "f", "ar"])?;
    let t = step.required("t")?;
    let at_ms = u64::try_from(step.int(t, 0, i64::from(u32::MAX))?).unwrap_or(0);
    let width = step.uint_or("w", 0, common::SNAPSHOT_MAX_SIDE, 0)?;
    let height = step.uint_or("h", 0, common::SNAPSHOT_MAX_SIDE, 0)?;
    // Each optional parameter, by its one or few values.
    let pick = |key: &str, choices: &[(&str, bool)]| match step.get(key) {
        None => Ok(false),
        Some(p) => common::choice(key, p.value, p.raw, choices),
    };
    let keyframe = pick("m", &[("fast", true)])?;
    let auto_rotate = pick("ar", &[("auto", true)])?;
    let format = match step.get("f") {
        None => Format::Jpeg,
        Some(p) => common::choice("f", p.value, p.raw, &common::SNAPSHOT_FORMATS)?,
    };
    let frame = VideoFrame {
        at_ms,
        keyframe,
        auto_rotate,
    };
    Ok(common::snapshot_pipeline(frame, width, height, format))
}

/// `image/...`, `style/...` or `video/...` without pipes.
fn parse_chain_head(process: &str) -> Result<Directive> {
    let (kind, body) = process.split_once('/').unwrap_or((process, ""));
    match kind {
        "image" => parse_image(body).map(Directive::Pipeline),
        "style" => {
            validate_style_name(body).map_err(|e| e.with_fragment(process))?;
            Ok(Directive::Style(body.to_string()))
        }
        "video" => {
            let action = body.split([',', '/']).next().unwrap_or_default();
            if action == "snapshot" {
                parse_snapshot(body)
                    .map(Directive::Pipeline)
                    .map_err(|e| e.with_fragment(process))
            } else {
                Err(
                    DialectError::invalid(format!("unknown video action `{action}`"), process)
                        .with_code(EC_UNKNOWN_ACTION),
                )
            }
        }
        "" => Err(
            DialectError::missing("the process string is empty", process)
                .with_code(EC_MISSING_VALUE),
        ),
        other => Err(DialectError::invalid(
            format!("unknown process kind `{other}`; expected image, style or video"),
            process,
        )),
    }
}

/// The steps of an `image/` body, empty ones skipped, bounded in number.
fn split_steps(body: &str) -> Result<Vec<&str>> {
    let steps: Vec<&str> = body.split('/').filter(|s| !s.is_empty()).collect();
    if steps.is_empty() {
        // An empty body has nothing to show; name the kind instead.
        let fragment = if body.is_empty() { "image" } else { body };
        return Err(
            DialectError::missing("no action after `image/`", fragment).with_code(EC_MISSING_VALUE)
        );
    }
    if steps.len() > MAX_STEPS {
        return Err(DialectError::new(
            ErrorKind::TooManyStages,
            format!(
                "{} actions in one request; at most {MAX_STEPS}",
                steps.len()
            ),
            body,
        ));
    }
    Ok(steps)
}

fn unknown_action(step: &Step<'_>) -> DialectError {
    DialectError::invalid(format!("unknown action `{}`", step.action), step.raw)
        .with_code(EC_UNKNOWN_ACTION)
}

/// Appends `Frames(First)` unless one is already in `ops`: Alibaba's
/// "reducing a GIF by `p` or rotating it makes it static".
fn freeze_animation(ops: &mut Vec<Op>) {
    if !ops.contains(&Op::Frames(FrameSelect::First)) {
        ops.push(Op::Frames(FrameSelect::First));
    }
}

/// The body of `image/...`.
fn parse_image(body: &str) -> Result<Pipeline> {
    let steps = split_steps(body)?;
    let mut ops = Vec::new();
    let mut auto_orient = false;
    let mut output = OutputOptions::default();
    let mut terminal: Option<(Terminal, &str)> = None;
    let mut image_watermarks = 0;

    for (index, raw) in steps.iter().copied().enumerate() {
        let step = Step::parse(raw)?;
        if step.action == "sys" {
            return Err(DialectError::bad_request(
                "sys/saveas is only allowed in the body of a POST request",
                raw,
            ));
        }
        if let Some((_, t)) = terminal {
            return Err(DialectError::invalid(
                format!(
                    "`{t}` must be the last action; `{}` follows it",
                    step.action
                ),
                raw,
            ));
        }
        match step.action {
            "resize" => {
                let r = parse_resize(&step, false)?;
                if let Some(resize) = r.resize {
                    if r.by_percent {
                        freeze_animation(&mut ops);
                    }
                    ops.push(Op::Resize(resize));
                }
            }
            "crop" => ops.push(Op::Crop(parse_crop(&step)?)),
            "indexcrop" => ops.push(parse_indexcrop(&step)?),
            "circle" => {
                step.expect_keys(&["r"])?;
                let radius = step.uint(step.required("r")?, 1, 4096)?;
                ops.push(Op::Circle {
                    radius,
                    bbox: RULES.circle_box,
                });
            }
            "rounded-corners" => ops.push(parse_rounded_corners(&step)?),
            "rotate" => {
                if let Some(op) = parse_rotate(&step)? {
                    freeze_animation(&mut ops);
                    ops.push(op);
                }
            }
            "auto-orient" => {
                let v = match step.positional_value()? {
                    Some(v) => step.positional_int(v, 0, 1)?,
                    None => 1,
                };
                auto_orient |= v == 1;
            }
            "bright" => {
                let v = step.required_positional()?;
                ops.push(Op::Bright(int32(&step, v, -100, 100)?));
            }
            "contrast" => {
                let v = step.required_positional()?;
                ops.push(Op::Contrast(int32(&step, v, -100, 100)?));
            }
            "sharpen" => {
                let v = step.required_positional()?;
                let amount = step.positional_int(v, 50, 399)?;
                ops.push(Op::Sharpen {
                    sigma_milli: 1000,
                    amount_percent: u32::try_from(amount).unwrap_or(100),
                });
            }
            "blur" => {
                step.expect_keys(&["r", "s"])?;
                let radius = step.uint(step.required("r")?, 1, 50)?;
                let sigma = step.uint(step.required("s")?, 1, 50)?;
                ops.push(Op::Blur(Blur {
                    radius,
                    sigma_milli: sigma * 1000,
                    kind: BlurKind::Gaussian,
                    region: None,
                }));
            }
            "format" => output.format = Some(parse_format(&step)?),
            "quality" => output.quality = Some(parse_quality(&step)?),
            "interlace" => {
                let v = step.required_positional()?;
                output.progressive = step.positional_int(v, 0, 1)? == 1;
                output.interlace_named = true;
            }
            "watermark" => {
                let w = watermark::parse(&step)?;
                if w.image.is_some() {
                    image_watermarks += 1;
                    if image_watermarks > MAX_IMAGE_WATERMARKS {
                        return Err(DialectError::invalid(
                            format!("at most {MAX_IMAGE_WATERMARKS} image watermarks per request"),
                            raw,
                        ));
                    }
                }
                ops.push(Op::Watermark(w));
            }
            "info" => {
                step.expect_keys(&[])?;
                if steps.len() > 1 {
                    let others: Vec<String> = steps
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != index)
                        .map(|(_, s)| s)
                        .map(|s| format!("`{}`", s.split(',').next().unwrap_or_default()))
                        .collect();
                    return Err(DialectError::invalid(
                        format!(
                            "info cannot be combined with other actions ({})",
                            others.join(", ")
                        ),
                        body,
                    ));
                }
                terminal = Some((Terminal::Info, "info"));
            }
            "average-hue" => {
                step.expect_keys(&[])?;
                terminal = Some((Terminal::AverageColor, "average-hue"));
            }
            _ => return Err(unknown_action(&step)),
        }
    }
    if auto_orient {
        // Hoisted: EXIF orientation is applied before any resize (Alibaba's
        // `auto-orient` page).
        ops.insert(0, Op::AutoOrient);
    }
    Ok(Pipeline {
        ops,
        rounding: RULES.rounding,
        output,
        terminal: terminal.map(|(t, _)| t),
        on_limit_error: Default::default(),
        video: None,
        bounds: RULES.bounds,
    })
}

/// The operations of a watermark image's own `image/...` process, and its
/// `P_` (percent of the main image's width).
pub(crate) fn parse_preprocess(body: &str) -> Result<(Vec<Op>, Option<u32>)> {
    let steps = split_steps(body)?;
    let mut ops = Vec::new();
    let mut percent = None;
    for raw in steps {
        let step = Step::parse(raw)?;
        match step.action {
            "resize" => {
                let r = parse_resize(&step, true)?;
                if let Some(p) = r.percent_of_main {
                    if percent.is_some() {
                        return Err(DialectError::invalid(
                            "watermark preprocessing: `P` is given more than once",
                            raw,
                        ));
                    }
                    percent = Some(p);
                }
                ops.extend(r.resize.map(Op::Resize));
            }
            "crop" => ops.push(Op::Crop(parse_crop(&step)?)),
            "indexcrop" => ops.push(parse_indexcrop(&step)?),
            "rounded-corners" => ops.push(parse_rounded_corners(&step)?),
            "rotate" => ops.extend(parse_rotate(&step)?),
            a if IMAGE_ACTIONS.contains(&a) => {
                return Err(DialectError::invalid(
                    format!(
                        "`{a}` is not allowed in a watermark image's preprocessing \
                         (resize, crop, indexcrop, rounded-corners, rotate)"
                    ),
                    raw,
                ))
            }
            _ => return Err(unknown_action(&step)),
        }
    }
    Ok((ops, percent))
}

fn int32(step: &Step<'_>, v: &str, min: i32, max: i32) -> Result<i32> {
    let n = step.positional_int(v, i64::from(min), i64::from(max))?;
    i32::try_from(n).map_err(|_| DialectError::invalid("value out of range", step.raw))
}

/// What a `resize` step yields.
struct ResizeStep {
    resize: Option<Resize>,
    /// Scaled by `p`: makes an animated GIF static.
    by_percent: bool,
    /// `P_` (watermark preprocessing only).
    percent_of_main: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lfit,
    Mfit,
    Fill,
    Pad,
    Fixed,
}

fn parse_resize(step: &Step<'_>, preprocess: bool) -> Result<ResizeStep> {
    const KEYS: [&str; 8] = ["m", "w", "h", "l", "s", "limit", "color", "p"];
    const KEYS_P: [&str; 9] = ["m", "w", "h", "l", "s", "limit", "color", "p", "P"];
    step.expect_keys(if preprocess { &KEYS_P } else { &KEYS })?;

    let mode = match step.get("m") {
        None => None,
        Some(m) => Some(match m.value {
            "lfit" => Mode::Lfit,
            "mfit" => Mode::Mfit,
            "fill" => Mode::Fill,
            "pad" => Mode::Pad,
            "fixed" => Mode::Fixed,
            other => {
                return Err(DialectError::invalid(
                    format!(
                        "resize: unknown mode `{other}`; expected lfit, mfit, fill, pad or fixed"
                    ),
                    m.raw,
                )
                .with_code(EC_RESIZE_MODE))
            }
        }),
    };
    let size = |key: &str| -> Result<Option<u32>> {
        step.get(key)
            .map(|p| {
                step.uint(p, 1, MAX_RESIZE)
                    .map_err(|e| e.with_code(EC_RESIZE_SIZE))
            })
            .transpose()
    };
    let (w, h, l, s) = (size("w")?, size("h")?, size("l")?, size("s")?);
    let enlarge = if step.uint_or("limit", 0, 1, 1)? == 1 {
        Enlarge::Never
    } else {
        Enlarge::Allow
    };
    let color = match step.get("color") {
        Some(c) => {
            let rgb = common::parse_rrggbb(c.value).map_err(|e| {
                DialectError {
                    message: format!("resize: {}", e.message),
                    ..e
                }
                .with_fragment(c.raw)
            })?;
            Rgba(rgb.0, rgb.1, rgb.2, 255)
        }
        None => Rgba::WHITE,
    };
    let p = step.get("p").map(|p| step.uint(p, 1, 1000)).transpose()?;
    let percent_of_main = step.get("P").map(|p| step.uint(p, 1, 100)).transpose()?;

    let has_wh = w.is_some() || h.is_some();
    let has_ls = l.is_some() || s.is_some();
    let geometry = if let Some(p) = p {
        if has_wh || has_ls {
            return Err(DialectError::invalid(
                "resize: `p` cannot be combined with `w`, `h`, `l` or `s`",
                step.raw,
            ));
        }
        Some(Geometry::Scale {
            x_permille: Some(p * 10),
            y_permille: Some(p * 10),
        })
    } else if has_wh && (mode.is_some() || !has_ls) {
        // With `m`, `l`/`s` are ignored (Alibaba's `resize` page).
        let square = |a: Option<u32>, b: Option<u32>| a.or(b).unwrap_or(1);
        let (sw, sh) = (square(w, h), square(h, w));
        Some(match mode.unwrap_or(Mode::Lfit) {
            Mode::Lfit => Geometry::Fit {
                width: w,
                height: h,
            },
            Mode::Mfit => match (w, h) {
                (Some(width), Some(height)) => Geometry::Cover { width, height },
                // One side: the smallest image covering it is the fit.
                _ => Geometry::Fit {
                    width: w,
                    height: h,
                },
            },
            Mode::Fill => Geometry::Fill {
                width: sw,
                height: sh,
            },
            Mode::Pad => Geometry::Pad {
                width: sw,
                height: sh,
                color,
            },
            Mode::Fixed => Geometry::Stretch {
                width: sw,
                height: sh,
            },
        })
    } else if has_ls {
        Some(Geometry::LongShort { long: l, short: s })
    } else if percent_of_main.is_some() {
        None
    } else {
        return Err(DialectError::missing(
            "resize: one of `w`, `h`, `l`, `s` or `p` is required",
            step.raw,
        )
        .with_code(EC_MISSING_VALUE));
    };
    Ok(ResizeStep {
        resize: geometry.map(|geometry| Resize { geometry, enlarge }),
        by_percent: p.is_some(),
        percent_of_main,
    })
}

fn parse_gravity(step: &Step<'_>, key: &str, default: Gravity) -> Result<Gravity> {
    match step.get(key) {
        None => Ok(default),
        Some(g) => common::gravity_alibaba(g.value).ok_or_else(|| {
            DialectError::invalid(
                format!(
                    "{}: invalid gravity `{}`; expected nw, north, ne, west, center, east, sw, south or se",
                    step.action, g.value
                ),
                g.raw,
            )
            .with_code(EC_BAD_GRAVITY)
        }),
    }
}

fn parse_crop(step: &Step<'_>) -> Result<Crop> {
    step.expect_keys(&["x", "y", "w", "h", "g"])?;
    if step.params.is_empty() {
        return Err(DialectError::missing(
            "crop: at least one of w, h, x, y, g is required",
            step.raw,
        )
        .with_code(EC_MISSING_VALUE));
    }
    // 0 = "to the edge", like the default.
    let side = |key: &str| -> Result<Option<u32>> {
        Ok(step
            .get(key)
            .map(|p| step.uint(p, 0, MAX_SIDE))
            .transpose()?
            .filter(|v| *v > 0))
    };
    let offset = |key: &str| -> Result<i32> {
        let v = step.uint_or(key, 0, MAX_SIDE, 0)?;
        Ok(i32::try_from(v).unwrap_or(i32::MAX))
    };
    Ok(Crop {
        width: side("w")?,
        height: side("h")?,
        gravity: parse_gravity(step, "g", Gravity::NorthWest)?,
        dx: offset("x")?,
        dy: offset("y")?,
    })
}

fn parse_indexcrop(step: &Step<'_>) -> Result<Op> {
    step.expect_keys(&["x", "y", "i"])?;
    let read = |key: &str, min: i64, max: i64| -> Result<Option<u32>> {
        let Some(p) = step.get(key) else {
            return Ok(None);
        };
        match step.int_detail(p, min, max) {
            Ok(n) => Ok(u32::try_from(n).ok()),
            Err((e, NumberFault::NotANumber)) => Err(e.with_code(EC_INDEX_NOT_NUMBER)),
            Err((e, NumberFault::OutOfRange)) => Err(e.with_code(EC_INDEX_RANGE)),
        }
    };
    let x = read("x", 1, i64::from(MAX_SIDE))?;
    let y = read("y", 1, i64::from(MAX_SIDE))?;
    let index = read("i", 0, i64::from(u32::MAX))?.unwrap_or(0);
    // Both valid: `y` wins (`docs/oss-dialect.md`, "Actions": `indexcrop`).
    let (axis, length) = match (x, y) {
        (_, Some(len)) => (Axis::Y, len),
        (Some(len), None) => (Axis::X, len),
        (None, None) => {
            return Err(
                DialectError::missing("indexcrop: `x` or `y` is required", step.raw)
                    .with_code(EC_MISSING_VALUE),
            )
        }
    };
    Ok(Op::IndexCrop {
        axis,
        length,
        index,
    })
}

fn parse_rounded_corners(step: &Step<'_>) -> Result<Op> {
    step.expect_keys(&["r"])?;
    let radius = step.uint(step.required("r")?, 1, 4096)?;
    Ok(Op::RoundedCorners { radius })
}

/// `rotate,<0–360>`; bare `rotate` is 0. 0 and 360 rotate nothing → `None`.
fn parse_rotate(step: &Step<'_>) -> Result<Option<Op>> {
    let degrees = match step.positional_value().map_err(|e| e.or_code(EC_ROTATE))? {
        Some(v) => step
            .positional_int(v, 0, 360)
            .map_err(|e| e.with_code(EC_ROTATE))?,
        None => 0,
    };
    let degrees = u32::try_from(degrees % 360).unwrap_or(0);
    Ok((degrees != 0).then_some(Op::Rotate { degrees }))
}

fn parse_format(step: &Step<'_>) -> Result<FormatRequest> {
    let v = step.required_positional()?;
    let format = match v {
        "jpg" | "jpeg" => Format::Jpeg,
        "png" => Format::Png,
        "webp" => Format::Webp,
        "bmp" => Format::Bmp,
        "gif" => Format::Gif,
        "tiff" => Format::Tiff,
        "heic" => Format::Heic,
        "avif" => Format::Avif,
        other => {
            return Err(DialectError::invalid(
                format!(
                    "format: unknown format `{other}`; expected jpg, png, webp, bmp, gif, tiff, heic or avif"
                ),
                step.raw,
            ))
        }
    };
    Ok(FormatRequest {
        format,
        only_if_source_animated: format == Format::Gif,
    })
}

fn parse_quality(step: &Step<'_>) -> Result<Quality> {
    step.expect_keys(&["q", "Q"])?;
    let q = step.get("q").map(|p| step.uint(p, 1, 100)).transpose()?;
    let big_q = step.get("Q").map(|p| step.uint(p, 1, 100)).transpose()?;
    // Both given → `Q` wins (Alibaba's `quality` page).
    let to_u8 = |v: u32| u8::try_from(v).unwrap_or(100);
    match (q, big_q) {
        (_, Some(v)) => Ok(Quality::Absolute(to_u8(v))),
        (Some(v), None) => Ok(Quality::Relative(to_u8(v))),
        (None, None) => Err(
            DialectError::missing("quality: `q` or `Q` is required", step.raw)
                .with_code(EC_MISSING_VALUE),
        ),
    }
}
