//! Encoding the working frames into the output format.
//!
//! JPEG goes through libjpeg-turbo (4:2:0, or 4:4:4 for a requested
//! quality of 90 and more; baseline, progressive, or whichever is smaller),
//! or through mozjpeg-rs (safe Rust) when trellis quantisation is asked
//! for (the bucket's `jpeg_trellis`);
//! transparency is flattened onto white here, which is how "outside"
//! pixels of circle/rounded corners/rotation become white in JPEG output
//! (decided at encode time; `docs/oss.md`, "What you can ask for":
//! `circle`). PNG, GIF, BMP and TIFF use the `image` crate, WebP uses
//! libwebp (lossy, with quality, at effort 5; animated when there are
//! several frames).
//! AVIF goes through rav1e (`ravif`): still images only, with alpha, quality
//! as for WebP. HEIC goes through libheif and x265 (`heif`, feature
//! `heic-encode`).

use std::borrow::Cow;
use std::io::Cursor;

use image::{ExtendedColorType, ImageEncoder, RgbaImage};

use crate::decode::Frame;
use crate::error::{Error, Result};
use crate::jpeg;
use crate::pipeline::Format;

/// Largest side libwebp can encode.
const WEBP_MAX_SIDE: u32 = 16383;

/// libwebp's effort (`method`, 0 fast … 6 slow; its default is 4).
/// Measured on the nine corpus photos at q80, one core
/// (`bytesbench`, docs/image-benchmark.md): 5 makes 300 px thumbnails
/// 1.9 % smaller (1.8 % at 1200 px) for 7 % more encode time (6.6 ms
/// against 6.2) at the same SSIM (−0.0008); 6 saves 4.0 % but doubles
/// the encode time (13 ms). `autofilter` saved nothing and took 4–5 times
/// as long; `use_sharp_yuv` added 1.6 % bytes.
const WEBP_METHOD: i32 = 5;

/// rav1e's speed preset for AVIF (1 slow … 10 fast). Measured on a 13 MP
/// photo, one thread: at 10, 0.2 s for a 300 px wide thumbnail, 0.8 s at
/// 1200 px (10 % smaller than WebP at the same quality), 6.5 s for the full
/// image; at 8, files are 13 % smaller but take 3–6 times as long.
const AVIF_SPEED: u8 = 10;

/// Largest PNG (in pixels) compressed with zlib level 6; larger ones use
/// fdeflate's fast mode. Measured on the corpus (`dragonfly`, 13 MP, one
/// core): level 6 costs 345 ns per pixel (4.6 s for the photo), fast mode
/// 23.5 ns, for 4–16 % more bytes (2–5 % at thumbnail sizes). 1920×1080
/// still gets level 6 (0.7 s).
pub(crate) const PNG_BEST_MAX_PIXELS: u64 = 1 << 21;

/// Largest JPEG (in pixels) written with optimized Huffman tables
/// (libjpeg-turbo's `optimize_coding`: a second pass that fits the tables
/// to the image; the pixels are the same). Measured on the nine corpus
/// photos, one core: 3.6 % fewer bytes at 300 px wide and 2.3 % at 1200 px,
/// for 0.3 ms and 3 ms more per image (under 1 % and 2 % of the request).
/// The encoding step takes 2.4 times as long at every size, and it is most
/// of a full-size re-encode, so larger outputs keep the standard tables.
/// Progressive JPEGs always get optimized ones.
pub(crate) const JPEG_OPTIMIZE_MAX_PIXELS: u64 = 1 << 21;

/// Lowest requested JPEG quality written without chroma subsampling
/// (4:4:4); otherwise chroma is halved both ways (4:2:0). The vendors
/// document no rule; this is ImageMagick's (whose `mogrify` Tencent's
/// `imageMogr2` grew from) and libvips'. Luma SSIM cannot see the
/// difference, so it is a choice of fidelity, not a measured trade: a
/// client asking for 90 or more asks for fidelity, and red or blue edges
/// (text, logos, graphics) keep their sharpness, for about 30 % more
/// bytes at 300 px. A quality inherited from the source (no quality in
/// the request) is not such a request: camera photos are saved at 92–98,
/// and their thumbnails stay 4:2:0.
pub(crate) const JPEG_FULL_CHROMA_QUALITY: u8 = 90;

/// The trellis' rate–distortion weight λ = 2^S1 / (2^S2 + the block's mean
/// squared AC coefficient), as its two log-2 scales (S1, S2): a larger λ
/// keeps more coefficients. mozjpeg's own (14.75, 16.5) makes the nine
/// corpus photos' 300 px q80 thumbnails 12 % smaller but loses 0.0027 of
/// luma SSIM (0.0085 on `elephants`): it buys bytes with quality. (16, 15)
/// keeps every photo within 0.0017 of libjpeg-turbo's SSIM at 300 and
/// 1200 px, and saves 2.0 and 2.5 % of the bytes; (16.5, 16) saved 0.1 %
/// more but reached 0.0020, and raising the quality to make up for
/// mozjpeg's λ saved less (`bytesbench`, docs/image-benchmark.md).
const TRELLIS_LAMBDA_LOG_SCALES: (f32, f32) = (16.0, 15.0);

/// How a JPEG output is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JpegScan {
    Baseline,
    Progressive,
    /// Baseline or progressive, whichever is smaller (both are encoded up
    /// to [`JPEG_OPTIMIZE_MAX_PIXELS`]; larger outputs are progressive,
    /// which is then nearly always smaller).
    Smaller,
}

/// How to encode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncodeParams<'a> {
    pub format: Format,
    /// 1–100, used by JPEG, WebP and AVIF.
    pub quality: u8,
    /// The request named the quality (else it is the source's, or the
    /// default): decides JPEG chroma ([`JPEG_FULL_CHROMA_QUALITY`]).
    pub quality_named: bool,
    pub scan: JpegScan,
    /// Trellis quantisation (mozjpeg-rs instead of libjpeg-turbo).
    pub trellis: bool,
    /// ICC profile to embed (JPEG, PNG).
    pub icc: Option<&'a [u8]>,
    /// EXIF (TIFF body) to embed (JPEG).
    pub exif: Option<&'a [u8]>,
}

fn enc_err(e: impl std::fmt::Display) -> Error {
    Error::Encode(e.to_string())
}

/// RGB bytes of `img`, composited onto white where not opaque.
pub(crate) fn flatten_rgb(img: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 4 * 3);
    for p in img.as_raw().chunks_exact(4) {
        let a = p[3] as u32;
        for &c in &p[..3] {
            // c·a + 255·(255 − a), divided by 255 with rounding.
            let v = c as u32 * a + 255 * (255 - a);
            out.push(((v + 127) / 255) as u8);
        }
    }
    out
}

/// `img`'s pixels for an encoder that takes RGB or RGBA: RGB when the
/// image is opaque (a quarter fewer bytes to write, and no alpha channel
/// in the file), else RGBA as it is.
fn rgb_if_opaque(img: &RgbaImage, opaque: bool) -> (Cow<'_, [u8]>, ExtendedColorType) {
    if opaque {
        (Cow::Owned(flatten_rgb(img)), ExtendedColorType::Rgb8)
    } else {
        (Cow::Borrowed(img.as_raw()), ExtendedColorType::Rgba8)
    }
}

/// Encodes `frames` (the first one only, unless the format animates).
pub(crate) fn encode(frames: &[Frame], opaque: bool, p: &EncodeParams<'_>) -> Result<Vec<u8>> {
    let first = frames
        .first()
        .ok_or_else(|| Error::Encode("no frame to encode".into()))?;
    let img = &first.img;
    let (w, h) = img.dimensions();
    match p.format {
        Format::Jpeg => encode_jpeg(img, opaque, p),
        Format::Png => {
            let mut out = Vec::new();
            let compression = if u64::from(w) * u64::from(h) <= PNG_BEST_MAX_PIXELS {
                image::codecs::png::CompressionType::Default
            } else {
                image::codecs::png::CompressionType::Fast
            };
            let mut enc = image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                compression,
                image::codecs::png::FilterType::Adaptive,
            );
            if let Some(icc) = p.icc {
                // An unsupported profile is not worth failing the request.
                let _ = enc.set_icc_profile(icc.to_vec());
            }
            let (pixels, layout) = rgb_if_opaque(img, opaque);
            enc.write_image(&pixels, w, h, layout).map_err(enc_err)?;
            Ok(out)
        }
        Format::Gif => {
            let mut out = Vec::new();
            {
                let mut enc = image::codecs::gif::GifEncoder::new_with_speed(&mut out, 10);
                if frames.len() > 1 {
                    enc.set_repeat(image::codecs::gif::Repeat::Infinite)
                        .map_err(enc_err)?;
                }
                let list = frames.iter().map(|f| {
                    image::Frame::from_parts(
                        f.img.clone(),
                        0,
                        0,
                        image::Delay::from_numer_denom_ms(f.delay_ms, 1),
                    )
                });
                enc.encode_frames(list).map_err(enc_err)?;
            }
            Ok(out)
        }
        Format::Webp => encode_webp(frames, p.quality),
        Format::Bmp => {
            let mut out = Vec::new();
            let mut enc = image::codecs::bmp::BmpEncoder::new(&mut out);
            let (pixels, layout) = rgb_if_opaque(img, opaque);
            enc.encode(&pixels, w, h, layout).map_err(enc_err)?;
            Ok(out)
        }
        Format::Tiff => {
            let mut out = Cursor::new(Vec::new());
            let enc = image::codecs::tiff::TiffEncoder::new(&mut out);
            let (pixels, layout) = rgb_if_opaque(img, opaque);
            enc.write_image(&pixels, w, h, layout).map_err(enc_err)?;
            Ok(out.into_inner())
        }
        Format::Avif => encode_avif(img, p),
        #[cfg(feature = "heic-encode")]
        Format::Heic => crate::heif::encode(img, opaque, p.quality, p.exif),
        #[cfg(not(feature = "heic-encode"))]
        Format::Heic => Err(Error::NotImplemented(
            "HEIC output (this build has no HEVC encoder)".into(),
        )),
    }
}

/// One still AVIF image. An all-opaque image gets no alpha plane (ravif
/// drops it). No metadata is carried, as for WebP.
fn encode_avif(img: &RgbaImage, p: &EncodeParams<'_>) -> Result<Vec<u8>> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let pixels: Vec<ravif::RGBA8> = img
        .as_raw()
        .chunks_exact(4)
        .map(|c| ravif::RGBA8::new(c[0], c[1], c[2], c[3]))
        .collect();
    // The engine already runs one image per core: no extra threads here.
    let out = ravif::Encoder::new()
        .with_quality(f32::from(p.quality.clamp(1, 100)))
        .with_speed(AVIF_SPEED)
        .with_num_threads(Some(1))
        .encode_rgba(ravif::Img::new(pixels.as_slice(), w, h))
        .map_err(enc_err)?;
    Ok(out.avif_file)
}

fn encode_jpeg(img: &RgbaImage, opaque: bool, p: &EncodeParams<'_>) -> Result<Vec<u8>> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let small = (w as u64) * (h as u64) <= JPEG_OPTIMIZE_MAX_PIXELS;
    let quality = p.quality.clamp(1, 100);
    let full_chroma = p.quality_named && quality >= JPEG_FULL_CHROMA_QUALITY;
    // The pixels are prepared once, whether one scan is written or two.
    let rgb = if opaque { None } else { Some(flatten_rgb(img)) };
    let out = if p.trellis {
        let (scale1, scale2) = TRELLIS_LAMBDA_LOG_SCALES;
        let encoder = mozjpeg_rs::Encoder::baseline_optimized()
            .quality(quality)
            // The standard tables, as libjpeg-turbo's: a quality means the
            // same tables whichever encoder writes them.
            .quant_tables(mozjpeg_rs::QuantTableIdx::JpegAnnexK)
            .force_baseline(true)
            .subsampling(if full_chroma {
                mozjpeg_rs::Subsampling::S444
            } else {
                mozjpeg_rs::Subsampling::S420
            })
            .trellis(mozjpeg_rs::TrellisConfig {
                lambda_log_scale1: scale1,
                lambda_log_scale2: scale2,
                ..mozjpeg_rs::TrellisConfig::default()
            });
        let (w, h) = (img.width(), img.height());
        pick_scan(p.scan, small, |progressive| {
            let e = encoder.clone().progressive(progressive);
            match &rgb {
                // The alpha byte of RGBA input is skipped: no copy.
                None => e.encode_rgba(img.as_raw(), w, h),
                Some(rgb) => e.encode_rgb(rgb, w, h),
            }
            .map_err(enc_err)
        })?
    } else {
        let mut c = turbojpeg::Compressor::new().map_err(enc_err)?;
        c.set_quality(i32::from(quality)).map_err(enc_err)?;
        c.set_subsamp(if full_chroma {
            turbojpeg::Subsamp::None
        } else {
            turbojpeg::Subsamp::Sub2x2
        })
        .map_err(enc_err)?;
        c.set_optimize(small).map_err(enc_err)?;
        let image = match &rgb {
            // libjpeg-turbo ignores the alpha byte of RGBA input: no copy.
            None => turbojpeg::Image {
                pixels: img.as_raw().as_slice(),
                width: w,
                pitch: w * 4,
                height: h,
                format: turbojpeg::PixelFormat::RGBA,
            },
            Some(rgb) => turbojpeg::Image {
                pixels: rgb.as_slice(),
                width: w,
                pitch: w * 3,
                height: h,
                format: turbojpeg::PixelFormat::RGB,
            },
        };
        pick_scan(p.scan, small, |progressive| {
            c.set_progressive(progressive).map_err(enc_err)?;
            c.compress_to_vec(image).map_err(enc_err)
        })?
    };
    Ok(jpeg::insert_metadata(out, p.exif, p.icc))
}

/// Writes the scan(s) `scan` asks for with `write` (its argument: whether
/// progressive) and returns the one to answer. `small`: the output is
/// within [`JPEG_OPTIMIZE_MAX_PIXELS`], where `Smaller` compares both.
fn pick_scan(
    scan: JpegScan,
    small: bool,
    mut write: impl FnMut(bool) -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    Ok(match (scan, small) {
        (JpegScan::Baseline, _) => write(false)?,
        (JpegScan::Progressive, _) | (JpegScan::Smaller, false) => write(true)?,
        (JpegScan::Smaller, true) => {
            let baseline = write(false)?;
            let progressive = write(true)?;
            if progressive.len() < baseline.len() {
                progressive
            } else {
                baseline
            }
        }
    })
}

fn encode_webp(frames: &[Frame], quality: u8) -> Result<Vec<u8>> {
    let first = &frames[0].img;
    let (w, h) = first.dimensions();
    if w > WEBP_MAX_SIDE || h > WEBP_MAX_SIDE {
        return Err(Error::TooLarge {
            what: "WebP output side",
            value: w.max(h) as u64,
            limit: WEBP_MAX_SIDE as u64,
        });
    }
    let mut config = webp::WebPConfig::new().map_err(|_| Error::Encode("WebP config".into()))?;
    config.quality = quality as f32;
    config.lossless = 0;
    config.method = WEBP_METHOD;
    if frames.len() == 1 {
        // The RGBA frame goes to libwebp as it is, opaque or not: its RGBA
        // import finds an all-opaque alpha channel and writes no alpha
        // plane, so the output is the same as from RGB, without the
        // full-size RGB copy (3 bytes per pixel) this used to make first,
        // which is what made WebP output cost far more than JPEG's.
        let mem = webp::Encoder::from_rgba(first.as_raw(), w, h).encode_advanced(&config);
        return mem
            .map(|m| m.to_vec())
            .map_err(|e| Error::Encode(format!("WebP: {e:?}")));
    }
    let mut enc = webp::AnimEncoder::new(w, h, &config);
    enc.set_loop_count(0);
    let mut t: i32 = 0;
    for f in frames {
        enc.add_frame(webp::AnimFrame::from_rgba(
            f.img.as_raw(),
            f.img.width(),
            f.img.height(),
            t,
        ));
        t = t.saturating_add(f.delay_ms.max(1).min(i32::MAX as u32) as i32);
    }
    enc.try_encode()
        .map(|m| m.to_vec())
        .map_err(|e| Error::Encode(format!("animated WebP: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG of `w`×`h` noisy pixels through [`encode`] (quality 80).
    fn jpeg_of(w: u32, h: u32) -> Vec<u8> {
        jpeg_with(w, h, 80, JpegScan::Baseline)
    }

    fn jpeg_with(w: u32, h: u32, quality: u8, scan: JpegScan) -> Vec<u8> {
        jpeg_full(w, h, quality, true, scan, false)
    }

    /// `w`×`h` noisy gradients.
    fn noisy(w: u32, h: u32) -> RgbaImage {
        let mut seed = 7u32;
        RgbaImage::from_fn(w, h, |x, y| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let n = (seed >> 24) as u8 / 4;
            image::Rgba([(x % 256) as u8 ^ n, (y % 256) as u8, n, 255])
        })
    }

    fn jpeg_full(
        w: u32,
        h: u32,
        quality: u8,
        quality_named: bool,
        scan: JpegScan,
        trellis: bool,
    ) -> Vec<u8> {
        let frames = [Frame {
            img: noisy(w, h),
            delay_ms: 0,
        }];
        let params = EncodeParams {
            format: Format::Jpeg,
            quality,
            quality_named,
            scan,
            trellis,
            icc: None,
            exif: None,
        };
        encode(&frames, true, &params).expect("a JPEG")
    }

    /// The luma component's sampling factors (`0x22`: 4:2:0, `0x11`:
    /// 4:4:4 when the chroma ones are `0x11` too) and the SOF marker.
    fn sof(jpeg: &[u8]) -> (u8, u8) {
        let mut at = 2;
        while at + 4 <= jpeg.len() {
            let marker = jpeg[at + 1];
            let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            if matches!(marker, 0xC0..=0xC2) {
                // length(2) precision(1) height(2) width(2) count(1), then
                // per component: id, sampling, table.
                return (marker, jpeg[at + 2 + 8 + 1]);
            }
            at += 2 + len;
        }
        panic!("no SOF");
    }

    #[test]
    fn chroma_is_halved_unless_a_quality_of_90_is_asked() {
        assert_eq!(
            sof(&jpeg_with(64, 48, 80, JpegScan::Baseline)),
            (0xC0, 0x22)
        );
        assert_eq!(
            sof(&jpeg_with(64, 48, 89, JpegScan::Baseline)),
            (0xC0, 0x22)
        );
        assert_eq!(
            sof(&jpeg_with(64, 48, 90, JpegScan::Baseline)),
            (0xC0, 0x11)
        );
        assert_eq!(
            sof(&jpeg_with(64, 48, 95, JpegScan::Progressive)),
            (0xC2, 0x11)
        );
        // A quality inherited from the source is not a request for it.
        let inherited = jpeg_full(64, 48, 95, false, JpegScan::Baseline, false);
        assert_eq!(sof(&inherited), (0xC0, 0x22));
    }

    #[test]
    fn trellis_outputs_follow_the_same_scan_chroma_and_quality_rules() {
        for (quality, named, scan, want) in [
            (80, true, JpegScan::Baseline, (0xC0, 0x22)),
            (90, true, JpegScan::Baseline, (0xC0, 0x11)),
            (95, false, JpegScan::Baseline, (0xC0, 0x22)),
            (80, true, JpegScan::Progressive, (0xC2, 0x22)),
        ] {
            let out = jpeg_full(64, 48, quality, named, scan, true);
            assert_eq!(sof(&out), want, "q{quality} {scan:?}");
            // The standard tables at the asked quality, as libjpeg-turbo's.
            let header = crate::jpeg::read_header(&out).expect("a header");
            assert_eq!(header.quality, Some(quality));
        }
        // Low qualities keep 8-bit tables (baseline JPEG), as libjpeg-turbo.
        assert_eq!(
            sof(&jpeg_full(64, 48, 5, true, JpegScan::Baseline, true)).0,
            0xC0
        );
    }

    /// Mean squared error per channel between `a` and the decode of `jpeg`.
    fn mse(a: &RgbaImage, jpeg: &[u8]) -> f64 {
        let b = image::load_from_memory(jpeg).expect("decodes").to_rgba8();
        assert_eq!(a.dimensions(), b.dimensions());
        let sum: f64 = a
            .as_raw()
            .chunks_exact(4)
            .zip(b.as_raw().chunks_exact(4))
            .flat_map(|(p, q)| (0..3).map(move |c| (f64::from(p[c]) - f64::from(q[c])).powi(2)))
            .sum();
        sum / (f64::from(a.width() * a.height()) * 3.0)
    }

    #[test]
    fn trellis_spends_fewer_bytes_for_nearly_the_same_pixels() {
        let (w, h) = (300, 200);
        let img = noisy(w, h);
        let plain = jpeg_full(w, h, 80, true, JpegScan::Smaller, false);
        let trellis = jpeg_full(w, h, 80, true, JpegScan::Smaller, true);
        assert!(
            trellis.len() < plain.len(),
            "{} ≥ {}",
            trellis.len(),
            plain.len()
        );
        let (e_plain, e_trellis) = (mse(&img, &plain), mse(&img, &trellis));
        assert!(
            e_trellis < e_plain * 1.25,
            "MSE {e_trellis:.1} against {e_plain:.1}"
        );
    }

    #[test]
    fn trellis_writes_odd_and_tiny_sizes() {
        for (w, h) in [(1, 1), (7, 3), (17, 9), (3, 300)] {
            for (named, scan) in [
                (80, JpegScan::Baseline),
                (95, JpegScan::Progressive),
                (80, JpegScan::Smaller),
            ] {
                let out = jpeg_full(w, h, named, true, scan, true);
                let img = image::load_from_memory(&out).expect("decodes");
                assert_eq!((img.width(), img.height()), (w, h), "{scan:?}");
            }
        }
    }

    #[test]
    fn trellis_flattens_transparency_onto_white() {
        let img = RgbaImage::from_pixel(32, 16, image::Rgba([0, 0, 0, 0]));
        let frames = [Frame { img, delay_ms: 0 }];
        let params = EncodeParams {
            format: Format::Jpeg,
            quality: 80,
            quality_named: true,
            scan: JpegScan::Baseline,
            trellis: true,
            icc: None,
            exif: None,
        };
        let out = encode(&frames, false, &params).expect("a JPEG");
        let back = image::load_from_memory(&out).expect("decodes").to_rgb8();
        assert!(back.pixels().all(|p| p.0.iter().all(|&c| c >= 250)));
    }

    #[test]
    fn trellis_outputs_carry_the_metadata() {
        let exif = b"MM\0\x2a\0\0\0\x08\0\0".to_vec();
        let icc = vec![7u8; 3000];
        let frames = [Frame {
            img: noisy(40, 30),
            delay_ms: 0,
        }];
        let params = EncodeParams {
            format: Format::Jpeg,
            quality: 80,
            quality_named: false,
            scan: JpegScan::Baseline,
            trellis: true,
            icc: Some(&icc),
            exif: Some(&exif),
        };
        let out = encode(&frames, true, &params).expect("a JPEG");
        let header = crate::jpeg::read_header(&out).expect("a header");
        assert_eq!(header.exif.as_deref(), Some(exif.as_slice()));
        assert_eq!(header.icc.as_deref(), Some(icc.as_slice()));
        assert!(image::load_from_memory(&out).is_ok());
    }

    #[test]
    fn the_smaller_scan_is_the_smaller_of_both() {
        for (w, h) in [(40, 30), (300, 200), (900, 600)] {
            let baseline = jpeg_with(w, h, 80, JpegScan::Baseline);
            let progressive = jpeg_with(w, h, 80, JpegScan::Progressive);
            let smaller = jpeg_with(w, h, 80, JpegScan::Smaller);
            let want = if progressive.len() < baseline.len() {
                progressive
            } else {
                baseline
            };
            assert_eq!(smaller, want, "{w}x{h}");
        }
    }

    /// The Huffman tables: the payloads of every DHT segment.
    fn huffman_tables(jpeg: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 2;
        while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
            let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            if jpeg[at + 1] == 0xC4 {
                out.push(jpeg[at + 4..at + 2 + len].to_vec());
            }
            at += 2 + len;
        }
        out
    }

    #[test]
    fn small_jpegs_get_tables_of_their_own() {
        // Optimized tables differ from image to image; the standard ones
        // (Annex K) are the same whatever the pixels.
        let a = huffman_tables(&jpeg_of(300, 200));
        let b = huffman_tables(&jpeg_of(320, 200));
        assert!(!a.is_empty());
        assert_ne!(a, b, "standard tables on a thumbnail");
        let side = 1 << 11; // 2048 × 2048 > JPEG_OPTIMIZE_MAX_PIXELS
        assert!(u64::from(side * side) > JPEG_OPTIMIZE_MAX_PIXELS);
        let c = huffman_tables(&jpeg_of(side, side));
        let d = huffman_tables(&jpeg_of(side + 8, side));
        assert_eq!(c, d, "a large output keeps the standard tables");
    }
}
