//! Decoding into the working format (8-bit RGBA frames), once per request.
//!
//! JPEGs go through libjpeg-turbo, optionally scaled by 1/2, 1/4 or 1/8 in
//! the DCT domain (the caller decides the factor from the pipeline, see
//! `engine::shrink_on_load`); CMYK JPEGs and files libjpeg-turbo refuses
//! fall back to the `image` crate. Every other format uses the `image`
//! crate with its own allocation limits as a second line of defence behind
//! the header checks of [`crate::probe::inspect`].

use std::io::Cursor;

use image::{AnimationDecoder, DynamicImage, ImageDecoder, RgbaImage};

use crate::error::{Error, Result};
use crate::pipeline::Format;
use crate::probe::Header;
use crate::{Cancel, Limits};

/// One frame of the working image.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub img: RgbaImage,
    /// Display time in milliseconds (0 for a still image).
    pub delay_ms: u32,
}

/// A decoded source.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub frames: Vec<Frame>,
    /// Every pixel of every frame has alpha 255.
    pub opaque: bool,
    /// The embedded ICC profile, if any.
    pub icc: Option<Vec<u8>>,
}

fn dec_err(e: impl std::fmt::Display) -> Error {
    Error::Decode(e.to_string())
}

fn image_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    // Room for the RGBA buffer of the largest allowed image, plus the
    // decoder's own working memory.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(4).saturating_add(64 << 20));
    l
}

/// True when every alpha byte is 255.
pub(crate) fn is_opaque(img: &RgbaImage) -> bool {
    img.as_raw().chunks_exact(4).all(|p| p[3] == 255)
}

/// Decodes `data`. `shrink` (1, 2, 4 or 8) scales JPEGs on load; other
/// formats ignore it. `first_frame_only` stops an animation after its
/// first frame.
pub(crate) fn decode(
    data: &[u8],
    header: &Header,
    shrink: u32,
    first_frame_only: bool,
    limits: &Limits,
    cancel: &Cancel,
) -> Result<Decoded> {
    match header.format {
        Format::Jpeg => decode_jpeg(data, header, shrink, limits),
        Format::Gif if header.frames > 1 && !first_frame_only => {
            decode_gif_frames(data, limits, cancel)
        }
        Format::Webp if header.frames > 1 && !first_frame_only => {
            decode_webp_frames(data, limits, cancel)
        }
        Format::Png | Format::Gif | Format::Webp | Format::Bmp | Format::Tiff => {
            decode_still(data, header.format, limits)
        }
        Format::Avif | Format::Heic => crate::heif::decode(data),
    }
}

fn image_format(f: Format) -> Option<image::ImageFormat> {
    Some(match f {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::Gif => image::ImageFormat::Gif,
        Format::Webp => image::ImageFormat::WebP,
        Format::Bmp => image::ImageFormat::Bmp,
        Format::Tiff => image::ImageFormat::Tiff,
        Format::Avif | Format::Heic => return None,
    })
}

/// A single still image through the `image` crate, keeping its ICC profile.
fn decode_still(data: &[u8], format: Format, limits: &Limits) -> Result<Decoded> {
    let f = image_format(format)
        .ok_or_else(|| Error::NotImplemented(format!("decoding {format:?}")))?;
    let mut reader = image::ImageReader::with_format(Cursor::new(data), f);
    reader.limits(image_limits(limits));
    let mut decoder = reader.into_decoder().map_err(dec_err)?;
    let icc = decoder.icc_profile().ok().flatten();
    let had_alpha = decoder.color_type().has_alpha();
    let img = DynamicImage::from_decoder(decoder).map_err(dec_err)?;
    let img = match img {
        DynamicImage::ImageRgba8(i) => i,
        other => other.to_rgba8(),
    };
    let opaque = !had_alpha || is_opaque(&img);
    Ok(Decoded {
        frames: vec![Frame { img, delay_ms: 0 }],
        opaque,
        icc,
    })
}

/// Every frame, with a cancellation checkpoint before each.
fn collect_frames(frames: image::Frames<'_>, cancel: &Cancel) -> Result<Vec<Frame>> {
    let mut out = Vec::new();
    for f in frames {
        cancel.check()?;
        let f = f.map_err(dec_err)?;
        let (n, d) = f.delay().numer_denom_ms();
        let delay_ms = n.checked_div(d).unwrap_or(0);
        out.push(Frame {
            img: f.into_buffer(),
            delay_ms,
        });
    }
    if out.is_empty() {
        return Err(Error::Decode("animation without frames".into()));
    }
    Ok(out)
}

fn animated(frames: Vec<Frame>) -> Decoded {
    let opaque = frames.iter().all(|f| is_opaque(&f.img));
    Decoded {
        frames,
        opaque,
        icc: None,
    }
}

fn decode_gif_frames(data: &[u8], limits: &Limits, cancel: &Cancel) -> Result<Decoded> {
    let mut d = image::codecs::gif::GifDecoder::new(Cursor::new(data)).map_err(dec_err)?;
    d.set_limits(image_limits(limits)).map_err(dec_err)?;
    Ok(animated(collect_frames(d.into_frames(), cancel)?))
}

fn decode_webp_frames(data: &[u8], limits: &Limits, cancel: &Cancel) -> Result<Decoded> {
    let mut d = image::codecs::webp::WebPDecoder::new(Cursor::new(data)).map_err(dec_err)?;
    d.set_limits(image_limits(limits)).map_err(dec_err)?;
    Ok(animated(collect_frames(d.into_frames(), cancel)?))
}

fn decode_jpeg(data: &[u8], header: &Header, shrink: u32, limits: &Limits) -> Result<Decoded> {
    let icc = header.jpeg.as_ref().and_then(|j| j.icc.clone());
    // libjpeg-turbo cannot convert CMYK/YCCK to RGB: those go to the image
    // crate (which handles Adobe-inverted CMYK).
    if header.jpeg.as_ref().is_some_and(|j| j.components == 4) {
        let mut d = decode_still(data, Format::Jpeg, limits)?;
        d.icc = icc;
        return Ok(d);
    }
    // A Huffman-coded file (baseline, extended or progressive) at 1/8
    // scale: the same pixels as libjpeg-turbo's, decoding only what that
    // scale needs (crate::eighth); anything else, or anything it does not
    // reproduce exactly, goes to libjpeg-turbo.
    if shrink == 8
        && header
            .jpeg
            .as_ref()
            .is_some_and(|j| matches!(j.sof, 0xC0..=0xC2))
    {
        if let Some(img) = crate::eighth::decode(data, (header.width, header.height)) {
            return Ok(Decoded {
                frames: vec![Frame { img, delay_ms: 0 }],
                opaque: true,
                icc,
            });
        }
    }
    match decode_turbo(data, shrink, (header.width, header.height)) {
        Ok(img) => Ok(Decoded {
            frames: vec![Frame { img, delay_ms: 0 }],
            opaque: true,
            icc,
        }),
        Err(msg) if msg.contains("Premature end") => {
            Err(Error::Decode(format!("truncated JPEG: {msg}")))
        }
        // The job was priced at the scaled size (memory.rs); the image
        // crate would decode at full size, up to 64 times that.
        Err(msg) if shrink > 1 => Err(Error::Decode(msg)),
        Err(msg) => {
            // Unusual but possibly valid files (arithmetic coding without
            // support, odd sampling...): one more try with the pure-Rust
            // decoder, reporting libjpeg-turbo's message if both fail.
            let mut d = decode_still(data, Format::Jpeg, limits).map_err(|_| Error::Decode(msg))?;
            d.icc = icc;
            Ok(d)
        }
    }
}

/// libjpeg-turbo decode into RGBA at 1/`shrink` scale. The error is
/// libjpeg-turbo's message; a mere warning ("Corrupt JPEG data: extraneous
/// bytes...") still yields the fully decoded pixels.
pub(crate) fn decode_turbo(
    data: &[u8],
    shrink: u32,
    checked: (u32, u32),
) -> std::result::Result<RgbaImage, String> {
    let mut d = turbojpeg::Decompressor::new().map_err(|e| e.to_string())?;
    // TurboJPEG's header read (which its decompress repeats) stops at a
    // warning where libjpeg goes on (a stray byte between segments, an
    // unknown JFIF version): the same file without those decodes to the
    // same pixels.
    let clean;
    let (data, th) = match d.read_header(data) {
        Ok(th) => (data, th),
        Err(e) => {
            clean = crate::jpeg::without_header_warnings(data).ok_or_else(|| e.to_string())?;
            let th = d.read_header(&clean).map_err(|_| e.to_string())?;
            (clean.as_slice(), th)
        }
    };
    // The limits were checked on our own header walk; refuse a file whose
    // frame header libjpeg-turbo reads differently (e.g. several SOFs).
    if (th.width as u64, th.height as u64) != (checked.0 as u64, checked.1 as u64) {
        return Err(format!(
            "inconsistent JPEG frame headers ({}x{} vs {}x{})",
            th.width, th.height, checked.0, checked.1
        ));
    }
    let factor = match shrink {
        2 | 4 | 8 if !th.is_lossless => turbojpeg::ScalingFactor::new(1, shrink as usize),
        _ => turbojpeg::ScalingFactor::ONE,
    };
    d.set_scaling_factor(factor).map_err(|e| e.to_string())?;
    let sh = th.scaled(factor);
    let (w, h) = (sh.width, sh.height);
    let mut pixels = vec![0u8; w * h * 4];
    let out = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: w,
        pitch: w * 4,
        height: h,
        format: turbojpeg::PixelFormat::RGBA,
    };
    if let Err(e) = d.decompress(data, out) {
        let msg = e.to_string();
        if !msg.contains("Corrupt JPEG data") {
            return Err(msg);
        }
    }
    RgbaImage::from_raw(w as u32, h as u32, pixels)
        .ok_or_else(|| "buffer size mismatch".to_string())
}
