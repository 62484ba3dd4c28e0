//! The inverse of the three parsers: a typed [`Pipeline`] written back in a
//! dialect's syntax, as a style body that [`crate::parse_style`] accepts
//! (OSS `image/resize,w_300/format,webp`, COS
//! `imageMogr2/thumbnail/300x>/format/webp`, US3
//! `iopcmd=thumbnail&type=4&width=300|iopcmd=convert&dst=webp`).
//!
//! [`spell`] answers `Ok(text)` only when the dialect's parser reads the
//! text back into a pipeline with the same *effect* ([`effect`] of both are
//! equal); otherwise it lists, for every part that cannot be written so, a
//! reason (`"flip: Alibaba OSS has no flip"`). The nearest spelling that
//! would mean something else (a percentage rounded to a whole one, a resize
//! that may enlarge where the pipeline never does, a frame selection that
//! the dialect adds or cannot add) is a reason, never a silently different
//! text.
//!
//! What "the same effect" leaves aside is exactly what [`effect`]
//! normalises: the rules a dialect applies to *every* request rather than
//! what a request asks (rounding of computed sizes, crops past the edge,
//! the circle's box), and differences the executor cannot observe. The
//! dialect rules that a spelling inherits in its dialect are listed by
//! [`house_rules`], so a console can show them next to the text.
//!
//! Architecture Invariant: nothing here touches pixels, HTTP or storage;
//! the spellers read a pipeline and write text.

mod cos;
mod oss;
mod us3;

#[cfg(test)]
mod tests;

use crate::Dialect;
use imaging::{
    Bounds, CircleBox, Combine, FrameSelect, Geometry, Op, Pipeline, Rounding, Terminal,
};

/// Writes `pipeline` in `dialect`'s syntax (a style body).
///
/// `Ok(text)`: `parse_style(dialect, &text)` yields a pipeline whose
/// [`effect`] equals `pipeline`'s. `Err(reasons)`: one short sentence for
/// every part that cannot be written there with the same effect (all of
/// them, not only the first), each starting with the part's name.
pub fn spell(pipeline: &Pipeline, dialect: Dialect) -> Result<String, Vec<String>> {
    let p = effect(pipeline);
    let mut reasons = Reasons::default();
    let text = match dialect {
        Dialect::Oss => oss::spell(&p, &mut reasons),
        Dialect::Cos => cos::spell(&p, &mut reasons),
        Dialect::Us3 => us3::spell(&p, &mut reasons),
    };
    if reasons.0.is_empty() {
        Ok(text)
    } else {
        Err(reasons.0)
    }
}

/// What a pipeline does, with the fields that are dialect rules or that
/// the executor cannot tell apart set to one canonical value. Two
/// pipelines with equal effects give the same output for every source,
/// except where a dialect rule ([`house_rules`]) differs.
///
/// Normalised, and why:
/// * `rounding` → `Nearest`, `bounds` → `Clip`, every `Circle`'s `bbox` →
///   `TwoR` (in watermark preprocessing too): each dialect applies its own
///   to every request, none can be asked for; they move a computed side or
///   a circle's box by one pixel, or turn a clipped crop into an error.
/// * `AutoOrient` after the first: a no-op by contract (`Op::AutoOrient`).
/// * `Frames(First)`: the executor decodes only the first frame when the
///   pipeline holds one anywhere (`engine.rs`, the plan's `first_only`),
///   so its position and count do not matter: one is kept, first. None is
///   kept when the output cannot animate anyway (an explicit still format,
///   or the average-colour answer, which reads the first frame) and no
///   other frame selection could pick a later frame.
/// * A watermark's `combine` when it has only an image or only a text:
///   there is nothing to combine, and the parsers leave different defaults.
pub fn effect(pipeline: &Pipeline) -> Pipeline {
    let mut p = pipeline.clone();
    p.rounding = Rounding::Nearest;
    p.bounds = Bounds::Clip;
    let keeps_first = p.ops.contains(&Op::Frames(FrameSelect::First));
    let mut seen_orient = false;
    let mut ops = Vec::with_capacity(p.ops.len());
    for op in p.ops.drain(..) {
        match op {
            Op::Frames(FrameSelect::First) => {}
            Op::AutoOrient if seen_orient => {}
            Op::AutoOrient => {
                seen_orient = true;
                ops.push(op);
            }
            other => ops.push(normalise_op(other)),
        }
    }
    p.ops = ops;
    if keeps_first && first_frame_matters(&p) {
        p.ops.insert(0, Op::Frames(FrameSelect::First));
    }
    p
}

/// Whether keeping only the first frame changes the answer: it does when
/// the answer may animate, and when another frame selection would
/// otherwise pick a later frame.
fn first_frame_matters(p: &Pipeline) -> bool {
    can_animate(p)
        || p.ops.iter().any(|op| {
            matches!(
                op,
                Op::Frames(FrameSelect::AtMost(_) | FrameSelect::AtPermille(_))
            )
        })
}

/// One operation's dialect-rule fields, canonical.
fn normalise_op(op: Op) -> Op {
    match op {
        Op::Circle { radius, .. } => Op::Circle {
            radius,
            bbox: CircleBox::TwoR,
        },
        Op::Watermark(mut w) => {
            if w.image.is_none() || w.text.is_none() {
                w.combine = Combine::default();
            }
            if let Some(img) = w.image.as_mut() {
                img.preprocess = img.preprocess.drain(..).map(normalise_op).collect();
            }
            Op::Watermark(w)
        }
        other => other,
    }
}

/// Whether the answer can carry more than one frame: an image answer
/// whose format is the source's (which may be a GIF) or one that animates,
/// or information about the image (its frame count).
fn can_animate(p: &Pipeline) -> bool {
    match p.terminal {
        Some(Terminal::AverageColor) => false,
        Some(Terminal::Info | Terminal::Exif) => true,
        None => match p.output.format {
            None => true,
            Some(f) => f.only_if_source_animated || f.format.can_animate(),
        },
    }
}

/// The dialect rules a spelling of `pipeline` in `dialect` inherits where
/// they differ from the pipeline's own (the fields [`effect`] sets aside),
/// as sentences for a console; empty when none applies to its operations.
pub fn house_rules(pipeline: &Pipeline, dialect: Dialect) -> Vec<String> {
    let (rounding, bounds, bbox) = rules(dialect);
    let name = vendor(dialect);
    let mut notes = Vec::new();
    let proportional = pipeline.ops.iter().any(|op| match op {
        Op::Resize(r) => !matches!(
            r.geometry,
            Geometry::Stretch { .. } | Geometry::Canvas { .. }
        ),
        _ => false,
    });
    if proportional && pipeline.rounding != rounding {
        let how = match rounding {
            Rounding::Nearest => "rounds computed sizes to the nearest pixel",
            Rounding::Truncate => "rounds computed sizes down",
        };
        notes.push(format!(
            "resize: {name} {how}, so a side computed from the aspect ratio may differ by one pixel"
        ));
    }
    let shapes = pipeline.ops.iter().any(|op| {
        matches!(
            op,
            Op::Crop(_) | Op::Circle { .. } | Op::RoundedCorners { .. }
        )
    });
    if shapes && pipeline.bounds != bounds {
        let how = match bounds {
            Bounds::Clip => {
                "clips a crop past the image and clamps a radius past half the short side"
            }
            Bounds::Refuse => {
                "refuses a crop past the image, a radius of half the short side or more, \
                 and rounded shapes on a GIF"
            }
        };
        notes.push(format!("crop and rounded shapes: {name} {how}"));
    }
    let circle_differs = pipeline.ops.iter().any(|op| match op {
        Op::Circle { bbox: b, .. } => *b != bbox,
        _ => false,
    });
    if circle_differs {
        let side = match bbox {
            CircleBox::TwoR => "2r",
            CircleBox::TwoRPlusOne => "2r+1",
        };
        notes.push(format!(
            "circle: {name} answers a square of {side} pixels for radius r"
        ));
    }
    notes
}

/// The rules each dialect's parser sets on every pipeline.
fn rules(dialect: Dialect) -> (Rounding, Bounds, CircleBox) {
    let r = dialect.house_rules();
    (r.rounding, r.bounds, r.circle_box)
}

/// The vendor's product name, for reasons.
fn vendor(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Oss => "Alibaba OSS",
        Dialect::Cos => "Tencent COS",
        Dialect::Us3 => "UCloud US3",
    }
}

/// The reasons collected while spelling; empty = spellable.
#[derive(Debug, Default)]
struct Reasons(Vec<String>);

impl Reasons {
    /// Records that `part` cannot be written: `"<part>: <why>"`.
    fn add(&mut self, part: &str, why: impl std::fmt::Display) {
        self.0.push(format!("{part}: {why}"));
    }

    /// `value` when it lies in `range`, else a reason naming `what` and
    /// the range.
    fn within<T>(
        &mut self,
        part: &str,
        what: &str,
        value: T,
        range: std::ops::RangeInclusive<T>,
        dialect: Dialect,
    ) -> Option<T>
    where
        T: PartialOrd + std::fmt::Display + Copy,
    {
        if range.contains(&value) {
            Some(value)
        } else {
            self.add(
                part,
                format!(
                    "{} takes {what} from {} to {}, not {value}",
                    vendor(dialect),
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

/// The host of the mark-image URLs written for COS and US3. Their parsers
/// take only the URL's path (the key in the source's bucket) and ignore
/// the host, so any host reads back the same; `.invalid` is reserved for
/// names that resolve nowhere, and a console may put the bucket's own
/// domain in its place.
pub const MARK_URL_HOST: &str = "bucket.invalid";

/// `http://<MARK_URL_HOST>/<key>`, the key percent-encoded where the
/// parsers would read a character as the end of the path or an escape.
fn mark_url(key: &str, r: &mut Reasons) -> String {
    use percent_encoding::{utf8_percent_encode, CONTROLS};
    const PATH: &percent_encoding::AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'%')
        .add(b'?')
        .add(b'#')
        .add(b'|')
        .add(b'&');
    if key.is_empty() {
        r.add("watermark", "the mark image has no object key");
    }
    format!("http://{MARK_URL_HOST}/{}", utf8_percent_encode(key, PATH))
}

/// The operation's name in reasons.
fn op_name(op: &Op) -> &'static str {
    match op {
        Op::AutoOrient => "auto-orient",
        Op::Resize(_) => "resize",
        Op::Crop(_) => "crop",
        Op::IndexCrop { .. } => "index crop",
        Op::Circle { .. } => "circle",
        Op::RoundedCorners { .. } => "rounded corners",
        Op::Rotate { .. } => "rotate",
        Op::Flip(_) => "flip",
        Op::Bright(_) => "bright",
        Op::Contrast(_) => "contrast",
        Op::Flood(_) => "flood",
        Op::Sharpen { .. } => "sharpen",
        Op::Blur(_) => "blur",
        Op::Grayscale => "grayscale",
        Op::Watermark(_) => "watermark",
        Op::Frames(_) => "frames",
    }
}

/// Thousandths as the shortest decimal (`1500` → `1.5`).
fn milli_decimal(m: u32) -> String {
    crate::common::milli_text(u64::from(m))
}

use crate::common::format_ext;

/// What a COS or US3 mark carries: one of an image or a text.
enum Mark<'a> {
    Image(&'a imaging::WatermarkImage),
    Text(&'a imaging::WatermarkText),
}

/// The one kind of a mark, for dialects (COS, US3) whose marks are an
/// image or a text, never both in one step.
fn single_mark<'a>(w: &'a imaging::Watermark, dialect: &str, r: &mut Reasons) -> Option<Mark<'a>> {
    const PART: &str = "watermark";
    match (&w.image, &w.text) {
        (Some(img), None) => Some(Mark::Image(img)),
        (None, Some(t)) => Some(Mark::Text(t)),
        (Some(_), Some(_)) => {
            r.add(
                PART,
                format!("{dialect} marks carry an image or a text, not both"),
            );
            None
        }
        (None, None) => {
            r.add(PART, "a mark needs an image or a text");
            None
        }
    }
}

/// Records why a part cannot be spelled; `None`, so that callers can
/// `return no(...)`.
fn no(r: &mut Reasons, part: &str, why: String) -> Option<String> {
    r.add(part, why);
    None
}

/// The pipeline-wide requests no dialect's processing string can carry
/// (the bucket decides them) or that only one dialect has; `dialect`
/// names the target.
fn common_output_checks(p: &Pipeline, r: &mut Reasons, dialect: Dialect) {
    let name = vendor(dialect);
    if p.output.negotiated.is_some() {
        r.add(
            "negotiated format",
            "chosen per request from the client's Accept header by the bucket's settings; no \
             processing string carries it",
        );
    }
    if p.output.metadata != imaging::MetadataPolicy::default() {
        r.add(
            "metadata policy",
            "a bucket setting; no processing string carries it",
        );
    }
    if p.output.progressive_auto {
        r.add(
            "progressive",
            "baseline or progressive, whichever is smaller, is a bucket setting; no processing \
             string carries it",
        );
    }
    if p.output.trellis {
        r.add(
            "trellis",
            "trellis quantisation is a bucket setting; no processing string carries it",
        );
    }
    if p.output.progressive && !p.output.interlace_named {
        r.add(
            "progressive",
            "progressive output that the request does not name is the bucket's setting; every \
             dialect's `interlace` names it, which the bucket cannot then override",
        );
    }
    if p.on_limit_error != imaging::OnLimitError::Fail && dialect != Dialect::Cos {
        r.add(
            "ignore-error",
            format!("{name} cannot answer the source when a limit is exceeded"),
        );
    }
    if p.output.size_limit.is_some() && dialect != Dialect::Cos {
        r.add("size-limit", format!("{name} has no target output size"));
    }
}
