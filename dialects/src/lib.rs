//! Parsers for the vendors' image-processing syntaxes: Alibaba OSS
//! (`x-oss-process`), Tencent COS/CI (`imageMogr2`, ...) and UCloud US3
//! (`iopcmd`). Each turns a request into the engine's typed
//! [`imaging::Pipeline`] (or a style reference to resolve first);
//! [`spell()`] is their inverse, writing a pipeline in a chosen dialect
//! where it can be written there with the same effect.
//!
//! Architecture Invariant: nothing here touches pixels, HTTP or storage.
//! Vendor quirks (Alibaba auto-orient hoisting, UCloud bright ±100, ...) are
//! applied here so the executor only sees normalised operations; errors
//! carry the vendor's code as data and the HTTP layer renders the envelope.

// Tests unwrap freely: a panic there is a test failure, which is the point.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod common;
pub mod cos;
pub mod error;
pub mod oss;
pub mod spell;
#[cfg(test)]
mod testing;
pub mod us3;

pub use error::{DialectError, ErrorKind};
pub use spell::spell;

use common::{decoded_key, raw_params};

/// The three dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Alibaba Cloud OSS IMG (`x-oss-process`).
    Oss,
    /// Tencent Cloud COS / Cloud Infinite (`imageMogr2`, `imageView2`, ...).
    Cos,
    /// UCloud US3 (`iopcmd`, `iopstyle`).
    Us3,
}

/// The rules a dialect's parser sets on every pipeline it makes, which no
/// request can change: how fractional sizes round, what crops and radii
/// past the image do, the box of a circle crop. One table for the parsers
/// and for [`spell()`], which reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HouseRules {
    pub rounding: imaging::Rounding,
    pub bounds: imaging::Bounds,
    pub circle_box: imaging::CircleBox,
}

impl Dialect {
    /// This dialect's [`HouseRules`].
    pub const fn house_rules(self) -> HouseRules {
        use imaging::{Bounds, CircleBox, Rounding};
        match self {
            Dialect::Oss => HouseRules {
                rounding: Rounding::Nearest,
                bounds: Bounds::Clip,
                circle_box: CircleBox::TwoRPlusOne,
            },
            // Tencent refuses what the others clip: crops past the image,
            // radii of half the short side or more, rounded GIFs.
            Dialect::Cos => HouseRules {
                rounding: Rounding::Nearest,
                bounds: Bounds::Refuse,
                circle_box: CircleBox::TwoR,
            },
            Dialect::Us3 => HouseRules {
                rounding: Rounding::Truncate,
                bounds: Bounds::Clip,
                circle_box: CircleBox::TwoR,
            },
        }
    }
}

/// What a request asks of the processing layer before styles are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// A ready, validated pipeline.
    Pipeline(imaging::Pipeline),
    /// Apply the bucket's style of this name (OSS `style/<name>`, US3
    /// `iopstyle=`/old `iopcmd=<name>`, COS rule `style/<name>`).
    Style(String),
}

/// Tencent's value-less processing keys that start a COS request
/// (rule 2 below; `docs/cos-dialect.md`, "Request forms").
const COS_KEY_PREFIXES: [&str; 3] = ["imageMogr2/", "imageView2/", "watermark/"];
const COS_KEYS: [&str; 3] = ["imageInfo", "exif", "imageAve"];

/// Which dialect (if any) the raw, undecoded query string of a GET selects,
/// by rules 1–3 below, in that order (the request forms of
/// `docs/oss-dialect.md`, `docs/cos-dialect.md` and `docs/us3-dialect.md`).
/// Signature parameters of every vendor are ignored.
///
/// Rule 4 (style by path separator) needs the bucket's configuration and is
/// the caller's.
pub fn detect(raw_query: &str) -> Option<Dialect> {
    let params = raw_params(raw_query);
    // Rule 1: `x-oss-process` present (with or without a value: the POST
    // form `?x-oss-process` has none).
    if params.iter().any(|p| decoded_key(p) == "x-oss-process") {
        return Some(Dialect::Oss);
    }
    // Rule 2: a Tencent processing key. The whole component is examined, not
    // only the text before `=`, because a padded base64 value inside a COS
    // watermark (`watermark/2/text/5Lit=/...`) contains `=`.
    let is_cos = params.iter().any(|p| {
        let whole = common::percent_decode(p.raw).unwrap_or_else(|_| p.raw.to_string());
        let key = decoded_key(p);
        COS_KEY_PREFIXES
            .iter()
            .any(|prefix| whole.starts_with(prefix))
            || (COS_KEYS.contains(&key.as_str()) && p.value.is_none_or(str::is_empty))
            // `imageInfo|imageMogr2/...`: an information key first in a
            // pipeline is still ours (the parser refuses it), never a
            // plain GET answering the original.
            || whole
                .split_once('|')
                .is_some_and(|(first, _)| COS_KEYS.contains(&first))
            || (key == "ci-process"
                && p.value
                    .and_then(|v| common::percent_decode(v).ok())
                    .as_deref()
                    == Some("snapshot"))
    });
    if is_cos {
        return Some(Dialect::Cos);
    }
    // Rule 3: UCloud.
    if params.iter().any(|p| {
        let key = decoded_key(p);
        key == "iopcmd" || key == "iopstyle"
    }) {
        return Some(Dialect::Us3);
    }
    None
}

/// Parses the processing part of a GET's raw query for `dialect`.
pub fn parse_query(dialect: Dialect, raw_query: &str) -> Result<Directive, DialectError> {
    match dialect {
        Dialect::Oss => oss::parse_query(raw_query),
        Dialect::Us3 => us3::parse_query(raw_query),
        Dialect::Cos => cos::parse_query(raw_query),
    }
}

/// Parses a stored style's content (a process string in that dialect's
/// syntax: OSS `image/...`, COS `imageMogr2/...|...`, US3
/// `iopcmd=...|iopcmd=...`).
pub fn parse_style(dialect: Dialect, content: &str) -> Result<imaging::Pipeline, DialectError> {
    match dialect {
        Dialect::Oss => oss::parse_style(content),
        Dialect::Us3 => us3::parse_style(content),
        Dialect::Cos => cos::parse_style(content),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_rules_in_order() {
        let cases: &[(&str, Option<Dialect>)] = &[
            ("", None),
            ("versionId=3", None),
            ("x-oss-process=image/resize,w_100", Some(Dialect::Oss)),
            ("x-oss-process", Some(Dialect::Oss)),
            ("x%2Doss%2Dprocess=image/info", Some(Dialect::Oss)),
            (
                "OSSAccessKeyId=LTAI&Expires=1700000000&Signature=abc%2Bdef%3D&x-oss-process=image/resize,w_100",
                Some(Dialect::Oss),
            ),
            // Rule 1 beats rule 2 and 3 wherever it sits.
            ("imageMogr2/thumbnail/300x&x-oss-process=image/info", Some(Dialect::Oss)),
            ("iopcmd=thumbnail&x-oss-process=image/info", Some(Dialect::Oss)),
            ("imageMogr2/thumbnail/300x", Some(Dialect::Cos)),
            (
                "q-sign-algorithm=sha1&q-ak=AKID&q-sign-time=1;2&q-key-time=1;2&q-header-list=host&q-url-param-list=&q-signature=ab12&imageMogr2/thumbnail/300x",
                Some(Dialect::Cos),
            ),
            ("imageView2/1/w/200/h/200", Some(Dialect::Cos)),
            ("watermark/2/text/5Lit5paH", Some(Dialect::Cos)),
            ("watermark/2/text/5Lit5paH=/fill/IzAwMDAwMA", Some(Dialect::Cos)),
            ("imageMogr2%2Fthumbnail%2F300x", Some(Dialect::Cos)),
            ("imageInfo", Some(Dialect::Cos)),
            ("exif", Some(Dialect::Cos)),
            ("imageAve=", Some(Dialect::Cos)),
            ("exif=1", None),
            ("imageInfo|imageMogr2/rotate/90", Some(Dialect::Cos)),
            ("exif%7CimageMogr2/rotate/90", Some(Dialect::Cos)),
            ("imageAve|", Some(Dialect::Cos)),
            ("ci-process=snapshot&time=1", Some(Dialect::Cos)),
            ("ci-process=other", None),
            ("imageMogr2", None),
            ("imageMogr2/thumbnail/300x&iopcmd=thumbnail", Some(Dialect::Cos)),
            ("iopcmd=thumbnail&type=1&scale=50", Some(Dialect::Us3)),
            (
                "iopcmd=thumbnail&type=1&scale=50&UCloudPublicKey=pk&Signature=s%3D&Expires=1",
                Some(Dialect::Us3),
            ),
            ("iopstyle=style1", Some(Dialect::Us3)),
            ("UCloudPublicKey=pk&Signature=x", None),
            ("q-sign-algorithm=sha1&q-signature=x", None),
        ];
        for (query, want) in cases {
            assert_eq!(detect(query), *want, "{query}");
        }
    }

    #[test]
    fn cos_and_us3_arms_reach_their_parsers() {
        let want = |rounding, bounds| imaging::Pipeline {
            ops: vec![imaging::Op::Rotate { degrees: 90 }],
            rounding,
            bounds,
            ..imaging::Pipeline::default()
        };
        let cos = want(imaging::Rounding::Nearest, imaging::Bounds::Refuse);
        let us3 = want(imaging::Rounding::Truncate, imaging::Bounds::Clip);
        assert_eq!(
            parse_style(Dialect::Cos, "imageMogr2/rotate/90"),
            Ok(cos.clone())
        );
        assert_eq!(
            parse_query(Dialect::Cos, "imageMogr2/rotate/90"),
            Ok(Directive::Pipeline(cos))
        );
        assert_eq!(
            parse_style(Dialect::Us3, "iopcmd=rotate&degree=90"),
            Ok(us3.clone())
        );
        assert_eq!(
            parse_query(Dialect::Us3, "iopcmd=rotate&degree=90"),
            Ok(Directive::Pipeline(us3))
        );
    }
}
