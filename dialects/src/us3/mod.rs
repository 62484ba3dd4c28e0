//! UCloud US3 (`iopcmd`) parser (`docs/us3-dialect.md`).
//!
//! A request is a pipeline of stages joined by `|` (raw or `%7C`), each
//! stage an `iopcmd=<command>` followed by its own `&k=v` parameters:
//! `?iopcmd=rotate&degree=180|iopcmd=thumbnail&type=1&scale=40`.
//!
//! This module holds the entry points; `request` reads the query or style
//! text into stages, `params` holds a stage's parameters, `commands` turns
//! the stages into a pipeline, with `thumbnail`, `watermark` and `color`
//! (US3 colour values) in modules of their own and `json` rendering the
//! information bodies.
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
//! * Thumbnail types map onto [`imaging::Geometry`] variants whose executor semantics
//!   give the sizes of the vendor's 400×300 table under
//!   [`imaging::Rounding::Truncate`]; type 12's "canvas must exceed the source" needs
//!   the source size, so the executor checks it.
//! * `gifmode`: 2 (first frame only) → [`imaging::FrameSelect::First`]; 1 and 3–6
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
//! * Every error carries US3 `RetCode` `-1` ([`RET_CODE`];
//!   `docs/us3-dialect.md`, "Error codes").

mod color;
mod commands;
mod json;
mod params;
mod request;
mod thumbnail;
mod watermark;

pub use json::{average_hue_json, exif_json, format_name, info_json};

#[cfg(test)]
mod tests;

use crate::error::{DialectError, Result};
use crate::Directive;
use imaging::{Limits, Pipeline};
use request::{parse_text, Origin};

/// What this dialect's parser sets on every pipeline.
const RULES: crate::HouseRules = crate::Dialect::Us3.house_rules();

/// The `RetCode` of every US3 processing error: UCloud publishes no codes
/// for image processing, so parameter errors use `-1`
/// (`docs/us3-dialect.md`, "Error codes").
pub const RET_CODE: &str = "-1";

/// Most stages accepted in one request. US3 documents no limit; this keeps
/// a hostile URL from queuing unbounded work (design).
pub const MAX_STAGES: usize = 20;

/// UCloud's processing limits (`docs/us3.md`, "Limits"): 32 MiB and
/// 10 000 × 10 000 px sources, 100 Mpx, output sides ≤ 10 000, 1 000
/// frames. The server's configuration may override each of them.
pub fn limits() -> Limits {
    Limits {
        max_source_bytes: 32 * 1024 * 1024,
        max_side: 10_000,
        max_pixels: 100_000_000,
        max_output_side: 10_000,
        max_frames: 1000,
        max_rotate_side: None,
        max_output_pixels: imaging::DEFAULT_MAX_OUTPUT_PIXELS,
        max_work: imaging::budget::DEFAULT_MAX_WORK,
    }
}

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
