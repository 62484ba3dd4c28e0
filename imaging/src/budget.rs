//! The work budget: what a request will cost, estimated from the typed
//! [`Pipeline`] and the source's header before any pixel is decoded.
//!
//! The unit is one light pass over one pixel (a brightness LUT, a flip,
//! a copy): about 1.5 ns per pixel on one core of the release build.
//! Each step's cost is its pixel count times a weight:
//!
//! | step | pixels | weight |
//! |---|---|---|
//! | decode | every decoded frame of the source | [`decode_weight`]: 4; HEIC 24, AVIF 12 |
//! | resize | input + resampled | [`W_RESAMPLE`], plus 1 per output pixel |
//! | arbitrary-angle rotation | output | [`W_ROTATE`] |
//! | blur, sharpen | the blurred region | [`blur_weight`]: 2·(2r+1) + 12 for kernel radius r ≤ 12, 60 beyond (three box passes) |
//! | watermark | the image (×2 when tiled) | [`W_WATERMARK`] |
//! | any other op | its output | 1 |
//! | encode | every encoded frame | [`encode_weight`]: JPEG 4 ([`W_ENCODE_JPEG_TRELLIS`] 24 with trellis); PNG 310 up to 2 Mpx (zlib level 6), 21 beyond (fdeflate); WebP 72, 330 when the source may have alpha; GIF 16; AVIF 300; HEIC 700; others 2; ×8 with a size limit (its quality search) |
//!
//! Every op counts once per frame it runs on, so repeated ops inside one
//! stage add up. The sizes are followed through the operations with the
//! same geometry the executor uses ([`crate::geometry`]), so the estimate
//! also finds an operation that would grow the canvas past
//! [`Limits::max_output_pixels`] (`Error::TooLarge` before allocating).
//! Watermark images are not known yet; their own limits apply when they
//! are decoded.

use crate::error::Result;
use crate::geometry;
use crate::pipeline::*;
use crate::probe::check;
use crate::shapes;
use crate::Limits;

/// Default budget: 4·10⁹ units, about 6 s of one core; a full decode and
/// resize of the largest source every vendor accepts (250 Mpx) costs
/// about 1.5·10⁹, one r ≥ 12 blur of a 10 Mpx photo 6·10⁸.
pub const DEFAULT_MAX_WORK: u64 = 4_000_000_000;

/// Decoding, per source pixel (the formats the `image` crate and
/// libjpeg-turbo decode; [`decode_weight`] for all).
pub const W_DECODE: u64 = 4;

/// Per-pixel weight of decoding a `format` source. HEVC and AV1 are
/// video decoders without shrink-on-load (`heif`); measured on corpus
/// photos converted with `heif-enc`, one core (`costbench`).
pub fn decode_weight(format: Format) -> u64 {
    match format {
        Format::Heic => W_DECODE_HEIC,
        Format::Avif => W_DECODE_AVIF,
        _ => W_DECODE,
    }
}

/// Decoding HEVC (libde265) and converting to RGBA, per source pixel.
pub const W_DECODE_HEIC: u64 = 24;
/// Decoding AV1 (dav1d) and converting to RGBA, per source pixel.
pub const W_DECODE_AVIF: u64 = 12;
/// Encoding HEVC (x265, one thread), per output pixel.
pub const W_ENCODE_HEIC: u64 = 700;
/// Encoding a JPEG with trellis quantisation (mozjpeg-rs, the bucket's
/// `jpeg_trellis`), per output pixel. Measured on the nine corpus photos
/// made 300 and 1200 px wide, one core: 37 and 29 ns per pixel, against 5
/// and 4 for libjpeg-turbo with fitted Huffman tables.
pub const W_ENCODE_JPEG_TRELLIS: u64 = 24;
/// Resampling, per input and per resampled pixel.
pub const W_RESAMPLE: u64 = 2;
/// Arbitrary-angle rotation (bilinear), per output pixel.
pub const W_ROTATE: u64 = 8;
/// Drawing a watermark, per image pixel.
pub const W_WATERMARK: u64 = 2;

/// Largest kernel radius applied exactly (the executor's
/// `EXACT_GAUSSIAN_MAX_RADIUS`); wider blurs cost the same whatever r.
const EXACT_RADIUS: u64 = 12;

/// What the estimate needs to know about the source.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// The source's format: decoders differ by an order of magnitude.
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Frames that will be decoded (1 when only the first is needed).
    pub frames: u32,
    /// The EXIF orientation that `AutoOrient` would apply.
    pub orientation: Option<u16>,
    /// The source may have transparent pixels (its header does not rule
    /// it out): WebP then encodes an alpha plane, at four times the cost.
    pub alpha: bool,
}

/// Per-pixel weight of a blur or sharpen whose Gaussian kernel radius is
/// `radius` (after the executor's own derivation from sigma).
pub fn blur_weight(radius: u64) -> u64 {
    let kernel = if radius <= EXACT_RADIUS {
        2 * (2 * radius + 1)
    } else {
        48
    };
    kernel + 12
}

/// Per-pixel weight of encoding one `pixels`-pixel frame in `format`;
/// `alpha`: the source may have transparent pixels
/// ([`Source::alpha`]). Measured with each encoder alone on corpus photos,
/// one core: PNG 345 ns per pixel at zlib level 6 (frames up to
/// `PNG_BEST_MAX_PIXELS`), 23.5 ns in fdeflate's fast mode beyond, both
/// priced as RGBA (×4/3); WebP 100–106 ns per opaque pixel, 484–489 ns
/// with an alpha plane (a PNG with soft edges). `trellis`: a JPEG written
/// with trellis quantisation ([`W_ENCODE_JPEG_TRELLIS`]).
pub fn encode_weight(format: Format, pixels: u64, alpha: bool, trellis: bool) -> u64 {
    match format {
        Format::Jpeg if trellis => W_ENCODE_JPEG_TRELLIS,
        Format::Jpeg => 4,
        Format::Png if pixels <= crate::encode::PNG_BEST_MAX_PIXELS => 310,
        Format::Png => 21,
        Format::Webp if alpha => 330,
        Format::Webp => 72,
        Format::Gif => 16,
        Format::Avif => 300,
        Format::Heic => W_ENCODE_HEIC,
        Format::Bmp | Format::Tiff => 2,
    }
}

/// The kernel radius the executor uses for a Gaussian of `sigma_milli`
/// with the given radius (0 = from sigma): 3σ, rounded up.
fn gaussian_radius(radius: u32, sigma_milli: u32) -> u64 {
    let three_sigma = (u64::from(sigma_milli) * 3).div_ceil(1000);
    match (radius, sigma_milli) {
        (0, _) => three_sigma,
        (r, 0) => u64::from(r),
        (r, _) => u64::from(r).min(three_sigma),
    }
}

/// `Error::TooLarge` when an operation grows a `before`-pixel image to
/// `w`×`h` past `limits.max_output_pixels`; shrinking is always allowed.
pub(crate) fn check_growth(limits: &Limits, before: u64, w: u32, h: u32) -> Result<()> {
    let after = u64::from(w) * u64::from(h);
    if after > before {
        check("output pixels", after, limits.max_output_pixels)?;
    }
    Ok(())
}

/// Estimates the cost of running `pipeline` on `src` and encoding the
/// result as `out_format` (`None` for an information answer); refuses
/// with `Error::TooLarge` when it is over `limits.max_work` or when an
/// operation would grow the image past `limits.max_output_pixels` or
/// `max_output_side`.
pub fn check_pipeline(
    pipeline: &Pipeline,
    src: Source,
    out_format: Option<Format>,
    limits: &Limits,
) -> Result<u64> {
    let cost = estimate(pipeline, src, out_format, limits)?;
    check("estimated work", cost, limits.max_work)?;
    Ok(cost)
}

/// The cost in work units (see the module doc), following the image's
/// size through the operations.
pub fn estimate(
    pipeline: &Pipeline,
    src: Source,
    out_format: Option<Format>,
    limits: &Limits,
) -> Result<u64> {
    let (mut w, mut h) = (src.width.max(1), src.height.max(1));
    let mut frames = u64::from(src.frames.max(1));
    let px = |w: u32, h: u32| u64::from(w) * u64::from(h);
    let mut cost = px(w, h)
        .saturating_mul(frames)
        .saturating_mul(decode_weight(src.format));
    let mut oriented = false;
    for op in &pipeline.ops {
        let before = px(w, h);
        // Cost of the op on one frame.
        let one = match op {
            Op::AutoOrient => {
                if let (Some(o), false) = (src.orientation, oriented) {
                    if geometry::orientation_swaps(o) {
                        (w, h) = (h, w);
                    }
                }
                oriented = true;
                before
            }
            Op::Frames(sel) => {
                frames = match sel {
                    FrameSelect::First | FrameSelect::AtPermille(_) => 1,
                    FrameSelect::AtMost(k) => frames.min(u64::from((*k).max(1))),
                };
                0
            }
            Op::Resize(r) => {
                let plan = geometry::plan_resize(w, h, r, pipeline.rounding);
                let (sw, sh) = plan.scaled;
                let (ow, oh) = plan.output_size();
                for (cw, ch) in [(sw, sh), (ow, oh)] {
                    check(
                        crate::error::OUTPUT_WIDTH,
                        u64::from(cw),
                        u64::from(limits.max_output_side),
                    )?;
                    check(
                        crate::error::OUTPUT_HEIGHT,
                        u64::from(ch),
                        u64::from(limits.max_output_side),
                    )?;
                    check_growth(limits, before, cw, ch)?;
                }
                (w, h) = (ow, oh);
                (before + px(sw, sh)) * W_RESAMPLE + px(ow, oh)
            }
            Op::Crop(c) => {
                // A start outside the image is the executor's error to
                // report; the size is unchanged until then.
                if let Ok(r) = geometry::crop_rect(w, h, c) {
                    (w, h) = (r.width, r.height);
                }
                px(w, h)
            }
            Op::IndexCrop {
                axis,
                length,
                index,
            } => {
                if let Some(r) = geometry::index_crop_rect(w, h, *axis, *length, *index) {
                    (w, h) = (r.width, r.height);
                }
                px(w, h)
            }
            Op::Rotate { degrees } => {
                let d = degrees % 360;
                let (rw, rh) = shapes::rotated_size(w, h, d);
                if d % 90 != 0 {
                    check(
                        crate::error::OUTPUT_WIDTH,
                        u64::from(rw),
                        u64::from(limits.max_output_side),
                    )?;
                    check(
                        crate::error::OUTPUT_HEIGHT,
                        u64::from(rh),
                        u64::from(limits.max_output_side),
                    )?;
                    check_growth(limits, before, rw, rh)?;
                }
                (w, h) = (rw, rh);
                let weight = if d % 90 == 0 { 1 } else { W_ROTATE };
                px(w, h) * weight
            }
            Op::Circle { .. } => {
                // Never larger than the short side's square.
                let s = w.min(h);
                (w, h) = (s, s);
                px(w, h)
            }
            Op::Sharpen { sigma_milli, .. } => {
                before * blur_weight(gaussian_radius(0, *sigma_milli))
            }
            Op::Blur(b) => {
                let area = match &b.region {
                    Some(c) => {
                        geometry::crop_rect(w, h, c).map_or(before, |r| px(r.width, r.height))
                    }
                    None => before,
                };
                let radius = match b.kind {
                    BlurKind::Gaussian => gaussian_radius(b.radius, b.sigma_milli),
                    // A box is one running-sum pass whatever its radius.
                    BlurKind::Box => 0,
                };
                area * blur_weight(radius)
            }
            Op::Watermark(wm) => {
                let tiles = if wm.tile.is_some() { 2 } else { 1 };
                before * W_WATERMARK * tiles
            }
            Op::RoundedCorners { .. }
            | Op::Flip(_)
            | Op::Bright(_)
            | Op::Contrast(_)
            | Op::Flood(_)
            | Op::Grayscale => before,
        };
        cost = cost.saturating_add(one.saturating_mul(frames));
    }
    if let Some(format) = out_format {
        let kept = if format.can_animate() { frames } else { 1 };
        let out = &pipeline.output;
        let searches = match format {
            Format::Jpeg if out.size_limit.is_some() => 8,
            // `jpeg_progressive: auto` writes both scans of small outputs.
            Format::Jpeg if out.progressive_auto && !out.progressive => 2,
            _ => 1,
        };
        let enc = px(w, h)
            .saturating_mul(kept)
            .saturating_mul(encode_weight(format, px(w, h), src.alpha, out.trellis))
            .saturating_mul(searches);
        cost = cost.saturating_add(enc);
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn src(w: u32, h: u32) -> Source {
        Source {
            format: Format::Jpeg,
            width: w,
            height: h,
            frames: 1,
            orientation: None,
            alpha: false,
        }
    }

    fn blur(r: u32) -> Op {
        Op::Blur(Blur {
            radius: r,
            sigma_milli: 50_000,
            kind: BlurKind::Gaussian,
            region: None,
        })
    }

    #[test]
    fn repeated_ops_add_up() {
        let one = Pipeline {
            ops: vec![blur(50)],
            ..Default::default()
        };
        let many = Pipeline {
            ops: vec![blur(50); 10],
            ..Default::default()
        };
        let l = Limits::default();
        let c1 = estimate(&one, src(3872, 2592), Some(Format::Jpeg), &l).unwrap();
        let c10 = estimate(&many, src(3872, 2592), Some(Format::Jpeg), &l).unwrap();
        let px = 3872 * 2592;
        assert_eq!(c10 - c1, 9 * px * blur_weight(50));
        // One heavy blur of a 10 Mpx photo fits the default budget, ten
        // do not.
        assert!(check_pipeline(&one, src(3872, 2592), Some(Format::Jpeg), &l).is_ok());
        assert!(matches!(
            check_pipeline(&many, src(3872, 2592), Some(Format::Jpeg), &l),
            Err(Error::TooLarge {
                what: "estimated work",
                ..
            })
        ));
    }

    #[test]
    fn radius_and_frames_count() {
        let l = Limits::default();
        assert!(blur_weight(1) < blur_weight(5));
        assert_eq!(blur_weight(13), blur_weight(1000));
        let p = Pipeline {
            ops: vec![Op::Grayscale],
            ..Default::default()
        };
        let s1 = estimate(&p, src(100, 100), None, &l).unwrap();
        let s3 = estimate(
            &p,
            Source {
                frames: 3,
                ..src(100, 100)
            },
            None,
            &l,
        )
        .unwrap();
        assert_eq!(s3, 3 * s1);
    }

    #[test]
    fn the_largest_plain_thumbnail_fits() {
        let p = Pipeline {
            ops: vec![Op::Resize(Resize {
                geometry: Geometry::Fit {
                    width: Some(300),
                    height: None,
                },
                enlarge: Enlarge::Never,
            })],
            ..Default::default()
        };
        let l = Limits::default();
        assert!(check_pipeline(&p, src(25_000, 10_000), Some(Format::Webp), &l).is_ok());
    }

    #[test]
    fn growing_the_canvas_is_bounded() {
        let pad = Pipeline {
            ops: vec![Op::Resize(Resize {
                geometry: Geometry::Pad {
                    width: 16_384,
                    height: 16_384,
                    color: Rgba::WHITE,
                },
                enlarge: Enlarge::Allow,
            })],
            ..Default::default()
        };
        let l = Limits::default();
        assert!(matches!(
            estimate(&pad, src(64, 64), Some(Format::Png), &l),
            Err(Error::TooLarge {
                what: "output pixels",
                ..
            })
        ));
        // Shrinking a source larger than the growth limit is fine.
        let small = Pipeline {
            ops: vec![Op::Grayscale, Op::Rotate { degrees: 90 }],
            ..Default::default()
        };
        assert!(estimate(&small, src(15_000, 15_000), None, &l).is_ok());
        let rot = Pipeline {
            ops: vec![Op::Rotate { degrees: 45 }],
            ..Default::default()
        };
        let l2 = Limits {
            max_output_pixels: 10_000,
            ..Limits::default()
        };
        assert!(estimate(&rot, src(100, 100), None, &l2).is_err());
        assert!(estimate(&rot, src(100, 100), None, &l).is_ok());
    }

    /// The encoders are priced at their measured cost: a full-size PNG of
    /// a 13 MP photo in fdeflate's fast mode, one up to 2 Mpx at zlib level
    /// 6, and WebP with and without an alpha plane.
    #[test]
    fn encoders_are_priced_by_mode() {
        let l = Limits::default();
        let none = Pipeline::default();
        let photo = src(4224, 3168);
        let px = 4224 * 3168;
        let png = estimate(&none, photo, Some(Format::Png), &l).unwrap();
        assert_eq!(png, px * (W_DECODE + 21));
        let webp = estimate(&none, photo, Some(Format::Webp), &l).unwrap();
        assert_eq!(webp, px * (W_DECODE + 72));
        let alpha = Source {
            alpha: true,
            ..photo
        };
        let webp_alpha = estimate(&none, alpha, Some(Format::Webp), &l).unwrap();
        assert_eq!(webp_alpha, px * (W_DECODE + 330));
        // A 1920×1080 PNG still gets level 6, at its price.
        let hd = estimate(&none, src(1920, 1080), Some(Format::Png), &l).unwrap();
        assert_eq!(hd, 1920 * 1080 * (W_DECODE + 310));
        // What the default budget still allows: a WebP of a 40 Mpx photo,
        // not of a 60 Mpx one.
        assert!(check_pipeline(&none, src(7300, 5475), Some(Format::Webp), &l).is_ok());
        assert!(check_pipeline(&none, src(9000, 6700), Some(Format::Webp), &l).is_err());
        // A trellis-quantised JPEG at its own price, twice when both scans
        // are compared.
        let mut trellis = Pipeline::default();
        trellis.output.trellis = true;
        let jpeg = estimate(&trellis, photo, Some(Format::Jpeg), &l).unwrap();
        assert_eq!(jpeg, px * (W_DECODE + W_ENCODE_JPEG_TRELLIS));
        trellis.output.progressive_auto = true;
        let both = estimate(&trellis, photo, Some(Format::Jpeg), &l).unwrap();
        assert_eq!(both, px * (W_DECODE + 2 * W_ENCODE_JPEG_TRELLIS));
    }
}
