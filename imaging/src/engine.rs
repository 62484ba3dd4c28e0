//! The executor: decode once, run the operations on every frame kept,
//! encode once.
//!
//! Order of work for one request:
//! 1. [`probe::inspect`] reads the header and checks the source limits
//!    (bytes, sides, W×H×frames) before anything is allocated.
//! 2. The output format is decided (it tells whether more than the first
//!    frame is needed), and so is the JPEG shrink-on-load factor
//!    ([`shrink_on_load`]): when the first pixel operation (after
//!    auto-orient) is a resize to at most a quarter of the size, libjpeg-turbo
//!    decodes at 1/2 scale (leaving at least 2× for the resampler, as
//!    libvips' `thumbnail` does) or, from a resize to an eighth, at 1/8
//!    (at least 1×: no IDCT; [`crate::eighth`] reads a progressive file's
//!    DC scans alone and steps over a baseline file's AC coefficients).
//! 3. Each operation runs on every frame; every size an operation computes
//!    is checked against `max_output_side` before its buffer is allocated.
//! 4. The encoder writes the output format with the resolved quality.
//!
//! Metadata policy (design): the source's ICC profile is kept in JPEG and
//! PNG output unless `strip_metadata`; EXIF is kept only for JPEG → JPEG
//! (again unless stripped), as much of it as the bucket's
//! [`crate::MetadataPolicy`] says ([`crate::metadata`]: never the
//! original's preview, the size tags set to the output's), with its
//! Orientation reset to 1 when the pipeline applied it to the pixels
//! (libvips does the same), so that no viewer rotates the image a second
//! time. Only RGB profiles are carried (the output is always RGB). WebP,
//! AVIF, GIF, BMP and TIFF output carry no metadata.
//!
//! Encoding rules (design; as the users' docs state them, e.g.
//! `docs/oss-dialect.md`, "Actions": `format`, and `docs/us3.md`,
//! "Commands"):
//! * Format: the request's, else the source's; Alibaba's `format,gif`
//!   (`only_if_source_animated`) leaves non-GIF sources in their format.
//!   AVIF output is one still frame (the first of an animation); HEIC
//!   output → `Error::NotImplemented` (501).
//! * Alpha: JPEG output is flattened onto white (so "outside" pixels of
//!   circle, rounded corners and rotation turn white there); PNG, WebP, BMP
//!   and TIFF keep alpha, and drop the channel when every pixel is opaque.
//! * Animation: GIF and WebP output keep every frame and its delay; other
//!   formats get the first frame (or the one a `Frames` op picked). Only
//!   frames that can reach the output are decoded.
//! * Quality ([`resolve_quality`]): `Absolute(n)` = min(source estimate, n),
//!   `Relative(n)` = source × n / 100, `Floor(n)` = max(source, n),
//!   `Forced(n)` = n; the source estimate is the IJG quality of a JPEG
//!   source's luminance table, and without one every mode means n. With no
//!   quality asked: the source estimate capped at [`MAX_DEFAULT_QUALITY`]
//!   for JPEG sources, else [`DEFAULT_QUALITY`].
//! * Size limit (JPEG only): binary search on quality for the largest that
//!   fits; with `source_if_not_smaller`, the source when the result is not
//!   smaller than it.
//!
//! Operation rules the executor decides (the parser cannot, it has not
//! seen the image): rounded corners on an animation (more than one frame
//! kept) → `Error::Unsupported`; `max_rotate_side` applies to arbitrary
//! angles only (quarter turns are exact moves and cost nothing); a limit
//! hit anywhere (source, intermediate size, output side) is
//! `Error::TooLarge`, which `OnLimitError::ReturnSource` turns into the
//! unprocessed source.

use fast_image_resize as fir;
use image::RgbaImage;

use crate::decode::{self, Decoded, Frame};
use crate::encode::{self, EncodeParams, JpegScan};
use crate::error::{Error, Result};
use crate::fonts::FontBook;
use crate::geometry::{self, Rect};
use crate::pipeline::*;
use crate::probe::{self, check, ExifField, Header, ImageInfo};
use crate::{budget, effects, shapes, watermark, Assets, Cancel, Limits};

/// Quality used for lossy output when nothing is asked and the source has
/// no JPEG quality estimate.
pub const DEFAULT_QUALITY: u8 = 85;
/// Ceiling on the kept source quality when nothing is asked (a q98 camera
/// JPEG re-encoded at 98 would make thumbnails needlessly heavy).
pub const MAX_DEFAULT_QUALITY: u8 = 90;

/// The result of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Encoded image bytes.
    Image {
        bytes: Vec<u8>,
        format: Format,
        width: u32,
        height: u32,
        /// The quality it was encoded with (lossy formats).
        quality: Option<u8>,
    },
    /// The `Info` terminal.
    Info(ImageInfo),
    /// The `Exif` terminal: the source's EXIF fields (empty = none).
    Exif(Vec<ExifField>),
    /// The `AverageColor` terminal.
    AverageColor(Rgb),
}

/// The engine: shared, immutable state for every request (the fonts of
/// text watermarks). Build one at start-up and share it (`Send + Sync`).
#[derive(Debug)]
pub struct Engine {
    fonts: FontBook,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine using the system's font directories.
    pub fn new() -> Self {
        Engine {
            fonts: FontBook::system(),
        }
    }

    /// An engine with the given fonts.
    pub fn with_fonts(fonts: FontBook) -> Self {
        Engine { fonts }
    }

    /// The fonts text watermarks are drawn with.
    pub fn fonts(&self) -> &FontBook {
        &self.fonts
    }

    /// Runs `pipeline` on `source`; see [`crate::execute`].
    pub fn execute(
        &self,
        source: &[u8],
        pipeline: &Pipeline,
        assets: &Assets,
        limits: &Limits,
    ) -> Result<Output> {
        self.execute_cancellable(source, pipeline, assets, limits, &Cancel::never())
    }

    /// [`Engine::execute`] that stops at its next checkpoint once `cancel`
    /// is cancelled or past its deadline (`Error::Cancelled`,
    /// `Error::DeadlineExceeded`).
    pub fn execute_cancellable(
        &self,
        source: &[u8],
        pipeline: &Pipeline,
        assets: &Assets,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Result<Output> {
        if let Some(frame) = &pipeline.video {
            // The frame becomes the source of the rest of the pipeline; it
            // may be larger than an image source may be (a 4K PNG).
            let png = crate::video::snapshot(source, frame, limits, cancel)?;
            let rest = Pipeline {
                video: None,
                ..pipeline.clone()
            };
            let frame_limits = Limits {
                max_source_bytes: crate::video::MAX_FRAME_BYTES,
                ..limits.clone()
            };
            return self.run(&png, &rest, assets, &frame_limits, cancel);
        }
        match self.run(source, pipeline, assets, limits, cancel) {
            Err(e) if e.is_limit() && pipeline.on_limit_error == OnLimitError::ReturnSource => {
                source_output(source)
            }
            other => other,
        }
    }

    fn run(
        &self,
        source: &[u8],
        pipeline: &Pipeline,
        assets: &Assets,
        limits: &Limits,
        cancel: &Cancel,
    ) -> Result<Output> {
        match pipeline.terminal {
            Some(Terminal::Exif) => {
                let h = probe::inspect(source, limits)?;
                let fields =
                    probe::read_exif(source, h.jpeg.as_ref()).map(|e| probe::exif_fields(&e));
                return Ok(Output::Exif(fields.unwrap_or_default()));
            }
            // Only an untouched image is described by its source bytes: a
            // format/quality step changes what `Info` must report.
            Some(Terminal::Info)
                if pipeline.ops.is_empty() && pipeline.output == OutputOptions::default() =>
            {
                return Ok(Output::Info(probe::probe(source, limits)?));
            }
            _ => {}
        }
        let plan = plan(source, pipeline, limits)?;
        if pipeline.is_identity() {
            // Nothing to do: the source as is, without a lossy round trip.
            return source_output(source);
        }
        check_budget(source, pipeline, &plan, limits)?;
        let Plan {
            header,
            out_format,
            orientation,
            shrink,
            first_only,
        } = plan;
        #[cfg(not(feature = "heic-encode"))]
        if out_format == Format::Heic && pipeline.terminal.is_none() {
            return Err(Error::NotImplemented(
                "HEIC output (this build has no HEVC encoder)".into(),
            ));
        }
        let average = pipeline.terminal == Some(Terminal::AverageColor);
        let decoded = decode::decode(source, &header, shrink, first_only, limits, cancel)?;
        let mut work = Work::new(decoded, (header.width, header.height), shrink > 1);
        work.cancel = cancel.clone();
        let ctx = OpCtx {
            limits,
            rounding: pipeline.rounding,
            bounds: pipeline.bounds,
            source_format: header.format,
            orientation,
            assets,
            engine: self,
            cancel,
        };
        run_ops(&mut work, &pipeline.ops, &ctx)?;
        cancel.check()?;

        if average {
            let first = work
                .frames
                .first()
                .ok_or_else(|| Error::Decode("no frame".into()))?;
            return Ok(Output::AverageColor(average_color(&first.img)));
        }
        let out = self.encode_output(source, &header, &work, pipeline, out_format, cancel)?;
        if pipeline.terminal == Some(Terminal::Info) {
            if let Output::Image { bytes, .. } = &out {
                return Ok(Output::Info(probe::probe(bytes, &Limits::unlimited())?));
            }
        }
        Ok(out)
    }

    fn encode_output(
        &self,
        source: &[u8],
        header: &Header,
        work: &Work,
        pipeline: &Pipeline,
        format: Format,
        cancel: &Cancel,
    ) -> Result<Output> {
        let opts = &pipeline.output;
        let src_q = header.jpeg.as_ref().and_then(|j| j.quality);
        let quality = resolve_quality(opts.quality, src_q, header.format);
        let keep_meta = !opts.strip_metadata;
        // The output is always RGB(A): a profile for another colour space
        // (a CMYK JPEG's, a grey PNG's) would be wrong on it, so only RGB
        // profiles are carried over.
        let icc = work
            .icc
            .as_deref()
            .filter(|p| keep_meta && p.get(16..20) == Some(b"RGB "));
        let (w, h) = work.size();
        // EXIF goes from a JPEG or HEIF source into a JPEG or HEIC output.
        // A HEIF source's pixels always come out oriented (`heif`), so its
        // Orientation tag is reset as after an auto-orient.
        let carries_exif = keep_meta && matches!(format, Format::Jpeg | Format::Heic);
        let oriented = work.oriented || matches!(header.format, Format::Heic | Format::Avif);
        let exif = header
            .exif()
            .filter(|_| carries_exif)
            .and_then(|e| crate::metadata::for_output(e, opts.metadata, w, h, oriented));
        let mut params = EncodeParams {
            format,
            quality,
            quality_named: opts.quality.is_some(),
            scan: match (opts.progressive, opts.progressive_auto) {
                (true, _) => JpegScan::Progressive,
                (false, true) => JpegScan::Smaller,
                (false, false) => JpegScan::Baseline,
            },
            trellis: opts.trellis,
            icc,
            exif: exif.as_deref(),
        };
        let lossy = matches!(format, Format::Jpeg | Format::Webp | Format::Avif);
        let mut bytes = encode::encode(&work.frames, work.opaque, &params)?;

        if let (Some(limit), Format::Jpeg) = (opts.size_limit, format) {
            if bytes.len() as u64 > limit.max_bytes {
                // Largest quality below the current one that fits; q=1 if
                // nothing does (the smallest we can make).
                let (mut lo, mut hi) = (1u8, params.quality.saturating_sub(1).max(1));
                let mut best: Option<(u8, Vec<u8>)> = None;
                while lo <= hi {
                    cancel.check()?;
                    let mid = lo + (hi - lo) / 2;
                    params.quality = mid;
                    let b = encode::encode(&work.frames, work.opaque, &params)?;
                    if b.len() as u64 <= limit.max_bytes {
                        best = Some((mid, b));
                        lo = mid + 1;
                    } else {
                        if mid == 1 {
                            best.get_or_insert((1, b));
                            break;
                        }
                        hi = mid - 1;
                    }
                }
                if let Some((q, b)) = best {
                    params.quality = q;
                    bytes = b;
                }
            }
            if limit.source_if_not_smaller && bytes.len() >= source.len() {
                return source_output(source);
            }
        }
        Ok(Output::Image {
            bytes,
            format,
            width: w,
            height: h,
            quality: lossy.then_some(params.quality),
        })
    }
}

impl Limits {
    /// No limits at all (for re-reading our own output).
    pub(crate) fn unlimited() -> Limits {
        Limits {
            max_source_bytes: u64::MAX,
            max_side: u32::MAX,
            max_pixels: u64::MAX,
            max_output_side: u32::MAX,
            max_frames: u32::MAX,
            max_rotate_side: None,
            max_output_pixels: u64::MAX,
            max_work: u64::MAX,
        }
    }
}

/// The source returned as is (identity, `ignore-error`, size-limit `!`).
fn source_output(source: &[u8]) -> Result<Output> {
    let info = probe::probe(source, &Limits::unlimited())?;
    Ok(Output::Image {
        bytes: source.to_vec(),
        format: info.format,
        width: info.width,
        height: info.height,
        quality: info.quality,
    })
}

/// Prices the whole request before anything is decoded (`budget`):
/// repeated ops, blur radii, frames and the encoder all count, and the
/// geometry is followed so that an output over the side or pixel limits is
/// refused here too.
pub(crate) fn check_budget(
    source: &[u8],
    pipeline: &Pipeline,
    plan: &Plan,
    limits: &Limits,
) -> Result<()> {
    let header = &plan.header;
    let priced = budget::Source {
        format: header.format,
        width: header.width,
        height: header.height,
        frames: if plan.first_only { 1 } else { header.frames },
        orientation: plan.orientation,
        alpha: header.may_have_alpha(source),
    };
    let priced_format = (pipeline.terminal.is_none()).then_some(plan.out_format);
    budget::check_pipeline(pipeline, priced, priced_format, limits).map(|_| ())
}

/// Runs a pipeline: decode `source` once, apply `pipeline`, encode.
/// `assets` holds the watermark images named by [`Pipeline::asset_keys`].
pub fn execute(
    source: &[u8],
    pipeline: &Pipeline,
    assets: &Assets,
    limits: &Limits,
    engine: &Engine,
) -> Result<Output> {
    engine.execute(source, pipeline, assets, limits)
}

/// The output format: the request's, or the source's. Alibaba's
/// `format,gif` converts only sources that are GIFs already (they then stay
/// GIF), so a non-GIF source keeps its format.
/// A negotiated format ([`OutputOptions::negotiated`]) applies when the
/// request names none; an `animated` source gets its animated choice.
pub fn output_format(source: Format, animated: bool, opts: &OutputOptions) -> Format {
    match (opts.format, opts.negotiated) {
        (Some(r), _) if r.only_if_source_animated && source != Format::Gif => source,
        (Some(r), _) => r.format,
        (None, Some(n)) if animated => n.animated.unwrap_or(source),
        (None, Some(n)) => n.still,
        (None, None) => source,
    }
}

/// Resolves the encoding quality (1–100) from the request and the source's
/// estimated JPEG quality. Relative quality needs a JPEG source; for other
/// sources it acts as absolute (Alibaba's WebP rule).
pub fn resolve_quality(q: Option<Quality>, src_q: Option<u8>, src_format: Format) -> u8 {
    let src = if src_format == Format::Jpeg {
        src_q
    } else {
        None
    };
    let v: u32 = match (q, src) {
        (None, Some(s)) => s.min(MAX_DEFAULT_QUALITY) as u32,
        (None, None) => DEFAULT_QUALITY as u32,
        (Some(Quality::Forced(n)), _) => n as u32,
        (Some(Quality::Absolute(n)), Some(s)) => n.min(s) as u32,
        (Some(Quality::Relative(n)), Some(s)) => (s as u32 * n as u32 + 50) / 100,
        (Some(Quality::Floor(n)), Some(s)) => n.max(s) as u32,
        (Some(Quality::Absolute(n) | Quality::Relative(n) | Quality::Floor(n)), None) => n as u32,
    };
    v.clamp(1, 100) as u8
}

/// How the engine will decode a source for a pipeline: read from the
/// header alone, shared by the executor and the memory estimate
/// ([`crate::memory`]), so that both see the same decoded size.
#[derive(Debug)]
pub(crate) struct Plan {
    pub header: Header,
    /// The encoded output's format (also for info terminals).
    pub out_format: Format,
    /// The EXIF orientation `AutoOrient` would apply (read only when the
    /// pipeline orients).
    pub orientation: Option<u16>,
    /// The JPEG shrink-on-load factor (1, 2, 4 or 8; 1 for other formats).
    pub shrink: u32,
    /// Only the first frame is decoded.
    pub first_only: bool,
}

/// The decode plan of `pipeline` on `source`; checks the source limits
/// (`probe::inspect`) and allocates nothing proportional to the pixels.
pub(crate) fn plan(source: &[u8], pipeline: &Pipeline, limits: &Limits) -> Result<Plan> {
    let header = probe::inspect(source, limits)?;
    let out_format = output_format(header.format, header.frames > 1, &pipeline.output);
    let needs_orientation = pipeline.ops.iter().any(|op| matches!(op, Op::AutoOrient));
    let orientation = if needs_orientation {
        probe::orientation(source, header.jpeg.as_ref())
    } else {
        None
    };
    let average = pipeline.terminal == Some(Terminal::AverageColor);
    let shrink = if header.format == Format::Jpeg {
        shrink_on_load(&header, pipeline, orientation, average)
    } else {
        1
    };
    // Decode only the first frame when nothing can use the others: a
    // still output or the average colour, unless a frame selection
    // wants a later frame.
    let selects_later = pipeline.ops.iter().any(|op| {
        matches!(
            op,
            Op::Frames(FrameSelect::AtPermille(_) | FrameSelect::AtMost(_))
        )
    });
    let still_result = match pipeline.terminal {
        Some(Terminal::AverageColor) => true,
        Some(_) => false,
        None => !out_format.can_animate(),
    };
    let first_only = (still_result && !selects_later)
        || pipeline
            .ops
            .iter()
            .any(|op| matches!(op, Op::Frames(FrameSelect::First)));
    Ok(Plan {
        header,
        out_format,
        orientation,
        shrink,
        first_only,
    })
}

/// The DCT-domain shrink (1, 2, 4 or 8) for a JPEG source: only when the
/// first pixel operation after auto-orient is a resize (so its size is
/// known from the header): 1/8 from a resize to an eighth, 1/2 from one to
/// a quarter, keeping at least 2× the target for the resampler except at
/// 1/8 (1×). The average-colour terminal without operations decodes at 1/8
/// (8×8 block means are exactly the DC coefficients).
pub(crate) fn shrink_on_load(
    h: &Header,
    pipeline: &Pipeline,
    orientation: Option<u16>,
    average: bool,
) -> u32 {
    let mut swapped = false;
    for op in &pipeline.ops {
        match op {
            Op::AutoOrient => swapped = orientation.is_some_and(geometry::orientation_swaps),
            Op::Frames(_) => {}
            Op::Resize(r) => {
                let (w0, h0) = if swapped {
                    (h.height, h.width)
                } else {
                    (h.width, h.height)
                };
                let (tw, th) = geometry::plan_resize(w0, h0, r, pipeline.rounding).scaled;
                let f = (w0 as f64 / tw as f64).min(h0 as f64 / th as f64);
                // 1/8 already from 8×, not 16× as libvips: its block means
                // are a coarser antialiasing filter than 2× of Lanczos,
                // but they need no IDCT, and crate::eighth decodes a
                // progressive file from its DC scans alone and steps over
                // a baseline file's AC coefficients. Measured at 300 px:
                // luma SSIM 0.0003-0.0008 lower, still level with libvips'
                // on average, for a quarter less time (baseline) or a
                // tenth of it (progressive); docs/image-benchmark.md.
                return if f >= 8.0 {
                    8
                } else if f >= 4.0 {
                    2
                } else {
                    1
                };
            }
            _ => return 1,
        }
    }
    if average {
        8
    } else {
        1
    }
}

/// The working image between operations.
pub(crate) struct Work {
    pub frames: Vec<Frame>,
    /// All alpha is 255 (lets the resampler skip premultiplication and
    /// the encoders drop the alpha channel).
    pub opaque: bool,
    pub icc: Option<Vec<u8>>,
    /// The size the first resize must compute from when the pixels were
    /// shrunk on load (the full-size source, oriented like the pixels).
    pub logical: Option<(u32, u32)>,
    /// The EXIF orientation was applied.
    pub oriented: bool,
    /// Asked between frames.
    pub cancel: Cancel,
}

impl Work {
    fn new(d: Decoded, source_size: (u32, u32), shrunk: bool) -> Work {
        Work {
            frames: d.frames,
            opaque: d.opaque,
            icc: d.icc,
            logical: shrunk.then_some(source_size),
            oriented: false,
            cancel: Cancel::never(),
        }
    }

    fn size(&self) -> (u32, u32) {
        self.frames.first().map_or((0, 0), |f| f.img.dimensions())
    }

    fn each(&mut self, mut f: impl FnMut(&RgbaImage) -> Result<RgbaImage>) -> Result<()> {
        for fr in &mut self.frames {
            self.cancel.check()?;
            fr.img = f(&fr.img)?;
        }
        Ok(())
    }

    fn each_mut(&mut self, mut f: impl FnMut(&mut RgbaImage)) {
        for fr in &mut self.frames {
            f(&mut fr.img);
        }
    }
}

/// What every operation may need besides the pixels.
#[derive(Clone, Copy)]
pub(crate) struct OpCtx<'a> {
    pub limits: &'a Limits,
    pub rounding: Rounding,
    pub bounds: Bounds,
    /// The source's format (Tencent refuses rounded shapes on GIFs).
    pub source_format: Format,
    pub orientation: Option<u16>,
    pub assets: &'a Assets,
    pub engine: &'a Engine,
    pub cancel: &'a Cancel,
}

/// Under [`Bounds::Refuse`], a circle's or rounded corner's radius must be
/// under half the image's short side, and the source no GIF.
fn check_radius(work: &Work, ctx: &OpCtx<'_>, radius: u32) -> Result<()> {
    if ctx.bounds != Bounds::Refuse {
        return Ok(());
    }
    if ctx.source_format == Format::Gif {
        return Err(Error::Unsupported(
            "circles and rounded corners are not available for GIF images".into(),
        ));
    }
    let (w, h) = work.size();
    let short = w.min(h);
    if u64::from(radius) * 2 >= u64::from(short) {
        return Err(Error::Unsupported(format!(
            "the radius {radius} must be less than half the short side ({short} px)"
        )));
    }
    Ok(())
}

/// The output-side limit, and the growth limit for an operation turning a
/// `before`-pixel image into w×h, checked before the buffer is allocated.
fn check_out(limits: &Limits, before: u64, w: u32, h: u32) -> Result<()> {
    check(
        crate::error::OUTPUT_WIDTH,
        w as u64,
        limits.max_output_side as u64,
    )?;
    check(
        crate::error::OUTPUT_HEIGHT,
        h as u64,
        limits.max_output_side as u64,
    )?;
    budget::check_growth(limits, before, w, h)
}

fn pixels(w: u32, h: u32) -> u64 {
    w as u64 * h as u64
}

fn cut(img: &RgbaImage, r: Rect) -> RgbaImage {
    image::imageops::crop_imm(img, r.x, r.y, r.width, r.height).to_image()
}

/// Applies `ops` in order to every frame of `work`.
pub(crate) fn run_ops(work: &mut Work, ops: &[Op], ctx: &OpCtx<'_>) -> Result<()> {
    let mut resizer = fir::Resizer::new();
    for op in ops {
        // The checkpoint between operations (cancellation, deadline).
        ctx.cancel.check()?;
        if !matches!(op, Op::AutoOrient | Op::Frames(_) | Op::Resize(_)) {
            // Only the first resize may use the logical size.
            work.logical = None;
        }
        match op {
            Op::AutoOrient => {
                if let (Some(o @ 2..=8), false) = (ctx.orientation, work.oriented) {
                    work.each(|img| Ok(geometry::apply_orientation(img.clone(), o)))?;
                    if geometry::orientation_swaps(o) {
                        work.logical = work.logical.map(|(w, h)| (h, w));
                    }
                }
                work.oriented = true;
            }
            Op::Frames(sel) => select_frames(&mut work.frames, *sel),
            Op::Resize(r) => resize(work, r, ctx, &mut resizer)?,
            Op::Crop(c) => {
                let (w, h) = work.size();
                if ctx.bounds == Bounds::Refuse && !geometry::crop_within(w, h, c) {
                    return Err(Error::CropOutside);
                }
                let rect = geometry::crop_rect(w, h, c)?;
                work.each(|img| Ok(cut(img, rect)))?;
            }
            Op::IndexCrop {
                axis,
                length,
                index,
            } => {
                let (w, h) = work.size();
                if let Some(rect) = geometry::index_crop_rect(w, h, *axis, *length, *index) {
                    work.each(|img| Ok(cut(img, rect)))?;
                }
            }
            Op::Flip(axis) => work.each_mut(|img| match axis {
                FlipAxis::Horizontal => image::imageops::flip_horizontal_in_place(img),
                FlipAxis::Vertical => image::imageops::flip_vertical_in_place(img),
            }),
            Op::Rotate { degrees } => {
                let d = degrees % 360;
                if d % 90 == 0 {
                    work.each(|img| {
                        geometry::rotate_quarter(img, d)
                            .ok_or(Error::Unsupported("rotation".into()))
                    })?;
                } else {
                    let (w, h) = work.size();
                    if let Some(max) = ctx.limits.max_rotate_side {
                        check("rotated image side", w.max(h) as u64, max as u64)?;
                    }
                    let (rw, rh) = shapes::rotated_size(w, h, d);
                    check_out(ctx.limits, pixels(w, h), rw, rh)?;
                    work.each(|img| Ok(shapes::rotate(img, d)))?;
                    work.opaque = false;
                }
            }
            Op::Circle { radius, bbox } => {
                check_radius(work, ctx, *radius)?;
                work.each(|img| Ok(shapes::circle(img, *radius, *bbox)))?;
                work.opaque = false;
            }
            Op::RoundedCorners { radius } => {
                check_radius(work, ctx, *radius)?;
                if work.frames.len() > 1 {
                    return Err(Error::Unsupported(
                        "rounded corners on an animated image".into(),
                    ));
                }
                work.each_mut(|img| shapes::rounded_corners(img, *radius));
                work.opaque = false;
            }
            Op::Bright(v) => work.each_mut(|img| effects::bright(img, *v)),
            Op::Contrast(v) => work.each_mut(|img| effects::contrast(img, *v)),
            Op::Flood(c) => work.each_mut(|img| effects::flood(img, *c)),
            Op::Grayscale => work.each_mut(effects::grayscale),
            Op::Sharpen {
                sigma_milli,
                amount_percent,
            } => {
                let sigma = *sigma_milli as f32 / 1000.0;
                work.each(|img| {
                    effects::sharpen_cancellable(img, sigma, *amount_percent, ctx.cancel)
                })?;
            }
            Op::Blur(b) => {
                let (w, h) = work.size();
                let region = match &b.region {
                    Some(c) => Some(geometry::crop_rect(w, h, c)?),
                    None => None,
                };
                let sigma = b.sigma_milli as f32 / 1000.0;
                for fr in &mut work.frames {
                    effects::blur_cancellable(
                        &mut fr.img,
                        (b.radius, sigma, b.kind),
                        region,
                        ctx.cancel,
                    )?;
                }
            }
            Op::Watermark(wm) => {
                let mark = match &wm.image {
                    Some(spec) => Some(prepare_mark(spec, ctx)?),
                    None => None,
                };
                for fr in &mut work.frames {
                    watermark::draw(&mut fr.img, wm, mark.clone(), &ctx.engine.fonts)?;
                }
            }
        }
    }
    Ok(())
}

/// Decodes a watermark image from the assets and applies its own
/// preprocessing. A missing or undecodable mark is `Error::Watermark`; a
/// mark over the limits stays `TooLarge`.
fn prepare_mark(spec: &WatermarkImage, ctx: &OpCtx<'_>) -> Result<RgbaImage> {
    let bytes = ctx.assets.images.get(&spec.key).ok_or_else(|| {
        Error::Watermark(format!("the watermark image {:?} is missing", spec.key))
    })?;
    let wm_err = |e: Error| match e {
        Error::Decode(m) | Error::NotImplemented(m) => {
            Error::Watermark(format!("{}: {m}", spec.key))
        }
        other => other,
    };
    let header = probe::inspect(bytes, ctx.limits).map_err(wm_err)?;
    let needs_orientation = spec
        .preprocess
        .iter()
        .any(|op| matches!(op, Op::AutoOrient));
    let orientation = if needs_orientation {
        probe::orientation(bytes, header.jpeg.as_ref())
    } else {
        None
    };
    let decoded =
        decode::decode(bytes, &header, 1, true, ctx.limits, ctx.cancel).map_err(wm_err)?;
    let mut work = Work::new(decoded, (header.width, header.height), false);
    work.cancel = ctx.cancel.clone();
    let sub = OpCtx {
        orientation,
        ..*ctx
    };
    run_ops(&mut work, &spec.preprocess, &sub)?;
    work.frames
        .into_iter()
        .next()
        .map(|f| f.img)
        .ok_or_else(|| Error::Watermark(format!("{}: no frame", spec.key)))
}

/// Keeps the frames a [`FrameSelect`] asks for. Dropped frames' delays are
/// added to the kept frame before them, so the animation lasts as long.
fn select_frames(frames: &mut Vec<Frame>, sel: FrameSelect) {
    let n = frames.len();
    if n <= 1 {
        return;
    }
    match sel {
        FrameSelect::First => frames.truncate(1),
        FrameSelect::AtPermille(p) => {
            let i = ((p.min(1000) as usize * n) / 1000).min(n - 1);
            let f = frames.swap_remove(i);
            *frames = vec![f];
        }
        FrameSelect::AtMost(k) => {
            let k = (k.max(1) as usize).min(n);
            if k == n {
                return;
            }
            let keep: Vec<usize> = (0..k).map(|j| j * n / k).collect();
            let old = std::mem::take(frames);
            let mut out: Vec<Frame> = Vec::with_capacity(k);
            for (i, f) in old.into_iter().enumerate() {
                if keep.contains(&i) {
                    out.push(f);
                } else if let Some(last) = out.last_mut() {
                    last.delay_ms = last.delay_ms.saturating_add(f.delay_ms);
                }
            }
            *frames = out;
        }
    }
}

fn resize(work: &mut Work, r: &Resize, ctx: &OpCtx<'_>, resizer: &mut fir::Resizer) -> Result<()> {
    // Alibaba ("a GIF may be reduced but not enlarged") and Tencent
    // ("animated images are never enlarged") agree, and whether the image
    // is animated is known only here: an animation is shrunk, never grown.
    let never_grow;
    let r = if work.frames.len() > 1 {
        match r.enlarge {
            Enlarge::Never => r,
            // Grow-only on an animation: nothing may change.
            Enlarge::Only => return Ok(()),
            Enlarge::Allow => {
                never_grow = Resize {
                    geometry: r.geometry.clone(),
                    enlarge: Enlarge::Never,
                };
                &never_grow
            }
        }
    } else {
        r
    };
    let actual = work.size();
    let base = work.logical.take().unwrap_or(actual);
    if let Geometry::Canvas { width, height, .. } = r.geometry {
        // UCloud type 12 centres the unscaled image on a canvas that must
        // be at least as large; a smaller one would silently crop.
        if width < base.0 || height < base.1 {
            return Err(Error::Unsupported(format!(
                "the canvas {width}x{height} is smaller than the image {}x{}",
                base.0, base.1
            )));
        }
    }
    let plan = geometry::plan_resize(base.0, base.1, r, ctx.rounding);
    let (sw, sh) = plan.scaled;
    let before = pixels(actual.0, actual.1);
    check_out(ctx.limits, before, sw, sh)?;
    let (ow, oh) = plan.output_size();
    check_out(ctx.limits, before, ow, oh)?;
    // Source pixels per output pixel, from the actual (maybe shrunk) pixels.
    let fx = actual.0 as f64 / sw as f64;
    let fy = actual.1 as f64 / sh as f64;
    let opts = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3))
        .use_alpha(!work.opaque);
    if let Some(c) = plan.crop {
        // Fill: resample straight from the source window into the w×h
        // result, without materialising the whole cover-size image.
        let opts = opts.crop(
            c.x as f64 * fx,
            c.y as f64 * fy,
            c.width as f64 * fx,
            c.height as f64 * fy,
        );
        return work.each(|img| {
            let mut dst = RgbaImage::new(c.width, c.height);
            resizer
                .resize(img, &mut dst, &opts)
                .map_err(|e| Error::Encode(format!("resize: {e}")))?;
            Ok(dst)
        });
    }
    if (sw, sh) != actual {
        work.each(|img| {
            let mut dst = RgbaImage::new(sw, sh);
            resizer
                .resize(img, &mut dst, &opts)
                .map_err(|e| Error::Encode(format!("resize: {e}")))?;
            Ok(dst)
        })?;
    }
    if let Some(p) = plan.canvas {
        let px = image::Rgba([p.color.0, p.color.1, p.color.2, p.color.3]);
        work.each(|img| {
            let mut canvas = RgbaImage::from_pixel(p.width, p.height, px);
            image::imageops::overlay(&mut canvas, img, p.x, p.y);
            Ok(canvas)
        })?;
        if p.color.3 != 255 {
            work.opaque = false;
        }
    }
    Ok(())
}

/// Mean colour, each pixel weighted by its alpha (fully transparent pixels
/// do not count; an all-transparent image averages to black).
pub(crate) fn average_color(img: &RgbaImage) -> Rgb {
    let (mut r, mut g, mut b, mut a) = (0u64, 0u64, 0u64, 0u64);
    for p in img.as_raw().chunks_exact(4) {
        let w = p[3] as u64;
        r += p[0] as u64 * w;
        g += p[1] as u64 * w;
        b += p[2] as u64 * w;
        a += w;
    }
    if a == 0 {
        return Rgb(0, 0, 0);
    }
    let avg = |c: u64| ((c + a / 2) / a).min(255) as u8;
    Rgb(avg(r), avg(g), avg(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg_header(w: u32, h: u32) -> Header {
        Header {
            format: Format::Jpeg,
            width: w,
            height: h,
            frames: 1,
            jpeg: None,
            heif: None,
        }
    }

    fn fit(w: u32) -> Op {
        Op::Resize(Resize {
            geometry: Geometry::Fit {
                width: Some(w),
                height: None,
            },
            enlarge: Enlarge::Allow,
        })
    }

    fn shrink(ops: Vec<Op>, o: Option<u16>, average: bool) -> u32 {
        let p = Pipeline {
            ops,
            ..Default::default()
        };
        shrink_on_load(&jpeg_header(4272, 2848), &p, o, average)
    }

    #[test]
    fn shrink_factor_keeps_headroom() {
        // 1/8 from a factor of 8, 1/2 from 4 (2× left for Lanczos).
        assert_eq!(shrink(vec![fit(300)], None, false), 8); // factor 14.2
        assert_eq!(shrink(vec![fit(267)], None, false), 8); // factor 16
        assert_eq!(shrink(vec![fit(534)], None, false), 8); // factor 8
        assert_eq!(shrink(vec![fit(535)], None, false), 2); // factor 7.98
        assert_eq!(shrink(vec![fit(1000)], None, false), 2); // factor 4.3
        assert_eq!(shrink(vec![fit(1500)], None, false), 1); // factor 2.8
                                                             // Auto-orient first: the resize applies to the swapped size (2848
                                                             // wide), so 400 px wide is a factor of 7.1 only.
        assert_eq!(shrink(vec![Op::AutoOrient, fit(400)], Some(6), false), 2);
        assert_eq!(shrink(vec![Op::AutoOrient, fit(400)], Some(1), false), 8);
        assert_eq!(shrink(vec![Op::AutoOrient, fit(178)], Some(6), false), 8);
        // Any other pixel operation first: the resize input is unknown.
        let crop = Op::Crop(Crop {
            width: Some(100),
            height: None,
            gravity: Gravity::NorthWest,
            dx: 0,
            dy: 0,
        });
        assert_eq!(shrink(vec![crop, fit(300)], None, false), 1);
        assert_eq!(shrink(vec![Op::Grayscale, fit(100)], None, false), 1);
        // Never-enlarge keeping the source: no shrink.
        let never = Op::Resize(Resize {
            geometry: Geometry::Fit {
                width: Some(9000),
                height: None,
            },
            enlarge: Enlarge::Never,
        });
        assert_eq!(shrink(vec![never], None, false), 1);
        // Average colour of the whole image: block means are enough.
        assert_eq!(shrink(vec![], None, true), 8);
        assert_eq!(shrink(vec![], None, false), 1);
    }

    #[test]
    fn output_format_rules() {
        let req = |f, only| OutputOptions {
            format: Some(FormatRequest {
                format: f,
                only_if_source_animated: only,
            }),
            ..Default::default()
        };
        assert_eq!(
            output_format(Format::Jpeg, false, &OutputOptions::default()),
            Format::Jpeg
        );
        assert_eq!(
            output_format(Format::Jpeg, false, &req(Format::Png, false)),
            Format::Png
        );
        assert_eq!(
            output_format(Format::Jpeg, false, &req(Format::Gif, true)),
            Format::Jpeg
        );
        assert_eq!(
            output_format(Format::Gif, true, &req(Format::Gif, true)),
            Format::Gif
        );
        // Negotiated: the still choice, the animated one for an animation
        // (or the source's format), and a named format always wins.
        let auto = |animated| OutputOptions {
            negotiated: Some(Negotiated {
                still: Format::Avif,
                animated,
            }),
            ..Default::default()
        };
        assert_eq!(
            output_format(Format::Jpeg, false, &auto(Some(Format::Webp))),
            Format::Avif
        );
        assert_eq!(
            output_format(Format::Gif, true, &auto(Some(Format::Webp))),
            Format::Webp
        );
        assert_eq!(output_format(Format::Gif, true, &auto(None)), Format::Gif);
        let named = OutputOptions {
            format: req(Format::Png, false).format,
            ..auto(Some(Format::Webp))
        };
        assert_eq!(output_format(Format::Jpeg, false, &named), Format::Png);
    }

    #[test]
    fn frame_selection_keeps_duration() {
        let frames = |n: usize| -> Vec<Frame> {
            (0..n)
                .map(|k| Frame {
                    img: RgbaImage::from_pixel(1, 1, image::Rgba([k as u8, 0, 0, 255])),
                    delay_ms: 10,
                })
                .collect()
        };
        let mut f = frames(10);
        select_frames(&mut f, FrameSelect::AtMost(3));
        assert_eq!(
            f.iter()
                .map(|x| x.img.get_pixel(0, 0).0[0])
                .collect::<Vec<_>>(),
            vec![0, 3, 6]
        );
        assert_eq!(f.iter().map(|x| x.delay_ms).sum::<u32>(), 100);
        let mut f = frames(10);
        select_frames(&mut f, FrameSelect::AtPermille(1000));
        assert_eq!(f[0].img.get_pixel(0, 0).0[0], 9);
        let mut f = frames(10);
        select_frames(&mut f, FrameSelect::First);
        assert_eq!(f.len(), 1);
    }
}
