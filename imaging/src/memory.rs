//! The memory estimate: the peak working set of one job, from the source's
//! header and the typed [`Pipeline`], before any pixel is decoded.
//!
//! The server admits a job only while the estimates of the running jobs
//! add up to no more than its memory budget, so the estimate errs on the
//! large side. It follows the executor step by step with the same decode
//! plan (`engine::plan`: shrink-on-load factor, frames kept) and the same
//! geometry ([`crate::geometry`]), and takes the largest of:
//!
//! | step | bytes held at its peak |
//! |---|---|
//! | decode | every decoded frame (RGBA, after shrink-on-load), plus the decoder's own buffers: a progressive JPEG keeps its whole coefficient image ([`PROGRESSIVE_COEF_BYTES`] per source pixel, whatever the scale), a sequential one decoded at 1/8 a little per block ([`SEQUENTIAL_EIGHTH_BYTES_PER_BLOCK`]); at 1/8 (`eighth.rs`) either also holds one scan's entropy-coded data without byte stuffing, at most the source's size; the `image` crate decodes into its own layout before the RGBA copy |
//! | each op | every frame at the larger of its input and output size, plus one frame's input, output and scratch (a resize's intermediate pass, an orientation's copy) |
//! | encode | the output frames plus the encoder's per-pixel needs ([`encode_bytes_per_pixel`]; [`JPEG_TRELLIS_BYTES_PER_PIXEL`] with trellis) and its fixed state ([`encoder_fixed_bytes`]) |
//!
//! On top of the largest step: the source bytes and watermark objects
//! (held by the caller for the whole job), each watermark's decoded image,
//! and [`JOB_OVERHEAD`].

use crate::engine::{self, Plan};
use crate::error::Result;
use crate::geometry;
use crate::pipeline::*;
use crate::{probe, shapes, Assets, Limits};

/// Bytes every job costs besides its pixels: decoder and encoder tables,
/// the blocking thread's stack in use, small vectors.
pub const JOB_OVERHEAD: u64 = 2 << 20;

/// Bytes per source pixel of a progressive JPEG's coefficient buffer
/// (libjpeg keeps every DCT coefficient of the whole image, 2 bytes each:
/// 2 for luma, 1 for two 4:2:0 chroma planes, rounded up to 4 for 4:4:4
/// and CMYK files).
pub const PROGRESSIVE_COEF_BYTES: u64 = 4;

/// Bytes per 64 source pixels that the 1/8-scale decoder of a sequential
/// JPEG (`eighth.rs`) keeps besides the RGBA frame: for each component at
/// full resolution (4:4:4, the most), a block's DC (2) and its sample in
/// the component's plane (1). 4:2:0 chroma keeps 2×2 samples per 16×16
/// pixels instead, less.
pub const SEQUENTIAL_EIGHTH_BYTES_PER_BLOCK: u64 = 9;

/// Bytes per source pixel that libheif holds while it decodes, on top of
/// the RGBA frame (4) priced for every format: first the decoded YCbCr
/// planes (up to 6 bytes: 4:4:4 at 10 or 12 bits, stored in 16) beside its
/// own RGBA image, then that image beside the engine's copy of it; dav1d
/// adds its padded reference frames. Measured on a 13.4 Mpx corpus photo
/// converted with `heif-enc` (4:2:0, 8-bit), peak RSS less the idle
/// process: 8.1 bytes per pixel for HEIC, 10.4 for AVIF. There is no
/// shrink-on-load for HEIF (`heif`).
pub const HEIF_DECODE_BYTES: u64 = 7;

/// mozjpeg-rs' working memory per output pixel for a trellis-quantised
/// JPEG (the bucket's `jpeg_trellis`), besides the RGBA frame: its YCbCr
/// planes and every block's coefficients, kept for the Huffman pass.
/// Measured: a 20 Mpx image peaks 276 MB above its RGBA frame, 13.8 bytes
/// per pixel, baseline or progressive.
pub const JPEG_TRELLIS_BYTES_PER_PIXEL: u64 = 14;

/// The encoder's working memory per output pixel, besides the RGBA frame
/// it reads: JPEG output buffer sized by libjpeg-turbo's worst case (plus
/// an RGB copy when alpha is flattened); WebP's YUV(A) planes, analysis
/// buffers and output (the RGBA frame is imported without a copy); AVIF's RGBA copy, 4:4:4 planes and rav1e's
/// reference and reconstruction frames. `trellis`: a JPEG written by
/// mozjpeg-rs ([`JPEG_TRELLIS_BYTES_PER_PIXEL`]).
pub fn encode_bytes_per_pixel(format: Format, trellis: bool) -> u64 {
    match format {
        Format::Jpeg if trellis => JPEG_TRELLIS_BYTES_PER_PIXEL,
        Format::Jpeg => 6,
        // Measured: a 20 Mpx photo converted whole peaks 120 MB above its
        // RGBA frame in libwebp (docs/memory.md).
        Format::Webp => 8,
        Format::Png | Format::Bmp | Format::Tiff => 8,
        Format::Gif => 8,
        Format::Avif | Format::Heic => 40,
    }
}

/// The encoder's fixed state: rav1e's tables and thread-local state are
/// several MiB whatever the image size; the others need little.
pub fn encoder_fixed_bytes(format: Format) -> u64 {
    match format {
        Format::Avif | Format::Heic => 24 << 20,
        _ => 1 << 20,
    }
}

/// The estimated peak working set, in bytes, of running `pipeline` on
/// `source` with `assets`. Errors are the engine's own header errors
/// (`Error::TooLarge` for a source over `limits`, `Error::Decode` for a
/// file that is no image), found without decoding.
pub fn estimate(
    source: &[u8],
    pipeline: &Pipeline,
    assets: &Assets,
    limits: &Limits,
) -> Result<u64> {
    let held = (source.len() as u64)
        .saturating_add(assets.images.values().map(|a| a.len() as u64).sum())
        .saturating_add(JOB_OVERHEAD);
    if pipeline.video.is_some() {
        // The frame's size is known only once ffmpeg has run, so a 4K frame
        // is reserved: its PNG, then the RGBA frame, one op's output and the
        // encoder's buffers. The ffmpeg child's own memory is outside this
        // process (capped by `prlimit`, `video`).
        let frame = crate::video::MAX_FRAME_PIXELS * 4;
        return Ok(held
            .saturating_add(crate::video::MAX_FRAME_BYTES)
            .saturating_add(frame.saturating_mul(3)));
    }
    // The terminals answered from the header, and the identity, copy the
    // source at most once.
    let header_only = matches!(pipeline.terminal, Some(Terminal::Exif))
        || (pipeline.terminal == Some(Terminal::Info)
            && pipeline.ops.is_empty()
            && pipeline.output == OutputOptions::default());
    let plan = engine::plan(source, pipeline, limits)?;
    if header_only || pipeline.is_identity() {
        return Ok(held.saturating_add(source.len() as u64));
    }
    // What the engine refuses from the headers (an output side over the
    // limit, the work budget) is refused for that, not for its memory.
    engine::check_budget(source, pipeline, &plan, limits)?;
    let marks: u64 = assets
        .images
        .values()
        .filter_map(|a| probe::inspect(a, limits).ok())
        .map(|h| rgba(h.width, h.height).saturating_mul(2))
        .sum();
    let encode = pipeline.terminal != Some(Terminal::AverageColor);
    Ok(held.saturating_add(marks).saturating_add(pixels_peak(
        pipeline,
        &plan,
        encode,
        source.len() as u64,
    )))
}

/// Bytes of one RGBA frame.
fn rgba(w: u32, h: u32) -> u64 {
    u64::from(w) * u64::from(h) * 4
}

/// The largest pixel memory of any step: decode, each op, encode.
fn pixels_peak(pipeline: &Pipeline, plan: &Plan, encode: bool, source_len: u64) -> u64 {
    let hd = &plan.header;
    let shrink = plan.shrink.max(1);
    let mut frames = if plan.first_only {
        1
    } else {
        u64::from(hd.frames.max(1))
    };
    // The pixels as decoded; libjpeg-turbo rounds the scaled size up.
    let (mut bw, mut bh) = (hd.width.div_ceil(shrink), hd.height.div_ceil(shrink));
    // The size the geometry computes from: the full-size source until the
    // first resize (shrink-on-load is invisible to the pipeline).
    let (mut lw, mut lh) = (hd.width.max(1), hd.height.max(1));
    let mut shrunk = shrink > 1;
    let turbo = plan.header.jpeg.as_ref().is_some_and(|j| j.components != 4);
    let decoder_extra = match &plan.header.jpeg {
        // SOF2 (and the other progressive SOFs) buffer every coefficient.
        // At 1/8, eighth.rs tries first: it keeps less per pixel, but
        // also a scan's data without byte stuffing.
        Some(j) if matches!(j.sof, 0xC2 | 0xC6 | 0xCA | 0xCE) => {
            let eighth = if turbo && shrink == 8 { source_len } else { 0 };
            (u64::from(hd.width) * u64::from(hd.height))
                .saturating_mul(PROGRESSIVE_COEF_BYTES)
                .saturating_add(eighth)
        }
        // The 1/8-scale decoder of eighth.rs keeps a little per block, and
        // the scan it decodes without byte stuffing.
        Some(j) if turbo && shrink == 8 && matches!(j.sof, 0xC0 | 0xC1) => (u64::from(hd.width)
            * u64::from(hd.height))
        .div_ceil(64)
        .saturating_mul(SEQUENTIAL_EIGHTH_BYTES_PER_BLOCK)
        .saturating_add(source_len),
        _ if turbo => 0,
        _ if matches!(hd.format, Format::Heic | Format::Avif) => {
            u64::from(hd.width) * u64::from(hd.height) * HEIF_DECODE_BYTES
        }
        // The image crate's own layout, then the RGBA copy; a GIF or WebP
        // animation also keeps its compositing canvas.
        _ => rgba(bw, bh).saturating_mul(2),
    };
    let mut peak = rgba(bw, bh)
        .saturating_mul(frames)
        .saturating_add(decoder_extra);
    let mut oriented = false;
    for op in &pipeline.ops {
        let input = rgba(bw, bh);
        // Scratch bytes of one frame besides its input and output.
        let mut scratch = 0u64;
        match op {
            Op::AutoOrient => {
                if let (Some(o @ 2..=8), false) = (plan.orientation, oriented) {
                    // The executor orients a copy of each frame.
                    scratch = input;
                    if geometry::orientation_swaps(o) {
                        (bw, bh) = (bh, bw);
                        (lw, lh) = (lh, lw);
                    }
                }
                oriented = true;
            }
            Op::Frames(sel) => {
                frames = match sel {
                    FrameSelect::First | FrameSelect::AtPermille(_) => 1,
                    FrameSelect::AtMost(k) => frames.min(u64::from((*k).max(1))),
                };
            }
            Op::Resize(r) => {
                let base = if shrunk { (lw, lh) } else { (bw, bh) };
                let p = geometry::plan_resize(base.0, base.1, r, pipeline.rounding);
                let (sw, sh) = p.scaled;
                // fast_image_resize's horizontal pass (scaled width × input
                // height), the scaled image, and a premultiplied copy of
                // the input when it has alpha (counted always: opacity is
                // known only after decoding).
                scratch = rgba(sw, bh)
                    .saturating_add(rgba(sw, sh))
                    .saturating_add(input);
                (bw, bh) = p.output_size();
                (lw, lh) = (bw, bh);
                shrunk = false;
            }
            Op::Crop(c) => {
                if let Ok(rect) = geometry::crop_rect(bw, bh, c) {
                    (bw, bh) = (rect.width, rect.height);
                }
            }
            Op::IndexCrop {
                axis,
                length,
                index,
            } => {
                if let Some(rect) = geometry::index_crop_rect(bw, bh, *axis, *length, *index) {
                    (bw, bh) = (rect.width, rect.height);
                }
            }
            Op::Rotate { degrees } => {
                (bw, bh) = shapes::rotated_size(bw, bh, degrees % 360);
            }
            Op::Circle { .. } => {
                let s = bw.min(bh);
                (bw, bh) = (s, s);
            }
            // Filters run in bands of premultiplied floats: about one more
            // frame's worth at most.
            Op::Sharpen { .. } | Op::Blur(_) => scratch = input,
            Op::Watermark(_)
            | Op::RoundedCorners { .. }
            | Op::Flip(_)
            | Op::Bright(_)
            | Op::Contrast(_)
            | Op::Flood(_)
            | Op::Grayscale => {}
        }
        if !matches!(op, Op::AutoOrient | Op::Frames(_) | Op::Resize(_)) {
            // Only the first resize computes from the full-size source.
            (lw, lh) = (bw, bh);
            shrunk = false;
        }
        let output = rgba(bw, bh);
        let step = input
            .max(output)
            .saturating_mul(frames)
            .saturating_add(input)
            .saturating_add(output)
            .saturating_add(scratch);
        peak = peak.max(step);
    }
    if encode {
        let format = plan.out_format;
        let kept = if matches!(format, Format::Gif | Format::Webp) {
            frames
        } else {
            1
        };
        let px = u64::from(bw) * u64::from(bh);
        let step = rgba(bw, bh)
            .saturating_mul(frames)
            .saturating_add(
                px.saturating_mul(kept)
                    .saturating_mul(encode_bytes_per_pixel(format, pipeline.output.trellis)),
            )
            .saturating_add(encoder_fixed_bytes(format));
        peak = peak.max(step);
    }
    peak
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// A baseline JPEG of `w`×`h` (grey), encoded for real.
    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([90, 90, 90, 255]));
        let frame = crate::decode::Frame { img, delay_ms: 0 };
        let p = crate::encode::EncodeParams {
            format: Format::Jpeg,
            quality: 80,
            quality_named: false,
            scan: crate::encode::JpegScan::Baseline,
            trellis: false,
            icc: None,
            exif: None,
        };
        crate::encode::encode(&[frame], true, &p).unwrap()
    }

    fn fit(width: u32, format: Option<Format>) -> Pipeline {
        Pipeline {
            ops: vec![Op::Resize(Resize {
                geometry: Geometry::Fit {
                    width: Some(width),
                    height: None,
                },
                enlarge: Enlarge::Never,
            })],
            output: OutputOptions {
                format: format.map(|format| FormatRequest {
                    format,
                    only_if_source_animated: false,
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn est(src: &[u8], p: &Pipeline) -> u64 {
        estimate(src, p, &Assets::default(), &Limits::default()).unwrap()
    }

    #[test]
    fn shrink_on_load_is_counted() {
        // 4000×3000 to 200 px wide: decoded at 1/8 (500×375), so the
        // decode is under 1 MiB and the estimate is small.
        let src = jpeg(4000, 3000);
        let thumb = est(&src, &fit(200, None));
        assert!(thumb < 8 * MIB, "{thumb}");
        // Converting the whole image keeps all 12 Mpx: 48 MB of RGBA at
        // least, plus the encoder's.
        let full = est(
            &src,
            &Pipeline {
                output: OutputOptions {
                    format: Some(FormatRequest {
                        format: Format::Png,
                        only_if_source_animated: false,
                    }),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        assert!(full > 48_000_000 + 12_000_000 * 8, "{full}");
    }

    #[test]
    fn encoders_differ_and_avif_costs_most() {
        let src = jpeg(2000, 1500);
        let j = est(&src, &fit(1000, Some(Format::Jpeg)));
        let w = est(&src, &fit(1000, Some(Format::Webp)));
        let a = est(&src, &fit(1000, Some(Format::Avif)));
        assert!(j <= w && w < a, "{j} {w} {a}");
        // The AVIF encoder's fixed state is counted.
        assert!(a > 24 * MIB);
        // mozjpeg-rs keeps every block's coefficients: a re-encode at
        // another quality is priced at its bytes per pixel besides the frame.
        let mut trellis = Pipeline::default();
        trellis.output.quality = Some(crate::Quality::Forced(70));
        let plain = est(&src, &trellis);
        trellis.output.trellis = true;
        let t = est(&src, &trellis);
        let frame_and_encoder = 2000 * 1500 * (4 + JPEG_TRELLIS_BYTES_PER_PIXEL);
        assert!(
            plain < frame_and_encoder && t >= frame_and_encoder,
            "{plain} {t}"
        );
    }

    #[test]
    fn a_heif_source_is_priced_at_full_size_with_its_decoder() {
        // No shrink-on-load: a thumbnail costs the whole 320×200 image,
        // RGBA plus libheif's planes and image.
        for src in [
            &include_bytes!("../tests/fixtures/heif/alpha.heic")[..],
            &include_bytes!("../tests/fixtures/heif/12bit.avif")[..],
        ] {
            let e = est(src, &fit(16, Some(Format::Jpeg)));
            assert!(e >= 320 * 200 * (4 + HEIF_DECODE_BYTES), "{e}");
        }
    }

    #[test]
    fn the_source_and_assets_are_held() {
        let src = jpeg(64, 64);
        let p = fit(32, None);
        let alone = est(&src, &p);
        let mut assets = Assets::default();
        assets.images.insert("mark.jpg".into(), jpeg(1000, 1000));
        let with_mark = estimate(&src, &p, &assets, &Limits::default()).unwrap();
        // The mark's bytes and its decoded RGBA (twice, scaled copy).
        assert!(with_mark >= alone + 8_000_000, "{alone} {with_mark}");
    }

    #[test]
    fn header_errors_are_the_engines() {
        let p = fit(32, None);
        assert!(matches!(
            estimate(b"not an image", &p, &Assets::default(), &Limits::default()),
            Err(crate::Error::Decode(_))
        ));
        let tight = Limits {
            max_pixels: 100,
            ..Limits::default()
        };
        assert!(matches!(
            estimate(&jpeg(64, 64), &p, &Assets::default(), &tight),
            Err(crate::Error::TooLarge { .. })
        ));
    }

    #[test]
    fn growing_ops_raise_the_peak() {
        let src = jpeg(100, 100);
        let small = est(&src, &fit(50, Some(Format::Png)));
        let pad = Pipeline {
            ops: vec![Op::Resize(Resize {
                geometry: Geometry::Pad {
                    width: 4000,
                    height: 4000,
                    color: Rgba::WHITE,
                },
                enlarge: Enlarge::Allow,
            })],
            ..Default::default()
        };
        let big = est(&src, &pad);
        // A 16 Mpx canvas: 64 MB of RGBA plus its scratch.
        assert!(big > 64_000_000 && big > 10 * small, "{small} {big}");
    }
}
