//! The text of a US3 request (a query or a style's body) read into
//! `iopcmd=` stages: foreign parameters skipped, `|` pipes split, the
//! style forms (`iopstyle=`, the beta `iopcmd=<name>`) recognised
//! (`docs/us3-dialect.md`, "Request forms").

use super::commands::build;
use super::params::{Param, Params};
use super::MAX_STAGES;
use crate::common::{percent_decode, raw_params, RawParam};
use crate::error::{DialectError, ErrorKind, Result};
use crate::Directive;

/// Where the text comes from: a request's query (which may carry foreign
/// parameters and the style forms) or a style's stored body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Query,
    Style,
}

/// The commands (`docs/us3-dialect.md`, "Commands"), case-sensitive.
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
/// processing, whatever vendor wrote them (`docs/us3-dialect.md`,
/// "Request forms").
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

/// One `iopcmd=` stage.
#[derive(Debug)]
pub(super) struct Stage {
    pub(super) cmd: String,
    pub(super) raw_cmd: String,
    pub(super) params: Params,
}

/// Splits on `|` and on its percent-encoded form.
fn split_pipes(text: &str) -> Vec<String> {
    text.replace("%7C", "|")
        .replace("%7c", "|")
        .split('|')
        .map(str::to_string)
        .collect()
}

fn decode_param(raw: &RawParam<'_>) -> Result<Param> {
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

/// Parses a query (`origin` [`Origin::Query`]) or a style's body into a
/// pipeline or a style reference.
pub(super) fn parse_text(text: &str, origin: Origin) -> Result<Directive> {
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
        match read_stage(i, piece, origin, &mut style)? {
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
        return named_style(p, &stages);
    }
    if let Some(name) = beta_style_name(origin, &stages) {
        return Ok(Directive::Style(name));
    }
    build(stages).map(Directive::Pipeline)
}

/// Reads piece `i` (from 0) of the pipeline: its `iopcmd` and parameters,
/// or an `iopstyle` (stored in `style`).
fn read_stage(
    i: usize,
    piece: &str,
    origin: Origin,
    style: &mut Option<Param>,
) -> Result<Option<Stage>> {
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
                *style = Some(p);
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
    Ok(current)
}

/// `iopstyle=<name>`, which must stand alone.
fn named_style(p: Param, stages: &[Stage]) -> Result<Directive> {
    if !stages.is_empty() {
        return Err(DialectError::bad_request(
            "`iopstyle` cannot be combined with `iopcmd`",
            p.raw,
        ));
    }
    if p.value.is_empty() {
        return Err(DialectError::missing("`iopstyle` has no style name", p.raw));
    }
    Ok(Directive::Style(p.value))
}

/// The beta form `iopcmd=<styleName>`: a query's only stage, no parameter,
/// a value that is no command but looks like a style name.
fn beta_style_name(origin: Origin, stages: &[Stage]) -> Option<String> {
    let [s] = stages else {
        return None;
    };
    (origin == Origin::Query
        && !COMMANDS.contains(&s.cmd.as_str())
        && s.params.is_empty()
        && looks_like_style_name(&s.cmd))
    .then(|| s.cmd.clone())
}
