//! Tencent Cloud COS / Cloud Infinite parser (`docs/cos-dialect.md`): the
//! value-less processing key of a GET (`?imageMogr2/...|watermark/1/...`),
//! style bodies, and the `Pic-Operations` header of upload-time and
//! in-cloud processing.
//!
//! This module holds the entry points, the query envelope and the stage
//! loop; each processor has its own module: `mogr` (`imageMogr2`, with the
//! thumbnail and crop geometry in `geometry`), `view2` (`imageView2`),
//! `watermark`, `json` (the information bodies) and `pic_operations` (the
//! header of upload-time and in-cloud processing).
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
//! * `cut` and `crop` past the image, `iradius`/`rradius` of half the short
//!   side or more, and either on a GIF are refused, as Tencent documents
//!   ([`imaging::Bounds::Refuse`]): the others clip and clamp.
//! * `cgif/1` keeps at most 30 frames, `cgif/n` at most n, both evenly
//!   spaced ([`imaging::FrameSelect::AtMost`]); the vendor's `cgif/1` keeps
//!   the first 30, a difference only for animations longer than 30 frames.
//! * `sharpen/v` (10–300) is an unsharp mask of σ = 1 px and amount v %.
//! * Watermark images: `http://` URLs only (vendor rule); the host is not
//!   checked (the parser does not know the bucket's domains), the path is
//!   the key in the source's bucket, a query on the URL is ignored. Font
//!   sizes are points at 96 dpi (px = round(pt × 4 / 3)).
//! * Errors carry `X-ErrNo` `-106` ("malformed URL", [`ERRNO_MALFORMED`])
//!   except not-implemented ones, which carry none.

mod geometry;
mod json;
mod mogr;
mod pic_operations;
mod stage;
mod view2;
mod watermark;

pub use json::{average_hue_json, exif_json, format_name, info_json};
pub use pic_operations::{parse_pic_operations, resolve_fileid, PicOperations, PicRule, MAX_RULES};

#[cfg(test)]
mod tests;

use crate::common::{self, percent_decode, raw_params};
use crate::error::{DialectError, ErrorKind, Result};
use crate::Directive;
use imaging::{Limits, OnLimitError, Op, Pipeline, Terminal};

/// What this dialect's parser sets on every pipeline.
const RULES: crate::HouseRules = crate::Dialect::Cos.house_rules();

/// `X-ErrNo` of a malformed processing request (`docs/cos-dialect.md`,
/// "Error codes").
pub const ERRNO_MALFORMED: &str = "-106";

/// Most stages joined by `|` (`docs/cos-dialect.md`, "Request forms").
pub const MAX_STAGES: usize = 10;

/// Most operations in one request, over all its stages. Tencent counts
/// only stages (≤ 10) and lets one `imageMogr2` stage repeat operations
/// without bound; this caps the total at OSS's documented 32 actions per
/// request (design; `docs/cos.md`, "Limits"), so a hostile URL cannot
/// queue a hundred blurs in one stage.
pub const MAX_OPS: usize = 32;

/// Largest width/height a geometry may name: the vendor's largest
/// documented side (50 000, strip page); the configurable output cap
/// (9 999 by default) is the executor's.
const MAX_SIDE: u32 = 50_000;

/// Tencent's processing limits (`docs/cos.md`, "Limits"): 32 MiB sources,
/// 30 000 px sides, 250 Mpx, output sides ≤ 9 999, GIF ≤ 300 frames. The
/// server's configuration may override each of them.
pub fn limits() -> Limits {
    Limits {
        max_source_bytes: 32 * 1024 * 1024,
        max_side: 30_000,
        max_pixels: 250_000_000,
        max_output_side: 9_999,
        max_frames: 300,
        max_rotate_side: None,
        max_output_pixels: imaging::DEFAULT_MAX_OUTPUT_PIXELS,
        max_work: imaging::budget::DEFAULT_MAX_WORK,
    }
}

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

/// `ci-process=snapshot&time=<s>[&width=&height=][&format=jpg|png]
/// [&rotate=auto|off][&mode=exactframe|keyframe]`: the frame at `time`
/// seconds (decimals allowed), scaled to width×height (0 or absent: from
/// the other side), JPEG by default, turned by the video's rotation unless
/// `rotate=off`, the exact frame unless `mode=keyframe`.
fn snapshot(raw_query: &str) -> Result<Pipeline> {
    let mut time = None;
    let (mut width, mut height) = (0, 0);
    let mut format = imaging::Format::Jpeg;
    let (mut auto_rotate, mut keyframe) = (true, false);
    for p in raw_params(raw_query) {
        let value = p.value.map(percent_decode).transpose()?.unwrap_or_default();
        let side = |v: &str| common::parse_u32_in(p.key, v, 0, common::SNAPSHOT_MAX_SIDE);
        match p.key {
            "time" => time = Some(common::parse_milli("time", &value, 0, u64::from(u32::MAX))?),
            "width" => width = side(&value)?,
            "height" => height = side(&value)?,
            "format" => format = common::choice(p.key, &value, p.raw, &common::SNAPSHOT_FORMATS)?,
            "rotate" => {
                auto_rotate =
                    common::choice(p.key, &value, p.raw, &[("auto", true), ("off", false)])?
            }
            "mode" => {
                keyframe = common::choice(
                    p.key,
                    &value,
                    p.raw,
                    &[("exactframe", false), ("keyframe", true)],
                )?
            }
            // The rest (ci-process itself, a signature...) is not ours.
            _ => {}
        }
    }
    let at_ms = time.ok_or_else(|| {
        DialectError::missing("snapshot: the `time` parameter is required", raw_query)
    })?;
    let frame = imaging::VideoFrame {
        at_ms: u64::from(at_ms),
        keyframe,
        auto_rotate,
    };
    Ok(common::snapshot_pipeline(frame, width, height, format))
}

fn query(raw_query: &str) -> Result<Directive> {
    let mut found: Option<String> = None;
    for p in raw_params(raw_query) {
        let key = percent_decode(p.key).unwrap_or_else(|_| p.key.to_string());
        if key == "ci-process" {
            let value = p.value.map(percent_decode).transpose()?;
            if value.as_deref() == Some("snapshot") {
                return snapshot(raw_query).map(Directive::Pipeline).map_err(tag);
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
        return style(name, &stages, text, allow_style);
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
        one_stage(stage, &mut b)?;
        if b.ops.len() > MAX_OPS {
            return Err(DialectError::new(
                ErrorKind::TooManyStages,
                format!(
                    "at most {MAX_OPS} operations are allowed in one request, got {} or more",
                    b.ops.len()
                ),
                stage,
            ));
        }
    }
    Ok(Directive::Pipeline(Pipeline {
        ops: b.ops,
        rounding: RULES.rounding,
        output: b.output,
        terminal: b.terminal,
        on_limit_error: b.on_limit_error,
        video: None,
        bounds: RULES.bounds,
    }))
}

/// `style/<name>`, which must stand alone (and not inside a style).
fn style(name: &str, stages: &[&str], text: &str, allow_style: bool) -> Result<Directive> {
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
    Ok(Directive::Style(name.to_string()))
}

/// One non-empty stage, handed to its processor.
fn one_stage(stage: &str, b: &mut Build) -> Result<()> {
    match stage {
        "imageInfo" => b.terminal = Some(Terminal::Info),
        "exif" => b.terminal = Some(Terminal::Exif),
        "imageAve" => b.terminal = Some(Terminal::AverageColor),
        _ => {
            if let Some(rest) = stage.strip_prefix("imageMogr2/") {
                mogr::mogr(rest, stage, b)?;
            } else if let Some(rest) = stage.strip_prefix("imageView2/") {
                view2::view2(rest, stage, b)?;
            } else if let Some(rest) = stage.strip_prefix("watermark/") {
                watermark::watermark(rest, stage, b)?;
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
    Ok(())
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
