//! HEIF sources (HEIC: HEVC coded, AVIF: AV1 coded) and HEIC output,
//! through the system's libheif (Debian 12: 1.15, with libde265 and dav1d
//! for decoding, x265 for encoding) and the `libheif-rs` binding.
//!
//! Only the primary image of a file is read: bursts, collections and
//! Apple's depth and thumbnail items are ignored, and grids are assembled
//! by libheif into the one primary picture. libheif applies the container's
//! own orientation (`irot`, `imir`) and crop (`clap`) when it decodes, and
//! reports the primary image's size after them, so the EXIF Orientation of
//! a HEIF file is never applied on top (the HEIF specification makes it
//! informational; Apple writes both, and applying both would turn the
//! picture twice): `probe::orientation` answers `None` for these formats.
//!
//! The binding has safe signatures, but its 0.20 release (the last one that
//! links against libheif 1.15) has four unsound corners, which this module
//! stays away from:
//! - decoding or encoding with an options struct (a use-after-free, fixed
//!   in later releases): both are called with `None`, libheif's defaults;
//! - an image handle does not borrow the bytes its context was read from:
//!   every handle here lives inside the function that holds the bytes;
//! - `read_from_reader`: not used, the source is always in memory;
//! - `Image::set_color_profile_raw` hands libheif its 4-byte profile type
//!   without the terminating NUL, and libheif reads past it (an encode
//!   failed at random with "Invalid color_profile_type"): a HEIC output
//!   carries no ICC profile, its pixels are written as they are.
//!
//! libheif decodes without shrink-on-load: a thumbnail of a 12 Mpx HEIC
//! costs a full decode, which `memory` and `budget` price as such.

use std::sync::OnceLock;

use image::RgbaImage;
use libheif_rs::{ColorSpace, HeifContext, LibHeif, RgbChroma};

use crate::decode::{is_opaque, Decoded, Frame};
use crate::error::{Error, Result};
use crate::probe::check;
use crate::Limits;

/// libheif's global state (its decoder and encoder plugins), set up once.
fn lib() -> &'static LibHeif {
    static LIB: OnceLock<LibHeif> = OnceLock::new();
    LIB.get_or_init(LibHeif::new)
}

fn dec_err(e: impl std::fmt::Display) -> Error {
    Error::Decode(format!("HEIF: {e}"))
}

/// The container facts the limits are checked against, read from the
/// boxes alone (no pixel is decoded), once per source: the work budget
/// reads `alpha`, the encoder `exif`, from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeifHeader {
    /// The primary image's size, after its `irot`/`clap` transformations.
    pub width: u32,
    pub height: u32,
    /// Top-level images in the file (1 for a plain photo).
    pub images: u32,
    /// The primary image has an alpha channel.
    pub alpha: bool,
    /// The primary image's first EXIF block, as a TIFF body.
    pub exif: Option<Vec<u8>>,
}

/// Reads the container and checks its image count against
/// `limits.max_frames` (a burst of 500 pictures is refused even though
/// only the primary one would be decoded: libheif indexes them all).
pub(crate) fn read_header(data: &[u8], limits: &Limits) -> Result<HeifHeader> {
    lib();
    let ctx = HeifContext::read_from_bytes(data).map_err(dec_err)?;
    let images = u32::try_from(ctx.number_of_top_level_images()).unwrap_or(u32::MAX);
    check(
        "source images",
        u64::from(images),
        u64::from(limits.max_frames),
    )?;
    let handle = ctx.primary_image_handle().map_err(dec_err)?;
    Ok(HeifHeader {
        width: handle.width(),
        height: handle.height(),
        images,
        alpha: handle.has_alpha_channel(),
        exif: exif(&handle),
    })
}

/// The primary image's first EXIF block, as a TIFF body (HEIF stores a
/// 4-byte offset to the TIFF header before it), if it has one.
fn exif(handle: &libheif_rs::ImageHandle) -> Option<Vec<u8>> {
    let mut ids = [0; 1];
    if handle.metadata_block_ids(&mut ids, b"Exif") == 0 {
        return None;
    }
    let block = handle.metadata(ids[0]).ok()?;
    let offset = u32::from_be_bytes(block.get(..4)?.try_into().ok()?) as usize;
    let tiff = block.get(offset.checked_add(4)?..)?;
    (tiff.starts_with(b"II*\0") || tiff.starts_with(b"MM\0*")).then(|| tiff.to_vec())
}

/// Decodes the primary image into 8-bit RGBA (a 10- or 12-bit source is
/// reduced by libheif), with its ICC profile when it has one. The caller
/// has checked the size from [`read_header`].
pub(crate) fn decode(data: &[u8]) -> Result<Decoded> {
    let lib = lib();
    let mut ctx = HeifContext::read_from_bytes(data).map_err(dec_err)?;
    // Grid tiles on this job's thread only: the processing pool runs one
    // job per core, and its memory budget counts one decoder per job.
    ctx.set_max_decoding_threads(0);
    let handle = ctx.primary_image_handle().map_err(dec_err)?;
    let alpha = handle.has_alpha_channel();
    // A raw (`prof`/`rICC`) profile is ICC; an `nclx` one is not returned
    // here and the pixels are then taken as sRGB.
    let icc = handle
        .color_profile_raw()
        .map(|p| p.data)
        .filter(|d| !d.is_empty());
    let image = lib
        .decode(&handle, ColorSpace::Rgb(RgbChroma::Rgba), None)
        .map_err(dec_err)?;
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or_else(|| dec_err("no interleaved plane in the decoded image"))?;
    if plane.storage_bits_per_pixel != 32 {
        return Err(dec_err(format!(
            "decoded to {} bits per pixel, not 8-bit RGBA",
            plane.storage_bits_per_pixel
        )));
    }
    let img = copy_rows(plane.data, plane.stride, plane.width, plane.height)?;
    let opaque = !alpha || is_opaque(&img);
    Ok(Decoded {
        frames: vec![Frame { img, delay_ms: 0 }],
        opaque,
        icc,
    })
}

/// An RGBA image from rows `stride` bytes apart (libheif pads them).
fn copy_rows(data: &[u8], stride: usize, width: u32, height: u32) -> Result<RgbaImage> {
    let row = width as usize * 4;
    let mut out = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        let line = y
            .checked_mul(stride)
            .and_then(|start| data.get(start..start.checked_add(row)?))
            .ok_or_else(|| dec_err("decoded plane shorter than its size"))?;
        out.extend_from_slice(line);
    }
    RgbaImage::from_raw(width, height, out).ok_or_else(|| dec_err("decoded plane size"))
}

/// One still HEIC image (HEVC through x265) at `quality` (1–100), with
/// its alpha plane unless `opaque`, and the EXIF given. No ICC profile
/// (see the module doc).
#[cfg(feature = "heic-encode")]
pub(crate) fn encode(
    img: &RgbaImage,
    opaque: bool,
    quality: u8,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>> {
    use libheif_rs::{Channel, CompressionFormat, EncoderParameterValue, EncoderQuality, Image};
    let enc_err = |e: libheif_rs::HeifError| Error::Encode(format!("HEIC: {e}"));
    let lib = lib();
    let (w, h) = img.dimensions();
    let (chroma, bytes_per_pixel) = if opaque {
        (RgbChroma::Rgb, 3)
    } else {
        (RgbChroma::Rgba, 4)
    };
    let mut image = Image::new(w, h, ColorSpace::Rgb(chroma)).map_err(enc_err)?;
    image
        .create_plane(Channel::Interleaved, w, h, 8)
        .map_err(enc_err)?;
    {
        let planes = image.planes_mut();
        let plane = planes
            .interleaved
            .ok_or_else(|| Error::Encode("HEIC: no interleaved plane".into()))?;
        let stride = plane.stride;
        for (y, src) in img.as_raw().chunks_exact(w as usize * 4).enumerate() {
            let line = y
                .checked_mul(stride)
                .and_then(|s| {
                    plane
                        .data
                        .get_mut(s..s.checked_add(w as usize * bytes_per_pixel)?)
                })
                .ok_or_else(|| Error::Encode("HEIC: plane shorter than the image".into()))?;
            if opaque {
                for (d, s) in line.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
                    d.copy_from_slice(&s[..3]);
                }
            } else {
                line.copy_from_slice(src);
            }
        }
    }
    let mut encoder = lib
        .encoder_for_format(CompressionFormat::Hevc)
        .map_err(enc_err)?;
    encoder
        .set_quality(EncoderQuality::Lossy(quality.clamp(1, 100)))
        .map_err(enc_err)?;
    // x265 on this job's thread only: the processing pool runs one job per
    // core, and x265's own pool would take them all (it also costs more
    // CPU in total: 0.49 s against 0.40 s for a 640×428 photo).
    encoder
        .set_parameter_value("x265:pools", EncoderParameterValue::String("1".into()))
        .map_err(enc_err)?;
    // x265's own default preset, not libheif's `slow`: half the time for
    // 3 % more bytes (0.20 s against 0.43 s, 76.8 KB against 74.5 KB, the
    // same photo at q50).
    encoder
        .set_parameter_value("preset", EncoderParameterValue::String("medium".into()))
        .map_err(enc_err)?;
    let mut ctx = HeifContext::new().map_err(enc_err)?;
    let handle = ctx
        .encode_image(&image, &mut encoder, None)
        .map_err(enc_err)?;
    if let Some(exif) = exif {
        ctx.add_exif_metadata(&handle, exif).map_err(enc_err)?;
    }
    ctx.write_to_bytes().map_err(enc_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_copied_without_their_padding() {
        // 2×2 RGBA rows padded to 12 bytes.
        let mut data = vec![0u8; 24];
        data[..8].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        data[12..20].copy_from_slice(&[9, 10, 11, 12, 13, 14, 15, 16]);
        let img = copy_rows(&data, 12, 2, 2).expect("copied");
        assert_eq!(img.as_raw(), &(1..=16).collect::<Vec<u8>>());
        assert!(copy_rows(&data[..19], 12, 2, 2).is_err());
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let limits = Limits::default();
        let junk = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert!(matches!(read_header(junk, &limits), Err(Error::Decode(_))));
        assert!(matches!(decode(junk), Err(Error::Decode(_))));
    }

    #[cfg(feature = "heic-encode")]
    #[test]
    fn an_encoded_heic_decodes_to_its_size_and_alpha() {
        let mut img = RgbaImage::from_pixel(33, 17, image::Rgba([200, 100, 50, 255]));
        let limits = Limits::default();
        let opaque = encode(&img, true, 80, None).expect("encoded");
        let h = read_header(&opaque, &limits).expect("header");
        assert_eq!((h.width, h.height, h.images, h.alpha), (33, 17, 1, false));
        let d = decode(&opaque).expect("decoded");
        assert!(d.opaque);
        assert_eq!(d.frames[0].img.dimensions(), (33, 17));
        let px = d.frames[0].img.get_pixel(16, 8).0;
        assert!(
            px[0].abs_diff(200) < 12 && px[1].abs_diff(100) < 12,
            "{px:?}"
        );

        img.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        let clear = encode(&img, false, 80, None).expect("encoded");
        let h = read_header(&clear, &limits).expect("header");
        assert!(h.alpha);
        let d = decode(&clear).expect("decoded");
        assert!(!d.opaque);
    }
}
